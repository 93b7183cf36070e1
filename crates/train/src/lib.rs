//! gdscope-train (being built).
