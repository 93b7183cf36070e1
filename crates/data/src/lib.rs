//! # gdscope-data
//!
//! Data sets for gdscope's network experiments, all in f64 (see `docs/data.md`):
//!
//! * [`Dataset`] / [`Split`]: validated inputs (`n × d`, images NCHW), targets (`n × k`, one-hot
//!   for classification, the MSE targets of `docs/theory.md` §6) and labels.
//! * [`DataSpec`]: a serde-tagged description with every default explicit, so a run's saved
//!   config records it; [`parse_data_spec`] reads the CLI short form
//!   (`synthetic-linear:n=1000,d=20,k=4,seed=0`, `cifar10:/data/cifar:n=1000,classes=4`, …).
//! * [`load`]: builds the data a spec describes: seeded synthetic generators (ChaCha8 streams,
//!   see [`rng`]), CIFAR-10 binary and MNIST IDX loaders with class-balanced subsets
//!   ([`balanced_indices`]) and per-channel standardization ([`standardize_channels`]), and NPZ
//!   files ([`load_npz`], written by [`export_npz`]).
//! * [`describe`]: summary statistics.
//!
//! Nothing is downloaded; loaders name the files they expect and where to get them.

mod balance;
mod dataset;
mod describe;
mod files;
pub mod rng;
mod spec;
mod standardize;
pub mod synthetic;

pub use balance::balanced_indices;
pub use dataset::{one_hot, Dataset, Split};
pub use describe::{describe, summarize, SplitSummary, Summary};
pub use files::{export_npz, load_cifar10, load_mnist, load_npz, split_arrays};
pub use spec::{parse_data_spec, DataSpec};
pub use standardize::{channel_stats, channels, standardize_channels, ChannelStats};

use anyhow::{Context, Result};

/// Builds the data set `spec` describes: deterministic for a given spec (seeded generators,
/// fixed file order). Errors name the problem and the fix.
pub fn load(spec: &DataSpec) -> Result<Split> {
    use synthetic as syn;
    let split = match spec.clone() {
        DataSpec::SyntheticLinear {
            n,
            d,
            k,
            test_n,
            seed,
        } => syn::synthetic_linear(n, d, k, test_n, seed),
        DataSpec::SyntheticMlp {
            n,
            d,
            k,
            hidden,
            test_n,
            seed,
        } => syn::synthetic_mlp(n, d, k, hidden, test_n, seed),
        DataSpec::Regression {
            n,
            d,
            outputs,
            signal,
            noise,
            test_n,
            seed,
        } => syn::regression(n, d, outputs, signal, noise, test_n, seed),
        DataSpec::GaussianMixture {
            n,
            d,
            k,
            separation,
            test_n,
            seed,
        } => syn::gaussian_mixture(n, d, k, separation, test_n, seed),
        DataSpec::Chebyshev { degree, n } => syn::chebyshev(degree, n),
        DataSpec::Moons {
            n,
            noise,
            test_n,
            seed,
        } => syn::moons(n, noise, test_n, seed),
        DataSpec::Circles {
            n,
            noise,
            factor,
            test_n,
            seed,
        } => syn::circles(n, noise, factor, test_n, seed),
        DataSpec::SyntheticImages {
            n,
            k,
            channels,
            size,
            test_n,
            seed,
        } => syn::synthetic_images(n, k, channels, size, test_n, seed),
        DataSpec::Cifar10 {
            path,
            n,
            classes,
            test,
        } => load_cifar10(&path, n, classes, test),
        DataSpec::Mnist {
            path,
            n,
            classes,
            test,
        } => load_mnist(&path, n, classes, test),
        DataSpec::Npz { path } => load_npz(&path),
    };
    split.with_context(|| format!("cannot load data `{spec}`"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_synthetic_kind_loads_deterministically() {
        for s in [
            "synthetic-linear:n=40",
            "synthetic-mlp:n=40,test_n=5",
            "regression:n=40,outputs=2",
            "gaussian-mixture:n=40",
            "chebyshev:degree=3",
            "moons:n=40",
            "circles:n=40",
            "synthetic-images:n=8,size=4,test_n=4",
        ] {
            let spec = parse_data_spec(s).unwrap();
            let a = load(&spec).unwrap();
            assert_eq!(a, load(&spec).unwrap(), "{s}");
            if let Some(t) = &a.test {
                assert_eq!(
                    (t.input_shape.clone(), t.k),
                    (a.train.input_shape.clone(), a.train.k)
                );
            }
        }
    }

    #[test]
    fn errors_carry_the_spec() {
        let e = format!(
            "{:#}",
            load(&parse_data_spec("synthetic-linear:k=1").unwrap()).unwrap_err()
        );
        assert!(
            e.contains("synthetic-linear:") && e.contains("at least 2"),
            "{e}"
        );
        let e = format!(
            "{:#}",
            load(&parse_data_spec("cifar10:/nonexistent/dir").unwrap()).unwrap_err()
        );
        assert!(e.contains("data_batch_1.bin"), "{e}");
    }
}
