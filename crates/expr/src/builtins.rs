//! Built-in objective families. Each yields a plain expression string (so a run's saved
//! config records exactly the function it used), its variables, a default start, the
//! known minimum and a description (`docs/expressions.md` § Built-in objectives).

use nalgebra::DMatrix;
use rand::rngs::ChaCha8Rng;
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};

use crate::error::ExprError;

/// Parameters of the built-in families (each applies only to the families named).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BuiltinParams {
    /// `quadratic`: Hessian eigenvalues `λ₁ … λₙ` (default `1, 2, …, n`).
    pub spectrum: Option<Vec<f64>>,
    /// `quadratic`: rotate by a seeded random orthogonal matrix (default: no rotation).
    pub rotate_seed: Option<u64>,
    /// `quadratic`: add `c · Σₖ yₖ³` in eigen-coordinates `y = Qᵀx` (default: none).
    pub cubic: Option<f64>,
    /// `quadratic` (default: length of the spectrum, else 2) and `rosenbrock` (default 2).
    pub dim: Option<usize>,
}

/// A built-in objective, fully resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct Builtin {
    /// Family name, e.g. `paper-fig2`.
    pub name: String,
    /// The function as an expression over [`vars`](Self::vars).
    pub expr: String,
    /// Variables in coordinate order.
    pub vars: Vec<String>,
    /// Default starting point.
    pub x0: Vec<f64>,
    /// The known local minimum, when there is one.
    pub minimum: Option<Vec<f64>>,
    /// One-line description with the math.
    pub description: String,
}

const NAMES: [&str; 5] = [
    "quadratic",
    "rosenbrock",
    "paper-fig1",
    "paper-fig1-perturbed",
    "paper-fig2",
];

/// Largest dimension of a rotated quadratic (its expression has `n²` terms).
pub const MAX_ROTATED_DIM: usize = 2000;

/// Names of every built-in family.
pub fn builtin_names() -> &'static [&'static str] {
    &NAMES
}

/// The built-in `name` with parameters `p`; parameters that do not apply to the family
/// are an error (so a typo never silently changes the function).
pub fn builtin(name: &str, p: &BuiltinParams) -> Result<Builtin, ExprError> {
    match name {
        "quadratic" => quadratic(p),
        "rosenbrock" => {
            reject(name, p, &["spectrum", "rotate_seed", "cubic"])?;
            rosenbrock(p.dim.unwrap_or(2))
        }
        "paper-fig1" | "paper-fig1-perturbed" | "paper-fig2" => {
            reject(name, p, &["spectrum", "rotate_seed", "cubic", "dim"])?;
            Ok(paper(name))
        }
        _ => Err(ExprError::Builtin(format!(
            "unknown objective `{name}`; built-in objectives: {} (or give --expr)",
            NAMES.join(", ")
        ))),
    }
}

fn reject(name: &str, p: &BuiltinParams, fields: &[&str]) -> Result<(), ExprError> {
    let given = [
        ("spectrum", "--spectrum", p.spectrum.is_some()),
        ("rotate_seed", "--rotate-seed", p.rotate_seed.is_some()),
        ("cubic", "--cubic", p.cubic.is_some()),
        ("dim", "--dim", p.dim.is_some()),
    ];
    for (field, flag, is_given) in given {
        if is_given && fields.contains(&field) {
            let users = match field {
                "dim" => "quadratic and rosenbrock",
                _ => "quadratic",
            };
            return Err(ExprError::Builtin(format!(
                "{flag} does not apply to `{name}` (it is a parameter of {users}); remove it"
            )));
        }
    }
    Ok(())
}

fn xnames(n: usize) -> Vec<String> {
    (1..=n).map(|i| format!("x{i}")).collect()
}

/// `c₁·t₁ ± |c₂|·t₂ ± …`, coefficients printed exactly (shortest round-trip form).
fn signed_sum(terms: &[(f64, String)]) -> String {
    let mut out = String::new();
    for (k, (c, t)) in terms.iter().enumerate() {
        let mag = c.abs();
        let sep = match (k, c.is_sign_negative()) {
            (0, false) => "",
            (0, true) => "-",
            (_, false) => " + ",
            (_, true) => " - ",
        };
        out.push_str(sep);
        if mag == 1.0 {
            out.push_str(t);
        } else {
            out.push_str(&format!("{mag:?}*{t}"));
        }
    }
    out
}

/// A Haar-random orthogonal `n × n` matrix: QR of a Gaussian matrix whose entries are drawn
/// row by row from `ChaCha8Rng::seed_from_u64(seed)` (`rand` 0.10) through `rand_distr`'s
/// `StandardNormal`, with the columns of Q multiplied by `sign(Rᵢᵢ)`.
pub fn random_orthogonal(n: usize, seed: u64) -> DMatrix<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut entries = Vec::with_capacity(n * n);
    for _ in 0..n * n {
        entries.push(StandardNormal.sample(&mut rng));
    }
    let g = DMatrix::from_row_slice(n, n, &entries);
    let qr = g.qr();
    let (mut q, r) = (qr.q(), qr.r());
    for j in 0..n {
        if r[(j, j)] < 0.0 {
            q.column_mut(j).neg_mut();
        }
    }
    q
}

/// `f(x) = Σₖ (λₖ/2)·yₖ² [+ c·yₖ³]` with `y = Qᵀx`: the origin is a critical point with
/// Hessian `Q diag(λ) Qᵀ` (the cubic term has zero Hessian there), a strict minimum when
/// every `λₖ > 0`.
fn quadratic(p: &BuiltinParams) -> Result<Builtin, ExprError> {
    let spectrum = match (&p.spectrum, p.dim) {
        (Some(s), Some(d)) if s.len() != d => {
            return Err(ExprError::Builtin(format!(
                "--spectrum has {} values but --dim is {d}; give one eigenvalue per dimension or drop --dim",
                s.len()
            )))
        }
        (Some(s), _) => s.clone(),
        (None, d) => (1..=d.unwrap_or(2)).map(|i| i as f64).collect(),
    };
    let n = spectrum.len();
    if n == 0 {
        return Err(ExprError::Builtin(
            "the quadratic needs at least one dimension (--spectrum 1,4 or --dim 2)".into(),
        ));
    }
    if let Some(bad) = spectrum.iter().find(|l| !l.is_finite()) {
        return Err(ExprError::Builtin(format!(
            "--spectrum value {bad} is not a finite number"
        )));
    }
    if let Some(c) = p.cubic {
        if !c.is_finite() {
            return Err(ExprError::Builtin(format!(
                "--cubic {c} is not a finite number"
            )));
        }
    }
    let vars = xnames(n);
    let cubic = p.cubic.filter(|&c| c != 0.0);
    let coords: Vec<String> = match p.rotate_seed {
        None => vars.clone(),
        Some(seed) => {
            if n > MAX_ROTATED_DIM {
                return Err(ExprError::Builtin(format!(
                    "a rotated quadratic is limited to {MAX_ROTATED_DIM} dimensions (its expression has n² terms); use fewer dimensions or no --rotate-seed"
                )));
            }
            let q = random_orthogonal(n, seed);
            (0..n)
                .map(|k| {
                    let terms: Vec<(f64, String)> =
                        (0..n).map(|i| (q[(i, k)], vars[i].clone())).collect();
                    format!("({})", signed_sum(&terms))
                })
                .collect()
        }
    };
    let mut terms = Vec::new();
    for (k, y) in coords.iter().enumerate() {
        terms.push((spectrum[k] / 2.0, format!("{y}^2")));
        if let Some(c) = cubic {
            terms.push((c, format!("{y}^3")));
        }
    }
    let strict = spectrum.iter().all(|&l| l > 0.0);
    let rotation = match p.rotate_seed {
        Some(seed) => format!("y = Qᵀx with Q random orthogonal (seed {seed})"),
        None => "y = x".into(),
    };
    let cubic_note = cubic.map_or(String::new(), |c| format!(" + {c}·Σ yₖ³"));
    Ok(Builtin {
        name: "quadratic".into(),
        expr: signed_sum(&terms),
        vars,
        x0: vec![0.1; n],
        minimum: strict.then(|| vec![0.0; n]),
        description: format!(
            "Σ λₖ/2·yₖ²{cubic_note}, {rotation}; Hessian at 0 has eigenvalues {spectrum:?}{}",
            if strict {
                ""
            } else {
                " (not all positive: 0 is a critical point, not a minimum)"
            }
        ),
    })
}

/// `Σᵢ 100·(xᵢ₊₁ − xᵢ²)² + (1 − xᵢ)²`, minimum at `(1, …, 1)`.
fn rosenbrock(n: usize) -> Result<Builtin, ExprError> {
    if n < 2 {
        return Err(ExprError::Builtin(format!(
            "rosenbrock needs --dim of at least 2 (got {n})"
        )));
    }
    let vars = xnames(n);
    let expr = (0..n - 1)
        .map(|i| {
            format!(
                "100*({} - {}^2)^2 + (1 - {})^2",
                vars[i + 1],
                vars[i],
                vars[i]
            )
        })
        .collect::<Vec<_>>()
        .join(" + ");
    Ok(Builtin {
        name: "rosenbrock".into(),
        expr,
        vars,
        x0: (0..n)
            .map(|i| if i % 2 == 0 { -1.2 } else { 1.0 })
            .collect(),
        minimum: Some(vec![1.0; n]),
        description: format!(
            "{n}-dimensional Rosenbrock Σ 100(xᵢ₊₁ − xᵢ²)² + (1 − xᵢ)², minimum at (1, …, 1)"
        ),
    })
}

/// The examples of Chen et al. (`docs/theory.md` §2).
fn paper(name: &str) -> Builtin {
    let (expr, x0, description) = match name {
        "paper-fig1" => (
            "x^2/2 + 2*y^2",
            [0.4, 0.3],
            "paper Figure 1 (top): λ = 1, 4; η < 2/5 → fixed along x, 2/5 < η < 1/2 → alternating along y",
        ),
        "paper-fig1-perturbed" => (
            "x^2/2 + 2*y^2 + x*y^2 + y^3",
            [0.4, 0.3],
            "paper Figure 1 (bottom): the quadratic plus x·y² + y³; same Hessian and thresholds at 0",
        ),
        _ => (
            "x^2 + y^2/2 + x^2*y + x^3",
            [0.3, 0.2],
            "paper Figure 2: λ = 1 (along y), 2 (along x); η < 2/3 → fixed along y, 2/3 < η < 1 → alternating along x",
        ),
    };
    Builtin {
        name: name.into(),
        expr: expr.into(),
        vars: vec!["x".into(), "y".into()],
        x0: x0.to_vec(),
        minimum: Some(vec![0.0, 0.0]),
        description: description.into(),
    }
}
