//! Grey to black-and-white, by comparing each pixel with the mean of its neighbourhood.
//!
//! A global threshold fails at a stall: sunlight on half the tag, a shadow from the
//! customer's hand, glare off a glossy sticker. The local mean follows all of those.
//! Where a window has almost no contrast (a white wall, a blown-out glare patch) every
//! pixel is called light, so flat noise never turns into speckle that looks like modules.

/// One bit a pixel, `true` = dark (or, for an inverted bitmap, light), row-major.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bitmap {
    pub width: usize,
    pub height: usize,
    pub bits: Vec<bool>,
}

impl Bitmap {
    #[inline]
    pub fn get(&self, x: usize, y: usize) -> bool {
        self.bits[y * self.width + x]
    }

    /// The pixel nearest to a real-valued point; outside the image counts as light.
    #[inline]
    pub fn at(&self, x: f64, y: f64) -> bool {
        if x < 0.0 || y < 0.0 {
            return false;
        }
        let (xi, yi) = (x as usize, y as usize);
        xi < self.width && yi < self.height && self.bits[yi * self.width + xi]
    }

    pub fn inverted(&self) -> Bitmap {
        Bitmap { width: self.width, height: self.height, bits: self.bits.iter().map(|b| !b).collect() }
    }
}

/// Local-mean threshold over a square window of about `window` pixels.
pub fn local_mean(luma: &[u8], width: usize, height: usize, window: usize) -> Bitmap {
    LocalMean::new(luma, width, height, window).bitmap(luma, false)
}

/// A frame's local thresholds, both polarities: decided once a block of `BLOCK` x `BLOCK`
/// pixels from the window around the block's centre, then compared pixel by pixel. The
/// windows are 15 pixels and wider, so moving one by a pixel or two changes its mean by
/// little, and deciding per block takes the window sums out of the per-pixel loop (a
/// sixteenth of the work, which was a third of a frame's time).
pub struct LocalMean {
    /// Per block: a pixel darker than `.0` is dark; one lighter than `.1` is dark in the
    /// negative (light-on-dark). A flat block has (0, 255): nothing is either.
    limits: Vec<(i16, i16)>,
    width: usize,
    height: usize,
}

/// The side of a block that shares one threshold.
const BLOCK: usize = 4;

impl LocalMean {
    /// A pixel is dark when it is 3 % below its window's mean and the window's standard
    /// deviation is at least 6 grey levels; in a flatter window, a window four times as
    /// wide decides in the same way, else the pixel is light. The negative's "dark" is the
    /// same for 255 - pixel: light-on-dark tags, where the light modules are the "dark" ones.
    pub fn new(luma: &[u8], width: usize, height: usize, window: usize) -> LocalMean {
        const OFFSET_PCT: u64 = 3;
        const MIN_CONTRAST: u64 = 12;
        let (bw, bh) = (width.div_ceil(BLOCK), height.div_ceil(BLOCK));
        // Each block's sum and sum of squares, then summed-area tables over blocks: any
        // run of whole blocks' mean and variance in O(1), from tables a sixteenth the size
        // of the frame's.
        let mut block_sum = vec![0u64; bw * bh];
        let mut block_sq = vec![0u64; bw * bh];
        for (y, line) in luma.chunks_exact(width).take(height).enumerate() {
            let row = (y / BLOCK) * bw;
            for (i, pixels) in line.chunks(BLOCK).enumerate() {
                let (mut s, mut s2) = (0u32, 0u32);
                for &v in pixels {
                    let v = u32::from(v);
                    s += v;
                    s2 += v * v;
                }
                block_sum[row + i] += u64::from(s);
                block_sq[row + i] += u64::from(s2);
            }
        }
        let b1 = bw + 1;
        let mut sum = vec![0u64; b1 * (bh + 1)];
        let mut sq = vec![0u64; b1 * (bh + 1)];
        for by in 0..bh {
            let (mut row, mut row_sq) = (0u64, 0u64);
            for bx in 0..bw {
                row += block_sum[by * bw + bx];
                row_sq += block_sq[by * bw + bx];
                sum[(by + 1) * b1 + bx + 1] = sum[by * b1 + bx + 1] + row;
                sq[(by + 1) * b1 + bx + 1] = sq[by * b1 + bx + 1] + row_sq;
            }
        }
        // The window around a block: `k` blocks either side, about `window` pixels across.
        let k = |window: usize| (window / BLOCK / 2).max(1);
        let stats = |bx: usize, by: usize, k: usize| {
            let (x0, x1, y0, y1) =
                (bx.saturating_sub(k), (bx + k + 1).min(bw), by.saturating_sub(k), (by + k + 1).min(bh));
            let area = |t: &[u64]| t[y1 * b1 + x1] + t[y0 * b1 + x0] - t[y0 * b1 + x1] - t[y1 * b1 + x0];
            // Pixels, not blocks: the last row and column of blocks may be partial.
            let n = ((x1 * BLOCK).min(width) - x0 * BLOCK) * ((y1 * BLOCK).min(height) - y0 * BLOCK);
            (area(&sum), area(&sq), n as u64)
        };
        let (narrow, wide) = (k(window), k(4 * window));
        // Variance from sums; a standard deviation under MIN_CONTRAST/2 is a flat patch.
        let flat =
            |(s, s2, n): (u64, u64, u64)| (s2 * n).saturating_sub(s * s) * 4 < MIN_CONTRAST * MIN_CONTRAST * n * n;
        let mut limits = Vec::with_capacity(bw * bh);
        for by in 0..bh {
            for bx in 0..bw {
                let mut window = stats(bx, by, narrow);
                if flat(window) {
                    // Flat here, but maybe the inside of something big and dark (a finder's
                    // centre held close to the lens): a window four times as wide decides.
                    window = stats(bx, by, wide);
                    if flat(window) {
                        limits.push((0, 255));
                        continue;
                    }
                }
                let (s, _, n) = window;
                // Dark: v * 100n < (100 - OFFSET) s, so v below the ceiling of the quotient;
                // negative: (255 - v) * 100n < (100 - OFFSET)(255n - s), the same for 255 - v.
                let d = 100 * n;
                let below = (100 - OFFSET_PCT) * s;
                let above = (100 - OFFSET_PCT) * (255 * n - s);
                limits.push((below.div_ceil(d) as i16, 255 - above.div_ceil(d) as i16));
            }
        }
        LocalMean { limits, width, height }
    }

    /// The bitmap: dark pixels, or with `negative` the pixels that are dark in 255 - pixel.
    pub fn bitmap(&self, luma: &[u8], negative: bool) -> Bitmap {
        let (width, height) = (self.width, self.height);
        let bw = width.div_ceil(BLOCK);
        let mut bits = vec![false; width * height];
        for (y, (line, out)) in luma.chunks_exact(width).zip(bits.chunks_exact_mut(width)).take(height).enumerate() {
            let limits = &self.limits[(y / BLOCK) * bw..(y / BLOCK + 1) * bw];
            for ((pixels, out), &(below, above)) in line.chunks(BLOCK).zip(out.chunks_mut(BLOCK)).zip(limits) {
                for (&v, bit) in pixels.iter().zip(out) {
                    *bit = if negative { i16::from(v) > above } else { i16::from(v) < below };
                }
            }
        }
        Bitmap { width, height, bits }
    }
}

/// Halves a grey image by averaging 2x2 blocks: a quarter of the pixels to search when
/// the code is big in the frame, and a little noise averaged away.
pub fn half(luma: &[u8], width: usize, height: usize) -> (Vec<u8>, usize, usize) {
    let (w, h) = (width / 2, height / 2);
    let mut out = vec![0u8; w * h];
    if w == 0 {
        return (out, w, h);
    }
    // Slices walked in step rather than indexed, so the loop has no bounds checks and
    // vectorises: indexed, this took a millisecond a 1280x720 frame.
    for (line, rows) in out.chunks_exact_mut(w).zip(luma.chunks_exact(2 * width)) {
        let (a, b) = rows.split_at(width);
        for ((o, a), b) in line.iter_mut().zip(a.chunks_exact(2)).zip(b.chunks_exact(2)) {
            let s = u16::from(a[0]) + u16::from(a[1]) + u16::from(b[0]) + u16::from(b[1]);
            *o = (s / 4) as u8;
        }
    }
    (out, w, h)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_a_shadow_across_the_image() {
        // Dark squares on a background that fades from bright to dim: a global threshold
        // would call the whole dim side dark.
        let (w, h) = (200, 40);
        let luma: Vec<u8> = (0..h)
            .flat_map(|y| {
                (0..w).map(move |x| {
                    let light = 250 - (x * 170 / w) as u32;
                    let dark = (x / 10) % 2 == 0 && (10..30).contains(&y);
                    (if dark { light / 3 } else { light }) as u8
                })
            })
            .collect();
        let b = local_mean(&luma, w, h, 31);
        for x in (5..w).step_by(10) {
            assert_eq!(b.get(x, 20), (x / 10) % 2 == 0, "x={x}");
            assert!(!b.get(x, 2), "background at x={x} is light");
        }
    }

    #[test]
    fn half_is_the_mean_of_each_two_by_two_block() {
        for (w, h) in [(7, 5), (8, 6), (1, 9), (1280, 3)] {
            let luma: Vec<u8> = (0..w * h).map(|i| ((i * 7919 + 13) % 256) as u8).collect();
            let (out, hw, hh) = half(&luma, w, h);
            assert_eq!((hw, hh, out.len()), (w / 2, h / 2, w / 2 * (h / 2)));
            for y in 0..hh {
                for x in 0..hw {
                    let at = |dx: usize, dy: usize| u16::from(luma[(2 * y + dy) * w + 2 * x + dx]);
                    assert_eq!(u16::from(out[y * hw + x]), (at(0, 0) + at(1, 0) + at(0, 1) + at(1, 1)) / 4);
                }
            }
        }
    }

    #[test]
    fn a_flat_noisy_patch_stays_light() {
        let luma: Vec<u8> = (0..64 * 64).map(|i| 128 + ((i * 7919) % 7) as u8).collect();
        assert!(local_mean(&luma, 64, 64, 15).bits.iter().all(|b| !b));
    }

    #[test]
    fn a_dark_block_wider_than_the_window_stays_dark_inside() {
        // A finder's centre held close to the lens: 40 px of dark, a 15 px window.
        let (w, h) = (160, 160);
        let luma: Vec<u8> = (0..w * h)
            .map(|i| if (60..100).contains(&(i % w)) && (60..100).contains(&(i / w)) { 30 } else { 220 })
            .collect();
        let b = local_mean(&luma, w, h, 15);
        assert!(b.get(80, 80), "the middle of the block");
        assert!(b.get(62, 80) && !b.get(57, 80), "its edge");
        assert!(!b.get(5, 5) && !b.get(150, 80), "the light around it");
    }

    /// The definition, pixel by pixel with no shared work: a pixel against the windows of
    /// whole blocks around its own block. What `LocalMean` must match.
    fn plain(luma: &[u8], w: usize, h: usize, window: usize, negative: bool) -> Vec<bool> {
        let stats = |bx: usize, by: usize, window: usize| {
            let k = (window / BLOCK / 2).max(1);
            let (mut s, mut s2, mut n) = (0i64, 0i64, 0i64);
            for y in by.saturating_sub(k) * BLOCK..((by + k + 1) * BLOCK).min(h) {
                for x in bx.saturating_sub(k) * BLOCK..((bx + k + 1) * BLOCK).min(w) {
                    let v = i64::from(luma[y * w + x]);
                    (s, s2, n) = (s + v, s2 + v * v, n + 1);
                }
            }
            (s, s2, n)
        };
        let flat = |(s, s2, n): (i64, i64, i64)| (s2 * n - s * s) * 4 < 144 * n * n;
        (0..w * h)
            .map(|i| {
                let (bx, by) = (i % w / BLOCK, i / w / BLOCK);
                let mut stat = stats(bx, by, window);
                if flat(stat) {
                    stat = stats(bx, by, 4 * window);
                    if flat(stat) {
                        return false;
                    }
                }
                let (s, _, n) = stat;
                let (v, s) = if negative { (255 - i64::from(luma[i]), 255 * n - s) } else { (i64::from(luma[i]), s) };
                v * 100 * n < s * 97
            })
            .collect()
    }

    #[test]
    fn both_polarities_decide_every_pixel_as_the_definition() {
        // Noise over gradients and blocks: flat patches, edges, both window sizes, and a
        // width and height that leave partial blocks.
        let (w, h) = (97, 61);
        let mut seed = 12345u64;
        let luma: Vec<u8> = (0..w * h)
            .map(|i| {
                seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                let (x, y) = (i % w, i / w);
                let base = if (20..50).contains(&x) && (10..40).contains(&y) { 40 } else { 60 + x };
                let noise = if x > 70 { (seed >> 60) as usize } else { 0 };
                (base + noise).min(255) as u8
            })
            .collect();
        let means = LocalMean::new(&luma, w, h, 9);
        for negative in [false, true] {
            let want = plain(&luma, w, h, 9, negative);
            assert!(want.iter().any(|&b| b) && want.iter().any(|&b| !b), "a test image with both");
            assert_eq!(means.bitmap(&luma, negative).bits, want, "negative: {negative}");
        }
    }
}
