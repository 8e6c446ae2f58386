//! Waitlist members as the back office lists them: each as last published to the kiosks,
//! which keep them for the members' hours of a drop.

use super::accounts::record;
use super::sql::{Row, Sql, vals};
use super::{Db, DbError, append_change};
use crate::wire::{ChangeBody, MemberChange};

impl Db {
    /// One page of the atelier's members in name order, found by any part of their id,
    /// name or email, with how many match in all.
    pub fn members(
        &self,
        atelier: &str,
        text: &str,
        offset: i64,
        limit: i64,
    ) -> Result<(Vec<MemberChange>, i64), DbError> {
        let text = text.trim();
        let like = super::office::like_pattern(text);
        let filter = "FROM members WHERE atelier = $1
             AND ($2 = '' OR UPPER(id) LIKE UPPER($3) ESCAPE '\\' OR UPPER(name) LIKE UPPER($3) ESCAPE '\\'
                  OR UPPER(email) LIKE UPPER($3) ESCAPE '\\')";
        self.tx(|tx| {
            let total = tx
                .query_opt(&format!("SELECT COUNT(*) {filter}"), vals![atelier, text, &like])?
                .map(|r| r.int(0))
                .transpose()?
                .unwrap_or(0);
            let rows = tx.query(
                &format!("SELECT id, name, email, waitlist {filter} ORDER BY UPPER(name), id LIMIT $4 OFFSET $5"),
                vals![atelier, text, &like, limit, offset],
            )?;
            Ok((rows.iter().map(member).collect::<Result<_, _>>()?, total))
        })
    }

    pub fn member(&self, atelier: &str, id: &str) -> Result<Option<MemberChange>, DbError> {
        self.tx(|tx| {
            tx.query_opt(
                "SELECT id, name, email, waitlist FROM members WHERE atelier = $1 AND id = $2",
                vals![atelier, id],
            )?
            .as_ref()
            .map(member)
            .transpose()
        })
    }

    /// Publishes members to every kiosk of the atelier, all in one transaction, as `actor`.
    /// A member already held is replaced whole (their waitlists are the ones given).
    pub fn import_members(
        &self,
        atelier: &str,
        members: &[MemberChange],
        actor: &str,
        now: i64,
    ) -> Result<(), DbError> {
        self.write(atelier, |tx| {
            for m in members {
                append_change(tx, atelier, None, &ChangeBody::Member(m.clone()), now)?;
            }
            let detail = if members.len() == 1 { "1 member".to_owned() } else { format!("{} members", members.len()) };
            record(tx, atelier, actor, "imported waitlist members", &detail, now)
        })
    }
}

/// Keeps a published member for the members page.
pub(super) fn record_member(tx: &mut dyn Sql, atelier: &str, m: &MemberChange) -> Result<(), DbError> {
    let waitlist = serde_json::to_string(&m.waitlist).expect("drop ids serialise");
    tx.execute(
        "INSERT INTO members(atelier, id, name, email, waitlist) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT(atelier, id) DO UPDATE SET name = excluded.name, email = excluded.email,
                                                waitlist = excluded.waitlist",
        vals![atelier, &m.id, &m.name, &m.email, waitlist],
    )?;
    Ok(())
}

fn member(row: &Row) -> Result<MemberChange, DbError> {
    Ok(MemberChange {
        id: row.text(0)?,
        name: row.text(1)?,
        email: row.text(2)?,
        waitlist: serde_json::from_str(&row.text(3)?).map_err(|e| DbError::Invalid(e.to_string()))?,
    })
}
