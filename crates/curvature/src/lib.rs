//! gdscope-curvature (being built).
