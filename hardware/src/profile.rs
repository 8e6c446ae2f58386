//! What a model of thermal printer can do: the facts layouts and the encoder depend on.
//!
//! Cheap printers differ in paper width, in whether they draw QR codes themselves
//! (`GS ( k`) and in whether they have a cutter; sending a command a printer lacks prints
//! garbage, so every such choice goes through the profile.

use crate::Codepage;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrinterProfile {
    pub name: String,
    /// Printable width in dots (8 dots per mm on 203 dpi heads).
    pub width_dots: u16,
    /// Characters per line in font A (12x24 dots).
    pub columns: u8,
    /// Draws QR codes from `GS ( k`; otherwise they are sent as raster images.
    pub native_qr: bool,
    /// Has an auto-cutter (`GS V`); otherwise staff tear the paper after a feed.
    pub cut: bool,
    pub codepage: Codepage,
    /// How fast the head feeds paper, in mm per second, from the slowest models of the
    /// class: the driver allows this long for a job to come out before it asks again.
    pub print_speed_mm_s: u16,
}

/// Dots per millimetre of the 203 dpi heads every supported printer uses.
pub const DOTS_PER_MM: u16 = 8;

impl PrinterProfile {
    /// The profiles shipped with Marketday, by the name the config uses.
    pub fn builtin(name: &str) -> Option<PrinterProfile> {
        let p = |width_dots, columns, native_qr, cut, codepage, print_speed_mm_s| PrinterProfile {
            name: name.to_owned(),
            width_dots,
            columns,
            native_qr,
            cut,
            codepage,
            print_speed_mm_s,
        };
        Some(match name {
            // Generic 80 mm (Epson TM-T20/T88 class, Xprinter XP-80, Rongta RP80): cutter, native QR.
            "generic-80" => p(576, 48, true, true, Codepage::Cp858, 150),
            // Generic 58 mm USB-serial printers (Xprinter XP-58, Goojprt PT-210): native QR, no cutter.
            "generic-58" => p(384, 32, true, false, Codepage::Cp858, 60),
            // 58 mm TTL panel printers (CSN-A2 / "Adafruit" class): no `GS ( k`, PC437 only.
            "panel-58" => p(384, 32, false, false, Codepage::Cp437, 40),
            _ => return None,
        })
    }

    pub const BUILTIN: [&str; 3] = ["generic-80", "generic-58", "panel-58"];

    /// Printable width in millimetres.
    pub fn width_mm(&self) -> u16 {
        self.width_dots / DOTS_PER_MM
    }

    /// The paper roll this profile prints on, as staff buy it: 58 or 80 mm.
    pub fn paper_mm(&self) -> u16 {
        match self.width_dots {
            0..=384 => 58,
            385..=576 => 80,
            _ => self.width_mm(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_profile_fits_its_columns_in_its_width() {
        for name in PrinterProfile::BUILTIN {
            let p = PrinterProfile::builtin(name).expect(name);
            assert_eq!(p.name, name);
            // Font A is 12 dots wide.
            assert!(u16::from(p.columns) * 12 <= p.width_dots, "{name}");
        }
        assert_eq!(PrinterProfile::builtin("generic-58").unwrap().width_mm(), 48);
        assert_eq!(PrinterProfile::builtin("generic-80").unwrap().paper_mm(), 80);
        assert!(PrinterProfile::builtin("epson-tm-t1000").is_none());
    }
}
