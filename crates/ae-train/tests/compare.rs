//! `ae-train compare` through the binary: two runs that differ in their code size and learning
//! rate are told apart by exactly those keys, with one table row each holding the run's own
//! final losses, and one picture of their curves; a folder that is not a run is named.

mod common;

use common::*;

#[test]
fn compare_names_the_differing_keys_and_each_runs_final_losses() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = write_config(tmp.path(), "small.toml", MNIST_SMALL);
    let cfg = cfg.to_str().unwrap();
    for (out, sets) in [
        ("a", ["model.network.code=8", "train.learning_rate=2e-3"]),
        ("b", ["model.network.code=4", "train.learning_rate=1e-3"]),
    ] {
        let o = train(tmp.path(), cfg, &["train.epochs=2", sets[0], sets[1]], &["--out", out]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    }
    let o = ae_train(tmp.path(), &["compare", "a", "b", "--out", "cmp/table.md"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let table = std::fs::read_to_string(tmp.path().join("cmp/table.md")).unwrap();
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 4, "{table}");
    assert_eq!(
        lines[0],
        "| run | model.network.code | train.learning_rate | epochs | train loss | val loss | test loss | train s |"
    );
    for (line, run, code) in [(lines[2], "a", "8"), (lines[3], "b", "4")] {
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        assert_eq!((cells[0], cells[1], cells[3]), (run, code, "2"), "{line}");
        let m = metrics(&tmp.path().join(run));
        assert_eq!(cells[4], format!("{:.6}", m[1]["train_loss"].as_f64().unwrap()));
        assert_eq!(cells[5], format!("{:.6}", m[1]["val_loss"].as_f64().unwrap()));
    }
    assert!(stdout(&o).contains("| run | model.network.code |"), "{}", stdout(&o));
    let png = image::open(tmp.path().join("cmp/table.png")).expect("the curves' picture");
    assert!(png.width() > 100 && png.height() > 100);

    // A folder without a run is named, exit 1, and nothing is written.
    std::fs::create_dir(tmp.path().join("empty")).unwrap();
    let o = ae_train(tmp.path(), &["compare", "a", "empty", "--out", "other.md"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("empty") && stderr(&o).contains("not a run folder"), "{}", stderr(&o));
    assert!(!tmp.path().join("other.md").exists());
}
