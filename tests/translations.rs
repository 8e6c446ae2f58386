//! Every message the kiosk shows has its French and German: a new English string without
//! them fails here, before a customer in Paris or Berlin meets it in English. Reads the
//! sources as they are (Slint's `@tr(...)`, Rust's `t!`, `tn!` and `msg!`) and the catalogues
//! under `lang/`, which Slint bundles and `marketday::i18n` reads.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A message id and, for plurals, its plural form.
type Ids = BTreeMap<String, Option<String>>;

fn files(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files(&path, ext, out);
        } else if path.extension().is_some_and(|e| e == ext) {
            out.push(path);
        }
    }
}

/// The string literal starting at `text` (just after its opening quote), unescaped, and
/// what follows its closing quote.
fn literal(text: &str) -> Option<(String, &str)> {
    let mut out = String::new();
    let mut chars = text.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => out.push(chars.next()?.1),
            '"' => return Some((out, &text[i + 1..])),
            c => out.push(c),
        }
    }
    None
}

/// Message ids in `source` after each call `opener` (`t!(`, `@tr(`, ...), not counting
/// longer names that end the same way (`format!(` is not `t!(`): the first literal (after
/// the language argument when `skip_argument`), and with `plural` the literal after that
/// separator.
fn extract(source: &str, opener: &str, skip_argument: bool, plural: Option<&str>, ids: &mut Ids) {
    for (at, _) in source.match_indices(opener) {
        let before = source[..at].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let mut rest = source[at + opener.len()..].trim_start();
        if skip_argument {
            // The language: everything up to the first comma.
            let Some(comma) = rest.find(',') else { continue };
            rest = rest[comma + 1..].trim_start();
        }
        let Some(rest) = rest.strip_prefix('"') else { continue };
        let Some((id, after)) = literal(rest) else { continue };
        let plural = plural.and_then(|separator| {
            let after = after.trim_start().strip_prefix(separator)?.trim_start().strip_prefix('"')?;
            literal(after).map(|(p, _)| p)
        });
        ids.insert(id, plural);
    }
}

fn used_ids() -> Ids {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut ids = Ids::new();
    let mut slint = Vec::new();
    files(&root.join("ui"), "slint", &mut slint);
    for path in slint {
        extract(&std::fs::read_to_string(path).unwrap(), "@tr(", false, Some("|"), &mut ids);
    }
    let mut rust = Vec::new();
    // The kiosk's own sources and the crates whose words reach a screen or a page.
    for dir in ["src", "i18n/src", "money/src", "provenance/src", "cloud/src"] {
        files(&root.join(dir), "rs", &mut rust);
    }
    for path in rust {
        let source = std::fs::read_to_string(&path).unwrap();
        extract(&source, "t!(", true, None, &mut ids);
        extract(&source, "tn!(", true, Some(","), &mut ids);
        extract(&source, "msg!(", false, None, &mut ids);
    }
    ids
}

struct Entry {
    plural: Option<String>,
    translations: Vec<String>,
    fuzzy: bool,
}

fn catalogue(code: &str) -> BTreeMap<String, Entry> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("lang/{code}/LC_MESSAGES/marketday.po"));
    let po =
        rspolib::pofile(path.to_str().unwrap()).unwrap_or_else(|e| panic!("{} does not parse: {e}", path.display()));
    po.entries
        .iter()
        .filter(|e| !e.obsolete)
        .map(|e| {
            let translations = match &e.msgid_plural {
                Some(_) => e.msgstr_plural.clone(),
                None => vec![e.msgstr.clone().unwrap_or_default()],
            };
            let entry =
                Entry { plural: e.msgid_plural.clone(), translations, fuzzy: e.flags.iter().any(|f| f == "fuzzy") };
            (e.msgid.clone(), entry)
        })
        .collect()
}

/// `{name}` placeholders, which a translation must keep (in any order).
fn placeholders(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}') else { break };
        out.insert(rest[open..open + close + 1].to_owned());
        rest = &rest[open + close + 1..];
    }
    out
}

#[test]
fn the_sources_mark_their_messages() {
    let ids = used_ids();
    // Known ones from each kind of source: if extraction finds nothing, the test below
    // would pass for nothing.
    for id in ["Is it genuine?", "Genuine", "the code is cut short", "{left} of {n} piece left"] {
        assert!(ids.contains_key(id), "{id:?} was not found in the sources");
    }
    assert_eq!(ids["{left} of {n} piece left"].as_deref(), Some("{left} of {n} pieces left"));
    assert_eq!(ids["Genuine"], None);
}

#[test]
fn french_and_german_translate_every_message_and_keep_its_placeholders() {
    let ids = used_ids();
    let mut problems = Vec::new();
    for code in ["fr", "de"] {
        let catalogue = catalogue(code);
        for (id, plural) in &ids {
            let Some(entry) = catalogue.get(id) else {
                problems.push(format!("{code}: no entry for {id:?}"));
                continue;
            };
            if entry.fuzzy {
                problems.push(format!("{code}: {id:?} is marked fuzzy (Slint skips it)"));
            }
            if entry.plural != *plural {
                problems.push(format!(
                    "{code}: {id:?} has plural {:?} in the catalogue, {plural:?} in the source",
                    entry.plural
                ));
            }
            let forms = if plural.is_some() { 2 } else { 1 };
            if entry.translations.len() != forms || entry.translations.iter().any(|t| t.trim().is_empty()) {
                problems.push(format!("{code}: {id:?} is not translated"));
            }
            let wanted = placeholders(id);
            for t in &entry.translations {
                if placeholders(t) != wanted {
                    problems.push(format!("{code}: {t:?} does not keep the placeholders of {id:?}"));
                }
            }
        }
        for id in catalogue.keys().filter(|id| !id.is_empty() && !ids.contains_key(*id)) {
            problems.push(format!("{code}: {id:?} is in the catalogue but used nowhere"));
        }
    }
    assert!(problems.is_empty(), "{} problems:\n{}", problems.len(), problems.join("\n"));
}
