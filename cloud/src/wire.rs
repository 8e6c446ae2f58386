//! The sync protocol, version 1: what a kiosk sends and what the server answers, as JSON
//! over HTTP. Both sides use these types, so the contract is written once.
//!
//! Routes (all under `/v1`, each with `Authorization: Bearer <device token>`):
//! - `POST /v1/events` — [`PushRequest`] → [`PushResponse`]. Events carry the device's own
//!   sequence numbers, consecutive from 1. A batch whose first new event is not the next one
//!   expected is refused whole with [`ErrorBody`] `sequence_gap` and `expected_seq`; an event
//!   already received is answered again with its first outcome (a retried batch is a no-op).
//! - `HEAD|PATCH /v1/photos/{sha256}` — resumable upload: `Upload-Offset` says how much the
//!   server holds; a `PATCH` appends at that offset (`Upload-Length` is the whole size), and
//!   the photo is kept only once its bytes hash to its name. The first chunk fixes the length
//!   (another length later is `length_mismatch`); a photo is at most [`MAX_PHOTO_BYTES`]
//!   (`too_large`, 413). Overlapping uploads of one photo, from one device or two server
//!   processes on one data directory, are taken one at a time.
//! - `GET /v1/status` — [`StallStatus`] for the caller's stall.
//! - `GET /v1/changes?since=CURSOR&limit=N` — [`ChangesPage`]: what the atelier published
//!   for the caller's stall (catalog, pieces' allocation and sale state, drops, members,
//!   online reservations, orders to ship, keys) after `since`, oldest first. The kiosk keeps
//!   `next` with what it applied, in one transaction, and asks again while `more`.
//!
//! Pairing, before a kiosk has a token (no `Authorization`):
//! - `POST /v1/pairing` — no body → [`PairingStarted`]: an 8-character code for the screen
//!   and a secret to poll with, valid [`PAIRING_MINUTES`]. At most [`PAIRING_STARTS`] per
//!   address in that time (`too_many`, 429).
//! - `POST /v1/pairing/poll` — [`PairingPoll`] → [`PairingState`]: `waiting` until an owner
//!   types the code in the back office, then `paired` with the device's token, once; after
//!   that, or past its time, `pairing_gone` (404): start again.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub const EVENTS: &str = "/v1/events";
pub const PHOTOS: &str = "/v1/photos";
/// `GET {PIECE_PHOTOS}/{sha256}`: a piece's photo (JPEG), by the hash its catalog entry
/// names; `Range: bytes=N-` continues a download cut off at byte N (answered 206).
pub const PIECE_PHOTOS: &str = "/v1/piece-photos";
pub const STATUS: &str = "/v1/status";
pub const CHANGES: &str = "/v1/changes";
pub const PAIRING: &str = "/v1/pairing";
pub const PAIRING_POLL: &str = "/v1/pairing/poll";
/// How long a pairing code stays valid.
pub const PAIRING_MINUTES: i64 = 10;
/// The characters of a pairing code: none that reads as another (no 0/O, 1/I/L).
pub const PAIRING_ALPHABET: &str = "ABCDEFGHJKMNPQRSTUVWXYZ23456789";
/// How many codes one address may ask for in [`PAIRING_MINUTES`].
pub const PAIRING_STARTS: i64 = 10;
/// The most changes one page carries, whatever `limit` asks.
pub const MAX_PAGE: u32 = 1000;
/// The largest photo the server keeps: a kiosk's dispatch photo is a few hundred kB (1080p,
/// grey, JPEG quality 85), so this leaves room for colour and larger cameras while one device
/// cannot fill the disk with one upload.
pub const MAX_PHOTO_BYTES: u64 = 8 * 1024 * 1024;
/// The largest request body: a batch of events or a photo chunk. Larger is `too_large`, 413.
pub const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;
/// The most events one push may carry (`too_large`, 413): a kiosk sends 250 at a time.
pub const MAX_PUSH_EVENTS: usize = 1000;
pub const UPLOAD_OFFSET: &str = "upload-offset";
pub const UPLOAD_LENGTH: &str = "upload-length";

/// One outbox event, as the kiosk recorded it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub seq: i64,
    pub id: Uuid,
    pub kind: String,
    /// When it happened on the kiosk (ms since the epoch, UTC).
    pub at: i64,
    pub payload: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PushRequest {
    pub events: Vec<Event>,
    /// Events the kiosk still holds unsent after this batch (for the stall's status page).
    pub pending: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PushResponse {
    /// One per event sent, in the same order.
    pub results: Vec<EventResult>,
    /// The sequence number the server expects next from this device.
    pub next_seq: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventResult {
    pub id: Uuid,
    /// Received earlier; `outcome` is the first answer, repeated.
    pub duplicate: bool,
    pub outcome: Outcome,
}

/// Every received event is kept, in order; a rejected one is kept with why, so neither
/// side ever drops it silently.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Outcome {
    Accepted,
    Rejected { reason: Reason, message: String },
}

/// Machine-readable reasons for a rejected event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// Another sale (online or at another stall) got the piece first.
    PieceSoldElsewhere,
    /// The piece is allocated to another stall.
    PieceAllocatedElsewhere,
    /// The event's content could not be read.
    Malformed,
    /// The cloud holds another version of this event (same id and sequence, other content):
    /// the first one stands, and both sides keep a record of the other.
    EventChanged,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::PieceSoldElsewhere => "piece_sold_elsewhere",
            Reason::PieceAllocatedElsewhere => "piece_allocated_elsewhere",
            Reason::Malformed => "malformed",
            Reason::EventChanged => "event_changed",
        }
    }
}

/// A pairing code for the kiosk's screen, and the secret it polls with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairingStarted {
    /// Eight characters of [`PAIRING_ALPHABET`], shown as `ABCD-EFGH`; typed in any case,
    /// with or without the dash.
    pub code: String,
    pub secret: String,
    /// ms since the epoch.
    pub expires_at: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairingPoll {
    pub secret: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum PairingState {
    Waiting {
        code: String,
        expires_at: i64,
    },
    /// The device's bearer token, given this once.
    Paired {
        token: String,
        device: String,
        atelier: String,
        stall: String,
    },
}

/// The body of every non-2xx answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// `unauthorized`, `sequence_gap`, `sequence_reused`, `event_id_reused`, `bad_request`,
    /// `offset_mismatch`, `length_mismatch`, `photo_hash_mismatch`, `too_large`, `not_found`,
    /// `method_not_allowed`, `too_many`, `pairing_gone`, `range_not_satisfiable`, `internal`. Every non-2xx answer carries one, the framework's
    /// own refusals included.
    pub error: String,
    pub message: String,
    /// With `sequence_gap` and `sequence_reused`: the sequence number the cloud expects next
    /// from this device (for `sequence_reused`, what it already holds tells a kiosk whose
    /// store went back in time from one that merely repeated itself).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_seq: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceStatus {
    pub device: String,
    /// Last request, ms since the epoch.
    pub last_seen: Option<i64>,
    /// Events received from it.
    pub received: i64,
    /// Events it reported still holding.
    pub pending: u64,
    pub rejected: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StallStatus {
    pub atelier: String,
    pub stall: String,
    pub devices: Vec<DeviceStatus>,
}

/// One page of changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangesPage {
    /// The caller's stall, as the cloud knows it (allocations name stalls).
    pub stall: String,
    pub changes: Vec<Change>,
    /// The cursor to ask from next time: the last change's, or `since` when there are none.
    pub next: i64,
    /// More changes wait after this page.
    pub more: bool,
}

/// A change as sent: `kind` names the shape of `data` (see [`ChangeBody`]). Kept loose on
/// the wire so a kiosk skips kinds it does not know instead of failing the whole page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub cursor: i64,
    pub kind: String,
    pub data: serde_json::Value,
}

/// What a change says, by kind. Each carries the whole current state of its subject, so
/// applying one again, or an older one after a newer, is harmless.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "data", rename_all = "snake_case")]
pub enum ChangeBody {
    Drop(DropChange),
    Piece(PieceChange),
    PieceState(PieceStateChange),
    Member(MemberChange),
    Reservation(ReservationChange),
    Shipment(ShipmentChange),
    Key(KeyChange),
    ConflictDealt(ConflictDealtChange),
}

impl ChangeBody {
    pub fn kind(&self) -> &'static str {
        match self {
            ChangeBody::Drop(_) => "drop",
            ChangeBody::Piece(_) => "piece",
            ChangeBody::PieceState(_) => "piece_state",
            ChangeBody::Member(_) => "member",
            ChangeBody::Reservation(_) => "reservation",
            ChangeBody::Shipment(_) => "shipment",
            ChangeBody::Key(_) => "key",
            ChangeBody::ConflictDealt(_) => "conflict_dealt",
        }
    }

    /// Reads a change; `Ok(None)` for a kind this version does not know.
    pub fn read(change: &Change) -> Result<Option<ChangeBody>, serde_json::Error> {
        const KNOWN: [&str; 8] =
            ["drop", "piece", "piece_state", "member", "reservation", "shipment", "key", "conflict_dealt"];
        if !KNOWN.contains(&change.kind.as_str()) {
            return Ok(None);
        }
        let tagged = serde_json::json!({ "kind": change.kind, "data": change.data });
        serde_json::from_value(tagged).map(Some)
    }

    pub fn data(&self) -> serde_json::Value {
        let mut tagged = serde_json::to_value(self).expect("a change serialises");
        tagged["data"].take()
    }
}

/// Times are ms since the epoch, UTC.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DropChange {
    pub id: String,
    pub name: String,
    pub opens_at: i64,
    pub general_sale_at: i64,
    pub closes_at: i64,
    #[serde(default)]
    pub member_limit: u32,
}

/// A piece's catalog entry. Its sale state travels separately ([`PieceStateChange`]), so a
/// corrected title never un-sells a piece.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PieceChange {
    pub serial: String,
    #[serde(default)]
    pub drop_id: Option<String>,
    pub edition_number: u32,
    pub edition_size: u32,
    pub title: String,
    #[serde(default)]
    pub maker: String,
    #[serde(default)]
    pub materials: String,
    #[serde(default)]
    pub origin_notes: String,
    pub price_minor: i64,
    pub currency: String,
    #[serde(default)]
    pub assay_hash: Option<String>,
    /// The signed certificate its tag carries.
    #[serde(default)]
    pub certificate: Option<String>,
    /// The SHA-256 of its photo, which a device fetches from [`PIECE_PHOTOS`]. Left out
    /// when there is none, so a piece published before photos reads as it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub photo: Option<String>,
}

/// Where a piece stands in the cloud: the stall it is allocated to, and which stall (or
/// `online`) sold it, if any.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PieceStateChange {
    pub serial: String,
    #[serde(default)]
    pub allocated_to: Option<String>,
    #[serde(default)]
    pub sold_by: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemberChange {
    pub id: String,
    pub name: String,
    pub email: String,
    /// Every drop whose members' window they may buy in (replaces the list held).
    pub waitlist: Vec<String>,
}

/// An online reservation to collect at the stall, or its cancellation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReservationChange {
    pub id: Uuid,
    /// The code the customer was given.
    pub code: String,
    pub serial: String,
    pub customer_name: String,
    pub customer_contact: String,
    #[serde(default)]
    pub member_id: Option<String>,
    pub expires_at: i64,
    #[serde(default)]
    pub cancelled: bool,
}

/// An online order the stall hands to a courier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShipmentChange {
    pub id: String,
    pub buyer: String,
    pub pieces: Vec<String>,
    pub created_at: i64,
}

/// A refused event the back office dealt with: the kiosk that sent it stops asking staff
/// about it. Sent to the kiosk's stall; a kiosk that holds no such conflict ignores it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConflictDealtChange {
    pub event_id: Uuid,
}

/// An atelier key to trust, or its revocation (a revocation is never undone).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyChange {
    pub atelier: String,
    /// 64 hex digits.
    pub public_key: String,
    /// `YYYY-MM-DD`.
    pub valid_from: String,
    #[serde(default)]
    pub valid_until: Option<String>,
    #[serde(default)]
    pub revoked_on: Option<String>,
    #[serde(default)]
    pub revoked_reason: Option<String>,
}

impl KeyChange {
    /// The key to trust, under the atelier name it was published with; refused with the
    /// reason when any field is not what it must be.
    pub fn trusted(&self) -> Result<marketday_provenance::TrustedKey, marketday_provenance::KeyError> {
        marketday_provenance::TrustedKey::published(&marketday_provenance::PublishedKey {
            atelier: &self.atelier,
            public_key: &self.public_key,
            valid_from: &self.valid_from,
            valid_until: self.valid_until.as_deref(),
            revoked_on: self.revoked_on.as_deref(),
            revoked_reason: self.revoked_reason.as_deref(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `ChangeBody::read` lists the kinds it knows by name: every kind `kind()` gives must be
    /// among them, or a kiosk would skip real changes as unknown.
    #[test]
    fn every_change_kind_reads_back_as_sent() {
        let bodies = [
            ChangeBody::Drop(DropChange {
                id: "d".into(),
                name: "D".into(),
                opens_at: 0,
                general_sale_at: 1,
                closes_at: 2,
                member_limit: 1,
            }),
            ChangeBody::Piece(PieceChange {
                serial: "AT-1".into(),
                drop_id: None,
                edition_number: 1,
                edition_size: 2,
                title: "T".into(),
                maker: String::new(),
                materials: String::new(),
                origin_notes: String::new(),
                price_minor: 100,
                currency: "GBP".into(),
                assay_hash: None,
                certificate: None,
                photo: None,
            }),
            ChangeBody::PieceState(PieceStateChange {
                serial: "AT-1".into(),
                allocated_to: Some("B".into()),
                sold_by: None,
            }),
            ChangeBody::Member(MemberChange {
                id: "m".into(),
                name: "M".into(),
                email: "m@x".into(),
                waitlist: vec!["d".into()],
            }),
            ChangeBody::Reservation(ReservationChange {
                id: Uuid::nil(),
                code: "ABC".into(),
                serial: "AT-1".into(),
                customer_name: "C".into(),
                customer_contact: "c@x".into(),
                member_id: None,
                expires_at: 5,
                cancelled: true,
            }),
            ChangeBody::Shipment(ShipmentChange {
                id: "WEB-1".into(),
                buyer: "B".into(),
                pieces: vec!["AT-1".into()],
                created_at: 3,
            }),
            ChangeBody::Key(KeyChange {
                atelier: "A".into(),
                public_key: "00".repeat(32),
                valid_from: "2026-01-01".into(),
                valid_until: None,
                revoked_on: None,
                revoked_reason: None,
            }),
            ChangeBody::ConflictDealt(ConflictDealtChange { event_id: Uuid::nil() }),
        ];
        let mut covered = [false; 8];
        for body in bodies {
            // No `_` arm: a new kind of change does not compile until it has a slot here,
            // and the assertion below fails until it is in `bodies`.
            let slot = match &body {
                ChangeBody::Drop(_) => 0,
                ChangeBody::Piece(_) => 1,
                ChangeBody::PieceState(_) => 2,
                ChangeBody::Member(_) => 3,
                ChangeBody::Reservation(_) => 4,
                ChangeBody::Shipment(_) => 5,
                ChangeBody::Key(_) => 6,
                ChangeBody::ConflictDealt(_) => 7,
            };
            covered[slot] = true;
            let sent = Change { cursor: 1, kind: body.kind().into(), data: body.data() };
            assert_eq!(ChangeBody::read(&sent).unwrap(), Some(body));
        }
        assert_eq!(covered, [true; 8], "a kind of change is never sent and read back");
        let unknown = Change { cursor: 2, kind: "gift_card".into(), data: serde_json::json!({}) };
        assert_eq!(ChangeBody::read(&unknown).unwrap(), None);
    }
}
