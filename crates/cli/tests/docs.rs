//! The documentation a user reads cites only what a user has: no internal issue numbers, no
//! files outside the repository (`../shared/…`), and every relative link resolves.

use std::path::{Path, PathBuf};

/// README.md, docs/*.md, python/README.md and bench/reference/README.md.
fn user_docs() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut files = vec![root.join("README.md")];
    for dir in ["docs", "python", "bench/reference"] {
        if let Ok(entries) = std::fs::read_dir(root.join(dir)) {
            files.extend(
                entries
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.extension().is_some_and(|e| e == "md")),
            );
        }
    }
    files
}

#[test]
fn docs_cite_nothing_a_user_lacks() {
    let docs = user_docs();
    assert!(docs.len() >= 10, "{docs:?}");
    let mut problems = Vec::new();
    for path in &docs {
        let text = std::fs::read_to_string(path).unwrap();
        for (n, line) in text.lines().enumerate() {
            let lower = line.to_lowercase();
            let issue = lower.match_indices("issue ").any(|(at, m)| {
                lower[at + m.len()..]
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_digit())
            });
            if issue || line.contains("../shared") || line.contains("shared/bench") {
                problems.push(format!("{}:{}: {line}", path.display(), n + 1));
            }
        }
        // Relative Markdown links `](target)` point at files of the repository.
        for target in text.split("](").skip(1).filter_map(|t| t.split(')').next()) {
            let file = target.split('#').next().unwrap_or("");
            if file.is_empty() || file.contains("://") || file.starts_with("mailto:") {
                continue;
            }
            if !path.parent().unwrap().join(file).exists() {
                problems.push(format!("{}: broken link ({target})", path.display()));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "docs cite what a user does not have:\n{}",
        problems.join("\n")
    );
}
