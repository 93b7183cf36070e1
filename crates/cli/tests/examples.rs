//! The example configs say what the code does: every example that states a stability
//! threshold states the one the run logs (`threshold` column, from the optimizer), and every
//! example loads.

use gdscope_train::config::TrainConfig;

#[test]
fn stated_thresholds_are_the_logged_ones() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("toml") {
            continue;
        }
        let config = TrainConfig::load(&path, &[]).unwrap_or_else(|e| panic!("{path:?}: {e:#}"));
        let text = std::fs::read_to_string(&path).unwrap();
        let comment: String = text
            .lines()
            .take_while(|l| l.starts_with('#'))
            .collect::<Vec<_>>()
            .join(" ");
        if !comment.contains("threshold") {
            continue;
        }
        let stated: f64 = comment
            .split("logged threshold = ")
            .nth(1)
            .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit() && c != '.').next())
            .and_then(|n| n.trim_end_matches('.').parse().ok())
            .unwrap_or_else(|| {
                panic!("{path:?}: a comment about the threshold must say `logged threshold = N`")
            });
        let logged = config.optimizer.stability_threshold();
        assert!(
            (stated - logged).abs() <= 1e-9 * logged,
            "{path:?} states {stated}, the run logs {logged}"
        );
        checked += 1;
    }
    assert!(checked >= 4, "only {checked} examples state a threshold");
}
