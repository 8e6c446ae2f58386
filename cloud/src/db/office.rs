//! What the back office's pages read that is not an account: the atelier at a glance.

use super::sql::vals;
use super::{Db, DbError};

/// The atelier at a glance, for the back office's home page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Pieces in the published catalog.
    pub pieces: i64,
    /// Pieces allocated to a stall and not sold.
    pub at_stalls: i64,
    pub sold: i64,
    pub reported_lost: i64,
    pub stalls: i64,
    pub kiosks: i64,
    /// Events kiosks said they still hold, summed.
    pub events_waiting: i64,
}

impl Db {
    pub fn summary(&self, atelier: &str) -> Result<Summary, DbError> {
        self.tx(|tx| {
            let count = |tx: &mut dyn super::sql::Sql, sql: &str| -> Result<i64, DbError> {
                Ok(tx.query_opt(sql, vals![atelier])?.map(|r| r.opt_int(0)).transpose()?.flatten().unwrap_or(0))
            };
            Ok(Summary {
                pieces: count(tx, "SELECT COUNT(*) FROM catalog WHERE atelier = $1")?,
                at_stalls: count(
                    tx,
                    "SELECT COUNT(*) FROM pieces WHERE atelier = $1 AND stall IS NOT NULL AND sold_sale IS NULL",
                )?,
                sold: count(tx, "SELECT COUNT(*) FROM pieces WHERE atelier = $1 AND sold_sale IS NOT NULL")?,
                reported_lost: count(tx, "SELECT COUNT(*) FROM pieces WHERE atelier = $1 AND lost_at IS NOT NULL")?,
                stalls: count(tx, "SELECT COUNT(DISTINCT stall) FROM devices WHERE atelier = $1")?,
                kiosks: count(tx, "SELECT COUNT(*) FROM devices WHERE atelier = $1")?,
                events_waiting: count(
                    tx,
                    // PostgreSQL sums BIGINT as NUMERIC: cast back.
                    "SELECT CAST(COALESCE(SUM(pending), 0) AS BIGINT) FROM devices WHERE atelier = $1",
                )?,
            })
        })
    }
}

/// Where a piece stands, as the pieces list filters by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// In the catalog, at no stall, not sold.
    InStock,
    AtStall,
    Sold,
    ReportedLost,
}

impl Standing {
    pub const ALL: [Standing; 4] = [Standing::InStock, Standing::AtStall, Standing::Sold, Standing::ReportedLost];

    pub fn code(self) -> &'static str {
        match self {
            Standing::InStock => "in-stock",
            Standing::AtStall => "at-stall",
            Standing::Sold => "sold",
            Standing::ReportedLost => "lost",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Standing::InStock => "In stock",
            Standing::AtStall => "At a stall",
            Standing::Sold => "Sold",
            Standing::ReportedLost => "Reported lost",
        }
    }

    pub fn from_code(code: &str) -> Option<Standing> {
        Standing::ALL.into_iter().find(|s| s.code() == code)
    }

    /// The condition on `pieces p` (LEFT JOINed, so NULL for a piece never allocated): fixed
    /// text, never the request's.
    fn condition(self) -> &'static str {
        match self {
            Standing::InStock => "p.stall IS NULL AND p.sold_sale IS NULL",
            Standing::AtStall => "p.stall IS NOT NULL AND p.sold_sale IS NULL",
            Standing::Sold => "p.sold_sale IS NOT NULL",
            Standing::ReportedLost => "p.lost_at IS NOT NULL",
        }
    }
}

/// What the pieces list is asked for.
#[derive(Debug, Clone, Default)]
pub struct PieceQuery {
    /// Part of a serial or a title, any case.
    pub text: String,
    pub drop_id: Option<String>,
    pub stall: Option<String>,
    pub standing: Option<Standing>,
    pub offset: i64,
    pub limit: i64,
}

/// One line of the pieces list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PieceLine {
    pub serial: String,
    pub title: String,
    pub drop_id: Option<String>,
    pub edition_number: u32,
    pub edition_size: u32,
    pub price_minor: i64,
    pub currency: String,
    pub stall: Option<String>,
    pub sold_by: Option<String>,
    pub sold_at: Option<i64>,
    pub lost_at: Option<i64>,
}

/// A page of the pieces list and how many match in all.
#[derive(Debug, Clone, Default)]
pub struct PiecePage {
    pub lines: Vec<PieceLine>,
    pub total: i64,
}

/// `text` for a `LIKE ... ESCAPE '\'` pattern: its own `%` and `_` taken literally.
pub(super) fn like_pattern(text: &str) -> String {
    let escaped = text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    format!("%{escaped}%")
}

impl Db {
    /// The atelier's pieces matching `query`, by serial, one page of them.
    pub fn pieces(&self, atelier: &str, query: &PieceQuery) -> Result<PiecePage, DbError> {
        let text = query.text.trim();
        let mut filter = String::from(
            "FROM catalog c LEFT JOIN pieces p ON p.atelier = c.atelier AND p.serial = c.serial
             WHERE c.atelier = $1
               AND ($2 = '' OR c.serial LIKE $3 ESCAPE '\\' OR LOWER(c.title) LIKE $4 ESCAPE '\\')
               AND ($5 = '' OR c.drop_id = $5)
               AND ($6 = '' OR p.stall = $6)",
        );
        if let Some(standing) = query.standing {
            filter.push_str(" AND ");
            filter.push_str(standing.condition());
        }
        let params = vals![
            atelier,
            text,
            like_pattern(&text.to_uppercase()),
            like_pattern(&text.to_lowercase()),
            query.drop_id.as_deref().unwrap_or(""),
            query.stall.as_deref().unwrap_or("")
        ];
        self.tx(|tx| {
            let total = tx.query_opt(&format!("SELECT COUNT(*) {filter}"), params)?.map(|r| r.int(0)).transpose()?;
            let mut paged = params.to_vec();
            paged.extend([query.limit.clamp(1, 500).into(), query.offset.max(0).into()]);
            let rows = tx.query(
                &format!(
                    "SELECT c.serial, c.title, c.drop_id, c.data, p.stall, p.sold_by, p.sold_at, p.lost_at {filter}
                     ORDER BY c.serial LIMIT $7 OFFSET $8"
                ),
                &paged,
            )?;
            let mut lines = Vec::with_capacity(rows.len());
            for row in &rows {
                let data: crate::wire::PieceChange =
                    serde_json::from_str(&row.text(3)?).map_err(|e| DbError::Invalid(e.to_string()))?;
                lines.push(PieceLine {
                    serial: row.text(0)?,
                    title: row.text(1)?,
                    drop_id: row.opt_text(2)?,
                    edition_number: data.edition_number,
                    edition_size: data.edition_size,
                    price_minor: data.price_minor,
                    currency: data.currency,
                    stall: row.opt_text(4)?,
                    sold_by: row.opt_text(5)?,
                    sold_at: row.opt_int(6)?,
                    lost_at: row.opt_int(7)?,
                });
            }
            Ok(PiecePage { lines, total: total.unwrap_or(0) })
        })
    }

    /// The drops and the stalls the atelier's pieces and kiosks name, for the list's filters.
    pub fn drops_and_stalls(&self, atelier: &str) -> Result<(Vec<String>, Vec<String>), DbError> {
        self.tx(|tx| {
            let drops = tx.query(
                "SELECT DISTINCT drop_id FROM catalog WHERE atelier = $1 AND drop_id IS NOT NULL ORDER BY drop_id",
                vals![atelier],
            )?;
            let stalls = tx.query(
                "SELECT stall FROM devices WHERE atelier = $1
                 UNION SELECT stall FROM pieces WHERE atelier = $1 AND stall IS NOT NULL ORDER BY 1",
                vals![atelier],
            )?;
            let texts = |rows: Vec<super::sql::Row>| rows.iter().map(|r| r.text(0)).collect::<Result<Vec<_>, _>>();
            Ok((texts(drops)?, texts(stalls)?))
        })
    }
}
