//! Every screen renders through the software renderer with the bundled font, at the
//! kiosk's two panel shapes, into PNG files a person can look at.

use i_slint_backend_testing::{AccessibleRole, ElementQuery};
use marketday::i18n::Language;
use marketday::screenshots::{SIZES, render_all_checked};
use slint::ComponentHandle;

/// What each screen must show, as words on it: a screen that rendered the wrong page (or an
/// empty one) fails here even when it is full of dark pixels.
const SHOWS: [(&str, &str); 35] = [
    ("01-idle", "Check a piece"),
    ("02-pin", "Staff PIN"),
    ("02-pin-wrong", "Wrong PIN"),
    ("03-sell-empty", "Cart is empty"),
    ("04-sell-cart-error", "is already sold"),
    ("05-discount", "Returning customer"),
    ("06-tender-split", "Card terminal"),
    ("07-tender-change", "Change"),
    ("08-sale-complete", "Sale complete"),
    ("08-sale-post-to", "Post it"),
    ("08-sale-posted", "courier"),
    ("09-sales", "Refund in cash"),
    ("09-today", "Takings"),
    ("09-today-cash-out", "Cash out"),
    ("10-printer", "Printer ready"),
    ("11-sale-complete-paper-out", "Receipt waiting. Paper out"),
    ("12-printer-paper-out", "Paper out"),
    ("12-printer-held", "held"),
    ("13-hold", "Ready: tap Hold piece."),
    ("14-holds", "Ana Ruiz"),
    ("15-member-check-in", "member"),
    ("16-verify-hold-tag", "Hold the piece's tag to the camera"),
    ("17-verify-genuine", "Genuine"),
    ("18-verify-forged", "Not genuine"),
    ("19-courier-orders", "Waiting for a courier"),
    ("20-courier-details", "Tracking number"),
    ("21-courier-photo", "Capture"),
    ("22-courier-review", "Use this photo"),
    ("23-courier-done", "handed to"),
    ("24-courier-handed-over", "Handed over"),
    ("25-sync-conflicts", "sync conflicts"),
    ("26-idle-fr", "Vérifier l'authenticité d'une pièce"),
    ("27-verify-genuine-fr", "Authentique"),
    ("28-idle-de", "Echtheit eines Stücks prüfen"),
    ("29-verify-genuine-de", "Echt"),
];

/// Buttons in lists that scroll (piece tiles, orders waiting for a courier): only their size
/// and sides are held to the screen, since a row may sit below the fold until scrolled to.
const SCROLLING: [&str; 2] = ["AT-", "Hand over "];

/// Every button smaller than 48x48 px (9 mm on a 7" 800x480 panel) or not wholly on screen.
fn small_or_off_screen(ui: &marketday::ui::AppWindow, w: f32, h: f32) -> Vec<String> {
    ElementQuery::from_root(ui)
        .match_descendants()
        .match_accessible_role(AccessibleRole::Button)
        .find_all()
        .into_iter()
        .filter_map(|b| {
            let (at, size) = (b.absolute_position(), b.size());
            let label = b.accessible_label().unwrap_or_default();
            let scrolls = SCROLLING.iter().any(|p| label.starts_with(p));
            let fits = at.x >= -0.5
                && at.x + size.width <= w + 0.5
                && (scrolls || at.y >= -0.5 && at.y + size.height <= h + 0.5);
            let big = size.width >= 48.0 && size.height >= 48.0;
            (!fits || !big).then(|| format!("{label:?} {size:?} at {at:?}"))
        })
        .collect()
}

/// Every accessible label on screen (a `Text`'s is its text).
fn labels(ui: &marketday::ui::AppWindow) -> Vec<String> {
    ElementQuery::from_root(ui)
        .match_descendants()
        .find_all()
        .into_iter()
        .filter_map(|e| e.accessible_label().map(|l| l.to_string()))
        .filter(|l| !l.is_empty())
        .collect()
}

fn decode(path: &std::path::Path) -> (u32, u32, Vec<u8>) {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    buf.truncate(info.buffer_size());
    (info.width, info.height, buf)
}

#[test]
fn every_screen_renders_to_png_in_landscape_and_portrait() {
    let dir = tempfile::tempdir().unwrap();
    let (mut unseen, mut small, mut named) = (Vec::new(), Vec::new(), Vec::new());
    let files = render_all_checked(dir.path(), Language::En, |name, (w, h), ui| {
        if w > h {
            named.push(name.to_owned());
        }
        let want = SHOWS.iter().find(|(n, _)| *n == name).map(|(_, text)| *text);
        let shown = labels(ui);
        if !want.is_some_and(|w| shown.iter().any(|l| l.contains(w))) {
            unseen.push(format!("{name} at {w}x{h} does not show {want:?}; it shows {shown:?}"));
        }
        for b in small_or_off_screen(ui, w as f32, h as f32) {
            let b = format!("{name} at {w}x{h}: {b}");
            if !small.contains(&b) {
                small.push(b);
            }
        }
        Ok(())
    })
    .unwrap();
    assert!(unseen.is_empty(), "{}", unseen.join("\n\n"));
    assert!(small.is_empty(), "buttons too small to tap or off the screen:\n{}", small.join("\n"));
    assert_eq!(named, SHOWS.map(|(n, _)| n.to_owned()), "every screen is checked, in order");
    assert_eq!(files.len(), SHOWS.len() * SIZES.len());
    for screen in ["08-sale-post-to", "21-courier-photo", "22-courier-review", "24-courier-handed-over"] {
        assert!(files.iter().any(|p| p.to_string_lossy().contains(screen)), "{screen} rendered");
    }
    for path in &files {
        let (w, h, rgb) = decode(path);
        let name = path.file_name().unwrap().to_string_lossy();
        let expected = if name.contains("portrait") { (720, 1280) } else { (800, 480) };
        assert_eq!((w, h), expected, "{name}");
        // Text was drawn: plenty of near-black pixels (the status bar alone is dark, so
        // look below it).
        let body = &rgb[(w as usize * 3 * 60)..];
        let inked = body.chunks(3).filter(|p| p.iter().all(|&c| c < 90)).count();
        assert!(inked > 500, "{name}: only {inked} dark pixels below the status bar");
    }
    // The sale-complete screen is unmistakably green-tinted (Theme.ok-soft #dcefdf).
    let done = files.iter().find(|p| p.to_string_lossy().contains("08-sale-complete-landscape")).unwrap();
    let (w, _, rgb) = decode(done);
    let at = |x: usize, y: usize| &rgb[(y * w as usize + x) * 3..][..3];
    assert_eq!(at(780, 470), [0xdc, 0xef, 0xdf]);
}

/// Every text whose words are wider (or, wrapped, taller) than the box the layout gave it.
fn cut_texts(ui: &marketday::ui::AppWindow) -> Vec<String> {
    ElementQuery::from_root(ui)
        .match_descendants()
        .match_predicate(|e| e.accessible_description().is_some_and(|d| d == "cut"))
        .find_all()
        .into_iter()
        .map(|e| format!("{:?} in a {:?} box", e.accessible_label().unwrap_or_default(), e.size()))
        .collect()
}

/// Each screen with the stall in English, French and German, at both panel shapes: no text
/// is cut or elided for want of room (data that may elide, such as a long piece title,
/// says so in its `Label`).
#[test]
fn every_screen_fits_its_words_in_every_language_and_orientation() {
    let dir = tempfile::tempdir().unwrap();
    // One line per text that does not fit, with the first screen it was seen on.
    let mut cut = std::collections::BTreeMap::new();
    for language in Language::ALL {
        render_all_checked(dir.path(), language, |name, (w, h), ui| {
            ui.global::<marketday::ui::FitCheck>().set_enabled(true);
            for text in cut_texts(ui) {
                cut.entry(format!("{language:?} {text}")).or_insert_with(|| format!("{name} at {w}x{h}"));
            }
            Ok(())
        })
        .unwrap();
    }
    let cut: Vec<String> = cut.into_iter().map(|(text, at)| format!("{text} ({at})")).collect();
    assert!(cut.is_empty(), "{} texts do not fit:\n{}", cut.len(), cut.join("\n"));
}
