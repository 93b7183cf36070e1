//! gdscope-nn (being built).
