//! Shared command-line arguments that choose an analytic objective: an expression
//! (`--expr`, `--vars`) or a built-in family (`--objective` with `--spectrum`,
//! `--rotate-seed`, `--cubic`, `--dim`). Commands `#[command(flatten)]` [`ObjectiveArgs`]
//! and turn it into the library's [`ObjectiveSpec`], which resolves and checks it, so every
//! command reads objectives the same way. Grammar and built-ins: `docs/expressions.md`.

use gdscope_runs::ObjectiveSpec;

/// How the objective is given on the command line.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct ObjectiveArgs {
    /// The function as an expression, e.g. 'x^2/2 + 2*y^2 + x*y^2'. Operators + - * / ^ **,
    /// functions exp log sqrt sin cos tan tanh sinh cosh sigmoid softplus, constants pi e.
    #[arg(long, value_name = "EXPR", allow_hyphen_values = true)]
    pub expr: Option<String>,
    /// Variable order for --expr, comma-separated (default: the expression's names in
    /// alphabetical order, x2 before x10).
    #[arg(long, value_name = "x,y,..", value_delimiter = ',')]
    pub vars: Option<Vec<String>>,
    /// A built-in objective: quadratic, rosenbrock, paper-fig1, paper-fig1-perturbed, paper-fig2.
    #[arg(long, value_name = "NAME")]
    pub objective: Option<String>,
    /// quadratic: Hessian eigenvalues at the minimum 0, comma-separated (default 1,2,..,n).
    #[arg(long, value_name = "a,b,..", value_delimiter = ',')]
    pub spectrum: Option<Vec<f64>>,
    /// quadratic: rotate the eigenbasis by a random orthogonal matrix from this seed.
    #[arg(long, value_name = "N")]
    pub rotate_seed: Option<u64>,
    /// quadratic: add C·Σ y_k³ in eigen-coordinates (keeps 0 a minimum with the same Hessian).
    #[arg(long, value_name = "C")]
    pub cubic: Option<f64>,
    /// quadratic / rosenbrock: number of dimensions.
    #[arg(long, value_name = "N")]
    pub dim: Option<usize>,
}

impl From<ObjectiveArgs> for ObjectiveSpec {
    fn from(a: ObjectiveArgs) -> ObjectiveSpec {
        ObjectiveSpec {
            expr: a.expr,
            vars: a.vars,
            objective: a.objective,
            spectrum: a.spectrum,
            rotate_seed: a.rotate_seed,
            cubic: a.cubic,
            dim: a.dim,
        }
    }
}

impl ObjectiveArgs {
    /// The library's spec of these flags.
    pub fn spec(&self) -> ObjectiveSpec {
        self.clone().into()
    }
}
