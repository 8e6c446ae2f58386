//! Pairing a kiosk by a code, and the atelier's kiosks as the back office lists them.
//!
//! A kiosk asks for a code (`start_pairing`) and polls with a secret only it holds; an owner
//! types the code in the back office (`claim_pairing`), naming the stall and the device id;
//! the kiosk's next poll (`collect_pairing`) makes the device and its token, in the
//! transaction that marks the pairing delivered, so the token exists only in that answer.

use super::sql::{Row, Sql, vals};
use super::{Db, DbError, token_hash};

/// What a kiosk's poll finds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Collected {
    /// Not claimed yet; the code stays valid until `expires_at`.
    Waiting { code: String, expires_at: i64 },
    /// Claimed: the device's token, shown this once.
    Paired { token: String, device: String, atelier: String, stall: String },
    /// Expired, already collected, or never issued.
    Gone,
}

/// Why an owner's code did not pair a kiosk.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClaimError {
    #[error("No kiosk is waiting with this code. Check it on the kiosk's screen; a code lasts 10 minutes.")]
    UnknownCode,
    #[error("This code has already paired a kiosk.")]
    AlreadyClaimed,
    #[error("A kiosk called {0} already exists. Choose another name.")]
    DeviceTaken(String),
    #[error("{0}")]
    Store(String),
}

impl From<DbError> for ClaimError {
    fn from(e: DbError) -> ClaimError {
        ClaimError::Store(e.to_string())
    }
}

/// One of the atelier's kiosks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kiosk {
    pub id: String,
    pub stall: String,
    pub last_seen: Option<i64>,
    /// Events it said it still holds, at its last push.
    pub pending: i64,
    /// Events received from it.
    pub received: i64,
    pub revoked_at: Option<i64>,
    /// Its software's version, as it last said.
    pub version: Option<String>,
    /// Seconds its clock was ahead of the cloud's (behind when negative), as last seen.
    pub clock_skew_s: Option<i64>,
}

/// A code as typed: the letters and digits, upper case (the dash and spaces dropped).
pub fn normal_code(typed: &str) -> String {
    typed.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_uppercase()).collect()
}

fn kiosk_of(row: &Row) -> Result<Kiosk, DbError> {
    Ok(Kiosk {
        id: row.text(0)?,
        stall: row.text(1)?,
        last_seen: row.opt_int(2)?,
        pending: row.int(3)?,
        received: row.int(4)?,
        revoked_at: row.opt_int(5)?,
        version: row.opt_text(6)?,
        clock_skew_s: row.opt_int(7)?,
    })
}

impl Db {
    /// Codes asked from `address` since `since`: a kiosk asks once a start, a flood is refused.
    pub fn pairings_from(&self, address: &str, since: i64) -> Result<i64, DbError> {
        self.tx(|tx| {
            let row = tx.query_opt(
                "SELECT COUNT(*) FROM pairings WHERE address = $1 AND created_at > $2",
                vals![address, since],
            )?;
            Ok(row.map(|r| r.int(0)).transpose()?.unwrap_or(0))
        })
    }

    /// Records a kiosk's request to be paired under `code`, polled with `secret`. Forgets
    /// pairings expired a day ago. `false` if the code is taken (the caller draws another).
    pub fn start_pairing(
        &self,
        code: &str,
        secret: &str,
        address: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<bool, DbError> {
        self.tx(|tx| {
            tx.execute("DELETE FROM pairings WHERE expires_at < $1", vals![now - 24 * 3_600_000])?;
            let inserted = tx.execute(
                "INSERT INTO pairings(code, poll_sha256, address, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT DO NOTHING",
                vals![code, token_hash(secret), address, now, expires_at],
            )?;
            Ok(inserted == 1)
        })
    }

    /// An owner of `atelier` claims a waiting code for a kiosk at `stall` named `device`.
    pub fn claim_pairing(
        &self,
        atelier: &str,
        code: &str,
        stall: &str,
        device: &str,
        actor: &str,
        now: i64,
    ) -> Result<(), ClaimError> {
        let code = normal_code(code);
        let mut outcome = Ok(());
        self.write(atelier, |tx| {
            let row = tx.query_opt("SELECT expires_at, atelier FROM pairings WHERE code = $1", vals![&code])?;
            outcome = match row {
                None => Err(ClaimError::UnknownCode),
                Some(row) if row.int(0)? <= now => Err(ClaimError::UnknownCode),
                Some(row) if row.opt_text(1)?.is_some() => Err(ClaimError::AlreadyClaimed),
                Some(_) if taken(tx, device)? => Err(ClaimError::DeviceTaken(device.to_owned())),
                Some(_) => {
                    tx.execute(
                        "UPDATE pairings SET atelier = $2, stall = $3, device = $4, claimed_by = $5 WHERE code = $1",
                        vals![&code, atelier, stall, device, actor],
                    )?;
                    super::accounts::record(
                        tx,
                        atelier,
                        actor,
                        "paired a kiosk",
                        &format!("{device} at {stall}"),
                        now,
                    )?;
                    Ok(())
                }
            };
            Ok(())
        })?;
        outcome
    }

    /// A kiosk's poll with its secret: still waiting, its token (once), or gone.
    pub fn collect_pairing(&self, secret: &str, now: i64) -> Result<Collected, DbError> {
        let row = self.tx(|tx| {
            tx.query_opt(
                "SELECT code, expires_at, atelier, stall, device, delivered_at FROM pairings WHERE poll_sha256 = $1",
                vals![token_hash(secret)],
            )
        })?;
        let Some(row) = row else { return Ok(Collected::Gone) };
        let (code, expires_at) = (row.text(0)?, row.int(1)?);
        match (row.opt_text(2)?, row.opt_text(3)?, row.opt_text(4)?, row.opt_int(5)?) {
            (_, _, _, Some(_)) => Ok(Collected::Gone),
            (Some(atelier), Some(stall), Some(device), None) => {
                let token = super::new_device_token();
                let delivered = self.write(&atelier, |tx| {
                    // Once: a second poll racing this one finds it delivered.
                    let marked = tx.execute(
                        "UPDATE pairings SET delivered_at = $2 WHERE code = $1 AND delivered_at IS NULL",
                        vals![&code, now],
                    )?;
                    if marked == 0 || taken(tx, &device)? {
                        return Ok(false);
                    }
                    tx.execute(
                        "INSERT INTO devices(id, atelier, stall, token_sha256) VALUES ($1, $2, $3, $4)",
                        vals![&device, &atelier, &stall, token_hash(&token)],
                    )?;
                    Ok(true)
                })?;
                Ok(if delivered { Collected::Paired { token, device, atelier, stall } } else { Collected::Gone })
            }
            _ if expires_at <= now => Ok(Collected::Gone),
            _ => Ok(Collected::Waiting { code, expires_at }),
        }
    }

    /// The atelier's kiosks, current first, by id.
    pub fn kiosks_of(&self, atelier: &str) -> Result<Vec<Kiosk>, DbError> {
        self.tx(|tx| {
            tx.query(
                "SELECT d.id, d.stall, d.last_seen, d.pending, d.next_seq - 1, d.revoked_at, d.version, d.clock_skew_s
                 FROM devices d
                 WHERE d.atelier = $1 ORDER BY d.revoked_at IS NOT NULL, d.id",
                vals![atelier],
            )?
            .iter()
            .map(kiosk_of)
            .collect()
        })
    }

    /// Revokes a kiosk of `atelier`: its token opens nothing from now on. Its events stay.
    pub fn revoke_device(&self, atelier: &str, device: &str, actor: &str, now: i64) -> Result<(), DbError> {
        self.write(atelier, |tx| {
            // No token hashes to this text, and it stays unique.
            let revoked = tx.execute(
                "UPDATE devices SET token_sha256 = 'revoked:' || id, revoked_at = $3
                 WHERE id = $1 AND atelier = $2 AND revoked_at IS NULL",
                vals![device, atelier, now],
            )?;
            if revoked == 0 {
                return Err(DbError::Invalid(format!("no kiosk {device} to revoke")));
            }
            super::accounts::record(tx, atelier, actor, "revoked a kiosk", device, now)
        })
    }
}

/// Is a device id in use, by any atelier (ids are the store's keys)?
fn taken(tx: &mut dyn Sql, device: &str) -> Result<bool, DbError> {
    Ok(tx.query_opt("SELECT 1 FROM devices WHERE id = $1", vals![device])?.is_some())
}
