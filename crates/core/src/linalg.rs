//! Small dense linear algebra on `f64` slices and `nalgebra` matrices.

use nalgebra::DMatrix;

/// `xᵀy`.
pub fn dot(x: &[f64], y: &[f64]) -> f64 {
    x.iter().zip(y).map(|(a, b)| a * b).sum()
}

/// Euclidean norm `‖x‖₂`.
pub fn norm(x: &[f64]) -> f64 {
    dot(x, x).sqrt()
}

/// Cosine of the angle between `x` and `y`; `None` if either is zero or non-finite.
pub fn cosine(x: &[f64], y: &[f64]) -> Option<f64> {
    let d = norm(x) * norm(y);
    let c = dot(x, y) / d;
    (d > 0.0 && c.is_finite()).then(|| c.clamp(-1.0, 1.0))
}

/// Eigen-decomposition of a symmetric matrix, eigenvalues **ascending**
/// (`values[0] = λ₁ ≤ … ≤ values[n-1] = λₙ`), `vectors.column(i)` ↔ `values[i]`,
/// each eigenvector normalised and sign-fixed so that its largest-magnitude entry is positive.
#[derive(Debug, Clone)]
pub struct SymEigen {
    /// Ascending eigenvalues.
    pub values: Vec<f64>,
    /// Orthonormal eigenvectors as columns.
    pub vectors: DMatrix<f64>,
}

/// Symmetric eigen-decomposition (see [`SymEigen`]). The input is symmetrized first.
pub fn sym_eigen(a: &DMatrix<f64>) -> SymEigen {
    let sym = (a + a.transpose()) * 0.5;
    let eig = sym.symmetric_eigen();
    let n = a.nrows();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&i, &j| eig.eigenvalues[i].total_cmp(&eig.eigenvalues[j]));
    let values = order.iter().map(|&i| eig.eigenvalues[i]).collect();
    let mut vectors = DMatrix::zeros(n, n);
    for (c, &i) in order.iter().enumerate() {
        let mut v = eig.eigenvectors.column(i).clone_owned();
        let pivot = v
            .iter()
            .copied()
            .fold(0.0_f64, |m, x| if x.abs() > m.abs() { x } else { m });
        if pivot < 0.0 {
            v = -v;
        }
        vectors.set_column(c, &v);
    }
    SymEigen { values, vectors }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eigen_ascending_and_sign_fixed() {
        let a = DMatrix::from_row_slice(2, 2, &[4.0, 0.0, 0.0, 1.0]);
        let e = sym_eigen(&a);
        assert_eq!(e.values, vec![1.0, 4.0]);
        assert_eq!(e.vectors.column(0).as_slice(), &[0.0, 1.0]);
        assert_eq!(e.vectors.column(1).as_slice(), &[1.0, 0.0]);
    }

    #[test]
    fn cosine_edge_cases() {
        assert_eq!(cosine(&[1.0, 0.0], &[0.0, 0.0]), None);
        assert!((cosine(&[1.0, 1.0], &[-2.0, -2.0]).unwrap() + 1.0).abs() < 1e-15);
    }
}
