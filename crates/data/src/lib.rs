//! gdscope-data (being built).
