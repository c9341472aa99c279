//! Training from files named in the config (`data.source`) instead of a catalog dataset: a CSV
//! of real satellite rows trains; a NaN or text cell stops before training with the file, line
//! and column, exit 1, and no run folder content.

mod common;

use common::*;

/// The first `n` rows of the real sat.trn as CSV with a header, class last.
fn satellite_csv(n: usize) -> String {
    let text = std::fs::read_to_string(data_dir().join("satimage/sat.trn")).unwrap();
    let mut out = (0..36).map(|i| format!("f{i}")).chain(["class".to_string()]).collect::<Vec<_>>().join(",");
    out.push('\n');
    for line in text.lines().take(n) {
        out.push_str(&line.split_whitespace().collect::<Vec<_>>().join(","));
        out.push('\n');
    }
    out
}

const CONFIG: &str = r#"
name = "csv-run"
[data]
dataset = "my-table"
source = { kind = "csv", path = "table.csv", options = { label = "last" } }
[model.network]
kind = "dense"
hidden = [16]
code = 2
activation = "selu"
[train]
epochs = 3
batch_size = 32
learning_rate = 1e-2
"#;

#[test]
fn a_csv_source_trains_and_bad_cells_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("table.csv"), satellite_csv(400)).unwrap();
    write_config(tmp.path(), "csv.toml", CONFIG);
    let o = ae_train(tmp.path(), &["--config", "csv.toml", "--out", "run", "--quiet"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let m = metrics(&tmp.path().join("run"));
    assert_eq!(m.len(), 3);
    assert!(m[2]["train_loss"].as_f64().unwrap() < m[0]["train_loss"].as_f64().unwrap());
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(tmp.path().join("run/summary.json")).unwrap()).unwrap();
    assert_eq!(summary["dataset"], "my-table");

    for (bad, what) in [("nan", "nan"), ("abc", "abc")] {
        let mut text = satellite_csv(50);
        // Line 5 of the file (header = line 1), column 3.
        let mut lines: Vec<String> = text.lines().map(String::from).collect();
        let mut cells: Vec<String> = lines[4].split(',').map(String::from).collect();
        cells[2] = bad.into();
        lines[4] = cells.join(",");
        text = lines.join("\n");
        std::fs::write(tmp.path().join("table.csv"), text).unwrap();
        let o = ae_train(tmp.path(), &["--config", "csv.toml", "--out", "bad", "--quiet"]);
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        let e = stderr(&o);
        assert!(e.contains("table.csv") && e.contains("line 5") && e.contains("column 3") && e.contains(what), "{e}");
        assert!(!e.contains("panicked"), "{e}");
        assert!(!tmp.path().join("bad/model.bpk").exists());
    }

    // A model that does not fit the table's width is a usage error naming the key.
    std::fs::write(tmp.path().join("table.csv"), satellite_csv(50)).unwrap();
    let o = ae_train(
        tmp.path(),
        &[
            "--config",
            "csv.toml",
            "--out",
            "wide",
            "--quiet",
            "--set",
            "model.network.kind=\"conv\"",
            "--set",
            "model.network.channels=[4]",
        ],
    );
    assert_ne!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
}
