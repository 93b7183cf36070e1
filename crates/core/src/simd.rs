//! Run-time SIMD dispatch for the hot loops of the network engine's elementwise jet kernels
//! and the eigen-solvers' tall block products (as the basin kernel does in
//! `gdscope-direction`): the same portable loop is compiled three times — baseline x86-64,
//! AVX2+FMA and AVX-512 — and the widest one the CPU supports runs.
//!
//! The loops are written so that LLVM vectorises them; Rust never contracts `a·b + c` into an
//! FMA on its own, so every level performs the same IEEE operations in the same order and
//! returns **bitwise the same** results (tested in `gdscope-nn`'s `layers/activation_jet.rs`).

/// A kernel whose body is `#[inline(always)]`, so that it is compiled into the caller's
/// target-feature context.
pub trait Kernel {
    /// Runs the kernel.
    fn run(self);
}

/// An instruction-set level of [`dispatch`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Baseline code (SSE2 on x86-64).
    Portable,
    /// AVX2 and FMA.
    Avx2,
    /// AVX-512 (F, VL, BW, DQ) with AVX2 and FMA.
    Avx512,
}

impl Level {
    /// The widest level this CPU supports.
    pub fn detect() -> Self {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::is_x86_feature_detected as has;
            if has!("avx512f") && has!("avx512vl") && has!("avx512bw") && has!("avx512dq") {
                return Level::Avx512;
            }
            if has!("avx2") && has!("fma") {
                return Level::Avx2;
            }
        }
        Level::Portable
    }

    /// Lowercase name.
    pub fn name(self) -> &'static str {
        match self {
            Level::Portable => "portable",
            Level::Avx2 => "avx2",
            Level::Avx512 => "avx512",
        }
    }
}

/// Runs `kernel` at the widest level the CPU supports.
#[inline]
pub fn dispatch<K: Kernel>(kernel: K) {
    run_at(Level::detect(), kernel);
}

/// Runs `kernel` at `level`, or at the widest supported level below it (tests compare levels).
#[inline]
pub fn run_at<K: Kernel>(level: Level, kernel: K) {
    #[cfg(target_arch = "x86_64")]
    {
        let best = Level::detect();
        if level == Level::Avx512 && best == Level::Avx512 {
            // SAFETY: the CPU supports every feature `run_avx512` enables (just detected).
            return unsafe { run_avx512(kernel) };
        }
        if level != Level::Portable && best != Level::Portable {
            // SAFETY: AVX2 and FMA were detected.
            return unsafe { run_avx2(kernel) };
        }
    }
    let _ = level;
    kernel.run();
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn run_avx2<K: Kernel>(kernel: K) {
    kernel.run();
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")]
unsafe fn run_avx512<K: Kernel>(kernel: K) {
    kernel.run();
}
