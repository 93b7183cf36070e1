//! Steady state without jet allocations (docs/engine.md §"Workspaces"): once a network
//! objective has run a pass of some shape, repeating it allocates no buffer as large as one
//! coefficient matrix of a hidden layer — every jet lives in the reused workspace. (The `gemm`
//! crate still allocates its small packing buffers per product; they stay far below that size.)

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use gdscope_core::{Block, Derivatives, Objective, Request};
use gdscope_nn::{Dtype, Init, Loss, NetworkObjective};

/// The system allocator, recording the largest allocation while `WATCH` is set.
struct Watching;

static WATCH: AtomicBool = AtomicBool::new(false);
static LARGEST: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator; the bookkeeping only
// reads the layout.
unsafe impl GlobalAlloc for Watching {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if WATCH.load(Ordering::Relaxed) {
            LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        }
        // SAFETY: forwarded with the caller's layout.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if WATCH.load(Ordering::Relaxed) {
            LARGEST.fetch_max(new_size, Ordering::Relaxed);
        }
        // SAFETY: forwarded unchanged.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Watching = Watching;

/// Largest single allocation made by `f`.
fn largest_allocation(f: impl FnOnce()) -> usize {
    LARGEST.store(0, Ordering::SeqCst);
    WATCH.store(true, Ordering::SeqCst);
    f();
    WATCH.store(false, Ordering::SeqCst);
    LARGEST.load(Ordering::SeqCst)
}

#[test]
fn repeated_passes_allocate_no_jet_buffers() {
    let (n, width) = (600, 128);
    let spec = format!("mlp:10-{width}-{width}-3:gelu-tanh");
    for dtype in [Dtype::F32, Dtype::F64] {
        let x: Vec<f64> = (0..n * 10).map(|i| ((i as f64) * 0.37).sin()).collect();
        let y: Vec<f64> = (0..n * 3).map(|i| ((i as f64) * 0.11).cos()).collect();
        let obj = NetworkObjective::new(&spec, &x, &y, n, Loss::Mse, dtype).unwrap();
        let w = obj.init(Init::LeCun, 1);
        let p = obj.dim();
        let us = Block::from_fn(p, 2, |i, j| ((i + 3 * j) as f64 * 0.01).sin());
        let (mut g, mut hv) = (vec![0.0; p], vec![0.0; p]);
        let mut d = Derivatives::default();
        let mut steps = || {
            obj.value_grad(&w, &mut g);
            obj.hvp(&w, us.column(0).as_slice(), &mut hv);
            obj.third_order(
                &w,
                us.column(0).as_slice(),
                us.column(1).as_slice(),
                &mut hv,
            );
            obj.derivatives(&w, &us, Request::ALL, &mut d);
        };
        let first = largest_allocation(&mut steps);
        let steady = largest_allocation(&mut steps);
        let coefficient = n * width * if dtype == Dtype::F32 { 4 } else { 8 };
        assert!(
            first >= coefficient,
            "{dtype:?}: the first pass builds the jets ({first} B)"
        );
        assert!(
            steady < coefficient,
            "{dtype:?}: a repeated pass allocated {steady} B (one coefficient matrix is {coefficient} B)"
        );
    }
}
