//! Layer implementations, one per file.

pub mod activation;
pub mod activation_jet;
pub mod attention;
pub mod conv2d;
pub(crate) mod jmat;
pub mod layer_norm;
pub mod linear;
pub mod no_bias;
pub mod patch_embed;
pub mod pool;
pub mod residual;
pub mod scaled_init;
pub mod sequential;

pub use activation::{Activation, ActivationLayer};
pub use attention::Attention;
pub use conv2d::Conv2d;
pub use layer_norm::LayerNorm;
pub use linear::Linear;
pub use no_bias::NoBias;
pub use patch_embed::{Patchify, PosEmbed};
pub use pool::{MeanTokens, Pool2d, PoolKind};
pub use residual::Residual;
pub use scaled_init::ScaledInit;
pub use sequential::Sequential;
