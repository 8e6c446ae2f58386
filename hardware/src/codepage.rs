//! Text for codepage printers: thermal printers do not speak UTF-8. Each character is
//! encoded into the profile's codepage, or replaced by the nearest thing it can print.

/// A single-byte codepage and the number `ESC t n` selects it by on Epson-compatible printers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codepage {
    /// PC437 (USA): no €; the lowest common denominator.
    Cp437,
    /// PC858: PC850 (Western Europe) with € at 0xD5 — £, €, and the accents of UK/EU text.
    Cp858,
}

impl Codepage {
    /// The `n` of `ESC t n` on Epson-compatible printers.
    pub fn esc_t(self) -> u8 {
        match self {
            Codepage::Cp437 => 0,
            Codepage::Cp858 => 19,
        }
    }

    fn byte(self, c: char) -> Option<u8> {
        if c.is_ascii() {
            return Some(c as u8);
        }
        let table = match self {
            Codepage::Cp437 => &oem_cp::code_table::ENCODING_TABLE_CP437,
            Codepage::Cp858 => &oem_cp::code_table::ENCODING_TABLE_CP858,
        };
        table.get(&c).copied()
    }

    /// The character a printer shows for `byte`, for previews.
    pub fn decode(self, byte: u8) -> char {
        if byte < 0x80 {
            return byte as char;
        }
        let table = match self {
            Codepage::Cp437 => &oem_cp::code_table::DECODING_TABLE_CP437,
            Codepage::Cp858 => &oem_cp::code_table::DECODING_TABLE_CP858,
        };
        table[usize::from(byte - 0x80)]
    }

    /// The codepage `ESC t n` selects, if it is one we know.
    pub fn from_esc_t(n: u8) -> Option<Codepage> {
        [Codepage::Cp437, Codepage::Cp858].into_iter().find(|c| c.esc_t() == n)
    }

    /// Encodes `text`; characters the codepage lacks become a readable fallback
    /// ("EUR", plain quotes, unaccented letters) and, failing that, '?'. Control
    /// characters other than newline are dropped, so text can never inject a command.
    pub fn encode(self, text: &str) -> Vec<u8> {
        let mut out = Vec::with_capacity(text.len());
        for c in text.chars() {
            if c == '\n' {
                out.push(b'\n');
            } else if c.is_control() {
                continue;
            } else if let Some(b) = self.byte(c) {
                out.push(b);
            } else {
                let fallback = fallback(c);
                for f in fallback.chars() {
                    out.push(self.byte(f).unwrap_or(b'?'));
                }
            }
        }
        out
    }
}

/// What to print when the codepage lacks a character.
fn fallback(c: char) -> String {
    let s = match c {
        '€' => "EUR",
        '‘' | '’' | '‚' | '′' => "'",
        '“' | '”' | '„' | '″' => "\"",
        '–' | '—' | '−' | '‐' => "-",
        '…' => "...",
        '•' | '·' => "*",
        '×' => "x",
        '\u{a0}' | '\u{202f}' => " ",
        'Œ' => "OE",
        'œ' => "oe",
        'ł' => "l",
        'Ł' => "L",
        'ß' => "ss",
        _ => return strip_accent(c).map(String::from).unwrap_or_else(|| "?".into()),
    };
    s.to_owned()
}

/// The base letter of a Latin letter with a diacritic, for the accents a codepage lacks.
fn strip_accent(c: char) -> Option<char> {
    const GROUPS: [(&str, char); 18] = [
        ("àáâãäåāăą", 'a'),
        ("ÀÁÂÃÄÅĀĂĄ", 'A'),
        ("çćĉċč", 'c'),
        ("ÇĆĈĊČ", 'C'),
        ("èéêëēĕėęě", 'e'),
        ("ÈÉÊËĒĔĖĘĚ", 'E'),
        ("ìíîïĩīĭįı", 'i'),
        ("ÌÍÎÏĨĪĬĮİ", 'I'),
        ("ñńņňŉ", 'n'),
        ("ÑŃŅŇ", 'N'),
        ("òóôõöøōŏő", 'o'),
        ("ÒÓÔÕÖØŌŎŐ", 'O'),
        ("ùúûüũūŭůűų", 'u'),
        ("ÙÚÛÜŨŪŬŮŰŲ", 'U'),
        ("śšş", 's'),
        ("ŚŠŞ", 'S'),
        ("źżž", 'z'),
        ("ŹŻŽ", 'Z'),
    ];
    GROUPS.iter().find(|(set, _)| set.contains(c)).map(|(_, base)| *base)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pound_and_euro_become_cp858_bytes() {
        assert_eq!(Codepage::Cp858.encode("£185.00"), b"\x9c185.00");
        assert_eq!(Codepage::Cp858.encode("€5"), b"\xd55");
        assert_eq!(Codepage::Cp858.encode("Café Déjà École"), b"Caf\x82 D\x82j\x85 \x90cole");
    }

    #[test]
    fn missing_characters_fall_back_readably() {
        // PC437 has £ but no €.
        assert_eq!(Codepage::Cp437.encode("€5 – £3"), b"EUR5 - \x9c3");
        assert_eq!(Codepage::Cp858.encode("“Rosé” Łódź"), b"\"Ros\x82\" L\xa2dz");
        assert_eq!(Codepage::Cp858.encode("日本"), b"??");
    }

    #[test]
    fn decoding_inverts_encoding() {
        let text = "£€ Café Déjà École ñ ü";
        let back: String = Codepage::Cp858.encode(text).into_iter().map(|b| Codepage::Cp858.decode(b)).collect();
        assert_eq!(back, text);
    }

    #[test]
    fn control_characters_cannot_inject_commands() {
        assert_eq!(Codepage::Cp858.encode("a\x1b@b\x10\x04\x01\nc"), b"a@b\nc");
    }
}
