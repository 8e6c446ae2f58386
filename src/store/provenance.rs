//! The keyring of trusted atelier keys and the pieces' signed certificates.

use chrono::{DateTime, NaiveDate, Utc};
use ed25519_dalek::VerifyingKey;
use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use super::{Result, Store, StoreError, from_ms, outbox, to_ms};
use crate::domain::provenance::{KeyId, Revocation, TrustedKey};
use crate::domain::{Piece, Serial};

/// What the stall's own records add to a certificate: the piece as catalogued, and when
/// it was sold or returned here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PieceRecord {
    pub piece: Piece,
    pub sold_at: Option<DateTime<Utc>>,
    pub returned_at: Option<DateTime<Utc>>,
}

#[derive(Serialize)]
struct CertificateIssued<'a> {
    serial: &'a str,
    token: &'a str,
}

fn date(text: Option<String>) -> rusqlite::Result<Option<NaiveDate>> {
    text.map(|t| {
        t.parse().map_err(|e| rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e)))
    })
    .transpose()
}

/// Adds or updates a trusted key inside the caller's transaction (see [`Store::trust_key`]).
pub(crate) fn trust_key_in(tx: &rusqlite::Transaction<'_>, key: &TrustedKey, now: DateTime<Utc>) -> Result<()> {
    let revoked_on = key.revoked.as_ref().map(|r| r.on.to_string());
    let reason = key.revoked.as_ref().map(|r| r.reason.clone());
    tx.execute(
        "INSERT INTO trusted_keys(key_id, atelier, public_key, valid_from, valid_until, revoked_on,
                                  revoked_reason, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT(key_id) DO UPDATE SET
            atelier = excluded.atelier,
            valid_from = excluded.valid_from,
            valid_until = excluded.valid_until,
            revoked_on = coalesce(trusted_keys.revoked_on, excluded.revoked_on),
            revoked_reason = coalesce(trusted_keys.revoked_reason, excluded.revoked_reason),
            updated_at = excluded.updated_at
         WHERE trusted_keys.public_key = excluded.public_key",
        params![
            key.id.to_string(),
            key.atelier,
            key.public_key.as_bytes().as_slice(),
            key.valid_from.to_string(),
            key.valid_until.map(|d| d.to_string()),
            revoked_on,
            reason,
            to_ms(now)
        ],
    )?;
    let stored: Vec<u8> =
        tx.query_row("SELECT public_key FROM trusted_keys WHERE key_id = ?1", [key.id.to_string()], |r| r.get(0))?;
    if stored != key.public_key.as_bytes() {
        return Err(StoreError::Invalid(format!(
            "key id {} is already trusted for a different public key; remove it first",
            key.id
        )));
    }
    Ok(())
}

impl Store {
    /// Adds or updates a trusted key. A revocation is never undone by a later import: an
    /// old keyring file must not bring a stolen key back to life.
    pub fn trust_key(&mut self, key: &TrustedKey, now: DateTime<Utc>) -> Result<()> {
        self.in_transaction(|tx| trust_key_in(tx, key, now))
    }

    pub fn keyring(&self) -> Result<Vec<TrustedKey>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT key_id, atelier, public_key, valid_from, valid_until, revoked_on, revoked_reason
             FROM trusted_keys ORDER BY atelier, valid_from",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Vec<u8>>(2)?,
                date(r.get(3)?)?,
                date(r.get(4)?)?,
                date(r.get(5)?)?,
                r.get::<_, Option<String>>(6)?,
            ))
        })?;
        let mut keys = Vec::new();
        for row in rows {
            let (id, atelier, public, valid_from, valid_until, revoked_on, reason) = row?;
            let bad = || StoreError::Invalid(format!("trusted key {id} is unreadable"));
            let bytes: [u8; 32] = public.try_into().map_err(|_| bad())?;
            let public_key = VerifyingKey::from_bytes(&bytes).map_err(|_| bad())?;
            keys.push(TrustedKey {
                id: KeyId::parse(&id).ok_or_else(bad)?,
                atelier,
                public_key,
                valid_from: valid_from.ok_or_else(bad)?,
                valid_until,
                revoked: revoked_on.map(|on| Revocation { on, reason: reason.unwrap_or_default() }),
            });
        }
        Ok(keys)
    }

    /// Records a piece's signed certificate (what its sticker will carry).
    pub fn set_certificate(&mut self, serial: &Serial, token: &str, now: DateTime<Utc>) -> Result<()> {
        self.in_transaction(|tx| {
            let changed =
                tx.execute("UPDATE pieces SET certificate = ?2 WHERE serial = ?1", params![serial.as_str(), token])?;
            if changed == 0 {
                return Err(StoreError::NotFound(format!("piece {serial}")));
            }
            outbox::append(tx, "certificate.issued", &CertificateIssued { serial: serial.as_str(), token }, now)?;
            Ok(())
        })
    }

    pub fn certificate(&self, serial: &Serial) -> Result<Option<String>> {
        Ok(self
            .conn
            .prepare_cached("SELECT certificate FROM pieces WHERE serial = ?1")?
            .query_row([serial.as_str()], |r| r.get::<_, Option<String>>(0))
            .optional()?
            .flatten())
    }

    /// The piece as this stall knows it, for the verdict card; `None` if never catalogued here.
    pub fn piece_record(&self, serial: &Serial) -> Result<Option<PieceRecord>> {
        let Some(piece) = self.piece(serial)? else { return Ok(None) };
        let (sold_at, returned_at) = self
            .conn
            .prepare_cached(
                "SELECT s.at, l.returned_at FROM sale_lines l JOIN sales s ON s.id = l.sale_id
                 WHERE l.serial = ?1 AND s.voided_at IS NULL ORDER BY s.at DESC LIMIT 1",
            )?
            .query_row([serial.as_str()], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, Option<i64>>(1)?)))
            .optional()?
            .map_or((None, None), |(sold, returned)| (Some(from_ms(sold)), returned.map(from_ms)));
        Ok(Some(PieceRecord { piece, sold_at, returned_at }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::store_with_pieces;
    use ed25519_dalek::SigningKey;

    #[test]
    fn a_revoked_key_stays_revoked_when_an_old_keyring_is_imported_again() {
        let (_dir, mut store) = store_with_pieces(1);
        let now = Utc::now();
        let public = SigningKey::from_bytes(&[7; 32]).verifying_key();
        let mut key = TrustedKey::new("Atelier Rose", public, NaiveDate::from_ymd_opt(2026, 1, 1).unwrap());
        store.trust_key(&key, now).unwrap();
        assert_eq!(store.keyring().unwrap(), vec![key.clone()]);
        let revocation =
            Revocation { on: NaiveDate::from_ymd_opt(2026, 10, 1).unwrap(), reason: "laptop stolen".into() };
        key.revoked = Some(revocation.clone());
        store.trust_key(&key, now).unwrap();
        key.revoked = None;
        store.trust_key(&key, now).unwrap();
        assert_eq!(store.keyring().unwrap()[0].revoked, Some(revocation));
    }

    fn day() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 1, 1).unwrap()
    }

    #[test]
    fn a_key_id_cannot_be_taken_over_by_another_public_key() {
        let (_dir, mut store) = store_with_pieces(1);
        let good = TrustedKey::new("Atelier Rose", SigningKey::from_bytes(&[7; 32]).verifying_key(), day());
        store.trust_key(&good, Utc::now()).unwrap();
        let mut impostor = TrustedKey::new("Rose", SigningKey::from_bytes(&[8; 32]).verifying_key(), day());
        impostor.id = good.id;
        assert!(matches!(store.trust_key(&impostor, Utc::now()), Err(StoreError::Invalid(_))));
        assert_eq!(store.keyring().unwrap(), vec![good]);
    }
}
