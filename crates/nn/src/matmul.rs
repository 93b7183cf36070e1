//! Safe row-major wrappers around the `gemm` crate (runtime-dispatched AVX-512 / AVX2 / scalar
//! kernels; the `x86-v4` feature only *adds* the AVX-512 path, selected when the CPU has it).
//!
//! `dst ← [dst +] A·B` where `A`, `B` are strided views, so transposes cost nothing.

use crate::float::Float;

/// A read-only strided matrix view: element `(r, c)` is `data[r·rs + c·cs]`.
#[derive(Clone, Copy)]
pub struct MatRef<'a, T> {
    data: &'a [T],
    rows: usize,
    cols: usize,
    rs: usize,
    cs: usize,
}

impl<'a, T> MatRef<'a, T> {
    /// A row-major `rows × cols` view of `data` (length must be `rows·cols`).
    pub fn new(data: &'a [T], rows: usize, cols: usize) -> Self {
        assert_eq!(
            data.len(),
            rows * cols,
            "matrix view: buffer length does not match shape"
        );
        Self {
            data,
            rows,
            cols,
            rs: cols,
            cs: 1,
        }
    }

    /// The transpose (a view: no copy).
    pub fn t(self) -> Self {
        Self {
            data: self.data,
            rows: self.cols,
            cols: self.rows,
            rs: self.cs,
            cs: self.rs,
        }
    }
}

/// Products of fewer multiply-adds than this run on the calling thread: measured with
/// `cargo run --release -p gdscope-nn --example gemm_threads` (docs/PERFORMANCE.md §"Threads"),
/// two threads start to pay off between 0.5 and 1 million multiply-adds.
pub const PARALLEL_THRESHOLD: usize = 1 << 20;

/// Threads a product may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Threads {
    /// The calling thread only.
    One,
    /// All rayon worker threads.
    All,
    /// [`One`](Threads::One) below [`PARALLEL_THRESHOLD`] multiply-adds, else
    /// [`All`](Threads::All).
    BySize,
}

/// `dst (m×n, row-major) ← [dst +] a·b` with `a: m×k`, `b: k×n`. `accumulate = false`
/// overwrites `dst`. Threads chosen by size ([`Threads::BySize`]).
pub fn gemm<T: Float>(dst: &mut [T], a: MatRef<'_, T>, b: MatRef<'_, T>, accumulate: bool) {
    gemm_with(dst, a, b, accumulate, Threads::BySize);
}

/// [`gemm`] with an explicit thread choice. The result is bitwise the same for every choice:
/// the `gemm` crate splits the output among threads and keeps each element's sum over `k` in
/// one order.
pub fn gemm_with<T: Float>(
    dst: &mut [T],
    a: MatRef<'_, T>,
    b: MatRef<'_, T>,
    accumulate: bool,
    threads: Threads,
) {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    assert_eq!(b.rows, k, "gemm: inner dimensions differ");
    assert_eq!(dst.len(), m * n, "gemm: destination has the wrong size");
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            dst.fill(T::zero());
        }
        return;
    }
    let parallel = match threads {
        Threads::One => false,
        Threads::All => true,
        Threads::BySize => m * n * k >= PARALLEL_THRESHOLD,
    };
    let par = if parallel && rayon::current_num_threads() > 1 {
        gemm::Parallelism::Rayon(rayon::current_num_threads())
    } else {
        gemm::Parallelism::None
    };
    // SAFETY: every view was checked to cover exactly `rows·cols` elements with its strides
    // (row-major or its transpose), `dst` is an exclusive `m×n` row-major buffer that cannot
    // alias `a` or `b` (they are shared borrows), and `gemm` reads/writes only inside those
    // extents. `T` is f32 or f64, which `gemm` dispatches on at run time.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            a.data.as_ptr(),
            a.cs as isize,
            a.rs as isize,
            b.data.as_ptr(),
            b.cs as isize,
            b.rs as isize,
            T::one(),
            T::one(),
            false,
            false,
            false,
            par,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(a: &[f64], b: &[f64], m: usize, k: usize, n: usize) -> Vec<f64> {
        let mut c = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                c[i * n + j] = (0..k).map(|p| a[i * k + p] * b[p * n + j]).sum();
            }
        }
        c
    }

    #[test]
    fn matches_naive_product_with_transposes_and_accumulation() {
        let (m, k, n) = (7, 5, 3);
        let a: Vec<f64> = (0..m * k).map(|i| (i as f64 * 0.37).sin()).collect();
        let b: Vec<f64> = (0..k * n).map(|i| (i as f64 * 0.91).cos()).collect();
        let want = naive(&a, &b, m, k, n);
        let mut c = vec![0.0; m * n];
        gemm(&mut c, MatRef::new(&a, m, k), MatRef::new(&b, k, n), false);
        assert!(c.iter().zip(&want).all(|(x, y)| (x - y).abs() < 1e-14));
        // (Bᵀ Aᵀ)ᵀ computed through transposed views, accumulated onto itself: 2·(A·B)ᵀ.
        let mut ct = vec![0.0; n * m];
        gemm(
            &mut ct,
            MatRef::new(&b, k, n).t(),
            MatRef::new(&a, m, k).t(),
            false,
        );
        gemm(
            &mut ct,
            MatRef::new(&b, k, n).t(),
            MatRef::new(&a, m, k).t(),
            true,
        );
        for i in 0..m {
            for j in 0..n {
                assert!((ct[j * m + i] - 2.0 * want[i * n + j]).abs() < 1e-14);
            }
        }
    }

    #[test]
    fn large_product_in_f32_uses_parallel_path_correctly() {
        let (m, k, n) = (64, 80, 72);
        let a: Vec<f32> = (0..m * k).map(|i| ((i % 13) as f32) * 0.1 - 0.6).collect();
        let b: Vec<f32> = (0..k * n).map(|i| ((i % 7) as f32) * 0.2 - 0.5).collect();
        let a64: Vec<f64> = a.iter().map(|&x| x.into()).collect();
        let b64: Vec<f64> = b.iter().map(|&x| x.into()).collect();
        let want = naive(&a64, &b64, m, k, n);
        let mut c = vec![0.0f32; m * n];
        gemm(&mut c, MatRef::new(&a, m, k), MatRef::new(&b, k, n), false);
        assert!(c
            .iter()
            .zip(&want)
            .all(|(x, y)| (f64::from(*x) - y).abs() < 1e-4));
    }
}
