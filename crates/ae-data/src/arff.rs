//! Weka ARFF files (the format OpenML serves, e.g. OpenML's `satimage`).
//!
//! ```text
//! % comment
//! @relation satimage
//! @attribute 'Aattr' numeric
//! @attribute class {1,2,3,4,5,7}
//! @data
//! 92,115,3
//! ```
//!
//! Keywords and the types `numeric`, `real`, `integer` are case-insensitive; names and nominal
//! values may be quoted with `'` or `"`; lines may end in CRLF; `%` lines and blank lines are
//! skipped. Numeric attributes become the features (`Features::F32`, shape `[features]`).
//!
//! The class is the last attribute when it is nominal (or the attribute named by
//! [`ArffOptions::class`]): its declared values are the classes, in declaration order. A numeric
//! class attribute named explicitly gets its distinct values as classes, in numeric order. Any
//! other nominal attribute, `string`, `date` and `relational` attributes, and sparse data
//! (`{0 1, 3 2}`) are refused with the line that declares them. `?` is a missing value: an error
//! by default, `f32::NAN` with [`ArffOptions::allow_missing`] (see [`crate::csv`] for what that
//! implies).

use std::collections::HashMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::csv::Table;
use crate::dataset::{Dataset, Features};
use crate::error::DataError;

/// How to read an ARFF file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ArffOptions {
    /// The class attribute by name; `None`: the last attribute if it is nominal, else no labels.
    pub class: Option<String>,
    /// Load `?` in numeric attributes as `f32::NAN` instead of failing.
    pub allow_missing: bool,
}

/// Largest number of classes (labels are u16).
const MAX_CLASSES: usize = u16::MAX as usize + 1;

#[derive(Debug)]
enum Kind {
    Numeric,
    Nominal(Vec<String>),
}

#[derive(Debug)]
struct Attribute {
    name: String,
    kind: Kind,
    line: usize,
}

/// Reads an ARFF file.
pub fn read(path: &Path, opts: &ArffOptions) -> Result<Dataset, DataError> {
    Ok(read_table(path, opts)?.dataset)
}

/// Reads an ARFF file with its feature names.
pub fn read_table(path: &Path, opts: &ArffOptions) -> Result<Table, DataError> {
    let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    parse(&bytes, path, opts)
}

/// Parses ARFF bytes (`path` only names the file in errors).
pub fn parse(bytes: &[u8], path: &Path, opts: &ArffOptions) -> Result<Table, DataError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|e| DataError::format(path, format!("byte {}: not text (invalid UTF-8)", e.valid_up_to())))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let fail = |line: usize, msg: String| DataError::format(path, format!("line {line}: {msg}"));
    let mut lines = text.split('\n').enumerate().map(|(i, l)| (i + 1, l.strip_suffix('\r').unwrap_or(l)));
    let mut attributes: Vec<Attribute> = Vec::new();
    let mut data_line = None;
    for (n, raw) in lines.by_ref() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('%') {
            continue;
        }
        let (keyword, rest) = line.split_at(line.find(char::is_whitespace).unwrap_or(line.len()));
        match keyword.to_ascii_lowercase().as_str() {
            "@relation" => {}
            "@attribute" => {
                let a = attribute(rest.trim(), n).map_err(|m| fail(n, m))?;
                if attributes.iter().any(|b| b.name == a.name) {
                    return Err(fail(n, format!("attribute `{}` is declared twice", a.name)));
                }
                attributes.push(a);
            }
            "@data" => {
                data_line = Some(n);
                break;
            }
            _ => return Err(fail(n, format!("expected @relation, @attribute or @data, found `{}`", clip(line)))),
        }
    }
    let Some(data_line) = data_line else {
        return Err(DataError::format(path, "no @data section"));
    };
    if attributes.is_empty() {
        return Err(fail(data_line, "@data before any @attribute".into()));
    }
    let class = match &opts.class {
        Some(name) => Some(
            attributes
                .iter()
                .position(|a| &a.name == name)
                .ok_or_else(|| DataError::format(path, format!("no attribute named `{name}` (the class)")))?,
        ),
        None => matches!(attributes.last().map(|a| &a.kind), Some(Kind::Nominal(_))).then(|| attributes.len() - 1),
    };
    if let Some(a) =
        attributes.iter().enumerate().find(|(i, a)| Some(*i) != class && matches!(a.kind, Kind::Nominal(_)))
    {
        return Err(fail(
            a.1.line,
            format!("attribute `{}` is nominal: only the class attribute may be nominal", a.1.name),
        ));
    }
    let features: Vec<usize> = (0..attributes.len()).filter(|&i| Some(i) != class).collect();
    if features.is_empty() {
        return Err(DataError::format(path, "no numeric attributes (features)"));
    }
    let mut values = Vec::new();
    let mut labels = Vec::new();
    // For a numeric class: each row's value, and the text each distinct value was first seen as.
    let mut numeric_raw: Vec<f64> = Vec::new();
    let mut numeric_text: HashMap<u64, String> = HashMap::new();
    let mut cells = Vec::with_capacity(attributes.len());
    for (n, raw) in lines {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('%') {
            continue;
        }
        if line.starts_with('{') {
            return Err(fail(n, "sparse ARFF data (`{index value, ...}`) is not supported".into()));
        }
        cells.clear();
        split_values(line, &mut cells).map_err(|m| fail(n, m))?;
        if cells.len() != attributes.len() {
            return Err(fail(n, format!("{} values, expected {} (one per @attribute)", cells.len(), attributes.len())));
        }
        for &c in &features {
            let cell = cells[c].as_str();
            if cell == "?" {
                if !opts.allow_missing {
                    return Err(fail(
                        n,
                        format!("column {}: missing value (`?`); allow_missing loads it as NaN", c + 1),
                    ));
                }
                values.push(f32::NAN);
            } else {
                values.push(DataError::number(cell, path, n, c + 1)?);
            }
        }
        if let Some(c) = class {
            let cell = cells[c].as_str();
            match &attributes[c].kind {
                Kind::Nominal(allowed) => {
                    let label = allowed.iter().position(|v| v == cell).ok_or_else(|| {
                        fail(
                            n,
                            format!("column {}: class `{}` is not one of {{{}}}", c + 1, clip(cell), allowed.join(",")),
                        )
                    })?;
                    labels.push(label as u16);
                }
                Kind::Numeric => {
                    // `+ 0.0` makes -0 and 0 one class.
                    let v = f64::from(DataError::number(cell, path, n, c + 1)?) + 0.0;
                    numeric_text.entry(v.to_bits()).or_insert_with(|| cell.to_string());
                    if numeric_text.len() > MAX_CLASSES {
                        return Err(fail(n, format!("column {}: more than {MAX_CLASSES} distinct classes", c + 1)));
                    }
                    numeric_raw.push(v);
                }
            }
        }
    }
    let rows = values.len() / features.len();
    if rows == 0 {
        return Err(fail(data_line, "no data lines after @data".into()));
    }
    let (labels, classes) = match class.map(|c| &attributes[c].kind) {
        None => (None, Vec::new()),
        Some(Kind::Nominal(allowed)) => (Some(labels), allowed.clone()),
        Some(Kind::Numeric) => {
            let mut distinct: Vec<f64> = numeric_text.keys().map(|&b| f64::from_bits(b)).collect();
            distinct.sort_by(f64::total_cmp);
            let labels =
                numeric_raw.iter().map(|v| distinct.binary_search_by(|x| x.total_cmp(v)).unwrap_or(0) as u16).collect();
            let names = distinct.iter().map(|v| numeric_text[&v.to_bits()].clone()).collect();
            (Some(labels), names)
        }
    };
    Ok(Table {
        dataset: Dataset { features: Features::F32(values), item_shape: vec![features.len()], labels, classes },
        columns: features.iter().map(|&i| attributes[i].name.clone()).collect(),
    })
}

/// Parses what follows `@attribute`: a name and a type.
fn attribute(rest: &str, line: usize) -> Result<Attribute, String> {
    let (name, rest) = token(rest)?;
    if name.is_empty() {
        return Err("@attribute without a name".into());
    }
    let ty = rest.trim();
    let kind = if let Some(inner) = ty.strip_prefix('{') {
        let inner = inner.strip_suffix('}').ok_or_else(|| format!("nominal type of `{name}` has no closing `}}`"))?;
        let mut values = Vec::new();
        split_values(inner, &mut values)?;
        if values.iter().any(|v| v.is_empty()) {
            return Err(format!("nominal type of `{name}` has an empty value"));
        }
        Kind::Nominal(values)
    } else {
        let word = ty.split(|c: char| c.is_whitespace() || c == '[').next().unwrap_or("").to_ascii_lowercase();
        match word.as_str() {
            "numeric" | "real" | "integer" => Kind::Numeric,
            "string" | "date" | "relational" => {
                return Err(format!(
                    "attribute `{name}` has type {word}, which is not supported (only numeric and nominal)"
                ));
            }
            "" => return Err(format!("attribute `{name}` has no type")),
            other => return Err(format!("attribute `{name}` has unknown type `{}`", clip(other))),
        }
    };
    Ok(Attribute { name, kind, line })
}

/// A possibly quoted token at the start of `s` and what follows it.
fn token(s: &str) -> Result<(String, &str), String> {
    let s = s.trim_start();
    match s.chars().next() {
        Some(q @ ('\'' | '"')) => {
            let mut out = String::new();
            let mut chars = s.char_indices().skip(1);
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => match chars.next() {
                        Some((_, e)) => out.push(e),
                        None => break,
                    },
                    c if c == q => return Ok((out, &s[i + c.len_utf8()..])),
                    c => out.push(c),
                }
            }
            Err(format!("unterminated quote in `{}`", clip(s)))
        }
        _ => {
            let end = s.find(|c: char| c.is_whitespace() || c == '{').unwrap_or(s.len());
            Ok((s[..end].to_string(), &s[end..]))
        }
    }
}

/// Splits comma-separated values, honouring quotes; values are trimmed and unquoted.
fn split_values(s: &str, out: &mut Vec<String>) -> Result<(), String> {
    let mut rest = s;
    loop {
        let trimmed = rest.trim_start();
        let (value, after) = if trimmed.starts_with(['\'', '"']) {
            let (v, after) = token(trimmed)?;
            (v, after)
        } else {
            let end = trimmed.find(',').unwrap_or(trimmed.len());
            (trimmed[..end].trim_end().to_string(), &trimmed[end..])
        };
        out.push(value);
        let after = after.trim_start();
        match after.strip_prefix(',') {
            Some(next) => rest = next,
            None if after.is_empty() => return Ok(()),
            None => return Err(format!("unexpected `{}` after a quoted value", clip(after))),
        }
    }
}

/// At most 40 characters of `s`, for messages.
fn clip(s: &str) -> String {
    match s.char_indices().nth(40) {
        Some((i, _)) => format!("{}...", &s[..i]),
        None => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(text: &str, opts: &ArffOptions) -> Result<Table, DataError> {
        parse(text.as_bytes(), Path::new("s.arff"), opts)
    }

    fn err(text: &str) -> String {
        parse_str(text, &ArffOptions::default()).unwrap_err().to_string()
    }

    const HEAD: &str = "% satimage excerpt\r\n@RELATION satimage\r\n\r\n@ATTRIBUTE 'Aattr' REAL\r\n\
                        @attribute \"B attr\" integer\r\n@attribute class {'1', 2,\"7\"}\r\n@DATA\r\n";

    #[test]
    fn parses_header_data_and_nominal_class() {
        let t =
            parse_str(&format!("{HEAD}92,115,1\r\n% note\r\n\r\n 84 , 102 , '7' \r\n1e2,-3,2"), &Default::default())
                .unwrap();
        assert_eq!(t.columns, vec!["Aattr", "B attr"]);
        assert_eq!(t.dataset.classes, vec!["1", "2", "7"]);
        assert_eq!(t.dataset.labels, Some(vec![0, 2, 1]));
        assert_eq!(t.dataset.features, Features::F32(vec![92.0, 115.0, 84.0, 102.0, 100.0, -3.0]));
    }

    #[test]
    fn numeric_last_means_no_labels_unless_named() {
        let text = "@relation r\n@attribute a numeric\n@attribute c numeric\n@data\n1,10\n2,2\n3,10\n";
        let t = parse_str(text, &Default::default()).unwrap();
        assert_eq!((t.dataset.item_shape.clone(), t.dataset.labels.clone()), (vec![2], None));
        let t = parse_str(text, &ArffOptions { class: Some("c".into()), ..Default::default() }).unwrap();
        assert_eq!(t.dataset.classes, vec!["2", "10"]);
        assert_eq!(t.dataset.labels, Some(vec![1, 0, 1]));
        assert_eq!(t.dataset.features, Features::F32(vec![1.0, 2.0, 3.0]));
    }

    #[test]
    fn missing_values() {
        let text = "@relation r\n@attribute a numeric\n@attribute b numeric\n@data\n1,?\n";
        assert_eq!(err(text), "s.arff: line 5: column 2: missing value (`?`); allow_missing loads it as NaN");
        let t = parse_str(text, &ArffOptions { allow_missing: true, ..Default::default() }).unwrap();
        let Features::F32(v) = &t.dataset.features else { panic!() };
        assert!(v[0] == 1.0 && v[1].is_nan());
    }

    #[test]
    fn errors_name_the_line() {
        assert_eq!(err(&format!("{HEAD}1,2\n")), "s.arff: line 8: 2 values, expected 3 (one per @attribute)");
        assert_eq!(err(&format!("{HEAD}1,x,2\n")), "s.arff: line 8, column 2: `x` is not a number");
        assert_eq!(err(&format!("{HEAD}1,2,3\n")), "s.arff: line 8: column 3: class `3` is not one of {1,2,7}");
        assert_eq!(
            err(&format!("{HEAD}{{0 1, 2 7}}\n")),
            "s.arff: line 8: sparse ARFF data (`{index value, ...}`) is not supported"
        );
        assert_eq!(err(HEAD), "s.arff: line 7: no data lines after @data");
        assert_eq!(err("@relation r\n@attribute a numeric\n"), "s.arff: no @data section");
        assert_eq!(
            err("@relation r\n@attribute d date\n@data\n"),
            "s.arff: line 2: attribute `d` has type date, which is not supported (only numeric and nominal)"
        );
        assert_eq!(
            err("@relation r\n@attribute k {a,b}\n@attribute x numeric\n@attribute c {y,n}\n@data\na,1,y\n"),
            "s.arff: line 2: attribute `k` is nominal: only the class attribute may be nominal"
        );
        assert_eq!(
            err("@relation r\n@attribute 'a numeric\n@data\n"),
            "s.arff: line 2: unterminated quote in `'a numeric`"
        );
        assert_eq!(
            err("@relation r\n@attribute c {a,b\n@data\n"),
            "s.arff: line 2: nominal type of `c` has no closing `}`"
        );
        assert_eq!(err("hello\n"), "s.arff: line 1: expected @relation, @attribute or @data, found `hello`");
        assert_eq!(
            err("@relation r\n@attribute a real\n@attribute a real\n"),
            "s.arff: line 3: attribute `a` is declared twice"
        );
        assert!(
            parse(b"@relation \xff", Path::new("s.arff"), &Default::default())
                .unwrap_err()
                .to_string()
                .contains("byte 10: not text")
        );
    }
}
