//! # gdscope-expr
//!
//! Analytic objectives written as expressions of named variables, with exact derivatives
//! (`docs/expressions.md`):
//!
//! - [`parse`]: `+ - * / ^ **`, unary minus, parentheses, numbers with exponents, `pi`,
//!   `e` and the functions of [`Func`]; errors quote the source with a caret.
//! - [`ExprObjective`]: a [`gdscope_core::Objective`] whose gradient, Hessian-vector
//!   product and third-order vector `∇(uᵀHv)` are exact, from a reverse sweep over the
//!   expression DAG run on `num-dual` numbers (`docs/theory.md` §1–5 use them).
//! - [`builtin`]: the families `quadratic` (spectrum, rotation, cubic term), `rosenbrock`
//!   and the paper's `paper-fig1`, `paper-fig1-perturbed`, `paper-fig2` (theory §2).
//! - [`GradientKernel`]: the symbolic gradient compiled to a vectorized batch kernel for
//!   many points at once (basin maps).

pub mod ast;
pub mod builtins;
pub mod error;
pub mod func;
pub mod graph;
pub mod kernel;
pub mod objective;
pub mod parser;
pub mod symbolic;
pub mod tape;

pub use ast::Expr;
pub use builtins::{builtin, builtin_names, Builtin, BuiltinParams};
pub use error::{ExprError, ParseError};
pub use func::Func;
pub use kernel::{GradientKernel, KernelScratch};
pub use objective::ExprObjective;
pub use parser::{parse, Parsed};
