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
        // Gaussian elimination with partial pivoting on the 8x8 system.
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
}
