//! [`DataSpec`]: what data a run uses, with every default explicit so that a run's saved config
//! records it, plus the CLI short form (`kind[:path][:key=value,...]`, see [`parse_data_spec`]).

use std::fmt;
use std::path::PathBuf;

use anyhow::{anyhow, bail, Context, Result};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A data set description. Serialized with a `kind` tag (kebab-case), e.g. in TOML:
///
/// ```toml
/// [data]
/// kind = "synthetic-linear"
/// n = 1000
/// d = 20
/// k = 4
/// test_n = 0
/// seed = 0
/// ```
///
/// Missing fields take the documented defaults (shown on each variant); unknown fields are an
/// error. `test_n = 0` means "no test set". Generators and loaders: see `docs/data.md`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum DataSpec {
    /// Gaussian inputs `X ~ N(0,1)^{n×d}`, labels `argmax(X·T)` for a teacher `T ~ N(0,1)^{d×k}`,
    /// one-hot targets. Defaults `n=1000, d=20, k=4, test_n=0, seed=0` (the EoS demo setting).
    SyntheticLinear {
        #[serde(default = "d_n")]
        n: usize,
        #[serde(default = "d_d")]
        d: usize,
        #[serde(default = "d_k")]
        k: usize,
        #[serde(default)]
        test_n: usize,
        #[serde(default)]
        seed: u64,
    },
    /// Gaussian inputs, labels `argmax(tanh(X·W₁ + b₁)·W₂)` for a random one-hidden-layer tanh
    /// teacher. Defaults `n=1000, d=20, k=4, hidden=32, test_n=0, seed=0`.
    SyntheticMlp {
        #[serde(default = "d_n")]
        n: usize,
        #[serde(default = "d_d")]
        d: usize,
        #[serde(default = "d_k")]
        k: usize,
        #[serde(default = "d_hidden")]
        hidden: usize,
        #[serde(default)]
        test_n: usize,
        #[serde(default)]
        seed: u64,
    },
    /// Gaussian inputs, targets `Y = X·A/√d + noise·ε`, `A, ε` standard normal.
    /// Defaults `n=1000, d=20, outputs=1, noise=0.1, test_n=0, seed=0`.
    Regression {
        #[serde(default = "d_n")]
        n: usize,
        #[serde(default = "d_d")]
        d: usize,
        #[serde(default = "d_outputs")]
        outputs: usize,
        #[serde(default = "d_noise")]
        noise: f64,
        #[serde(default)]
        test_n: usize,
        #[serde(default)]
        seed: u64,
    },
    /// `k` Gaussian clusters `N(μ_c, I)` with random unit-direction means `μ_c = separation·u_c`,
    /// classes balanced in turn. Defaults `n=1000, d=20, k=4, separation=3, test_n=0, seed=0`.
    GaussianMixture {
        #[serde(default = "d_n")]
        n: usize,
        #[serde(default = "d_d")]
        d: usize,
        #[serde(default = "d_k")]
        k: usize,
        #[serde(default = "d_separation")]
        separation: f64,
        #[serde(default)]
        test_n: usize,
        #[serde(default)]
        seed: u64,
    },
    /// `n` equispaced points on `[−1, 1]`, target the Chebyshev polynomial `T_degree(x)`
    /// (locuslab's `chebyshev-<degree>-<n>`; train = test, so no test set). Defaults `degree=5, n=20`.
    Chebyshev {
        #[serde(default = "d_degree")]
        degree: usize,
        #[serde(default = "d_cheb_n")]
        n: usize,
    },
    /// Two interleaving half circles (as scikit-learn's `make_moons`), 2 classes.
    /// Defaults `n=1000, noise=0.1, test_n=0, seed=0`.
    Moons {
        #[serde(default = "d_n")]
        n: usize,
        #[serde(default = "d_noise")]
        noise: f64,
        #[serde(default)]
        test_n: usize,
        #[serde(default)]
        seed: u64,
    },
    /// Two concentric circles (as scikit-learn's `make_circles`), inner radius `factor`, 2 classes.
    /// Defaults `n=1000, noise=0.05, factor=0.5, test_n=0, seed=0`.
    Circles {
        #[serde(default = "d_n")]
        n: usize,
        #[serde(default = "d_circle_noise")]
        noise: f64,
        #[serde(default = "d_factor")]
        factor: f64,
        #[serde(default)]
        test_n: usize,
        #[serde(default)]
        seed: u64,
    },
    /// A small learnable image classification set (NCHW): each class is a smooth random pattern
    /// (a few low-frequency plane waves per channel), each example a randomly scaled and shifted
    /// copy of its class pattern plus pixel noise. Defaults `n=1000, k=4, channels=3, size=16,
    /// test_n=0, seed=0`.
    SyntheticImages {
        #[serde(default = "d_n")]
        n: usize,
        #[serde(default = "d_k")]
        k: usize,
        #[serde(default = "d_channels")]
        channels: usize,
        #[serde(default = "d_size")]
        size: usize,
        #[serde(default)]
        test_n: usize,
        #[serde(default)]
        seed: u64,
    },
    /// CIFAR-10, binary version (`data_batch_{1..5}.bin`, `test_batch.bin`) in `path`: a class-
    /// balanced subset (first n/classes examples of each of the first `classes` classes), /255,
    /// per-channel standardization. Defaults `n=1000, classes=4, test=false`.
    Cifar10 {
        path: PathBuf,
        #[serde(default = "d_n")]
        n: usize,
        #[serde(default = "d_k")]
        classes: usize,
        #[serde(default)]
        test: bool,
    },
    /// MNIST IDX files (`train-images-idx3-ubyte` etc., `.gz` accepted) in `path`: same subset
    /// and preprocessing as CIFAR-10. Defaults `n=1000, classes=4, test=false`.
    Mnist {
        path: PathBuf,
        #[serde(default = "d_n")]
        n: usize,
        #[serde(default = "d_k")]
        classes: usize,
        #[serde(default)]
        test: bool,
    },
    /// A NumPy `.npz` with `x` (n×d or n×C×H×W) and `y` (integer labels or float n×k targets),
    /// optionally `labels`, `x_test`, `y_test`, `labels_test`. Used as stored (no preprocessing).
    Npz { path: PathBuf },
}

fn d_n() -> usize {
    1000
}
fn d_d() -> usize {
    20
}
fn d_k() -> usize {
    4
}
fn d_hidden() -> usize {
    32
}
fn d_outputs() -> usize {
    1
}
fn d_noise() -> f64 {
    0.1
}
fn d_separation() -> f64 {
    3.0
}
fn d_degree() -> usize {
    5
}
fn d_cheb_n() -> usize {
    20
}
fn d_circle_noise() -> f64 {
    0.05
}
fn d_factor() -> f64 {
    0.5
}
fn d_channels() -> usize {
    3
}
fn d_size() -> usize {
    16
}

/// The default edge-of-stability setting (`gdscope reproduce eos`): `synthetic-linear` with
/// `n=1000, d=20, k=4, seed=0`.
impl Default for DataSpec {
    fn default() -> Self {
        DataSpec::SyntheticLinear {
            n: d_n(),
            d: d_d(),
            k: d_k(),
            test_n: 0,
            seed: 0,
        }
    }
}

/// Kinds whose short form carries a path right after the kind.
const PATH_KINDS: [&str; 3] = ["cifar10", "mnist", "npz"];

/// Every kind with its short-form keys, in the order `Display` prints them (the path of
/// path kinds comes first, as `KIND:PATH`).
const KEYS: [(&str, &[&str]); 11] = [
    ("synthetic-linear", &["n", "d", "k", "test_n", "seed"]),
    (
        "synthetic-mlp",
        &["n", "d", "k", "hidden", "test_n", "seed"],
    ),
    (
        "regression",
        &["n", "d", "outputs", "noise", "test_n", "seed"],
    ),
    (
        "gaussian-mixture",
        &["n", "d", "k", "separation", "test_n", "seed"],
    ),
    ("chebyshev", &["degree", "n"]),
    ("moons", &["n", "noise", "test_n", "seed"]),
    ("circles", &["n", "noise", "factor", "test_n", "seed"]),
    (
        "synthetic-images",
        &["n", "k", "channels", "size", "test_n", "seed"],
    ),
    ("cifar10", &["n", "classes", "test"]),
    ("mnist", &["n", "classes", "test"]),
    ("npz", &[]),
];

/// The keys of `kind` (empty for unknown kinds).
fn keys_of(kind: &str) -> &'static [&'static str] {
    KEYS.iter()
        .find(|(k, _)| *k == kind)
        .map_or(&[], |(_, keys)| keys)
}

/// "valid keys for KIND: …" for error messages.
fn valid_keys(kind: &str) -> String {
    let keys = keys_of(kind);
    let path = if PATH_KINDS.contains(&kind) {
        format!(" (after {kind}:PATH)")
    } else {
        String::new()
    };
    if keys.is_empty() {
        format!("{kind} takes no keys{path}")
    } else {
        format!("valid keys for {kind}: {}{path}", keys.join(", "))
    }
}

impl DataSpec {
    /// The `kind` tag, e.g. `"synthetic-linear"`.
    pub fn kind(&self) -> &'static str {
        match self {
            DataSpec::SyntheticLinear { .. } => "synthetic-linear",
            DataSpec::SyntheticMlp { .. } => "synthetic-mlp",
            DataSpec::Regression { .. } => "regression",
            DataSpec::GaussianMixture { .. } => "gaussian-mixture",
            DataSpec::Chebyshev { .. } => "chebyshev",
            DataSpec::Moons { .. } => "moons",
            DataSpec::Circles { .. } => "circles",
            DataSpec::SyntheticImages { .. } => "synthetic-images",
            DataSpec::Cifar10 { .. } => "cifar10",
            DataSpec::Mnist { .. } => "mnist",
            DataSpec::Npz { .. } => "npz",
        }
    }
}

/// The short form with every field explicit, e.g. `synthetic-linear:n=1000,d=20,k=4,test_n=0,seed=0`
/// or `cifar10:/data/cifar:n=1000,classes=4,test=false`; [`parse_data_spec`] reads it back.
impl fmt::Display for DataSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Ok(Value::Object(mut map)) = serde_json::to_value(self) else {
            return Err(fmt::Error);
        };
        map.remove("kind");
        write!(f, "{}", self.kind())?;
        if let Some(Value::String(path)) = map.remove("path") {
            write!(f, ":{path}")?;
        }
        let pairs: Vec<String> = keys_of(self.kind())
            .iter()
            .filter_map(|&key| map.get(key).map(|v| (key, v)))
            .map(|(key, v)| match v {
                Value::String(s) => format!("{key}={s}"),
                other => format!("{key}={other}"),
            })
            .collect();
        if !pairs.is_empty() {
            write!(f, ":{}", pairs.join(","))?;
        }
        Ok(())
    }
}

/// Parses the CLI short form `KIND[:PATH][:key=value,key=value,...]`, e.g.
/// `synthetic-linear:n=1000,d=20,k=4,seed=0`, `moons:n=200`, `cifar10:/data/cifar:n=1000,classes=4`,
/// `npz:/path/data.npz`. Omitted keys take their defaults; unknown kinds or keys are errors that
/// list what is valid. For `cifar10`, `mnist` and `npz` the path is everything after `KIND:` up
/// to a final `:key=value,...` group (so paths may contain `:`).
pub fn parse_data_spec(s: &str) -> Result<DataSpec> {
    let s = s.trim();
    let (kind, rest) = s.split_once(':').unwrap_or((s, ""));
    if !KEYS.iter().any(|(k, _)| *k == kind) {
        bail!(
            "unknown data kind `{kind}` in `{s}`; valid kinds: {}",
            kind_list()
        );
    }
    let keys = valid_keys(kind);
    let mut map = Map::new();
    map.insert("kind".into(), Value::String(kind.into()));
    let options = if PATH_KINDS.contains(&kind) {
        let (path, options) = split_path(rest);
        if path.is_empty() {
            bail!("data spec `{s}` needs a path: write `{kind}:PATH` (e.g. `{kind}:/data/{kind}`)");
        }
        map.insert("path".into(), Value::String(path.into()));
        options
    } else {
        rest
    };
    for pair in options.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((key, value)) = pair.split_once('=') else {
            bail!("`{pair}` in data spec `{s}` is not `key=value`; {keys}");
        };
        let (key, value) = (key.trim(), value.trim());
        if key == "path" || key == "kind" || map.contains_key(key) {
            bail!("key `{key}` given twice or not settable in data spec `{s}`; {keys}");
        }
        map.insert(key.into(), scalar(value));
    }
    serde_json::from_value(Value::Object(map))
        .map_err(|e| anyhow!("{e}"))
        .with_context(|| format!("invalid data spec `{s}`; {keys}"))
}

/// Splits `PATH[:key=value,...]` at the last `:` whose tail is a `key=value` list.
fn split_path(rest: &str) -> (&str, &str) {
    match rest.rsplit_once(':') {
        Some((path, opts)) if opts.contains('=') => (path, opts),
        _ => (rest, ""),
    }
}

/// A short-form value as JSON: booleans and numbers when they parse, strings otherwise (so
/// serde reports a wrong type as "expected usize" rather than silently coercing).
fn scalar(v: &str) -> Value {
    if let Ok(b) = v.parse::<bool>() {
        return Value::Bool(b);
    }
    if let Ok(u) = v.parse::<u64>() {
        return Value::from(u);
    }
    if let Ok(i) = v.parse::<i64>() {
        return Value::from(i);
    }
    match v.parse::<f64>() {
        Ok(x) if x.is_finite() => Value::from(x),
        _ => Value::String(v.into()),
    }
}

fn kind_list() -> String {
    KEYS.iter().map(|(k, _)| *k).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn short_forms() {
        assert_eq!(
            parse_data_spec("synthetic-linear:n=1000,d=20,k=4,seed=0").unwrap(),
            DataSpec::default()
        );
        assert_eq!(
            parse_data_spec("synthetic-linear").unwrap(),
            DataSpec::default()
        );
        assert_eq!(
            parse_data_spec("moons:n=200").unwrap(),
            DataSpec::Moons {
                n: 200,
                noise: 0.1,
                test_n: 0,
                seed: 0
            }
        );
        assert_eq!(
            parse_data_spec("cifar10:/path/to/dir:n=1000,classes=4").unwrap(),
            DataSpec::Cifar10 {
                path: "/path/to/dir".into(),
                n: 1000,
                classes: 4,
                test: false
            }
        );
        assert_eq!(
            parse_data_spec("mnist:C:\\data\\mnist:test=true").unwrap(),
            DataSpec::Mnist {
                path: "C:\\data\\mnist".into(),
                n: 1000,
                classes: 4,
                test: true
            }
        );
        assert_eq!(
            parse_data_spec("npz:/path/data.npz").unwrap(),
            DataSpec::Npz {
                path: "/path/data.npz".into()
            }
        );
        assert_eq!(
            parse_data_spec("regression:noise=1").unwrap(),
            DataSpec::Regression {
                n: 1000,
                d: 20,
                outputs: 1,
                noise: 1.0,
                test_n: 0,
                seed: 0
            }
        );
    }

    /// The key table behind `Display` and the error messages lists exactly the serde fields.
    #[test]
    fn key_table_matches_the_fields() {
        for (kind, keys) in KEYS {
            let text = if PATH_KINDS.contains(&kind) {
                format!("{kind}:/p")
            } else {
                kind.to_string()
            };
            let spec = parse_data_spec(&text).unwrap();
            let Value::Object(map) = serde_json::to_value(&spec).unwrap() else {
                panic!()
            };
            let mut fields: Vec<&str> = map
                .keys()
                .map(String::as_str)
                .filter(|k| !["kind", "path"].contains(k))
                .collect();
            let mut listed = keys.to_vec();
            fields.sort_unstable();
            listed.sort_unstable();
            assert_eq!(fields, listed, "{kind}");
            assert_eq!(parse_data_spec(&spec.to_string()).unwrap(), spec);
        }
        assert_eq!(
            DataSpec::default().to_string(),
            "synthetic-linear:n=1000,d=20,k=4,test_n=0,seed=0"
        );
    }

    #[test]
    fn errors_list_what_is_valid() {
        let err = |s: &str| format!("{:#}", parse_data_spec(s).unwrap_err());
        let e = err("moons:n=200,colour=3");
        assert!(
            e.contains("colour") && e.contains("n, noise, test_n, seed"),
            "{e}"
        );
        let e = err("cifar100:/x");
        assert!(
            e.contains("unknown data kind") && e.contains("synthetic-linear"),
            "{e}"
        );
        assert!(err("cifar10").contains("needs a path"));
        assert!(err("moons:n").contains("key=value"));
        assert!(err("moons:n=-3").contains("n, noise"));
        assert!(err("moons:n=abc").contains("expected usize"));
        assert!(err("moons:n=3,n=4").contains("twice"));
        assert!(err("npz:/a.npz:path=/b").contains("twice or not settable"));
        assert!(err("npz:/a.npz:n=3").contains("npz takes no keys"));
    }

    #[test]
    fn serde_defaults_and_unknown_fields() {
        let spec: DataSpec = toml::from_str("kind = \"circles\"\nn = 50\n").unwrap();
        assert_eq!(
            spec,
            DataSpec::Circles {
                n: 50,
                noise: 0.05,
                factor: 0.5,
                test_n: 0,
                seed: 0
            }
        );
        let text = toml::to_string(&spec).unwrap();
        assert!(
            text.contains("factor = 0.5") && text.contains("kind = \"circles\""),
            "{text}"
        );
        assert!(toml::from_str::<DataSpec>("kind = \"circles\"\nradius = 2\n").is_err());
        assert!(toml::from_str::<DataSpec>("kind = \"cifar10\"\n").is_err());
    }

    fn any_spec() -> impl Strategy<Value = DataSpec> {
        let small = 1usize..5000;
        let real = 0.0f64..10.0;
        prop_oneof![
            (
                small.clone(),
                1usize..100,
                1usize..20,
                0usize..100,
                any::<u64>()
            )
                .prop_map(|(n, d, k, test_n, seed)| DataSpec::SyntheticLinear {
                    n,
                    d,
                    k,
                    test_n,
                    seed
                }),
            (
                small.clone(),
                1usize..9,
                0usize..100,
                any::<u64>(),
                real.clone()
            )
                .prop_map(|(n, k, test_n, seed, _)| DataSpec::SyntheticImages {
                    n,
                    k,
                    channels: 3,
                    size: 8,
                    test_n,
                    seed
                }),
            (small.clone(), real.clone(), real.clone(), any::<u64>()).prop_map(
                |(n, noise, factor, seed)| DataSpec::Circles {
                    n,
                    noise,
                    factor,
                    test_n: 0,
                    seed
                }
            ),
            (small.clone(), real, 0usize..9, any::<u64>()).prop_map(|(n, noise, outputs, seed)| {
                DataSpec::Regression {
                    n,
                    d: 3,
                    outputs,
                    noise,
                    test_n: 1,
                    seed,
                }
            }),
            ("[a-z/._-]{1,20}", small, 1usize..11, any::<bool>()).prop_map(
                |(p, n, classes, test)| DataSpec::Cifar10 {
                    path: p.into(),
                    n,
                    classes,
                    test
                }
            ),
        ]
    }

    proptest! {
        #[test]
        fn display_round_trips(spec in any_spec()) {
            let text = spec.to_string();
            prop_assert_eq!(parse_data_spec(&text).unwrap(), spec);
        }
    }
}
