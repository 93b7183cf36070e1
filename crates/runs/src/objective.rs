//! An analytic objective as a spec: an expression (`expr`, `vars`) or a built-in family
//! (`objective` with `spectrum`, `rotate_seed`, `cubic`, `dim`) — the `[objective]` table of
//! the direction, sweep-lr and basin specs, and what the CLI's `--expr` / `--objective`
//! flags fill in. [`ObjectiveSpec::resolve`] builds it. Grammar and built-ins:
//! `docs/expressions.md`.

use anyhow::{bail, Result};
use gdscope_expr::{builtin, builtin_names, BuiltinParams, ExprObjective};
use serde::{Deserialize, Serialize};

/// How the objective is given (saved verbatim into run configs; unset fields are left out).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObjectiveSpec {
    /// The function as an expression, e.g. `x^2/2 + 2*y^2 + x*y^2`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expr: Option<String>,
    /// Variable order for `expr` (default: the expression's names in alphabetical order,
    /// x2 before x10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vars: Option<Vec<String>>,
    /// A built-in objective: quadratic, rosenbrock, paper-fig1, paper-fig1-perturbed, paper-fig2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub objective: Option<String>,
    /// quadratic: Hessian eigenvalues at the minimum 0 (default 1,2,..,n).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spectrum: Option<Vec<f64>>,
    /// quadratic: rotate the eigenbasis by a random orthogonal matrix from this seed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotate_seed: Option<u64>,
    /// quadratic: add C·Σ y_k³ in eigen-coordinates (keeps 0 a minimum with the same Hessian).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cubic: Option<f64>,
    /// quadratic / rosenbrock: number of dimensions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dim: Option<usize>,
}

/// A resolved objective with what the run config should record about it.
#[derive(Debug, Clone, Serialize)]
pub struct ResolvedObjective {
    /// The objective itself (not serialized: `expr` and `vars` rebuild it).
    #[serde(skip)]
    pub objective: ExprObjective,
    /// The built-in's name, or `expr` for a user expression.
    pub name: String,
    /// The exact expression evaluated.
    pub expr: String,
    /// Variables in coordinate order.
    pub vars: Vec<String>,
    /// The built-in's default start (none for `--expr`).
    pub default_x0: Option<Vec<f64>>,
    /// The built-in's known minimum (none for `--expr`).
    pub known_minimum: Option<Vec<f64>>,
    /// One-line description.
    pub description: String,
}

impl ObjectiveSpec {
    /// Whether `--expr` or `--objective` was given.
    pub fn is_given(&self) -> bool {
        self.expr.is_some() || self.objective.is_some()
    }

    /// Parses the expression or builds the built-in. Exactly one of `--expr` and
    /// `--objective` must be given; built-in parameters only go with `--objective`.
    pub fn resolve(&self) -> Result<ResolvedObjective> {
        match (&self.expr, &self.objective) {
            (Some(_), Some(_)) => bail!(
                "give either --expr or --objective, not both (--objective NAME is shorthand for a built-in expression)"
            ),
            (None, None) => bail!(
                "no objective: give --expr 'x^2/2 + 2*y^2' or --objective NAME (built-ins: {}; `gdscope objectives` lists them)",
                builtin_names().join(", ")
            ),
            (Some(src), None) => self.resolve_expr(src),
            (None, Some(name)) => self.resolve_builtin(name),
        }
    }

    fn resolve_expr(&self, src: &str) -> Result<ResolvedObjective> {
        let builtin_flags = [
            ("--spectrum", self.spectrum.is_some()),
            ("--rotate-seed", self.rotate_seed.is_some()),
            ("--cubic", self.cubic.is_some()),
            ("--dim", self.dim.is_some()),
        ];
        if let Some((flag, _)) = builtin_flags.iter().find(|(_, given)| *given) {
            bail!("{flag} is a parameter of the built-in objectives; with --expr write the function out instead");
        }
        let objective = ExprObjective::new(src, self.vars.as_deref())?;
        Ok(ResolvedObjective {
            name: "expr".into(),
            expr: src.to_string(),
            vars: objective.vars().to_vec(),
            default_x0: None,
            known_minimum: None,
            description: "user expression".into(),
            objective,
        })
    }

    fn resolve_builtin(&self, name: &str) -> Result<ResolvedObjective> {
        if self.vars.is_some() {
            bail!("--vars goes with --expr; the built-in `{name}` fixes its own variables");
        }
        let params = BuiltinParams {
            spectrum: self.spectrum.clone(),
            rotate_seed: self.rotate_seed,
            cubic: self.cubic,
            dim: self.dim,
        };
        let b = builtin(name, &params)?;
        let objective = ExprObjective::new(&b.expr, Some(&b.vars))?;
        Ok(ResolvedObjective {
            objective,
            name: b.name,
            expr: b.expr,
            vars: b.vars,
            default_x0: Some(b.x0),
            known_minimum: b.minimum,
            description: b.description,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exactly_one_source() {
        let none = ObjectiveSpec::default();
        assert!(none
            .resolve()
            .unwrap_err()
            .to_string()
            .contains("no objective"));
        let both = ObjectiveSpec {
            expr: Some("x".into()),
            objective: Some("paper-fig2".into()),
            ..Default::default()
        };
        assert!(both.resolve().unwrap_err().to_string().contains("not both"));
    }

    #[test]
    fn builtin_resolves_with_defaults_and_serializes() {
        let a = ObjectiveSpec {
            objective: Some("paper-fig2".into()),
            ..Default::default()
        };
        let r = a.resolve().unwrap();
        assert_eq!(r.vars, ["x", "y"]);
        assert_eq!(r.known_minimum, Some(vec![0.0, 0.0]));
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["expr"], "x^2 + y^2/2 + x^2*y + x^3");
        assert!(json.get("objective").is_none());
        assert_eq!(serde_json::to_value(&a).unwrap()["objective"], "paper-fig2");
    }

    #[test]
    fn misplaced_parameters_are_errors() {
        let a = ObjectiveSpec {
            expr: Some("x^2".into()),
            cubic: Some(1.0),
            ..Default::default()
        };
        assert!(a.resolve().unwrap_err().to_string().contains("--cubic"));
        let b = ObjectiveSpec {
            objective: Some("rosenbrock".into()),
            vars: Some(vec!["x".into()]),
            ..Default::default()
        };
        assert!(b
            .resolve()
            .unwrap_err()
            .to_string()
            .contains("--vars goes with --expr"));
    }
}
