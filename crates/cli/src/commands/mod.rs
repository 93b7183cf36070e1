//! One module per subcommand.

pub mod data;
pub mod info;
pub mod probe;
pub mod bench;
pub mod curvature;
