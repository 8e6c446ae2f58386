//! The on-screen keys' editing rules: what a key does to the text of a field. Slint calls
//! these through the `TextKeys` and `KeypadLogic` globals, so the rules live here, tested.

use crate::domain::Currency;
use crate::i18n::Language;

/// On-screen keyboard editing: keys come in upper case; names get a capital at the start
/// of each word and lower case after it, everything else (emails, searches) lower case.
pub fn apply_text_key(value: &str, key: &str, capitalize: bool, max_len: usize) -> String {
    let mut out = value.to_owned();
    if key == "del" {
        out.pop();
        return out;
    }
    if out.chars().count() >= max_len || (key == " " && (out.is_empty() || out.ends_with(' '))) {
        return out;
    }
    let word_start = out.is_empty() || out.ends_with([' ', '-', '\'']);
    if capitalize && word_start {
        out.push_str(&key.to_uppercase());
    } else {
        out.push_str(&key.to_lowercase());
    }
    out
}

/// Keypad editing: append a key or delete one character, within the pad's limits.
pub fn apply_key(value: &str, key: &str, allow_point: bool, max_len: usize) -> String {
    let mut out = value.to_owned();
    match key {
        "del" => {
            out.pop();
        }
        "." if !allow_point || out.contains('.') => {}
        k if out.chars().count() < max_len => out.push_str(k),
        _ => {}
    }
    out
}

/// A typed amount as the language writes money: "£12.5" or "12,5 €" while typing, "£0" when
/// nothing is typed yet; with `percent`, "15 %". The pad itself always types '.'.
pub fn show_amount(language: Language, currency: Currency, typed: &str, percent: bool) -> String {
    if percent {
        let typed = if typed.is_empty() { "0" } else { typed };
        format!("{}\u{a0}%", typed.replace('.', &crate::i18n::decimal_point(language).to_string()))
    } else {
        crate::i18n::typed_money(language, currency, typed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn on_screen_keyboard_capitalises_names_only() {
        let typed = |keys: &[&str], cap: bool| keys.iter().fold(String::new(), |v, k| apply_text_key(&v, k, cap, 40));
        assert_eq!(typed(&["A", "N", "A", " ", "R", "U", "I", "Z"], true), "Ana Ruiz");
        assert_eq!(typed(&["M", "A", "R", "Y", "-", "J", "O"], true), "Mary-Jo");
        assert_eq!(typed(&["A", "@", "B", ".", "C", "O"], false), "a@b.co");
        assert_eq!(typed(&[" ", "A", " ", " ", "B"], true), "A B", "no leading or double spaces");
        assert_eq!(apply_text_key("Ana", "del", true, 40), "An");
        assert_eq!(apply_text_key("abc", "D", false, 3), "abc");
    }

    #[test]
    fn keypad_edits_within_limits() {
        assert_eq!(apply_key("12", "3", true, 9), "123");
        assert_eq!(apply_key("12.5", ".", true, 9), "12.5");
        assert_eq!(apply_key("12", ".", false, 9), "12");
        assert_eq!(apply_key("1234", "5", false, 4), "1234");
        assert_eq!(apply_key("12", "del", true, 9), "1");
        assert_eq!(apply_key("", "del", true, 9), "");
    }

    #[test]
    fn a_typed_amount_shows_with_the_currency_or_as_a_percentage() {
        assert_eq!(show_amount(Language::En, Currency::GBP, "12.5", false), "£12.5");
        assert_eq!(show_amount(Language::En, Currency::GBP, "", false), "£0");
        assert_eq!(show_amount(Language::En, Currency::GBP, "15", true), "15\u{a0}%");
        assert_eq!(show_amount(Language::De, Currency::EUR, "12.5", false), "12,5\u{a0}€");
        assert_eq!(show_amount(Language::Fr, Currency::EUR, "7.5", true), "7,5\u{a0}%");
    }
}
