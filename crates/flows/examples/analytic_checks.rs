//! The numbers quoted in docs/central-flows.md "Analytic checks" and "Step-size control":
//! Berthier's two examples (arXiv 2609.01034) with GD and its central flow, and the central
//! flow at 4, 8, 16 and 32 substeps per step.
//!
//! `cargo run --release -p gdscope-flows --example analytic_checks`

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::Instant;

use gdscope_flows::driver::{central_trajectory, discrete_step};
use gdscope_flows::{
    predict_time_average, CentralCache, CentralSettings, CentralStep, FlowError, FlowState,
    StepControl, StepDoubling,
};
use support::{codim2, dist, gd, gd_average, minimal, objective, CODIM2_VARS, ETA};

const EPS: f64 = 0.01;

fn sdcp_summary(steps: &[CentralStep]) -> String {
    let solves: usize = steps.iter().map(|s| s.sdcp.solves).sum();
    let worst = steps
        .iter()
        .map(|s| s.sdcp.max_residual)
        .fold(0.0, f64::max);
    let failed: usize = steps.iter().map(|s| s.sdcp.not_converged).sum();
    let iters: usize = steps.iter().map(|s| s.sdcp.iterations).sum();
    format!(
        "{solves} SDCP solves, max relative KKT residual {worst:.1e}, {failed} not converged, \
         {:.1} interior-point iterations per solve",
        iters as f64 / solves.max(1) as f64
    )
}

fn main() -> Result<(), FlowError> {
    let settings = CentralSettings::default();
    let gd = gd();

    println!("== Minimal example: f = ½(y + x)x² − ε(x + y), ε = {EPS}, η = {ETA}");
    let minimal = minimal(EPS);
    let w0 = [0.05, 1.99 / ETA];
    let avg = gd_average(&minimal, &w0, 10_000, 20_000, |w| vec![w[0] * w[0], w[1]]);
    println!(
        "GD, steps 10 000–20 000: ⟨x²⟩/ε = {:.5}, η⟨y⟩ = {:.5}",
        avg[0] / EPS,
        ETA * avg[1]
    );
    let start = Instant::now();
    let (points, steps) = central_trajectory(&minimal, &gd, &w0, 300, &settings)?;
    let elapsed = start.elapsed();
    let (last, w) = (steps.last().expect("steps"), &points[points.len() - 2]);
    let x2 = objective("x^2", &["x", "y"]);
    let pred = predict_time_average(&x2, w, &last.critical_basis(), &last.x_first);
    println!(
        "central flow, step 300: predicted ⟨x²⟩/ε = {:.7}, ηy = {:.5}, ηS = {:.9}, x = {:.6}",
        pred / EPS,
        ETA * w[1],
        last.eigenvalues[0],
        w[0]
    );
    println!(
        "  {}; {:.1} µs per step",
        sdcp_summary(&steps),
        elapsed.as_secs_f64() * 1e6 / 300.0
    );

    println!("\n== Float64 pitfall: GD entering the edge late (minimal example)");
    for (ey0, x0) in [(1.6, 0.0), (1.9, 0.05), (1.99, 0.05)] {
        let mut state = FlowState::fresh(&gd, &[x0, ey0 / ETA]);
        let (mut peak, mut onset) = (0.0f64, None);
        for t in 0..20_000 {
            discrete_step(&minimal, &gd, &mut state)?;
            peak = peak.max(ETA * state.w[1]);
            if onset.is_none() && state.w[0].abs() > 0.5 * (2.0 * EPS).sqrt() {
                onset = Some(t);
            }
        }
        println!(
            "GD from ηy₀ = {ey0}, x₀ = {x0}: oscillation |x| > ½√(2ε) from step {}, peak ηy = {peak:.4}",
            onset.map_or("never".into(), |t| t.to_string())
        );
    }
    let (_, steps) = central_trajectory(&minimal, &gd, &[0.0, 1.6 / ETA], 2_000, &settings)?;
    let onset = steps.iter().position(|s| s.critical_k > 0);
    let peak = steps.iter().map(|s| s.eigenvalues[0]).fold(0.0, f64::max);
    println!(
        "central flow from ηy₀ = 1.6: critical from step {}, peak ηS = {peak:.6}",
        onset.map_or("never".into(), |t| t.to_string())
    );

    println!("\n== Codimension-2 example (R⁵), ε = {EPS}, η = {ETA}");
    let codim2 = codim2(EPS);
    let w0 = [0.05, 0.03, 1.95 / ETA, 1.9 / ETA, 0.0];
    let avg = gd_average(&codim2, &w0, 10_000, 30_000, |w| {
        vec![w[0] * w[0], w[1] * w[1], w[0] * w[1], w[2], w[3], w[4]]
    });
    println!(
        "GD, steps 10 000–30 000: ⟨x1²⟩/ε = {:.4}, ⟨x2²⟩/ε = {:.4}, ⟨x1x2⟩/(√2ε) = {:.4}, η⟨y⟩ = ({:.4}, {:.4}, {:.4})",
        avg[0] / EPS,
        avg[1] / EPS,
        avg[2] / (std::f64::consts::SQRT_2 * EPS),
        ETA * avg[3],
        ETA * avg[4],
        ETA * avg[5]
    );
    let start = Instant::now();
    let (points, steps) = central_trajectory(&codim2, &gd, &w0, 400, &settings)?;
    let elapsed = start.elapsed();
    let (last, w) = (steps.last().expect("steps"), &points[points.len() - 2]);
    let onset2 = steps
        .iter()
        .position(|s| s.critical_k == 2)
        .unwrap_or(steps.len());
    let uc = last.critical_basis();
    let moments: Vec<f64> = ["x1^2", "x2^2", "x1*x2"]
        .iter()
        .map(|src| predict_time_average(&objective(src, &CODIM2_VARS), w, &uc, &last.x_first))
        .collect();
    println!(
        "central flow, step 400: k = {}, predicted ⟨x1²⟩/ε = {:.6}, ⟨x2²⟩/ε = {:.6}, ⟨x1x2⟩/(√2ε) = {:.6}",
        last.critical_k,
        moments[0] / EPS,
        moments[1] / EPS,
        moments[2] / (std::f64::consts::SQRT_2 * EPS)
    );
    println!(
        "  ηy = ({:.4}, {:.4}, {:.4}), effective eigenvalues {:.7?}, eig(X) = {:.4?}; both critical from step {onset2}",
        ETA * w[2],
        ETA * w[3],
        ETA * w[4],
        &last.eigenvalues[..2],
        last.sigma_eigenvalues()
    );
    println!(
        "  {}; {:.1} µs per step",
        sdcp_summary(&steps),
        elapsed.as_secs_f64() * 1e6 / 400.0
    );

    println!(
        "\n== Substeps per step (minimal example from ηS = 1.9: onset near step 55, 150 steps)"
    );
    let w0 = [0.05, 1.9 / ETA];
    let runs: Vec<(usize, Vec<Vec<f64>>, Vec<CentralStep>)> = [4usize, 8, 16, 32]
        .iter()
        .map(|&n| {
            let s = CentralSettings {
                nsubsteps: n,
                ..CentralSettings::default()
            };
            central_trajectory(&minimal, &gd, &w0, 150, &s).map(|(p, r)| (n, p, r))
        })
        .collect::<Result<_, _>>()?;
    let reference = &runs[3];
    let travelled = dist(&reference.1[0], &reference.1[150]);
    for pair in runs.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        let d =
            a.1.iter()
                .zip(&b.1)
                .map(|(p, q)| dist(p, q))
                .fold(0.0, f64::max);
        let dl =
            a.2.iter()
                .zip(&b.2)
                .map(|(p, q)| ((p.loss - q.loss) / q.loss).abs())
                .fold(0.0, f64::max);
        println!(
            "{:>2} vs {:>2}: max ‖Δw‖ = {d:.3e} ({:.2}% of the distance travelled), max relative Δloss = {:.2e}",
            a.0,
            b.0,
            100.0 * d / travelled,
            dl
        );
    }

    println!("\n== Step doubling (rtol 1e-3 of the distance moved per step), same run");
    let mut doubling = StepDoubling::new(StepControl::default())?;
    let mut state = FlowState::primed(&minimal, &gd, &w0)?;
    let mut cache = CentralCache::new(&settings)?;
    let mut counts = Vec::new();
    let mut worst_err = 0.0f64;
    for _ in 0..150 {
        let s = doubling.step(&minimal, gd.flow()?, &mut state, &settings, &mut cache)?;
        counts.push(s.nsubsteps);
        worst_err = worst_err.max(s.error_estimate);
    }
    let total: usize = counts.iter().sum();
    let profile: Vec<String> = counts
        .chunks(10)
        .map(|c| format!("{}", c.iter().max().unwrap_or(&0)))
        .collect();
    println!(
        "max accepted substeps per block of 10 steps: {}",
        profile.join(" ")
    );
    println!(
        "accepted substeps per step: min {}, max {}, mean {:.1}; largest error estimate {worst_err:.2e}; \
         distance to the 32-substep run at the end {:.2e}",
        counts.iter().min().expect("steps"),
        counts.iter().max().expect("steps"),
        total as f64 / counts.len() as f64,
        dist(&state.w, &reference.1[150])
    );
    Ok(())
}
