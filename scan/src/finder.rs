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

/// Every finder pattern in the bitmap, best seen first.
pub fn finders(b: &Bitmap) -> Vec<Finder> {
    let mut found: Vec<Finder> = Vec::new();
    let mut runs: Vec<(usize, u32)> = Vec::with_capacity(256);
    for y in 0..b.height {
        runs.clear();
        let row = &b.bits[y * b.width..(y + 1) * b.width];
        let mut start = 0;
        for x in 1..=row.len() {
            if x == row.len() || row[x] != row[start] {
                runs.push((start, (x - start) as u32));
                start = x;
            }
        }
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

/// Triples of finders that could be the corners of one code, most square first, as
/// (top-left, top-right, bottom-left) indices.
fn groups(f: &[Finder]) -> Vec<(usize, usize, usize)> {
    let n = f.len().min(16);
    let mut out: Vec<(f64, (usize, usize, usize))> = Vec::new();
    for i in 0..n {
        for j in i + 1..n {
            for k in j + 1..n {
                let ms = [f[i].module, f[j].module, f[k].module];
                let (lo, hi) = (ms.iter().cloned().fold(f64::MAX, f64::min), ms.iter().cloned().fold(0.0, f64::max));
                if hi > lo * 1.7 {
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
                if cos.abs() > 0.5 {
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

/// Majority of five samples around a module's centre: one speck of noise can't flip it.
fn sample(b: &Bitmap, h: &Homography, size: usize) -> ModuleGrid {
    let mut bits = Vec::with_capacity(size * size);
    for y in 0..size {
        for x in 0..size {
            let (u, v) = (x as f64 + 0.5, y as f64 + 0.5);
            let votes = [(0.0, 0.0), (-0.25, 0.0), (0.25, 0.0), (0.0, -0.25), (0.0, 0.25)]
                .iter()
                .filter(|(du, dv)| {
                    let p = h.map(u + du, v + dv);
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

/// How many of the 25 modules around `c` match an alignment pattern (dark centre,
/// light ring, dark ring), for module vectors `ex`, `ey`.
fn alignment_score(b: &Bitmap, c: Pt, ex: Pt, ey: Pt) -> i32 {
    let mut score = 0;
    for dv in -2i32..=2 {
        for du in -2i32..=2 {
            let want = du.abs().max(dv.abs()) != 1;
            let p = c.plus(ex.scale(f64::from(du))).plus(ey.scale(f64::from(dv)));
            score += i32::from(b.at(p.x, p.y) == want);
        }
    }
    score
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
    let reach: &[i32] = if widen { &[4, 8, 12] } else { &[4] };
    reach.iter().find_map(|&modules| {
        let mut coarse = (0, origin);
        for i in -2 * modules..=2 * modules {
            for j in -2 * modules..=2 * modules {
                let c = point(origin, i, j, 0.5);
                let score = alignment_score(b, c, ex, ey);
                if score > coarse.0 {
                    coarse = (score, c);
                }
            }
        }
        if coarse.0 < 21 {
            return None;
        }
        let (mut best, mut sum, mut n) = (0, Pt::new(0.0, 0.0), 0.0);
        for i in -4..=4 {
            for j in -4..=4 {
                let c = point(coarse.1, i, j, 0.25);
                let score = alignment_score(b, c, ex, ey);
                if score > best {
                    (best, sum, n) = (score, c, 1.0);
                } else if score == best {
                    sum = sum.plus(c);
                    n += 1.0;
                }
            }
        }
        (best >= 23).then(|| sum.scale(1.0 / n))
    })
}

fn decode_group(b: &Bitmap, tl: &Finder, tr: &Finder, bl: &Finder) -> Option<Found> {
    let mx = (tl.module + tr.module) / 2.0;
    let my = (tl.module + bl.module) / 2.0;
    let estimate = (tl.c.dist(tr.c) / mx + tl.c.dist(bl.c) / my) / 2.0 + 7.0;
    // Sizes are 21, 25, 29 ... 177 modules.
    let nearest = 21 + 4 * ((estimate - 21.0) / 4.0).round().max(0.0) as i64;
    // Each plausible size with its maps: the perspective one (from the bottom-right
    // alignment pattern) first, then the affine guess. Under strong tilt the affine map
    // drifts by half a module along the timing rows, so a size is judged by its best map.
    let mut sizes: Vec<(f64, usize, Vec<Homography>)> = Vec::new();
    for size in [nearest, nearest - 4, nearest + 4, nearest - 8, nearest + 8] {
        if !(21..=177).contains(&size) {
            continue;
        }
        let d = size as f64;
        let modules = [Pt::new(3.5, 3.5), Pt::new(d - 3.5, 3.5), Pt::new(3.5, d - 3.5)];
        let Some(affine) = Homography::affine(modules, [tl.c, tr.c, bl.c]) else { continue };
        let mut maps = Vec::with_capacity(2);
        if size >= 25 {
            let at = Pt::new(d - 6.5, d - 6.5);
            let modules = [modules[0], modules[1], modules[2], at];
            if let Some(found) = find_alignment(b, &affine, at, size == nearest)
                && let Some(h) = Homography::from_points(modules, [tl.c, tr.c, bl.c, found])
            {
                maps.push(h);
            }
        }
        maps.push(affine);
        let score = maps.iter().map(|h| timing_score(b, h, size as usize)).fold(0.0, f64::max);
        if score >= 0.7 {
            sizes.push((score, size as usize, maps));
        }
    }
    sizes.sort_by(|a, b| b.0.total_cmp(&a.0));
    for (_, size, maps) in sizes.into_iter().take(2) {
        let d = size as f64;
        for h in maps {
            let grid = rqrr::Grid::new(sample(b, &h, size));
            if let Ok((_, text)) = grid.decode() {
                let corners = [h.map(0.0, 0.0), h.map(d, 0.0), h.map(d, d), h.map(0.0, d)];
                return Some(Found { text, corners });
            }
        }
    }
    None
}

/// Where small codes may be: the bounding boxes (min, max corner) of the best-shaped
/// finder groups whose modules are under `max_module` pixels, with a quiet-zone margin.
pub fn small_code_regions(b: &Bitmap, max_module: f64) -> Vec<(Pt, Pt)> {
    let f = finders(b);
    groups(&f)
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

/// Every code our own finder can read in the bitmap.
pub fn read(b: &Bitmap) -> Vec<Found> {
    read_noting_unexplained(b).0
}

/// Is `p` inside the quadrilateral `q` (corners in order, either direction)?
fn inside(q: &[Pt; 4], p: Pt) -> bool {
    let sides: Vec<f64> = (0..4).map(|i| q[(i + 1) % 4].minus(q[i]).cross(p.minus(q[i]))).collect();
    sides.iter().all(|&s| s >= 0.0) || sides.iter().all(|&s| s <= 0.0)
}

/// `read`, and whether three finder patterns that no code read explains (neither one of
/// its finders nor inside it) are placed as a code's would be: the sign of a code this
/// bitmap could not resolve.
pub fn read_noting_unexplained(b: &Bitmap) -> (Vec<Found>, bool) {
    let f = finders(b);
    let mut used = vec![false; f.len()];
    let mut out: Vec<Found> = Vec::new();
    // The best-shaped groups come first; past these, a cluttered frame only costs time.
    const ATTEMPTS: usize = 12;
    let mut attempts = 0;
    for (tl, tr, bl) in groups(&f) {
        // Finders of a code already read are spent: with several codes in view, groups
        // mixing them with another code's finders must not use up the attempts.
        if used[tl] || used[tr] || used[bl] {
            continue;
        }
        if attempts == ATTEMPTS {
            break;
        }
        attempts += 1;
        if let Some(found) = decode_group(b, &f[tl], &f[tr], &f[bl]) {
            used[tl] = true;
            used[tr] = true;
            used[bl] = true;
            if !out.iter().any(|o| o.text == found.text) {
                out.push(found);
            }
        }
    }
    let loose: Vec<Finder> =
        (0..f.len()).filter(|&i| !used[i] && !out.iter().any(|o| inside(&o.corners, f[i].c))).map(|i| f[i]).collect();
    (out, !groups(&loose).is_empty())
}
