//! Generic delimited text tables (CSV, TSV...): numeric feature columns, an optional header row
//! and an optional label column.
//!
//! - Cells are trimmed of surrounding whitespace; fields may be quoted (`"a,b"`, `""` for a
//!   quote); a UTF-8 byte-order mark is skipped; blank lines are skipped. Line numbers in errors
//!   count every line of the file, blank ones and the header included; columns count from 1.
//! - Missing values are empty cells and `NaN`, `nan`, `NA`. By default a missing value is an error
//!   naming its line and column; with [`CsvOptions::allow_missing`] it loads as `f32::NAN`, so that
//!   the trainer can impute it (or mask it out of the loss): nothing downstream of this module
//!   treats NaN specially, so whoever allows missing values must handle them.
//! - Any other cell that is not a finite number (`abc`, `inf`) is an error naming line and column;
//!   a row with a different number of cells than the first row is an error naming its line.
//! - The label column may hold any text (`cat`, `7`); distinct labels become the class list in the
//!   order [`ClassOrder`] says (first seen by default).

use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::dataset::{Dataset, Features};

use crate::error::DataError;

/// Which column holds the labels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LabelColumn {
    /// The column with this header name (needs a header row).
    Name(String),
    /// The column at this 0-based index.
    Index(usize),
    /// The last column (the OpenML export's `class`).
    Last,
}

/// In which order distinct labels become classes `0, 1, 2...`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClassOrder {
    /// In the order the labels first appear in the file.
    #[default]
    FirstSeen,
    /// Sorted: numerically when every label is a number (`2` before `10`), else by text.
    Sorted,
}

/// How to read a table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CsvOptions {
    /// The field separator (`b','`, `b';'`, `b'\t'`...); in config text a one-character string
    /// (`","`, `";"`, `"\t"`) or `"tab"`.
    #[serde(with = "delimiter_text")]
    pub delimiter: u8,
    /// Whether the first row names the columns.
    pub has_header: bool,
    /// The label column, if any; every other selected column is a feature.
    pub label: Option<LabelColumn>,
    /// How labels map to class indices.
    pub class_order: ClassOrder,
    /// Load missing cells as `f32::NAN` instead of failing.
    pub allow_missing: bool,
    /// Feature columns by header name, in this order; `None`: every column but the label's.
    /// Unselected columns are not parsed (they may hold text).
    pub columns: Option<Vec<String>>,
}

impl Default for CsvOptions {
    fn default() -> Self {
        Self {
            delimiter: b',',
            has_header: true,
            label: None,
            class_order: ClassOrder::FirstSeen,
            allow_missing: false,
            columns: None,
        }
    }
}

/// The delimiter as config text: one ASCII character, or `tab`.
mod delimiter_text {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(d: &u8, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&(*d as char).to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u8, D::Error> {
        let text = String::deserialize(d)?;
        match text.as_str() {
            "tab" | "\\t" => Ok(b'\t'),
            t if t.len() == 1 && t.is_ascii() && t != "\"" && t != "\n" && t != "\r" => Ok(t.as_bytes()[0]),
            t => Err(D::Error::custom(format!("delimiter `{t}` is not one ASCII character (or `tab`)"))),
        }
    }
}

/// A loaded table: the items and the names of their features.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// Items of shape `[features]`, `Features::F32`, labelled when a label column was given.
    pub dataset: Dataset,
    /// Feature names from the header (`column N`, 1-based, without one).
    pub columns: Vec<String>,
}

/// Largest number of classes (labels are u16).
const MAX_CLASSES: usize = u16::MAX as usize + 1;

/// Whether a cell is a missing value: empty, `NaN`, `nan` or `NA`.
pub fn is_missing(cell: &str) -> bool {
    matches!(cell, "" | "NaN" | "nan" | "NA")
}

/// The value of a trimmed cell at `line`, `column` (1-based) of `path`: a finite number, or NaN
/// for a missing value when `allow_missing`; otherwise an error naming the place.
pub fn number(cell: &str, allow_missing: bool, path: &Path, line: usize, column: usize) -> Result<f32, DataError> {
    if is_missing(cell) {
        if allow_missing {
            return Ok(f32::NAN);
        }
        let shown = if cell.is_empty() { "empty cell".to_string() } else { format!("`{cell}`") };
        return Err(DataError::format(
            path,
            format!("line {line}, column {column}: missing value ({shown}); allow_missing loads it as NaN"),
        ));
    }
    DataError::number(cell, path, line, column)
}

/// Reads a table file as a dataset.
pub fn read(path: &Path, opts: &CsvOptions) -> Result<Dataset, DataError> {
    Ok(read_table(path, opts)?.dataset)
}

/// Reads a table file with its feature names (streamed from the file, row by row).
pub fn read_table(path: &Path, opts: &CsvOptions) -> Result<Table, DataError> {
    let file = File::open(path).map_err(|e| DataError::io(path, e))?;
    collect(TableReader::new(file, path, opts)?)
}

/// Parses table text (`path` only names it in errors).
pub fn parse_table(bytes: &[u8], path: &Path, opts: &CsvOptions) -> Result<Table, DataError> {
    collect(TableReader::new(bytes, path, opts)?)
}

/// Every row of a table reader, in memory.
fn collect<R: Read>(mut t: TableReader<R>) -> Result<Table, DataError> {
    let mut values = Vec::new();
    while t.next_row(&mut values)? {}
    let item_shape = vec![t.features.len()];
    let columns = t.columns.clone();
    let (labels, classes) = t.finish();
    Ok(Table { dataset: Dataset { features: Features::F32(values), item_shape, labels, classes }, columns })
}

/// A table read one row at a time, with the rules of [`parse_table`] (header, column selection,
/// label column, missing values, errors naming file, line and column): the header is read by
/// [`TableReader::new`], each data row by [`TableReader::next_row`]; the labels (two bytes a row)
/// are numbered by [`TableReader::finish`], once every row is read.
pub struct TableReader<R: Read> {
    rows: Rows<R>,
    path: PathBuf,
    allow_missing: bool,
    width: usize,
    label: Option<usize>,
    features: Vec<usize>,
    columns: Vec<String>,
    /// The header's line, when there is one.
    header_line: Option<usize>,
    /// The first data row, read ahead to learn the width of a table without a header.
    pending: Option<(usize, Vec<String>)>,
    classes: Classes,
    rows_read: usize,
}

impl<R: Read> TableReader<R> {
    /// Reads the header (or the first row without one) of `reader` and settles the columns;
    /// `path` names the table in errors.
    pub fn new(reader: R, path: &Path, opts: &CsvOptions) -> Result<Self, DataError> {
        let mut rows = Rows::new(reader, path, opts.delimiter);
        let header = if opts.has_header {
            match rows.next()? {
                Some((_, cells)) => Some(cells),
                None => return Err(DataError::format(path, "empty file: no header row")),
            }
        } else {
            None
        };
        let mut pending: Option<(usize, Vec<String>)> = None;
        let width = match &header {
            Some(h) => h.len(),
            None => match rows.next()? {
                Some((line, cells)) => {
                    let w = cells.len();
                    pending = Some((line, cells));
                    w
                }
                None => return Err(DataError::format(path, "empty file: no data rows")),
            },
        };
        let label = opts.label.as_ref().map(|l| label_index(l, header.as_deref(), width, path)).transpose()?;
        let features: Vec<usize> = match &opts.columns {
            None => (0..width).filter(|&c| Some(c) != label).collect(),
            Some(names) => {
                names.iter().map(|n| column_by_name(n, header.as_deref(), path, "feature")).collect::<Result<_, _>>()?
            }
        };
        if features.is_empty() {
            return Err(DataError::format(path, "no feature columns"));
        }
        let columns = features
            .iter()
            .map(|&c| header.as_ref().map(|h| h[c].clone()).unwrap_or_else(|| format!("column {}", c + 1)))
            .collect();
        Ok(Self {
            rows,
            path: path.to_path_buf(),
            allow_missing: opts.allow_missing,
            width,
            label,
            features,
            columns,
            header_line: header.as_ref().map(|_| 1),
            pending,
            classes: Classes::new(opts.class_order),
            rows_read: 0,
        })
    }

    /// The feature names: from the header, `column N` (1-based) without one.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// The number of features of an item.
    pub fn item_len(&self) -> usize {
        self.features.len()
    }

    /// Whether a label column was given.
    pub fn labelled(&self) -> bool {
        self.label.is_some()
    }

    /// Data rows read so far.
    pub fn rows_read(&self) -> usize {
        self.rows_read
    }

    /// Reads the next data row, appending its features to `values`; `false` at the end of the
    /// table (an error when it had no data rows).
    pub fn next_row(&mut self, values: &mut Vec<f32>) -> Result<bool, DataError> {
        let next = match self.pending.take() {
            Some(row) => Some(row),
            None => self.rows.next()?,
        };
        let Some((line, cells)) = next else {
            if self.rows_read == 0 {
                return Err(DataError::format(&self.path, "no data rows"));
            }
            return Ok(false);
        };
        let (path, width) = (self.path.as_path(), self.width);
        if cells.len() != width {
            let origin = match self.header_line {
                Some(l) => format!("the header (line {l})"),
                None => "the first row".to_string(),
            };
            return Err(DataError::format(
                path,
                format!("line {line}: {} cells, expected {width} as in {origin}", cells.len()),
            ));
        }
        for &c in &self.features {
            values.push(number(&cells[c], self.allow_missing, path, line, c + 1)?);
        }
        if let Some(c) = self.label {
            self.classes.push(&cells[c], path, line, c + 1)?;
        }
        self.rows_read += 1;
        Ok(true)
    }

    /// The labels of the rows read (when labelled) and the class names, numbered in the
    /// [`ClassOrder`] of the options.
    pub fn finish(self) -> (Option<Vec<u16>>, Vec<String>) {
        match self.label {
            Some(_) => {
                let (l, c) = self.classes.finish();
                (Some(l), c)
            }
            None => (None, Vec::new()),
        }
    }
}

/// The cells of the column named `name` as text, with their 1-based line numbers, one per data
/// row (the file must have a header).
pub fn text_column(path: &Path, delimiter: u8, name: &str) -> Result<Vec<(usize, String)>, DataError> {
    let file = File::open(path).map_err(|e| DataError::io(path, e))?;
    let mut rows = Rows::new(file, path, delimiter);
    let Some((_, header)) = rows.next()? else {
        return Err(DataError::format(path, "empty file: no header row"));
    };
    let c = column_by_name(name, Some(&header), path, "text")?;
    let mut out = Vec::new();
    while let Some((line, cells)) = rows.next()? {
        if cells.len() != header.len() {
            return Err(DataError::format(
                path,
                format!("line {line}: {} cells, expected {} as in the header (line 1)", cells.len(), header.len()),
            ));
        }
        out.push((line, cells.into_iter().nth(c).unwrap_or_default()));
    }
    Ok(out)
}

/// A reader that notes where its runs of line-break bytes (`\r`, `\n`) lie, with the newlines
/// in each, until they are counted ([`Rows`]); only the runs of the csv reader's read-ahead are
/// held.
struct Breaks<R> {
    inner: R,
    /// Bytes read so far.
    offset: u64,
    /// `(start, end, newlines)` of each run not yet counted, in order.
    runs: VecDeque<(u64, u64, usize)>,
}

impl<R: Read> Read for Breaks<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        for (i, &b) in buf[..n].iter().enumerate() {
            if b != b'\n' && b != b'\r' {
                continue;
            }
            let at = self.offset + i as u64;
            let nl = usize::from(b == b'\n');
            match self.runs.back_mut() {
                Some(run) if run.1 == at => {
                    run.1 += 1;
                    run.2 += nl;
                }
                _ => self.runs.push_back((at, at + 1, nl)),
            }
        }
        self.offset += n as u64;
        Ok(n)
    }
}

/// Records of delimited text as trimmed text cells with their 1-based line numbers, read as a
/// stream.
///
/// The csv reader's own positions do not count the blank lines it skips, so lines are counted
/// here, from the line breaks read ([`Breaks`]): a record's line is one plus the newlines before
/// its first byte that is not a line break.
struct Rows<R> {
    reader: csv::Reader<Breaks<R>>,
    record: csv::ByteRecord,
    path: PathBuf,
    /// Newlines counted so far.
    newlines: usize,
}

impl<R: Read> Rows<R> {
    fn new(inner: R, path: &Path, delimiter: u8) -> Self {
        let reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(delimiter)
            .from_reader(Breaks { inner, offset: 0, runs: VecDeque::new() });
        Self { reader, record: csv::ByteRecord::new(), path: path.to_path_buf(), newlines: 0 }
    }

    fn next(&mut self) -> Result<Option<(usize, Vec<String>)>, DataError> {
        loop {
            let more = self.reader.read_byte_record(&mut self.record).map_err(|e| {
                let byte = e.position().map(|p| p.byte()).unwrap_or(0);
                DataError::format(&self.path, format!("byte {byte}: unreadable CSV record: {:?}", e.into_kind()))
            })?;
            if !more {
                return Ok(None);
            }
            // Every run of line breaks that starts at or before the record's start lies before
            // its first byte that is not a line break (blank lines the reader skipped, the end of
            // the previous record, newlines inside its quoted cells).
            let start = self.record.position().map(|p| p.byte()).unwrap_or(0);
            let runs = &mut self.reader.get_mut().runs;
            while let Some(&(s, _, nl)) = runs.front() {
                if s > start {
                    break;
                }
                self.newlines += nl;
                runs.pop_front();
            }
            let line = self.newlines + 1;
            let path = &self.path;
            let cells = self
                .record
                .iter()
                .enumerate()
                .map(|(c, bytes)| {
                    std::str::from_utf8(bytes).map(|s| s.trim().to_string()).map_err(|e| {
                        DataError::format(
                            path,
                            format!(
                                "line {line}, column {}: not text (invalid UTF-8 at byte {})",
                                c + 1,
                                e.valid_up_to()
                            ),
                        )
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            // A line of only spaces is blank too.
            if cells.len() == 1 && cells[0].is_empty() {
                continue;
            }
            return Ok(Some((line, cells)));
        }
    }
}

fn column_by_name(name: &str, header: Option<&[String]>, path: &Path, what: &str) -> Result<usize, DataError> {
    let Some(header) = header else {
        return Err(DataError::format(
            path,
            format!("{what} column `{name}` is given by name, but the file is read without a header row"),
        ));
    };
    let mut hits = header.iter().enumerate().filter(|(_, h)| *h == name).map(|(i, _)| i);
    match (hits.next(), hits.next()) {
        (Some(i), None) => Ok(i),
        (Some(i), Some(j)) => Err(DataError::format(
            path,
            format!("line 1: column `{name}` appears twice in the header (columns {} and {})", i + 1, j + 1),
        )),
        (None, _) => Err(DataError::format(path, format!("line 1: no column named `{name}` in the header"))),
    }
}

fn label_index(label: &LabelColumn, header: Option<&[String]>, width: usize, path: &Path) -> Result<usize, DataError> {
    match label {
        LabelColumn::Name(n) => column_by_name(n, header, path, "label"),
        LabelColumn::Last => Ok(width - 1),
        LabelColumn::Index(i) if *i < width => Ok(*i),
        LabelColumn::Index(i) => Err(DataError::format(
            path,
            format!("label column index {i} (0-based) does not exist: rows have {width} columns"),
        )),
    }
}

/// Label text to class indices.
struct Classes {
    order: ClassOrder,
    index: HashMap<String, u16>,
    names: Vec<String>,
    labels: Vec<u16>,
}

impl Classes {
    fn new(order: ClassOrder) -> Self {
        Self { order, index: HashMap::new(), names: Vec::new(), labels: Vec::new() }
    }

    fn push(&mut self, cell: &str, path: &Path, line: usize, column: usize) -> Result<(), DataError> {
        if cell.is_empty() {
            return Err(DataError::format(path, format!("line {line}, column {column}: empty label")));
        }
        let label = match self.index.get(cell) {
            Some(&l) => l,
            None => {
                if self.names.len() == MAX_CLASSES {
                    return Err(DataError::format(
                        path,
                        format!("line {line}, column {column}: more than {MAX_CLASSES} distinct labels"),
                    ));
                }
                let l = self.names.len() as u16;
                self.index.insert(cell.to_string(), l);
                self.names.push(cell.to_string());
                l
            }
        };
        self.labels.push(label);
        Ok(())
    }

    fn finish(self) -> (Vec<u16>, Vec<String>) {
        match self.order {
            ClassOrder::FirstSeen => (self.labels, self.names),
            ClassOrder::Sorted => {
                let mut order: Vec<usize> = (0..self.names.len()).collect();
                let numeric: Option<Vec<f64>> = self.names.iter().map(|n| n.parse::<f64>().ok()).collect();
                match &numeric {
                    Some(v) => {
                        order.sort_by(|&a, &b| v[a].total_cmp(&v[b]).then_with(|| self.names[a].cmp(&self.names[b])))
                    }
                    None => order.sort_by(|&a, &b| self.names[a].cmp(&self.names[b])),
                }
                let mut rank = vec![0u16; order.len()];
                for (r, &old) in order.iter().enumerate() {
                    rank[old] = r as u16;
                }
                let labels = self.labels.iter().map(|&l| rank[l as usize]).collect();
                (labels, order.iter().map(|&i| self.names[i].clone()).collect())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str, opts: &CsvOptions) -> Result<Table, DataError> {
        parse_table(text.as_bytes(), Path::new("t.csv"), opts)
    }

    fn err(text: &str, opts: &CsvOptions) -> String {
        parse(text, opts).unwrap_err().to_string()
    }

    fn floats(d: &Dataset) -> Vec<f32> {
        match &d.features {
            Features::F32(v) => v.clone(),
            _ => panic!("not in-memory floats"),
        }
    }

    #[test]
    fn header_labels_by_name_first_seen_and_sorted() {
        let text = "\u{feff}a, b ,kind\n1,2.5,cat\n\n-3, 4e1 ,dog\n5,6,cat\n";
        let opts = CsvOptions { label: Some(LabelColumn::Name("kind".into())), ..Default::default() };
        let t = parse(text, &opts).unwrap();
        assert_eq!(t.columns, vec!["a", "b"]);
        assert_eq!(t.dataset.item_shape, vec![2]);
        assert_eq!(floats(&t.dataset), vec![1.0, 2.5, -3.0, 40.0, 5.0, 6.0]);
        assert_eq!(t.dataset.classes, vec!["cat", "dog"]);
        assert_eq!(t.dataset.labels, Some(vec![0, 1, 0]));
        let text = "x;y\n1;10\n2;2\n3;7\n4;2\n";
        let opts = CsvOptions {
            delimiter: b';',
            label: Some(LabelColumn::Last),
            class_order: ClassOrder::Sorted,
            ..Default::default()
        };
        let t = parse(text, &opts).unwrap();
        assert_eq!(t.dataset.classes, vec!["2", "7", "10"]);
        assert_eq!(t.dataset.labels, Some(vec![2, 0, 1, 0]));
        let t = parse("1,b,9\n2,a,\n", &CsvOptions { class_order: ClassOrder::Sorted, ..opts_index(1) }).unwrap();
        assert_eq!(t.dataset.classes, vec!["a", "b"]);
        assert_eq!(t.dataset.labels, Some(vec![1, 0]));
        assert_eq!(t.columns, vec!["column 1", "column 3"]);
        let v = floats(&t.dataset);
        assert_eq!(&v[..3], &[1.0, 9.0, 2.0]);
        assert!(v[3].is_nan());
    }

    fn opts_index(i: usize) -> CsvOptions {
        CsvOptions { has_header: false, label: Some(LabelColumn::Index(i)), allow_missing: true, ..Default::default() }
    }

    #[test]
    fn options_from_config_text() {
        let o: CsvOptions = serde_json::from_str(r#"{"delimiter": ";", "label": {"name": "y"}}"#).unwrap();
        assert_eq!((o.delimiter, o.label, o.has_header), (b';', Some(LabelColumn::Name("y".into())), true));
        let o: CsvOptions = serde_json::from_str(r#"{"delimiter": "\t", "label": {"index": 0}}"#).unwrap();
        assert_eq!((o.delimiter, o.label), (b'\t', Some(LabelColumn::Index(0))));
        assert_eq!(serde_json::from_str::<CsvOptions>(r#"{"delimiter": "tab"}"#).unwrap().delimiter, b'\t');
        let e = serde_json::from_str::<CsvOptions>(r#"{"delimiter": ";;"}"#).unwrap_err().to_string();
        assert!(e.contains("delimiter `;;` is not one ASCII character"), "{e}");
        assert!(serde_json::to_string(&CsvOptions::default()).unwrap().contains(r#""delimiter":",""#));
    }

    #[test]
    fn no_header_quoted_tabs_and_selected_columns() {
        let t =
            parse("\"1\"\t2\n3\t\"4\"\n", &CsvOptions { delimiter: b'\t', has_header: false, ..Default::default() })
                .unwrap();
        assert_eq!(floats(&t.dataset), vec![1.0, 2.0, 3.0, 4.0]);
        assert_eq!(t.dataset.labels, None);
        let opts = CsvOptions { columns: Some(vec!["z".into(), "x".into()]), ..Default::default() };
        let t = parse("x,name,z\n1,\"a, b\",3\n4,c,6\n", &opts).unwrap();
        assert_eq!(t.columns, vec!["z", "x"]);
        assert_eq!(floats(&t.dataset), vec![3.0, 1.0, 6.0, 4.0]);
    }

    #[test]
    fn missing_values_fail_or_load_as_nan() {
        let text = "a,b,c\n1,,3\nNA,nan,NaN\n";
        assert_eq!(
            err(text, &CsvOptions::default()),
            "t.csv: line 2, column 2: missing value (empty cell); allow_missing loads it as NaN"
        );
        let e = err("a\n1\nNA\n", &CsvOptions::default());
        assert_eq!(e, "t.csv: line 3, column 1: missing value (`NA`); allow_missing loads it as NaN");
        let t = parse(text, &CsvOptions { allow_missing: true, ..Default::default() }).unwrap();
        let v = floats(&t.dataset);
        assert_eq!((v[0], v[2]), (1.0, 3.0));
        assert!(v[1].is_nan() && v[3..].iter().all(|x| x.is_nan()));
        // Missing is only these spellings: anything else that is not finite stays an error.
        let e = err("a\ninf\n", &CsvOptions { allow_missing: true, ..Default::default() });
        assert_eq!(e, "t.csv: line 2, column 1: `inf` is not a finite number");
    }

    #[test]
    fn bad_cells_rows_and_columns_are_named() {
        let d = CsvOptions::default();
        assert_eq!(err("a,b\n1,2\n\n3,x\n", &d), "t.csv: line 4, column 2: `x` is not a number");
        assert_eq!(err("a,b\n1,2\n3\n", &d), "t.csv: line 3: 1 cells, expected 2 as in the header (line 1)");
        let nh = CsvOptions { has_header: false, ..d.clone() };
        assert_eq!(err("1,2\n3,4,5\n", &nh), "t.csv: line 2: 3 cells, expected 2 as in the first row");
        let by_name = CsvOptions { label: Some(LabelColumn::Name("y".into())), ..d.clone() };
        assert_eq!(err("a,b\n1,2\n", &by_name), "t.csv: line 1: no column named `y` in the header");
        assert!(
            err("1,2\n", &CsvOptions { has_header: false, ..by_name })
                .contains("given by name, but the file is read without a header")
        );
        assert!(
            err("a,b\n1,2\n", &CsvOptions { label: Some(LabelColumn::Index(2)), ..d.clone() })
                .contains("index 2 (0-based) does not exist")
        );
        assert_eq!(
            err("a,b\n1,\n", &CsvOptions { label: Some(LabelColumn::Last), ..d.clone() }),
            "t.csv: line 2, column 2: empty label"
        );
        assert_eq!(err("a,b\n", &d), "t.csv: no data rows");
        assert_eq!(err("", &d), "t.csv: empty file: no header row");
        assert_eq!(
            err("a\n1\n", &CsvOptions { label: Some(LabelColumn::Last), ..d.clone() }),
            "t.csv: no feature columns"
        );
        assert!(
            err("a,a\n1,2\n", &CsvOptions { columns: Some(vec!["a".into()]), ..d.clone() }).contains("appears twice")
        );
        // Lines count blank ones, CRLF ends and newlines inside quoted cells.
        let text = "a,b\r\n1,2\r\n\r\n  \r\n\"x\ny\",3\r\n5,z\r\n";
        let e = err(text, &CsvOptions { label: Some(LabelColumn::Index(0)), ..d.clone() });
        assert_eq!(e, "t.csv: line 7, column 2: `z` is not a number");
        let bytes = b"a\n\xff\n";
        let e = parse_table(bytes, Path::new("t.csv"), &d).unwrap_err().to_string();
        assert_eq!(e, "t.csv: line 2, column 1: not text (invalid UTF-8 at byte 0)");
    }
}
