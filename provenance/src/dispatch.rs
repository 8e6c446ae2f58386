//! Proof of dispatch: what a courier's hand-over photo proves, signed by the kiosk.
//!
//! A record names the order, its pieces, the tracking number, the courier, when the photo
//! was taken, the photo's SHA-256 and size, and the device that took it; the device's own
//! Ed25519 key signs all of it. Anyone holding the record and the JPEG can check, offline,
//! that neither changed since the kiosk wrote them (`verify`). Whether the device key is
//! really the stall's is a separate question: the verifier compares it with the key the
//! atelier registered.
//!
//! The signature covers a context string and the record's JSON with an empty `signature`,
//! fields in the order of `ProofRecord`: re-serialising a parsed record reproduces those
//! bytes, so whitespace or key order in a file on disk does not matter, while any changed,
//! added or removed field does.

use chrono::{DateTime, SubsecRound, Utc};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use marketday_i18n::{Language, Localized, t};

use crate::{hex, hex_decode};

pub const FORMAT: u32 = 1;
const CONTEXT: &[u8] = b"marketday dispatch proof\0";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProofRecord {
    pub format: u32,
    /// The order's number as staff and buyer know it.
    pub order: String,
    /// Serials of the pieces in the parcel.
    pub pieces: Vec<String>,
    pub tracking_number: String,
    /// The courier company.
    pub courier: String,
    /// Who collected the parcel.
    pub courier_name: String,
    /// When the camera took the photo (kiosk clock, UTC, milliseconds).
    pub captured_at: DateTime<Utc>,
    /// Lower-case hex SHA-256 of the JPEG.
    pub photo_sha256: String,
    pub photo_bytes: u64,
    pub device_id: String,
    /// The signing device's Ed25519 public key, hex.
    pub device_key: String,
    /// Ed25519 signature, hex; empty while signing.
    pub signature: String,
}

/// What the courier and staff entered, before the photo and the signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handover {
    pub order: String,
    pub pieces: Vec<String>,
    pub tracking_number: String,
    pub courier: String,
    pub courier_name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HandoverError {
    #[error("Enter the tracking number")]
    NoTracking,
    #[error("A tracking number is letters, digits, spaces and dashes (up to 40)")]
    BadTracking,
    #[error("Choose the courier company")]
    NoCourier,
    #[error("Enter the courier's name")]
    NoCourierName,
    #[error("The order has no pieces to send")]
    NoPieces,
}

impl Localized for HandoverError {
    fn localized(&self, language: Language) -> String {
        let l = language;
        match self {
            HandoverError::NoTracking => t!(l, "Enter the tracking number"),
            HandoverError::BadTracking => t!(l, "A tracking number is letters, digits, spaces and dashes (up to 40)"),
            HandoverError::NoCourier => t!(l, "Choose the courier company"),
            HandoverError::NoCourierName => t!(l, "Enter the courier's name"),
            HandoverError::NoPieces => t!(l, "The order has no pieces to send"),
        }
    }
}

impl Handover {
    /// Tidies what was typed (spaces trimmed, tracking number upper-cased) and says what is
    /// missing, in words for the courier.
    pub fn checked(mut self) -> Result<Handover, HandoverError> {
        self.tracking_number = self.tracking_number.trim().to_uppercase();
        self.courier = self.courier.trim().to_string();
        self.courier_name = self.courier_name.trim().to_string();
        if self.tracking_number.is_empty() {
            return Err(HandoverError::NoTracking);
        }
        if !is_tracking_number(&self.tracking_number) {
            return Err(HandoverError::BadTracking);
        }
        if self.courier.is_empty() {
            return Err(HandoverError::NoCourier);
        }
        if self.courier_name.is_empty() {
            return Err(HandoverError::NoCourierName);
        }
        if self.pieces.is_empty() {
            return Err(HandoverError::NoPieces);
        }
        Ok(self)
    }
}

/// Letters, digits, spaces and dashes, up to 40: every courier's numbers fit, and a link or
/// any other code scanned by mistake does not.
pub fn is_tracking_number(text: &str) -> bool {
    let text = text.trim();
    !text.is_empty() && text.len() <= 40 && text.chars().all(|c| c.is_ascii_alphanumeric() || c == ' ' || c == '-')
}

pub fn photo_hash(jpeg: &[u8]) -> String {
    hex(&Sha256::digest(jpeg))
}

/// Signs a hand-over and its photo with the device key.
pub fn sign(
    handover: &Handover,
    jpeg: &[u8],
    captured_at: DateTime<Utc>,
    device_id: &str,
    key: &SigningKey,
) -> ProofRecord {
    let mut record = ProofRecord {
        format: FORMAT,
        order: handover.order.clone(),
        pieces: handover.pieces.clone(),
        tracking_number: handover.tracking_number.clone(),
        courier: handover.courier.clone(),
        courier_name: handover.courier_name.clone(),
        // Milliseconds, so the time survives a round trip through any JSON tooling.
        captured_at: captured_at.trunc_subsecs(3),
        photo_sha256: photo_hash(jpeg),
        photo_bytes: jpeg.len() as u64,
        device_id: device_id.to_string(),
        device_key: hex(key.verifying_key().as_bytes()),
        signature: String::new(),
    };
    record.signature = hex(&key.sign(&signed_bytes(&record)).to_bytes());
    record
}

fn signed_bytes(record: &ProofRecord) -> Vec<u8> {
    let unsigned = ProofRecord { signature: String::new(), ..record.clone() };
    let mut bytes = CONTEXT.to_vec();
    bytes.extend(serde_json::to_vec(&unsigned).expect("a record always serialises"));
    bytes
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofProblem {
    #[error("a newer record format ({0}) than this version of Marketday reads")]
    UnknownFormat(u32),
    #[error("the photo is not the one recorded: its SHA-256 is {actual}, the record says {recorded}")]
    PhotoChanged { recorded: String, actual: String },
    #[error("the device key in the record is not an Ed25519 public key")]
    BadKey,
    #[error("the signature does not match the record: a field was changed after signing")]
    BadSignature,
    #[error("the record was signed by device key {found}, not the expected {expected}")]
    OtherDevice { expected: String, found: String },
}

impl Localized for ProofProblem {
    fn localized(&self, language: Language) -> String {
        let l = language;
        match self {
            ProofProblem::UnknownFormat(format) => {
                t!(l, "a newer record format ({format}) than this version of Marketday reads", format = format)
            }
            ProofProblem::PhotoChanged { recorded, actual } => t!(
                l,
                "the photo is not the one recorded: its SHA-256 is {actual}, the record says {recorded}",
                actual = actual,
                recorded = recorded
            ),
            ProofProblem::BadKey => t!(l, "the device key in the record is not an Ed25519 public key"),
            ProofProblem::BadSignature => {
                t!(l, "the signature does not match the record: a field was changed after signing")
            }
            ProofProblem::OtherDevice { expected, found } => t!(
                l,
                "the record was signed by device key {found}, not the expected {expected}",
                found = found,
                expected = expected
            ),
        }
    }
}

/// Checks the photo against the record and the record against its signature; with
/// `expected_key`, also that the signer is that device.
pub fn verify(record: &ProofRecord, jpeg: &[u8], expected_key: Option<&VerifyingKey>) -> Result<(), ProofProblem> {
    if record.format != FORMAT {
        return Err(ProofProblem::UnknownFormat(record.format));
    }
    let actual = photo_hash(jpeg);
    if actual != record.photo_sha256 || jpeg.len() as u64 != record.photo_bytes {
        return Err(ProofProblem::PhotoChanged { recorded: record.photo_sha256.clone(), actual });
    }
    verify_record(record, expected_key)
}

/// Checks the record against its signature (and, with `expected_key`, its signer) without
/// the photo: for a record whose photo is still on its way.
pub fn verify_record(record: &ProofRecord, expected_key: Option<&VerifyingKey>) -> Result<(), ProofProblem> {
    if record.format != FORMAT {
        return Err(ProofProblem::UnknownFormat(record.format));
    }
    let key_bytes: [u8; 32] =
        hex_decode(&record.device_key).and_then(|b| b.try_into().ok()).ok_or(ProofProblem::BadKey)?;
    let key = VerifyingKey::from_bytes(&key_bytes).map_err(|_| ProofProblem::BadKey)?;
    if let Some(expected) = expected_key
        && expected != &key
    {
        return Err(ProofProblem::OtherDevice { expected: hex(expected.as_bytes()), found: record.device_key.clone() });
    }
    let signature: [u8; 64] =
        hex_decode(&record.signature).and_then(|b| b.try_into().ok()).ok_or(ProofProblem::BadSignature)?;
    key.verify_strict(&signed_bytes(record), &Signature::from_bytes(&signature)).map_err(|_| ProofProblem::BadSignature)
}

/// The first 12 hex digits of the photo hash: printed on the slip, read out on the phone.
pub fn short_hash(sha256: &str) -> &str {
    sha256.get(..12).unwrap_or(sha256)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    fn handover() -> Handover {
        Handover {
            order: "K1-000042".into(),
            pieces: vec!["AT-2026-0007".into()],
            tracking_number: " jd0002 2345 ".into(),
            courier: "Royal Mail Special Delivery".into(),
            courier_name: "Sam".into(),
        }
    }

    fn signed() -> (ProofRecord, Vec<u8>) {
        let jpeg = b"\xFF\xD8 pretend this is a parcel \xFF\xD9".to_vec();
        let at = Utc.with_ymd_and_hms(2026, 11, 21, 14, 3, 9).unwrap() + chrono::Duration::microseconds(123_456);
        let h = handover().checked().unwrap();
        (sign(&h, &jpeg, at, "K1", &key(7)), jpeg)
    }

    #[test]
    fn a_signed_record_verifies_after_a_json_round_trip() {
        let (record, jpeg) = signed();
        assert_eq!(record.tracking_number, "JD0002 2345");
        assert_eq!(record.captured_at.timestamp_subsec_micros(), 123_000);
        let pretty = serde_json::to_string_pretty(&record).unwrap();
        let back: ProofRecord = serde_json::from_str(&pretty).unwrap();
        assert_eq!(verify(&back, &jpeg, Some(&key(7).verifying_key())), Ok(()));
    }

    #[test]
    fn any_change_to_the_photo_the_record_or_the_signature_is_caught() {
        let (record, jpeg) = signed();
        let mut photo = jpeg.clone();
        photo[5] ^= 1;
        assert!(matches!(verify(&record, &photo, None), Err(ProofProblem::PhotoChanged { .. })));
        assert!(matches!(verify(&record, &jpeg[..jpeg.len() - 1], None), Err(ProofProblem::PhotoChanged { .. })));

        let edits: [fn(&mut ProofRecord); 7] = [
            |r| r.tracking_number.push('9'),
            |r| r.order = "K1-000043".into(),
            |r| r.pieces.push("AT-2026-0008".into()),
            |r| r.courier_name = "Someone else".into(),
            |r| r.captured_at += chrono::Duration::seconds(60),
            |r| r.device_id = "K2".into(),
            |r| r.signature.replace_range(0..2, if r.signature.starts_with("00") { "01" } else { "00" }),
        ];
        for edit in edits {
            let mut changed = record.clone();
            edit(&mut changed);
            assert_eq!(verify(&changed, &jpeg, None), Err(ProofProblem::BadSignature), "{changed:?}");
        }
        // A forger re-signs with their own key: the signature holds, the device does not.
        let forged = sign(&handover().checked().unwrap(), &jpeg, record.captured_at, "K1", &key(9));
        assert_eq!(verify(&forged, &jpeg, None), Ok(()));
        assert!(matches!(verify(&forged, &jpeg, Some(&key(7).verifying_key())), Err(ProofProblem::OtherDevice { .. })));
        let mut garbled = record.clone();
        garbled.device_key = "zz".into();
        assert_eq!(verify(&garbled, &jpeg, None), Err(ProofProblem::BadKey));
    }

    #[test]
    fn an_added_field_is_refused_when_read() {
        let (record, _) = signed();
        let mut json: serde_json::Value = serde_json::to_value(&record).unwrap();
        json["insured_value"] = 5000.into();
        assert!(serde_json::from_value::<ProofRecord>(json).is_err());
    }

    #[test]
    fn a_handover_says_what_is_missing() {
        let with = |f: fn(&mut Handover)| {
            let mut h = handover();
            f(&mut h);
            h.checked()
        };
        assert_eq!(with(|h| h.tracking_number = "  ".into()), Err(HandoverError::NoTracking));
        assert_eq!(with(|h| h.tracking_number = "JD<script>".into()), Err(HandoverError::BadTracking));
        assert_eq!(with(|h| h.courier = "".into()), Err(HandoverError::NoCourier));
        assert_eq!(with(|h| h.courier_name = " ".into()), Err(HandoverError::NoCourierName));
        assert_eq!(with(|h| h.pieces.clear()), Err(HandoverError::NoPieces));
    }
}
