//! What a thermal printer would put on paper, read back from ESC/POS bytes.
//!
//! This is a strict interpreter of the commands Marketday and common printers use: an
//! unknown or truncated command is an error, so rendering a job also proves its bytes are
//! well formed. The simulated printer saves the result as a PNG, and tests decode the QR
//! codes in it, so what is checked is what the bytes say, not what the layout meant.

use std::collections::HashMap;

use ab_glyph::{Font, FontRef, PxScale, ScaleFont, point};
use qrcode::{Color, EcLevel, QrCode};

use crate::{Codepage, PrinterProfile};

const FONT: &[u8] = include_bytes!("../fonts/NotoSansMono-Regular.ttf");
/// Font A on Epson-compatible printers.
const CELL_W: usize = 12;
const CELL_H: usize = 24;
/// Default line spacing (`ESC 2`), in dots.
const LINE_SPACING: usize = 30;
/// Paper between the print head and the cutter, in dots (about 8 mm).
const CUTTER_OFFSET: usize = 64;
/// Longest printout rendered: 5 m of paper. A job claiming more is garbage, not a receipt.
const MAX_HEIGHT: usize = 40_000;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PreviewError {
    #[error("unknown command {bytes:02x?} at byte {offset}")]
    Unknown { offset: usize, bytes: Vec<u8> },
    #[error("command at byte {offset} is cut short")]
    Truncated { offset: usize },
    #[error("bad parameter in command at byte {offset}: {what}")]
    Parameter { offset: usize, what: String },
    #[error("the job is longer than {} m of paper", MAX_HEIGHT / 8000)]
    TooLong,
}

/// A rendered printout.
#[derive(Debug, Clone)]
pub struct Preview {
    pub width: usize,
    pub height: usize,
    /// One per dot, row by row; `true` is black.
    pub dots: Vec<bool>,
    /// The text of each printed line, decoded from the codepage in force.
    pub lines: Vec<String>,
    /// Rows (in dots) where the paper was cut.
    pub cuts: Vec<usize>,
    pub drawer_pulses: usize,
    /// QR payloads the printer was asked to draw itself (`GS ( k`).
    pub native_qr: Vec<String>,
}

#[derive(Clone, Copy)]
struct Glyph {
    c: char,
    bold: bool,
    w: usize,
    h: usize,
}

struct State<'a> {
    profile: &'a PrinterProfile,
    codepage: Codepage,
    align: u8,
    bold: bool,
    size: (usize, usize),
    line_spacing: usize,
    left: usize,
    area: usize,
    line: Vec<Glyph>,
    qr: (Option<Vec<u8>>, usize, EcLevel),
    out: Preview,
    glyphs: Glyphs,
}

impl Preview {
    pub fn render(bytes: &[u8], profile: &PrinterProfile) -> Result<Preview, PreviewError> {
        let width = usize::from(profile.width_dots);
        let mut s = State {
            profile,
            codepage: Codepage::Cp437,
            align: 0,
            bold: false,
            size: (1, 1),
            line_spacing: LINE_SPACING,
            left: 0,
            area: width,
            line: Vec::new(),
            qr: (None, 3, EcLevel::L),
            out: Preview {
                width,
                height: 0,
                dots: Vec::new(),
                lines: Vec::new(),
                cuts: Vec::new(),
                drawer_pulses: 0,
                native_qr: Vec::new(),
            },
            glyphs: Glyphs::new(),
        };
        let mut i = 0;
        while i < bytes.len() {
            i = s.step(bytes, i)?;
        }
        if !s.line.is_empty() {
            s.print_line()?;
        }
        Ok(s.out)
    }

    pub fn get(&self, x: usize, y: usize) -> bool {
        self.dots[y * self.width + x]
    }

    /// Greyscale pixels with a grey margin around the paper and dashed lines at cuts,
    /// for people to look at; `(width, height, luma)`.
    pub fn to_luma(&self) -> (usize, usize, Vec<u8>) {
        const MARGIN: usize = 16;
        let (w, h) = (self.width + 2 * MARGIN, self.height + 2 * MARGIN);
        let mut px = vec![200u8; w * h];
        for y in 0..self.height {
            for x in 0..self.width {
                px[(y + MARGIN) * w + x + MARGIN] = if self.get(x, y) { 0 } else { 255 };
            }
        }
        for &cut in &self.cuts {
            let y = (cut + MARGIN).min(h - 1);
            for x in (0..w).filter(|x| x % 12 < 6) {
                px[y * w + x] = 120;
            }
        }
        (w, h, px)
    }

    pub fn to_png(&self) -> Vec<u8> {
        let (w, h, px) = self.to_luma();
        let mut out = Vec::new();
        let mut enc = png::Encoder::new(&mut out, w as u32, h as u32);
        enc.set_color(png::ColorType::Grayscale);
        enc.set_depth(png::BitDepth::Eight);
        let mut writer = enc.write_header().expect("in-memory PNG header");
        writer.write_image_data(&px).expect("in-memory PNG data");
        writer.finish().expect("in-memory PNG");
        out
    }
}

impl State<'_> {
    fn take<'b>(&self, bytes: &'b [u8], at: usize, n: usize, start: usize) -> Result<&'b [u8], PreviewError> {
        bytes.get(at..at + n).ok_or(PreviewError::Truncated { offset: start })
    }

    /// Interprets the command at `i`; returns where the next one starts.
    fn step(&mut self, b: &[u8], i: usize) -> Result<usize, PreviewError> {
        let unknown = |len: usize| PreviewError::Unknown { offset: i, bytes: b[i..(i + len).min(b.len())].to_vec() };
        let bad = |what: &str| PreviewError::Parameter { offset: i, what: what.to_owned() };
        match b[i] {
            0x0a => {
                self.print_line()?;
                Ok(i + 1)
            }
            0x0d => Ok(i + 1),
            0x1b => {
                let p = self.take(b, i + 1, 1, i)?[0];
                match p {
                    b'@' => {
                        self.reset()?;
                        Ok(i + 2)
                    }
                    b'2' => {
                        self.line_spacing = LINE_SPACING;
                        Ok(i + 2)
                    }
                    b't' | b'a' | b'E' | b'!' | b'M' | b'-' | b'3' | b'd' | b'J' | b'G' => {
                        let n = self.take(b, i + 2, 1, i)?[0];
                        match p {
                            b't' => {
                                self.codepage = Codepage::from_esc_t(n).ok_or_else(|| bad("codepage not supported"))?
                            }
                            b'a' => self.align = n % 48,
                            b'E' | b'G' => self.bold = n & 1 == 1,
                            b'!' => {
                                self.bold = n & 0x08 != 0;
                                self.size = (1 + usize::from(n & 0x20 != 0), 1 + usize::from(n & 0x10 != 0));
                            }
                            b'3' => self.line_spacing = usize::from(n),
                            b'd' => {
                                // Printing the buffered line is the first of the n lines fed.
                                let n = usize::from(n);
                                if self.line.is_empty() {
                                    self.advance(n * self.line_spacing)?;
                                } else {
                                    self.print_line()?;
                                    self.advance(n.saturating_sub(1) * self.line_spacing)?;
                                }
                            }
                            b'J' => {
                                self.print_line_without_spacing()?;
                                self.advance(usize::from(n))?;
                            }
                            _ => {} // ESC M (font) and ESC - (underline) do not change the layout.
                        }
                        Ok(i + 3)
                    }
                    b'p' => {
                        self.take(b, i + 2, 3, i)?;
                        self.out.drawer_pulses += 1;
                        Ok(i + 5)
                    }
                    _ => Err(unknown(2)),
                }
            }
            0x1d => {
                let p = self.take(b, i + 1, 1, i)?[0];
                match p {
                    b'!' => {
                        let n = self.take(b, i + 2, 1, i)?[0];
                        self.size = (usize::from(n >> 4) + 1, usize::from(n & 0x0f) + 1);
                        if self.size.0 > 8 || self.size.1 > 8 {
                            return Err(bad("character size above 8"));
                        }
                        Ok(i + 3)
                    }
                    b'V' => {
                        let m = self.take(b, i + 2, 1, i)?[0];
                        let len = match m {
                            0 | 1 | 48 | 49 => 3,
                            65 | 66 => 4,
                            _ => return Err(bad("cut mode")),
                        };
                        // Function B (65, 66) first feeds the paper from the head to the cutter.
                        let n = if len == 4 { usize::from(self.take(b, i + 3, 1, i)?[0]) + CUTTER_OFFSET } else { 0 };
                        self.print_line_without_spacing()?;
                        self.advance(n)?;
                        self.out.cuts.push(self.out.height);
                        Ok(i + len)
                    }
                    b'W' | b'L' => {
                        let v = self.take(b, i + 2, 2, i)?;
                        let dots = usize::from(u16::from_le_bytes([v[0], v[1]]));
                        if p == b'W' {
                            self.area = dots.clamp(1, self.out.width - self.left);
                        } else {
                            self.left = dots.min(self.out.width - 1);
                            self.area = self.area.min(self.out.width - self.left);
                        }
                        Ok(i + 4)
                    }
                    b'v' => self.raster(b, i),
                    b'(' => self.two_d(b, i),
                    _ => Err(unknown(2)),
                }
            }
            0x10 => {
                // DLE EOT n: a status query inside a job is harmless.
                let q = self.take(b, i + 1, 2, i)?;
                if q[0] != 0x04 || !(1..=4).contains(&q[1]) { Err(unknown(3)) } else { Ok(i + 3) }
            }
            c if c < 0x20 || c == 0x7f => Err(unknown(1)),
            c => {
                let glyph = Glyph { c: self.codepage.decode(c), bold: self.bold, w: self.size.0, h: self.size.1 };
                let used: usize = self.line.iter().map(|g| g.w * CELL_W).sum();
                if used + glyph.w * CELL_W > self.area {
                    self.print_line()?;
                }
                self.line.push(glyph);
                Ok(i + 1)
            }
        }
    }

    fn raster(&mut self, b: &[u8], i: usize) -> Result<usize, PreviewError> {
        let head = self.take(b, i + 2, 6, i)?;
        if head[0] != b'0' {
            return Err(PreviewError::Unknown { offset: i, bytes: b[i..i + 3].to_vec() });
        }
        if head[1] % 48 > 3 {
            return Err(PreviewError::Parameter { offset: i, what: "raster mode".into() });
        }
        let row_bytes = usize::from(u16::from_le_bytes([head[2], head[3]]));
        let rows = usize::from(u16::from_le_bytes([head[4], head[5]]));
        let data = self.take(b, i + 8, row_bytes * rows, i)?;
        if row_bytes == 0 || row_bytes * 8 > self.out.width + 7 {
            return Err(PreviewError::Parameter { offset: i, what: "raster image wider than the paper".into() });
        }
        self.print_line_without_spacing()?;
        let width = row_bytes * 8;
        let x0 = self.aligned_x(width);
        let top = self.out.height;
        self.advance(rows)?;
        for y in 0..rows {
            for x in 0..width {
                if data[y * row_bytes + x / 8] & (0x80 >> (x % 8)) != 0 && x0 + x < self.out.width {
                    self.out.dots[(top + y) * self.out.width + x0 + x] = true;
                }
            }
        }
        Ok(i + 8 + row_bytes * rows)
    }

    /// `GS ( k`: only the QR code functions (cn = 49) are supported.
    fn two_d(&mut self, b: &[u8], i: usize) -> Result<usize, PreviewError> {
        let head = self.take(b, i + 2, 3, i)?;
        if head[0] != b'k' {
            return Err(PreviewError::Unknown { offset: i, bytes: b[i..i + 3].to_vec() });
        }
        let len = usize::from(u16::from_le_bytes([head[1], head[2]]));
        let body = self.take(b, i + 5, len, i)?;
        let bad = |what: &str| PreviewError::Parameter { offset: i, what: what.to_owned() };
        if len < 2 || body[0] != 49 {
            return Err(bad("only QR codes (cn 49) are supported"));
        }
        match (body[1], body.get(2).copied()) {
            (65, _) => {} // model: 2 is the only one anyone prints
            (67, Some(n)) if (1..=16).contains(&n) => self.qr.1 = usize::from(n),
            (69, Some(n)) => {
                self.qr.2 = match n {
                    48 => EcLevel::L,
                    49 => EcLevel::M,
                    50 => EcLevel::Q,
                    51 => EcLevel::H,
                    _ => return Err(bad("QR error correction level")),
                }
            }
            (80, Some(48)) => self.qr.0 = Some(body[3..].to_vec()),
            (81, Some(48)) => {
                let data = self.qr.0.clone().ok_or_else(|| bad("QR print with no stored data"))?;
                let code =
                    QrCode::with_error_correction_level(&data, self.qr.2).map_err(|_| bad("QR data too long"))?;
                self.out.native_qr.push(String::from_utf8_lossy(&data).into_owned());
                self.draw_qr(&code)?;
            }
            _ => return Err(bad("QR function")),
        }
        Ok(i + 5 + len)
    }

    fn draw_qr(&mut self, code: &QrCode) -> Result<(), PreviewError> {
        self.print_line_without_spacing()?;
        let (n, module) = (code.width(), self.qr.1);
        let colors = code.to_colors();
        let side = n * module;
        let x0 = self.aligned_x(side);
        let top = self.out.height;
        self.advance(side)?;
        for y in 0..side {
            for x in 0..side {
                if colors[(y / module) * n + x / module] == Color::Dark && x0 + x < self.out.width {
                    self.out.dots[(top + y) * self.out.width + x0 + x] = true;
                }
            }
        }
        Ok(())
    }

    fn reset(&mut self) -> Result<(), PreviewError> {
        self.print_line_without_spacing()?;
        self.codepage = Codepage::Cp437;
        self.align = 0;
        self.bold = false;
        self.size = (1, 1);
        self.line_spacing = LINE_SPACING;
        self.left = 0;
        self.area = usize::from(self.profile.width_dots);
        Ok(())
    }

    fn aligned_x(&self, width: usize) -> usize {
        let free = self.area.saturating_sub(width);
        self.left
            + match self.align {
                1 => free / 2,
                2 => free,
                _ => 0,
            }
    }

    fn advance(&mut self, rows: usize) -> Result<(), PreviewError> {
        if self.out.height + rows > MAX_HEIGHT {
            return Err(PreviewError::TooLong);
        }
        self.out.height += rows;
        self.out.dots.resize(self.out.height * self.out.width, false);
        Ok(())
    }

    fn print_line(&mut self) -> Result<(), PreviewError> {
        let tallest = self.line.iter().map(|g| g.h * CELL_H).max().unwrap_or(0);
        self.print_line_without_spacing()?;
        self.advance(self.line_spacing.max(tallest + self.line_spacing.saturating_sub(CELL_H)) - tallest)
    }

    /// Prints buffered text (if any) without the gap below it, for images that follow.
    fn print_line_without_spacing(&mut self) -> Result<(), PreviewError> {
        if self.line.is_empty() {
            return Ok(());
        }
        let line = std::mem::take(&mut self.line);
        self.out.lines.push(line.iter().map(|g| g.c).collect::<String>().trim_end().to_owned());
        let width: usize = line.iter().map(|g| g.w * CELL_W).sum();
        let tallest = line.iter().map(|g| g.h * CELL_H).max().unwrap_or(CELL_H);
        let top = self.out.height;
        self.advance(tallest)?;
        let mut x = self.aligned_x(width);
        for g in line {
            let cell = self.glyphs.cell(g.c);
            let base = top + tallest - g.h * CELL_H;
            for cy in 0..CELL_H * g.h {
                for cx in 0..CELL_W * g.w {
                    let (sx, sy) = (cx / g.w, cy / g.h);
                    let on = cell[sy * CELL_W + sx] || (g.bold && sx > 0 && cell[sy * CELL_W + sx - 1]);
                    if on && x + cx < self.out.width {
                        self.out.dots[(base + cy) * self.out.width + x + cx] = true;
                    }
                }
            }
            x += g.w * CELL_W;
        }
        Ok(())
    }
}

/// Font A glyphs drawn from Noto Sans Mono into 12x24 cells, cached per character.
struct Glyphs {
    font: FontRef<'static>,
    scale: PxScale,
    baseline: f32,
    cache: HashMap<char, Vec<bool>>,
}

impl Glyphs {
    fn new() -> Glyphs {
        let font = FontRef::try_from_slice(FONT).expect("embedded font parses");
        // Scale the font so one advance is one 12-dot cell, as on the printer.
        let unit = font.as_scaled(PxScale::from(1.0)).h_advance(font.glyph_id('M'));
        let scale = PxScale::from(CELL_W as f32 / unit);
        let scaled = font.as_scaled(scale);
        let baseline = ((CELL_H as f32 - (scaled.ascent() - scaled.descent())) / 2.0 + scaled.ascent()).round();
        Glyphs { font, scale, baseline, cache: HashMap::new() }
    }

    fn cell(&mut self, c: char) -> &[bool] {
        let (font, scale, baseline) = (&self.font, self.scale, self.baseline);
        self.cache.entry(c).or_insert_with(|| {
            let mut cell = vec![false; CELL_W * CELL_H];
            let glyph = font.glyph_id(c).with_scale_and_position(scale, point(0.0, baseline));
            if let Some(outline) = font.outline_glyph(glyph) {
                let bounds = outline.px_bounds();
                outline.draw(|x, y, coverage| {
                    let (px, py) = (bounds.min.x as i32 + x as i32, bounds.min.y as i32 + y as i32);
                    if coverage > 0.4 && (0..CELL_W as i32).contains(&px) && (0..CELL_H as i32).contains(&py) {
                        cell[py as usize * CELL_W + px as usize] = true;
                    }
                });
            }
            cell
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::encode;
    use crate::ticket::{Block, Style, Ticket};

    fn profile() -> PrinterProfile {
        PrinterProfile::builtin("generic-58").unwrap()
    }

    #[test]
    fn text_comes_back_through_the_codepage() {
        let mut t = Ticket::new();
        t.line("Café £12.50").text("TOTAL €3", Style { large: true, bold: true, ..Style::default() });
        let p = Preview::render(&encode(&t, &profile()).unwrap(), &profile()).unwrap();
        assert_eq!(p.lines, vec!["Café £12.50", "TOTAL €3"]);
        assert!(p.dots.iter().any(|d| *d));
        // The large line is twice as tall: 30 dots for the first line, at least 48 for the second.
        assert!(p.height >= 30 + 48, "{}", p.height);
    }

    #[test]
    fn garbage_and_truncated_commands_are_errors_not_panics() {
        let p = profile();
        assert!(matches!(Preview::render(b"\x1b\x7f", &p), Err(PreviewError::Unknown { offset: 0, .. })));
        assert!(matches!(Preview::render(b"ok\x1d(k\x05\x00\x31", &p), Err(PreviewError::Truncated { offset: 2 })));
        assert!(matches!(Preview::render(b"\x1dv0\x00\x02\x00\x05\x00ab", &p), Err(PreviewError::Truncated { .. })));
        assert!(matches!(Preview::render(b"\x1bt\x63", &p), Err(PreviewError::Parameter { .. })));
        // A few bytes cannot claim kilometres of paper.
        let mut huge = Vec::new();
        for _ in 0..200 {
            huge.extend_from_slice(b"\x1b3\xff\x1bd\xff");
        }
        assert_eq!(Preview::render(&huge, &p).unwrap_err(), PreviewError::TooLong);
        assert!(Preview::render(b"\x1dv0\x00\x00\x00\xff\xff", &p).is_err());
        // Every prefix of a real job either renders or is reported: never a panic.
        let mut t = Ticket::new();
        t.line("x").push(Block::Qr { payload: "abc".into(), module_dots: 4 }).push(Block::Cut);
        let job = encode(&t, &p).unwrap();
        for n in 0..job.len() {
            let _ = Preview::render(&job[..n], &p);
        }
    }

    #[test]
    fn cuts_and_drawer_pulses_are_counted() {
        let p = PrinterProfile::builtin("generic-80").unwrap();
        let mut t = Ticket::new();
        t.line("x").push(Block::DrawerPulse).push(Block::Cut);
        let preview = Preview::render(&encode(&t, &p).unwrap(), &p).unwrap();
        assert_eq!(preview.cuts.len(), 1);
        assert_eq!(preview.drawer_pulses, 1);
        assert!(preview.to_png().starts_with(b"\x89PNG"));
    }
}
