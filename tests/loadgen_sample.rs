//! Golden check: the committed `samples/tenant/` equals a fresh `write_sample`.
//!
//! After an intended generator change, refresh it with
//! `UEBA_REGENERATE_SAMPLE=1 cargo test --test loadgen_sample`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ueba_narrator::loadgen::write_sample;

const REGENERATE: &str = "UEBA_REGENERATE_SAMPLE";

fn sample_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("samples")
        .join("tenant")
}

fn read_tree(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("readable dir") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path
                    .strip_prefix(root)
                    .expect("under root")
                    .to_string_lossy()
                    .into();
                out.insert(rel, std::fs::read(&path).expect("readable file"));
            }
        }
    }
    out
}

#[test]
fn committed_sample_matches_fresh_generation() {
    if std::env::var_os(REGENERATE).is_some() {
        let stats = write_sample(&sample_dir()).expect("regenerate sample");
        eprintln!("regenerated samples/tenant: {} rows", stats.total_rows());
    }
    let fresh = tempfile::tempdir().expect("temp dir");
    let stats = write_sample(fresh.path()).expect("write sample");
    assert!(
        stats.total_rows() > 10_000,
        "sample has {} rows",
        stats.total_rows()
    );
    let hint = format!("regenerate with `{REGENERATE}=1 cargo test --test loadgen_sample`");
    let committed = read_tree(&sample_dir());
    let expected = read_tree(fresh.path());
    let missing: Vec<_> = expected
        .keys()
        .filter(|k| !committed.contains_key(*k))
        .take(3)
        .collect();
    assert!(
        missing.is_empty(),
        "samples/tenant lacks {missing:?}; {hint}"
    );
    let extra: Vec<_> = committed
        .keys()
        .filter(|k| !expected.contains_key(*k))
        .take(3)
        .collect();
    assert!(
        extra.is_empty(),
        "samples/tenant has stale {extra:?}; {hint}"
    );
    for (path, bytes) in &expected {
        assert!(
            committed[path] == *bytes,
            "samples/tenant/{path} differs; {hint}"
        );
    }
}
