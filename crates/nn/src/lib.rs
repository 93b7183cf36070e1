//! # gdscope-nn
//!
//! Exact derivatives of neural-network losses — gradient, Hessian-vector products (single and
//! block) and third-order vectors `∇_w(uᵀH(w)v)` — by **forward-over-reverse Taylor jets**:
//! the weights are seeded as `w + Σ εᵢuᵢ`, every tensor of an ordinary reverse pass becomes a
//! truncated polynomial in the `εᵢ` whose coefficients are separate `f32`/`f64` matrices, and
//! products expand into GEMMs (the `gemm` crate). See `docs/engine.md` for the rules of every
//! op, the parameter layout and how to add a layer.
//!
//! Entry point for analyzers: [`NetworkObjective`], which implements
//! [`gdscope_core::Objective`].

pub mod algebra;
pub mod engine;
pub mod error;
pub mod float;
pub mod jet;
pub mod layer;
pub mod layers;
pub mod loss;
pub mod matmul;
pub mod model;
pub mod model_specs;
pub mod objective;
pub mod par;
pub use gdscope_core::simd;
pub mod vec_math;
pub mod workload;

pub use algebra::Algebra;
pub use error::NnError;
pub use float::Float;
pub use layer::{Init, Layer};
pub use loss::Loss;
pub use model::{Model, ParamView};
pub use objective::{Dtype, NetworkObjective};
