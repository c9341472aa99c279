//! The runs of a sweep, as `--set` overrides: every combination of `--grid` values, or `--random`
//! draws from `--range` intervals (and from the grid's values), each with a folder name that says
//! what it sets.

use ae_core::SplitMix64;
use serde::{Deserialize, Serialize};

use crate::error::{AppError, Result};

/// `--grid KEY=V1,V2,...`: the values one config key takes.
#[derive(Debug, Clone, PartialEq)]
pub struct GridAxis {
    /// The dotted config key.
    pub key: String,
    /// Its values as TOML text (`2`, `1e-3`, `"x"`, `[64, 8]`).
    pub values: Vec<String>,
}

/// `--range KEY=LO:HI[:log]`: the interval random draws of one key come from.
#[derive(Debug, Clone, PartialEq)]
pub struct RangeAxis {
    /// The dotted config key.
    pub key: String,
    /// Lower end (included).
    pub lo: f64,
    /// Upper end (included for integers).
    pub hi: f64,
    /// Log-uniform instead of uniform.
    pub log: bool,
    /// Both ends were written as integers: draws are integers too.
    pub integer: bool,
}

/// One run of a sweep: its folder name and the values it sets, in the order the keys were given.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedRun {
    /// The run folder's name inside the sweep folder, e.g. `03_code=8_learning_rate=0.003`.
    pub name: String,
    /// `(dotted key, value as TOML text)` per swept key.
    pub values: Vec<(String, String)>,
}

impl PlannedRun {
    /// The `KEY=VALUE` overrides that make this run.
    pub fn sets(&self) -> Vec<String> {
        self.values.iter().map(|(k, v)| format!("{k}={v}")).collect()
    }
}

/// Parses `KEY=V1,V2,...`. Values are split at commas outside brackets, braces and quotes, so
/// `model.network.hidden=[64,8],[128]` has two values.
pub fn parse_grid(spec: &str) -> Result<GridAxis> {
    let (key, raw) = split_key(spec, "--grid", "KEY=V1,V2 (e.g. --grid model.network.code=2,8)")?;
    let values = split_values(raw);
    if values.iter().any(|v| v.is_empty()) {
        return Err(AppError::usage(format!("--grid {spec}: an empty value (two commas in a row, or one at an end)")));
    }
    for (i, v) in values.iter().enumerate() {
        if values[..i].contains(v) {
            return Err(AppError::usage(format!("--grid {spec}: value `{v}` is listed twice")));
        }
    }
    Ok(GridAxis { key, values })
}

/// Parses `KEY=LO:HI` or `KEY=LO:HI:log`.
pub fn parse_range(spec: &str) -> Result<RangeAxis> {
    let form = "KEY=LO:HI[:log] (e.g. --range train.learning_rate=1e-4:1e-2:log)";
    let (key, raw) = split_key(spec, "--range", form)?;
    let parts: Vec<&str> = raw.split(':').map(str::trim).collect();
    let bad = |why: &str| AppError::usage(format!("--range {spec}: {why}; expected {form}"));
    let log = match parts.as_slice() {
        [_, _] => false,
        [_, _, "log"] => true,
        [_, _, other] => return Err(bad(&format!("`{other}` is not `log`"))),
        _ => return Err(bad("expected two ends")),
    };
    let number = |s: &str| s.parse::<f64>().ok().filter(|v| v.is_finite());
    let (Some(lo), Some(hi)) = (number(parts[0]), number(parts[1])) else {
        return Err(bad("the ends must be numbers"));
    };
    if lo >= hi {
        return Err(bad(&format!("LO ({}) must be below HI ({})", parts[0], parts[1])));
    }
    if log && lo <= 0.0 {
        return Err(bad("a log range needs LO > 0"));
    }
    let integer = parts[..2].iter().all(|p| p.parse::<i64>().is_ok());
    Ok(RangeAxis { key, lo, hi, log, integer })
}

fn split_key<'a>(spec: &'a str, flag: &str, form: &str) -> Result<(String, &'a str)> {
    let (key, raw) = spec.split_once('=').ok_or_else(|| AppError::usage(format!("{flag} {spec}: expected {form}")))?;
    let key = key.trim();
    if key.is_empty() || key.split('.').any(|p| p.is_empty()) {
        return Err(AppError::usage(format!("{flag} {spec}: `{key}` is not a dotted key like train.epochs")));
    }
    Ok((key.to_string(), raw))
}

/// Splits at commas that are not inside `[]`, `{}` or quotes; each piece trimmed.
pub fn split_values(raw: &str) -> Vec<String> {
    let mut out = Vec::new();
    let (mut depth, mut quote, mut cur) = (0i32, None::<char>, String::new());
    for c in raw.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '[' | '{') => depth += 1,
            (None, ']' | '}') => depth -= 1,
            (None, ',') if depth == 0 => {
                out.push(cur.trim().to_string());
                cur.clear();
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    out.push(cur.trim().to_string());
    out
}

/// The runs: without `random`, every combination of the grid's values (the last key varying
/// fastest); with `random = Some(n)`, `n` runs drawn with `seed`, each taking a uniform draw from
/// every range (log-uniform with `:log`, rounded for integer ranges) and one of every grid key's
/// values; with a grid and no ranges the `n` are distinct combinations.
pub fn runs(grid: &[GridAxis], ranges: &[RangeAxis], random: Option<usize>, seed: u64) -> Result<Vec<PlannedRun>> {
    let keys: Vec<&str> = grid.iter().map(|g| g.key.as_str()).chain(ranges.iter().map(|r| r.key.as_str())).collect();
    for (i, k) in keys.iter().enumerate() {
        if keys[..i].contains(k) {
            return Err(AppError::usage(format!("sweep: key `{k}` is swept twice (one --grid or --range per key)")));
        }
    }
    if keys.is_empty() {
        return Err(AppError::usage(
            "sweep: nothing to sweep: give at least one --grid KEY=V1,V2 or --range KEY=LO:HI",
        ));
    }
    let combinations = || -> Vec<Vec<String>> {
        let mut all = vec![Vec::new()];
        for axis in grid {
            all = all
                .into_iter()
                .flat_map(|c| axis.values.iter().map(move |v| [c.clone(), vec![v.clone()]].concat()))
                .collect();
        }
        all
    };
    let picked: Vec<Vec<String>> = match random {
        None if !ranges.is_empty() => {
            return Err(AppError::usage("sweep: --range draws random values: give --random N (how many runs)"));
        }
        None => combinations(),
        Some(0) => return Err(AppError::usage("sweep: --random 0: ask for at least one run")),
        Some(n) => {
            let mut rng = SplitMix64::new(seed, 0x5EED);
            if ranges.is_empty() {
                let mut all = combinations();
                if n > all.len() {
                    return Err(AppError::usage(format!(
                        "sweep: --random {n}: the grid has only {} combinations (drop --random to run them all)",
                        all.len()
                    )));
                }
                rng.shuffle(&mut all);
                all.truncate(n);
                all
            } else {
                (0..n)
                    .map(|_| {
                        let mut values: Vec<String> =
                            grid.iter().map(|g| g.values[rng.below(g.values.len())].clone()).collect();
                        values.extend(ranges.iter().map(|r| draw(r, &mut rng)));
                        values
                    })
                    .collect()
            }
        }
    };
    let width = picked.len().saturating_sub(1).to_string().len().max(2);
    let labels = short_keys(&keys);
    Ok(picked
        .into_iter()
        .enumerate()
        .map(|(i, values)| {
            let values: Vec<(String, String)> = keys.iter().map(|k| k.to_string()).zip(values).collect();
            let mut name = format!("{i:0width$}");
            for ((_, v), label) in values.iter().zip(&labels) {
                name.push_str(&format!("_{label}={}", folder_safe(v)));
            }
            if name.len() > 100 {
                let cut = (0..=100).rev().find(|&c| name.is_char_boundary(c)).unwrap_or(0);
                name.truncate(cut);
            }
            PlannedRun { name, values }
        })
        .collect())
}

/// One draw from `r`, as TOML text.
fn draw(r: &RangeAxis, rng: &mut SplitMix64) -> String {
    let u = rng.next_f64();
    let v = if r.log { (r.lo.ln() + (r.hi.ln() - r.lo.ln()) * u).exp() } else { r.lo + (r.hi - r.lo) * u };
    if r.integer {
        // Uniform integers take [lo, hi + 1) floored, so both ends are as likely as the rest.
        let v = if r.log { v.round() } else { (r.lo + (r.hi - r.lo + 1.0) * u).floor() };
        return (v.clamp(r.lo, r.hi) as i64).to_string();
    }
    float_text(v)
}

/// `v` rounded to 4 significant digits, as TOML float text: `0.003162`, `2.0`, `1.5e-5`.
pub fn float_text(v: f64) -> String {
    let rounded: f64 = format!("{v:.3e}").parse().unwrap_or(v);
    let a = rounded.abs();
    let text = if a != 0.0 && !(1e-3..1e6).contains(&a) { format!("{rounded:e}") } else { rounded.to_string() };
    if text.contains(['.', 'e', 'E']) || text.contains("inf") || text.contains("NaN") {
        text
    } else {
        format!("{text}.0")
    }
}

/// The label of each key in run names: its last part, or the whole key where two keys end alike.
pub fn short_keys(keys: &[&str]) -> Vec<String> {
    let last = |k: &str| k.rsplit('.').next().unwrap_or(k).to_string();
    keys.iter()
        .map(|k| if keys.iter().filter(|o| last(o) == last(k)).count() > 1 { k.to_string() } else { last(k) })
        .collect()
}

/// A value as part of a folder name: letters, digits, `.`, `+` and `-` kept, runs of anything else
/// one `-`.
fn folder_safe(v: &str) -> String {
    let mut out = String::new();
    for c in v.chars() {
        if c.is_ascii_alphanumeric() || matches!(c, '.' | '+' | '-') {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let t = out.trim_matches('-');
    if t.is_empty() { "-".into() } else { t.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_split_at_top_level_commas_only() {
        assert_eq!(split_values("2, 8,32"), ["2", "8", "32"]);
        assert_eq!(split_values("[64,8],[128]"), ["[64,8]", "[128]"]);
        assert_eq!(split_values("\"a,b\",{ kind = \"x\", p = 1 }"), ["\"a,b\"", "{ kind = \"x\", p = 1 }"]);
        let g = parse_grid("model.network.hidden=[64, 8],[128]").unwrap();
        assert_eq!(g.key, "model.network.hidden");
        assert_eq!(g.values, ["[64, 8]", "[128]"]);
        for bad in ["code", "=2,3", "a..b=1", "x=1,,2", "x=1,1"] {
            assert_eq!(parse_grid(bad).unwrap_err().exit_code(), 2, "{bad}");
        }
        assert!(parse_grid("x=1,1").unwrap_err().message.contains("`1` is listed twice"));
    }

    #[test]
    fn ranges_parse_with_their_scale_and_kind() {
        let r = parse_range("train.learning_rate=1e-4:1e-2:log").unwrap();
        assert_eq!((r.lo, r.hi, r.log, r.integer), (1e-4, 1e-2, true, false));
        assert!(parse_range("model.network.code=2:16").unwrap().integer);
        for (bad, why) in [
            ("x=1", "two ends"),
            ("x=1:2:ln", "`ln` is not `log`"),
            ("x=a:2", "numbers"),
            ("x=3:2", "below"),
            ("x=0:1:log", "LO > 0"),
        ] {
            let e = parse_range(bad).unwrap_err();
            assert!(e.message.contains(why), "{bad}: {}", e.message);
        }
    }

    #[test]
    fn a_grid_is_every_combination_in_order_with_names_saying_what_each_sets() {
        let grid =
            [parse_grid("model.network.code=2,8").unwrap(), parse_grid("train.learning_rate=1e-3,3e-3").unwrap()];
        let runs = runs(&grid, &[], None, 0).unwrap();
        let names: Vec<&str> = runs.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "00_code=2_learning_rate=1e-3",
                "01_code=2_learning_rate=3e-3",
                "02_code=8_learning_rate=1e-3",
                "03_code=8_learning_rate=3e-3"
            ]
        );
        assert_eq!(runs[2].sets(), ["model.network.code=8", "train.learning_rate=1e-3"]);
        // Keys that end alike keep their whole name; odd characters become one dash.
        let grid = [parse_grid("model.network.hidden=[64, 8],[128]").unwrap(), parse_grid("a.hidden=1").unwrap()];
        let runs = super::runs(&grid, &[], None, 0).unwrap();
        assert_eq!(runs[0].name, "00_model.network.hidden=64-8_a.hidden=1");
        assert!(super::runs(&[], &[], None, 0).unwrap_err().message.contains("nothing to sweep"));
        let twice = [parse_grid("a=1").unwrap(), parse_grid("a=2").unwrap()];
        assert!(super::runs(&twice, &[], None, 0).unwrap_err().message.contains("`a` is swept twice"));
    }

    #[test]
    fn random_draws_stay_in_their_ranges_follow_their_scale_and_repeat_with_the_seed() {
        let ranges = [parse_range("lr=1e-4:1e-1:log").unwrap(), parse_range("code=2:5").unwrap()];
        let grid = [parse_grid("kind=\"a\",\"b\"").unwrap()];
        let drawn = runs(&grid, &ranges, Some(2000), 7).unwrap();
        assert_eq!(drawn, runs(&grid, &ranges, Some(2000), 7).unwrap());
        assert_ne!(drawn, runs(&grid, &ranges, Some(2000), 8).unwrap());
        let lr: Vec<f64> = drawn.iter().map(|r| r.values[1].1.parse().unwrap()).collect();
        assert!(lr.iter().all(|v| (1e-4..=1e-1).contains(v)));
        // Log-uniform: each decade holds about a third of the draws (667 expected, sd ~21).
        for decade in [1e-4, 1e-3, 1e-2] {
            let n = lr.iter().filter(|v| (decade..decade * 10.0).contains(*v)).count();
            assert!((580..=760).contains(&n), "{n} draws in [{decade}, {})", decade * 10.0);
        }
        // Integers: every value 2..=5 about equally often (500 expected, sd ~19), none outside.
        for c in 2..=5 {
            let n = drawn.iter().filter(|r| r.values[2].1 == c.to_string()).count();
            assert!((420..=580).contains(&n), "code {c}: {n}");
        }
        let a = drawn.iter().filter(|r| r.values[0].1 == "\"a\"").count();
        assert!((900..=1100).contains(&a), "{a}");
        assert!(drawn[0].name.starts_with("0000_kind=a_lr="), "{}", drawn[0].name);
    }

    #[test]
    fn random_picks_from_a_grid_alone_are_distinct_combinations() {
        let grid = [parse_grid("a=1,2,3").unwrap(), parse_grid("b=1,2").unwrap()];
        let picked = runs(&grid, &[], Some(6), 3).unwrap();
        let mut sets: Vec<Vec<String>> = picked.iter().map(|r| r.sets()).collect();
        sets.sort();
        sets.dedup();
        assert_eq!(sets.len(), 6);
        assert!(runs(&grid, &[], Some(7), 3).unwrap_err().message.contains("only 6 combinations"));
        let ranges = [parse_range("lr=0.1:0.2").unwrap()];
        assert!(runs(&[], &ranges, None, 0).unwrap_err().message.contains("--random N"));
    }

    #[test]
    fn drawn_floats_are_toml_floats_of_four_digits() {
        assert_eq!(float_text(0.0031623), "0.003162");
        assert_eq!(float_text(2.0), "2.0");
        assert_eq!(float_text(0.000015), "1.5e-5");
        assert_eq!(float_text(0.12346), "0.1235");
        for v in [0.0031623, 2.0, 0.000015, 123456.7] {
            let t: toml::Table = toml::from_str(&format!("v = {}", float_text(v))).unwrap();
            assert!(t["v"].is_float(), "{}", float_text(v));
        }
    }
}
