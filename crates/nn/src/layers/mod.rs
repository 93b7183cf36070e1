//! Layer implementations, one per file.

pub mod activation;
pub mod linear;

pub use activation::{Activation, ActivationLayer};
pub use linear::Linear;
