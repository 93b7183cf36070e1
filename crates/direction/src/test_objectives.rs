//! Closed-form test objectives: the paper's examples and random quadratic-plus-cubic
//! functions, with hand-derived derivatives (checked against finite differences below).

use gdscope_core::Objective;

/// `f = x²/2 + 2y²` (paper Figure 1, top).
pub struct Fig1;

impl Objective for Fig1 {
    fn dim(&self) -> usize {
        2
    }
    fn value_grad(&self, x: &[f64], g: &mut [f64]) -> f64 {
        g[0] = x[0];
        g[1] = 4.0 * x[1];
        0.5 * x[0] * x[0] + 2.0 * x[1] * x[1]
    }
    fn hvp(&self, _x: &[f64], v: &[f64], out: &mut [f64]) {
        out[0] = v[0];
        out[1] = 4.0 * v[1];
    }
    fn third_order(&self, _x: &[f64], _u: &[f64], _v: &[f64], out: &mut [f64]) {
        out.fill(0.0);
    }
}

/// `f = x²/2 + 2y² + xy² + y³` (paper Figure 1, bottom).
pub struct Fig1Perturbed;

impl Objective for Fig1Perturbed {
    fn dim(&self) -> usize {
        2
    }
    fn value_grad(&self, p: &[f64], g: &mut [f64]) -> f64 {
        let (x, y) = (p[0], p[1]);
        g[0] = x + y * y;
        g[1] = 4.0 * y + 2.0 * x * y + 3.0 * y * y;
        0.5 * x * x + 2.0 * y * y + x * y * y + y * y * y
    }
    fn hvp(&self, p: &[f64], v: &[f64], out: &mut [f64]) {
        let (x, y) = (p[0], p[1]);
        out[0] = v[0] + 2.0 * y * v[1];
        out[1] = 2.0 * y * v[0] + (4.0 + 2.0 * x + 6.0 * y) * v[1];
    }
    fn third_order(&self, _p: &[f64], u: &[f64], v: &[f64], out: &mut [f64]) {
        // H = [[1, 2y], [2y, 4 + 2x + 6y]]: ∂H/∂x = [[0,0],[0,2]], ∂H/∂y = [[0,2],[2,6]].
        out[0] = 2.0 * u[1] * v[1];
        out[1] = 2.0 * (u[0] * v[1] + u[1] * v[0]) + 6.0 * u[1] * v[1];
    }
}

/// `f = x² + y²/2 + x²y + x³` (paper Figure 2).
pub struct Fig2;

impl Objective for Fig2 {
    fn dim(&self) -> usize {
        2
    }
    fn value_grad(&self, p: &[f64], g: &mut [f64]) -> f64 {
        let (x, y) = (p[0], p[1]);
        g[0] = 2.0 * x + 2.0 * x * y + 3.0 * x * x;
        g[1] = y + x * x;
        x * x + 0.5 * y * y + x * x * y + x * x * x
    }
    fn hvp(&self, p: &[f64], v: &[f64], out: &mut [f64]) {
        let (x, y) = (p[0], p[1]);
        out[0] = (2.0 + 2.0 * y + 6.0 * x) * v[0] + 2.0 * x * v[1];
        out[1] = 2.0 * x * v[0] + v[1];
    }
    fn third_order(&self, _p: &[f64], u: &[f64], v: &[f64], out: &mut [f64]) {
        // ∂H/∂x = [[6, 2], [2, 0]], ∂H/∂y = [[2, 0], [0, 0]].
        out[0] = 6.0 * u[0] * v[0] + 2.0 * (u[0] * v[1] + u[1] * v[0]);
        out[1] = 2.0 * u[0] * v[0];
    }
}

/// [`Fig2`] translated so that its minimum is at `center`.
pub struct Shifted {
    pub center: Vec<f64>,
}

impl Shifted {
    fn local(&self, p: &[f64]) -> Vec<f64> {
        p.iter().zip(&self.center).map(|(a, b)| a - b).collect()
    }
}

impl Objective for Shifted {
    fn dim(&self) -> usize {
        2
    }
    fn value_grad(&self, p: &[f64], g: &mut [f64]) -> f64 {
        Fig2.value_grad(&self.local(p), g)
    }
    fn hvp(&self, p: &[f64], v: &[f64], out: &mut [f64]) {
        Fig2.hvp(&self.local(p), v, out);
    }
    fn third_order(&self, p: &[f64], u: &[f64], v: &[f64], out: &mut [f64]) {
        Fig2.third_order(&self.local(p), u, v, out);
    }
}

/// `f = ½ xᵀAx + Σ_m c_m (a_mᵀx)³`: minimum at 0 with Hessian `A`.
#[derive(Debug)]
pub struct QuadCubic {
    pub a: nalgebra::DMatrix<f64>,
    pub cubic: Vec<(f64, Vec<f64>)>,
}

impl Objective for QuadCubic {
    fn dim(&self) -> usize {
        self.a.nrows()
    }
    fn value_grad(&self, x: &[f64], g: &mut [f64]) -> f64 {
        let xv = nalgebra::DVector::from_column_slice(x);
        let ax = &self.a * &xv;
        g.copy_from_slice(ax.as_slice());
        let mut f = 0.5 * xv.dot(&ax);
        for (c, a) in &self.cubic {
            let t = gdscope_core::linalg::dot(a, x);
            f += c * t * t * t;
            for (gi, ai) in g.iter_mut().zip(a) {
                *gi += 3.0 * c * t * t * ai;
            }
        }
        f
    }
    fn hvp(&self, x: &[f64], v: &[f64], out: &mut [f64]) {
        let hv = &self.a * nalgebra::DVector::from_column_slice(v);
        out.copy_from_slice(hv.as_slice());
        for (c, a) in &self.cubic {
            let s = 6.0 * c * gdscope_core::linalg::dot(a, x) * gdscope_core::linalg::dot(a, v);
            for (o, ai) in out.iter_mut().zip(a) {
                *o += s * ai;
            }
        }
    }
    fn third_order(&self, _x: &[f64], u: &[f64], v: &[f64], out: &mut [f64]) {
        out.fill(0.0);
        for (c, a) in &self.cubic {
            let s = 6.0 * c * gdscope_core::linalg::dot(a, u) * gdscope_core::linalg::dot(a, v);
            for (o, ai) in out.iter_mut().zip(a) {
                *o += s * ai;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Central differences of the gradient against the HVP, and of the HVP against the
    /// third-order vector.
    fn check_derivatives(obj: &dyn Objective, x: &[f64]) {
        let n = obj.dim();
        let h = 1e-5;
        let u: Vec<f64> = (0..n).map(|i| 0.3 + 0.1 * i as f64).collect();
        let v: Vec<f64> = (0..n).map(|i| -0.2 + 0.25 * i as f64).collect();
        let shift = |s: f64| -> Vec<f64> { x.iter().zip(&v).map(|(a, b)| a + s * b).collect() };
        let (mut gp, mut gm) = (vec![0.0; n], vec![0.0; n]);
        let fp = obj.value_grad(&shift(h), &mut gp);
        let fm = obj.value_grad(&shift(-h), &mut gm);
        let mut g = vec![0.0; n];
        obj.value_grad(x, &mut g);
        let fd = (fp - fm) / (2.0 * h);
        assert!(
            (fd - gdscope_core::linalg::dot(&g, &v)).abs() < 1e-8,
            "gradient"
        );
        let mut hv = vec![0.0; n];
        obj.hvp(x, &v, &mut hv);
        for i in 0..n {
            assert!(((gp[i] - gm[i]) / (2.0 * h) - hv[i]).abs() < 1e-8, "hvp");
        }
        let (mut hp, mut hm) = (vec![0.0; n], vec![0.0; n]);
        obj.hvp(&shift(h), &u, &mut hp);
        obj.hvp(&shift(-h), &u, &mut hm);
        let mut t = vec![0.0; n];
        obj.third_order(x, &u, &v, &mut t);
        // d/ds [H(x + s v) u] at s = 0 is ∇³f[u, v, ·] = third_order(u, v).
        for i in 0..n {
            assert!(
                ((hp[i] - hm[i]) / (2.0 * h) - t[i]).abs() < 1e-8,
                "third order"
            );
        }
    }

    #[test]
    fn closed_forms_match_finite_differences() {
        let x = [0.3, -0.2];
        check_derivatives(&Fig1, &x);
        check_derivatives(&Fig1Perturbed, &x);
        check_derivatives(&Fig2, &x);
        check_derivatives(
            &Shifted {
                center: vec![1.0, 2.0],
            },
            &x,
        );
        let qc = QuadCubic {
            a: nalgebra::DMatrix::from_row_slice(
                3,
                3,
                &[2.0, 0.5, 0.0, 0.5, 1.0, 0.2, 0.0, 0.2, 3.0],
            ),
            cubic: vec![(0.7, vec![1.0, -0.5, 0.3]), (-0.4, vec![0.2, 0.9, -1.0])],
        };
        check_derivatives(&qc, &[0.1, -0.3, 0.25]);
    }
}
