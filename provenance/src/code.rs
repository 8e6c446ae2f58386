//! Reservation codes: what a customer reads out or shows to collect a piece, made by the
//! kiosk for a stall's reservation and by the cloud for an online one, read by both.

use std::fmt;

use marketday_i18n::{Language, Localized, t};
use serde::{Deserialize, Serialize};

/// A short code customers read out or show: six letters and digits with no look-alikes
/// (no 0/O, 1/I/L), then a check character, written `ABC-DEFG`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ReservationCode(String);

const ALPHABET: &[u8; 31] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";

fn index(c: u8) -> Option<usize> {
    ALPHABET.iter().position(|&a| a == c)
}

/// A weighted sum mod 31 (a prime): every single wrong character changes it by weight x
/// difference, and every swap of neighbours by their difference, neither of which can be
/// a multiple of 31, so both are always caught.
fn check_char(data: &[u8]) -> u8 {
    let sum: usize = data.iter().enumerate().map(|(i, &c)| (i + 1) * index(c).expect("data is in the alphabet")).sum();
    ALPHABET[sum % ALPHABET.len()]
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    #[error("A reservation code has 7 letters and digits, like ABC-DEFG.")]
    Length,
    #[error("{0:?} cannot be in a reservation code. Codes never use 0, O, 1, I or L.")]
    Character(char),
    #[error("That code has a typing mistake: check each character with the customer.")]
    Check,
}

impl Localized for CodeError {
    fn localized(&self, language: Language) -> String {
        let l = language;
        match self {
            CodeError::Length => t!(l, "A reservation code has 7 letters and digits, like ABC-DEFG."),
            CodeError::Character(c) => t!(
                l,
                "{character} cannot be in a reservation code. Codes never use 0, O, 1, I or L.",
                character = format!("{c:?}")
            ),
            CodeError::Check => t!(l, "That code has a typing mistake: check each character with the customer."),
        }
    }
}

impl ReservationCode {
    /// A code from six random alphabet indices (the caller supplies the randomness, so the
    /// domain stays pure and tests are repeatable).
    pub fn from_indices(indices: [u8; 6]) -> ReservationCode {
        let data: Vec<u8> = indices.iter().map(|&i| ALPHABET[usize::from(i) % ALPHABET.len()]).collect();
        let check = check_char(&data);
        let mut s = String::from_utf8(data).expect("ASCII");
        s.push(char::from(check));
        ReservationCode(s)
    }

    /// A fresh random code.
    pub fn random(rng: &mut impl rand::Rng) -> ReservationCode {
        ReservationCode::from_indices(std::array::from_fn(|_| rng.random_range(0..ALPHABET.len() as u8)))
    }

    /// Reads a code as typed or scanned: any case, dashes and spaces ignored.
    pub fn parse(text: &str) -> Result<ReservationCode, CodeError> {
        let cleaned: String = text.chars().filter(|c| !matches!(c, '-' | ' ')).collect::<String>().to_ascii_uppercase();
        if cleaned.chars().count() != 7 {
            return Err(CodeError::Length);
        }
        if let Some(bad) = cleaned.chars().find(|c| !c.is_ascii() || index(*c as u8).is_none()) {
            return Err(CodeError::Character(bad));
        }
        let bytes = cleaned.as_bytes();
        if check_char(&bytes[..6]) != bytes[6] {
            return Err(CodeError::Check);
        }
        Ok(ReservationCode(cleaned))
    }

    /// The seven characters without the dash, as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ReservationCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", &self.0[..3], &self.0[3..])
    }
}

impl TryFrom<String> for ReservationCode {
    type Error = CodeError;
    fn try_from(s: String) -> Result<Self, CodeError> {
        ReservationCode::parse(&s)
    }
}

impl From<ReservationCode> for String {
    fn from(c: ReservationCode) -> String {
        c.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_catch_every_single_typo_and_swap() {
        let code = ReservationCode::from_indices([3, 14, 27, 0, 9, 30]);
        assert_eq!(code.to_string().len(), 8);
        assert_eq!(ReservationCode::parse(&code.to_string()).unwrap(), code);
        assert_eq!(ReservationCode::parse(&code.as_str().to_lowercase()).unwrap(), code);
        let chars: Vec<u8> = code.as_str().bytes().collect();
        for pos in 0..7 {
            for &other in ALPHABET.iter().filter(|&&a| a != chars[pos]) {
                let mut typo = chars.clone();
                typo[pos] = other;
                assert!(ReservationCode::parse(std::str::from_utf8(&typo).unwrap()).is_err());
            }
            if pos < 6 && chars[pos] != chars[pos + 1] {
                let mut swap = chars.clone();
                swap.swap(pos, pos + 1);
                assert!(ReservationCode::parse(std::str::from_utf8(&swap).unwrap()).is_err(), "swap at {pos}");
            }
        }
        assert_eq!(ReservationCode::parse("AB0-DEFG"), Err(CodeError::Character('0')));
        assert_eq!(ReservationCode::parse("ABC"), Err(CodeError::Length));
        assert!(ReservationCode::parse("ÄBC-DEFG").is_err());
    }
}
