//! The README's two commands share one build: `cargo run --release -p ae-train` (the main job)
//! and `cargo test --release --workspace` (the tests) must resolve every dependency they both
//! build with the same features, or the second command rebuilds Burn and cubecl from that crate
//! up (38 minutes on 2 cores). Test-only crates (proptest, tempfile) may add packages; they must
//! not change the features of a package the program builds.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

/// `name version` -> the feature sets cargo resolves for it, from `cargo tree -e features` (a
/// package built both for build scripts and for the program can have one set for each).
fn resolved(args: &[&str]) -> BTreeMap<String, BTreeSet<String>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .current_dir(&root)
        .args(["tree", "--locked", "--offline", "--prefix", "none", "--format", "{p}|{f}"])
        .args(args)
        .output()
        .expect("cargo runs");
    assert!(out.status.success(), "cargo tree {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    let mut packages: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        // Feature nodes (`serde feature "std"`) carry no `|`; package lines are `name vX (path)|f,g`.
        let Some((package, features)) = line.split_once('|') else { continue };
        let features = features.trim_end_matches(" (*)").to_string();
        let mut words = package.split_whitespace();
        let (Some(name), Some(version)) = (words.next(), words.next()) else { continue };
        // Workspace members are rebuilt from source anyway (seconds); a member that is a
        // command-line package gets its `default` feature, which is what we mean.
        if package.contains(" (/") || package.contains(" (.") {
            continue;
        }
        packages.entry(format!("{name} {version}")).or_default().insert(features);
    }
    assert!(packages.len() > 100, "cargo tree printed too little to compare: {}", packages.len());
    packages
}

#[test]
fn main_job_and_tests_resolve_one_feature_set() {
    let main_job = resolved(&["-e", "features,normal,build", "-p", "ae-train"]);
    let tests = resolved(&["-e", "features", "--workspace"]);
    let differing: Vec<String> = main_job
        .iter()
        .filter_map(|(package, features)| match tests.get(package) {
            Some(t) if t != features => Some(format!("{package}: main job {features:?}, tests {t:?}")),
            None => Some(format!("{package}: built by the main job, absent from the tests' graph")),
            _ => None,
        })
        .collect();
    assert!(
        differing.is_empty(),
        "the tests would rebuild these (and everything above them); pin their features in the \
         workspace Cargo.toml as fastrand and rustix are:\n{}",
        differing.join("\n")
    );
}
