//! What the kiosks pushed of their sales, read back for the back office's takings.

use super::sql::{Row, Sql, vals};
use super::{Db, DbError};
use crate::takings::Pushed;

/// The sales list counts this many at most; past it, it says "more than".
pub const COUNT_CAP: i64 = 10_000;

impl Db {
    /// The atelier's sales made in `[from, to)` and its voids and returns made since `from`
    /// (a void is never older than its sale), with each kiosk's stall: what
    /// [`crate::takings::sum`] needs for that day.
    pub fn sales_events(&self, atelier: &str, from: i64, to: i64) -> Result<Vec<Pushed>, DbError> {
        let rows = self.tx(|tx| {
            tx.query(
                "SELECT e.device, d.stall, e.kind, e.at, e.payload FROM events e JOIN devices d ON d.id = e.device
                 WHERE e.atelier = $1 AND e.at >= $2
                   AND ((e.kind = 'sale.completed' AND e.at < $3) OR e.kind IN ('sale.voided', 'sale.returned'))
                 ORDER BY e.device, e.seq",
                vals![atelier, from, to],
            )
        })?;
        rows.iter().map(pushed).collect()
    }

    /// One page of the atelier's sales, newest first, with how many match in all. `text`
    /// finds a receipt ("K1-000042") or any text of the sale: a serial, a title, a card
    /// reference; in any case of ASCII letters (both stores upper-case both sides).
    pub fn sales(&self, atelier: &str, text: &str, offset: i64, limit: i64) -> Result<(Vec<Pushed>, i64), DbError> {
        let text = text.trim();
        // A receipt or a serial is a key: found by the index, not by reading every sale.
        let key = text.to_ascii_uppercase();
        let keyed = !key.is_empty()
            && self
                .tx(|tx| {
                    tx.query_opt(
                        "SELECT 1 FROM sale_keys WHERE atelier = $1 AND key = $2 LIMIT 1",
                        vals![atelier, &key],
                    )
                })?
                .is_some();
        if keyed {
            return self.tx(|tx| {
                let from = "FROM events e JOIN devices d ON d.id = e.device
                     JOIN sale_keys k ON k.atelier = e.atelier AND k.device = e.device AND k.seq = e.seq
                     WHERE e.atelier = $1 AND k.key = $2";
                let total = tx
                    .query_opt(&format!("SELECT COUNT(*) {from}"), vals![atelier, &key])?
                    .map(|r| r.int(0))
                    .transpose()?
                    .unwrap_or(0);
                let rows = tx.query(
                    &format!(
                        "SELECT e.device, d.stall, e.kind, e.at, e.payload {from}
                         ORDER BY e.at DESC, e.device, e.seq DESC LIMIT $3 OFFSET $4"
                    ),
                    vals![atelier, &key, limit, offset],
                )?;
                Ok((rows.iter().map(pushed).collect::<Result<Vec<_>, DbError>>()?, total))
            });
        }
        // A receipt is kept as its device and number: `{"device":"K1","seq":42}`.
        let receipt = text
            .rsplit_once('-')
            .and_then(|(device, seq)| Some((device, seq.parse::<u64>().ok()?)))
            .map(|(device, seq)| {
                super::office::like_pattern(&format!("\"receipt\":{{\"device\":\"{device}\",\"seq\":{seq}}}"))
            })
            .unwrap_or_default();
        let anything = if text.is_empty() { String::new() } else { super::office::like_pattern(text) };
        let filter = "FROM events e JOIN devices d ON d.id = e.device
             WHERE e.atelier = $1 AND e.kind = 'sale.completed'
               AND ($2 = '' OR UPPER(e.payload) LIKE UPPER($3) ESCAPE '\\' OR UPPER(e.payload) LIKE UPPER($4) ESCAPE '\\')";
        self.tx(|tx| {
            // Counted up to one past the cap: a count of a million sales costs more than the page.
            let total = tx
                .query_opt(
                    &format!("SELECT COUNT(*) FROM (SELECT 1 {filter} LIMIT {}) counted", COUNT_CAP + 1),
                    vals![atelier, text, &anything, &receipt],
                )?
                .map(|r| r.int(0))
                .transpose()?
                .unwrap_or(0);
            let rows = tx.query(
                &format!(
                    "SELECT e.device, d.stall, e.kind, e.at, e.payload {filter}
                     ORDER BY e.at DESC, e.device, e.seq DESC LIMIT $5 OFFSET $6"
                ),
                vals![atelier, text, &anything, &receipt, limit, offset],
            )?;
            let sales = rows.iter().map(pushed).collect::<Result<Vec<_>, DbError>>()?;
            Ok((sales, total))
        })
    }

    /// Voids and returns made since `since`, for the sales list to say which of its sales
    /// were taken back.
    pub fn reversals_since(&self, atelier: &str, since: i64) -> Result<Vec<Pushed>, DbError> {
        let rows = self.tx(|tx| {
            tx.query(
                "SELECT e.device, d.stall, e.kind, e.at, e.payload FROM events e JOIN devices d ON d.id = e.device
                 WHERE e.atelier = $1 AND e.kind IN ('sale.voided', 'sale.returned') AND e.at >= $2
                 ORDER BY e.at",
                vals![atelier, since],
            )
        })?;
        rows.iter().map(pushed).collect()
    }
}

/// Keeps a sale's receipt (`DEVICE-SEQ`, as its receipt prints it) and the serials it sold
/// as search keys, upper-case. A payload without them is kept unsearchable by key, not refused.
pub(super) fn index_sale(
    tx: &mut dyn Sql,
    atelier: &str,
    device: &str,
    seq: i64,
    payload: &serde_json::Value,
) -> Result<(), DbError> {
    let mut keys: Vec<String> = Vec::new();
    let receipt = payload.get("receipt");
    if let (Some(on), Some(number)) =
        (receipt.and_then(|r| r.get("device")).and_then(|v| v.as_str()), receipt.and_then(|r| r.get("seq")))
        && let Some(number) = number.as_u64()
    {
        keys.push(format!("{on}-{number:06}").to_ascii_uppercase());
        keys.push(format!("{on}-{number}").to_ascii_uppercase());
    }
    for line in payload.get("lines").and_then(|l| l.as_array()).into_iter().flatten() {
        if let Some(serial) = line.get("serial").and_then(|v| v.as_str()) {
            keys.push(serial.trim().to_ascii_uppercase());
        }
    }
    keys.sort();
    keys.dedup();
    for key in keys {
        tx.execute(
            "INSERT INTO sale_keys(atelier, key, device, seq) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            vals![atelier, key, device, seq],
        )?;
    }
    Ok(())
}

/// An event row selected as `device, stall, kind, at, payload`.
fn pushed(r: &Row) -> Result<Pushed, DbError> {
    Ok(Pushed { device: r.text(0)?, stall: r.text(1)?, kind: r.text(2)?, at: r.int(3)?, payload: r.text(4)? })
}
