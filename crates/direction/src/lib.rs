//! gdscope-direction (being built).
