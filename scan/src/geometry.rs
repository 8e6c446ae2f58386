//! Plane-to-plane perspective maps: module coordinates of a code to pixels of a frame.

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pt {
    pub x: f64,
    pub y: f64,
}

impl Pt {
    pub fn new(x: f64, y: f64) -> Pt {
        Pt { x, y }
    }
    pub fn dist(self, o: Pt) -> f64 {
        (self.x - o.x).hypot(self.y - o.y)
    }
    pub fn minus(self, o: Pt) -> Pt {
        Pt::new(self.x - o.x, self.y - o.y)
    }
    pub fn plus(self, o: Pt) -> Pt {
        Pt::new(self.x + o.x, self.y + o.y)
    }
    pub fn scale(self, k: f64) -> Pt {
        Pt::new(self.x * k, self.y * k)
    }
    pub fn cross(self, o: Pt) -> f64 {
        self.x * o.y - self.y * o.x
    }
    pub fn dot(self, o: Pt) -> f64 {
        self.x * o.x + self.y * o.y
    }
}

/// x' = (a u + b v + c) / (g u + h v + 1), y' = (d u + e v + f) / (g u + h v + 1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Homography([f64; 8]);

impl Homography {
    /// The map taking each `from[i]` to `to[i]`; `None` when three points are in a line.
    pub fn from_points(from: [Pt; 4], to: [Pt; 4]) -> Option<Homography> {
        let mut m = [[0f64; 9]; 8];
        for i in 0..4 {
            let (u, v, x, y) = (from[i].x, from[i].y, to[i].x, to[i].y);
            m[2 * i] = [u, v, 1.0, 0.0, 0.0, 0.0, -u * x, -v * x, x];
            m[2 * i + 1] = [0.0, 0.0, 0.0, u, v, 1.0, -u * y, -v * y, y];
        }
        solve(m).map(Homography)
    }

    /// The map that best takes each `from[i]` to `to[i]` (least squares, four or more
    /// points); `None` when they do not pin a map down.
    pub fn fit(from: &[Pt], to: &[Pt]) -> Option<Homography> {
        if from.len() < 4 || from.len() != to.len() {
            return None;
        }
        // Centred and scaled to about unit size first, or the normal equations' squares of
        // pixel coordinates swamp the small terms.
        let normalise = |p: &[Pt]| {
            let c = p.iter().fold(Pt::new(0.0, 0.0), |a, q| a.plus(*q)).scale(1.0 / p.len() as f64);
            let spread = p.iter().map(|q| q.dist(c)).sum::<f64>() / p.len() as f64;
            (c, if spread > 1e-9 { std::f64::consts::SQRT_2 / spread } else { 1.0 })
        };
        let ((cf, sf), (ct, st)) = (normalise(from), normalise(to));
        let mut m = [[0f64; 9]; 8];
        for (f, t) in from.iter().zip(to) {
            let (u, v) = ((f.x - cf.x) * sf, (f.y - cf.y) * sf);
            let (x, y) = ((t.x - ct.x) * st, (t.y - ct.y) * st);
            for (row, rhs) in
                [([u, v, 1.0, 0.0, 0.0, 0.0, -u * x, -v * x], x), ([0.0, 0.0, 0.0, u, v, 1.0, -u * y, -v * y], y)]
            {
                for j in 0..8 {
                    for k in 0..8 {
                        m[j][k] += row[j] * row[k];
                    }
                    m[j][8] += row[j] * rhs;
                }
            }
        }
        let h = solve(m)?;
        // Undo the normalisations: H = T_to^-1 * Hn * T_from, then scale so h33 = 1.
        let hn = [[h[0], h[1], h[2]], [h[3], h[4], h[5]], [h[6], h[7], 1.0]];
        let t_from = [[sf, 0.0, -sf * cf.x], [0.0, sf, -sf * cf.y], [0.0, 0.0, 1.0]];
        let t_to_inv = [[1.0 / st, 0.0, ct.x], [0.0, 1.0 / st, ct.y], [0.0, 0.0, 1.0]];
        let mul = |a: [[f64; 3]; 3], b: [[f64; 3]; 3]| {
            let mut c = [[0f64; 3]; 3];
            for i in 0..3 {
                for j in 0..3 {
                    c[i][j] = (0..3).map(|k| a[i][k] * b[k][j]).sum();
                }
            }
            c
        };
        let full = mul(mul(t_to_inv, hn), t_from);
        let w = full[2][2];
        if w.abs() < 1e-12 {
            return None;
        }
        let h = [full[0][0], full[0][1], full[0][2], full[1][0], full[1][1], full[1][2], full[2][0], full[2][1]]
            .map(|v| v / w);
        h.iter().all(|v| v.is_finite()).then_some(Homography(h))
    }

    /// The affine map through three corresponding points (the fourth is implied).
    pub fn affine(from: [Pt; 3], to: [Pt; 3]) -> Option<Homography> {
        let fourth = |p: [Pt; 3]| p[1].plus(p[2]).minus(p[0]);
        Homography::from_points([from[0], from[1], from[2], fourth(from)], [to[0], to[1], to[2], fourth(to)])
    }

    #[inline]
    pub fn map(&self, u: f64, v: f64) -> Pt {
        let h = &self.0;
        let w = h[6] * u + h[7] * v + 1.0;
        Pt::new((h[0] * u + h[1] * v + h[2]) / w, (h[3] * u + h[4] * v + h[5]) / w)
    }
}

/// Gaussian elimination with partial pivoting on an 8x8 system, augmented.
fn solve(mut m: [[f64; 9]; 8]) -> Option<[f64; 8]> {
    for col in 0..8 {
        let pivot = (col..8).max_by(|&a, &b| m[a][col].abs().total_cmp(&m[b][col].abs()))?;
        if m[pivot][col].abs() < 1e-12 {
            return None;
        }
        m.swap(col, pivot);
        for row in 0..8 {
            if row != col {
                let k = m[row][col] / m[col][col];
                let pivot_row = m[col];
                for (cell, p) in m[row].iter_mut().zip(pivot_row).skip(col) {
                    *cell -= k * p;
                }
            }
        }
    }
    let mut h = [0f64; 8];
    for i in 0..8 {
        h[i] = m[i][8] / m[i][i];
    }
    h.iter().all(|v| v.is_finite()).then_some(h)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_four_corners_exactly_and_the_middle_by_perspective() {
        let from = [Pt::new(0.0, 0.0), Pt::new(10.0, 0.0), Pt::new(0.0, 10.0), Pt::new(10.0, 10.0)];
        let to = [Pt::new(100.0, 100.0), Pt::new(200.0, 110.0), Pt::new(90.0, 210.0), Pt::new(220.0, 230.0)];
        let h = Homography::from_points(from, to).unwrap();
        for (f, t) in from.iter().zip(&to) {
            assert!(h.map(f.x, f.y).dist(*t) < 1e-6);
        }
        let line = [Pt::new(0.0, 0.0), Pt::new(1.0, 1.0), Pt::new(2.0, 2.0), Pt::new(3.0, 3.0)];
        assert!(Homography::from_points(line, to).is_none());
    }

    #[test]
    fn a_fit_to_many_points_recovers_the_map_and_smooths_their_noise() {
        let from = [Pt::new(0.0, 0.0), Pt::new(10.0, 0.0), Pt::new(0.0, 10.0), Pt::new(10.0, 10.0)];
        let to = [Pt::new(100.0, 100.0), Pt::new(200.0, 110.0), Pt::new(90.0, 210.0), Pt::new(220.0, 230.0)];
        let truth = Homography::from_points(from, to).unwrap();
        let grid: Vec<Pt> = (0..25).map(|i| Pt::new(f64::from(i % 5) * 2.5, f64::from(i / 5) * 2.5)).collect();
        // Half a pixel of alternating error on every point.
        let seen: Vec<Pt> = grid
            .iter()
            .enumerate()
            .map(|(i, p)| truth.map(p.x, p.y).plus(Pt::new(if i % 2 == 0 { 0.5 } else { -0.5 }, 0.0)))
            .collect();
        let fitted = Homography::fit(&grid, &seen).unwrap();
        for p in &grid {
            assert!(fitted.map(p.x, p.y).dist(truth.map(p.x, p.y)) < 0.25, "at {p:?}");
        }
        assert!(Homography::fit(&grid[..3], &seen[..3]).is_none());
    }
}
