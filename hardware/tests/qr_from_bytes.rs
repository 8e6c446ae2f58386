//! A QR code sent to the printer, read back from the bytes as paper and scanned with rqrr:
//! native `GS ( k` and raster fallback must both carry the exact payload.

use marketday_hardware::{Block, Preview, PrinterProfile, Ticket, encode};

fn scan(preview: &Preview) -> Vec<String> {
    let (w, h, luma) = preview.to_luma();
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| luma[y * w + x]);
    img.detect_grids().into_iter().filter_map(|g| g.decode().ok()).map(|(_, text)| text).collect()
}

#[test]
fn qr_codes_scan_back_to_their_payload_on_every_profile() {
    let payload = "https://verify.marketday.example/p/AT-2026-0007?d=winter-clasp-26&e=07-24";
    for name in PrinterProfile::BUILTIN {
        let profile = PrinterProfile::builtin(name).unwrap();
        for module_dots in [3, 4, 6] {
            let mut t = Ticket::new();
            t.line("Scan me").push(Block::Qr { payload: payload.into(), module_dots }).line("below");
            let preview = Preview::render(&encode(&t, &profile).unwrap(), &profile).unwrap();
            assert_eq!(scan(&preview), vec![payload.to_owned()], "{name} at {module_dots} dots per module");
            assert_eq!(preview.native_qr.len(), usize::from(profile.native_qr), "{name}");
        }
    }
}

#[test]
fn a_payload_too_long_for_any_qr_code_is_an_error_before_printing() {
    let profile = PrinterProfile::builtin("generic-80").unwrap();
    let mut t = Ticket::new();
    t.push(Block::Qr { payload: "x".repeat(5000), module_dots: 4 });
    assert!(encode(&t, &profile).is_err());
}
