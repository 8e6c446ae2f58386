//! QR codes from camera frames: computer vision, with no device in it. The kiosk's camera
//! threads (`marketday-hardware`) hand frames in; codes come out.
//!
//! ```
//! use marketday_scan::{Steps, scan, synth};
//!
//! // A tag held up to a 640x480 camera on a market stall (a frame made in code).
//! let url = "https://verify.example/p/AT-2026-0007";
//! let frame = synth::tag_frame(Some(url), 1);
//! let codes = scan(&frame, Steps::default());
//! assert_eq!(codes.len(), 1);
//! assert_eq!(codes[0].text, url);
//! // Its corners, in frame pixels, for drawing an outline over the preview.
//! assert!(codes[0].corners.iter().all(|p| p.x >= 0.0 && p.x < 640.0));
//! ```
//!
//! The pipeline, cheapest first, stopping at the first step that reads anything:
//! 1. from 1280x720 up, half resolution (big codes: a quarter of the pixels), then full
//!    resolution;
//! 2. local-mean threshold decided a 4x4 block at a time (shadows, sunlight, dim or
//!    low-contrast tags);
//! 3. our finder and grouping (tilt, small modules), then rqrr's own detector on the
//!    same bitmap as a second opinion where our finder saw at least two finder patterns
//!    on two rows or more;
//! 4. at full resolution, small codes (under 3.5 px a module): the region around their
//!    finders, enlarged twice, thresholded and read again;
//! 5. when half resolution read a code but left a small finder pattern unexplained, full
//!    resolution outside the codes read: every code in view is reported;
//! 6. only after dark-on-light failed at every resolution, the same thresholds' negative
//!    for light-on-dark tags (etched metal, dark card), half then full resolution, with
//!    its own small codes.
//!
//! rqrr decodes every candidate: format bits, Reed-Solomon and data. A frame without a
//! code must never yield one, and error correction is what guarantees that.

pub mod binarize;
pub mod finder;
pub mod geometry;
pub mod synth;

use std::time::{Duration, Instant};

use binarize::Bitmap;
pub use geometry::Pt;

/// One grey-scale (luma) frame, row-major, one byte per pixel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub width: u32,
    pub height: u32,
    pub luma: Vec<u8>,
}

/// A code read from a frame: its text and its corners in frame pixels, clockwise from
/// the code's own top left.
#[derive(Debug, Clone, PartialEq)]
pub struct Code {
    pub text: String,
    pub corners: [Pt; 4],
}

/// Which steps of the pipeline run; all on by default. The benchmark turns them off one
/// at a time to measure what each is worth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Steps {
    pub half_first: bool,
    pub own_finder: bool,
    pub rqrr_detector: bool,
    pub inverted: bool,
    pub small_regions: bool,
    /// When the half-resolution pass read codes but left a small finder pattern
    /// unexplained, look again at full resolution (our finder only) outside the codes
    /// read. A dense code beside a big one is often only one smudged finder at half
    /// resolution, so one is enough; printed text around a tag sometimes makes one too,
    /// and then a single-code frame pays for the look (the README has what it costs).
    pub complete: bool,
}

impl Default for Steps {
    fn default() -> Steps {
        Steps {
            half_first: true,
            own_finder: true,
            rqrr_detector: true,
            inverted: true,
            small_regions: true,
            complete: true,
        }
    }
}

/// Plain rqrr as shipped: its own threshold, detector and decoder. The baseline.
pub fn scan_plain(frame: &Frame) -> Vec<Code> {
    let (w, h) = (frame.width as usize, frame.height as usize);
    if frame.luma.len() < w * h || w == 0 || h == 0 {
        return Vec::new();
    }
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| frame.luma[y * w + x]);
    decoded(img.detect_grids())
}

fn rqrr_on(b: &Bitmap) -> Vec<Code> {
    let mut img = rqrr::PreparedImage::prepare_from_bitmap(b.width, b.height, |x, y| b.get(x, y));
    decoded(img.detect_grids())
}

/// The grids rqrr's own detector found that decode.
fn decoded<G: rqrr::BitGrid>(grids: Vec<rqrr::Grid<G>>) -> Vec<Code> {
    grids
        .into_iter()
        .filter_map(|g| {
            // As in `finder`: a code holding nothing is a blank patch, never a tag.
            let (_, text) = g.decode().ok().filter(|(_, t)| !t.is_empty())?;
            Some(Code { text, corners: g.bounds.map(|p| Pt::new(f64::from(p.x), f64::from(p.y))) })
        })
        .collect()
}

/// Where a scan spent its time, step by step: the benchmark sums these over a corpus.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct Profile {
    /// Averaging the frame down to half resolution.
    pub downscale: Duration,
    /// Summed-area tables and the thresholded bitmaps, both polarities.
    pub threshold: Duration,
    /// Our finder patterns, grouping, sampling and decoding.
    pub own_finder: Duration,
    /// rqrr's detector as the second opinion.
    pub rqrr_detector: Duration,
    /// Small-code regions, enlarged and read again.
    pub small_regions: Duration,
    /// Looking again at full resolution after an unexplained finder (`Steps::complete`).
    pub complete: Duration,
}

impl Profile {
    pub fn total(&self) -> Duration {
        self.downscale + self.threshold + self.own_finder + self.rqrr_detector + self.small_regions + self.complete
    }
}

/// Runs `f` and adds its time to `slot`.
fn timed<T>(slot: &mut Duration, f: impl FnOnce() -> T) -> T {
    let t = Instant::now();
    let out = f();
    *slot += t.elapsed();
    out
}

/// What reading one bitmap found.
struct Reading {
    codes: Vec<Code>,
    /// Finder patterns seen on `finder::MIN_HITS` rows that none of the codes explains.
    unexplained: Vec<finder::Finder>,
    /// The bitmap's finder patterns, kept for the small-code regions.
    finders: Vec<finder::Finder>,
}

/// Reads a bitmap with our finder; rqrr's detector has a look too when ours read nothing but
/// saw at least `second_opinion` finder patterns on two rows or more (`None`: never).
fn read_bitmap(b: &Bitmap, steps: Steps, second_opinion: Option<usize>, profile: &mut Profile) -> Reading {
    let mut r = Reading { codes: Vec::new(), unexplained: Vec::new(), finders: Vec::new() };
    if steps.own_finder || steps.small_regions {
        r.finders = timed(&mut profile.own_finder, || finder::finders(b));
    }
    if steps.own_finder {
        let found;
        (found, r.unexplained) = timed(&mut profile.own_finder, || finder::read_among(b, &r.finders));
        r.codes = found.into_iter().map(|f| Code { text: f.text, corners: f.corners }).collect();
    }
    let seen = || r.finders.iter().filter(|f| f.hits >= finder::MIN_HITS).count();
    if r.codes.is_empty()
        && steps.rqrr_detector
        && let Some(needed) = second_opinion
        && (!steps.own_finder || seen() >= needed)
    {
        r.codes = timed(&mut profile.rqrr_detector, || rqrr_on(b));
    }
    r
}

/// Our pipeline. Never panics on any frame, including an empty or short one.
pub fn scan(frame: &Frame, steps: Steps) -> Vec<Code> {
    scan_profiled(frame, steps, &mut Profile::default())
}

/// `scan`, adding the time each step took to `profile`.
pub fn scan_profiled(frame: &Frame, steps: Steps, profile: &mut Profile) -> Vec<Code> {
    let (w, h) = (frame.width as usize, frame.height as usize);
    if frame.luma.len() < w * h || w < 21 || h < 21 {
        return Vec::new();
    }
    let luma = &frame.luma[..w * h];
    let mut levels: Vec<(std::borrow::Cow<'_, [u8]>, usize, usize, f64)> = Vec::with_capacity(2);
    // Only from 1280x720 up: a 640x480 frame's half is 320x240, where a dense code beside
    // the one read is a grey smudge, and at full resolution it costs little to look.
    if steps.half_first && w.min(h) >= 700 {
        let (half, hw, hh) = timed(&mut profile.downscale, || binarize::half(luma, w, h));
        levels.push((half.into(), hw, hh, 2.0));
    }
    levels.push((luma.into(), w, h, 1.0));
    // Dark-on-light first at every level, then light-on-dark: every printout the kiosk makes
    // is dark on light, so a code too small for the half-resolution copy is read at full
    // resolution without first thresholding and searching the copy's negative.
    let mut means = Vec::with_capacity(levels.len());
    for (i, (pixels, lw, lh, scale)) in levels.iter().enumerate() {
        let (lw, lh, scale) = (*lw, *lh, *scale);
        let (level_means, bitmap) = timed(&mut profile.threshold, || {
            let means = binarize::LocalMean::new(pixels, lw, lh, frame_window(lw, lh));
            let bitmap = means.bitmap(pixels, false);
            (means, bitmap)
        });
        means.push(level_means);
        let full_res = i + 1 == levels.len();
        // rqrr's detector is a second opinion worth its time where a code is near: at half
        // resolution, only with three finder patterns in view (two, and an empty scene's
        // look-alikes sent it over every half frame and then every full one).
        let normal = read_bitmap(&bitmap, steps, Some(if full_res { 2 } else { 3 }), profile);
        let mut codes = normal.codes;
        if codes.is_empty() && full_res && steps.small_regions {
            codes = timed(&mut profile.small_regions, || small_codes(pixels, lw, lh, &normal.finders, false));
        }
        if !codes.is_empty()
            && !full_res
            && steps.complete
            && normal.unexplained.iter().any(|f| f.module < LOOSE_MODULE)
        {
            // Another code may be in view, too small to read at half resolution: finders
            // that no code explains, small and placed as a code's would be. Our finder
            // alone at full resolution, among the finders outside the codes already read.
            let started = Instant::now();
            let (luma, fw, fh, _) = &levels[levels.len() - 1];
            let bitmap = binarize::LocalMean::new(luma, *fw, *fh, frame_window(*fw, *fh)).bitmap(luma, false);
            let known: Vec<[Pt; 4]> = codes.iter().map(|c| c.corners.map(|p| p.scale(scale))).collect();
            let f: Vec<finder::Finder> = finder::finders(&bitmap)
                .into_iter()
                .filter(|f| !known.iter().any(|q| finder::inside(q, f.c)))
                .collect();
            let more = finder::read_among(&bitmap, &f).0;
            codes.extend(
                more.into_iter().map(|f| Code { text: f.text, corners: f.corners.map(|p| p.scale(1.0 / scale)) }),
            );
            profile.complete += started.elapsed();
        }
        if !codes.is_empty() {
            return finished(codes, scale);
        }
    }
    if !steps.inverted {
        return Vec::new();
    }
    // Light-on-dark: threshold the negative, so a module lighter than its surroundings is
    // "dark". (Flipping the bitmap would flip the flat patches too.)
    for (i, ((pixels, lw, lh, scale), means)) in levels.iter().zip(&means).enumerate() {
        let b = timed(&mut profile.threshold, || means.bitmap(pixels, true));
        let r = read_bitmap(&b, steps, None, profile);
        let mut codes = r.codes;
        if codes.is_empty() && i + 1 == levels.len() && steps.small_regions {
            codes = timed(&mut profile.small_regions, || small_codes(pixels, *lw, *lh, &r.finders, true));
        }
        if !codes.is_empty() {
            return finished(codes, *scale);
        }
    }
    Vec::new()
}

/// Codes read, in the frame's own pixels, each text once.
fn finished(mut codes: Vec<Code>, scale: f64) -> Vec<Code> {
    for c in &mut codes {
        c.corners = c.corners.map(|p| p.scale(scale));
    }
    let mut seen = std::collections::HashSet::new();
    codes.retain(|c| seen.insert(c.text.clone()));
    codes
}

/// Small codes among a full-resolution bitmap's finders (dark or, with `negative`, light
/// ones), each region enlarged and read on its own.
fn small_codes(pixels: &[u8], w: usize, h: usize, finders: &[finder::Finder], negative: bool) -> Vec<Code> {
    let mut codes = Vec::new();
    for (lo, hi) in finder::regions_among(finders, SMALL_MODULE, SMALL_MIN_HITS) {
        codes.extend(read_region(pixels, w, h, lo, hi, negative));
    }
    codes
}

/// Modules smaller than this (in pixels) get a second look at twice the size.
const SMALL_MODULE: f64 = 3.5;
/// Small codes' finders must be seen on this many rows: at 1.6 pixels a module a finder's
/// centre still spans four, and text makes many one- and two-row look-alikes.
const SMALL_MIN_HITS: u32 = 3;
/// At half resolution, an unexplained finder with modules under this many pixels may be
/// part of a code too small to read there; a bigger one's code would have been read.
const LOOSE_MODULE: f64 = 2.5;

/// The local-mean window for a whole frame (or its half): a sixteenth of its shorter side,
/// small enough that a dark background beside a pale, low-contrast tag does not drag the
/// threshold under its dark modules; the inside of a bigger dark area is decided by a wider
/// window (see `LocalMean::bitmap`).
fn frame_window(w: usize, h: usize) -> usize {
    (w.min(h) / 16) | 1
}

/// How many times `read_region` enlarges a small code's region.
const ZOOM: usize = 2;

/// Reads a region of the frame enlarged `ZOOM` times (bilinear) with its own threshold:
/// small modules become big enough to threshold and sample, where at their own size a
/// blurred module is only a grey smudge; a region thresholded alone is not dragged by the
/// rest of the frame.
fn read_region(luma: &[u8], w: usize, h: usize, lo: Pt, hi: Pt, negative: bool) -> Vec<Code> {
    let zoom = ZOOM;
    let x0 = lo.x.max(0.0) as usize;
    let y0 = lo.y.max(0.0) as usize;
    let x1 = (hi.x.max(0.0) as usize).min(w - 1);
    let y1 = (hi.y.max(0.0) as usize).min(h - 1);
    if x1 <= x0 + 10 || y1 <= y0 + 10 {
        return Vec::new();
    }
    let (rw, rh) = ((x1 - x0) * zoom, (y1 - y0) * zoom);
    // Bilinear: each output pixel between two source pixels along either axis, weighed in
    // quarters (at a zoom of 1, 2 or 4 every weight is a whole number of quarters).
    let taps = |n: usize, start: usize, limit: usize| -> Vec<(usize, usize, u32)> {
        (0..n)
            .map(|i| {
                let f = start as f64 + (i as f64 + 0.5) / zoom as f64 - 0.5;
                let a = f.floor().max(0.0) as usize;
                (a, (a + 1).min(limit - 1), ((f - f.floor()) * 4.0).round() as u32)
            })
            .collect()
    };
    let (columns, rows) = (taps(rw, x0, w), taps(rh, y0, h));
    let mut big = Vec::with_capacity(rw * rh);
    for &(ya, yb, t) in &rows {
        let (above, below) = (&luma[ya * w..(ya + 1) * w], &luma[yb * w..(yb + 1) * w]);
        for &(xa, xb, s) in &columns {
            let mix = |row: &[u8]| u32::from(row[xa]) * (4 - s) + u32::from(row[xb]) * s;
            let v = ((mix(above) * (4 - t) + mix(below) * t) / 16) as u8;
            big.push(if negative { 255 - v } else { v });
        }
    }
    let window = (rw.min(rh) / 4) | 1;
    let bitmap = binarize::local_mean(&big, rw, rh, window);
    finder::read(&bitmap)
        .into_iter()
        .map(|f| Code {
            text: f.text,
            corners: f.corners.map(|p| Pt::new(x0 as f64 + p.x / zoom as f64, y0 as f64 + p.y / zoom as f64)),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A code drawn axis-aligned with `module` pixels a module, centred in the frame.
    fn drawn(text: &str, module: usize, width: usize, height: usize) -> Frame {
        let code = qrcode::QrCode::with_error_correction_level(text, qrcode::EcLevel::M).unwrap();
        let (n, colors) = (code.width(), code.to_colors());
        let side = (n + 8) * module;
        let (x0, y0) = ((width - side) / 2, (height - side) / 2);
        let mut luma = vec![120u8; width * height];
        for y in 0..side {
            for x in 0..side {
                let (mx, my) = ((x / module).wrapping_sub(4), (y / module).wrapping_sub(4));
                let dark = mx < n && my < n && colors[my * n + mx] == qrcode::Color::Dark;
                luma[(y0 + y) * width + x0 + x] = if dark { 25 } else { 225 };
            }
        }
        Frame { width: width as u32, height: height as u32, luma }
    }

    #[test]
    fn a_code_held_close_to_the_lens_reads() {
        // Finder centres far wider than the threshold window: flat inside, yet dark.
        let text = "HTTPS://MD.EX/P/7";
        for (module, w, h) in [(18, 1280, 720), (24, 1280, 720), (16, 640, 480)] {
            let codes = scan(&drawn(text, module, w, h), Steps::default());
            assert_eq!(
                codes.iter().map(|c| c.text.as_str()).collect::<Vec<_>>(),
                [text],
                "{module} px modules in {w}x{h}"
            );
        }
    }
}
