//! Invalid manifests and the exact message each fails with, as Spin's own manifest tests pair
//! them: `manifests/<case>.toml` is loaded as `fn-host up` loads it and must fail with the text of
//! `manifests/<case>.expected` (the directory written as `<test-dir>`). After changing a message
//! on purpose, `BLESS=1 cargo test --release -p host --test manifests` rewrites the
//! `.expected` files; review the diff.

use host::manifest::Manifest;
use std::path::{Path, PathBuf};

#[test]
fn invalid_manifests_fail_with_their_exact_message() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/manifests");
    let bless = std::env::var_os("BLESS").is_some();
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
        .collect();
    cases.sort();
    assert!(!cases.is_empty(), "no cases in {}", dir.display());
    let mut failures = Vec::new();
    for case in &cases {
        let message = match Manifest::load(case) {
            Ok(_) => "<no error: the manifest loaded>".to_string(),
            Err(error) => format!("{error:#}").replace(&dir.display().to_string(), "<test-dir>"),
        };
        let expected_file = case.with_extension("expected");
        if bless {
            std::fs::write(&expected_file, format!("{message}\n")).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&expected_file).unwrap_or_default();
        if expected.strip_suffix('\n').unwrap_or(&expected) != message {
            failures.push(format!(
                "{}\n  expected: {expected:?}\n  actual:   {message:?}",
                case.display()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} manifests fail differently (BLESS=1 accepts the new messages):\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
