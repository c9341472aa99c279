//! `ae-train bench` through the binary: it trains each case, writes its measurements, and
//! refuses what it cannot measure.

mod common;

use common::*;

#[test]
fn bench_measures_each_case_in_its_own_process_and_writes_json_lines() {
    let tmp = tempfile::tempdir().unwrap();
    let json = tmp.path().join("bench.jsonl");
    let o =
        ae_train(tmp.path(), &["bench", "--backend", "flex", "--case", "dense", "--case", "vae", "--seconds", "0.3"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("machine:") && out.contains("backend flex"), "{out}");
    // Again with a JSON file: one line per case, steps taken and a finite, trained loss.
    let o = ae_train(
        tmp.path(),
        &["bench", "--backend", "flex", "--case", "dense", "--case", "vae", "--seconds", "0.3", "--json"],
    );
    assert_eq!(o.status.code(), Some(2), "--json needs a value: {}", stderr(&o));
    let o = ae_train(
        tmp.path(),
        &["bench", "--backend", "flex", "--case", "dense", "--case", "vae", "--seconds", "0.3", "--batch", "32"]
            .into_iter()
            .chain(["--json", json.to_str().unwrap()])
            .collect::<Vec<_>>(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let lines: Vec<serde_json::Value> =
        std::fs::read_to_string(&json).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2);
    for (m, case) in lines.iter().zip(["dense", "vae"]) {
        assert_eq!(m["case"], case);
        assert_eq!(m["backend"], "flex");
        assert_eq!(m["batch"], 32);
        let (steps, rate) = (m["steps"].as_u64().unwrap(), m["steps_per_s"].as_f64().unwrap());
        // The loss is read every 25 steps, so a case takes at least 25 timed steps.
        assert!(steps >= 25 && steps % 25 == 0, "{m}");
        assert!(rate > 0.0 && (m["samples_per_s"].as_f64().unwrap() - 32.0 * rate).abs() < 1e-6 * rate * 32.0);
        assert!(m["loss"].as_f64().unwrap().is_finite(), "{m}");
        // Its own process: a few tens of MiB, not the parent's.
        let rss = m["peak_rss_mib"].as_f64().unwrap();
        assert!(rss > 1.0 && rss < 2000.0, "{m}");
    }
}

#[test]
fn bench_precision_reaches_the_measuring_process() {
    let tmp = tempfile::tempdir().unwrap();
    for precision in ["f32", "bf16"] {
        let json = tmp.path().join(format!("{precision}.jsonl"));
        let o = ae_train(
            tmp.path(),
            &["bench", "--backend", "flex", "--case", "dense", "--seconds", "0.2", "--precision", precision, "--json"]
                .into_iter()
                .chain([json.to_str().unwrap()])
                .collect::<Vec<_>>(),
        );
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let m: serde_json::Value = serde_json::from_str(std::fs::read_to_string(&json).unwrap().trim()).unwrap();
        // Written by the child process that trained, so the setting reached it.
        assert_eq!(m["precision"], precision, "{m}");
    }
    let o = ae_train(tmp.path(), &["bench", "--precision", "fp8"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("fp8"), "{}", stderr(&o));
}

#[test]
fn bench_rounds_pair_each_side_and_report_the_median_ratio() {
    let tmp = tempfile::tempdir().unwrap();
    // A stand-in for Python with torch: answers every case with 100 steps/s.
    let python = tmp.path().join("python");
    std::fs::write(
        &python,
        "#!/bin/sh\necho '{\"steps\": 50, \"steps_per_s\": 100.0, \"peak_rss_mib\": 10, \"loss\": 0.1}'\n",
    )
    .unwrap();
    std::fs::set_permissions(&python, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let json = tmp.path().join("rounds.jsonl");
    let args = ["bench", "--backend", "flex", "--case", "dense", "--seconds", "0.2", "--rounds", "3", "--torch"];
    let o = ae_train(
        tmp.path(),
        &args.into_iter().chain([python.to_str().unwrap(), "--json", json.to_str().unwrap()]).collect::<Vec<_>>(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let lines: Vec<serde_json::Value> =
        std::fs::read_to_string(&json).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    // Each round: ours, then PyTorch.
    let order: Vec<(String, u64)> =
        lines.iter().map(|m| (m["backend"].as_str().unwrap().to_string(), m["round"].as_u64().unwrap())).collect();
    let want: Vec<(String, u64)> = (0..3).flat_map(|r| [("flex".to_string(), r), ("torch".to_string(), r)]).collect();
    assert_eq!(order, want);
    let mut ratios: Vec<f64> =
        lines.iter().filter(|m| m["backend"] == "flex").map(|m| m["steps_per_s"].as_f64().unwrap() / 100.0).collect();
    let each: Vec<String> = ratios.iter().map(|r| format!("{r:.2}x")).collect();
    ratios.sort_by(f64::total_cmp);
    let line = format!("dense    flex     {:.2}x (median of 3 rounds: {})", ratios[1], each.join(" "));
    assert!(stdout(&o).contains(&line), "want {line:?} in\n{}", stdout(&o));
}

#[test]
fn bench_refuses_unknown_cases_and_impossible_settings() {
    let tmp = tempfile::tempdir().unwrap();
    for (args, needle) in [
        (
            vec!["bench", "--case", "transformer"],
            "--case transformer: no such case (cases: dense, deep, vae, conv, conv_full)",
        ),
        (vec!["bench", "--seconds", "0"], "--seconds 0"),
        (vec!["bench", "--batch", "0"], "--batch 0"),
        (vec!["bench", "--rounds", "0"], "--rounds 0"),
    ] {
        let o = ae_train(tmp.path(), &args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(needle), "{args:?}: {}", stderr(&o));
    }
}
