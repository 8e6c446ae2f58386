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

/// Summed-area tables of a grey image: any window's mean and variance in O(1). Built
/// once a frame, they threshold both the image and its negative.
pub struct LocalMean {
    sum: Vec<u64>,
    sq: Vec<u64>,
    width: usize,
    height: usize,
    radius: usize,
}

impl LocalMean {
    pub fn new(luma: &[u8], width: usize, height: usize, window: usize) -> LocalMean {
        let w1 = width + 1;
        let mut sum = vec![0u64; w1 * (height + 1)];
        let mut sq = vec![0u64; w1 * (height + 1)];
        for y in 0..height {
            let (mut row, mut row_sq) = (0u64, 0u64);
            for x in 0..width {
                let v = u64::from(luma[y * width + x]);
                row += v;
                row_sq += v * v;
                sum[(y + 1) * w1 + x + 1] = sum[y * w1 + x + 1] + row;
                sq[(y + 1) * w1 + x + 1] = sq[y * w1 + x + 1] + row_sq;
            }
        }
        LocalMean { sum, sq, width, height, radius: (window / 2).max(2) }
    }

    /// A pixel is dark when it is 3 % below its window's mean and the window's standard
    /// deviation is at least 6 grey levels; in a flatter window, a window four times as
    /// wide decides in the same way, else the pixel is light. With `negative`, the same for 255 - pixel:
    /// light-on-dark tags, where the light modules are the "dark" ones.
    pub fn bitmap(&self, luma: &[u8], negative: bool) -> Bitmap {
        const OFFSET_PCT: u64 = 3;
        const MIN_CONTRAST: u64 = 12;
        let (width, height, r, w1) = (self.width, self.height, self.radius, self.width + 1);
        let mut bits = vec![false; width * height];
        for y in 0..height {
            let (y0, y1) = (y.saturating_sub(r), (y + r + 1).min(height));
            for x in 0..width {
                let (x0, x1) = (x.saturating_sub(r), (x + r + 1).min(width));
                let n = ((x1 - x0) * (y1 - y0)) as u64;
                let area = |t: &[u64]| t[y1 * w1 + x1] + t[y0 * w1 + x0] - t[y0 * w1 + x1] - t[y1 * w1 + x0];
                let (mut s, s2) = (area(&self.sum), area(&self.sq));
                // Variance from sums; a standard deviation under MIN_CONTRAST/2 is a flat patch.
                // (Compared times n², to keep a division out of the per-pixel loop.)
                let flat =
                    |s: u64, s2: u64, n: u64| (s2 * n).saturating_sub(s * s) * 4 < MIN_CONTRAST * MIN_CONTRAST * n * n;
                let mut n = n;
                if flat(s, s2, n) {
                    // Flat here, but maybe the inside of something big and dark (a finder's
                    // centre held close to the lens): a window four times as wide decides.
                    let (y0, y1) = (y.saturating_sub(4 * r), (y + 4 * r + 1).min(height));
                    let (x0, x1) = (x.saturating_sub(4 * r), (x + 4 * r + 1).min(width));
                    let wide = |t: &[u64]| t[y1 * w1 + x1] + t[y0 * w1 + x0] - t[y0 * w1 + x1] - t[y1 * w1 + x0];
                    n = ((x1 - x0) * (y1 - y0)) as u64;
                    let (ws, ws2) = (wide(&self.sum), wide(&self.sq));
                    if flat(ws, ws2, n) {
                        continue;
                    }
                    s = ws;
                }
                let mut v = u64::from(luma[y * width + x]);
                if negative {
                    (v, s) = (255 - v, 255 * n - s);
                }
                bits[y * width + x] = v * 100 * n < s * (100 - OFFSET_PCT);
            }
        }
        Bitmap { width, height, bits }
    }
}

/// Halves a grey image by averaging 2x2 blocks: a quarter of the pixels to search when
/// the code is big in the frame, and a little noise averaged away.
pub fn half(luma: &[u8], width: usize, height: usize) -> (Vec<u8>, usize, usize) {
    let (w, h) = (width / 2, height / 2);
    let mut out = Vec::with_capacity(w * h);
    for y in 0..h {
        let (a, b) = (&luma[2 * y * width..], &luma[(2 * y + 1) * width..]);
        for x in 0..w {
            let s = u16::from(a[2 * x]) + u16::from(a[2 * x + 1]) + u16::from(b[2 * x]) + u16::from(b[2 * x + 1]);
            out.push((s / 4) as u8);
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
}
