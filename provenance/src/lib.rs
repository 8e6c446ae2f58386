//! Provenance: certificates, what a piece's QR tag says about it, signed by its atelier and
//! checked against a keyring of trusted atelier keys; and proofs of dispatch ([`dispatch`]),
//! a courier's hand-over photo signed by the kiosk that took it. Pure: no I/O, no clock. The kiosk
//! checks tags offline with it; the cloud's public pages answer a phone by the same rules
//! and in the same words (`marketday-i18n`).
//!
//! ```
//! use chrono::NaiveDate;
//! use ed25519_dalek::SigningKey;
//! use marketday_i18n::Language;
//! use marketday_provenance::{Certificate, Edition, KeyId, Serial, TrustedKey, Verdict, read, token_url, verify};
//!
//! let key = SigningKey::from_bytes(&[7; 32]);
//! let day = |d| NaiveDate::from_ymd_opt(2026, 11, d).unwrap();
//! let certificate = Certificate {
//!     key_id: KeyId::of(&key.verifying_key()),
//!     serial: Serial::parse("RG-2026-0007")?,
//!     edition: Edition::new(7, 24)?,
//!     drop_id: "rose-gold-clasp".into(),
//!     assay_hash: None,
//!     issued: day(2),
//! };
//! // What the sticker's QR code carries, and what a camera or a phone reads back from it.
//! let url = token_url("https://verify.example", &certificate.sign(&key)?);
//! let keyring = [TrustedKey::new("Atelier Rose", key.verifying_key(), day(1))];
//! let verdict = verify(&read(&url), &keyring);
//! assert!(verdict.is_genuine());
//! assert_eq!(verdict.certificate().unwrap().edition.label(Language::En), "07 of 24");
//! assert_eq!(verdict.explanation(Language::En), "Signed by Atelier Rose. The certificate has not been altered.");
//! // Any other text gets a verdict too, never a panic.
//! assert_eq!(verify(&read("https://example.com/menu"), &keyring), Verdict::NotMarketday);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! A certificate travels as a token inside a URL, `HTTPS://VERIFY.HOST/P/<TOKEN>`, so a
//! phone can open it too. Everything is upper case on purpose: the URL and the base32
//! token both fit QR alphanumeric mode (5.5 bits a character instead of 8), which keeps
//! the code at version 9 on a 30 mm sticker.
//!
//! Token bytes (format 1), all integers big-endian:
//! `version 1 | flags 1 | key id 4 | issued days since 2020-01-01 2 | edition n 2 |
//!  edition size 2 | [assay SHA-256 32, if flag 1] | drop id len 1 | drop id |
//!  serial len 1 | serial | Ed25519 signature 64`.
//! The signature covers a context string and every byte before it, so no field can
//! change without the signature failing, and no other Marketday signature (a dispatch
//! photo, say) can be passed off as a certificate.

use std::fmt;

use chrono::{Days, NaiveDate};

use data_encoding::BASE32_NOPAD;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use marketday_i18n::{self as i18n, Language, Localized, msg, t};
use sha2::{Digest, Sha256};

mod code;
pub mod dispatch;
mod piece;

pub use code::{CodeError, ReservationCode};
pub use piece::{Edition, EditionError, Serial, SerialError};

pub const FORMAT: u8 = 1;
const CONTEXT: &[u8] = b"marketday provenance certificate\0";
const FLAG_ASSAY: u8 = 1;
const SIGNATURE_LEN: usize = 64;
/// The longest drop id a certificate carries.
pub const MAX_DROP_ID: usize = 40;
/// Far longer than any real token; stops a hostile QR from costing more than a glance.
const MAX_TOKEN_CHARS: usize = 1024;

fn epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(2020, 1, 1).expect("a valid date")
}

/// The first four bytes of SHA-256 of the public key: enough to pick the key out of a
/// keyring (the signature, not the id, is what proves anything).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(pub [u8; 4]);

impl KeyId {
    pub fn of(key: &VerifyingKey) -> KeyId {
        let digest = Sha256::digest(key.as_bytes());
        KeyId([digest[0], digest[1], digest[2], digest[3]])
    }

    pub fn parse(text: &str) -> Option<KeyId> {
        let bytes = hex_decode(text.trim())?;
        Some(KeyId(bytes.try_into().ok()?))
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex(&self.0))
    }
}

/// What the atelier vouches for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Certificate {
    pub key_id: KeyId,
    pub serial: Serial,
    pub edition: Edition,
    /// Empty when the piece belongs to no drop.
    pub drop_id: String,
    pub assay_hash: Option<[u8; 32]>,
    pub issued: NaiveDate,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertificateError {
    #[error("drop id '{0}' is too long for a certificate (at most {MAX_DROP_ID} characters)")]
    DropIdTooLong(String),
    #[error("the issue date {0} is outside 2020-2199")]
    IssuedOutOfRange(NaiveDate),
    #[error("edition numbers above 65535 cannot be certified")]
    EditionTooLarge,
}

impl Localized for CertificateError {
    fn localized(&self, language: Language) -> String {
        let l = language;
        match self {
            CertificateError::DropIdTooLong(drop_id) => t!(
                l,
                "drop id '{drop}' is too long for a certificate (at most {max} characters)",
                drop = drop_id,
                max = MAX_DROP_ID
            ),
            CertificateError::IssuedOutOfRange(day) => {
                t!(l, "the issue date {day} is outside 2020-2199", day = i18n::date(l, *day))
            }
            CertificateError::EditionTooLarge => t!(l, "edition numbers above 65535 cannot be certified"),
        }
    }
}

impl Certificate {
    /// Signs the certificate; the result is the token that goes into the QR.
    pub fn sign(&self, key: &SigningKey) -> Result<String, CertificateError> {
        let mut bytes = self.body()?;
        let signature = key.sign(&signed_message(&bytes));
        bytes.extend_from_slice(&signature.to_bytes());
        Ok(BASE32_NOPAD.encode(&bytes))
    }

    fn body(&self) -> Result<Vec<u8>, CertificateError> {
        if self.drop_id.len() > MAX_DROP_ID {
            return Err(CertificateError::DropIdTooLong(self.drop_id.clone()));
        }
        let days = self
            .issued
            .signed_duration_since(epoch())
            .num_days()
            .try_into()
            .ok()
            .filter(|_: &u16| self.issued >= epoch())
            .ok_or(CertificateError::IssuedOutOfRange(self.issued))?;
        let n: u16 = self.edition.number.try_into().map_err(|_| CertificateError::EditionTooLarge)?;
        let size: u16 = self.edition.size.try_into().map_err(|_| CertificateError::EditionTooLarge)?;
        let mut out = Vec::with_capacity(128);
        out.push(FORMAT);
        out.push(if self.assay_hash.is_some() { FLAG_ASSAY } else { 0 });
        out.extend_from_slice(&self.key_id.0);
        out.extend_from_slice(&u16::to_be_bytes(days));
        out.extend_from_slice(&n.to_be_bytes());
        out.extend_from_slice(&size.to_be_bytes());
        if let Some(hash) = &self.assay_hash {
            out.extend_from_slice(hash);
        }
        for field in [self.drop_id.as_bytes(), self.serial.as_str().as_bytes()] {
            out.push(field.len() as u8);
            out.extend_from_slice(field);
        }
        Ok(out)
    }

    pub fn assay_hex(&self) -> Option<String> {
        self.assay_hash.map(|h| hex(&h))
    }
}

fn signed_message(body: &[u8]) -> Vec<u8> {
    [CONTEXT, body].concat()
}

/// The URL printed in the QR: upper case so the whole of it is QR alphanumeric.
pub fn token_url(verify_url: &str, token: &str) -> String {
    format!("{}/P/{}", verify_url.trim_end_matches('/').to_ascii_uppercase(), token)
}

/// A certificate as read from a code, signature not yet checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedCertificate {
    pub certificate: Certificate,
    body: Vec<u8>,
    signature: [u8; SIGNATURE_LEN],
}

/// What a scanned or typed text is, before any key is consulted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reading {
    Certificate(SignedCertificate),
    /// Some other QR code, URL or text.
    NotOurs,
    /// Looks like one of ours but cannot be read: the reason, for the customer.
    Damaged(&'static str),
}

/// Reads a scanned text. Never panics, whatever the input (see the property tests).
pub fn read(text: &str) -> Reading {
    let text = text.trim();
    let Some(token) = token_of(text) else { return Reading::NotOurs };
    if token.len() > MAX_TOKEN_CHARS {
        return Reading::Damaged(msg!("the code is far too long to be a certificate"));
    }
    let Ok(bytes) = BASE32_NOPAD.decode(token.to_ascii_uppercase().as_bytes()) else {
        return Reading::Damaged(msg!("the code's text is garbled"));
    };
    match parse(&bytes) {
        Ok(signed) => Reading::Certificate(signed),
        Err(why) => Reading::Damaged(why),
    }
}

/// The token part of a certificate URL, or a bare token; `None` for anything else.
fn token_of(text: &str) -> Option<&str> {
    let lower = text.get(..8.min(text.len()))?.to_ascii_lowercase();
    if lower.starts_with("https://") || lower.starts_with("http://") {
        let path_start = text.find("://")? + 3;
        let rest = &text[path_start..];
        let path = &rest[rest.find('/')?..];
        let path = path.split(['?', '#']).next()?;
        let (_, token) = path.rsplit_once("/P/").or_else(|| path.rsplit_once("/p/"))?;
        return Some(token);
    }
    // A bare token, as typed from the sticker's small print or pasted into the CLI.
    let is_token = text.len() >= 40 && text.bytes().all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b));
    is_token.then_some(text)
}

fn parse(bytes: &[u8]) -> Result<SignedCertificate, &'static str> {
    const SHORT: &str = msg!("the code is cut short");
    let mut r = Cursor(bytes);
    let version = r.byte().ok_or(SHORT)?;
    if version != FORMAT {
        return Err(msg!("the certificate is in a newer format than this kiosk reads: update the kiosk"));
    }
    let flags = r.byte().ok_or(SHORT)?;
    if flags & !FLAG_ASSAY != 0 {
        return Err(msg!("the certificate has fields this kiosk does not know"));
    }
    let key_id = KeyId(r.take(4).ok_or(SHORT)?.try_into().map_err(|_| SHORT)?);
    let days = r.u16().ok_or(SHORT)?;
    let (n, size) = (r.u16().ok_or(SHORT)?, r.u16().ok_or(SHORT)?);
    let assay_hash = match flags & FLAG_ASSAY {
        0 => None,
        _ => Some(r.take(32).ok_or(SHORT)?.try_into().map_err(|_| SHORT)?),
    };
    let drop_id = r.text(MAX_DROP_ID).ok_or(msg!("the certificate's drop is unreadable"))?;
    let serial = r.text(40).ok_or(msg!("the certificate's serial is unreadable"))?;
    let body_len = bytes.len() - r.0.len();
    let signature: [u8; SIGNATURE_LEN] = r.take(SIGNATURE_LEN).ok_or(SHORT)?.try_into().map_err(|_| SHORT)?;
    if !r.0.is_empty() {
        return Err(msg!("the code has extra data after the signature"));
    }
    let serial = Serial::parse(&serial).map_err(|_| msg!("the certificate's serial is unreadable"))?;
    let edition = Edition::new(n.into(), size.into()).map_err(|_| msg!("the certificate's edition is impossible"))?;
    let issued = epoch().checked_add_days(Days::new(days.into())).ok_or(SHORT)?;
    let certificate = Certificate { key_id, serial, edition, drop_id, assay_hash, issued };
    Ok(SignedCertificate { certificate, body: bytes[..body_len].to_vec(), signature })
}

struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, tail) = (self.0.get(..n)?, self.0.get(n..)?);
        self.0 = tail;
        Some(head)
    }
    fn byte(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }
    fn u16(&mut self) -> Option<u16> {
        Some(u16::from_be_bytes(self.take(2)?.try_into().ok()?))
    }
    fn text(&mut self, max: usize) -> Option<String> {
        let len = usize::from(self.byte()?);
        if len > max {
            return None;
        }
        let bytes = self.take(len)?;
        bytes.is_ascii().then(|| String::from_utf8_lossy(bytes).into_owned())
    }
}

/// An atelier key this kiosk trusts, from the cloud or an imported keyring file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedKey {
    pub id: KeyId,
    pub atelier: String,
    pub public_key: VerifyingKey,
    pub valid_from: NaiveDate,
    pub valid_until: Option<NaiveDate>,
    pub revoked: Option<Revocation>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revocation {
    pub on: NaiveDate,
    pub reason: String,
}

impl TrustedKey {
    pub fn new(atelier: &str, public_key: VerifyingKey, valid_from: NaiveDate) -> TrustedKey {
        TrustedKey {
            id: KeyId::of(&public_key),
            atelier: atelier.to_owned(),
            public_key,
            valid_from,
            valid_until: None,
            revoked: None,
        }
    }

    /// A key as an atelier publishes it, in a keyring file or through the cloud: every field
    /// as text. The one place such text becomes a key, so the kiosk, the cloud's pages and
    /// its store accept and refuse the same keys.
    pub fn published(key: &PublishedKey<'_>) -> Result<TrustedKey, KeyError> {
        if key.atelier.trim().is_empty() {
            return Err(KeyError::NoAtelier);
        }
        let day = |field: &'static str, text: &str| {
            NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
                .map_err(|_| KeyError::NotADate { field, text: text.to_owned() })
        };
        let mut trusted = TrustedKey::new(key.atelier, public_key(key.public_key)?, day("valid_from", key.valid_from)?);
        trusted.valid_until = key.valid_until.map(|d| day("valid_until", d)).transpose()?;
        trusted.revoked = match (key.revoked_on, key.revoked_reason) {
            (Some(on), reason) => Some(Revocation {
                on: day("revoked_on", on)?,
                reason: reason.filter(|r| !r.trim().is_empty()).unwrap_or("revoked").to_owned(),
            }),
            (None, Some(_)) => return Err(KeyError::ReasonWithoutRevocation),
            (None, None) => None,
        };
        Ok(trusted)
    }
}

/// The fields of a published key, as text (see [`TrustedKey::published`]).
#[derive(Debug, Clone, Copy)]
pub struct PublishedKey<'a> {
    pub atelier: &'a str,
    /// 64 hex digits.
    pub public_key: &'a str,
    /// `YYYY-MM-DD`, as are the other dates.
    pub valid_from: &'a str,
    pub valid_until: Option<&'a str>,
    pub revoked_on: Option<&'a str>,
    pub revoked_reason: Option<&'a str>,
}

/// Why published text is not a key one can trust.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("the key names no atelier")]
    NoAtelier,
    #[error("the public key is not 64 hex digits")]
    NotHex,
    #[error("the public key is not an Ed25519 key")]
    NotEd25519,
    #[error("{field} {text:?} is not a date (YYYY-MM-DD)")]
    NotADate { field: &'static str, text: String },
    #[error("a reason for revoking is given but no revoked_on date")]
    ReasonWithoutRevocation,
}

/// An Ed25519 public key from its 64 hex digits (either case; spaces around are ignored).
pub fn public_key(hex: &str) -> Result<VerifyingKey, KeyError> {
    let bytes: [u8; 32] = hex_decode(hex.trim()).and_then(|b| b.try_into().ok()).ok_or(KeyError::NotHex)?;
    VerifyingKey::from_bytes(&bytes).map_err(|_| KeyError::NotEd25519)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// A valid signature from a trusted, unrevoked key.
    Genuine {
        certificate: Certificate,
        atelier: String,
    },
    /// A trusted key's id, but the signature does not match: a field was altered or
    /// the whole thing was made up.
    Forged {
        certificate: Certificate,
        atelier: String,
    },
    UnknownSigner {
        certificate: Certificate,
        why: UnknownWhy,
    },
    RevokedKey {
        certificate: Certificate,
        atelier: String,
        revocation: Revocation,
    },
    NotMarketday,
    Damaged {
        why: &'static str,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnknownWhy {
    NotInKeyring,
    /// Signed by a known key, dated outside the period the atelier used it.
    OutsideValidity,
}

impl Verdict {
    pub fn is_genuine(&self) -> bool {
        matches!(self, Verdict::Genuine { .. })
    }

    pub fn certificate(&self) -> Option<&Certificate> {
        match self {
            Verdict::Genuine { certificate, .. }
            | Verdict::Forged { certificate, .. }
            | Verdict::UnknownSigner { certificate, .. }
            | Verdict::RevokedKey { certificate, .. } => Some(certificate),
            Verdict::NotMarketday | Verdict::Damaged { .. } => None,
        }
    }

    /// One word for logs, the CLI and tests.
    pub fn word(&self) -> &'static str {
        match self {
            Verdict::Genuine { .. } => "genuine",
            Verdict::Forged { .. } => "forged",
            Verdict::UnknownSigner { .. } => "unknown signer",
            Verdict::RevokedKey { .. } => "revoked key",
            Verdict::NotMarketday => "not a Marketday code",
            Verdict::Damaged { .. } => "damaged",
        }
    }

    /// The verdict in a word or two, as the kiosk's card and the public page head it.
    pub fn headline(&self, language: Language) -> String {
        let l = language;
        match self {
            Verdict::Genuine { .. } => t!(l, "Genuine"),
            Verdict::Forged { .. } => t!(l, "Not genuine"),
            Verdict::UnknownSigner { .. } => t!(l, "Unknown signer"),
            Verdict::RevokedKey { .. } => t!(l, "Withdrawn key"),
            Verdict::NotMarketday => t!(l, "Not a certificate"),
            Verdict::Damaged { .. } => t!(l, "Tag unreadable"),
        }
    }

    /// What the verdict means and what to do, in `language`: the plain-words line under
    /// the headline, for a customer.
    pub fn explanation(&self, language: Language) -> String {
        let l = language;
        match self {
            Verdict::Genuine { atelier, .. } => {
                t!(l, "Signed by {atelier}. The certificate has not been altered.", atelier = atelier)
            }
            Verdict::Forged { atelier, .. } => t!(
                l,
                "This certificate claims to come from {atelier}, but its signature does not match. Do not rely on it.",
                atelier = atelier
            ),
            Verdict::UnknownSigner { certificate, why: UnknownWhy::NotInKeyring } => t!(
                l,
                "Signed with key {key}, which this stall does not know. It may be genuine elsewhere; ask the atelier.",
                key = certificate.key_id
            ),
            Verdict::UnknownSigner { certificate, why: UnknownWhy::OutsideValidity } => t!(
                l,
                "Dated {day}, when the atelier was not using this key. Ask the atelier.",
                day = i18n::date(l, certificate.issued)
            ),
            Verdict::RevokedKey { atelier, revocation, .. } => t!(
                l,
                "{atelier} withdrew this signing key on {day} ({reason}). Ask staff to check the piece.",
                atelier = atelier,
                day = i18n::date(l, revocation.on),
                reason = revocation.reason
            ),
            Verdict::NotMarketday => {
                t!(l, "This QR code is not a Marketday certificate. Hold the piece's own tag to the camera.")
            }
            Verdict::Damaged { why } => {
                t!(l, "The tag could not be read: {why}. Try again, or ask staff.", why = i18n::tr(l, why))
            }
        }
    }
}

/// Checks a reading against the keyring. Revocation wins over everything: a stolen key
/// can sign any date, so no certificate under a revoked key is vouched for.
pub fn verify(reading: &Reading, keyring: &[TrustedKey]) -> Verdict {
    let signed = match reading {
        Reading::Certificate(signed) => signed,
        Reading::NotOurs => return Verdict::NotMarketday,
        Reading::Damaged(why) => return Verdict::Damaged { why },
    };
    let certificate = signed.certificate.clone();
    let Some(key) = keyring.iter().find(|k| k.id == certificate.key_id) else {
        return Verdict::UnknownSigner { certificate, why: UnknownWhy::NotInKeyring };
    };
    let signature = Signature::from_bytes(&signed.signature);
    if key.public_key.verify(&signed_message(&signed.body), &signature).is_err() {
        return Verdict::Forged { certificate, atelier: key.atelier.clone() };
    }
    if let Some(revocation) = &key.revoked {
        return Verdict::RevokedKey { certificate, atelier: key.atelier.clone(), revocation: revocation.clone() };
    }
    let issued = certificate.issued;
    if issued < key.valid_from || key.valid_until.is_some_and(|until| issued > until) {
        return Verdict::UnknownSigner { certificate, why: UnknownWhy::OutsideValidity };
    }
    Verdict::Genuine { certificate, atelier: key.atelier.clone() }
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn hex_decode(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || !text.is_ascii() {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn cert(signer: &SigningKey) -> Certificate {
        Certificate {
            key_id: KeyId::of(&signer.verifying_key()),
            serial: Serial::parse("RG-2026-0007").unwrap(),
            edition: Edition::new(7, 24).unwrap(),
            drop_id: "rose-gold-clasp".into(),
            assay_hash: Some(Sha256::digest(b"assay report").into()),
            issued: date(2026, 11, 2),
        }
    }

    fn keyring(signer: &SigningKey) -> Vec<TrustedKey> {
        vec![TrustedKey::new("Atelier Rose", signer.verifying_key(), date(2026, 1, 1))]
    }

    fn url_of(token: &str) -> String {
        token_url("https://verify.marketday.example", token)
    }

    #[test]
    fn a_signed_certificate_reads_back_genuine_with_every_field() {
        let k = key(1);
        let token = cert(&k).sign(&k).unwrap();
        let verdict = verify(&read(&url_of(&token)), &keyring(&k));
        assert_eq!(verdict, Verdict::Genuine { certificate: cert(&k), atelier: "Atelier Rose".into() });
        // Lower case (a phone that lowered the URL) reads the same.
        assert!(verify(&read(&url_of(&token).to_lowercase()), &keyring(&k)).is_genuine());
        assert!(verify(&read(&token), &keyring(&k)).is_genuine());
    }

    #[test]
    fn the_url_is_all_qr_alphanumeric_and_small() {
        let k = key(1);
        let url = url_of(&cert(&k).sign(&k).unwrap());
        assert!(url.bytes().all(|b| b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:".contains(&b)), "{url}");
        let code = qrcode::QrCode::with_error_correction_level(url.as_bytes(), qrcode::EcLevel::M).unwrap();
        assert!(matches!(code.version(), qrcode::Version::Normal(v) if v <= 10), "{:?}", code.version());
    }

    #[test]
    fn every_altered_byte_is_caught() {
        let k = key(1);
        let token = cert(&k).sign(&k).unwrap();
        let bytes = BASE32_NOPAD.decode(token.as_bytes()).unwrap();
        for i in 0..bytes.len() {
            let mut altered = bytes.clone();
            altered[i] ^= 0x01;
            let verdict = verify(&read(&BASE32_NOPAD.encode(&altered)), &keyring(&k));
            assert!(!verdict.is_genuine(), "flipping byte {i} went unnoticed");
        }
    }

    #[test]
    fn each_bad_certificate_gets_its_own_verdict() {
        let (k, other) = (key(1), key(2));
        let ring = keyring(&k);
        // Another key claiming Atelier Rose's id: forged.
        let forged = cert(&k).sign(&other).unwrap();
        assert!(matches!(verify(&read(&forged), &ring), Verdict::Forged { .. }));
        // An edition altered after signing: forged.
        let mut bytes = BASE32_NOPAD.decode(cert(&k).sign(&k).unwrap().as_bytes()).unwrap();
        bytes[9] = 3;
        assert!(matches!(verify(&read(&BASE32_NOPAD.encode(&bytes)), &ring), Verdict::Forged { .. }));
        // A key nobody here trusts.
        let stranger = cert(&other).sign(&other).unwrap();
        assert!(matches!(
            verify(&read(&stranger), &ring),
            Verdict::UnknownSigner { why: UnknownWhy::NotInKeyring, .. }
        ));
        // Revoked: even a certificate dated before the revocation.
        let mut revoked = ring.clone();
        revoked[0].revoked = Some(Revocation { on: date(2026, 12, 1), reason: "key stolen".into() });
        let v = verify(&read(&cert(&k).sign(&k).unwrap()), &revoked);
        assert!(matches!(v, Verdict::RevokedKey { .. }) && v.explanation(Language::En).contains("key stolen"));
        // Dated before the key was in use.
        let mut early = cert(&k);
        early.issued = date(2025, 6, 1);
        let v = verify(&read(&early.sign(&k).unwrap()), &ring);
        assert!(matches!(v, Verdict::UnknownSigner { why: UnknownWhy::OutsideValidity, .. }));
    }

    #[test]
    fn other_codes_and_broken_ones_are_told_apart() {
        let k = key(1);
        let ring = keyring(&k);
        for text in ["https://example.com/menu", "WIFI:S:stall;T:WPA;P:secret;;", "hello", "", "4006381333931"] {
            assert_eq!(verify(&read(text), &ring), Verdict::NotMarketday, "{text}");
        }
        let token = cert(&k).sign(&k).unwrap();
        let truncated = url_of(&token[..token.len() - 10]);
        assert!(matches!(verify(&read(&truncated), &ring), Verdict::Damaged { .. }));
        assert!(matches!(read(&url_of("AT-2026-0042")), Reading::Damaged(_)));
        let mut extra = BASE32_NOPAD.decode(token.as_bytes()).unwrap();
        extra.push(0);
        assert!(matches!(read(&BASE32_NOPAD.encode(&extra)), Reading::Damaged(_)));
    }

    #[test]
    fn fields_that_cannot_be_encoded_are_refused_when_signing() {
        let k = key(1);
        let mut c = cert(&k);
        c.drop_id = "x".repeat(41);
        assert!(matches!(c.sign(&k), Err(CertificateError::DropIdTooLong(_))));
        let mut c = cert(&k);
        c.issued = date(2019, 12, 31);
        assert!(matches!(c.sign(&k), Err(CertificateError::IssuedOutOfRange(_))));
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 4000, ..ProptestConfig::default() })]

        #[test]
        fn any_text_gets_a_verdict_without_panicking(text in ".{0,400}") {
            let _ = verify(&read(&text), &keyring(&key(1))).explanation(Language::En);
        }

        #[test]
        fn any_bytes_in_a_certificate_url_get_a_verdict(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let reading = read(&url_of(&BASE32_NOPAD.encode(&bytes)));
            let verdict = verify(&reading, &keyring(&key(1)));
            prop_assert!(!verdict.is_genuine());
        }

        #[test]
        fn mutated_tokens_are_never_genuine(pos in 0usize..300, with in "[A-Z2-7]") {
            let k = key(1);
            let token = cert(&k).sign(&k).unwrap();
            let mut chars: Vec<char> = token.chars().collect();
            let i = pos % chars.len();
            let replacement = with.chars().next().unwrap();
            prop_assume!(chars[i] != replacement);
            chars[i] = replacement;
            let mutated: String = chars.into_iter().collect();
            prop_assert!(!verify(&read(&mutated), &keyring(&k)).is_genuine());
        }
    }

    #[test]
    fn a_published_key_is_read_or_refused_with_the_reason() {
        let hex_key = hex(key(7).verifying_key().as_bytes());
        let published = PublishedKey {
            atelier: "Atelier Rose",
            public_key: &hex_key,
            valid_from: "2026-01-01",
            valid_until: Some("2026-06-30"),
            revoked_on: Some("2026-05-02"),
            revoked_reason: None,
        };
        let trusted = TrustedKey::published(&published).unwrap();
        assert_eq!(trusted.id, KeyId::of(&key(7).verifying_key()));
        assert_eq!((trusted.valid_from, trusted.valid_until), (date(2026, 1, 1), Some(date(2026, 6, 30))));
        assert_eq!(trusted.revoked, Some(Revocation { on: date(2026, 5, 2), reason: "revoked".into() }));
        let upper = hex_key.to_ascii_uppercase();
        assert!(TrustedKey::published(&PublishedKey { public_key: &upper, ..published }).is_ok());

        let refused = |k: PublishedKey<'_>| TrustedKey::published(&k).unwrap_err();
        assert_eq!(refused(PublishedKey { atelier: " ", ..published }), KeyError::NoAtelier);
        assert_eq!(refused(PublishedKey { public_key: &hex_key[2..], ..published }), KeyError::NotHex);
        assert_eq!(refused(PublishedKey { public_key: "zz", ..published }), KeyError::NotHex);
        // Not every 32 bytes are a point on the curve.
        let off_curve = (0..=u8::MAX)
            .map(|b| [b; 32])
            .find(|bytes| VerifyingKey::from_bytes(bytes).is_err())
            .map(|bytes| hex(&bytes))
            .unwrap();
        assert_eq!(refused(PublishedKey { public_key: &off_curve, ..published }), KeyError::NotEd25519);
        assert_eq!(
            refused(PublishedKey { valid_until: Some("30/06/2026"), ..published }),
            KeyError::NotADate { field: "valid_until", text: "30/06/2026".into() }
        );
        assert_eq!(
            refused(PublishedKey { revoked_on: None, revoked_reason: Some("stolen"), ..published }),
            KeyError::ReasonWithoutRevocation
        );
    }
}
