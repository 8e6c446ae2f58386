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
//!   the photo is kept only once its bytes hash to its name.
//! - `GET /v1/status` — [`StallStatus`] for the caller's stall.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub const EVENTS: &str = "/v1/events";
pub const PHOTOS: &str = "/v1/photos";
pub const STATUS: &str = "/v1/status";
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
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::PieceSoldElsewhere => "piece_sold_elsewhere",
            Reason::PieceAllocatedElsewhere => "piece_allocated_elsewhere",
            Reason::Malformed => "malformed",
        }
    }
}

/// The body of every non-2xx answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// `unauthorized`, `sequence_gap`, `sequence_reused`, `event_id_reused`, `bad_request`,
    /// `offset_mismatch`, `photo_hash_mismatch`, `too_large`, `internal`.
    pub error: String,
    pub message: String,
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
