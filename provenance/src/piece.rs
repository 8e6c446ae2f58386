//! What identifies a piece on its tag: its serial and its place in the edition.

use std::fmt;

use marketday_i18n::{Language, Localized, t};
use serde::{Deserialize, Serialize};

/// The atelier's serial engraved or tagged on a piece, e.g. `AT-2026-0042`.
///
/// Serials are compared as typed by staff would expect: surrounding spaces and case
/// do not matter, so they are normalised on the way in.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Serial(String);

impl Serial {
    pub fn parse(text: &str) -> Result<Serial, SerialError> {
        let s = text.trim().to_ascii_uppercase();
        if s.is_empty() {
            return Err(SerialError::Empty);
        }
        if s.len() > 40 || !s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'/') {
            return Err(SerialError::Invalid(text.trim().to_owned()));
        }
        Ok(Serial(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Serial {
    type Error = SerialError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Serial::parse(&value)
    }
}

impl From<Serial> for String {
    fn from(value: Serial) -> Self {
        value.0
    }
}

impl fmt::Display for Serial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SerialError {
    #[error("type or scan a serial first")]
    Empty,
    #[error("'{0}' is not a serial: use letters, digits and dashes, like AT-2026-0042")]
    Invalid(String),
}

impl Localized for SerialError {
    fn localized(&self, language: Language) -> String {
        let l = language;
        match self {
            SerialError::Empty => t!(l, "type or scan a serial first"),
            SerialError::Invalid(text) => {
                t!(l, "'{text}' is not a serial: use letters, digits and dashes, like AT-2026-0042", text = text)
            }
        }
    }
}

/// "7 of 24": the piece's number within its limited run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Edition {
    pub number: u32,
    pub size: u32,
}

impl Edition {
    pub fn new(number: u32, size: u32) -> Result<Edition, EditionError> {
        if size == 0 || number == 0 || number > size {
            Err(EditionError { number, size })
        } else {
            Ok(Edition { number, size })
        }
    }

    /// An edition as `Display` wrote it into a record ("07 of 24"), said again in `language`;
    /// anything else (an older record's own words) is kept as it was.
    pub fn relabel(stored: &str, language: Language) -> String {
        let read =
            stored.split_once(" of ").and_then(|(n, size)| Edition::new(n.parse().ok()?, size.parse().ok()?).ok());
        read.map_or_else(|| stored.to_owned(), |e| e.label(language))
    }

    /// "07 of 24" in `language`, zero-padded as engraved. `Display` stays English: it is
    /// what a sale line stores.
    pub fn label(&self, language: Language) -> String {
        let width = self.size.to_string().len();
        t!(language, "{number} of {size}", number = format!("{:0width$}", self.number), size = self.size)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("edition {number} of {size} is impossible: the number must be between 1 and the edition size")]
pub struct EditionError {
    pub number: u32,
    pub size: u32,
}

impl Localized for EditionError {
    fn localized(&self, language: Language) -> String {
        t!(
            language,
            "edition {number} of {size} is impossible: the number must be between 1 and the edition size",
            number = self.number,
            size = self.size
        )
    }
}

impl fmt::Display for Edition {
    /// Zero-padded to the width of the edition size, as engraved: "07 of 24".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let width = self.size.to_string().len();
        write!(f, "{:0width$} of {}", self.number, self.size)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serials_are_normalised_and_checked() {
        assert_eq!(Serial::parse("  at-2026-0042 ").unwrap().as_str(), "AT-2026-0042");
        assert_eq!(Serial::parse("   "), Err(SerialError::Empty));
        assert!(matches!(Serial::parse("AT 2026"), Err(SerialError::Invalid(_))));
        assert!(Serial::parse("AT-2026-0042;DROP TABLE").is_err());
    }

    #[test]
    fn edition_reads_like_the_engraving() {
        assert_eq!(Edition::new(7, 24).unwrap().to_string(), "07 of 24");
        assert_eq!(Edition::new(7, 100).unwrap().to_string(), "007 of 100");
        assert_eq!(Edition::new(1, 1).unwrap().to_string(), "1 of 1");
        assert!(Edition::new(25, 24).is_err());
        assert!(Edition::new(0, 24).is_err());
        assert_eq!(Edition::new(7, 24).unwrap().label(Language::En), "07 of 24");
        // A stored edition is said again in the printout's language.
        assert_eq!(Edition::relabel("07 of 24", Language::Fr), "07 sur 24");
        assert_eq!(Edition::relabel("007 of 100", Language::De), "007 von 100");
        assert_eq!(Edition::relabel("Artist's proof", Language::De), "Artist's proof");
        assert_eq!(Edition::relabel("30 of 24", Language::Fr), "30 of 24");
    }
}
