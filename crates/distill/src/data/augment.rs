//! Label-preserving perturbations of image batches: random shifts, small rotations, mirror
//! flips and noise. Used while training (teacher or student) and to build transfer sets.
//!
//! Every image is resampled through one inverse affine map with bilinear interpolation, so an
//! integer shift without rotation copies pixels exactly; what falls outside the image is the
//! background value (raw 0, normalized).
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::error::{Result, ensure};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Augment {
    /// Random translation by up to this many pixels along each axis (0 = none).
    pub shift: usize,
    /// Random rotation by up to ± this many degrees.
    pub rotate_deg: f32,
    /// Mirror left–right with probability ½ (right for clothes, wrong for digits).
    pub hflip: bool,
    /// Standard deviation of Gaussian noise added in normalized units.
    pub noise: f32,
}

impl Default for Augment {
    fn default() -> Self {
        Augment {
            shift: 0,
            rotate_deg: 0.0,
            hflip: false,
            noise: 0.0,
        }
    }
}

impl Augment {
    pub fn is_off(&self) -> bool {
        self.shift == 0 && self.rotate_deg == 0.0 && !self.hflip && self.noise == 0.0
    }

    /// The settings as one short phrase for logs and reports.
    pub fn describe(&self) -> String {
        if self.is_off() {
            return "none".into();
        }
        let mut parts = Vec::new();
        if self.shift > 0 {
            parts.push(format!("shift ±{} px", self.shift));
        }
        if self.rotate_deg != 0.0 {
            parts.push(format!("rotate ±{}°", self.rotate_deg));
        }
        if self.hflip {
            parts.push("mirror".into());
        }
        if self.noise != 0.0 {
            parts.push(format!("noise σ {}", self.noise));
        }
        parts.join(", ")
    }
}

/// An [`Augment`] bound to the image shape and background value of one dataset.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Augmenter {
    pub aug: Augment,
    /// `[channels, height, width]` of one sample.
    pub shape: [usize; 3],
    /// The normalized value of a blank pixel.
    pub fill: f32,
}

impl Augmenter {
    /// Checks that `shape` is an image; `fill` is the normalized background value.
    pub fn new(aug: Augment, shape: &[usize], fill: f32) -> Result<Self> {
        ensure!(
            shape.len() == 3 && shape[1] > 1 && shape[2] > 1,
            Mismatch,
            "augmentation needs image samples [channels, height, width]; these have shape {shape:?}"
        );
        ensure!(
            aug.rotate_deg.is_finite() && aug.noise.is_finite() && aug.noise >= 0.0,
            Config,
            "augmentation: rotate_deg and noise must be finite, noise ≥ 0"
        );
        Ok(Augmenter {
            aug,
            shape: [shape[0], shape[1], shape[2]],
            fill,
        })
    }

    pub fn features(&self) -> usize {
        self.shape.iter().product()
    }

    /// Perturbs every sample of the row-major batch `x` in place.
    pub fn apply(&self, x: &mut [f32], rng: &mut impl Rng) {
        let f = self.features();
        let mut scratch = vec![0f32; f];
        for img in x.chunks_exact_mut(f) {
            self.one(img, &mut scratch, rng);
        }
    }

    fn one(&self, img: &mut [f32], scratch: &mut [f32], rng: &mut impl Rng) {
        let a = &self.aug;
        let s = a.shift as f32;
        let (dx, dy) = if a.shift > 0 {
            let r = a.shift as i32;
            (
                rng.random_range(-r..=r) as f32,
                rng.random_range(-r..=r) as f32,
            )
        } else {
            (0.0, 0.0)
        };
        debug_assert!(dx.abs() <= s && dy.abs() <= s);
        let angle = if a.rotate_deg != 0.0 {
            rng.random_range(-a.rotate_deg..=a.rotate_deg).to_radians()
        } else {
            0.0
        };
        let flip = a.hflip && rng.random::<bool>();
        if dx != 0.0 || dy != 0.0 || angle != 0.0 || flip {
            self.warp(img, scratch, dx, dy, angle, flip);
            img.copy_from_slice(scratch);
        }
        if a.noise > 0.0 {
            for v in img.iter_mut() {
                *v += a.noise * gaussian(rng);
            }
        }
    }

    /// out(p) = in(R⁻¹·(p − c − t) + c), mirrored first when `flip`.
    fn warp(&self, src: &[f32], out: &mut [f32], dx: f32, dy: f32, angle: f32, flip: bool) {
        let [ch, h, w] = self.shape;
        let (cy, cx) = ((h as f32 - 1.0) / 2.0, (w as f32 - 1.0) / 2.0);
        let (sin, cos) = angle.sin_cos();
        for c in 0..ch {
            let plane = &src[c * h * w..(c + 1) * h * w];
            for i in 0..h {
                for j in 0..w {
                    let (y, x) = (i as f32 - cy - dy, j as f32 - cx - dx);
                    let sy = cos * y - sin * x + cy;
                    let mut sx = sin * y + cos * x + cx;
                    if flip {
                        sx = w as f32 - 1.0 - sx;
                    }
                    out[c * h * w + i * w + j] = self.bilinear(plane, sy, sx);
                }
            }
        }
    }

    fn bilinear(&self, plane: &[f32], y: f32, x: f32) -> f32 {
        let [_, h, w] = self.shape;
        let (y0, x0) = (y.floor(), x.floor());
        let (fy, fx) = (y - y0, x - x0);
        let at = |yy: f32, xx: f32| -> f32 {
            if yy < 0.0 || xx < 0.0 || yy >= h as f32 || xx >= w as f32 {
                self.fill
            } else {
                plane[yy as usize * w + xx as usize]
            }
        };
        let top = at(y0, x0) * (1.0 - fx) + at(y0, x0 + 1.0) * fx;
        let bottom = at(y0 + 1.0, x0) * (1.0 - fx) + at(y0 + 1.0, x0 + 1.0) * fx;
        top * (1.0 - fy) + bottom * fy
    }
}

/// A standard normal draw (Box–Muller).
fn gaussian(rng: &mut impl Rng) -> f32 {
    let u1: f32 = rng.random_range(f32::EPSILON..1.0);
    let u2: f32 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn ramp() -> Vec<f32> {
        (0..20).map(|v| v as f32).collect()
    }

    fn aug(shape: &[usize]) -> Augmenter {
        Augmenter::new(Augment::default(), shape, -1.0).unwrap()
    }

    #[test]
    fn integer_shift_copies_pixels_and_fills_background() {
        let a = aug(&[1, 4, 5]);
        let src = ramp();
        let mut out = vec![0f32; 20];
        a.warp(&src, &mut out, 1.0, 0.0, 0.0, false);
        // Row 0 moved right by one: background first, then 0, 1, 2, 3.
        assert_eq!(&out[..5], &[-1.0, 0.0, 1.0, 2.0, 3.0]);
        a.warp(&src, &mut out, 0.0, -1.0, 0.0, false);
        assert_eq!(&out[..5], &[5.0, 6.0, 7.0, 8.0, 9.0]);
        assert_eq!(&out[15..], &[-1.0; 5]);
    }

    #[test]
    fn flip_mirrors_rows_and_quarter_turn_rotates() {
        let a = aug(&[1, 4, 5]);
        let src = ramp();
        let mut out = vec![0f32; 20];
        a.warp(&src, &mut out, 0.0, 0.0, 0.0, true);
        assert_eq!(&out[..5], &[4.0, 3.0, 2.0, 1.0, 0.0]);
        let sq = aug(&[1, 3, 3]);
        let src: Vec<f32> = (0..9).map(|v| v as f32).collect();
        let mut out = vec![0f32; 9];
        sq.warp(&src, &mut out, 0.0, 0.0, std::f32::consts::FRAC_PI_2, false);
        let rounded: Vec<f32> = out.iter().map(|v| v.round()).collect();
        // A quarter turn: the left column, read bottom-up, becomes the top row.
        assert_eq!(rounded, vec![6.0, 3.0, 0.0, 7.0, 4.0, 1.0, 8.0, 5.0, 2.0]);
    }

    #[test]
    fn seeded_batches_repeat_and_non_images_are_refused() {
        let a = Augmenter::new(
            Augment {
                shift: 2,
                rotate_deg: 10.0,
                hflip: true,
                noise: 0.1,
            },
            &[1, 4, 5],
            0.0,
        )
        .unwrap();
        let mut x1 = ramp().repeat(3);
        let mut x2 = x1.clone();
        a.apply(&mut x1, &mut ChaCha8Rng::seed_from_u64(7));
        a.apply(&mut x2, &mut ChaCha8Rng::seed_from_u64(7));
        assert_eq!(x1, x2);
        assert_ne!(x1, ramp().repeat(3));
        assert!(Augmenter::new(Augment::default(), &[64], 0.0).is_err());
    }
}
