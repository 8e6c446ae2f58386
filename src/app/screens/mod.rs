//! One module per screen. Each owns its state and its message, takes the [`Services`] it
//! needs as an argument, and presents itself to the window. None imports another: where a
//! tap on one screen leads to another (a sale completed, a reservation collected), the
//! screen returns what happened and the router (`kiosk.rs`) decides.
//!
//! [`Services`]: super::services::Services

pub mod courier;
pub mod done;
pub mod pin;
pub mod printer;
pub mod reservations;
pub mod sales;
pub mod sell;
pub mod sync;
pub mod tender;
pub mod today;
pub mod verify;

use super::services::Notice;

/// What the router asks of every screen with a message banner.
pub trait Page {
    /// The banner's message.
    fn notice(&mut self) -> &mut Notice;

    /// Clears every message the screen shows (the banner's ×, a new screen).
    fn dismiss(&mut self) {
        *self.notice() = Notice::default();
    }
}

#[cfg(test)]
mod tests {
    /// The invariant in ARCHITECTURE.md, held: a screen module names no other screen module,
    /// so a screen's state can only change through its own methods, called by the router.
    #[test]
    fn screen_modules_do_not_import_each_other() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/app/screens");
        let mut screens = Vec::new();
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            if name != "mod" {
                screens.push((name, std::fs::read_to_string(&path).unwrap()));
            }
        }
        assert!(screens.len() >= 11, "found only {} screen modules in {}", screens.len(), dir.display());
        for (name, source) in &screens {
            for (other, _) in &screens {
                for path in [format!("super::{other}"), format!("screens::{other}")] {
                    assert!(!source.contains(&path), "screens/{name}.rs names {path}: go through the router instead");
                }
            }
        }
    }

    /// Each page's properties and callbacks live in its own Slint global (`SellState` for
    /// sell.rs, ...); a screen module writes only its own, so what a page shows has one
    /// author.
    #[test]
    fn each_screen_writes_only_its_own_page() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/app/screens");
        let mut checked = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            if name == "mod" {
                continue;
            }
            let own = format!("{}{}State", name[..1].to_uppercase(), &name[1..]);
            let source = std::fs::read_to_string(&path).unwrap();
            let globals: Vec<&str> =
                source.split("global::<").skip(1).filter_map(|rest| rest.split('>').next()).collect();
            assert!(globals.contains(&own.as_str()), "screens/{name}.rs never presents {own}");
            for global in globals {
                assert_eq!(global, own, "screens/{name}.rs writes {global}: only the router and {own}'s screen may");
            }
            checked += 1;
        }
        assert!(checked >= 11, "checked only {checked} screen modules");
    }
}
