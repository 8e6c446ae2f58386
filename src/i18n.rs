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

use chrono::Datelike;
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

/// Puts each `{name}` of `template` in its place.
pub fn fill(template: &str, args: &[(&str, &dyn Display)]) -> String {
    let mut out = template.to_owned();
    for (name, value) in args {
        out = out.replace(&format!("{{{name}}}"), &value.to_string());
    }
    out
}

/// A day as the language writes it: "5 Dec 2026", "5 déc. 2026", "5. Dez. 2026".
pub fn date(language: Language, at: impl Datelike) -> String {
    use crate::msg;
    const MONTHS: [&str; 12] = [
        msg!("Jan"),
        msg!("Feb"),
        msg!("Mar"),
        msg!("Apr"),
        msg!("May"),
        msg!("Jun"),
        msg!("Jul"),
        msg!("Aug"),
        msg!("Sep"),
        msg!("Oct"),
        msg!("Nov"),
        msg!("Dec"),
    ];
    let month = tr(language, MONTHS[at.month0() as usize]);
    crate::t!(language, "{day} {month} {year}", day = at.day(), month = month, year = at.year())
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
        let at = chrono::NaiveDate::from_ymd_opt(2026, 12, 5).unwrap();
        assert_eq!(date(Language::En, at), "5 Dec 2026");
        assert_eq!(date(Language::Fr, at), "5 déc. 2026");
        assert_eq!(date(Language::De, at), "5. Dez. 2026");
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
