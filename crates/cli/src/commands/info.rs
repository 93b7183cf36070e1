//! `gdscope info`: build and machine facts that matter for speed and reproducibility.

/// Arguments of `gdscope info`.
#[derive(clap::Args)]
#[command(after_help = "Examples:\n  gdscope info\n  gdscope info --json")]
pub struct Args {
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

/// Prints version, CPU SIMD level and the number of worker threads.
pub fn run(args: Args) -> anyhow::Result<()> {
    let simd = simd_level();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    if args.json {
        let v = serde_json::json!({
            "version": env!("CARGO_PKG_VERSION"),
            "simd": simd,
            "threads": threads,
        });
        println!("{v}");
    } else {
        println!("gdscope {}", env!("CARGO_PKG_VERSION"));
        println!("simd:    {simd}");
        println!("threads: {threads}");
    }
    Ok(())
}

fn simd_level() -> &'static str {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            return "x86-64-v4 (AVX-512)";
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            return "x86-64-v3 (AVX2+FMA)";
        }
        "x86-64 baseline"
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        "portable"
    }
}
