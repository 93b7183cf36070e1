//! One module per subcommand.

pub mod data;
pub mod info;
pub mod probe;
pub mod bench;
pub mod curvature;
pub mod train;
pub mod objectives;
pub mod basin;
pub mod direction;
pub mod reproduce;
pub mod sweep_lr;
pub mod reproduce_train;
pub mod inspect;
pub mod plot;
