//! Fuzzes the expression parser with arbitrary bytes: `cargo +nightly fuzz run expr_parse`
//! (docs/expressions.md). The property is the one the CI proptest checks
//! (`crates/expr/tests/support/parse_check.rs`): no panic, printing round-trips, the parsed
//! objective evaluates.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../crates/expr/tests/support/parse_check.rs"]
mod parse_check;

fuzz_target!(|data: &[u8]| {
    if let Ok(src) = std::str::from_utf8(data) {
        parse_check::check(src);
    }
});
