//! One module per subcommand.

pub mod basin;
pub mod bench;
pub mod curvature;
pub mod data;
pub mod direction;
pub mod info;
pub mod inspect;
pub mod objectives;
pub mod plot;
pub mod probe;
pub mod reproduce;
pub mod reproduce_train;
pub mod sweep;
pub mod sweep_lr;
pub mod train;
