//! `stable`: the optimizer's stable flow (theory.md §5–6), from the same weights and
//! optimizer state as the optimizer, in step units:
//!
//! `dw/dt = −P(s)⁻¹ ∇L(w)`, `db/dt = f(b, ∇L(w))`, `dt/dt = 1`
//!
//! with `P`, `f` from the rule ([`gdscope_core::rules::FlowRule`]); for GD this is the
//! gradient flow `dw/dt = −η∇L`. The flow state is primed with the starting gradient (its
//! buffers at time `t` are those in effect during step `t` of the optimizer). Full batch
//! always: it is the flow of the training loss.
//!
//! **Integrator.** Classical RK4 on `(w, b)` with `m` equal substeps per unit of time,
//! `m = max(1, ⌈1.25 · S_eff / rate⌉)`, where `S_eff = λmax(P⁻¹H)` is the flow's **own**
//! effective sharpness: RK4 is stable for `h·S_eff < 2.78` and its amplification error in the
//! stiffest direction is `≈ (h·S_eff)⁵/120` per substep (`rate = 0.5`: ≈ 3·10⁻⁴ at the
//! margin). `S_eff` comes from this process's warm-started eigen-tracker (a full solve every
//! `tracking.every` steps of this process, every 20 when that is 0) and, between solves, from
//! the Rayleigh quotient of the cached top eigenvector at the current point (one HVP); the
//! larger of the two sizes the step, and the factor 1.25 covers growth between measurements.
//! Its tracker never grows `k` (the flow's eigenvalues keep rising past the threshold).
//!
//! **Cost and cap.** The flow does not self-stabilize: after the optimizer reaches the edge of
//! stability its sharpness keeps rising, so the cost per step, `4m ≈ 10·S_eff / rate` gradient
//! evaluations, keeps growing. Once `S_eff` exceeds `max_sharpness` (effective units, where
//! the optimizer's edge is 2; default 100, as in the reference code) the flow stops for good:
//! its columns are `NaN` from that step on and the run summary says when and why.

use gdscope_core::linalg::dot;
use gdscope_core::Values;
use serde::{Deserialize, Serialize};

use super::{scratch, Core, Process, ProcessKind, Settings, Start, StepContext};
use crate::config::TrackingOverride;
use crate::precision::State;
use crate::tracker::{Operator, StateKind};
use crate::Timings;

/// Margin on the measured effective sharpness when sizing substeps.
pub const SHARPNESS_MARGIN: f64 = 1.25;

/// Full eigen-solves of the flow every this many steps when its `tracking.every` is 0.
pub const DEFAULT_RESIZE_EVERY: u64 = 20;

/// `[process.stable]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StableSettings {
    /// Overrides of the shared `[tracking]` settings for this process.
    pub tracking: TrackingOverride,
    /// RK4 substeps are sized so that `h · 1.25 · S_eff ≤ rate` (in (0, 2.5]).
    pub rate: f64,
    /// The flow stops once its effective sharpness exceeds this (effective units: the
    /// optimizer's edge of stability is 2).
    pub max_sharpness: f64,
}

impl Default for StableSettings {
    fn default() -> Self {
        Self {
            tracking: TrackingOverride::default(),
            rate: 0.5,
            max_sharpness: 100.0,
        }
    }
}

impl Settings for StableSettings {
    fn tracking(&self) -> &TrackingOverride {
        &self.tracking
    }
}

/// The stable flow of the optimizer; see the module docs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Stable {
    core: Core,
    rate: f64,
    max_sharpness: f64,
    resize_every: u64,
    /// Effective sharpness of the last full eigen-solve (`NaN` before the first).
    sharpness: f64,
    halted: Option<String>,
    #[serde(skip)]
    scratch: Scratch,
}

/// Per-step buffers (not checkpointed; sized on first use).
#[derive(Debug, Clone, Default)]
struct Scratch {
    estimate: f64,
    substeps: usize,
    update: Vec<f64>,
    next_w: Vec<f64>,
    next_b: Vec<f64>,
    probe_w: Vec<f64>,
    probe_b: Vec<f64>,
    kw: [Vec<f64>; 4],
    kb: [Vec<f64>; 4],
    p: Vec<f64>,
    v: Vec<f64>,
    hv: Vec<f64>,
}

impl ProcessKind for Stable {
    type Settings = StableSettings;

    const METRICS: &'static [&'static str] = &["substeps", "effective_sharpness"];

    fn validate(settings: &StableSettings, section: &str) -> anyhow::Result<()> {
        anyhow::ensure!(
            settings.rate > 0.0 && settings.rate <= 2.5,
            "{section}.rate = {} must lie in (0, 2.5] (RK4 is unstable above ≈2.78)",
            settings.rate
        );
        anyhow::ensure!(
            settings.max_sharpness > 0.0,
            "{section}.max_sharpness = {} must be positive",
            settings.max_sharpness
        );
        Ok(())
    }

    fn build(settings: &StableSettings, start: &Start<'_>) -> anyhow::Result<Self> {
        let flow = start
            .rule
            .flow()
            .map_err(|e| anyhow::anyhow!("process `stable` follows the optimizer's flow, but {e}"))?;
        let mut state = start.state0.clone();
        let mut g0 = vec![0.0; start.w0.len()];
        start.problem.objective.value_grad(start.w0, &mut g0);
        flow.rule().update_state(&mut state.buffers, &g0);
        let mut tracking = start.tracking.clone();
        tracking.adaptive_k = false;
        let resize_every = match tracking.every {
            0 => DEFAULT_RESIZE_EVERY,
            every => every,
        };
        Ok(Self {
            core: Core::new(start, state, &tracking)?,
            rate: settings.rate,
            max_sharpness: settings.max_sharpness,
            resize_every,
            sharpness: f64::NAN,
            halted: None,
            scratch: Scratch::default(),
        })
    }
}

impl Stable {
    /// The effective sharpness that sizes this step (see the module docs), or why the flow
    /// must stop.
    fn size(&mut self, ctx: &StepContext<'_>, timings: &mut Timings) -> Result<f64, String> {
        let clock = std::time::Instant::now();
        let obj = ctx.problem.objective;
        let c = &mut self.core;
        let lr = ctx.rule.lr_at(c.state.t);
        let solve = self.sharpness.is_nan() || ctx.step % self.resize_every == 0;
        if solve {
            let m = c
                .curvature
                .measure(
                    ctx.step,
                    obj,
                    ctx.rule,
                    Values::F64(&c.w),
                    State::F64(&c.state),
                    StateKind::Flow,
                )
                .map_err(|e| format!("its eigen-solve failed: {e:#}"))?
                .ok_or("its preconditioner P(s) is not invertible")?;
            self.sharpness = lr * m.values[0];
        }
        let mut estimate = self.sharpness;
        if let (false, Some(q)) = (solve, c.curvature.top_cached_vector()) {
            // Rayleigh quotient of the cached vector: qᵀP^{-1/2}HP^{-1/2}q, P the tracked scale.
            let s = &mut self.scratch;
            let n = c.w.len();
            let v = scratch(&mut s.v, n);
            match c.curvature.operator(ctx.rule, &c.state, StateKind::Flow) {
                Operator::Preconditioned(p) => {
                    v.iter_mut()
                        .zip(q.iter().zip(p))
                        .for_each(|(v, (q, p))| *v = q / p.sqrt());
                }
                Operator::Hessian => v.copy_from_slice(&q),
                Operator::NotYet => return Err("its preconditioner P(s) is not invertible".into()),
            }
            let hv = scratch(&mut s.hv, n);
            obj.hvp(&c.w, &s.v, hv);
            estimate = estimate.max(lr * dot(&s.v, &s.hv));
        }
        timings.eigen_s += clock.elapsed().as_secs_f64();
        if !estimate.is_finite() {
            return Err(format!("its effective sharpness is {estimate}"));
        }
        if estimate > self.max_sharpness {
            return Err(format!(
                "its effective sharpness {estimate:.4} passed process.stable.max_sharpness = {} \
                 (each step would cost about {:.0} gradient evaluations)",
                self.max_sharpness,
                4.0 * (SHARPNESS_MARGIN * estimate / self.rate).ceil()
            ));
        }
        Ok(estimate)
    }

    /// One RK4 stage at time `t`: `kw = −P(t, b)⁻¹∇L(w)`, `kb = f(b, ∇L(w))`; returns `L(w)`
    /// and leaves `∇L(w)` in `grad`.
    #[allow(clippy::too_many_arguments)]
    fn stage(
        ctx: &StepContext<'_>,
        t: f64,
        w: &[f64],
        b: &[f64],
        grad: &mut [f64],
        p: &mut [f64],
        kw: &mut [f64],
        kb: &mut [f64],
    ) -> Result<f64, String> {
        let flow = ctx.rule.flow().map_err(|e| e.to_string())?;
        let loss = ctx.problem.objective.value_grad(w, grad);
        flow.preconditioner(t, b, p).map_err(|e| e.to_string())?;
        for ((k, g), p) in kw.iter_mut().zip(&*grad).zip(&*p) {
            *k = -g / p;
        }
        flow.rule().state_derivative(b, grad, kb);
        Ok(loss)
    }

    /// Integrates one unit of time with `m` RK4 substeps into the scratch `next_*`; returns
    /// the loss at the start and leaves the gradient there in `core.grad`.
    fn integrate(&mut self, ctx: &StepContext<'_>, m: usize) -> Result<f64, String> {
        let c = &mut self.core;
        let (n, nb) = (c.w.len(), c.state.buffers.len());
        let s = &mut self.scratch;
        for k in s.kw.iter_mut() {
            scratch(k, n);
        }
        for k in s.kb.iter_mut() {
            scratch(k, nb);
        }
        scratch(&mut s.p, n);
        scratch(&mut s.update, n);
        scratch(&mut c.grad, n);
        scratch(&mut s.probe_w, n);
        scratch(&mut s.probe_b, nb);
        s.next_w.clear();
        s.next_w.extend_from_slice(&c.w);
        s.next_b.clear();
        s.next_b.extend_from_slice(&c.state.buffers);
        let h = 1.0 / m as f64;
        // Stages at the end of the unit see the rate of the unit (the left limit), so a
        // step-decay schedule changes the rate exactly at the unit boundary.
        let unit_end = c.state.t + 1.0;
        let last_inside = f64::from_bits(unit_end.to_bits() - 1);
        let at = |tau: f64| tau.min(last_inside);
        let mut loss0 = f64::NAN;
        for j in 0..m {
            let t0 = c.state.t + j as f64 * h;
            let Scratch {
                next_w,
                next_b,
                probe_w,
                probe_b,
                kw,
                kb,
                p,
                update: grad,
                ..
            } = s;
            let [k1, k2, k3, k4] = kw;
            let [l1, l2, l3, l4] = kb;
            let loss = Self::stage(ctx, t0, next_w, next_b, grad, p, k1, l1)?;
            if j == 0 {
                loss0 = loss;
                c.grad.copy_from_slice(grad);
            }
            axpy_into(probe_w, next_w, 0.5 * h, k1);
            axpy_into(probe_b, next_b, 0.5 * h, l1);
            Self::stage(ctx, at(t0 + 0.5 * h), probe_w, probe_b, grad, p, k2, l2)?;
            axpy_into(probe_w, next_w, 0.5 * h, k2);
            axpy_into(probe_b, next_b, 0.5 * h, l2);
            Self::stage(ctx, at(t0 + 0.5 * h), probe_w, probe_b, grad, p, k3, l3)?;
            axpy_into(probe_w, next_w, h, k3);
            axpy_into(probe_b, next_b, h, l3);
            Self::stage(ctx, at(t0 + h), probe_w, probe_b, grad, p, k4, l4)?;
            rk4_combine(next_w, h, [k1, k2, k3, k4]);
            rk4_combine(next_b, h, [l1, l2, l3, l4]);
        }
        Ok(loss0)
    }
}

/// `out = x + a·y`.
fn axpy_into(out: &mut [f64], x: &[f64], a: f64, y: &[f64]) {
    for ((o, x), y) in out.iter_mut().zip(x).zip(y) {
        *o = x + a * y;
    }
}

/// `y += h/6 (k₁ + 2k₂ + 2k₃ + k₄)`.
fn rk4_combine(y: &mut [f64], h: f64, [k1, k2, k3, k4]: [&mut Vec<f64>; 4]) {
    let c = h / 6.0;
    for i in 0..y.len() {
        y[i] += c * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]);
    }
}

impl Process for Stable {
    fn prepare(&mut self, ctx: &StepContext<'_>, timings: &mut Timings) -> anyhow::Result<()> {
        self.core.loss = f64::NAN;
        self.scratch.substeps = 0;
        if self.halted.is_some() {
            return Ok(());
        }
        let outcome = self.size(ctx, timings).and_then(|estimate| {
            let m = ((SHARPNESS_MARGIN * estimate / self.rate).ceil() as usize).max(1);
            let clock = std::time::Instant::now();
            let loss = self.integrate(ctx, m);
            timings.flow_s += clock.elapsed().as_secs_f64();
            let finite = self.scratch.next_w.iter().chain(&self.scratch.next_b);
            if !finite.into_iter().all(|x| x.is_finite()) {
                return Err("its weights or state became non-finite".into());
            }
            self.scratch.estimate = estimate;
            self.scratch.substeps = m;
            loss
        });
        match outcome {
            Ok(loss) => {
                let s = &mut self.scratch;
                self.core.loss = loss;
                for ((u, a), b) in s.update.iter_mut().zip(&s.next_w).zip(&self.core.w) {
                    *u = a - b;
                }
            }
            Err(reason) => {
                self.halted = Some(format!("the stable flow stopped at step {}: {reason}", ctx.step));
            }
        }
        Ok(())
    }

    fn commit(&mut self) {
        if self.halted.is_some() {
            return;
        }
        let c = &mut self.core;
        std::mem::swap(&mut c.w, &mut self.scratch.next_w);
        std::mem::swap(&mut c.state.buffers, &mut self.scratch.next_b);
        c.state.t += 1.0;
    }

    super::core_in_field!();

    fn update(&self) -> Option<&[f64]> {
        Some(&self.scratch.update)
    }

    fn kind(&self) -> StateKind {
        StateKind::Flow
    }

    fn halted(&self) -> Option<&str> {
        self.halted.as_deref()
    }

    fn metrics(&self, out: &mut Vec<f64>) {
        out.clear();
        out.push(self.scratch.substeps as f64);
        out.push(self.scratch.estimate);
    }
}
