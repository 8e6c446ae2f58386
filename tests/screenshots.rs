//! Every screen renders through the software renderer with the bundled font, at the
//! kiosk's two panel shapes, into PNG files a person can look at.

use marketday::screenshots::{SIZES, render_all};

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
    let files = render_all(dir.path()).unwrap();
    assert_eq!(files.len(), 31 * SIZES.len());
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
