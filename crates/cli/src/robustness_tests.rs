//! No user input makes an analysis command panic: random and extreme starts, learning rates,
//! spectra, ranges and step counts go through the real argument parser and command code of
//! `direction`, `sweep-lr`, `basin`, `objectives` and `reproduce`. Every case must end in a
//! result (divergence included) or an error message; a panic fails the property.

use proptest::prelude::*;

use crate::{dispatch, parse};

/// Runs `gdscope ARGS…` in-process and says whether it produced a result; an argument
/// error or a command error is fine, a panic is not.
fn run(args: &[String]) -> bool {
    let argv = std::iter::once("gdscope".to_string()).chain(args.iter().cloned());
    parse(argv).is_ok_and(|cli| dispatch(cli).is_ok())
}

/// Numbers a user might type: ordinary ones, zero, tiny and huge magnitudes, the divergence
/// bound of the run loop, non-finite spellings.
fn number() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => (-2.0f64..2.0).prop_map(|v| v.to_string()),
        1 => prop::sample::select(vec![
            "0", "-0", "nan", "NaN", "inf", "-inf", "1e300", "-1e300", "2e8", "1e-300",
            "5e-324", "1.7976931348623157e308", "1e16", "-1e-9", "0.5", "3",
        ])
        .prop_map(str::to_string),
    ]
}

fn list(len: impl Into<prop::collection::SizeRange>) -> impl Strategy<Value = String> {
    join(prop::collection::vec(number(), len))
}

fn join(values: impl Strategy<Value = Vec<String>>) -> impl Strategy<Value = String> {
    values.prop_map(|v| v.join(","))
}

/// Mostly what the command expects (positive, moderate), sometimes anything [`number`] gives.
fn plausible(lo: f64, hi: f64) -> impl Strategy<Value = String> {
    prop_oneof![3 => (lo..hi).prop_map(|v| v.to_string()), 1 => number()]
}

/// A point of `dim` coordinates most of the time, of another length sometimes.
fn point(dim: usize) -> impl Strategy<Value = String> {
    prop_oneof![
        4 => join(prop::collection::vec(plausible(-1.0, 1.0), dim)),
        1 => list(1..4),
    ]
}

/// `--objective …` or `--expr …` arguments with the number of variables: built-ins,
/// quadratics whose spectra may hold zero, negative and extreme eigenvalues, and
/// expressions with restricted domains.
fn objective() -> impl Strategy<Value = (Vec<String>, usize)> {
    let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let builtin = prop::sample::select(vec![
        "paper-fig1",
        "paper-fig1-perturbed",
        "paper-fig2",
        "rosenbrock",
    ])
    .prop_map(move |name| (args(&["--objective", name]), 2));
    let quadratic = (1usize..4).prop_flat_map(|n| {
        (
            join(prop::collection::vec(plausible(0.1, 10.0), n)),
            prop::option::of(0u64..5),
            prop::option::of(number()),
        )
            .prop_map(move |(spectrum, seed, cubic)| {
                let mut a = vec![
                    "--objective".into(),
                    "quadratic".into(),
                    "--spectrum".into(),
                    spectrum,
                ];
                if let Some(s) = seed {
                    a.extend(["--rotate-seed".into(), s.to_string()]);
                }
                if let Some(c) = cubic {
                    a.extend(["--cubic".into(), c]);
                }
                (a, n)
            })
    });
    let expr = prop::sample::select(vec![
        ("log(x) + y^2", 2),
        ("sqrt(x) + sqrt(y)", 2),
        ("x^2/2 + 2*y^2 + x*y^2 + y^3", 2),
        ("exp(x*y) - x", 2),
        ("1/x + y^4", 2),
        ("x^3 + x^2", 1),
    ])
    .prop_map(move |(e, n)| (args(&["--expr", e]), n));
    prop_oneof![builtin, quadratic, expr]
}

/// Runs `cases` random command lines from `strategy` (a panic fails the run and is shrunk
/// to a minimal command line) and returns how many reached a result (`Ok`), so a test can
/// check that it exercises the commands rather than only their argument errors.
fn check(strategy: impl Strategy<Value = Vec<String>>, cases: u32) -> u32 {
    let ok = std::sync::atomic::AtomicU32::new(0);
    let config = ProptestConfig {
        cases,
        source_file: Some(file!()),
        ..ProptestConfig::default()
    };
    let mut runner = proptest::test_runner::TestRunner::new(config);
    let outcome = runner.run(&strategy, |args| {
        if run(&args) {
            ok.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        Ok(())
    });
    if let Err(e) = outcome {
        panic!("{e}");
    }
    let ok = ok.into_inner();
    eprintln!("{ok} of {cases} command lines reached a result");
    ok
}

fn command_line(name: &str, parts: Vec<Vec<String>>) -> Vec<String> {
    [
        vec![name.to_string()],
        parts.concat(),
        vec!["--json".to_string()],
    ]
    .concat()
}

fn flag(name: &str, value: String) -> Vec<String> {
    vec![format!("--{name}"), value]
}

fn optional(
    name: &'static str,
    value: impl Strategy<Value = String>,
) -> impl Strategy<Value = Vec<String>> {
    prop::option::of(value).prop_map(move |v| v.map_or_else(Vec::new, |v| flag(name, v)))
}

#[test]
fn direction_never_panics() {
    let lines = objective().prop_flat_map(|(obj, n)| {
        (
            plausible(0.01, 2.0),
            point(n),
            optional("minimum", point(n)),
            0usize..300,
        )
            .prop_map(move |(lr, x0, minimum, steps)| {
                command_line(
                    "direction",
                    vec![
                        obj.clone(),
                        flag("lr", lr),
                        flag("x0", x0),
                        minimum,
                        flag("steps", steps.to_string()),
                    ],
                )
            })
    });
    let ok = check(lines, 160);
    assert!(ok >= 32, "only {ok} of 160 command lines reached a result");
}

#[test]
fn sweep_lr_never_panics() {
    let lines = objective().prop_flat_map(|(obj, n)| {
        (
            point(n),
            optional("lr-range", list(2..3)),
            0usize..5,
            0usize..200,
        )
            .prop_map(move |(x0, range, count, steps)| {
                command_line(
                    "sweep-lr",
                    vec![
                        obj.clone(),
                        flag("x0", x0),
                        range,
                        flag("count", count.to_string()),
                        flag("steps", steps.to_string()),
                    ],
                )
            })
    });
    let ok = check(lines, 96);
    assert!(ok >= 10, "only {ok} of 96 command lines reached a result");
}

#[test]
fn basin_never_panics() {
    // Mostly ordered ranges a < b, sometimes any two numbers.
    let range = || {
        prop_oneof![
            3 => (-1.0f64..0.5, 0.01f64..1.0).prop_map(|(a, w)| format!("{a},{}", a + w)),
            1 => join(prop::collection::vec(plausible(-1.0, 1.0), 2)),
        ]
    };
    let lines = (
        objective(),
        plausible(0.01, 2.0),
        range(),
        range(),
        0usize..6,
        0usize..60,
    )
        .prop_map(|((obj, _), lr, xr, yr, resolution, steps)| {
            command_line(
                "basin",
                vec![
                    obj,
                    flag("lr", lr),
                    flag("x-range", xr),
                    flag("y-range", yr),
                    flag("resolution", resolution.to_string()),
                    flag("steps", steps.to_string()),
                ],
            )
        });
    let ok = check(lines, 128);
    assert!(ok >= 13, "only {ok} of 128 command lines reached a result");
}

#[test]
fn objectives_never_panics() {
    let lines = objective().prop_flat_map(|(obj, n)| {
        point(n).prop_map(move |at| command_line("objectives", vec![obj.clone(), flag("at", at)]))
    });
    let ok = check(lines, 160);
    assert!(ok >= 32, "only {ok} of 160 command lines reached a result");
}

/// `reproduce` takes no numbers, only a place to write: an unusable one is an error.
#[test]
fn reproduce_into_a_file_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("taken");
    std::fs::write(&file, "not a directory").unwrap();
    for name in ["paper-fig1", "paper-fig2"] {
        let cli = parse([
            "gdscope",
            "reproduce",
            name,
            "--out",
            file.to_str().unwrap(),
        ])
        .unwrap();
        assert!(dispatch(cli).is_err());
    }
}
