//! The kiosk's words: everything of [`marketday_i18n`] (the catalogues, dates, `t!`), and
//! amounts of money as each country writes them, which only the kiosk's [`Money`] needs.

pub use marketday_i18n::*;

use icu_decimal::input::Decimal;

use crate::domain::money::{Currency, Money};

/// An amount as the language writes it: "£1,234.50", "1 234,50 €", "1.234,50 €".
///
/// The digits, separators and grouping come from ICU's data for the language's main
/// country (a French narrow no-break space between thousands, a German dot); the symbol
/// goes where that country puts it: before the number in English, after it and a no-break
/// space in French and German, so "€" never wraps onto a line of its own.
pub fn money(language: Language, amount: Money) -> String {
    let currency = amount.currency;
    let exponent = currency.exponent() as i16;
    let mut number = Decimal::from(amount.minor.unsigned_abs());
    number.multiply_pow10(-exponent);
    number.absolute.pad_end(-exponent);
    // Without ICU's data (a broken build) the plain "1234.50" still says the amount.
    let digits =
        with_number_formatter(language, |f| f.format(&number).to_string()).unwrap_or_else(|| number.to_string());
    let sign = if amount.minor < 0 { "-" } else { "" };
    with_symbol(language, currency, sign, &digits)
}

/// An amount as staff type it on the pad, `typed` with the pad's '.' ("12." so far),
/// written as [`money`] writes a whole one: "£1,234.5", "1 234,5 €", "1.234,5 €".
pub fn typed_money(language: Language, currency: Currency, typed: &str) -> String {
    let (whole, fraction) = typed.split_once('.').map_or((typed, None), |(w, f)| (w, Some(f)));
    let whole = if whole.is_empty() { "0" } else { whole };
    let grouped = whole
        .parse::<u64>()
        .ok()
        .and_then(|n| with_number_formatter(language, |f| f.format(&Decimal::from(n)).to_string()))
        .unwrap_or_else(|| whole.to_owned());
    let digits = match fraction {
        Some(fraction) => format!("{grouped}{}{fraction}", decimal_point(language)),
        None => grouped,
    };
    with_symbol(language, currency, "", &digits)
}

/// The character between units and cents in `language`: '.' or ','.
pub fn decimal_point(language: Language) -> char {
    let mut half = Decimal::from(5);
    half.multiply_pow10(-1);
    with_number_formatter(language, |f| f.format(&half).to_string())
        .and_then(|s| s.chars().find(|c| !c.is_ascii_digit()))
        .unwrap_or('.')
}

/// The currency's symbol where the language puts it, with a no-break space where one goes.
fn with_symbol(language: Language, currency: Currency, sign: &str, digits: &str) -> String {
    let symbol = currency.symbol();
    match language {
        Language::En if symbol.chars().count() == 1 => format!("{sign}{symbol}{digits}"),
        Language::En => format!("{sign}{symbol}\u{a0}{digits}"),
        Language::Fr | Language::De => format!("{sign}{digits}\u{a0}{symbol}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_is_written_as_each_country_writes_it() {
        let m = |minor, c| Money::new(minor, c);
        assert_eq!(money(Language::En, m(123_450, Currency::GBP)), "£1,234.50");
        assert_eq!(money(Language::Fr, m(123_450, Currency::EUR)), "1\u{202f}234,50\u{a0}€");
        assert_eq!(money(Language::De, m(123_450, Currency::EUR)), "1.234,50\u{a0}€");
        assert_eq!(money(Language::En, m(-300, Currency::GBP)), "-£3.00");
        assert_eq!(money(Language::De, m(5, Currency::EUR)), "0,05\u{a0}€");
        assert_eq!(money(Language::Fr, m(100_000_000, Currency::EUR)), "1\u{202f}000\u{202f}000,00\u{a0}€");
        // Typed on the pad, digit by digit.
        assert_eq!(typed_money(Language::En, Currency::GBP, ""), "£0");
        assert_eq!(typed_money(Language::En, Currency::GBP, "1234.5"), "£1,234.5");
        assert_eq!(typed_money(Language::Fr, Currency::EUR, "12."), "12,\u{a0}€");
        assert_eq!(typed_money(Language::De, Currency::EUR, "1234.05"), "1.234,05\u{a0}€");
        assert_eq!((decimal_point(Language::En), decimal_point(Language::De)), ('.', ','));
        let yen = Currency::parse("JPY").unwrap();
        assert_eq!(money(Language::En, m(1_200, yen)), "¥1,200");
        let francs = Currency::parse("CHF").unwrap();
        assert_eq!(money(Language::En, m(990, francs)), "CHF\u{a0}9.90");
        assert_eq!(money(Language::De, m(990, francs)), "9,90\u{a0}CHF");
    }
}
