//! Ticket → ESC/POS bytes for one printer profile.
//!
//! Commands come from the `escpos` crate, collected into memory by a small driver so the
//! job can be stored, counted and sent later. Three things are deliberately our own bytes,
//! because the crate gets them wrong for real printers: text (encoded to the profile's
//! codepage, with readable fallbacks), line feeds (`writeln` sends `ESC d 1`, not LF) and
//! the drawer pulse (`cash_drawer` omits the two pulse-time bytes).

use std::cell::RefCell;
use std::rc::Rc;

use escpos::driver::Driver;
use escpos::printer::Printer;
use escpos::utils::{JustifyMode, PageCode, Protocol, QRCodeCorrectionLevel, QRCodeModel, QRCodeOption};

use crate::raster::{Bitmap, RasterError};
use crate::ticket::{Align, Block, Ticket};
use crate::{Codepage, PrinterProfile};

/// Largest `GS v 0` command: the smallest receive buffers on cheap printers are 1-4 KB.
pub const MAX_BAND_BYTES: usize = 1024;

/// `ESC p 0 25 250`: pulse drawer pin 2 for 50 ms, then 500 ms off.
pub const DRAWER_PULSE: [u8; 5] = [0x1b, b'p', 0, 25, 250];

#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    #[error(transparent)]
    Raster(#[from] RasterError),
    #[error("ESC/POS command could not be built: {0}")]
    Command(String),
}

#[derive(Clone, Default)]
struct Buffer(Rc<RefCell<Vec<u8>>>);

impl Driver for Buffer {
    fn name(&self) -> String {
        "memory".into()
    }
    fn write(&self, data: &[u8]) -> escpos::errors::Result<()> {
        self.0.borrow_mut().extend_from_slice(data);
        Ok(())
    }
    fn read(&self, _buf: &mut [u8]) -> escpos::errors::Result<usize> {
        Ok(0)
    }
    fn flush(&self) -> escpos::errors::Result<()> {
        Ok(())
    }
}

fn page_code(codepage: Codepage) -> PageCode {
    match codepage {
        Codepage::Cp437 => PageCode::PC437,
        Codepage::Cp858 => PageCode::PC858,
    }
}

fn justify(align: Align) -> JustifyMode {
    match align {
        Align::Left => JustifyMode::LEFT,
        Align::Center => JustifyMode::CENTER,
        Align::Right => JustifyMode::RIGHT,
    }
}

/// Encodes a ticket for `profile`. The result starts with `ESC @`, so a job never inherits
/// the style a previous, interrupted job left behind.
pub fn encode(ticket: &Ticket, profile: &PrinterProfile) -> Result<Vec<u8>, EncodeError> {
    let buffer = Buffer::default();
    let mut p = Printer::new(buffer.clone(), Protocol::default(), None);
    let cmd = |e: escpos::errors::PrinterError| EncodeError::Command(e.to_string());
    p.init().map_err(cmd)?.page_code(page_code(profile.codepage)).map_err(cmd)?;
    for block in &ticket.blocks {
        match block {
            Block::Text { text, style } => {
                p.justify(justify(style.align))
                    .and_then(|p| p.bold(style.bold))
                    .and_then(|p| if style.large { p.size(2, 2) } else { p.reset_size() })
                    .and_then(|p| p.custom(&profile.codepage.encode(text)))
                    .and_then(|p| p.custom(b"\n"))
                    .map_err(cmd)?;
            }
            Block::Qr { payload, module_dots } => {
                p.justify(JustifyMode::CENTER).map_err(cmd)?;
                // Scanners need a quiet zone of four modules; centring leaves white paper at
                // the sides, and these feeds leave it above and below.
                let quiet = [0x1b, b'J', module_dots.saturating_mul(4)];
                p.custom(&quiet).map_err(cmd)?;
                if profile.native_qr {
                    // Fail here, as the raster path would, rather than on the printer.
                    crate::raster::qr_code(payload)?;
                    let option = QRCodeOption::new(QRCodeModel::Model2, *module_dots, QRCodeCorrectionLevel::M);
                    p.qrcode_option(payload, option).map_err(cmd)?;
                } else {
                    raster(&mut p, &Bitmap::qr(payload, usize::from(*module_dots))?).map_err(cmd)?;
                }
                p.custom(&quiet).map_err(cmd)?;
            }
            Block::Image(bitmap) => {
                p.justify(JustifyMode::CENTER).map_err(cmd)?;
                raster(&mut p, bitmap).map_err(cmd)?;
            }
            Block::Feed(n) => {
                p.feeds(*n).map_err(cmd)?;
            }
            Block::FeedDots(n) => {
                p.custom(&[0x1b, b'J', *n]).map_err(cmd)?;
            }
            Block::PrintWidth(dots) => {
                let [lo, hi] = dots.min(&profile.width_dots).to_le_bytes();
                p.custom(&[0x1d, b'W', lo, hi]).map_err(cmd)?;
            }
            Block::Cut => {
                if profile.cut {
                    // GS V 66 0: feed the last line past the cutter, then cut leaving a hinge.
                    // (The crate's `partial_cut` sends GS V 65 1, a full cut.)
                    p.custom(&[0x1d, b'V', 66, 0]).map_err(cmd)?;
                } else {
                    // No cutter: feed the last line past the tear bar.
                    p.feeds(4).map_err(cmd)?;
                }
            }
            Block::DrawerPulse => {
                p.custom(&DRAWER_PULSE).map_err(cmd)?;
            }
        }
    }
    p.print().map_err(cmd)?;
    drop(p);
    Ok(buffer.0.take())
}

fn raster(p: &mut Printer<Buffer>, bitmap: &Bitmap) -> escpos::errors::Result<()> {
    for band in bitmap.raster_bands(MAX_BAND_BYTES) {
        p.custom(&band)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ticket::Style;

    fn profile(name: &str) -> PrinterProfile {
        PrinterProfile::builtin(name).unwrap()
    }

    #[test]
    fn text_is_codepage_bytes_ended_by_a_line_feed() {
        let mut t = Ticket::new();
        t.line("Total £185.00 €");
        let bytes = encode(&t, &profile("generic-58")).unwrap();
        // ESC @, then ESC t 19 (PC858).
        assert_eq!(&bytes[..5], &[0x1b, b'@', 0x1b, b't', 19]);
        let text = b"Total \x9c185.00 \xd5\n";
        assert!(bytes.windows(text.len()).any(|w| w == text), "{bytes:02x?}");
        assert!(!bytes.windows(3).any(|w| w == [0x1b, b'd', 1]), "writeln's ESC d 1 must not be used");
    }

    #[test]
    fn drawer_pulse_carries_its_timing_bytes() {
        let mut t = Ticket::new();
        t.push(Block::DrawerPulse).line("x");
        let bytes = encode(&t, &profile("generic-80")).unwrap();
        let at = bytes.windows(2).position(|w| w == [0x1b, b'p']).unwrap();
        assert_eq!(&bytes[at..at + 5], &DRAWER_PULSE);
        // Nothing after the pulse is swallowed as its parameters.
        let preview = crate::Preview::render(&bytes, &profile("generic-80")).unwrap();
        assert_eq!((preview.drawer_pulses, preview.lines.clone()), (1, vec!["x".to_owned()]));
    }

    #[test]
    fn qr_is_native_or_raster_by_profile() {
        let mut t = Ticket::new();
        t.push(Block::Qr { payload: "https://verify.example/p/AT-2026-0007".into(), module_dots: 5 });
        let native = encode(&t, &profile("generic-58")).unwrap();
        assert!(native.windows(3).any(|w| w == [0x1d, b'(', b'k']));
        let raster = encode(&t, &profile("panel-58")).unwrap();
        assert!(!raster.windows(3).any(|w| w == [0x1d, b'(', b'k']));
        assert!(raster.windows(4).any(|w| w == [0x1d, b'v', b'0', 0]));
    }

    #[test]
    fn cut_only_where_there_is_a_cutter() {
        let mut t = Ticket::new();
        t.text("x", Style::default()).push(Block::Cut);
        let has_cut = |b: &[u8]| b.windows(2).any(|w| w == [0x1d, b'V']);
        let with_cutter = encode(&t, &profile("generic-80")).unwrap();
        assert!(with_cutter.ends_with(&[0x1d, b'V', 66, 0]), "partial cut after feeding to the cutter");
        assert!(!has_cut(&encode(&t, &profile("generic-58")).unwrap()));
    }
}
