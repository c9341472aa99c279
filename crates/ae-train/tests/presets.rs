//! Every shipped config parses, validates, and trains 2 epochs on a small subset of its real
//! dataset with a falling training loss.

mod common;

use common::*;

#[test]
fn every_config_trains_two_epochs_with_falling_loss() {
    let names: Vec<String> =
        shipped_configs().iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
    assert!(names.len() >= 12, "{names:?}");
    let tmp = tempfile::tempdir().unwrap();
    for name in &names {
        let out = tmp.path().join(name.trim_end_matches(".toml"));
        // 1000 items keep each run to seconds; 3 epochs so that annealing and warm-up move.
        let sets = ["data.limit=1000", "train.epochs=3", "train.batch_size=50"];
        let o = train(tmp.path(), name, &sets, &["--out", out.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(0), "{name}: {}", stderr(&o));
        let m = metrics(&out);
        let (first, last) = (m[0]["train_loss"].as_f64().unwrap(), m[2]["train_loss"].as_f64().unwrap());
        assert!(last < first, "{name}: training loss {first} -> {last}");
        println!("{name}: train loss {first:.5} -> {last:.5}");
    }
}
