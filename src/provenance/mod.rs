//! Provenance at the edges: key and keyring files, signing the catalog, and checking a
//! scanned text against the store. The rules themselves are in `domain::provenance`.

pub mod cli;

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, Utc};
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey, spki::der::pem::LineEnding};
use serde::{Deserialize, Serialize};

use crate::domain::provenance::{self, Certificate, KeyId, PublishedKey, TrustedKey, Verdict};
use crate::domain::{Piece, Serial};
use crate::store::{PieceRecord, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum ProvenanceError {
    #[error("{path}: {why}")]
    File { path: PathBuf, why: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{serial}: {why}")]
    Sign { serial: Serial, why: String },
}

fn file_error(path: &Path, why: impl ToString) -> ProvenanceError {
    ProvenanceError::File { path: path.to_owned(), why: why.to_string() }
}

/// A keyring file: the public half of atelier keys, as published by the atelier or
/// exported by `provenance keygen`.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyringFile {
    #[serde(default, rename = "key")]
    pub keys: Vec<KeyEntry>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyEntry {
    /// Optional in a hand-written file; checked against the public key when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub atelier: String,
    /// 64 hex digits.
    pub public_key: String,
    pub valid_from: NaiveDate,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_on: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_reason: Option<String>,
}

impl KeyEntry {
    pub fn of(key: &TrustedKey) -> KeyEntry {
        KeyEntry {
            id: Some(key.id.to_string()),
            atelier: key.atelier.clone(),
            public_key: provenance::hex(key.public_key.as_bytes()),
            valid_from: key.valid_from,
            valid_until: key.valid_until,
            revoked_on: key.revoked.as_ref().map(|r| r.on),
            revoked_reason: key.revoked.as_ref().map(|r| r.reason.clone()),
        }
    }

    fn to_key(&self, n: usize) -> Result<TrustedKey, String> {
        let at = |why: &dyn std::fmt::Display| format!("key {} ({}): {why}", n + 1, self.atelier);
        // The file's dates arrive parsed; the one constructor takes them as published text.
        let [from, until, revoked_on] =
            [Some(self.valid_from), self.valid_until, self.revoked_on].map(|d| d.map(|d| d.to_string()));
        let key = TrustedKey::published(&PublishedKey {
            atelier: &self.atelier,
            public_key: &self.public_key,
            valid_from: from.as_deref().unwrap_or_default(),
            valid_until: until.as_deref(),
            revoked_on: revoked_on.as_deref(),
            revoked_reason: self.revoked_reason.as_deref(),
        })
        .map_err(|e| at(&e))?;
        if let Some(id) = &self.id
            && KeyId::parse(id) != Some(key.id)
        {
            return Err(at(&format_args!("id {id} does not match the public key (its id is {})", key.id)));
        }
        Ok(key)
    }
}

/// Reads a keyring file; every key must be good or nothing is returned.
pub fn read_keyring(path: &Path) -> Result<Vec<TrustedKey>, ProvenanceError> {
    let text = fs::read_to_string(path).map_err(|e| file_error(path, e))?;
    let file: KeyringFile = toml::from_str(&text).map_err(|e| file_error(path, e.message()))?;
    if file.keys.is_empty() {
        return Err(file_error(path, "no [[key]] entries"));
    }
    file.keys.iter().enumerate().map(|(n, k)| k.to_key(n)).collect::<Result<_, _>>().map_err(|e| file_error(path, e))
}

/// Imports a keyring file into the store: all keys or none.
pub fn import_keyring(store: &mut Store, path: &Path, now: DateTime<Utc>) -> Result<Vec<TrustedKey>, ProvenanceError> {
    let keys = read_keyring(path)?;
    for key in &keys {
        store.trust_key(key, now)?;
    }
    Ok(keys)
}

/// Creates a signing key: the private half to `out` (PKCS#8 PEM, owner-only, never
/// overwritten) and its keyring entry beside it as `<out>.keyring.toml`.
pub fn keygen(out: &Path, atelier: &str, valid_from: NaiveDate) -> Result<(TrustedKey, PathBuf), ProvenanceError> {
    let mut seed = [0u8; 32];
    rand::fill(&mut seed);
    let key = SigningKey::from_bytes(&seed);
    let pem = key.to_pkcs8_pem(LineEnding::LF).map_err(|e| file_error(out, e))?;
    write_new_file(out, pem.as_bytes(), 0o600)?;
    let trusted = TrustedKey::new(atelier, key.verifying_key(), valid_from);
    let public_path = PathBuf::from(format!("{}.keyring.toml", out.display()));
    let text = toml::to_string(&KeyringFile { keys: vec![KeyEntry::of(&trusted)] }).map_err(|e| file_error(out, e))?;
    write_new_file(&public_path, text.as_bytes(), 0o644)?;
    Ok((trusted, public_path))
}

fn write_new_file(path: &Path, bytes: &[u8], mode: u32) -> Result<(), ProvenanceError> {
    create_new_file(path, bytes, mode).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => file_error(path, "already exists; it was not overwritten"),
        _ => file_error(path, e),
    })
}

/// Writes a file that must not exist yet, with `mode` from the start (a private key is
/// never readable by others, not even for a moment), flushed to the disk.
pub(crate) fn create_new_file(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
    #[cfg(not(unix))]
    let _ = mode;
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

pub fn read_signing_key(path: &Path) -> Result<SigningKey, ProvenanceError> {
    let text = fs::read_to_string(path).map_err(|e| file_error(path, e))?;
    SigningKey::from_pkcs8_pem(&text).map_err(|_| file_error(path, "not an Ed25519 private key (PKCS#8 PEM)"))
}

/// The certificate a catalogued piece gets.
pub fn certificate_for(piece: &Piece, key: &SigningKey, issued: NaiveDate) -> Result<Certificate, ProvenanceError> {
    let assay_hash = match &piece.assay_hash {
        Some(h) => Some(provenance::hex_decode(h).and_then(|b| b.try_into().ok()).ok_or_else(|| {
            ProvenanceError::Sign { serial: piece.serial.clone(), why: "assay hash is not SHA-256".into() }
        })?),
        None => None,
    };
    Ok(Certificate {
        key_id: KeyId::of(&key.verifying_key()),
        serial: piece.serial.clone(),
        edition: piece.edition,
        drop_id: piece.drop_id.clone().unwrap_or_default(),
        assay_hash,
        issued,
    })
}

/// Signs pieces and stores each one's certificate; returns (serial, token).
pub fn sign_pieces(
    store: &mut Store,
    pieces: &[Piece],
    key: &SigningKey,
    issued: NaiveDate,
    now: DateTime<Utc>,
) -> Result<Vec<(Serial, String)>, ProvenanceError> {
    let mut out = Vec::with_capacity(pieces.len());
    for piece in pieces {
        let token = certificate_for(piece, key, issued)?
            .sign(key)
            .map_err(|e| ProvenanceError::Sign { serial: piece.serial.clone(), why: e.to_string() })?;
        store.set_certificate(&piece.serial, &token, now)?;
        out.push((piece.serial.clone(), token));
    }
    Ok(out)
}

/// A verdict and what this stall's records add to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub verdict: Verdict,
    pub record: Option<PieceRecord>,
}

impl Check {
    /// What the stall knows about the piece now, in words; `None` when nothing notable.
    pub fn status_line(&self, language: crate::i18n::Language) -> Option<String> {
        use crate::domain::PieceStatus as S;
        use crate::t;
        let l = language;
        let record = self.record.as_ref()?;
        let day = |t: DateTime<Utc>| crate::i18n::date(l, t.date_naive());
        Some(match (record.piece.status, record.sold_at, record.returned_at) {
            (S::Lost, ..) => t!(l, "Reported lost or stolen: staff have been asked to check it."),
            (S::Sold, Some(at), _) => t!(l, "Sold at this stall on {day}.", day = day(at)),
            (S::Sold, None, _) => t!(l, "Sold."),
            (S::Available, _, Some(at)) => t!(l, "Returned on {day}; for sale again.", day = day(at)),
            (S::Available, ..) => t!(l, "For sale at this stall."),
            (S::Held | S::Reserved, ..) => t!(l, "Reserved for a customer."),
            (S::InTransit, ..) => t!(l, "Dispatched to its buyer."),
            (S::Elsewhere, ..) => t!(l, "For sale at another of the atelier's stalls."),
        })
    }

    /// The piece's title, from the catalog (the certificate itself does not carry it).
    pub fn title(&self) -> Option<&str> {
        Some(self.record.as_ref()?.piece.title.as_str())
    }
}

/// Checks a scanned or typed text: the signature against the keyring, then the piece
/// against the catalog.
pub fn check(store: &Store, text: &str) -> Result<Check, StoreError> {
    let verdict = provenance::verify(&provenance::read(text), &store.keyring()?);
    let record = match verdict.certificate() {
        Some(c) => store.piece_record(&c.serial)?,
        None => None,
    };
    Ok(Check { verdict, record })
}
