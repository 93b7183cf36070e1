//! Conv, pooling, layer norm, attention, patch/position embeddings and residual blocks:
//! gradient, HVP and third-order vectors against central finite differences with ε² error
//! scaling, HVP symmetry, and the joint all-pairs / Taylor jets against the hyper-dual path —
//! each layer on tiny shapes between linear layers (so its input-cotangent rule is exercised
//! too), then the `cnn:` and `vit:` specs end to end through `NetworkObjective`.

mod common;

use common::*;
use gdscope_core::linalg::{dot, norm};
use gdscope_core::Objective;
use gdscope_nn::algebra::Algebra;
use gdscope_nn::engine::{jet_pass, Batch};
use gdscope_nn::layers::layer_norm::DEFAULT_EPS;
use gdscope_nn::layers::{
    Activation, ActivationLayer, Attention, Conv2d, LayerNorm, Linear, MeanTokens, NoBias,
    Patchify, Pool2d, PoolKind, PosEmbed, Residual, Sequential,
};
use gdscope_nn::{Dtype, Layer, Loss, Model};

/// A layer stack on a fixed random batch with MSE loss, as an [`Objective`] via jet passes.
struct Stack {
    model: Model<f64>,
    x: Vec<f64>,
    y: Vec<f64>,
    n: usize,
}

impl Stack {
    fn new(layers: Vec<Box<dyn Layer<f64>>>, n: usize, seed: u64) -> Self {
        let model = Model::new(layers).unwrap();
        let x = randn(n * model.in_width(), seed);
        let y = randn(n * model.out_width(), seed + 1);
        Self { model, x, y, n }
    }

    fn pass(
        &self,
        alg: &Algebra,
        w: &[f64],
        dirs: &[&[f64]],
        want: &[usize],
    ) -> (f64, Vec<Vec<f64>>) {
        let batch = Batch {
            x: &self.x,
            y: &self.y,
            rows: self.n,
        };
        let out = jet_pass(&self.model, Loss::Mse, alg, w, dirs, batch, want);
        (out.value, out.grads)
    }
}

impl Objective for Stack {
    fn dim(&self) -> usize {
        self.model.num_params()
    }
    fn value_grad(&self, x: &[f64], grad: &mut [f64]) -> f64 {
        let (v, g) = self.pass(&Algebra::primal(), x, &[], &[0]);
        grad.copy_from_slice(&g[0]);
        v
    }
    fn hvp(&self, x: &[f64], v: &[f64], out: &mut [f64]) {
        let alg = Algebra::tangents(1);
        out.copy_from_slice(&self.pass(&alg, x, &[v], &[alg.dir(0)]).1[0]);
    }
    fn third_order(&self, x: &[f64], u: &[f64], v: &[f64], out: &mut [f64]) {
        let alg = Algebra::hyper_dual();
        out.copy_from_slice(&self.pass(&alg, x, &[u, v], &[alg.pair(0, 1).unwrap()]).1[0]);
    }
}

fn rel(a: &[f64], b: &[f64]) -> f64 {
    dist(a, b) / norm(b).max(1e-300)
}

/// Finite-difference step (the checks use `2H` and `H`).
const H: f64 = 1e-4;

/// All derivative checks of one objective at a random point.
fn check(what: &str, obj: &dyn Objective, seed: u64) {
    let p = obj.dim();
    let w: Vec<f64> = randn(p, seed).iter().map(|v| 0.3 * v).collect();
    let (u, v) = (randn(p, seed + 1), randn(p, seed + 2));
    let mut g = vec![0.0; p];
    obj.value_grad(&w, &mut g);
    let val = |x: &[f64]| vec![obj.value(x)];
    assert_eps_squared(&format!("{what} gradient"), &val, &w, &u, &[dot(&g, &u)], H);

    let grad = |x: &[f64]| {
        let mut g = vec![0.0; p];
        obj.value_grad(x, &mut g);
        g
    };
    let (mut hu, mut hv) = (vec![0.0; p], vec![0.0; p]);
    obj.hvp(&w, &u, &mut hu);
    obj.hvp(&w, &v, &mut hv);
    assert_eps_squared(&format!("{what} HVP"), &grad, &w, &v, &hv, H);
    let (a, b) = (dot(&u, &hv), dot(&v, &hu));
    assert!(
        (a - b).abs() <= 1e-12 * norm(&u) * norm(&hv),
        "{what}: uᵀHv = {a}, vᵀHu = {b}"
    );

    let hvp_v = |x: &[f64]| {
        let mut out = vec![0.0; p];
        obj.hvp(x, &v, &mut out);
        out
    };
    let mut t = vec![0.0; p];
    obj.third_order(&w, &u, &v, &mut t);
    assert_eps_squared(&format!("{what} third order"), &hvp_v, &w, &u, &t, H);
}

/// The joint jets (Taylor `1, ε, ε²` and all pairs of two directions) agree with the
/// hyper-dual path, which exercises the `εᵢ²` (Taylor factor ½) terms of every rule.
fn check_joint_jets(what: &str, s: &Stack, seed: u64) {
    let p = s.dim();
    let w: Vec<f64> = randn(p, seed).iter().map(|v| 0.5 * v).collect();
    let (u, v) = (randn(p, seed + 1), randn(p, seed + 2));
    let third = |a: &[f64], b: &[f64]| {
        let mut t = vec![0.0; p];
        s.third_order(&w, a, b, &mut t);
        t
    };
    let (tuu, tuv, tvv) = (third(&u, &u), third(&u, &v), third(&v, &v));
    let alg = Algebra::taylor2();
    let (_, g) = s.pass(&alg, &w, &[&u], &[alg.pair(0, 0).unwrap()]);
    let twice: Vec<f64> = g[0].iter().map(|x| 2.0 * x).collect();
    assert!(
        rel(&twice, &tuu) < 1e-12,
        "{what}: taylor2 ε² vs hyper-dual"
    );
    let alg = Algebra::all_pairs(2);
    let want = [
        alg.pair(0, 0).unwrap(),
        alg.pair(0, 1).unwrap(),
        alg.pair(1, 1).unwrap(),
    ];
    let (_, g) = s.pass(&alg, &w, &[&u, &v], &want);
    assert!(
        rel(&g[0].iter().map(|x| 2.0 * x).collect::<Vec<_>>(), &tuu) < 1e-12,
        "{what}: all-pairs (0,0)"
    );
    assert!(rel(&g[1], &tuv) < 1e-12, "{what}: all-pairs (0,1)");
    assert!(
        rel(&g[2].iter().map(|x| 2.0 * x).collect::<Vec<_>>(), &tvv) < 1e-12,
        "{what}: all-pairs (1,1)"
    );
}

fn lin(fan_in: usize, fan_out: usize) -> Box<dyn Layer<f64>> {
    Box::new(Linear { fan_in, fan_out })
}

fn tanh(width: usize) -> Box<dyn Layer<f64>> {
    Box::new(ActivationLayer {
        act: Activation::Tanh,
        width,
    })
}

fn check_stack(what: &str, layers: Vec<Box<dyn Layer<f64>>>, seed: u64) {
    let s = Stack::new(layers, 3, seed);
    check(what, &s, seed + 10);
    check_joint_jets(what, &s, seed + 20);
}

#[test]
fn conv2d_with_stride_padding_and_bias() {
    for (stride, padding, bias) in [(1, 1, false), (2, 1, true), (1, 0, true)] {
        let conv = Conv2d {
            in_channels: 2,
            height: 5,
            width: 4,
            out_channels: 3,
            kernel: 3,
            stride,
            padding,
            bias,
        }
        .checked()
        .unwrap();
        let out = Layer::<f64>::out_width(&conv);
        check_stack(
            &format!("conv stride {stride} pad {padding} bias {bias}"),
            vec![lin(3, 40), Box::new(conv), tanh(out), lin(out, 2)],
            1,
        );
    }
}

#[test]
fn average_and_max_pooling() {
    for kind in [PoolKind::Avg, PoolKind::Max] {
        // 5×4 images: the trailing row is dropped, as in PyTorch.
        let pool = Pool2d {
            kind,
            channels: 2,
            height: 5,
            width: 4,
            size: 2,
        }
        .checked()
        .unwrap();
        check_stack(
            &format!("{kind:?} pool"),
            vec![lin(3, 40), tanh(40), Box::new(pool), lin(8, 2)],
            2,
        );
    }
}

#[test]
fn layer_norm_is_exact_to_third_order() {
    let ln = LayerNorm {
        width: 6,
        eps: DEFAULT_EPS,
    };
    check_stack(
        "layer norm",
        vec![lin(4, 6), Box::new(ln), tanh(6), lin(6, 3)],
        3,
    );
    // A nearly constant row: the 1/√(v + eps) factor is strongly curved there.
    let ln = LayerNorm { width: 5, eps: 0.1 };
    check_stack(
        "layer norm, large eps",
        vec![lin(2, 5), Box::new(ln), lin(5, 2)],
        4,
    );
}

/// `T` tokens of width `d` in token space, wrapped between a linear layer and a token mean.
fn token_stack(
    tokens: usize,
    d: usize,
    body: Vec<Box<dyn Layer<f64>>>,
) -> Vec<Box<dyn Layer<f64>>> {
    vec![
        lin(3, tokens * d),
        Box::new(Sequential::new("tokens", body, tokens).unwrap()),
        Box::new(MeanTokens { tokens, dim: d }),
        lin(d, 2),
    ]
}

#[test]
fn multi_head_attention_and_residual_blocks() {
    let (t, d) = (3, 4);
    let attention = Attention {
        tokens: t,
        dim: d,
        heads: 2,
        dim_head: 3,
    }
    .checked()
    .unwrap();
    check_stack("attention", token_stack(t, d, vec![Box::new(attention)]), 5);
    let block = Residual::new(vec![
        Box::new(LayerNorm {
            width: d,
            eps: DEFAULT_EPS,
        }),
        Box::new(attention),
    ])
    .unwrap();
    let mlp = Residual::new(vec![lin(d, 5), tanh(5), lin(5, d)]).unwrap();
    check_stack(
        "residual attention + mlp",
        token_stack(t, d, vec![Box::new(block), Box::new(mlp)]),
        6,
    );
}

#[test]
fn patches_and_position_embeddings() {
    let patches = Patchify::new(2, 4, 4, 2).unwrap();
    for pos in [
        PosEmbed::sincos(2, 2, 8).unwrap(),
        PosEmbed::Learned { tokens: 4, dim: 8 },
    ] {
        let body: Vec<Box<dyn Layer<f64>>> = vec![lin(8, 8), Box::new(pos.clone()), tanh(8)];
        let layers: Vec<Box<dyn Layer<f64>>> = vec![
            lin(2, 32),
            Box::new(patches.clone()),
            Box::new(Sequential::new("tokens", body, 4).unwrap()),
            Box::new(MeanTokens { tokens: 4, dim: 8 }),
            lin(8, 2),
        ];
        check_stack(
            &format!("patches + {}", Layer::<f64>::describe(&pos)),
            layers,
            7,
        );
    }
}

#[test]
fn linear_without_bias() {
    check_stack(
        "no-bias linear",
        vec![
            lin(3, 4),
            tanh(4),
            Box::new(NoBias(Linear {
                fan_in: 4,
                fan_out: 3,
            })),
        ],
        8,
    );
}

/// Patchify is SimpleViT's `b c (h p1) (w p2) -> b (h w) (p1 p2 c)`; the sin-cos table is
/// `posemb_sincos_2d`.
#[test]
fn patch_order_and_sincos_table_follow_simple_vit() {
    let patches = Patchify::new(2, 4, 6, 2).unwrap();
    let x: Vec<f64> = (0..48).map(f64::from).collect();
    let mut y = gdscope_nn::jet::Jet::default();
    y.reset(1, 1, 48);
    Layer::<f64>::forward(
        &patches,
        &Algebra::primal(),
        &gdscope_nn::layer::ParamJet::new(&[], &[]),
        gdscope_nn::jet::JetRef::constant(&x, 1, 48),
        &mut y,
    );
    // Token 1 = patch (h=0, w=1); feature (p1=1, p2=0, c=1) = x[c=1, row 1, col 2].
    let feature = 2 * 2 + 1; // (p1·p + p2)·C + c
    assert_eq!(y.data[8 + feature], (24 + 6 + 2) as f64);
    let PosEmbed::SinCos { table, .. } = PosEmbed::sincos(2, 3, 8).unwrap() else {
        unreachable!()
    };
    // Token 4 = (y=1, x=1), dim 8: ω = [1, 1e-4]; [sin x, sin x', cos x, cos x', sin y, …].
    let row = &table[4 * 8..5 * 8];
    let want = [
        1f64.sin(),
        1e-4f64.sin(),
        1f64.cos(),
        1e-4f64.cos(),
        1f64.sin(),
        1e-4f64.sin(),
        1f64.cos(),
        1e-4f64.cos(),
    ];
    assert!(
        row.iter().zip(want).all(|(a, b)| (a - b).abs() < 1e-15),
        "{row:?}"
    );
}

#[test]
fn cnn_and_vit_specs_end_to_end() {
    for spec in [
        "cnn:2x8x8-3:tanh:width=2",
        "cnn:1x6x6-2:gelu:width=2,pool=max",
        "vit:2x8x8-3:dim=8,depth=1,heads=2,dim_head=4,mlp=12,patch=4",
        "vit:1x4x4-2:dim=8,depth=2,heads=1,dim_head=3,mlp=6,patch=2,pos=learned,act=gelu-tanh",
    ] {
        for loss in [Loss::Mse, Loss::CrossEntropy] {
            let obj = problem(spec, loss, 3, Dtype::F64, 9);
            check(&format!("{spec} {loss:?}"), &obj, 30);
            let w: Vec<f64> = randn(obj.dim(), 40).iter().map(|v| 0.5 * v).collect();
            let u = randn(obj.dim(), 41);
            let fused = fused(&obj, &w, &u);
            let mut tuu = vec![0.0; obj.dim()];
            obj.third_order(&w, &u, &u, &mut tuu);
            assert!(rel(&fused.d3, &tuu) < 1e-12, "{spec}: fused d3");
        }
    }
}

#[test]
fn f32_agrees_with_f64_on_cnn_and_vit() {
    for spec in [
        "cnn:2x8x8-3:tanh:width=2",
        "vit:2x8x8-3:dim=8,depth=1,heads=2,dim_head=4,mlp=12",
    ] {
        let (a, b) = (
            problem(spec, Loss::CrossEntropy, 4, Dtype::F64, 2),
            problem(spec, Loss::CrossEntropy, 4, Dtype::F32, 2),
        );
        let w: Vec<f64> = randn(a.dim(), 3).iter().map(|v| 0.3 * v).collect();
        let u = randn(a.dim(), 4);
        let (fa, fb) = (fused(&a, &w, &u), fused(&b, &w, &u));
        assert!(rel(&fb.grad, &fa.grad) < 1e-4, "{spec} grad");
        assert!(rel(&fb.hu, &fa.hu) < 1e-4, "{spec} hu");
        assert!(rel(&fb.d3, &fa.d3) < 1e-3, "{spec} d3");
    }
}
