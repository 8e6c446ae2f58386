//! The kiosk's words in English, French and German.
//!
//! One set of catalogues serves both halves of the kiosk: Slint bundles
//! `lang/<code>/LC_MESSAGES/marketday.po` into the window for the `@tr(...)` strings of
//! `ui/`, and this module reads the same files (compiled in) for the words made in Rust:
//! verdicts, the idle screen's sentences, dates. The message id is the English text, so
//! English needs no catalogue and a missing translation shows in English, never blank.
//!
//! Rust strings are written with [`t!`](crate::t) and [`tn!`](crate::tn), which name their
//! placeholders (`{atelier}`) so a translation may put them in any order. A test reads every
//! `t!`, `tn!` and `@tr` in the sources and fails when French or German lacks one of them.
//! Pure: no I/O, no global state; the language is always passed in.

use std::collections::HashMap;
use std::fmt::Display;
use std::sync::OnceLock;

use chrono::{Datelike, NaiveDateTime, Timelike};
use icu_datetime::DateTimeFormatter;
use icu_datetime::fieldsets;
use icu_datetime::options::TimePrecision;
use icu_decimal::DecimalFormatter;
use icu_decimal::input::Decimal;
use icu_locale_core::locale;
use serde::Deserialize;

use crate::domain::money::{Currency, Money};

/// A language the kiosk speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    #[default]
    En,
    Fr,
    De,
}

impl Language {
    /// In the order the language buttons show them.
    pub const ALL: [Language; 3] = [Language::En, Language::Fr, Language::De];

    /// The code Slint's bundled translations and the `.po` folders use.
    pub fn code(self) -> &'static str {
        match self {
            Language::En => "en",
            Language::Fr => "fr",
            Language::De => "de",
        }
    }

    /// The language's name in itself, as its speakers look for it on a button.
    pub fn own_name(self) -> &'static str {
        match self {
            Language::En => "English",
            Language::Fr => "Français",
            Language::De => "Deutsch",
        }
    }

    /// Reads "fr", "fr-FR", "de_DE.UTF-8" and the like; `None` for a language we do not speak.
    pub fn from_code(code: &str) -> Option<Language> {
        let base = code.trim().split(['-', '_', '.']).next()?.to_ascii_lowercase();
        Language::ALL.into_iter().find(|l| l.code() == base)
    }

    /// Which plural form a count takes (gettext's `Plural-Forms` of each catalogue).
    fn plural_index(self, n: u64) -> usize {
        match self {
            // "0 pièce", "1 pièce", "2 pièces".
            Language::Fr => usize::from(n > 1),
            Language::En | Language::De => usize::from(n != 1),
        }
    }

    fn catalogue_source(self) -> Option<&'static str> {
        match self {
            Language::En => None,
            Language::Fr => Some(include_str!("../lang/fr/LC_MESSAGES/marketday.po")),
            Language::De => Some(include_str!("../lang/de/LC_MESSAGES/marketday.po")),
        }
    }
}

/// One language's translations, read once from its `.po` file.
#[derive(Debug, Default)]
struct Catalogue {
    singular: HashMap<String, String>,
    plural: HashMap<String, Vec<String>>,
}

#[derive(Debug, thiserror::Error)]
#[error("the {language:?} catalogue does not parse: {reason}")]
pub struct CatalogueError {
    language: Language,
    reason: String,
}

fn parse(language: Language, text: &str) -> Result<Catalogue, CatalogueError> {
    use rspolib::prelude::*;
    let po = rspolib::pofile(text).map_err(|e| CatalogueError { language, reason: e.to_string() })?;
    let mut catalogue = Catalogue::default();
    // Fuzzy entries are guesses (msgmerge marks changed strings so); like Slint, skip them.
    for entry in po.entries.iter().filter(|e| e.translated() && !e.obsolete) {
        match &entry.msgid_plural {
            Some(_) => {
                catalogue.plural.insert(entry.msgid.clone(), entry.msgstr_plural.clone());
            }
            None => {
                if let Some(s) = &entry.msgstr {
                    catalogue.singular.insert(entry.msgid.clone(), s.clone());
                }
            }
        }
    }
    Ok(catalogue)
}

fn catalogue(language: Language) -> Option<&'static Catalogue> {
    static CATALOGUES: OnceLock<HashMap<Language, Catalogue>> = OnceLock::new();
    let all = CATALOGUES.get_or_init(|| {
        let mut all = HashMap::new();
        for language in Language::ALL {
            let Some(text) = language.catalogue_source() else { continue };
            // The catalogues are compiled in and a test parses each: this is a build gone
            // wrong, and English is still a working kiosk.
            match parse(language, text) {
                Ok(c) => {
                    all.insert(language, c);
                }
                Err(e) => tracing::error!(error = %e, "showing English instead"),
            }
        }
        all
    });
    all.get(&language)
}

/// `msgid` in `language`, or `msgid` itself where there is no translation.
pub fn tr(language: Language, msgid: &str) -> String {
    catalogue(language)
        .and_then(|c| c.singular.get(msgid))
        .filter(|s| !s.is_empty())
        .cloned()
        .unwrap_or_else(|| msgid.to_owned())
}

/// The form of `singular`/`plural` that `n` takes in `language`; `{n}` is filled in.
pub fn trn(language: Language, singular: &str, plural: &str, n: u64) -> String {
    let index = language.plural_index(n);
    let form = catalogue(language)
        .and_then(|c| c.plural.get(singular))
        .and_then(|forms| forms.get(index))
        .filter(|s| !s.is_empty())
        .cloned()
        .unwrap_or_else(|| if index == 0 { singular } else { plural }.to_owned());
    fill(&form, &[("n", &n)])
}

/// Formats `input` with the field set `$set` in `language`, through a formatter made once
/// per thread and language (ICU's formatters are not `Sync`). `None` only in a build
/// without ICU's data, which the tests would show.
macro_rules! format_with {
    ($set:ty, $options:expr, $language:expr, $input:expr) => {{
        thread_local! {
            static FORMATTERS: HashMap<Language, DateTimeFormatter<$set>> = Language::ALL
                .into_iter()
                .filter_map(|l| Some((l, DateTimeFormatter::try_new(icu_locale(l).into(), $options).ok()?)))
                .collect();
        }
        FORMATTERS.with(|all| all.get(&$language).map(|f| f.format($input).to_string()))
    }};
}

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

/// ICU's formatter for the language, made once per thread (its data is not `Sync`).
fn with_number_formatter<R>(language: Language, f: impl FnOnce(&DecimalFormatter) -> R) -> Option<R> {
    thread_local! {
        static FORMATTERS: HashMap<Language, DecimalFormatter> = Language::ALL
            .into_iter()
            .filter_map(|language| {
                // Compiled-in data for locales ICU ships: fails only in a broken build,
                // which the tests below would show.
                let formatter = DecimalFormatter::try_new(icu_locale(language).into(), Default::default()).ok()?;
                Some((language, formatter))
            })
            .collect();
    }
    FORMATTERS.with(|all| all.get(&language).map(f))
}

/// Something staff or a customer may read (an error, a reason), said in their language.
///
/// Errors keep their English `Display` for logs; the screens show `localized`.
pub trait Localized {
    fn localized(&self, language: Language) -> String;
}

/// Puts each `{name}` of `template` in its place.
pub fn fill(template: &str, args: &[(&str, &dyn Display)]) -> String {
    // One pass over the template, so a value that itself contains "{code}" (a customer's
    // name typed as such) is written as it is, never filled in turn.
    let mut out = String::with_capacity(template.len() + 16);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let value = after
            .find('}')
            .and_then(|close| args.iter().find(|(name, _)| *name == &after[..close]).map(|(_, v)| (close, v)));
        match value {
            Some((close, v)) => {
                out.push_str(&v.to_string());
                rest = &after[close + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// A day as the language writes it: "5 Dec 2026", "5 déc. 2026", "05.12.2026".
pub fn date(language: Language, at: impl Datelike) -> String {
    let fallback = || format!("{:04}-{:02}-{:02}", at.year(), at.month(), at.day());
    let Some(day) = iso_date(&at) else { return fallback() };
    format_with!(fieldsets::YMD, fieldsets::YMD::medium(), language, &day).unwrap_or_else(fallback)
}

/// A day as a heading: "Sunday 6 December", "dimanche 6 décembre", "Sonntag, 6. Dezember".
pub fn day_heading(language: Language, at: impl Datelike) -> String {
    let Some(day) = iso_date(&at) else { return date(language, at) };
    format_with!(fieldsets::MDE, fieldsets::MDE::long(), language, &day).unwrap_or_else(|| date(language, at))
}

/// A time within the week ahead: "Sat 10:00", "sam. 10:00", "Sa., 10:00".
pub fn weekday_time(language: Language, at: NaiveDateTime) -> String {
    iso_date_time(at)
        .and_then(|t| {
            format_with!(fieldsets::ET, fieldsets::ET::short().with_time_precision(TimePrecision::Minute), language, &t)
        })
        .unwrap_or_else(|| at.format("%a %H:%M").to_string())
}

/// A moment on another day: "5 Dec, 18:11", "5 déc., 18:11", "5. Dez., 18:11".
pub fn day_time(language: Language, at: NaiveDateTime) -> String {
    iso_date_time(at)
        .and_then(|t| {
            format_with!(
                fieldsets::MDT,
                fieldsets::MDT::medium().with_time_precision(TimePrecision::Minute),
                language,
                &t
            )
        })
        .unwrap_or_else(|| at.format("%d %b %H:%M").to_string())
}

/// A time of day: "18:11" on a 24-hour clock in all three languages, as each writes it.
pub fn time(language: Language, at: impl Timelike) -> String {
    icu_datetime::input::Time::try_new(at.hour() as u8, at.minute() as u8, 0, 0)
        .ok()
        .and_then(|t| {
            format_with!(fieldsets::T, fieldsets::T::medium().with_time_precision(TimePrecision::Minute), language, &t)
        })
        .unwrap_or_else(|| format!("{:02}:{:02}", at.hour(), at.minute()))
}

fn iso_date(at: &impl Datelike) -> Option<icu_datetime::input::Date<icu_calendar::Iso>> {
    icu_datetime::input::Date::try_new_iso(at.year(), at.month() as u8, at.day() as u8).ok()
}

fn iso_date_time(at: NaiveDateTime) -> Option<icu_datetime::input::DateTime<icu_calendar::Iso>> {
    let time = icu_datetime::input::Time::try_new(at.hour() as u8, at.minute() as u8, at.second() as u8, 0).ok()?;
    Some(icu_datetime::input::DateTime { date: iso_date(&at)?, time })
}

/// The ICU locale a language is written in: British English, France's French, Germany's German.
fn icu_locale(language: Language) -> icu_locale_core::Locale {
    match language {
        Language::En => locale!("en-GB"),
        Language::Fr => locale!("fr-FR"),
        Language::De => locale!("de-DE"),
    }
}

/// A message in the given language, with named placeholders:
/// `t!(l, "By {atelier}.", atelier = name)`.
#[macro_export]
macro_rules! t {
    ($language:expr, $msgid:literal) => {
        $crate::i18n::tr($language, $msgid)
    };
    ($language:expr, $msgid:literal, $($name:ident = $value:expr),+ $(,)?) => {
        $crate::i18n::fill(
            &$crate::i18n::tr($language, $msgid),
            &[$((stringify!($name), &$value as &dyn std::fmt::Display)),+],
        )
    };
}

/// Marks a message id kept as data (a reason stored in a value) and translated where it is
/// shown with [`tr`]: the text itself, so the translations test finds it.
#[macro_export]
macro_rules! msg {
    ($msgid:literal) => {
        $msgid
    };
}

/// A message whose words follow a count: `tn!(l, "{n} piece left", "{n} pieces left", count)`.
#[macro_export]
macro_rules! tn {
    ($language:expr, $singular:literal, $plural:literal, $n:expr) => {
        $crate::i18n::trn($language, $singular, $plural, $n as u64)
    };
    ($language:expr, $singular:literal, $plural:literal, $n:expr, $($name:ident = $value:expr),+ $(,)?) => {
        $crate::i18n::fill(
            &$crate::i18n::trn($language, $singular, $plural, $n as u64),
            &[$((stringify!($name), &$value as &dyn std::fmt::Display)),+],
        )
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn english_is_the_message_itself_and_other_languages_translate_it() {
        assert_eq!(tr(Language::En, "Genuine"), "Genuine");
        assert_eq!(tr(Language::Fr, "Genuine"), "Authentique");
        assert_eq!(tr(Language::De, "Genuine"), "Echt");
        // Not in any catalogue: shown as written rather than blank.
        assert_eq!(tr(Language::De, "No such message"), "No such message");
    }

    #[test]
    fn placeholders_are_filled_by_name_in_the_translation_s_order() {
        let vat = |l| crate::t!(l, "includes VAT {amount} at {rate}", amount = "£57.08", rate = "20%");
        assert_eq!(vat(Language::En), "includes VAT £57.08 at 20%");
        // French and German name the rate first.
        assert_eq!(vat(Language::Fr), "dont TVA 20%\u{a0}: £57.08");
        assert_eq!(vat(Language::De), "inkl. 20% MwSt.: £57.08");
        // A value is written as given, never read as a placeholder itself.
        assert_eq!(fill("{a} and {b}", &[("a", &"{b}"), ("b", &"B")]), "{b} and B");
        assert_eq!(fill("{unknown} {", &[]), "{unknown} {");
    }

    #[test]
    fn dates_are_written_as_each_country_writes_them() {
        let at = chrono::NaiveDate::from_ymd_opt(2026, 12, 5).unwrap();
        assert_eq!(date(Language::En, at), "5 Dec 2026");
        assert_eq!(date(Language::Fr, at), "5 déc. 2026");
        assert_eq!(date(Language::De, at), "05.12.2026");
        // 5 December 2026 is a Saturday.
        assert_eq!(day_heading(Language::En, at), "Saturday 5 December");
        assert_eq!(day_heading(Language::Fr, at), "samedi 5 décembre");
        assert_eq!(day_heading(Language::De, at), "Samstag, 5. Dezember");
        let evening = at.and_hms_opt(18, 7, 30).unwrap();
        assert_eq!(time(Language::En, evening), "18:07");
        assert_eq!(time(Language::De, evening), "18:07");
        assert_eq!(weekday_time(Language::En, evening), "Sat 18:07");
        assert_eq!(weekday_time(Language::Fr, evening), "sam. 18:07");
        assert_eq!(weekday_time(Language::De, evening), "Sa., 18:07");
        assert_eq!(day_time(Language::En, evening), "5 Dec, 18:07");
        assert_eq!(day_time(Language::Fr, evening), "5 déc., 18:07");
        assert_eq!(day_time(Language::De, evening), "5. Dez., 18:07");
    }

    #[test]
    fn plurals_follow_each_language_s_rule() {
        let pieces = |l, n: u64| crate::tn!(l, "{n} piece left", "{n} pieces left", n);
        assert_eq!(pieces(Language::En, 1), "1 piece left");
        assert_eq!(pieces(Language::En, 0), "0 pieces left");
        // French counts zero as singular; German as plural.
        assert_eq!(pieces(Language::Fr, 0), "0 pièce restante");
        assert_eq!(pieces(Language::Fr, 2), "2 pièces restantes");
        assert_eq!(pieces(Language::De, 0), "0 Stücke übrig");
        assert_eq!(pieces(Language::De, 1), "1 Stück übrig");
    }

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

    #[test]
    fn language_codes_read_as_browsers_and_locales_write_them() {
        assert_eq!(Language::from_code("fr-FR"), Some(Language::Fr));
        assert_eq!(Language::from_code("de_DE.UTF-8"), Some(Language::De));
        assert_eq!(Language::from_code("EN"), Some(Language::En));
        assert_eq!(Language::from_code("it"), None);
        assert_eq!(Language::from_code(""), None);
    }

    #[test]
    fn every_catalogue_parses() {
        for language in Language::ALL {
            if let Some(text) = language.catalogue_source() {
                let c = parse(language, text).unwrap();
                assert!(!c.singular.is_empty(), "{language:?} has no translations");
            }
        }
    }
}
