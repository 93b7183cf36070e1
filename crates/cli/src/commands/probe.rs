//! `gdscope probe`: loss, gradient, Hessian-vector products and the third-order vector
//! `∇_w(uᵀH(w)v)` of a network at given parameters, written to an .npz — the way to check
//! gdscope against one's own code (docs/engine.md §"gdscope probe").

use std::path::PathBuf;

use anyhow::Result;
use gdscope_core::linalg::norm;
use gdscope_core::{Block, Objective};
use gdscope_io::npy::{write_npz, NdArray};

use crate::network_args::NetworkArgs;
use gdscope_runs::network::read_vector;

/// Arguments of `gdscope probe`.
#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  gdscope probe --model mlp:20-64-4:gelu-tanh --data data.npz --params w.npy --u u.npy --v v.npy --out probe.npz"
)]
pub struct Args {
    #[command(flatten)]
    net: NetworkArgs,
    /// Direction u (.npy, flat, length P): adds `hvp_u` = H·u.
    #[arg(long, value_name = "U.npy")]
    u: Option<PathBuf>,
    /// Direction v (.npy, flat, length P): adds `hvp_v` = H·v, and with --u `d3_uv` = ∇_w(uᵀH(w)v).
    #[arg(long, value_name = "V.npy")]
    v: Option<PathBuf>,
    /// Output .npz (float64 arrays `loss`, `grad`, and `hvp_u`, `hvp_v`, `d3_uv` when requested).
    #[arg(long, value_name = "OUT.npz")]
    out: PathBuf,
    /// Replace the output file if it exists.
    #[arg(long)]
    overwrite: bool,
}

/// Computes the requested derivatives, writes them and prints their norms.
pub fn run(args: Args) -> Result<()> {
    crate::output_file::check_new(&args.out, args.overwrite)?;
    let (obj, w, net) = args.net.build()?;
    let p = obj.dim();
    let u = args
        .u
        .as_deref()
        .map(|path| read_vector(path, p, "direction u"))
        .transpose()?;
    let v = args
        .v
        .as_deref()
        .map(|path| read_vector(path, p, "direction v"))
        .transpose()?;

    let mut grad = vec![0.0; p];
    let loss = obj.value_grad(&w, &mut grad);
    let mut results: Vec<(&str, NdArray)> = vec![
        ("loss", NdArray::from_f64(vec![], vec![loss])?),
        ("grad", NdArray::from_f64(vec![p], grad)?),
    ];
    // Both HVPs in one block pass when both directions are given.
    let dirs: Vec<(&str, &Vec<f64>)> = [("hvp_u", u.as_ref()), ("hvp_v", v.as_ref())]
        .into_iter()
        .filter_map(|(n, d)| d.map(|d| (n, d)))
        .collect();
    if !dirs.is_empty() {
        let block = Block::from_fn(p, dirs.len(), |i, j| dirs[j].1[i]);
        let hv = obj.block_hvp(&w, &block);
        for (j, (name, _)) in dirs.iter().enumerate() {
            results.push((
                name,
                NdArray::from_f64(vec![p], hv.column(j).iter().copied().collect())?,
            ));
        }
    }
    if let (Some(u), Some(v)) = (&u, &v) {
        let mut d3 = vec![0.0; p];
        obj.third_order(&w, u, v, &mut d3);
        results.push(("d3_uv", NdArray::from_f64(vec![p], d3)?));
    }
    let refs: Vec<(&str, &NdArray)> = results.iter().map(|(n, a)| (*n, a)).collect();
    write_npz(&args.out, &refs)?;

    println!(
        "model {} ({} parameters), {} examples, loss {}, dtype {}",
        obj.spec(),
        p,
        obj.num_examples().unwrap_or(0),
        net.loss.as_str(),
        net.dtype.as_str()
    );
    println!("loss     {loss:.17e}");
    for (name, a) in results.iter().skip(1) {
        println!(
            "|{name}|{} {:.17e}",
            " ".repeat(7 - name.len()),
            norm(&a.data)
        );
    }
    println!("wrote {}", args.out.display());
    Ok(())
}
