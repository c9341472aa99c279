//! Time series in the UCR archive's text format: one series a line, whitespace separated, the
//! class first (written as a float, e.g. `1.0000000e+00`), then the values. All series of a file
//! have the same length; classes are mapped to labels in increasing order.

use std::path::Path;

use crate::dataset::{Dataset, Features};

use crate::error::DataError;

/// Reads a UCR text file.
pub fn read(path: &Path) -> Result<Dataset, DataError> {
    let text = std::fs::read_to_string(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::InvalidData => DataError::format(path, "not text (invalid UTF-8)"),
        _ => DataError::io(path, e),
    })?;
    parse(&text, path)
}

/// Parses the text of a UCR file (`path` only names it in errors).
pub fn parse(text: &str, path: &Path) -> Result<Dataset, DataError> {
    let mut values = Vec::new();
    let mut classes_raw = Vec::new();
    let mut length = None;
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        let mut cells = line.split_whitespace();
        let Some(class_cell) = cells.next() else {
            continue;
        };
        let class: f64 =
            class_cell.parse().ok().filter(|c: &f64| c.is_finite() && c.fract() == 0.0).ok_or_else(|| {
                DataError::format(path, format!("line {line_no}, column 1: class `{class_cell}` is not a whole number"))
            })?;
        let start = values.len();
        for (c, cell) in cells.enumerate() {
            values.push(DataError::number(cell, path, line_no, c + 2)?);
        }
        let n = values.len() - start;
        match length {
            None if n == 0 => return Err(DataError::format(path, format!("line {line_no}: a class but no values"))),
            None => length = Some(n),
            Some(l) if l != n => {
                return Err(DataError::format(path, format!("line {line_no}: {n} values, the lines before have {l}")));
            }
            _ => {}
        }
        classes_raw.push(class as i64);
    }
    let length = length.ok_or_else(|| DataError::format(path, "no data lines"))?;
    let mut distinct = classes_raw.clone();
    distinct.sort_unstable();
    distinct.dedup();
    let labels = classes_raw.iter().map(|c| distinct.binary_search(c).expect("present") as u16).collect();
    Ok(Dataset {
        features: Features::F32(values),
        item_shape: vec![1, length],
        labels: Some(labels),
        classes: distinct.iter().map(|c| c.to_string()).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_classes_and_series() {
        let d = parse("  2.0e+00 0.5 1.5 -2\n1.0000000e+00  3 4 5\n\n", Path::new("x.txt")).unwrap();
        assert_eq!(d.len(), 2);
        assert_eq!(d.item_shape, vec![1, 3]);
        assert_eq!(d.classes, vec!["1", "2"]);
        assert_eq!(d.labels, Some(vec![1, 0]));
        assert_eq!(d.features.get(2), -2.0);
    }

    #[test]
    fn errors_name_line_and_column() {
        let e = parse("1 1 2\n1 1 x\n", Path::new("ecg.txt")).unwrap_err().to_string();
        assert!(e.contains("ecg.txt: line 2, column 3: `x` is not a number"), "{e}");
        let e = parse("1 1 2\n1 1\n", Path::new("f")).unwrap_err().to_string();
        assert!(e.contains("line 2: 1 values, the lines before have 2"), "{e}");
        let e = parse("1.5 1 2\n", Path::new("f")).unwrap_err().to_string();
        assert!(e.contains("class `1.5`"), "{e}");
        let e = parse("1 nan 2\n", Path::new("f")).unwrap_err().to_string();
        assert!(e.contains("column 2: `nan` is not a finite number"), "{e}");
        assert!(parse("\n\n", Path::new("f")).unwrap_err().to_string().contains("no data lines"));
    }
}
