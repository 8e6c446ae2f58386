//! The staff PIN: its hash and the failed-attempt counter, kept across restarts so that
//! pulling the plug does not reset a lockout.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::{Result, Store, from_ms, to_ms};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinState {
    pub hash: String,
    pub failed_attempts: u32,
    pub locked_until: Option<DateTime<Utc>>,
}

impl Store {
    pub fn pin_state(&self) -> Result<Option<PinState>> {
        Ok(self
            .conn
            .query_row("SELECT pin_hash, failed_attempts, locked_until FROM staff_auth WHERE id = 1", [], |r| {
                Ok(PinState {
                    hash: r.get(0)?,
                    failed_attempts: r.get(1)?,
                    locked_until: r.get::<_, Option<i64>>(2)?.map(from_ms),
                })
            })
            .optional()?)
    }

    pub fn set_pin_hash(&mut self, hash: &str) -> Result<()> {
        self.conn.execute(
            "INSERT INTO staff_auth(id, pin_hash) VALUES (1, ?1)
             ON CONFLICT(id) DO UPDATE SET pin_hash = excluded.pin_hash, failed_attempts = 0, locked_until = NULL",
            [hash],
        )?;
        Ok(())
    }

    pub fn record_pin_attempt(&mut self, failed_attempts: u32, locked_until: Option<DateTime<Utc>>) -> Result<()> {
        self.conn.execute(
            "UPDATE staff_auth SET failed_attempts = ?1, locked_until = ?2 WHERE id = 1",
            params![failed_attempts, locked_until.map(to_ms)],
        )?;
        Ok(())
    }
}
