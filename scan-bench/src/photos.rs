//! Photographs of printed tags, made with an imaging crate rather than by the scanner's own
//! generator (`marketday_scan::synth`), so the scanner is measured on frames it was not
//! tuned on.
//!
//! The prints are the kiosk's own printouts as the printer lays them down (the PNGs of
//! `docs/printouts/`, copied into `prints/` so the corpus does not move when a layout
//! does), plus labels of every QR size from version 1 to 25 printed at the same dot pitch.
//! A photograph places one or more of them in a market scene and then does what a camera
//! and a hand do: projective tilt, a curve around a cylinder, motion blur, defocus,
//! specular glare, a thumb over the edge, dim light with sensor noise, and JPEG at the
//! quality a USB camera's MJPEG stream has (50–90). `imageproc` warps, blurs and draws;
//! `image` encodes the JPEG.
//!
//! The corpus has two parts drawn from disjoint seeds: the tuning part, which anyone
//! changing the scanner may study frame by frame, and the held part, which only the
//! regression test and the benchmark's totals look at.

use image::{GrayImage, Luma, LumaA};
use imageproc::drawing::{draw_filled_ellipse_mut, draw_filled_rect_mut};
use imageproc::filter::{gaussian_blur_f32, horizontal_filter, vertical_filter};
use imageproc::geometric_transformations::{Interpolation, Projection, warp_into, warp_into_with};
use imageproc::rect::Rect;
use marketday_scan::Frame;
use marketday_scan::synth::Rng;
use qrcode::{Color, EcLevel, QrCode};

/// What the camera and the hand did to the prints in a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Clean,
    Small,
    LargeVersion,
    Tilted,
    Curved,
    MotionBlur,
    Defocus,
    Glare,
    Occluded,
    Dim,
    Jpeg,
    Several,
    NoCode,
}

impl Kind {
    pub const ALL: [Kind; 13] = [
        Kind::Clean,
        Kind::Small,
        Kind::LargeVersion,
        Kind::Tilted,
        Kind::Curved,
        Kind::MotionBlur,
        Kind::Defocus,
        Kind::Glare,
        Kind::Occluded,
        Kind::Dim,
        Kind::Jpeg,
        Kind::Several,
        Kind::NoCode,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Clean => "clean",
            Kind::Small => "small (1.6-2.6 px)",
            Kind::LargeVersion => "versions 15-25",
            Kind::Tilted => "tilted",
            Kind::Curved => "curved (cylinder)",
            Kind::MotionBlur => "motion blur",
            Kind::Defocus => "out of focus",
            Kind::Glare => "specular glare",
            Kind::Occluded => "thumb over edge",
            Kind::Dim => "dim and noisy",
            Kind::Jpeg => "JPEG q50-70",
            Kind::Several => "2-4 codes",
            Kind::NoCode => "no code",
        }
    }
}

/// Which seeds a frame comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// Studied while changing the scanner.
    Tuning,
    /// Never studied: only totals are reported, and a test holds them.
    Held,
}

/// A photograph and the texts of the codes wholly in it.
#[derive(Debug, Clone)]
pub struct Shot {
    pub kind: Kind,
    pub frame: Frame,
    pub expected: Vec<String>,
}

/// A print that carries a code, and where the code is on it.
struct Print {
    image: GrayImage,
    /// The code's corners on the print (clockwise from its top left, in print pixels).
    corners: [(f32, f32); 4],
    /// Modules a side.
    modules: u32,
    text: String,
}

const TAG_PRINTS: [(&str, &[u8]); 8] = [
    ("sticker 58 mm", include_bytes!("../prints/sticker-generic-58.png")),
    ("sticker 80 mm", include_bytes!("../prints/sticker-generic-80.png")),
    ("dispatch slip 58 mm", include_bytes!("../prints/dispatch-slip-generic-58.png")),
    ("dispatch slip 80 mm", include_bytes!("../prints/dispatch-slip-generic-80.png")),
    ("reservation slip 58 mm", include_bytes!("../prints/reservation-slip-generic-58.png")),
    ("reservation slip 80 mm", include_bytes!("../prints/reservation-slip-generic-80.png")),
    ("test page", include_bytes!("../prints/test-page-generic-80.png")),
    ("receipt", include_bytes!("../prints/receipt-generic-58.png")),
];

/// Printouts without a code: what lies on a stall beside the tags.
const PLAIN_PRINTS: [&[u8]; 2] =
    [include_bytes!("../prints/z-report-generic-80.png"), include_bytes!("../prints/refund-slip-generic-80.png")];

/// The paper of a preview PNG: its white, without the grey frame around it.
fn paper(png: &[u8]) -> GrayImage {
    let img = image::load_from_memory(png).expect("the committed prints are PNGs").to_luma8();
    let (w, h) = img.dimensions();
    let white = |x: u32, y: u32| img.get_pixel(x, y).0[0] == 255;
    let cols: Vec<u32> = (0..w).filter(|&x| white(x, h / 2)).collect();
    let rows: Vec<u32> = (0..h).filter(|&y| white(w / 2, y)).collect();
    let (x0, x1) = (cols[0], *cols.last().expect("white paper"));
    let (y0, y1) = (rows[0], *rows.last().expect("white paper"));
    image::imageops::crop_imm(&img, x0, y0, x1 - x0 + 1, y1 - y0 + 1).to_image()
}

/// The one code on a clean print, read by rqrr: text, corners and size.
fn locate(image: GrayImage) -> Option<Print> {
    let mut prepared =
        rqrr::PreparedImage::prepare_from_greyscale(image.width() as usize, image.height() as usize, |x, y| {
            image.get_pixel(x as u32, y as u32).0[0]
        });
    let grids = prepared.detect_grids();
    let [grid] = grids.as_slice() else { return None };
    let (meta, text) = grid.decode().ok()?;
    let corners = grid.bounds.map(|p| (p.x as f32, p.y as f32));
    Some(Print { image, corners, modules: 17 + 4 * meta.version.0 as u32, text })
}

/// A label as the kiosk's printer makes one: `dots` printer dots a module, each dot a
/// little wider than its pitch, four modules of quiet zone and a margin of paper.
fn label(text: &str, dots: u32) -> Print {
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M).expect("payload fits a code");
    let n = code.width() as u32;
    let colors = code.to_colors();
    let side = (n + 8) * dots + 2 * dots;
    let mut img = GrayImage::from_pixel(side, side, Luma([250]));
    let origin = 5 * dots;
    for my in 0..n {
        for mx in 0..n {
            if colors[(my * n + mx) as usize] == Color::Dark {
                let r = Rect::at((origin + mx * dots) as i32, (origin + my * dots) as i32).of_size(dots, dots);
                draw_filled_rect_mut(&mut img, r, Luma([28]));
            }
        }
    }
    // Thermal dots bleed into the paper a little.
    let image = gaussian_blur_f32(&img, 0.45);
    let (a, b) = (origin as f32, (origin + n * dots) as f32);
    Print { image, corners: [(a, a), (b, a), (b, b), (a, b)], modules: n, text: text.to_string() }
}

/// A certificate-like URL in QR alphanumeric mode (the kiosk's own style) or a lower-case
/// one in byte mode, long enough for `version`.
fn payload(rng: &mut Rng, version: u32) -> String {
    // Capacity at level M, alphanumeric / byte, for versions 1..=25 (ISO/IEC 18004 table 7).
    const ALNUM: [usize; 25] = [
        20, 38, 61, 90, 122, 154, 178, 221, 262, 311, 366, 419, 483, 528, 600, 656, 734, 816, 909, 970, 1035, 1134,
        1248, 1326, 1451,
    ];
    const BYTES: [usize; 25] = [
        14, 26, 42, 62, 84, 106, 122, 152, 180, 213, 251, 287, 331, 362, 412, 450, 504, 560, 624, 666, 711, 779, 857,
        911, 997,
    ];
    let alnum = rng.next_u64().is_multiple_of(2);
    let table = if alnum { &ALNUM } else { &BYTES };
    let v = version.clamp(1, 25) as usize;
    let lo = if v == 1 { 8 } else { table[v - 2] + 1 };
    let len = lo + (rng.next_u64() as usize % (table[v - 1] - lo + 1));
    let (mut s, alphabet): (String, &[u8]) = if alnum {
        ("HTTPS://V.MD.EXAMPLE/P/".into(), b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
    } else {
        ("https://v.md.example/p/".into(), b"abcdefghijkmnopqrstuvwxyz0123456789-_")
    };
    s.truncate(len);
    while s.len() < len {
        s.push(alphabet[rng.next_u64() as usize % alphabet.len()] as char);
    }
    s
}

/// The prints with a code, read once.
fn tag_prints() -> &'static [Print] {
    static PRINTS: std::sync::OnceLock<Vec<Print>> = std::sync::OnceLock::new();
    PRINTS.get_or_init(|| {
        TAG_PRINTS
            .iter()
            .map(|(name, png)| {
                locate(paper(png)).unwrap_or_else(|| panic!("the {name} print carries one readable code"))
            })
            .collect()
    })
}

fn plain_prints() -> &'static [GrayImage] {
    static PRINTS: std::sync::OnceLock<Vec<GrayImage>> = std::sync::OnceLock::new();
    PRINTS.get_or_init(|| PLAIN_PRINTS.iter().map(|png| paper(png)).collect())
}

/// A print for this frame: one of the kiosk's printouts, or a label of a chosen size.
fn pick(rng: &mut Rng, kind: Kind) -> Print {
    // Several codes are labels side by side: a slip would cover its neighbour's code.
    let from_printouts = !matches!(kind, Kind::LargeVersion | Kind::Several) && rng.next_u64().is_multiple_of(2);
    if from_printouts {
        let all = tag_prints();
        let p = &all[rng.next_u64() as usize % all.len()];
        return Print { image: p.image.clone(), corners: p.corners, modules: p.modules, text: p.text.clone() };
    }
    let version = match kind {
        Kind::LargeVersion => 15 + (rng.next_u64() % 11) as u32,
        _ => [1, 2, 3, 4, 6, 8, 10, 13][rng.next_u64() as usize % 8],
    };
    let text = payload(rng, version);
    label(&text, 3 + (rng.next_u64() % 3) as u32)
}

/// A stall: cloth or wood under uneven light, objects, and sometimes a printout without a
/// code lying about.
fn scene(rng: &mut Rng, w: u32, h: u32, clutter: usize) -> GrayImage {
    let base = rng.range(60.0, 180.0);
    let (gx, gy) = (rng.range(-70.0, 70.0), rng.range(-50.0, 50.0));
    let (fx, fy, grain) = (rng.range(0.02, 0.4), rng.range(0.02, 0.4), rng.range(3.0, 14.0));
    let mut img = GrayImage::from_fn(w, h, |x, y| {
        let (u, v) = (x as f64 / w as f64 - 0.5, y as f64 / h as f64 - 0.5);
        let weave = grain * (x as f64 * fx).sin() * (y as f64 * fy).sin();
        Luma([(base + gx * u + gy * v + weave).clamp(0.0, 255.0) as u8])
    });
    for _ in 0..clutter {
        let (cx, cy) = (rng.range(0.0, w as f64) as i32, rng.range(0.0, h as f64) as i32);
        let grey = Luma([rng.range(10.0, 245.0) as u8]);
        let (rx, ry) = (rng.range(8.0, 90.0) as i32, rng.range(8.0, 90.0) as i32);
        match rng.next_u64() % 3 {
            0 => draw_filled_ellipse_mut(&mut img, (cx, cy), rx, ry, grey),
            1 => draw_filled_rect_mut(&mut img, Rect::at(cx, cy).of_size(rx as u32 * 2, ry as u32), grey),
            _ => {
                // A price card: rows of short dark strokes, like print at a distance.
                let card = Rect::at(cx, cy).of_size(rx as u32 * 2 + 20, ry as u32 + 20);
                draw_filled_rect_mut(&mut img, card, Luma([235]));
                let stroke = rng.range(1.0, 4.0) as i32;
                for row in 0..(ry / (stroke * 3)).max(1) {
                    let mut x = cx + 5;
                    while x < cx + rx * 2 + 10 {
                        let len = rng.range(2.0, 12.0) as i32 * stroke;
                        let r = Rect::at(x, cy + 5 + row * stroke * 3).of_size(len as u32, stroke as u32);
                        draw_filled_rect_mut(&mut img, r, Luma([30]));
                        x += len + stroke * 2;
                    }
                }
            }
        }
    }
    if rng.next_u64().is_multiple_of(2) {
        let plain = plain_prints();
        let p = &plain[rng.next_u64() as usize % plain.len()];
        let s = rng.range(0.6, 1.4) as f32;
        let (cx, cy) = (rng.range(0.0, w as f64) as f32, rng.range(0.0, h as f64) as f32);
        let m = Projection::translate(cx, cy)
            * Projection::rotate(rng.range(0.0, std::f64::consts::TAU) as f32)
            * Projection::scale(s, s)
            * Projection::translate(-(p.width() as f32) / 2.0, -(p.height() as f32) / 2.0);
        let layer = with_alpha(p);
        composite(&mut img, |out| warp_into(&layer, &m, Interpolation::Bilinear, LumaA([0, 0]), out));
    }
    img
}

fn with_alpha(img: &GrayImage) -> image::ImageBuffer<LumaA<u8>, Vec<u8>> {
    image::ImageBuffer::from_fn(img.width(), img.height(), |x, y| LumaA([img.get_pixel(x, y).0[0], 255]))
}

/// Warps a print onto the frame with `warp` and lays it over what is there.
fn composite(frame: &mut GrayImage, warp: impl FnOnce(&mut image::ImageBuffer<LumaA<u8>, Vec<u8>>)) {
    let mut layer = image::ImageBuffer::new(frame.width(), frame.height());
    warp(&mut layer);
    for (dst, src) in frame.pixels_mut().zip(layer.pixels()) {
        let [v, a] = src.0;
        let a = u32::from(a);
        dst.0[0] = ((u32::from(v) * a + u32::from(dst.0[0]) * (255 - a)) / 255) as u8;
    }
}

/// Where a code lands in the frame: its corners.
type Quad = [(f32, f32); 4];

/// Places `print` so that its code, `module` pixels a module, is centred on `at` at
/// `angle`, tilted by `tilt` (the far side this much shorter) or wrapped round a cylinder
/// of `curve` half-angle. Returns the code's corners in the frame, or `None` when the
/// code would not be wholly in the frame.
#[allow(clippy::too_many_arguments)]
fn place(
    frame: &mut GrayImage,
    print: &Print,
    module: f32,
    at: (f32, f32),
    angle: f32,
    tilt: f32,
    curve: f32,
) -> Option<Quad> {
    let side = print.modules as f32 * module;
    let half = side / 2.0;
    // The code's square, the far edge foreshortened for tilt, then rotated into place.
    let shrink = 1.0 - tilt;
    let local = [(-half * shrink, -half), (half * shrink, -half), (half, half), (-half, half)];
    let (s, c) = angle.sin_cos();
    let quad: Quad = local.map(|(x, y)| (at.0 + x * c - y * s, at.1 + x * s + y * c));
    let (w, h) = (frame.width() as f32, frame.height() as f32);
    let margin = 2.0 * module;
    if quad.iter().any(|&(x, y)| x < margin || y < margin || x > w - margin || y > h - margin) {
        return None;
    }
    let print_rgba = with_alpha(&print.image);
    if curve <= 0.0 {
        let m = Projection::from_control_points(print.corners, quad)?;
        composite(frame, |out| warp_into(&print_rgba, &m, Interpolation::Bilinear, LumaA([0, 0]), out));
    } else {
        // A tag round a cylinder whose axis runs along the code's columns: the camera sees
        // x = R sin(phi) of the arc length R phi, so the middle is wide and the sides squeezed.
        let radius = half / curve.sin();
        let (cx, cy) = (
            print.corners.iter().map(|p| p.0).sum::<f32>() / 4.0,
            print.corners.iter().map(|p| p.1).sum::<f32>() / 4.0,
        );
        let dots = (print.corners[1].0 - print.corners[0].0) / print.modules as f32;
        let scale = module / dots;
        composite(frame, |out| {
            warp_into_with(
                &print_rgba,
                |x, y| {
                    let (dx, dy) = (x - at.0, y - at.1);
                    let (u, v) = (dx * c + dy * s, -dx * s + dy * c);
                    if u.abs() >= radius {
                        return (-1.0e6, -1.0e6);
                    }
                    let arc = radius * (u / radius).asin();
                    (cx + arc / scale, cy + v / scale)
                },
                Interpolation::Bilinear,
                LumaA([0, 0]),
                out,
            )
        });
    }
    Some(quad)
}

/// The pixel size of a module for a kind, and whether a code of `modules` fits in `room`.
fn module_for(rng: &mut Rng, kind: Kind, modules: u32, room: f32) -> f32 {
    // A label is its code and five modules of paper each side; it stays in its cell.
    let fit = room * 0.8 / (modules + 10) as f32;
    let m = match kind {
        Kind::Small => rng.range(1.6, 2.6) as f32,
        Kind::LargeVersion => rng.range(2.6, 4.5) as f32,
        Kind::Several => rng.range(2.5, 5.0) as f32,
        _ => rng.range(2.8, 7.0) as f32,
    };
    m.min(fit)
}

fn blur_along(img: &GrayImage, length: usize, vertical: bool) -> GrayImage {
    let kernel = vec![1.0f32 / length as f32; length];
    if vertical { vertical_filter(img, &kernel) } else { horizontal_filter(img, &kernel) }
}

fn jpeg(img: &GrayImage, quality: u8) -> GrayImage {
    let mut bytes = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, quality)
        .encode_image(img)
        .expect("a grey image encodes");
    image::load_from_memory(&bytes).expect("our own JPEG decodes").to_luma8()
}

/// The `n`-th photograph of a kind in a part of the corpus.
pub fn shot(part: Part, kind: Kind, n: usize) -> Shot {
    let base = match part {
        Part::Tuning => 0,
        Part::Held => 1 << 40,
    };
    let mut rng = Rng::new(base + (kind as u64 + 1) * 7_919_000 + n as u64);
    let (w, h) = if n.is_multiple_of(2) { (640u32, 480u32) } else { (1280, 720) };
    let mut frame = scene(&mut rng, w, h, if kind == Kind::NoCode { 14 } else { 5 });
    let mut expected = Vec::new();
    let mut quads = Vec::new();
    let count = match kind {
        Kind::NoCode => 0,
        Kind::Several => 2 + (rng.next_u64() % 3) as usize,
        _ => 1,
    };
    // Several codes get a cell each of a 2x2 grid; the others the whole frame.
    let cells: Vec<(f32, f32, f32, f32)> = if count == 0 {
        Vec::new()
    } else if count > 1 {
        let (cw, ch) = (w as f32 / 2.0, h as f32 / 2.0);
        let mut all = vec![(0.0, 0.0, cw, ch), (cw, 0.0, cw, ch), (0.0, ch, cw, ch), (cw, ch, cw, ch)];
        let rotate = rng.next_u64() as usize % 4;
        all.rotate_left(rotate);
        all.truncate(count);
        all
    } else {
        vec![(0.0, 0.0, w as f32, h as f32)]
    };
    let mut module_px = f32::MAX;
    for &(x0, y0, cw, ch) in &cells {
        let print = pick(&mut rng, kind);
        if expected.contains(&print.text) {
            continue;
        }
        let mut module = module_for(&mut rng, kind, print.modules, cw.min(ch));
        let angle = rng.range(0.0, std::f64::consts::TAU) as f32;
        let tilt = match kind {
            Kind::Tilted => rng.range(0.2, 0.4) as f32,
            _ => rng.range(0.0, 0.06) as f32,
        };
        let curve = if kind == Kind::Curved { rng.range(0.6, 1.0) as f32 } else { 0.0 };
        let (dx, dy) = (rng.range(-1.0, 1.0) as f32, rng.range(-1.0, 1.0) as f32);
        // Off-centre as far as the cell allows; smaller and nearer the middle if it does not fit.
        for attempt in 0..6 {
            let side = print.modules as f32 * module * std::f32::consts::SQRT_2;
            let slack = ((cw.min(ch) - side) / 2.0).max(0.0) / (1 + attempt) as f32;
            let at = (x0 + cw / 2.0 + dx * slack, y0 + ch / 2.0 + dy * slack);
            if let Some(q) = place(&mut frame, &print, module, at, angle, tilt, curve) {
                expected.push(print.text);
                quads.push(q);
                module_px = module_px.min(module);
                break;
            }
            module *= 0.9;
        }
    }
    if module_px == f32::MAX {
        module_px = 3.0;
    }
    let centre = |q: &Quad| (q.iter().map(|p| p.0).sum::<f32>() / 4.0, q.iter().map(|p| p.1).sum::<f32>() / 4.0);
    let size = |q: &Quad| ((q[0].0 - q[2].0).hypot(q[0].1 - q[2].1)) / std::f32::consts::SQRT_2;
    match kind {
        Kind::Glare if !quads.is_empty() => {
            // A highlight off glossy paper or a plastic sleeve: strong, soft-edged, off-centre.
            let (c, s) = (centre(&quads[0]), size(&quads[0]));
            let (gx, gy) = (c.0 + rng.range(-0.3, 0.3) as f32 * s, c.1 + rng.range(-0.3, 0.3) as f32 * s);
            let (rx, ry) = (rng.range(0.12, 0.25) as f32 * s, rng.range(0.06, 0.15) as f32 * s);
            let strength = rng.range(110.0, 200.0) as f32;
            for (x, y, p) in frame.enumerate_pixels_mut() {
                let d2 = ((x as f32 - gx) / rx).powi(2) + ((y as f32 - gy) / ry).powi(2);
                p.0[0] = (f32::from(p.0[0]) + strength * (-d2 / 2.0).exp()).min(255.0) as u8;
            }
        }
        Kind::Occluded if !quads.is_empty() => {
            // A thumb over the middle of an edge without a finder pattern (right or bottom).
            let q = quads[0];
            let edge = if rng.next_u64().is_multiple_of(2) { (q[1], q[2]) } else { (q[2], q[3]) };
            let t = rng.range(0.35, 0.65) as f32;
            let p = (edge.0.0 + (edge.1.0 - edge.0.0) * t, edge.0.1 + (edge.1.1 - edge.0.1) * t);
            let s = size(&q);
            let (rx, ry) = ((s * rng.range(0.08, 0.13) as f32) as i32, (s * rng.range(0.08, 0.13) as f32) as i32);
            draw_filled_ellipse_mut(
                &mut frame,
                (p.0 as i32, p.1 as i32),
                rx,
                ry,
                Luma([rng.range(120.0, 190.0) as u8]),
            );
        }
        _ => {}
    }
    // Optics and motion.
    frame = match kind {
        Kind::MotionBlur => {
            let length = (module_px * rng.range(0.5, 1.0) as f32).round().max(2.0) as usize;
            blur_along(&frame, length, rng.next_u64().is_multiple_of(2))
        }
        Kind::Defocus => gaussian_blur_f32(&frame, (module_px * rng.range(0.3, 0.45) as f32).max(0.6)),
        _ => gaussian_blur_f32(&frame, rng.range(0.5, 0.9) as f32),
    };
    // Light: dim scenes lose contrast and gain sensor noise.
    let (gain, offset, noise) = match kind {
        Kind::Dim => (rng.range(0.25, 0.4), rng.range(10.0, 40.0), rng.range(5.0, 9.0)),
        _ => (1.0, 0.0, rng.range(1.5, 4.0)),
    };
    for p in frame.pixels_mut() {
        p.0[0] = (f64::from(p.0[0]) * gain + offset).clamp(0.0, 255.0) as u8;
    }
    imageproc::noise::gaussian_noise_mut(&mut frame, 0.0, noise, rng.next_u64());
    let quality = match kind {
        Kind::Jpeg => rng.range(50.0, 70.0),
        _ => rng.range(75.0, 92.0),
    } as u8;
    let frame = jpeg(&frame, quality);
    Shot { kind, frame: Frame { width: w, height: h, luma: frame.into_raw() }, expected }
}

/// `per_kind` photographs of every kind.
pub fn corpus(part: Part, per_kind: usize) -> Vec<Shot> {
    Kind::ALL.iter().flat_map(|&k| (0..per_kind).map(move |n| shot(part, k, n))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_printout_with_a_code_is_found_on_its_paper() {
        let prints = tag_prints();
        assert_eq!(prints.len(), TAG_PRINTS.len());
        assert!(prints.iter().all(|p| p.text.starts_with("HTTPS://") || p.text.starts_with("https://")), "URLs");
    }

    #[test]
    fn payloads_fill_the_version_asked_for() {
        let mut rng = Rng::new(5);
        for v in [1u32, 5, 15, 25] {
            let text = payload(&mut rng, v);
            let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M).unwrap();
            assert_eq!(code.width() as u32, 17 + 4 * v, "{text}");
        }
    }

    #[test]
    fn shots_are_deterministic_and_the_parts_differ() {
        let a = shot(Part::Tuning, Kind::Tilted, 3);
        assert_eq!(a.frame, shot(Part::Tuning, Kind::Tilted, 3).frame);
        assert_ne!(a.frame, shot(Part::Held, Kind::Tilted, 3).frame);
        assert_eq!((a.frame.width, a.frame.height), (1280, 720));
        assert!(shot(Part::Held, Kind::NoCode, 0).expected.is_empty());
        for kind in Kind::ALL.into_iter().filter(|k| *k != Kind::NoCode) {
            for n in 0..4 {
                let s = shot(Part::Tuning, kind, n);
                let want = if kind == Kind::Several { 2 } else { 1 };
                assert!(s.expected.len() >= want, "{kind:?} #{n} holds {} codes", s.expected.len());
            }
        }
    }
}
