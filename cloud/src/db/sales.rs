//! What the kiosks pushed of their sales, read back for the back office's takings.

use super::sql::vals;
use super::{Db, DbError};
use crate::takings::Pushed;

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
        rows.iter()
            .map(|r| {
                Ok(Pushed {
                    device: r.text(0)?,
                    stall: r.text(1)?,
                    kind: r.text(2)?,
                    at: r.int(3)?,
                    payload: r.text(4)?,
                })
            })
            .collect()
    }
}
