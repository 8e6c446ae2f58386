//! Money as integer minor units tagged with an ISO 4217 currency.
//!
//! Floats never touch a price: every amount is an `i64` count of the currency's
//! minor unit (pence for GBP) and arithmetic across currencies is an error, not
//! a silent conversion.

use std::fmt;

use serde::{Deserialize, Serialize};

use marketday_i18n::{Language, Localized, t};

/// An ISO 4217 currency code with its minor-unit exponent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency {
    code: [u8; 3],
}

impl Currency {
    pub const GBP: Currency = Currency { code: *b"GBP" };
    pub const EUR: Currency = Currency { code: *b"EUR" };

    /// Parses a three-letter upper-case ISO code.
    pub fn parse(code: &str) -> Result<Currency, MoneyError> {
        let bytes = code.as_bytes();
        if bytes.len() == 3 && bytes.iter().all(u8::is_ascii_uppercase) {
            Ok(Currency { code: [bytes[0], bytes[1], bytes[2]] })
        } else {
            Err(MoneyError::BadCurrency(code.to_owned()))
        }
    }

    pub fn code(&self) -> &str {
        // Constructed only from ASCII upper-case letters.
        std::str::from_utf8(&self.code).unwrap_or("???")
    }

    /// Digits after the decimal point. The currencies a UK/EU stall meets all use two;
    /// the zero-decimal ones are listed so a yen price is not shown as "¥12.00".
    pub fn exponent(&self) -> u32 {
        match self.code() {
            "JPY" | "KRW" | "ISK" | "CLP" | "VND" => 0,
            _ => 2,
        }
    }

    pub fn symbol(&self) -> &str {
        match self.code() {
            "GBP" => "£",
            "EUR" => "€",
            "USD" => "$",
            "JPY" => "¥",
            other => other,
        }
    }
}

impl TryFrom<String> for Currency {
    type Error = MoneyError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Currency::parse(&value)
    }
}

impl From<Currency> for String {
    fn from(value: Currency) -> Self {
        value.code().to_owned()
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("'{0}' is not a three-letter currency code such as GBP")]
    BadCurrency(String),
    #[error("cannot combine {0} and {1} amounts")]
    CurrencyMismatch(Currency, Currency),
    #[error("amount is too large")]
    Overflow,
    #[error("'{0}' is not an amount (use digits, e.g. 12.50)")]
    BadAmount(String),
}

impl Localized for MoneyError {
    fn localized(&self, language: Language) -> String {
        let l = language;
        match self {
            MoneyError::BadCurrency(code) => {
                t!(l, "'{code}' is not a three-letter currency code such as GBP", code = code)
            }
            MoneyError::CurrencyMismatch(one, other) => {
                t!(l, "cannot combine {currency} and {other_currency} amounts", currency = one, other_currency = other)
            }
            MoneyError::Overflow => t!(l, "amount is too large"),
            MoneyError::BadAmount(text) => t!(l, "'{text}' is not an amount (use digits, e.g. 12.50)", text = text),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    pub minor: i64,
    pub currency: Currency,
}

impl Money {
    pub const fn new(minor: i64, currency: Currency) -> Money {
        Money { minor, currency }
    }

    pub const fn zero(currency: Currency) -> Money {
        Money { minor: 0, currency }
    }

    pub fn is_zero(&self) -> bool {
        self.minor == 0
    }

    pub fn is_negative(&self) -> bool {
        self.minor < 0
    }

    fn same_currency(&self, other: Money) -> Result<(), MoneyError> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(MoneyError::CurrencyMismatch(self.currency, other.currency))
        }
    }

    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        let minor = self.minor.checked_add(other.minor).ok_or(MoneyError::Overflow)?;
        Ok(Money::new(minor, self.currency))
    }

    pub fn checked_sub(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        let minor = self.minor.checked_sub(other.minor).ok_or(MoneyError::Overflow)?;
        Ok(Money::new(minor, self.currency))
    }

    /// `self * numerator / denominator`, rounded half away from zero — the rounding a
    /// customer checks with a calculator.
    pub fn mul_div_round(self, numerator: i64, denominator: i64) -> Result<Money, MoneyError> {
        debug_assert!(denominator > 0);
        let product = (self.minor as i128) * (numerator as i128);
        let d = denominator as i128;
        let half = d / 2;
        let rounded = if product >= 0 { (product + half) / d } else { (product - half) / d };
        let minor = i64::try_from(rounded).map_err(|_| MoneyError::Overflow)?;
        Ok(Money::new(minor, self.currency))
    }

    pub fn min(self, other: Money) -> Money {
        if other.minor < self.minor { other } else { self }
    }

    /// Parses what staff type on a keypad: "12", "12.5", "12.50", "1,250.00".
    /// The amount as the keypad types it and [`Money::parse`] reads it back: "1234.50",
    /// "-3.00", "1200" for yen; no symbol and no grouping, in any language.
    pub fn plain(&self) -> String {
        let exp = self.currency.exponent();
        let scale = 10_u64.pow(exp);
        let abs = self.minor.unsigned_abs();
        let sign = if self.minor < 0 { "-" } else { "" };
        if exp == 0 {
            format!("{sign}{abs}")
        } else {
            format!("{sign}{}.{:0width$}", abs / scale, abs % scale, width = exp as usize)
        }
    }

    pub fn parse(text: &str, currency: Currency) -> Result<Money, MoneyError> {
        let bad = || MoneyError::BadAmount(text.to_owned());
        let trimmed = text.trim().trim_start_matches(currency.symbol());
        // A comma only groups thousands ("1,250.00"). "12,50" is a decimal comma, and
        // reading it as 1,250 would price a piece a hundred times over: refused.
        let whole_part = trimmed.split('.').next().unwrap_or_default();
        let mut groups = whole_part.split(',');
        let first = groups.next().unwrap_or_default();
        if whole_part.contains(',') && (first.is_empty() || first.len() > 3 || groups.any(|g| g.len() != 3)) {
            return Err(bad());
        }
        let cleaned: String = trimmed.replace(',', "");
        let (whole, frac) = match cleaned.split_once('.') {
            Some((w, f)) => (w, f),
            None => (cleaned.as_str(), ""),
        };
        let exp = currency.exponent() as usize;
        if whole.is_empty() && frac.is_empty()
            || !whole.bytes().all(|b| b.is_ascii_digit())
            || !frac.bytes().all(|b| b.is_ascii_digit())
            || frac.len() > exp
        {
            return Err(bad());
        }
        let whole: i64 = if whole.is_empty() { 0 } else { whole.parse().map_err(|_| bad())? };
        let mut frac_minor: i64 = if frac.is_empty() { 0 } else { frac.parse().map_err(|_| bad())? };
        for _ in frac.len()..exp {
            frac_minor *= 10;
        }
        let minor = whole
            .checked_mul(10_i64.pow(exp as u32))
            .and_then(|m| m.checked_add(frac_minor))
            .ok_or(MoneyError::Overflow)?;
        Ok(Money::new(minor, currency))
    }
}

impl fmt::Display for Money {
    /// "£1,234.50", "-£3.00", "¥1,200".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let exp = self.currency.exponent();
        let scale = 10_u64.pow(exp);
        let abs = self.minor.unsigned_abs();
        let whole = abs / scale;
        let frac = abs % scale;
        let digits = whole.to_string();
        let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
        for (i, ch) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                grouped.push(',');
            }
            grouped.push(ch);
        }
        let sign = if self.minor < 0 { "-" } else { "" };
        let symbol = self.currency.symbol();
        let sep = if symbol.len() == 3 && symbol.is_ascii() { " " } else { "" };
        if exp == 0 {
            write!(f, "{sign}{symbol}{sep}{grouped}")
        } else {
            write!(f, "{sign}{symbol}{sep}{grouped}.{frac:0width$}", width = exp as usize)
        }
    }
}

/// Parses a percentage as staff or a config file write it ("20", "12.5", "7.25%") into
/// basis points (2000, 1250, 725). At most two decimals; no sign.
pub fn parse_basis_points(text: &str) -> Option<u32> {
    let text = text.trim().trim_end_matches('%').trim_end();
    let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
    if whole.is_empty() || frac.len() > 2 || !whole.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let whole: u32 = whole.parse().ok()?;
    let frac: u32 = if frac.is_empty() { 0 } else { format!("{frac:0<2}").parse().ok()? };
    whole.checked_mul(100)?.checked_add(frac)
}

/// A VAT rate in basis points (2000 = 20 %), so that 12.5 % is exact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct VatRate(pub u32);

impl VatRate {
    pub const UK_STANDARD: VatRate = VatRate(2000);

    /// The VAT contained in a VAT-inclusive amount: gross * r / (1 + r), rounded to the
    /// minor unit.
    pub fn included_in(self, gross: Money) -> Result<Money, MoneyError> {
        gross.mul_div_round(self.0 as i64, 10_000 + self.0 as i64)
    }
}

impl fmt::Display for VatRate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let whole = self.0 / 100;
        let frac = self.0 % 100;
        if frac == 0 { write!(f, "{whole}%") } else { write!(f, "{whole}.{frac:02}%") }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gbp(minor: i64) -> Money {
        Money::new(minor, Currency::GBP)
    }

    #[test]
    fn formats_pounds_with_grouping_and_sign() {
        assert_eq!(gbp(123_450).to_string(), "£1,234.50");
        assert_eq!(gbp(5).to_string(), "£0.05");
        assert_eq!(gbp(-300).to_string(), "-£3.00");
        assert_eq!(Money::new(1200, Currency::parse("JPY").unwrap()).to_string(), "¥1,200");
        assert_eq!(Money::new(1999, Currency::parse("CHF").unwrap()).to_string(), "CHF 19.99");
    }

    #[test]
    fn parses_keypad_amounts() {
        assert_eq!(Money::parse("12", Currency::GBP).unwrap(), gbp(1200));
        assert_eq!(Money::parse("12.5", Currency::GBP).unwrap(), gbp(1250));
        assert_eq!(Money::parse("£1,250.05", Currency::GBP).unwrap(), gbp(125_005));
        assert_eq!(Money::parse(".5", Currency::GBP).unwrap(), gbp(50));
        for bad in
            ["", ".", "12.345", "1e3", "-4", "abc", "99999999999999999999", "12,50", "1,2345", ",250", "1,25,000"]
        {
            assert!(Money::parse(bad, Currency::GBP).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn plain_amounts_read_back_as_themselves() {
        let yen = Currency::parse("JPY").unwrap();
        for m in [gbp(14_250), gbp(5), gbp(123_456_789), Money::new(1_200, yen)] {
            assert_eq!(Money::parse(&m.plain(), m.currency).unwrap(), m, "{}", m.plain());
        }
        assert_eq!(gbp(14_250).plain(), "142.50");
        assert_eq!(gbp(-300).plain(), "-3.00");
    }

    #[test]
    fn refuses_to_mix_currencies() {
        let err = gbp(100).checked_add(Money::new(100, Currency::EUR)).unwrap_err();
        assert_eq!(err, MoneyError::CurrencyMismatch(Currency::GBP, Currency::EUR));
    }

    #[test]
    fn vat_is_extracted_from_inclusive_prices() {
        // £120.00 at 20 % contains £20.00 VAT.
        assert_eq!(VatRate::UK_STANDARD.included_in(gbp(12_000)).unwrap(), gbp(2_000));
        // £0.99 contains 16.5p, rounded half away from zero to 17p.
        assert_eq!(VatRate::UK_STANDARD.included_in(gbp(99)).unwrap(), gbp(17));
        assert_eq!(VatRate(0).included_in(gbp(99)).unwrap(), gbp(0));
        assert_eq!(VatRate(1250).to_string(), "12.50%");
    }

    #[test]
    fn percentages_parse_to_basis_points() {
        assert_eq!(parse_basis_points("20"), Some(2000));
        assert_eq!(parse_basis_points("12.5%"), Some(1250));
        assert_eq!(parse_basis_points(" 7.25 % "), Some(725));
        for bad in ["", "%", "ten", "1.234", "-5", ".5", "99999999999"] {
            assert_eq!(parse_basis_points(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn rejects_bad_currency_codes() {
        assert!(Currency::parse("gbp").is_err());
        assert!(Currency::parse("POUND").is_err());
    }
}
