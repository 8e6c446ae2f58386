//! A piece: one physical, serialized item of a drop.

use serde::{Deserialize, Serialize};

pub use marketday_provenance::{Edition, EditionError, Serial, SerialError};

use super::money::Money;
use crate::i18n::Language;
use crate::t;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PieceStatus {
    Available,
    /// Held at the stall for a named customer until an expiry.
    Held,
    /// Reserved (online or at the stall) for collection.
    Reserved,
    Sold,
    InTransit,
    /// Reported lost or stolen: must never be sold.
    Lost,
    /// Allocated by the atelier to another of its stalls: not for sale here. Never stored;
    /// read from an available piece the cloud allocated elsewhere.
    Elsewhere,
}

impl PieceStatus {
    pub const ALL: [PieceStatus; 7] = [
        PieceStatus::Available,
        PieceStatus::Held,
        PieceStatus::Reserved,
        PieceStatus::Sold,
        PieceStatus::InTransit,
        PieceStatus::Lost,
        PieceStatus::Elsewhere,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PieceStatus::Available => "available",
            PieceStatus::Held => "held",
            PieceStatus::Reserved => "reserved",
            PieceStatus::Sold => "sold",
            PieceStatus::InTransit => "in_transit",
            PieceStatus::Lost => "lost",
            PieceStatus::Elsewhere => "elsewhere",
        }
    }

    pub fn parse(text: &str) -> Option<PieceStatus> {
        PieceStatus::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// The word shown on a tile, in `language`; colour alone never carries the state.
    pub fn label(self, language: Language) -> String {
        let l = language;
        match self {
            PieceStatus::Available => t!(l, "Available"),
            PieceStatus::Held => t!(l, "Held"),
            PieceStatus::Reserved => t!(l, "Reserved"),
            PieceStatus::Sold => t!(l, "Sold"),
            PieceStatus::InTransit => t!(l, "In transit"),
            PieceStatus::Lost => t!(l, "Lost/stolen"),
            PieceStatus::Elsewhere => t!(l, "Other stall"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Piece {
    pub serial: Serial,
    pub drop_id: Option<String>,
    pub edition: Edition,
    pub title: String,
    pub maker: String,
    pub materials: String,
    pub origin_notes: String,
    pub price: Money,
    /// Hex SHA-256 of the lab/assay report.
    pub assay_hash: Option<String>,
    pub status: PieceStatus,
    /// Who a held or reserved piece is kept for, to tell staff in words.
    pub held_for: Option<String>,
}

/// Checks a hex SHA-256 as found in a catalog file.
pub fn valid_assay_hash(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_round_trips_through_its_stored_name() {
        for s in PieceStatus::ALL {
            assert_eq!(PieceStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(PieceStatus::parse("gone"), None);
    }
}
