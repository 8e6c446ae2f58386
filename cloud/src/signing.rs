//! The rules of the back office's certificates, apart from pages and storage: which key
//! signs today, which pieces need a certificate, what a rotation and a withdrawal publish.

use chrono::NaiveDate;
use ed25519_dalek::SigningKey;
use marketday_provenance::{self as provenance, Certificate, Edition, KeyId, Serial, TrustedKey, Verdict};

use crate::wire::{KeyChange, PieceChange};

/// `YYYY-MM-DD`, as keys are published.
pub fn day(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

fn parse_day(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").ok()
}

/// The key id of a published key, if it is one.
pub fn key_id(key: &KeyChange) -> Option<KeyId> {
    provenance::public_key(&key.public_key).ok().map(|k| KeyId::of(&k))
}

/// May `key` sign a certificate issued on `today`: not withdrawn, and `today` inside its
/// validity?
fn signs_on(key: &KeyChange, today: NaiveDate) -> bool {
    key.revoked_on.is_none()
        && parse_day(&key.valid_from).is_some_and(|from| from <= today)
        && ends_after(key, today, 0)
}

/// Does `key`'s validity reach `days` days past `today` (or has it no end)?
fn ends_after(key: &KeyChange, today: NaiveDate, days: u64) -> bool {
    match key.valid_until.as_deref() {
        None => true,
        Some(until) => parse_day(until).is_some_and(|until| until >= today + chrono::Days::new(days)),
    }
}

/// The key certificates issued today are signed with: of those that may sign today, the
/// one valid from the latest day and, on a rotation's day (when the old key's last day is
/// the new one's first), the one valid longest.
pub fn key_in_use(keys: &[KeyChange], today: NaiveDate) -> Option<&KeyChange> {
    let until = |k: &KeyChange| k.valid_until.as_deref().and_then(parse_day).unwrap_or(NaiveDate::MAX);
    keys.iter()
        .filter(|k| signs_on(k, today) && key_id(k).is_some())
        .max_by_key(|k| (parse_day(&k.valid_from), until(k)))
}

/// What publishing a new key changes: the new key, valid from today, and every key that
/// could still sign after today retired at the end of today. Certificates those keys
/// signed stay genuine; only the new key signs from tomorrow on.
pub fn rotation(keys: &[KeyChange], atelier: &str, new: &SigningKey, today: NaiveDate) -> Vec<KeyChange> {
    let mut changes: Vec<KeyChange> = keys
        .iter()
        .filter(|k| signs_on(k, today) && ends_after(k, today, 1))
        .map(|k| KeyChange { valid_until: Some(day(today)), ..k.clone() })
        .collect();
    changes.push(KeyChange {
        atelier: atelier.to_owned(),
        public_key: provenance::hex(new.verifying_key().as_bytes()),
        valid_from: day(today),
        valid_until: None,
        revoked_on: None,
        revoked_reason: None,
    });
    changes
}

/// A key withdrawn from today: no certificate under it is vouched for any more, whatever
/// its date (a stolen key can sign any date). Never undone: the store keeps a revocation
/// over any later change of the key.
pub fn withdrawal(key: &KeyChange, reason: &str, today: NaiveDate) -> KeyChange {
    KeyChange { revoked_on: Some(day(today)), revoked_reason: Some(reason.trim().to_owned()), ..key.clone() }
}

/// Why a piece needs signing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// It has no certificate.
    Unsigned,
    /// Its certificate's key was withdrawn.
    WithdrawnKey,
    /// Its certificate does not check against the atelier's keys (unknown signer, outside
    /// the key's dates, not this piece's, damaged).
    NotGenuine,
}

/// Does `piece` need a (new) certificate, given the atelier's keys?
pub fn need(piece: &PieceChange, keyring: &[TrustedKey]) -> Option<Need> {
    let Some(token) = &piece.certificate else { return Some(Need::Unsigned) };
    match provenance::verify(&provenance::read(token), keyring) {
        Verdict::Genuine { certificate, .. } if certificate.serial.as_str() == piece.serial => None,
        Verdict::RevokedKey { .. } => Some(Need::WithdrawnKey),
        _ => Some(Need::NotGenuine),
    }
}

/// The piece with a certificate signed by `key`, issued on `issued`; the reason in words
/// when its catalog entry cannot be certified.
pub fn certify(piece: &PieceChange, key: &SigningKey, issued: NaiveDate) -> Result<PieceChange, String> {
    let serial = Serial::parse(&piece.serial).map_err(|e| e.to_string())?;
    let edition = Edition::new(piece.edition_number, piece.edition_size).map_err(|e| e.to_string())?;
    let assay_hash = match &piece.assay_hash {
        Some(hex) => Some(
            provenance::hex_decode(hex)
                .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
                .ok_or("its assay hash is not a SHA-256")?,
        ),
        None => None,
    };
    let certificate = Certificate {
        key_id: KeyId::of(&key.verifying_key()),
        serial,
        edition,
        drop_id: piece.drop_id.clone().unwrap_or_default(),
        assay_hash,
        issued,
    };
    let token = certificate.sign(key).map_err(|e| e.to_string())?;
    Ok(PieceChange { certificate: Some(token), ..piece.clone() })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ATELIER: &str = "Atelier Thorne";

    fn date(text: &str) -> NaiveDate {
        parse_day(text).unwrap()
    }

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    fn published(k: &SigningKey, from: &str) -> KeyChange {
        rotation(&[], ATELIER, k, date(from)).pop().unwrap()
    }

    fn keyring(keys: &[KeyChange]) -> Vec<TrustedKey> {
        keys.iter().map(|k| k.trusted().unwrap()).collect()
    }

    fn piece(serial: &str) -> PieceChange {
        PieceChange {
            serial: serial.into(),
            drop_id: Some("rose-gold-clasp".into()),
            edition_number: 7,
            edition_size: 24,
            title: "Rose gold clasp pendant".into(),
            maker: String::new(),
            materials: String::new(),
            origin_notes: String::new(),
            price_minor: 12_000,
            currency: "GBP".into(),
            assay_hash: Some("ab".repeat(32)),
            certificate: None,
            photo: None,
        }
    }

    #[test]
    fn a_rotation_retires_the_key_in_use_at_the_end_of_the_day_and_the_new_one_signs() {
        let (old, new) = (key(1), key(2));
        let mut keys = vec![published(&old, "2026-01-01")];
        assert_eq!(key_in_use(&keys, date("2026-12-07")), Some(&keys[0]));
        assert_eq!(key_in_use(&keys, date("2025-12-31")), None, "not before its first day");
        let changes = rotation(&keys, ATELIER, &new, date("2026-12-07"));
        assert_eq!(changes.len(), 2);
        assert_eq!(changes[0].valid_until.as_deref(), Some("2026-12-07"));
        assert_eq!(changes[1].valid_from, "2026-12-07");
        keys = changes;
        assert_eq!(key_id(key_in_use(&keys, date("2026-12-07")).unwrap()), Some(KeyId::of(&new.verifying_key())));
        // A key made and replaced on one day: the new one signs, whatever order the store
        // lists them in (it lists them by id).
        let same_day = rotation(&[published(&old, "2026-12-07")], ATELIER, &new, date("2026-12-07"));
        for order in [same_day.clone(), same_day.into_iter().rev().collect()] {
            let signer = key_in_use(&order, date("2026-12-07")).and_then(key_id);
            assert_eq!(signer, Some(KeyId::of(&new.verifying_key())));
        }
        assert_eq!(key_id(key_in_use(&keys, date("2026-12-08")).unwrap()), Some(KeyId::of(&new.verifying_key())));
        // A certificate the old key signed before stays genuine.
        let signed = certify(&piece("RG-2026-0007"), &old, date("2026-06-01")).unwrap();
        assert_eq!(need(&signed, &keyring(&keys)), None);
        // A withdrawn key signs nothing, and nothing it signed is vouched for.
        let withdrawn = withdrawal(&keys[1], "laptop stolen", date("2026-12-09"));
        assert_eq!(key_in_use(std::slice::from_ref(&withdrawn), date("2026-12-09")), None);
        let after = [keys[0].clone(), withdrawn];
        let by_new = certify(&piece("RG-2026-0008"), &new, date("2026-12-08")).unwrap();
        assert_eq!(need(&by_new, &keyring(&after)), Some(Need::WithdrawnKey));
        assert_eq!(need(&signed, &keyring(&after)), None, "the old key was not withdrawn");
    }

    #[test]
    fn what_needs_signing_is_what_a_kiosk_would_not_call_genuine() {
        let k = key(3);
        let keys = [published(&k, "2026-01-01")];
        let ring = keyring(&keys);
        assert_eq!(need(&piece("RG-2026-0001"), &ring), Some(Need::Unsigned));
        let signed = certify(&piece("RG-2026-0001"), &k, date("2026-12-07")).unwrap();
        assert_eq!(need(&signed, &ring), None);
        // Another piece's certificate, a stranger's, a damaged one.
        let borrowed = PieceChange { serial: "RG-2026-0002".into(), ..signed.clone() };
        assert_eq!(need(&borrowed, &ring), Some(Need::NotGenuine));
        let stranger = certify(&piece("RG-2026-0001"), &key(4), date("2026-12-07")).unwrap();
        assert_eq!(need(&stranger, &ring), Some(Need::NotGenuine));
        let damaged = PieceChange { certificate: Some("AAAA".into()), ..signed };
        assert_eq!(need(&damaged, &ring), Some(Need::NotGenuine));
    }

    #[test]
    fn a_certificate_signs_what_the_catalog_says_or_says_why_not() {
        let k = key(5);
        let signed = certify(&piece("RG-2026-0007"), &k, date("2026-12-07")).unwrap();
        let provenance::Reading::Certificate(read) = provenance::read(signed.certificate.as_deref().unwrap()) else {
            panic!("a certificate")
        };
        let c = read.certificate;
        assert_eq!((c.serial.as_str(), c.edition.number, c.edition.size), ("RG-2026-0007", 7, 24));
        assert_eq!((c.drop_id.as_str(), c.issued), ("rose-gold-clasp", date("2026-12-07")));
        assert_eq!(c.assay_hex().as_deref(), Some("ab".repeat(32).as_str()));
        let too_big = PieceChange { edition_number: 70_000, edition_size: 70_000, ..piece("RG-2026-0009") };
        assert!(certify(&too_big, &k, date("2026-12-07")).unwrap_err().contains("65535"));
        let bad_hash = PieceChange { assay_hash: Some("12".into()), ..piece("RG-2026-0009") };
        assert!(certify(&bad_hash, &k, date("2026-12-07")).unwrap_err().contains("SHA-256"));
    }
}
