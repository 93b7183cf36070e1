//! The elementary functions an expression may call, with their values and first derivatives
//! on any `num-dual` scalar (so that the derivatives of the derivatives are exact too).

use num_dual::DualNum;

/// A scalar type the evaluator runs on: `f64` or a `num-dual` number over `f64`.
pub trait Scalar: DualNum<Primitive = f64> + Copy {}
impl<T: DualNum<Primitive = f64> + Copy> Scalar for T {}

/// An elementary function of one argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Func {
    /// `exp(a)`
    Exp,
    /// natural logarithm `log(a)`
    Log,
    /// `sqrt(a)`
    Sqrt,
    /// `sin(a)`
    Sin,
    /// `cos(a)`
    Cos,
    /// `tan(a)`
    Tan,
    /// `tanh(a)`
    Tanh,
    /// `sinh(a)`
    Sinh,
    /// `cosh(a)`
    Cosh,
    /// logistic `sigmoid(a) = 1/(1+e^{−a})`
    Sigmoid,
    /// `softplus(a) = log(1+e^a)`
    Softplus,
}

impl Func {
    /// Every function, in the order they are listed to users.
    pub const ALL: [Func; 11] = [
        Func::Exp,
        Func::Log,
        Func::Sqrt,
        Func::Sin,
        Func::Cos,
        Func::Tan,
        Func::Tanh,
        Func::Sinh,
        Func::Cosh,
        Func::Sigmoid,
        Func::Softplus,
    ];

    /// The name used in expressions.
    pub fn name(self) -> &'static str {
        match self {
            Func::Exp => "exp",
            Func::Log => "log",
            Func::Sqrt => "sqrt",
            Func::Sin => "sin",
            Func::Cos => "cos",
            Func::Tan => "tan",
            Func::Tanh => "tanh",
            Func::Sinh => "sinh",
            Func::Cosh => "cosh",
            Func::Sigmoid => "sigmoid",
            Func::Softplus => "softplus",
        }
    }

    /// The function called `name`, if any.
    pub fn from_name(name: &str) -> Option<Func> {
        Func::ALL.into_iter().find(|f| f.name() == name)
    }

    /// `f(a)` on any scalar. `sigmoid` and `softplus` use the overflow-free forms
    /// `e^a/(1+e^a)` for `a < 0` and `max(a,0) + log1p(e^{−|a|})`.
    pub fn eval<T: Scalar>(self, a: T) -> T {
        match self {
            Func::Exp => a.exp(),
            Func::Log => a.ln(),
            Func::Sqrt => a.sqrt(),
            Func::Sin => a.sin(),
            Func::Cos => a.cos(),
            Func::Tan => a.tan(),
            Func::Tanh => a.tanh(),
            Func::Sinh => a.sinh(),
            Func::Cosh => a.cosh(),
            Func::Sigmoid => {
                if a.re() >= 0.0 {
                    (T::one() + (-a).exp()).recip()
                } else {
                    let ea = a.exp();
                    ea / (T::one() + ea)
                }
            }
            Func::Softplus => {
                if a.re() > 0.0 {
                    a + (-a).exp().ln_1p()
                } else {
                    a.exp().ln_1p()
                }
            }
        }
    }

    /// `f'(a)` given `a` and `y = f(a)` (reusing `y` where the derivative is a function of it).
    pub fn derivative<T: Scalar>(self, a: T, y: T) -> T {
        match self {
            Func::Exp => y,
            Func::Log => a.recip(),
            Func::Sqrt => (y * 2.0).recip(),
            Func::Sin => a.cos(),
            Func::Cos => -a.sin(),
            Func::Tan => T::one() + y * y,
            Func::Tanh => T::one() - y * y,
            Func::Sinh => a.cosh(),
            Func::Cosh => a.sinh(),
            Func::Sigmoid => y * (T::one() - y),
            Func::Softplus => Func::Sigmoid.eval(a),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for f in Func::ALL {
            assert_eq!(Func::from_name(f.name()), Some(f));
        }
        assert_eq!(Func::from_name("foo"), None);
    }

    #[test]
    fn derivatives_match_central_differences() {
        let h = 1e-6;
        for f in Func::ALL {
            for a in [-2.3f64, -0.4, 0.3, 0.9, 1.7] {
                if matches!(f, Func::Log | Func::Sqrt) && a <= 0.0 {
                    continue;
                }
                let fd: f64 = (f.eval(a + h) - f.eval(a - h)) / (2.0 * h);
                let d: f64 = f.derivative(a, f.eval(a));
                assert!(
                    (fd - d).abs() < 1e-8 * (1.0 + d.abs()),
                    "{} at {a}: {d} vs {fd}",
                    f.name()
                );
            }
        }
    }

    #[test]
    fn sigmoid_and_softplus_do_not_overflow() {
        assert_eq!(Func::Sigmoid.eval(-1000.0), 0.0);
        assert_eq!(Func::Sigmoid.eval(1000.0), 1.0);
        assert_eq!(Func::Softplus.eval(1000.0), 1000.0);
        assert_eq!(Func::Softplus.eval(-1000.0), 0.0);
        assert!((Func::Softplus.eval(0.0) - 2f64.ln()).abs() < 1e-16);
    }
}
