//! `synthetic-images`: a small, learnable image classification set (NCHW) for CNN tests and
//! the paper's Figure 3 without CIFAR-10.

use std::f64::consts::PI;

use anyhow::{ensure, Result};
use rand::rngs::ChaCha8Rng;
use rand::RngExt;
use rand_distr::StandardNormal;

use super::{check_size, draw_split};
use crate::rng::{stream_rng, Stream};
use crate::{Dataset, Split};

/// Plane waves summed into one class pattern channel.
const WAVES: usize = 3;
/// Largest spatial frequency (cycles per image) of a wave.
const MAX_FREQ: i64 = 2;
/// Standard deviation of the per-pixel noise added to every example.
pub const PIXEL_NOISE: f64 = 0.5;

/// `synthetic-images`: `k` classes of `channels × size × size` images.
///
/// * Class pattern `P_c` (problem stream): for every channel, a sum of [`WAVES`] plane waves
///   `a·cos(2π(f_y·i + f_x·j)/size + φ)` with integer frequencies `f_y, f_x ∈ [−2, 2]` (not both
///   0), `a ~ N(0,1)`, `φ ~ U[0, 2π)`; then scaled to unit root-mean-square over all pixels.
///   Integer frequencies make the patterns smooth and periodic, so shifts are circular.
/// * Example `i` (train/test stream): class `c = i mod k` (balanced), image
///   `s·shift(P_c, dy, dx) + 0.5·z` with amplitude `s ~ U[0.5, 1.5]`, a circular shift
///   `dy, dx` uniform in `[−r, r]`, `r = max(1, size/8)`, and pixel noise `z ~ N(0, 1)`.
///
/// Values are `O(1)` and centered, like standardized CIFAR-10, so no preprocessing is applied.
pub fn synthetic_images(
    n: usize,
    k: usize,
    channels: usize,
    size: usize,
    test_n: usize,
    seed: u64,
) -> Result<Split> {
    ensure!(
        k >= 2,
        "synthetic-images: k (number of classes) must be at least 2 (got {k})"
    );
    ensure!(
        size >= 2,
        "synthetic-images: size must be at least 2 pixels (got {size})"
    );
    check_size(
        "synthetic-images",
        "channels",
        channels,
        size.saturating_mul(size),
    )?;
    let d = channels * size * size;
    check_size("synthetic-images", "n", n, d)?;
    check_size("synthetic-images", "test_n", test_n.max(1), d)?;
    let mut problem = stream_rng(seed, Stream::Problem);
    let patterns: Vec<Vec<f64>> = (0..k)
        .map(|_| class_pattern(&mut problem, channels, size))
        .collect();
    let reach = (size / 8).max(1) as i64;
    draw_split(n, test_n, seed, |rng, m, part| {
        let labels: Vec<usize> = (0..m).map(|i| i % k).collect();
        let mut x = Vec::with_capacity(m * d);
        for &c in &labels {
            let scale = 0.5 + rng.random::<f64>();
            let dy = rng.random_range(-reach..=reach);
            let dx = rng.random_range(-reach..=reach);
            for ch in 0..channels {
                let plane = &patterns[c][ch * size * size..(ch + 1) * size * size];
                for i in 0..size {
                    let si = wrap(i as i64 - dy, size);
                    for j in 0..size {
                        let sj = wrap(j as i64 - dx, size);
                        let noise = rng.sample::<f64, _>(StandardNormal);
                        x.push(scale * plane[si * size + sj] + PIXEL_NOISE * noise);
                    }
                }
            }
        }
        Dataset::classification(
            format!("synthetic-images-{part}"),
            x,
            vec![channels, size, size],
            labels,
            k,
        )
    })
}

/// One class pattern, `channels × size × size`, unit RMS.
fn class_pattern(rng: &mut ChaCha8Rng, channels: usize, size: usize) -> Vec<f64> {
    let mut p = vec![0.0; channels * size * size];
    let s = size as f64;
    for plane in p.chunks_exact_mut(size * size) {
        for _ in 0..WAVES {
            let (fy, fx) = loop {
                let f = (
                    rng.random_range(-MAX_FREQ..=MAX_FREQ),
                    rng.random_range(-MAX_FREQ..=MAX_FREQ),
                );
                if f != (0, 0) {
                    break f;
                }
            };
            let a = rng.sample::<f64, _>(StandardNormal);
            let phase = 2.0 * PI * rng.random::<f64>();
            for i in 0..size {
                for j in 0..size {
                    let arg = 2.0 * PI * (fy as f64 * i as f64 + fx as f64 * j as f64) / s + phase;
                    plane[i * size + j] += a * arg.cos();
                }
            }
        }
    }
    let rms = (p.iter().map(|v| v * v).sum::<f64>() / p.len() as f64).sqrt();
    if rms > 0.0 {
        p.iter_mut().for_each(|v| *v /= rms);
    }
    p
}

fn wrap(i: i64, size: usize) -> usize {
    i.rem_euclid(size as i64) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_and_balance() {
        let s = synthetic_images(40, 4, 3, 8, 8, 0).unwrap();
        assert_eq!(s.train.input_shape, vec![3, 8, 8]);
        assert_eq!((s.train.n, s.train.d(), s.train.k), (40, 192, 4));
        assert_eq!(s.train.class_counts().unwrap(), vec![10; 4]);
        assert_eq!(s.test.unwrap().n, 8);
        assert!(synthetic_images(4, 1, 3, 8, 0, 0).is_err());
        assert!(synthetic_images(4, 2, 3, 1, 0, 0).is_err());
    }

    #[test]
    fn patterns_are_unit_rms() {
        let p = class_pattern(&mut stream_rng(3, Stream::Problem), 2, 6);
        let rms = (p.iter().map(|v| v * v).sum::<f64>() / p.len() as f64).sqrt();
        assert!((rms - 1.0).abs() < 1e-12);
    }

    /// Learnable: a nearest-class-mean classifier fit on the train set (which ignores the
    /// shifts) already labels most test images correctly.
    #[test]
    fn nearest_class_mean_beats_chance_by_far() {
        let s = synthetic_images(400, 4, 3, 8, 200, 1).unwrap();
        let (train, test) = (&s.train, s.test.as_ref().unwrap());
        let d = train.d();
        let mut means = vec![vec![0.0; d]; 4];
        for i in 0..train.n {
            let c = train.labels.as_ref().unwrap()[i];
            for (m, v) in means[c].iter_mut().zip(train.x_row(i)) {
                *m += v / 100.0;
            }
        }
        let correct = (0..test.n)
            .filter(|&i| {
                let dist = |m: &Vec<f64>| {
                    m.iter()
                        .zip(test.x_row(i))
                        .map(|(a, b)| (a - b).powi(2))
                        .sum::<f64>()
                };
                let best = (0..4)
                    .min_by(|&a, &b| dist(&means[a]).total_cmp(&dist(&means[b])))
                    .unwrap();
                best == test.labels.as_ref().unwrap()[i]
            })
            .count();
        assert!(
            correct as f64 / test.n as f64 > 0.7,
            "accuracy {correct}/{}",
            test.n
        );
    }
}
