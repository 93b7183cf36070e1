//! The command-line surface as a whole: every numeric option takes negative values, and
//! every command's `--help` ends with examples.

use crate::{command, parse};

/// Every numeric option of every (sub)command takes a value starting with `-`: a number for
/// scalars, a comma list for lists. The parse may still fail later (a missing required
/// argument, a negative count), but never with "unexpected argument '-1'".
#[test]
fn every_numeric_option_takes_negative_values() {
    fn walk(cmd: &clap::Command, path: &mut Vec<String>, checked: &mut usize) {
        for arg in cmd.get_arguments() {
            let Some(long) = arg.get_long() else { continue };
            if !crate::takes_numbers(arg) {
                continue;
            }
            let value = if arg.get_value_delimiter().is_some() {
                "-1,2"
            } else {
                "-1"
            };
            let argv = [
                vec!["gdscope".to_string()],
                path.clone(),
                vec![format!("--{long}"), value.into()],
            ]
            .concat();
            if let Err(e) = parse(&argv) {
                use clap::error::ErrorKind::*;
                assert!(
                    matches!(
                        e.kind(),
                        MissingRequiredArgument
                            | InvalidValue
                            | ValueValidation
                            | MissingSubcommand
                    ),
                    "{argv:?}: {:?}: {e}",
                    e.kind()
                );
            }
            *checked += 1;
        }
        for sub in cmd.get_subcommands() {
            path.push(sub.get_name().to_string());
            walk(sub, path, checked);
            path.pop();
        }
    }
    let mut checked = 0;
    walk(&command(), &mut Vec::new(), &mut checked);
    assert!(checked > 40, "only {checked} numeric options found");
}

/// Negative values in comma lists and scalars reach the commands.
#[test]
fn negative_numbers_in_lists_and_scalars_parse() {
    for argv in [
        &[
            "gdscope",
            "objectives",
            "--objective",
            "paper-fig2",
            "--at",
            "-0.1,0.2",
        ][..],
        &[
            "gdscope",
            "direction",
            "--objective",
            "quadratic",
            "--spectrum",
            "-1,2",
            "--lr",
            "0.1",
            "--x0",
            "-0.1,0.2",
        ],
        &[
            "gdscope",
            "direction",
            "--objective",
            "paper-fig2",
            "--lr",
            "-0.1",
            "--x0",
            "0.1,0.1",
        ],
        &[
            "gdscope",
            "basin",
            "--objective",
            "paper-fig2",
            "--lr",
            "0.1",
            "--x-range",
            "-1,-0.5",
        ],
    ] {
        if let Err(e) = parse(argv) {
            panic!("{argv:?}: {e}");
        }
    }
}

/// Every command and subcommand (`data describe`, …) shows examples in its `--help`.
#[test]
fn every_command_has_examples_in_its_help() {
    fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
        let path = format!("{path} {}", cmd.get_name()).trim().to_string();
        let help = cmd
            .get_after_help()
            .map(|h| h.to_string())
            .unwrap_or_default();
        let leaf = cmd.get_subcommands().next().is_none();
        let example = format!("Examples:\n  {}", "gdscope");
        if leaf && !(help.contains(&example) && help.contains(&path)) {
            missing.push(path.clone());
        }
        for sub in cmd.get_subcommands() {
            walk(sub, &path, missing);
        }
    }
    let mut missing = Vec::new();
    walk(&command(), "", &mut missing);
    assert!(missing.is_empty(), "no examples in --help of: {missing:?}");
}
