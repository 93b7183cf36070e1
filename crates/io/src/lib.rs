//! gdscope-io (being built).
