//! Models: a sequence of layers over one flat parameter vector, built from a spec string.
//!
//! Flat layout (docs/engine.md §"Parameter layout"): for each layer in order, its parameter
//! tensors in [`Layer::param_shapes`] order — for `linear`, the weight `fan_in × fan_out`
//! row-major (`y = x·W + b`) then the bias — exactly `jaxmlp.py`'s layout.

use crate::error::NnError;
use crate::float::Float;
use crate::layer::{Init, Layer};
use crate::layers::{Activation, ActivationLayer, Linear};
use rand::rngs::Xoshiro256PlusPlus;
use rand::SeedableRng;

/// A named view into the flat parameter vector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamView {
    /// `"layer{index}.{tensor}"`, e.g. `layer0.weight`.
    pub name: String,
    /// Start in the flat vector.
    pub offset: usize,
    /// Shape (row-major).
    pub shape: Vec<usize>,
}

/// A feed-forward network: layers applied in order.
pub struct Model<T> {
    layers: Vec<Box<dyn Layer<T>>>,
    /// `offsets[l] .. offsets[l+1]` is layer `l`'s parameter range.
    offsets: Vec<usize>,
}

impl<T: Float> Model<T> {
    /// Chains `layers`, checking that each output width matches the next input width.
    pub fn new(layers: Vec<Box<dyn Layer<T>>>) -> Result<Self, NnError> {
        if layers.is_empty() {
            return Err(NnError::Shape("a model needs at least one layer".into()));
        }
        for w in layers.windows(2) {
            if w[0].out_width() != w[1].in_width() {
                return Err(NnError::Shape(format!(
                    "layer {} outputs width {} but {} expects {}",
                    w[0].describe(),
                    w[0].out_width(),
                    w[1].describe(),
                    w[1].in_width()
                )));
            }
        }
        let mut offsets = vec![0];
        for l in &layers {
            let len: usize = l.param_shapes().iter().map(|s| s.len()).sum();
            offsets.push(offsets.last().copied().unwrap_or(0) + len);
        }
        Ok(Self { layers, offsets })
    }

    /// Builds the model described by a spec string (see [`parse_spec`]).
    pub fn from_spec(spec: &str) -> Result<Self, NnError> {
        Self::new(parse_spec(spec)?)
    }

    /// The layers in order.
    pub fn layers(&self) -> &[Box<dyn Layer<T>>] {
        &self.layers
    }

    /// Parameter range of layer `l` in the flat vector.
    pub fn param_range(&self, l: usize) -> std::ops::Range<usize> {
        self.offsets[l]..self.offsets[l + 1]
    }

    /// Total number of parameters `P`.
    pub fn num_params(&self) -> usize {
        self.offsets[self.layers.len()]
    }

    /// Input features per example.
    pub fn in_width(&self) -> usize {
        self.layers[0].in_width()
    }

    /// Output features per example.
    pub fn out_width(&self) -> usize {
        self.layers[self.layers.len() - 1].out_width()
    }

    /// Largest `in_width · out_width` of any layer: a bound on the multiply-adds per example and
    /// jet coefficient of any one layer's product (exact for a linear layer).
    pub fn widest_product(&self) -> usize {
        self.layers
            .iter()
            .map(|l| l.in_width().saturating_mul(l.out_width()))
            .max()
            .unwrap_or(0)
    }

    /// Largest width of the input or any layer output, per example.
    pub fn widest(&self) -> usize {
        self.layers
            .iter()
            .map(|l| l.out_width())
            .fold(self.in_width(), usize::max)
    }

    /// Named views of every parameter tensor, in flat order.
    pub fn param_views(&self) -> Vec<ParamView> {
        let mut views = Vec::new();
        // Layers are numbered among those with parameters (activations are skipped), so the
        // names run layer0, layer1, … without gaps.
        let with_params = self
            .layers
            .iter()
            .enumerate()
            .filter(|(_, layer)| !layer.param_shapes().is_empty());
        for (number, (l, layer)) in with_params.enumerate() {
            let mut offset = self.offsets[l];
            for s in layer.param_shapes() {
                let len = s.len();
                views.push(ParamView {
                    name: format!("layer{number}.{}", s.name),
                    offset,
                    shape: s.shape,
                });
                offset += len;
            }
        }
        views
    }

    /// Seeded initial parameters: weights from `scheme`, biases zero. The generator is
    /// `Xoshiro256PlusPlus::seed_from_u64(seed)` (rand 0.10, reproducible across platforms),
    /// standard normals from `rand_distr::StandardNormal`, drawn layer by layer in flat order.
    pub fn init(&self, scheme: Init, seed: u64) -> Vec<f64> {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        let mut w = vec![0.0; self.num_params()];
        for (l, layer) in self.layers.iter().enumerate() {
            layer.init(scheme, &mut rng, &mut w[self.param_range(l)]);
        }
        w
    }

    /// One line per layer.
    pub fn summary(&self) -> String {
        self.layers
            .iter()
            .map(|l| l.describe())
            .collect::<Vec<_>>()
            .join(" → ")
    }
}

/// Parses a model spec into layers.
///
/// Supported: `mlp:IN-H1-…-OUT:ACT` — linear layers `IN→H1→…→OUT` with activation `ACT`
/// (one of `identity, tanh, relu, gelu, gelu-tanh, softplus, elu, swish` — `silu` is accepted for `swish`) after every layer but the
/// last; `cnn:…` and `vit:…` (grammar in [`crate::model_specs`]). New architectures add one
/// arm here.
pub fn parse_spec<T: Float>(spec: &str) -> Result<Vec<Box<dyn Layer<T>>>, NnError> {
    let err = |reason: String| NnError::Spec {
        spec: spec.to_string(),
        reason,
    };
    let mut parts = spec.trim().split(':');
    let family = parts.next().unwrap_or_default();
    match family {
        "mlp" => {
            let (Some(widths), Some(act), None) = (parts.next(), parts.next(), parts.next()) else {
                return Err(err(
                    "an MLP spec has three parts, `mlp:WIDTHS:ACTIVATION`".into()
                ));
            };
            let sizes = widths
                .split('-')
                .map(|s| s.parse::<usize>().ok().filter(|&v| v > 0))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| {
                    err(format!(
                        "widths `{widths}` must be positive integers joined by `-`"
                    ))
                })?;
            if sizes.len() < 2 {
                return Err(err(
                    "an MLP needs at least an input and an output width".into()
                ));
            }
            let act = Activation::from_name(act).ok_or_else(|| {
                let names: Vec<&str> = Activation::ALL.iter().map(|(n, _)| *n).collect();
                err(format!(
                    "unknown activation `{act}`; choose one of {}",
                    names.join(", ")
                ))
            })?;
            let mut layers: Vec<Box<dyn Layer<T>>> = Vec::new();
            for (i, w) in sizes.windows(2).enumerate() {
                layers.push(Box::new(Linear {
                    fan_in: w[0],
                    fan_out: w[1],
                }));
                if i + 2 < sizes.len() {
                    layers.push(Box::new(ActivationLayer { act, width: w[1] }));
                }
            }
            Ok(layers)
        }
        "cnn" => crate::model_specs::cnn(spec),
        "vit" => crate::model_specs::vit(spec),
        _ => Err(err(format!(
            "unknown model family `{family}` (supported: mlp, cnn, vit)"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mlp_spec_layout_matches_jaxmlp() {
        let m = Model::<f64>::from_spec("mlp:3-5-2:tanh").unwrap();
        assert_eq!(m.num_params(), 3 * 5 + 5 + 5 * 2 + 2);
        assert_eq!(m.summary(), "linear(3→5) → tanh(5) → linear(5→2)");
        let v = m.param_views();
        assert_eq!(
            v.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(),
            [
                "layer0.weight",
                "layer0.bias",
                "layer1.weight",
                "layer1.bias"
            ]
        );
        assert_eq!(v[2].offset, 20);
        assert_eq!(v[2].shape, vec![5, 2]);
    }

    #[test]
    fn bad_specs_are_errors_with_reasons() {
        for (spec, needle) in [
            ("mlp:3-5-2", "three parts"),
            ("mlp:3-x-2:tanh", "positive integers"),
            ("mlp:3:tanh", "at least"),
            ("mlp:3-2:mish", "unknown activation `mish`"),
            ("rnn:3", "unknown model family"),
        ] {
            let e = Model::<f32>::from_spec(spec).err().unwrap().to_string();
            assert!(e.contains(needle), "{spec}: {e}");
        }
    }

    #[test]
    fn swish_and_its_alias_silu_build_the_same_mlp() {
        let a = Model::<f64>::from_spec("mlp:8-16-16-1:swish").unwrap();
        let b = Model::<f64>::from_spec("mlp:8-16-16-1:silu").unwrap();
        assert_eq!(
            a.summary(),
            "linear(8→16) → swish(16) → linear(16→16) → swish(16) → linear(16→1)"
        );
        assert_eq!(a.summary(), b.summary());
        assert_eq!(a.num_params(), 8 * 16 + 16 + 16 * 16 + 16 + 16 + 1);
    }

    #[test]
    fn init_is_seeded_and_scaled() {
        let m = Model::<f64>::from_spec("mlp:400-300-1:relu").unwrap();
        let a = m.init(Init::He, 7);
        assert_eq!(a, m.init(Init::He, 7));
        assert_ne!(a, m.init(Init::He, 8));
        let w = &a[..400 * 300];
        let var = w.iter().map(|x| x * x).sum::<f64>() / w.len() as f64;
        assert!((var / (2.0 / 400.0) - 1.0).abs() < 0.02, "{var}");
        assert!(a[400 * 300..400 * 300 + 300].iter().all(|&b| b == 0.0));
    }
}
