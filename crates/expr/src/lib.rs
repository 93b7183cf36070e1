//! gdscope-expr (being built).
