//! UCI Statlog (Landsat Satellite): `sat.trn` / `sat.tst`.
//!
//! One item a line: 36 integer features (3x3 pixels x 4 spectral bands) and the class last,
//! separated by spaces; lines may end in CRLF. Classes are 1-5 and 7 (there is no 6).

use std::path::Path;

use crate::dataset::{Dataset, Features};

use crate::error::DataError;

/// Class names, in label order (labels 0..5 stand for UCI classes 1, 2, 3, 4, 5, 7).
pub const CLASSES: [&str; 6] =
    ["red soil", "cotton crop", "grey soil", "damp grey soil", "soil with vegetation stubble", "very damp grey soil"];

/// UCI class numbers in label order.
pub const UCI_CLASSES: [u32; 6] = [1, 2, 3, 4, 5, 7];

/// Number of features per item.
pub const FEATURES: usize = 36;

/// Reads one of the files.
pub fn read(path: &Path) -> Result<Dataset, DataError> {
    let text = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    let text = String::from_utf8(text).map_err(|e| {
        DataError::format(path, format!("byte {}: not text (invalid UTF-8)", e.utf8_error().valid_up_to()))
    })?;
    parse(&text, path)
}

/// Parses the text of a file (`path` only names it in errors).
pub fn parse(text: &str, path: &Path) -> Result<Dataset, DataError> {
    let mut features = Vec::new();
    let mut labels = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let cells: Vec<&str> = line.split_whitespace().collect();
        if cells.len() != FEATURES + 1 {
            return Err(DataError::format(
                path,
                format!(
                    "line {line_no}: {} values, expected {} (36 features and the class)",
                    cells.len(),
                    FEATURES + 1
                ),
            ));
        }
        for (c, cell) in cells[..FEATURES].iter().enumerate() {
            features.push(DataError::number(cell, path, line_no, c + 1)?);
        }
        let class = cells[FEATURES];
        let label =
            class.parse::<u32>().ok().and_then(|c| UCI_CLASSES.iter().position(|&u| u == c)).ok_or_else(|| {
                DataError::format(
                    path,
                    format!("line {line_no}, column 37: class `{class}` is not one of 1, 2, 3, 4, 5, 7"),
                )
            })?;
        labels.push(label as u16);
    }
    if labels.is_empty() {
        return Err(DataError::format(path, "no data lines"));
    }
    Ok(Dataset {
        features: Features::F32(features),
        item_shape: vec![FEATURES],
        labels: Some(labels),
        classes: CLASSES.iter().map(|s| s.to_string()).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(v: u32, class: &str) -> String {
        let mut s: Vec<String> = (0..36).map(|j| (v + j).to_string()).collect();
        s.push(class.into());
        s.join(" ")
    }

    #[test]
    fn parses_crlf_and_maps_classes() {
        let text = format!("{}\r\n{}\r\n", line(50, "1"), line(60, "7"));
        let d = parse(&text, Path::new("sat.trn")).unwrap();
        assert_eq!(d.len(), 2);
        assert_eq!(d.labels, Some(vec![0, 5]));
        assert_eq!(d.features.get(36), 60.0);
    }

    #[test]
    fn errors_name_line_and_column() {
        let bad_num = format!("{}\n{}", line(1, "1"), line(1, "1").replacen("3 ", "x ", 1));
        let e = parse(&bad_num, Path::new("sat.trn")).unwrap_err().to_string();
        assert!(e.contains("sat.trn: line 2, column 3: `x` is not a number"), "{e}");
        let e = parse(&line(1, "6"), Path::new("f")).unwrap_err().to_string();
        assert!(e.contains("line 1, column 37: class `6`"), "{e}");
        let e = parse("1 2 3\n", Path::new("f")).unwrap_err().to_string();
        assert!(e.contains("line 1: 3 values"), "{e}");
        let e = parse(&line(1, "1").replacen("3 ", "NaN ", 1), Path::new("f")).unwrap_err().to_string();
        assert!(e.contains("column 3: `NaN` is not a finite number"), "{e}");
    }
}
