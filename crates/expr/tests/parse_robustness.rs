//! The parser on arbitrary input, in CI: the same check as the cargo-fuzz target
//! `fuzz/fuzz_targets/expr_parse.rs` (see `support/parse_check.rs`), fed by proptest with
//! random printable text, random token soups (which parse far more often than random
//! characters) and pathological nesting.

#[path = "support/parse_check.rs"]
mod parse_check;

use gdscope_expr::parser::{MAX_DEPTH, MAX_NESTING};
use gdscope_expr::{parse, ExprObjective};
use parse_check::check;
use proptest::prelude::*;

/// Pieces of the grammar, plus a few that are not part of it.
fn token() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "x", "y", "z", "x2", "_a", "pi", "e", "(", ")", "(", ")", "+", "-", "*", "/", "^",
            "**", " ", "exp", "log", "sqrt", "sin", "tanh", "sigmoid", "softplus", "exp(", "log(",
            "0", "1", "2.5", "1e-3", "1e308", "1e309", ".5", "3.", "1e", ".", ",", "ζ", "\t",
        ])
        .prop_map(str::to_string),
        (0u32..1000).prop_map(|n| n.to_string()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn printable_text_never_panics(src in "[ -~]{0,40}") {
        check(&src);
    }

    #[test]
    fn token_soup_never_panics(tokens in prop::collection::vec(token(), 0..24)) {
        check(&tokens.concat());
    }

    #[test]
    fn any_unicode_never_panics(src in "\\PC{0,24}") {
        check(&src);
    }
}

/// Nesting beyond [`MAX_NESTING`] and trees deeper than [`MAX_DEPTH`] are a parse error
/// with a caret, not a stack overflow; at the limits they parse, build and print — on a
/// thread with a 2 MiB stack (the default for spawned threads, rayon workers included).
#[test]
fn depth_is_bounded_and_the_bound_is_safe() {
    // `(-(-(… x …)))`: two levels per repetition (parenthesis and sign).
    let nested = move |reps: usize| format!("{}x{}", "(-".repeat(reps), ")".repeat(reps));
    let chain = move |terms: usize| vec!["x"; terms].join(" + ");
    // A long chain ending in a deeply nested term: as deep a tree as allowed.
    let deepest = format!(
        "{} + {}",
        chain(MAX_DEPTH - MAX_NESTING - 2),
        nested(MAX_NESTING / 2 - 1)
    );
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || {
            for src in [
                nested(MAX_NESTING / 2 + 1),
                chain(MAX_DEPTH + 2),
                "-".repeat(1_000_000) + "x",
                "(".repeat(1_000_000),
            ] {
                let e = parse(&src, None).unwrap_err().to_string();
                assert!(e.contains("levels deep"), "{}", &e[..e.len().min(300)]);
            }
            for src in [nested(MAX_NESTING / 2 - 1), chain(MAX_DEPTH - 1), deepest] {
                let f = ExprObjective::new(&src, None).unwrap();
                let printed = f.expr().to_string();
                assert_eq!(parse(&printed, None).unwrap().expr, *f.expr());
            }
        })
        .unwrap()
        .join()
        .unwrap();
}
