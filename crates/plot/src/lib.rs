//! gdscope-plot (being built).
