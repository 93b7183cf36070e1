//! `gdscope objectives`: list the built-in objectives, or evaluate one objective (value,
//! exact gradient, Hessian and its eigenvalues) at a point. See `docs/expressions.md`.

use std::fmt::Write as _;
use std::io::Write as _;

use anyhow::{bail, Result};
use gdscope_core::linalg::sym_eigen;
use gdscope_core::Objective;
use gdscope_expr::{builtin, builtin_names, BuiltinParams};
use serde_json::json;

use crate::objective_args::ObjectiveArgs;

/// Arguments of `gdscope objectives`.
#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  gdscope objectives\n  gdscope objectives --objective paper-fig2 --at 0.1,-0.2 --json\n  gdscope objectives --expr 'sin(x)*exp(y)' --at 0.5,0.1"
)]
pub struct Args {
    #[command(flatten)]
    objective: ObjectiveArgs,
    /// Point to evaluate at, comma-separated (default: the built-in's start x0).
    #[arg(long, value_name = "a,b,..", value_delimiter = ',')]
    at: Option<Vec<f64>>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

/// Lists built-ins (no objective given) or evaluates the given objective.
pub fn run(args: Args) -> Result<()> {
    if args.objective.spec().is_given() {
        evaluate(&args)
    } else if args.at.is_some() {
        bail!("--at needs an objective: add --expr EXPR or --objective NAME")
    } else {
        list(args.json)
    }
}

/// Writes `text` to stdout; a closed pipe (`| head`) is reported as an error, not a panic.
fn emit(text: &str) -> Result<()> {
    std::io::stdout().lock().write_all(text.as_bytes())?;
    Ok(())
}

fn list(as_json: bool) -> Result<()> {
    let mut text = String::new();
    let mut items = Vec::new();
    for name in builtin_names() {
        let b = builtin(name, &BuiltinParams::default())?;
        if as_json {
            items.push(json!({
                "name": b.name, "expr": b.expr, "vars": b.vars, "x0": b.x0,
                "minimum": b.minimum, "description": b.description,
            }));
        } else {
            writeln!(
                text,
                "{}\n  f(x) = {}\n  vars {}   x0 {}\n  {}\n",
                b.name,
                b.expr,
                b.vars.join(", "),
                fmt_vec(&b.x0),
                b.description
            )?;
        }
    }
    if as_json {
        writeln!(text, "{}", json!({ "objectives": items }))?;
    } else {
        writeln!(text, "quadratic takes --spectrum a,b,.. --rotate-seed N --cubic C --dim N; rosenbrock takes --dim N.")?;
        writeln!(text, "Evaluate one with: gdscope objectives --objective NAME [--at a,b,..] or --expr EXPR --at a,b,..")?;
    }
    emit(&text)
}

fn evaluate(args: &Args) -> Result<()> {
    let r = args.objective.spec().resolve()?;
    let n = r.vars.len();
    let x = match (&args.at, &r.default_x0) {
        (Some(at), _) => at.clone(),
        (None, Some(x0)) => x0.clone(),
        (None, None) => bail!(
            "give the point with --at ({} comma-separated values for {})",
            n,
            r.vars.join(", ")
        ),
    };
    if x.len() != n {
        bail!(
            "--at has {} values but the objective has {n} variables ({}); give one value per variable",
            x.len(),
            r.vars.join(", ")
        );
    }
    let f = &r.objective;
    let mut grad = vec![0.0; n];
    let value = f.value_grad(&x, &mut grad);
    let h = f.hessian(&x);
    let finite =
        value.is_finite() && grad.iter().all(|v| v.is_finite()) && h.iter().all(|v| v.is_finite());
    if !finite {
        bail!(
            "the value, gradient or Hessian at {} is not finite (value {value}); the point is outside the domain of the expression",
            fmt_vec(&x)
        );
    }
    let eig = sym_eigen(&h);
    let rows: Vec<Vec<f64>> = (0..n).map(|i| h.row(i).iter().copied().collect()).collect();
    let mut text = String::new();
    if args.json {
        let v = json!({
            "name": r.name, "expr": r.expr, "vars": r.vars, "at": x, "value": value,
            "gradient": grad, "hessian": rows, "eigenvalues": eig.values,
            "known_minimum": r.known_minimum, "description": r.description,
        });
        writeln!(text, "{v}")?;
    } else {
        writeln!(text, "objective   {} ({})", r.name, r.description)?;
        writeln!(text, "f(x)        {}", r.expr)?;
        writeln!(text, "variables   {}", r.vars.join(", "))?;
        writeln!(text, "at          {}", fmt_vec(&x))?;
        writeln!(text, "value       {value}")?;
        writeln!(text, "gradient    {}", fmt_vec(&grad))?;
        for (i, row) in rows.iter().enumerate() {
            let label = if i == 0 { "hessian" } else { "" };
            writeln!(text, "{label:<11} {}", fmt_vec(row))?;
        }
        writeln!(text, "eigenvalues {} (ascending)", fmt_vec(&eig.values))?;
        if let Some(m) = &r.known_minimum {
            writeln!(text, "minimum     {} (known)", fmt_vec(m))?;
        }
    }
    emit(&text)
}

fn fmt_vec(v: &[f64]) -> String {
    let parts: Vec<String> = v.iter().map(|x| format!("{x}")).collect();
    format!("[{}]", parts.join(", "))
}
