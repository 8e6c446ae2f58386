//! Camera frames made in code: a QR tag placed in a scene with the troubles a stall's
//! camera meets (tilt, blur, noise, glare, dim light, tiny codes, light-on-dark tags),
//! deterministic from a seed. The scanner's tests and benchmark run on these; the
//! simulated camera can play them.

use qrcode::{Color, EcLevel, QrCode};

use super::geometry::{Homography, Pt};
use crate::Frame;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Category {
    Clean,
    Small,
    Rotated,
    Tilted,
    Blurred,
    Noisy,
    LowContrast,
    Inverted,
    Glare,
    TwoCodes,
    NoCode,
}

impl Category {
    pub const ALL: [Category; 11] = [
        Category::Clean,
        Category::Small,
        Category::Rotated,
        Category::Tilted,
        Category::Blurred,
        Category::Noisy,
        Category::LowContrast,
        Category::Inverted,
        Category::Glare,
        Category::TwoCodes,
        Category::NoCode,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Category::Clean => "clean",
            Category::Small => "small modules",
            Category::Rotated => "rotated",
            Category::Tilted => "perspective tilt",
            Category::Blurred => "blurred",
            Category::Noisy => "noisy",
            Category::LowContrast => "low contrast",
            Category::Inverted => "inverted",
            Category::Glare => "glare",
            Category::TwoCodes => "two codes",
            Category::NoCode => "no code",
        }
    }
}

/// A frame and the texts a perfect scanner reads from it.
#[derive(Debug, Clone)]
pub struct Sample {
    pub category: Category,
    pub frame: Frame,
    pub expected: Vec<String>,
}

/// xorshift64*: deterministic frames without a dependency (the photographed corpus of
/// `marketday-scan-bench` draws from it too).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    pub fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }
    /// Roughly normal, mean 0, standard deviation 1.
    pub fn gauss(&mut self) -> f64 {
        (0..4).map(|_| self.unit()).sum::<f64>() * 3f64.sqrt() - 2.0 * 3f64.sqrt()
    }
}

/// Payload sizes of the corpus, in bytes: a short URL, a certificate URL, a long one.
pub const PAYLOAD_SIZES: [usize; 3] = [40, 120, 300];

fn payload(rng: &mut Rng, len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~";
    let mut s = String::from("https://v.example/p/");
    while s.len() < len {
        s.push(ALPHABET[(rng.next_u64() % ALPHABET.len() as u64) as usize] as char);
    }
    s
}

/// The n-th sample of a category: even n 640x480, odd n 1280x720; payload size cycles.
pub fn sample(category: Category, n: usize) -> Sample {
    let mut rng = Rng::new((category as u64 + 1) * 1_000_003 + n as u64);
    let len = PAYLOAD_SIZES[(n / 2) % 3];
    let texts: Vec<String> = match category {
        Category::NoCode => Vec::new(),
        Category::TwoCodes => (0..2).map(|_| payload(&mut rng, len.min(120))).collect(),
        _ => vec![payload(&mut rng, len)],
    };
    render(category, n, &mut rng, texts)
}

/// The n-th frame of a category carrying the given texts instead of random ones (the
/// second is used only by two-code frames).
pub fn sample_carrying(category: Category, n: usize, texts: &[&str]) -> Sample {
    let mut rng = Rng::new((category as u64 + 1) * 1_000_003 + n as u64);
    let texts = match category {
        Category::NoCode => Vec::new(),
        Category::TwoCodes => texts.iter().take(2).map(|t| t.to_string()).collect(),
        _ => texts.iter().take(1).map(|t| t.to_string()).collect(),
    };
    render(category, n, &mut rng, texts)
}

fn render(category: Category, n: usize, rng: &mut Rng, texts: Vec<String>) -> Sample {
    let (w, h) = if n.is_multiple_of(2) { (640, 480) } else { (1280, 720) };
    let mut img = scene(rng, w, h, category == Category::NoCode);
    let mut expected = Vec::new();
    let mut module_px = f64::MAX;
    let count = texts.len();
    for (k, text) in texts.into_iter().enumerate() {
        let Ok(code) = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M) else { continue };
        let tag = Tag::for_category(category, rng, &code, w, h, k, count);
        tag.draw(&mut img, w, &code);
        module_px = module_px.min(tag.quad[0].dist(tag.quad[1]) / (code.width() + 2 * QUIET) as f64);
        expected.push(text);
    }
    finish(category, rng, &mut img, w, h, module_px);
    Sample { category, frame: Frame { width: w as u32, height: h as u32, luma: img }, expected }
}

/// A 640x480 frame of a tag carrying `text`, held fairly square to the camera (or an
/// empty scene when `text` is `None`): what the demo camera plays.
pub fn tag_frame(text: Option<&str>, seed: u64) -> Frame {
    let mut rng = Rng::new(seed);
    let (w, h) = (640, 480);
    let mut img = scene(&mut rng, w, h, false);
    if let Some(code) = text.and_then(|t| QrCode::with_error_correction_level(t.as_bytes(), EcLevel::M).ok()) {
        let tag = Tag::for_category(Category::Clean, &mut rng, &code, w, h, 0, 1);
        tag.draw(&mut img, w, &code);
    }
    finish(Category::Clean, &mut rng, &mut img, w, h, 4.0);
    Frame { width: w as u32, height: h as u32, luma: img }
}

pub fn corpus(per_category: usize) -> Vec<Sample> {
    Category::ALL.iter().flat_map(|&c| (0..per_category).map(move |n| sample(c, n))).collect()
}

/// A market scene: uneven light, cloth texture and, for frames that must stay empty,
/// clutter that looks a little like codes (checks, stripes, print).
fn scene(rng: &mut Rng, w: usize, h: usize, cluttered: bool) -> Vec<u8> {
    let base = rng.range(70.0, 170.0);
    let (gx, gy) = (rng.range(-60.0, 60.0), rng.range(-40.0, 40.0));
    let (f1, f2) = (rng.range(0.01, 0.05), rng.range(0.01, 0.05));
    let mut img: Vec<u8> = (0..h)
        .flat_map(|y| {
            (0..w).map(move |x| {
                let (u, v) = (x as f64 / w as f64, y as f64 / h as f64);
                let t = 12.0 * ((x as f64 * f1).sin() * (y as f64 * f2).cos());
                (base + gx * (u - 0.5) + gy * (v - 0.5) + t).clamp(0.0, 255.0) as u8
            })
        })
        .collect();
    let shapes = if cluttered { 14 } else { 4 };
    for _ in 0..shapes {
        let (sw, sh) = (rng.range(20.0, 200.0) as usize, rng.range(20.0, 160.0) as usize);
        let (x0, y0) = (rng.range(0.0, (w - sw) as f64) as usize, rng.range(0.0, (h - sh) as f64) as usize);
        let (a, b) = (rng.range(10.0, 90.0) as u8, rng.range(160.0, 250.0) as u8);
        let cell = rng.range(2.0, 12.0) as usize;
        let kind = rng.next_u64() % 3;
        for y in y0..y0 + sh {
            for x in x0..x0 + sw {
                let (cx, cy) = ((x - x0) / cell, (y - y0) / cell);
                let dark = match kind {
                    0 => (cx + cy) % 2 == 0,                   // checks
                    1 => cx % 3 == 0,                          // stripes
                    _ => (cx * 7 + cy * 13 + cx * cy) % 5 < 2, // print-like
                };
                img[y * w + x] = if dark { a } else { b };
            }
        }
    }
    img
}

struct Tag {
    /// Where the tag's square (modules plus quiet zone) lands in the frame.
    quad: [Pt; 4],
    dark: f64,
    light: f64,
}

const QUIET: usize = 4;

impl Tag {
    fn for_category(c: Category, rng: &mut Rng, code: &QrCode, w: usize, h: usize, k: usize, of: usize) -> Tag {
        let modules = (code.width() + 2 * QUIET) as f64;
        let (slot_w, slot_x) = (w as f64 / of as f64, w as f64 / of as f64 * k as f64);
        let room = slot_w.min(h as f64);
        let side = match c {
            Category::Small => modules * rng.range(2.0, 3.0),
            Category::TwoCodes => room * rng.range(0.55, 0.8),
            _ => room * rng.range(0.4, 0.75),
        }
        .min(room * 0.9);
        let (cx, cy) = (
            slot_x + slot_w / 2.0 + rng.range(-0.5, 0.5) * (slot_w - side) * 0.8,
            h as f64 / 2.0 + rng.range(-0.5, 0.5) * (h as f64 - side) * 0.8,
        );
        let angle = match c {
            Category::Rotated => rng.range(10.0, 350.0),
            _ => rng.range(-8.0, 8.0),
        }
        .to_radians();
        let jitter = if c == Category::Tilted { rng.range(0.10, 0.18) } else { 0.01 };
        let r = side / 2.0;
        let quad = [(-r, -r), (r, -r), (r, r), (-r, r)].map(|(x, y)| {
            let (s, co) = angle.sin_cos();
            let p = Pt::new(cx + x * co - y * s, cy + x * s + y * co);
            p.plus(Pt::new(rng.range(-jitter, jitter) * side, rng.range(-jitter, jitter) * side))
        });
        let (dark, light) = match c {
            Category::LowContrast => (rng.range(105.0, 120.0), rng.range(145.0, 160.0)),
            Category::Inverted => (rng.range(190.0, 230.0), rng.range(20.0, 50.0)),
            _ => (rng.range(15.0, 50.0), rng.range(200.0, 240.0)),
        };
        Tag { quad, dark, light }
    }

    /// Draws with 3x3 supersampling per pixel, so module edges blend as a lens makes them.
    fn draw(&self, img: &mut [u8], w: usize, code: &QrCode) {
        let n = code.width();
        let colors = code.to_colors();
        let total = (n + 2 * QUIET) as f64;
        let square = [Pt::new(0.0, 0.0), Pt::new(total, 0.0), Pt::new(total, total), Pt::new(0.0, total)];
        let Some(to_tag) = Homography::from_points(self.quad, square) else { return };
        let h = img.len() / w;
        let xs = self.quad.iter().map(|p| p.x);
        let ys = self.quad.iter().map(|p| p.y);
        let x0 = xs.clone().fold(f64::MAX, f64::min).max(0.0) as usize;
        let x1 = (xs.fold(0.0, f64::max).ceil() as usize + 1).min(w);
        let y0 = ys.clone().fold(f64::MAX, f64::min).max(0.0) as usize;
        let y1 = (ys.fold(0.0, f64::max).ceil() as usize + 1).min(h);
        for y in y0..y1 {
            for x in x0..x1 {
                let (mut sum, mut inside) = (0.0, 0);
                for sy in 0..3 {
                    for sx in 0..3 {
                        let p = to_tag.map(x as f64 + (sx as f64 + 0.5) / 3.0, y as f64 + (sy as f64 + 0.5) / 3.0);
                        if p.x < 0.0 || p.y < 0.0 || p.x >= total || p.y >= total {
                            continue;
                        }
                        inside += 1;
                        let (mx, my) = (p.x as usize, p.y as usize);
                        let is_dark = (QUIET..QUIET + n).contains(&mx)
                            && (QUIET..QUIET + n).contains(&my)
                            && colors[(my - QUIET) * n + (mx - QUIET)] == Color::Dark;
                        sum += if is_dark { self.dark } else { self.light };
                    }
                }
                if inside > 0 {
                    let bg = f64::from(img[y * w + x]);
                    img[y * w + x] = ((sum + bg * f64::from(9 - inside)) / 9.0).round() as u8;
                }
            }
        }
    }
}

fn box_blur(img: &mut [u8], w: usize, h: usize, r: usize) {
    let mut tmp = vec![0u8; img.len()];
    for pass in 0..2 {
        let (src, dst): (&[u8], &mut [u8]) = if pass == 0 { (&*img, &mut tmp) } else { (&tmp, &mut *img) };
        // Horizontal on the first pass, vertical on the second.
        let (len, lines, step, stride) = if pass == 0 { (w, h, 1, w) } else { (h, w, w, 1) };
        for line in 0..lines {
            let at = |i: usize| line * stride + i * step;
            for i in 0..len {
                let (a, b) = (i.saturating_sub(r), (i + r + 1).min(len));
                let s: u32 = (a..b).map(|j| u32::from(src[at(j)])).sum();
                dst[at(i)] = (s / (b - a) as u32) as u8;
            }
        }
    }
}

fn finish(c: Category, rng: &mut Rng, img: &mut [u8], w: usize, h: usize, module_px: f64) {
    if c == Category::Glare {
        let (gx, gy) = (rng.range(0.3, 0.7) * w as f64, rng.range(0.3, 0.7) * h as f64);
        let radius = rng.range(0.06, 0.12) * w as f64;
        let strength = rng.range(150.0, 230.0);
        for y in 0..h {
            for x in 0..w {
                let d2 = ((x as f64 - gx).powi(2) + (y as f64 - gy).powi(2)) / (radius * radius);
                let v = f64::from(img[y * w + x]) + strength * (-d2).exp();
                img[y * w + x] = v.min(255.0) as u8;
            }
        }
    }
    // Every camera blurs a little; the blurred category a lot (a hand moving, focus off):
    // about half a module, which is as much as a code can take and stay readable.
    let radius = match c {
        Category::Blurred if module_px < 100.0 => (module_px * rng.range(0.25, 0.35)).round().max(1.0) as usize,
        _ => 1,
    };
    box_blur(img, w, h, radius);
    if c == Category::Blurred {
        box_blur(img, w, h, radius);
    }
    let sigma = match c {
        Category::Noisy => rng.range(18.0, 30.0),
        _ => 2.5,
    };
    for v in img.iter_mut() {
        *v = (f64::from(*v) + sigma * rng.gauss()).round().clamp(0.0, 255.0) as u8;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_are_deterministic_and_sized() {
        let a = sample(Category::Tilted, 3);
        let b = sample(Category::Tilted, 3);
        assert_eq!(a.frame, b.frame);
        assert_eq!((a.frame.width, a.frame.height), (1280, 720));
        assert_eq!(a.expected.len(), 1);
        assert_eq!(sample(Category::TwoCodes, 0).expected.len(), 2);
        assert!(sample(Category::NoCode, 0).expected.is_empty());
    }
}
