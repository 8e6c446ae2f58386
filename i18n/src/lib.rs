//! Marketday's words in English, French and German, for the kiosk and the cloud alike.
//!
//! One set of catalogues serves the kiosk's window, its Rust code and the cloud's pages:
//! Slint bundles `lang/<code>/LC_MESSAGES/marketday.po` into the window for the `@tr(...)`
//! strings of `ui/`, and this crate reads the same files (compiled in) for the words made in
//! Rust: verdicts, the idle screen's sentences, dates. So a customer's phone is told what
//! the stall's screen tells them, in the same words. The message id is the English text, so
//! English needs no catalogue and a missing translation shows in English, never blank.
//!
//! Rust strings are written with [`t!`] and [`tn!`], which name their placeholders
//! (`{atelier}`) so a translation may put them in any order. A test of the kiosk's reads
//! every `t!`, `tn!` and `@tr` in the workspace's sources and fails when French or German
//! lacks one of them. Pure: no I/O, no global state; the language is always passed in.
//!
//! ```
//! use marketday_i18n::{Language, t};
//!
//! let atelier = "Atelier Rose";
//! let said = |l| t!(l, "Signed by {atelier}. The certificate has not been altered.", atelier = atelier);
//! assert_eq!(said(Language::En), "Signed by Atelier Rose. The certificate has not been altered.");
//! assert!(said(Language::Fr).contains("Atelier Rose"));
//! assert_eq!(Language::from_accept_language("de-CH,de;q=0.9,en;q=0.8"), Some(Language::De));
//! ```

use std::collections::HashMap;
use std::fmt::Display;
use std::sync::OnceLock;

use chrono::{Datelike, NaiveDateTime, Timelike};
use icu_datetime::DateTimeFormatter;
use icu_datetime::fieldsets;
use icu_datetime::options::TimePrecision;
use icu_decimal::DecimalFormatter;
use icu_locale_core::locale;
use serde::Deserialize;

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

    /// The first language we speak in an HTTP `Accept-Language` header, by the weights the
    /// browser gave ("fr-CH, fr;q=0.9, en;q=0.8"); `None` when it names none of ours.
    pub fn from_accept_language(header: &str) -> Option<Language> {
        let mut offered: Vec<(u16, usize, Language)> = header
            .split(',')
            .enumerate()
            .filter_map(|(order, part)| {
                let mut fields = part.split(';');
                let language = Language::from_code(fields.next()?)?;
                // Thousandths, as the header's grammar allows at most three decimals.
                let weight = fields.find_map(|f| f.trim().strip_prefix("q=")).map_or(Some(1000), |q| {
                    q.trim().parse::<f32>().ok().map(|q| (q.clamp(0.0, 1.0) * 1000.0) as u16)
                })?;
                (weight > 0).then_some((weight, order, language))
            })
            .collect();
        offered.sort_by_key(|&(weight, order, _)| (std::cmp::Reverse(weight), order));
        offered.first().map(|&(_, _, l)| l)
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
            Language::Fr => Some(include_str!("../../lang/fr/LC_MESSAGES/marketday.po")),
            Language::De => Some(include_str!("../../lang/de/LC_MESSAGES/marketday.po")),
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

/// ICU's number formatter for the language, made once per thread (its data is not `Sync`):
/// the kiosk writes its amounts with it.
pub fn with_number_formatter<R>(language: Language, f: impl FnOnce(&DecimalFormatter) -> R) -> Option<R> {
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
        $crate::tr($language, $msgid)
    };
    ($language:expr, $msgid:literal, $($name:ident = $value:expr),+ $(,)?) => {
        $crate::fill(
            &$crate::tr($language, $msgid),
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
        $crate::trn($language, $singular, $plural, $n as u64)
    };
    ($language:expr, $singular:literal, $plural:literal, $n:expr, $($name:ident = $value:expr),+ $(,)?) => {
        $crate::fill(
            &$crate::trn($language, $singular, $plural, $n as u64),
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
    fn language_codes_read_as_browsers_and_locales_write_them() {
        assert_eq!(Language::from_code("fr-FR"), Some(Language::Fr));
        assert_eq!(Language::from_code("de_DE.UTF-8"), Some(Language::De));
        assert_eq!(Language::from_code("EN"), Some(Language::En));
        assert_eq!(Language::from_code("it"), None);
        assert_eq!(Language::from_code(""), None);
        assert_eq!(Language::from_accept_language("it-IT,it;q=0.9,fr;q=0.5,de;q=0.7"), Some(Language::De));
        assert_eq!(Language::from_accept_language("en-US,en;q=0.9"), Some(Language::En));
        assert_eq!(Language::from_accept_language("fr;q=0,de;q=0.1"), Some(Language::De));
        assert_eq!(Language::from_accept_language("*"), None);
        assert_eq!(Language::from_accept_language(";;q=x,,"), None);
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
