//! CNN and ViT model specs (docs/engine.md §"Models: cnn and vit").
//!
//! - `cnn:CxHxW-K:ACT[:key=value,…]` — the central-flows CNN (`src/architectures/cnn.py`):
//!   `conv3×3(C→w, pad 1, no bias) → ACT → pool2 → conv3×3(w→2w, pad 1, no bias) → ACT → pool2
//!   → linear(2w·⌊H/4⌋·⌊W/4⌋ → 4w, no bias) → ACT → linear(4w → K)`.
//!   Options: `width=32`, `pool=avg|max` (default `avg`).
//! - `vit:CxHxW-K[:key=value,…]` — SimpleViT (vit-pytorch, the version the central-flows ViT
//!   uses: a final layer norm on the tokens, then the token mean, then a linear head):
//!   `patches p → [layernorm(p²C) → linear(p²C → dim) → layernorm(dim) → + position
//!   → depth × (x + attention(layernorm(x)), x + mlp(layernorm(x))) → layernorm(dim)] per token
//!   → mean over tokens → linear(dim → K)`, `mlp = linear(dim → mlp) → ACT → linear(mlp → dim)`.
//!   Options (defaults = the central-flows ViT): `patch=4`, `dim=64`, `depth=4`, `heads=8`,
//!   `dim_head=64`, `mlp=256`, `act=gelu`, `pos=sincos|learned`, `head_init=0` (the head's
//!   initial weights are multiplied by this, `init_scale` in central flows).

use crate::error::NnError;
use crate::float::Float;
use crate::layer::Layer;
use crate::layers::layer_norm::DEFAULT_EPS;
use crate::layers::{
    Activation, ActivationLayer, Attention, Conv2d, LayerNorm, Linear, MeanTokens, NoBias,
    Patchify, Pool2d, PoolKind, PosEmbed, Residual, ScaledInit, Sequential,
};
use std::collections::BTreeMap;
use std::str::FromStr;

type Layers<T> = Vec<Box<dyn Layer<T>>>;

/// Parsed `key=value` options with their defaults; unknown keys are errors.
struct Options<'a> {
    spec: &'a str,
    values: BTreeMap<&'a str, &'a str>,
}

impl<'a> Options<'a> {
    fn parse(spec: &'a str, text: Option<&'a str>, known: &[&str]) -> Result<Self, NnError> {
        let mut values = BTreeMap::new();
        for item in text
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            let (k, v) = item.split_once('=').ok_or_else(|| {
                spec_err(spec, format!("option `{item}` must be written `key=value`"))
            })?;
            if !known.contains(&k) {
                return Err(spec_err(
                    spec,
                    format!("unknown option `{k}` (known: {})", known.join(", ")),
                ));
            }
            values.insert(k, v);
        }
        Ok(Self { spec, values })
    }

    fn get<V: FromStr>(&self, key: &str, default: V, what: &str) -> Result<V, NnError> {
        match self.values.get(key) {
            None => Ok(default),
            Some(v) => v
                .parse()
                .map_err(|_| spec_err(self.spec, format!("option `{key}={v}` must be {what}"))),
        }
    }

    fn positive(&self, key: &str, default: usize) -> Result<usize, NnError> {
        let v = self.get(key, default, "a positive integer")?;
        if v == 0 {
            return Err(spec_err(
                self.spec,
                format!("option `{key}` must be a positive integer"),
            ));
        }
        Ok(v)
    }
}

fn spec_err(spec: &str, reason: String) -> NnError {
    NnError::Spec {
        spec: spec.to_string(),
        reason,
    }
}

/// `CxHxW-K` → `((C, H, W), K)`.
fn shape(spec: &str, text: Option<&str>) -> Result<((usize, usize, usize), usize), NnError> {
    let bad = || {
        spec_err(
            spec,
            "the shape must be `CxHxW-K` (e.g. `3x32x32-10`), all positive integers".into(),
        )
    };
    let (img, k) = text.and_then(|t| t.split_once('-')).ok_or_else(bad)?;
    let dims: Vec<usize> = img
        .split('x')
        .map(|s| s.parse().ok().filter(|&v| v > 0))
        .collect::<Option<_>>()
        .ok_or_else(bad)?;
    let k: usize = k.parse().ok().filter(|&v| v > 0).ok_or_else(bad)?;
    match dims[..] {
        [c, h, w] => Ok(((c, h, w), k)),
        _ => Err(bad()),
    }
}

fn activation(spec: &str, name: &str) -> Result<Activation, NnError> {
    Activation::from_name(name).ok_or_else(|| {
        let names: Vec<&str> = Activation::ALL.iter().map(|(n, _)| *n).collect();
        spec_err(
            spec,
            format!(
                "unknown activation `{name}`; choose one of {}",
                names.join(", ")
            ),
        )
    })
}

fn shape_err(spec: &str) -> impl Fn(NnError) -> NnError + '_ {
    move |e| spec_err(spec, e.to_string())
}

/// Layers of a `cnn:` spec (see the module docs).
pub fn cnn<T: Float>(spec: &str) -> Result<Layers<T>, NnError> {
    let mut parts = spec.trim().split(':').skip(1);
    let ((c, h, w), k) = shape(spec, parts.next())?;
    let act = activation(
        spec,
        parts
            .next()
            .ok_or_else(|| spec_err(spec, "a CNN spec is `cnn:CxHxW-K:ACT[:options]`".into()))?,
    )?;
    let opts = Options::parse(spec, parts.next(), &["width", "pool"])?;
    if parts.next().is_some() {
        return Err(spec_err(
            spec,
            "a CNN spec is `cnn:CxHxW-K:ACT[:options]`".into(),
        ));
    }
    let width = opts.positive("width", 32)?;
    let kind = match opts.get("pool", "avg".to_string(), "avg or max")?.as_str() {
        "avg" => PoolKind::Avg,
        "max" => PoolKind::Max,
        other => {
            return Err(spec_err(
                spec,
                format!("option `pool={other}` must be avg or max"),
            ))
        }
    };
    let err = shape_err(spec);
    let mut layers: Layers<T> = Vec::new();
    let (mut ch, mut hh, mut ww) = (c, h, w);
    for out in [width, 2 * width] {
        let conv = Conv2d {
            in_channels: ch,
            height: hh,
            width: ww,
            out_channels: out,
            kernel: 3,
            stride: 1,
            padding: 1,
            bias: false,
        }
        .checked()
        .map_err(&err)?;
        let pool = Pool2d {
            kind,
            channels: out,
            height: hh,
            width: ww,
            size: 2,
        }
        .checked()
        .map_err(&err)?;
        layers.push(Box::new(conv));
        layers.push(Box::new(ActivationLayer {
            act,
            width: out * hh * ww,
        }));
        (hh, ww) = pool.out_hw();
        layers.push(Box::new(pool));
        ch = out;
    }
    layers.push(Box::new(NoBias(Linear {
        fan_in: ch * hh * ww,
        fan_out: 4 * width,
    })));
    layers.push(Box::new(ActivationLayer {
        act,
        width: 4 * width,
    }));
    layers.push(Box::new(Linear {
        fan_in: 4 * width,
        fan_out: k,
    }));
    Ok(layers)
}

/// Layers of a `vit:` spec (see the module docs).
pub fn vit<T: Float>(spec: &str) -> Result<Layers<T>, NnError> {
    let mut parts = spec.trim().split(':').skip(1);
    let ((c, h, w), k) = shape(spec, parts.next())?;
    let known = [
        "patch",
        "dim",
        "depth",
        "heads",
        "dim_head",
        "mlp",
        "act",
        "pos",
        "head_init",
    ];
    let opts = Options::parse(spec, parts.next(), &known)?;
    if parts.next().is_some() {
        return Err(spec_err(
            spec,
            "a ViT spec is `vit:CxHxW-K[:options]`".into(),
        ));
    }
    let patch = opts.positive("patch", 4)?;
    let dim = opts.positive("dim", 64)?;
    let depth = opts.get("depth", 4usize, "a non-negative integer")?;
    let heads = opts.positive("heads", 8)?;
    let dim_head = opts.positive("dim_head", 64)?;
    let mlp = opts.positive("mlp", 256)?;
    let act = activation(
        spec,
        &opts.get("act", "gelu".to_string(), "an activation name")?,
    )?;
    let head_init = opts.get("head_init", 0.0f64, "a number")?;
    let err = shape_err(spec);

    let patches = Patchify::new(c, h, w, patch).map_err(&err)?;
    let (tokens, pd) = (patches.tokens(), patches.patch_dim());
    let pos = match opts
        .get("pos", "sincos".to_string(), "sincos or learned")?
        .as_str()
    {
        "sincos" => PosEmbed::sincos(h / patch, w / patch, dim).map_err(&err)?,
        "learned" => PosEmbed::Learned { tokens, dim },
        other => {
            return Err(spec_err(
                spec,
                format!("option `pos={other}` must be sincos or learned"),
            ))
        }
    };
    let ln = |width: usize| -> Box<dyn Layer<T>> {
        Box::new(LayerNorm {
            width,
            eps: DEFAULT_EPS,
        })
    };
    let mut body: Layers<T> = vec![
        ln(pd),
        Box::new(Linear {
            fan_in: pd,
            fan_out: dim,
        }),
        ln(dim),
        Box::new(pos),
    ];
    for _ in 0..depth {
        let attention = Attention {
            tokens,
            dim,
            heads,
            dim_head,
        }
        .checked()
        .map_err(&err)?;
        body.push(Box::new(
            Residual::new(vec![ln(dim), Box::new(attention)]).map_err(&err)?,
        ));
        body.push(Box::new(
            Residual::new(vec![
                ln(dim),
                Box::new(Linear {
                    fan_in: dim,
                    fan_out: mlp,
                }),
                Box::new(ActivationLayer { act, width: mlp }),
                Box::new(Linear {
                    fan_in: mlp,
                    fan_out: dim,
                }),
            ])
            .map_err(&err)?,
        ));
    }
    body.push(ln(dim));
    Ok(vec![
        Box::new(patches),
        Box::new(Sequential::new("tokens", body, tokens).map_err(&err)?),
        Box::new(MeanTokens { tokens, dim }),
        Box::new(ScaledInit {
            scale: head_init,
            inner: Box::new(Linear {
                fan_in: dim,
                fan_out: k,
            }),
        }),
    ])
}

#[cfg(test)]
mod tests {
    use crate::model::Model;
    use crate::Init;

    #[test]
    fn cnn_defaults_match_the_central_flows_cnn() {
        let m = Model::<f64>::from_spec("cnn:3x32x32-10:relu").unwrap();
        // conv 3·9·32, conv 32·9·64, fc (64·8·8)·128 without bias, fc 128·10 + 10.
        assert_eq!(
            m.num_params(),
            27 * 32 + 288 * 64 + 4096 * 128 + 128 * 10 + 10
        );
        assert_eq!(m.out_width(), 10);
        assert_eq!(m.in_width(), 3 * 32 * 32);
        let m = Model::<f64>::from_spec("cnn:1x8x8-3:tanh:width=4,pool=max").unwrap();
        assert!(m.summary().contains("maxpool2"), "{}", m.summary());
        assert_eq!(m.num_params(), 9 * 4 + 36 * 8 + 8 * 4 * 16 + 16 * 3 + 3);
    }

    #[test]
    fn vit_defaults_match_simple_vit() {
        let m = Model::<f64>::from_spec("vit:3x32x32-10").unwrap();
        let (pd, d, inner, mlp) = (48, 64, 512, 256);
        let block = 2 * d + d * 3 * inner + inner * d + 2 * d + d * mlp + mlp + mlp * d + d;
        let want = 2 * pd + pd * d + d + 2 * d + 4 * block + 2 * d + d * 10 + 10;
        assert_eq!(m.num_params(), want);
        let w = m.init(Init::LeCun, 0);
        let head = m.param_views().into_iter().last().unwrap();
        assert!(
            w[head.offset - d * 10..].iter().all(|&v| v == 0.0),
            "zero-initialized head"
        );
        let small = Model::<f64>::from_spec(
            "vit:3x32x32-10:dim=32,depth=2,heads=4,mlp=64,patch=8,pos=learned",
        )
        .unwrap();
        assert!(
            small.summary().contains("learned position(16×32)"),
            "{}",
            small.summary()
        );
    }

    #[test]
    fn bad_cnn_and_vit_specs_are_errors_with_reasons() {
        for (spec, needle) in [
            ("cnn:3x32-10:relu", "CxHxW-K"),
            ("cnn:3x32x32-10", "cnn:CxHxW-K:ACT"),
            ("cnn:3x32x32-10:mish", "unknown activation"),
            ("cnn:3x32x32-10:relu:pool=min", "avg or max"),
            ("cnn:3x32x32-10:relu:depth=3", "unknown option `depth`"),
            ("cnn:3x1x1-10:relu", "does not fit"),
            ("vit:3x32x32-10:patch=5", "must divide"),
            ("vit:3x32x32-10:dim=30", "multiple of 4"),
            ("vit:3x32x32-10:heads=0", "positive integer"),
            ("vit:3x32x32-10:dim", "key=value"),
        ] {
            let e = Model::<f64>::from_spec(spec).err().unwrap().to_string();
            assert!(e.contains(needle), "{spec}: {e}");
        }
    }
}
