//! Finding QR codes in a bitmap: finder patterns, grouping three into a code, fitting a
//! perspective map (with the alignment pattern where there is one) and sampling modules.
//! `rqrr` then does what it does well: format, error correction and data.
//!
//! Why our own: rqrr pairs finder patterns only when the two legs of the code differ by
//! less than 25 % and rejects a group for good on the first bad sampling, so tilted codes
//! and small modules go unread even when all three finders were seen.

use super::binarize::Bitmap;
use super::geometry::{Homography, Pt};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Finder {
    pub c: Pt,
    pub module: f64,
    pub hits: u32,
}

/// A code read from the bitmap: its text and corners (clockwise from the top left).
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    pub text: String,
    pub corners: [Pt; 4],
}

/// How far a run may stray from its ideal length, as a share of one module. The diagonal
/// crosses the rings' corners, which blur and thresholding round off, so it gets more.
const TOLERANCE: f64 = 0.7;
const DIAGONAL_TOLERANCE: f64 = 1.0;

fn module_of(counts: &[u32; 5], tolerance: f64) -> Option<f64> {
    if counts.contains(&0) {
        return None;
    }
    let total: u32 = counts.iter().sum();
    if total < 7 {
        return None;
    }
    let m = f64::from(total) / 7.0;
    let var = m * tolerance;
    let ok = (f64::from(counts[0]) - m).abs() < var
        && (f64::from(counts[1]) - m).abs() < var
        && (f64::from(counts[2]) - 3.0 * m).abs() < 3.0 * var
        && (f64::from(counts[3]) - m).abs() < var
        && (f64::from(counts[4]) - m).abs() < var;
    ok.then_some(m)
}

/// Runs of dark-light-dark-light-dark through `(x, y)` along a direction, centred on the
/// dark run containing the point: the centre along that direction and the module size.
fn cross_check(b: &Bitmap, x: f64, y: f64, dx: isize, dy: isize, max: u32) -> Option<(f64, f64)> {
    let (w, h) = (b.width as isize, b.height as isize);
    let (x0, y0) = (x as isize, y as isize);
    if !(0..w).contains(&x0) || !(0..h).contains(&y0) || !b.get(x0 as usize, y0 as usize) {
        return None;
    }
    let dark = |i: isize| {
        let (px, py) = (x0 + i * dx, y0 + i * dy);
        if (0..w).contains(&px) && (0..h).contains(&py) { Some(b.get(px as usize, py as usize)) } else { None }
    };
    let mut counts = [0u32; 5];
    // Backwards: centre run, then light, then dark.
    let mut i = 0isize;
    for (slot, want) in [(2usize, true), (1, false), (0, true)] {
        while dark(i) == Some(want) && counts[slot] <= max {
            counts[slot] += 1;
            i -= 1;
        }
        dark(i)?;
        if slot == 0 {
            break;
        }
    }
    let back = counts[2];
    let mut i = 1isize;
    for (slot, want) in [(2usize, true), (3, false), (4, true)] {
        while dark(i) == Some(want) && counts[slot] <= max {
            counts[slot] += 1;
            i += 1;
        }
        if slot != 4 {
            dark(i)?;
        }
    }
    let m = module_of(&counts, if dx != 0 && dy != 0 { DIAGONAL_TOLERANCE } else { TOLERANCE })?;
    // Centre: middle of the centre run, measured from the starting pixel.
    let offset = (f64::from(counts[2]) / 2.0) - f64::from(back);
    let along = if dx != 0 { x0 as f64 + offset * dx as f64 + 1.0 } else { y0 as f64 + offset * dy as f64 + 1.0 };
    Some((along, m))
}

/// The row's runs of equal pixels as (start, length), first to last. Most of a frame is
/// long runs, so pixels are compared with their right-hand neighbours eight at a time and a
/// stretch without an edge costs one comparison (a pixel-by-pixel loop was most of the
/// finder's time on an empty scene).
fn runs_of(row: &[bool], runs: &mut Vec<(usize, u32)>) {
    runs.clear();
    if row.is_empty() {
        return;
    }
    let word = |at: usize| u64::from_le_bytes(std::array::from_fn(|i| u8::from(row[at + i])));
    let mut start = 0;
    let mut x = 0;
    // Edges between x + i and x + i + 1, eight at a time while nine pixels remain.
    while x + 9 <= row.len() {
        let mut edges = word(x) ^ word(x + 1);
        while edges != 0 {
            let at = x + (edges.trailing_zeros() / 8) as usize + 1;
            runs.push((start, (at - start) as u32));
            start = at;
            edges &= edges - 1;
        }
        x += 8;
    }
    for at in x + 1..row.len() {
        if row[at] != row[at - 1] {
            runs.push((start, (at - start) as u32));
            start = at;
        }
    }
    runs.push((start, (row.len() - start) as u32));
}

/// Every finder pattern in the bitmap, best seen first.
pub fn finders(b: &Bitmap) -> Vec<Finder> {
    let mut found: Vec<Finder> = Vec::new();
    let mut runs: Vec<(usize, u32)> = Vec::with_capacity(256);
    for y in 0..b.height {
        let row = &b.bits[y * b.width..(y + 1) * b.width];
        runs_of(row, &mut runs);
        let first_dark = usize::from(!row[0]);
        for i in (first_dark..runs.len().saturating_sub(4)).step_by(2) {
            let counts = [runs[i].1, runs[i + 1].1, runs[i + 2].1, runs[i + 3].1, runs[i + 4].1];
            let Some(m) = module_of(&counts, TOLERANCE) else { continue };
            let cx = runs[i + 2].0 as f64 + f64::from(runs[i + 2].1) / 2.0;
            let max = (m * 5.0) as u32 + 2;
            let Some((cy, mv)) = cross_check(b, cx, y as f64, 0, 1, max) else { continue };
            let Some((cx, mh)) = cross_check(b, cx, cy, 1, 0, max) else { continue };
            // The diagonal rules out most text and textures that pass one row and column.
            if cross_check(b, cx, cy, 1, 1, max).is_none() {
                continue;
            }
            let module = (m + mv + mh) / 3.0;
            let c = Pt::new(cx, cy);
            match found.iter_mut().find(|f| f.c.dist(c) < f.module.max(module) * 2.0) {
                Some(f) => {
                    let n = f64::from(f.hits);
                    f.c = f.c.scale(n / (n + 1.0)).plus(c.scale(1.0 / (n + 1.0)));
                    f.module = (f.module * n + module) / (n + 1.0);
                    f.hits += 1;
                }
                None => found.push(Finder { c, module, hits: 1 }),
            }
        }
    }
    found.sort_by_key(|f| std::cmp::Reverse(f.hits));
    found
}

/// Triples among the `among` most-seen finders that could be the corners of one code, most
/// square first, as (top-left, top-right, bottom-left) indices.
fn groups(f: &[Finder], among: usize) -> Vec<(usize, usize, usize)> {
    let n = f.len().min(among);
    let mut out: Vec<(f64, (usize, usize, usize))> = Vec::new();
    for i in 0..n {
        for j in i + 1..n {
            for k in j + 1..n {
                let ms = [f[i].module, f[j].module, f[k].module];
                let (lo, hi) = (ms.iter().cloned().fold(f64::MAX, f64::min), ms.iter().cloned().fold(0.0, f64::max));
                if hi > lo * MAX_MODULE_RATIO {
                    continue;
                }
                // The corner is opposite the longest side.
                let (dij, dik, djk) = (f[i].c.dist(f[j].c), f[i].c.dist(f[k].c), f[j].c.dist(f[k].c));
                let (corner, a, b) = if djk >= dij && djk >= dik {
                    (i, j, k)
                } else if dik >= dij {
                    (j, i, k)
                } else {
                    (k, i, j)
                };
                let (va, vb) = (f[a].c.minus(f[corner].c), f[b].c.minus(f[corner].c));
                let (la, lb) = (va.dist(Pt::new(0.0, 0.0)), vb.dist(Pt::new(0.0, 0.0)));
                let m = (ms[0] + ms[1] + ms[2]) / 3.0;
                if la.min(lb) < 12.0 * m || la.max(lb) > 2.0 * la.min(lb) || la.max(lb) / m > 200.0 {
                    continue;
                }
                let cos = va.dot(vb) / (la * lb);
                if cos.abs() > MAX_CORNER_COS {
                    continue;
                }
                let score = (la - lb).abs() / la.max(lb) + cos.abs();
                // Top-right is the one clockwise from the corner (y grows downwards).
                let (tr, bl) = if va.cross(vb) > 0.0 { (a, b) } else { (b, a) };
                out.push((score, (corner, tr, bl)));
            }
        }
    }
    out.sort_by(|a, b| a.0.total_cmp(&b.0));
    out.into_iter().map(|(_, g)| g).collect()
}

struct ModuleGrid {
    size: usize,
    bits: Vec<bool>,
}

impl rqrr::BitGrid for ModuleGrid {
    fn size(&self) -> usize {
        self.size
    }
    fn bit(&self, y: usize, x: usize) -> bool {
        self.bits[y * self.size + x]
    }
}

/// Where a code of `size` modules has the centres of its alignment patterns, along either
/// axis (module index): 6, then evenly to `size - 7` (ISO/IEC 18004, annex E).
fn alignment_positions(size: usize) -> Vec<usize> {
    let version = (size - 17) / 4;
    if version < 2 {
        return Vec::new();
    }
    let count = version / 7 + 2;
    let step = if version == 32 { 26 } else { (version * 4 + count * 2 + 1) / (count * 2 - 2) * 2 };
    let last = size - 7;
    let mut at: Vec<usize> = (0..count - 1).map(|i| last - i * step).collect();
    at.push(6);
    at.reverse();
    at
}

/// A map from module to frame coordinates made of one homography per cell between
/// neighbouring alignment patterns, each found near where the whole-code map puts it. A
/// code bent round a pendant or photographed through a wide lens is not one plane to the
/// camera, and over 80 modules or more a single map drifts by more than a module.
struct LocalMap {
    /// Alignment-grid lines along either axis (module coordinates of pattern centres).
    lines: Vec<f64>,
    /// One map per cell, row-major.
    cells: Vec<Homography>,
}

impl LocalMap {
    /// `None` when the code has no grid of alignment patterns (versions 1 to 6) or too few
    /// of them were found to be worth it.
    fn fit(b: &Bitmap, h: &Homography, size: usize) -> Option<LocalMap> {
        let at = alignment_positions(size);
        if at.len() < 3 {
            return None;
        }
        let n = at.len();
        let lines: Vec<f64> = at.iter().map(|&p| p as f64 + 0.5).collect();
        let mut points = vec![Pt::new(0.0, 0.0); n * n];
        let mut found = 0;
        for j in 0..n {
            for i in 0..n {
                let (u, v) = (lines[i], lines[j]);
                let predicted = h.map(u, v);
                // The three corners that are finder patterns have no alignment pattern.
                let finder_corner = (i == 0 && (j == 0 || j == n - 1)) || (i == n - 1 && j == 0);
                // Start from where the neighbours found so far say it is.
                let mut shift = Pt::new(0.0, 0.0);
                let mut k = 0.0;
                for (di, dj) in [(1usize, 0usize), (0, 1)] {
                    if i >= di && j >= dj {
                        let (pi, pj) = (i - di, j - dj);
                        shift = shift.plus(points[pj * n + pi].minus(h.map(lines[pi], lines[pj])));
                        k += 1.0;
                    }
                }
                let guess = if k > 0.0 { predicted.plus(shift.scale(1.0 / k)) } else { predicted };
                points[j * n + i] = guess;
                if finder_corner {
                    continue;
                }
                let ex = h.map(u + 1.0, v).minus(predicted);
                let ey = h.map(u, v + 1.0).minus(predicted);
                if let Some(p) = best_alignment_near(b, guess, ex, ey, &AlignmentPattern::new(ex, ey), 8) {
                    points[j * n + i] = p;
                    found += 1;
                }
            }
        }
        if found * 2 < n * n - 3 {
            return None;
        }
        let mut cells = Vec::with_capacity((n - 1) * (n - 1));
        for j in 0..n - 1 {
            for i in 0..n - 1 {
                let from = [
                    Pt::new(lines[i], lines[j]),
                    Pt::new(lines[i + 1], lines[j]),
                    Pt::new(lines[i], lines[j + 1]),
                    Pt::new(lines[i + 1], lines[j + 1]),
                ];
                let to =
                    [points[j * n + i], points[j * n + i + 1], points[(j + 1) * n + i], points[(j + 1) * n + i + 1]];
                cells.push(Homography::from_points(from, to)?);
            }
        }
        Some(LocalMap { lines, cells })
    }

    fn map(&self, u: f64, v: f64) -> Pt {
        let n = self.lines.len() - 1;
        // The cell containing the point; the edges beyond the outer lines use the outer cells.
        let cell = |t: f64| self.lines[1..n].iter().take_while(|&&l| t >= l).count();
        self.cells[cell(v) * n + cell(u)].map(u, v)
    }
}

/// Majority of five samples around a module's centre: one speck of noise can't flip it.
fn sample(b: &Bitmap, h: &Homography, size: usize) -> ModuleGrid {
    sample_with(b, |u, v| h.map(u, v), size)
}

fn sample_with(b: &Bitmap, map: impl Fn(f64, f64) -> Pt, size: usize) -> ModuleGrid {
    let mut bits = Vec::with_capacity(size * size);
    for y in 0..size {
        for x in 0..size {
            let (u, v) = (x as f64 + 0.5, y as f64 + 0.5);
            let votes = [(0.0, 0.0), (-0.25, 0.0), (0.25, 0.0), (0.0, -0.25), (0.0, 0.25)]
                .iter()
                .filter(|(du, dv)| {
                    let p = map(u + du, v + dv);
                    b.at(p.x, p.y)
                })
                .count();
            bits.push(votes >= 3);
        }
    }
    ModuleGrid { size, bits }
}

/// How well row 6 and column 6 alternate dark-light between the finders, as they must
/// in every code: a cheap check that the size and map are right before decoding.
fn timing_score(b: &Bitmap, h: &Homography, size: usize) -> f64 {
    let (mut good, mut n) = (0, 0);
    for i in 8..size - 8 {
        let want = i % 2 == 0;
        let (p, q) = (h.map(i as f64 + 0.5, 6.5), h.map(6.5, i as f64 + 0.5));
        good += usize::from(b.at(p.x, p.y) == want) + usize::from(b.at(q.x, q.y) == want);
        n += 2;
    }
    good as f64 / n as f64
}

// Centre first, then the light ring, then the dark one: garbage fails soonest.
const ORDER: [(i32, i32); 25] = [
    (0, 0),
    (-1, -1),
    (0, -1),
    (1, -1),
    (-1, 0),
    (1, 0),
    (-1, 1),
    (0, 1),
    (1, 1),
    (-2, -2),
    (-1, -2),
    (0, -2),
    (1, -2),
    (2, -2),
    (-2, -1),
    (2, -1),
    (-2, 0),
    (2, 0),
    (-2, 1),
    (2, 1),
    (-2, 2),
    (-1, 2),
    (0, 2),
    (1, 2),
    (2, 2),
];

/// How many of the 25 modules around `c` match an alignment pattern (dark centre,
/// light ring, dark ring), for module vectors `ex`, `ey`; 0 as soon as it is clear the count
/// cannot reach `at_least`. Every search keeps only scores past a bar, so stopping at the
/// fifth wrong module of most look-alikes changes no result and saves most of the samples.
fn alignment_score(b: &Bitmap, c: Pt, pattern: &AlignmentPattern, at_least: i32) -> i32 {
    let allowed = 25 - at_least;
    let mut wrong = 0;
    for (offset, want) in &pattern.0 {
        let p = c.plus(*offset);
        if b.at(p.x, p.y) != *want {
            wrong += 1;
            if wrong > allowed {
                return 0;
            }
        }
    }
    25 - wrong
}

/// An alignment pattern's 25 module centres relative to its own, in the frame, each with
/// whether it is dark, in the order `alignment_score` samples them. Worked out once per
/// search: a search scores hundreds of positions, and each used to scale both module
/// vectors for every sample.
struct AlignmentPattern([(Pt, bool); 25]);

impl AlignmentPattern {
    fn new(ex: Pt, ey: Pt) -> AlignmentPattern {
        AlignmentPattern(
            ORDER.map(|(du, dv)| (ex.scale(f64::from(du)).plus(ey.scale(f64::from(dv))), du.abs().max(dv.abs()) != 1)),
        )
    }
}

/// The bottom-right alignment pattern near where the affine guess puts it: a coarse
/// search, then the centroid of the best quarter-module positions around the best. The
/// search widens (4, 8, then 12 modules) only while nothing is found, because a steep tilt
/// moves the pattern far from the affine guess, and a wide search finds look-alikes in data.
fn find_alignment(b: &Bitmap, affine: &Homography, at: Pt, widen: bool) -> Option<Pt> {
    let origin = affine.map(at.x, at.y);
    let ex = affine.map(at.x + 1.0, at.y).minus(origin);
    let ey = affine.map(at.x, at.y + 1.0).minus(origin);
    let point =
        |c: Pt, i: i32, j: i32, step: f64| c.plus(ex.scale(f64::from(i) * step)).plus(ey.scale(f64::from(j) * step));
    let pattern = AlignmentPattern::new(ex, ey);
    let reach: &[i32] = if widen { &[4, 8, 12] } else { &[4] };
    reach.iter().find_map(|&modules| {
        let mut coarse = (0, origin);
        for i in -2 * modules..=2 * modules {
            for j in -2 * modules..=2 * modules {
                let c = point(origin, i, j, 0.5);
                // Only a better score than the best so far, and at least 21, changes anything.
                let score = alignment_score(b, c, &pattern, (coarse.0 + 1).max(21));
                if score > coarse.0 {
                    coarse = (score, c);
                }
            }
        }
        if coarse.0 < 21 {
            return None;
        }
        best_alignment_near(b, coarse.1, ex, ey, &pattern, 4)
    })
}

/// The centroid of the best-scoring positions a quarter module apart within `quarters`
/// quarter modules of `around`, if the best matches at least 23 of 25 modules.
fn best_alignment_near(
    b: &Bitmap,
    around: Pt,
    ex: Pt,
    ey: Pt,
    pattern: &AlignmentPattern,
    quarters: i32,
) -> Option<Pt> {
    let (mut best, mut sum, mut n) = (0, Pt::new(0.0, 0.0), 0.0);
    for i in -quarters..=quarters {
        for j in -quarters..=quarters {
            let c = around.plus(ex.scale(f64::from(i) * 0.25)).plus(ey.scale(f64::from(j) * 0.25));
            // Ties with the best count, so a score equal to it is needed exactly.
            let score = alignment_score(b, c, pattern, best.max(23));
            if score > best {
                (best, sum, n) = (score, c, 1.0);
            } else if score == best {
                sum = sum.plus(c);
                n += 1.0;
            }
        }
    }
    (best >= 23).then(|| sum.scale(1.0 / n))
}

/// A finder's module size measured along the code's own axis towards `to`: from the centre
/// outwards both ways through dark, light and dark, seven modules in all. Runs along the
/// frame's rows and columns cross a finder turned by 45 degrees on its diagonal, 1.4 times
/// too long, and a code of 117 modules then looks like one of 77.
fn module_along(b: &Bitmap, f: &Finder, to: Pt) -> Option<f64> {
    let d = to.minus(f.c);
    let len = d.dist(Pt::new(0.0, 0.0));
    if len < 1.0 {
        return None;
    }
    let step = d.scale(0.5 / len);
    let limit = (f.module * 12.0) as usize;
    let mut total = 0.0;
    for sign in [1.0, -1.0] {
        let (mut i, mut seen) = (0usize, 0);
        let mut want = true;
        loop {
            let p = f.c.plus(step.scale(sign * i as f64));
            if b.at(p.x, p.y) != want {
                seen += 1;
                want = !want;
                if seen == 3 {
                    break;
                }
            }
            i += 1;
            if i > limit {
                return None;
            }
        }
        total += i as f64 * 0.5;
    }
    Some(total / 7.0)
}

/// The outer corners of a finder's dark ring, in the order -u-v, +u-v, +u+v, -u+v for the
/// code's axis directions `u`, `v` (unit vectors): the ring is one connected dark region,
/// the separator around it being light, and its corners are its extreme pixels along the
/// diagonals. `None` when the ring is not found or runs into the data (blur, small modules).
fn ring_corners(b: &Bitmap, f: &Finder, u: Pt, v: Pt) -> Option<[Pt; 4]> {
    // From the centre along u: the dark centre, the light ring, then the dark one.
    let mut start = None;
    let mut light_seen = false;
    for i in 0..(f.module * 12.0) as usize {
        let q = f.c.plus(u.scale(i as f64 * 0.5));
        match (b.at(q.x, q.y), light_seen) {
            (false, _) => light_seen = true,
            (true, true) => {
                start = Some(q);
                break;
            }
            (true, false) => {}
        }
    }
    let start = start?;
    // Flood fill within a box of 6 modules around the centre: a fill that reaches its edge
    // has leaked into the data.
    let reach = (f.module * 6.0).ceil() as isize;
    let (cx, cy) = (f.c.x as isize, f.c.y as isize);
    let side = (2 * reach + 1) as usize;
    let mut seen = vec![false; side * side];
    let index = |x: isize, y: isize| -> Option<usize> {
        let (dx, dy) = (x - cx + reach, y - cy + reach);
        ((0..side as isize).contains(&dx) && (0..side as isize).contains(&dy)).then(|| dy as usize * side + dx as usize)
    };
    let mut stack = vec![(start.x as isize, start.y as isize)];
    let mut best = [(f64::MIN, f.c); 4];
    while let Some((x, y)) = stack.pop() {
        let i = index(x, y)?;
        if seen[i] || x < 0 || y < 0 || !b.get(x as usize, y as usize) {
            continue;
        }
        seen[i] = true;
        let p = Pt::new(x as f64 + 0.5, y as f64 + 0.5);
        let d = p.minus(f.c);
        let (a, c) = (d.dot(u), d.dot(v));
        for (slot, score) in best.iter_mut().zip([-a - c, a - c, a + c, -a + c]) {
            if score > slot.0 {
                *slot = (score, p);
            }
        }
        if (x as usize) + 1 < b.width {
            stack.push((x + 1, y));
        }
        if (y as usize) + 1 < b.height {
            stack.push((x, y + 1));
        }
        stack.push((x - 1, y));
        stack.push((x, y - 1));
    }
    // A ring is about 24 square modules; far less is a speck, not a ring.
    let area = seen.iter().filter(|s| **s).count() as f64;
    (area > 12.0 * f.module * f.module).then(|| best.map(|(_, p)| p))
}

/// The text of a sampled grid, if it decodes to any. A grid sampled from a blank patch of a
/// cluttered scene can pass error correction as a code holding nothing (seen once in 462
/// generated frames); no tag carries an empty text, so that is never a read.
fn text_of(grid: &rqrr::Grid<ModuleGrid>) -> Option<String> {
    grid.decode().ok().map(|(_, text)| text).filter(|t| !t.is_empty())
}

fn decode_group(b: &Bitmap, tl: &Finder, tr: &Finder, bl: &Finder, wide: bool) -> Option<Found> {
    let along = |f: &Finder, to: &Finder, fallback: f64| module_along(b, f, to.c).unwrap_or(fallback);
    let mx = (along(tl, tr, tl.module) + along(tr, tl, tr.module)) / 2.0;
    let my = (along(tl, bl, tl.module) + along(bl, tl, bl.module)) / 2.0;
    // Sizes are 21, 25, 29 ... 177 modules.
    let nearest_for = |mx: f64, my: f64| {
        let estimate = (tl.c.dist(tr.c) / mx + tl.c.dist(bl.c) / my) / 2.0 + 7.0;
        21 + 4 * ((estimate - 21.0) / 4.0).round().max(0.0) as i64
    };
    let nearest = nearest_for(mx, my);
    // The module from rows and columns as a second guess: under strong perspective the
    // finders' own runs can be the better measure.
    let by_rows = nearest_for((tl.module + tr.module) / 2.0, (tl.module + bl.module) / 2.0);
    let mut candidates = vec![nearest, nearest - 4, nearest + 4, nearest - 8, nearest + 8];
    if !candidates.contains(&by_rows) {
        candidates.push(by_rows);
    }
    // Each plausible size with its maps: the perspective one (from the bottom-right
    // alignment pattern) first, then the affine guess. Under strong tilt the affine map
    // drifts by half a module along the timing rows, so a size is judged by its best map.
    let mut sizes: Vec<(f64, usize, Vec<Homography>)> = Vec::new();
    // The finders' own outer corners: twelve points whose spacing carries the perspective
    // that three centres cannot (a code seen at a slant has bigger modules on its near side).
    let unit = |d: Pt| d.scale(1.0 / d.dist(Pt::new(0.0, 0.0)).max(1e-9));
    let (u, v) = (unit(tr.c.minus(tl.c)), unit(bl.c.minus(tl.c)));
    let rings = [ring_corners(b, tl, u, v), ring_corners(b, tr, u, v), ring_corners(b, bl, u, v)];
    for size in candidates {
        if !(21..=177).contains(&size) {
            continue;
        }
        let d = size as f64;
        let modules = [Pt::new(3.5, 3.5), Pt::new(d - 3.5, 3.5), Pt::new(3.5, d - 3.5)];
        let Some(affine) = Homography::affine(modules, [tl.c, tr.c, bl.c]) else { continue };
        // Module and frame points for a least-squares map: centres, and ring corners found.
        let (mut from, mut to) = (modules.to_vec(), vec![tl.c, tr.c, bl.c]);
        for (ring, (x0, y0)) in rings.iter().zip([(0.0, 0.0), (d - 7.0, 0.0), (0.0, d - 7.0)]) {
            if let Some(corners) = ring {
                let square = [(x0, y0), (x0 + 7.0, y0), (x0 + 7.0, y0 + 7.0), (x0, y0 + 7.0)];
                from.extend(square.map(|(x, y)| Pt::new(x, y)));
                to.extend(corners);
            }
        }
        let perspective = if from.len() >= 11 { Homography::fit(&from, &to) } else { None };
        let base = perspective.unwrap_or(affine);
        let mut maps = Vec::with_capacity(3);
        if size >= 25 {
            let at = Pt::new(d - 6.5, d - 6.5);
            let modules = [modules[0], modules[1], modules[2], at];
            // The wide search is for a code whose timing rows already show: three look-alikes
            // in clutter rarely have them, and searching 12 modules round each was most of an
            // empty scene's time.
            let timed_well = || timing_score(b, &base, size as usize) >= WIDEN_TIMING;
            let widen = wide && (size == nearest || size == by_rows) && timed_well();
            if let Some(found) = find_alignment(b, &base, at, widen)
                && let Some(h) = Homography::from_points(modules, [tl.c, tr.c, bl.c, found])
            {
                maps.push(h);
            }
        }
        maps.extend(perspective);
        maps.push(affine);
        let score = maps.iter().map(|h| timing_score(b, h, size as usize)).fold(0.0, f64::max);
        if score >= 0.7 {
            sizes.push((score, size as usize, maps));
        }
    }
    sizes.sort_by(|a, b| b.0.total_cmp(&a.0));
    for (_, size, maps) in sizes.into_iter().take(2) {
        let d = size as f64;
        for h in &maps {
            let grid = rqrr::Grid::new(sample(b, h, size));
            if let Some(text) = text_of(&grid) {
                let corners = [h.map(0.0, 0.0), h.map(d, 0.0), h.map(d, d), h.map(0.0, d)];
                return Some(Found { text, corners });
            }
        }
        // Versions 7 and up: a map a cell between alignment patterns, from the best map.
        if let Some(local) = LocalMap::fit(b, &maps[0], size) {
            let grid = rqrr::Grid::new(sample_with(b, |u, v| local.map(u, v), size));
            if let Some(text) = text_of(&grid) {
                let corners = [local.map(0.0, 0.0), local.map(d, 0.0), local.map(d, d), local.map(0.0, d)];
                return Some(Found { text, corners });
            }
        }
    }
    None
}

/// Where codes may be that no read explains, among the finders found in a bitmap: the
/// bounding boxes (min, max corner) of the three best-shaped groups of finders seen on at
/// least `min_hits` rows whose modules are under `max_module` pixels, with a quiet-zone
/// margin.
pub fn regions_among(f: &[Finder], max_module: f64, min_hits: u32) -> Vec<(Pt, Pt)> {
    let f: Vec<Finder> = f.iter().filter(|f| f.hits >= min_hits).copied().collect();
    groups(&f, 16)
        .into_iter()
        .filter(|&(a, c, d)| f[a].module.max(f[c].module).max(f[d].module) < max_module)
        .take(3)
        .map(|(a, c, d)| {
            let pts = [f[a].c, f[c].c, f[d].c];
            // The far corner, from the other three, and room for the finders' own size.
            let far = pts[1].plus(pts[2]).minus(pts[0]);
            let margin = f[a].module * 8.0;
            let xs = pts.iter().chain([&far]).map(|p| p.x);
            let ys = pts.iter().chain([&far]).map(|p| p.y);
            let lo =
                Pt::new(xs.clone().fold(f64::MAX, f64::min) - margin, ys.clone().fold(f64::MAX, f64::min) - margin);
            let hi = Pt::new(xs.fold(f64::MIN, f64::max) + margin, ys.fold(f64::MIN, f64::max) + margin);
            (lo, hi)
        })
        .collect()
}

/// Finder patterns seen on fewer rows are mostly text and texture: a real one's centre is
/// three modules tall, and even a 1.6-pixel module gives it four rows.
pub const MIN_HITS: u32 = 2;
/// A code's three finders may differ this much in module size: a tag at a slant has its
/// near finder's modules up to twice its far ones' (wider groups cost reads to look-alikes).
const MAX_MODULE_RATIO: f64 = 2.0;
/// ... and its corner angle may close to about 45 degrees (cosine 0.7) under perspective.
const MAX_CORNER_COS: f64 = 0.7;

/// Groups past the first few are almost never a code: of the groups that decoded on the
/// generated frames and the photographed tuning part, 694 of 704 were among the first three
/// tried. Widening the alignment search for each was most of the time an empty, cluttered
/// scene took.
const WIDE_ATTEMPTS: usize = 3;

/// The timing score a group's first map needs before its alignment pattern is looked for
/// far from where that map puts it.
const WIDEN_TIMING: f64 = 0.6;

/// Every code our own finder can read in the bitmap.
pub fn read(b: &Bitmap) -> Vec<Found> {
    read_among(b, &finders(b)).0
}

/// Is `p` inside the quadrilateral `q` (corners in order, either direction)?
pub fn inside(q: &[Pt; 4], p: Pt) -> bool {
    let sides: Vec<f64> = (0..4).map(|i| q[(i + 1) % 4].minus(q[i]).cross(p.minus(q[i]))).collect();
    sides.iter().all(|&s| s >= 0.0) || sides.iter().all(|&s| s <= 0.0)
}

/// Every code our own finder can read among the bitmap's finders (`finders`), and the
/// finder patterns seen on `MIN_HITS` rows that no code read explains (neither one of its
/// finders nor inside it): three of them placed as a code's would be are the sign of a code
/// this bitmap could not resolve.
pub fn read_among(b: &Bitmap, f: &[Finder]) -> (Vec<Found>, Vec<Finder>) {
    let mut used = vec![false; f.len()];
    let mut out: Vec<Found> = Vec::new();
    // The best-shaped groups come first; past these, a cluttered frame only costs time.
    const ATTEMPTS: usize = 12;
    let mut attempts = 0;
    // A big code's data holds many look-alikes, seen more often than its own finders.
    let seen_enough = f.iter().take_while(|f| f.hits >= MIN_HITS).count();
    for (tl, tr, bl) in groups(&f[..seen_enough], 40) {
        // Finders of a code already read are spent: with several codes in view, groups
        // mixing them with another code's finders must not use up the attempts.
        if used[tl] || used[tr] || used[bl] {
            continue;
        }
        if attempts == ATTEMPTS {
            break;
        }
        attempts += 1;
        if let Some(found) = decode_group(b, &f[tl], &f[tr], &f[bl], attempts <= WIDE_ATTEMPTS) {
            used[tl] = true;
            used[tr] = true;
            used[bl] = true;
            if !out.iter().any(|o| o.text == found.text) {
                out.push(found);
            }
        }
    }
    let loose: Vec<Finder> = (0..seen_enough)
        .filter(|&i| !used[i] && !out.iter().any(|o| inside(&o.corners, f[i].c)))
        .map(|i| f[i])
        .collect();
    (out, loose)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_s_runs_are_found_eight_pixels_at_a_time_as_one_by_one() {
        // The plain loop the fast one replaced, as the reference.
        fn plain(row: &[bool]) -> Vec<(usize, u32)> {
            let mut runs = Vec::new();
            let mut start = 0;
            for x in 1..=row.len() {
                if x == row.len() || row[x] != row[start] {
                    runs.push((start, (x - start) as u32));
                    start = x;
                }
            }
            runs
        }
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut runs = Vec::new();
        for len in (0..40).chain([63, 64, 65, 640, 1280]) {
            for density in [2u64, 5, 50] {
                let row: Vec<bool> = (0..len)
                    .scan(false, |dark, _| {
                        seed ^= seed << 13;
                        seed ^= seed >> 7;
                        seed ^= seed << 17;
                        if seed.is_multiple_of(density) {
                            *dark = !*dark;
                        }
                        Some(*dark)
                    })
                    .collect();
                runs_of(&row, &mut runs);
                if len == 0 {
                    assert!(runs.is_empty());
                } else {
                    assert_eq!(runs, plain(&row), "{len} pixels, an edge in {density}");
                }
            }
        }
    }

    #[test]
    fn alignment_patterns_sit_where_the_standard_puts_them() {
        // ISO/IEC 18004 annex E, versions 1, 2, 7, 15, 32 and 36.
        assert_eq!(alignment_positions(21), Vec::<usize>::new());
        assert_eq!(alignment_positions(25), [6, 18]);
        assert_eq!(alignment_positions(45), [6, 22, 38]);
        assert_eq!(alignment_positions(77), [6, 26, 48, 70]);
        assert_eq!(alignment_positions(145), [6, 34, 60, 86, 112, 138]);
        assert_eq!(alignment_positions(161), [6, 24, 50, 76, 102, 128, 154]);
    }

    #[test]
    fn a_turned_finders_ring_gives_its_four_outer_corners_in_the_codes_order() {
        // A finder of 6 px modules turned 30 degrees, drawn by testing each pixel's centre
        // against the pattern in module space.
        let (turn, module, centre) = (30f64.to_radians(), 6.0, Pt::new(60.0, 60.0));
        let (u, v) = (Pt::new(turn.cos(), turn.sin()), Pt::new(-turn.sin(), turn.cos()));
        let mut bits = vec![false; 120 * 120];
        for (i, bit) in bits.iter_mut().enumerate() {
            let d = Pt::new((i % 120) as f64 + 0.5, (i / 120) as f64 + 0.5).minus(centre);
            let (mu, mv) = (d.dot(u) / module, d.dot(v) / module);
            let ring = mu.abs().max(mv.abs());
            *bit = ring < 1.5 || (2.5..3.5).contains(&ring);
        }
        let b = Bitmap { width: 120, height: 120, bits };
        let f = Finder { c: centre, module, hits: 5 };
        let corners = ring_corners(&b, &f, u, v).expect("the ring");
        let want = [(-3.5, -3.5), (3.5, -3.5), (3.5, 3.5), (-3.5, 3.5)]
            .map(|(a, c)| centre.plus(u.scale(a * module)).plus(v.scale(c * module)));
        for (got, want) in corners.iter().zip(want) {
            assert!(got.dist(want) < 1.5, "{got:?} is not near {want:?}");
        }
        // With the ring broken into the data around it, there is no ring to trust.
        let mut leaky = b.clone();
        for x in 0..120 {
            leaky.bits[60 * 120 + x] = true;
        }
        assert!(ring_corners(&leaky, &f, u, v).is_none());
    }
}
