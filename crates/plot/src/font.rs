//! The embedded font, registered once with plotters' `ab_glyph` text backend.

use std::sync::OnceLock;

use anyhow::{anyhow, Result};
use plotters::style::{register_font, FontStyle};

/// DejaVu Sans; see `assets/LICENSE-DejaVu`.
static DEJAVU_SANS: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");

/// The family name every text style in this crate uses.
pub(crate) const FAMILY: &str = "sans-serif";

/// Registers DejaVu Sans as [`FAMILY`] (all styles fall back to it); idempotent.
pub(crate) fn ensure_registered() -> Result<()> {
    static DONE: OnceLock<bool> = OnceLock::new();
    let ok = *DONE.get_or_init(|| register_font(FAMILY, FontStyle::Normal, DEJAVU_SANS).is_ok());
    if ok {
        Ok(())
    } else {
        Err(anyhow!("the embedded DejaVu Sans font could not be loaded"))
    }
}
