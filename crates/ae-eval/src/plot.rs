//! PNG plots for reports: a 2-D scatter coloured by class, histograms of scores with a threshold,
//! and line charts of losses over epochs.
//!
//! Text is drawn with DejaVu Sans embedded in the binary (`assets/`), so no system font or font
//! library is needed. Files are written atomically: a temporary file in the same folder, synced,
//! then renamed over the target.

use std::error::Error as StdError;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::prelude::*;

use crate::error::{EvalError, Result};

/// DejaVu Sans 2.37; license in `assets/DejaVuSans-LICENSE.txt`.
static FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");
const FAMILY: &str = "sans-serif";

/// Colours of classes and series: 20 chosen to be told apart on white (no grey or black, which
/// mark unlabelled points and thresholds).
const PALETTE: [(u8, u8, u8); 20] = [
    (0x1f, 0x77, 0xb4), // blue
    (0xff, 0x7f, 0x0e), // orange
    (0x2c, 0xa0, 0x2c), // green
    (0xd6, 0x27, 0x28), // red
    (0x94, 0x67, 0xbd), // purple
    (0x8c, 0x56, 0x4b), // brown
    (0xe3, 0x77, 0xc2), // pink
    (0xbc, 0xbd, 0x22), // olive
    (0x17, 0xbe, 0xcf), // cyan
    (0x00, 0x00, 0x75), // navy
    (0xf0, 0x32, 0xe6), // magenta
    (0x7f, 0xd1, 0x3b), // lime
    (0x80, 0x00, 0x00), // maroon
    (0x00, 0x80, 0x80), // teal
    (0xff, 0xc0, 0x00), // amber
    (0x5b, 0x2c, 0x8f), // indigo
    (0xaa, 0x6e, 0x28), // ochre
    (0x80, 0x80, 0x00), // dark olive
    (0xfa, 0x80, 0x72), // salmon
    (0x4b, 0x9a, 0xe6), // sky
];

/// Colour of unlabelled points in scatter plots and of threshold lines.
pub const NEUTRAL: (u8, u8, u8) = (0, 0, 0);

/// Colour `i` of classes and series: the fixed palette for the first 20, then hues spaced by
/// the golden angle.
pub fn class_colour(i: usize) -> (u8, u8, u8) {
    if let Some(&c) = PALETTE.get(i) {
        return c;
    }
    let h = (i as f64 * 137.507_764) % 360.0;
    let (s, l) = (0.65, if i.is_multiple_of(2) { 0.45 } else { 0.6 });
    let c = (1.0 - (2.0f64 * l - 1.0).abs()) * s;
    let x = c * (1.0 - ((h / 60.0) % 2.0 - 1.0).abs());
    let (r, g, b) = match (h / 60.0) as u32 {
        0 => (c, x, 0.0),
        1 => (x, c, 0.0),
        2 => (0.0, c, x),
        3 => (0.0, x, c),
        4 => (x, 0.0, c),
        _ => (c, 0.0, x),
    };
    let m = l - c / 2.0;
    let to = |v: f64| ((v + m) * 255.0).round() as u8;
    (to(r), to(g), to(b))
}

fn rgb((r, g, b): (u8, u8, u8)) -> RGBColor {
    RGBColor(r, g, b)
}

/// Registers the embedded font once for every plot.
fn font() -> Result<()> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| plotters::style::register_font(FAMILY, FontStyle::Normal, FONT).is_ok());
    if ok { Ok(()) } else { Err(EvalError::Plot("the embedded font could not be loaded".into())) }
}

/// Size, title and axis labels of a plot.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame<'a> {
    /// Title above the plot.
    pub title: &'a str,
    /// Label of the horizontal axis.
    pub x_label: &'a str,
    /// Label of the vertical axis.
    pub y_label: &'a str,
    /// Image width in pixels.
    pub width: u32,
    /// Image height in pixels.
    pub height: u32,
}

impl<'a> Frame<'a> {
    /// A 1000 x 750 frame with these labels.
    pub fn new(title: &'a str, x_label: &'a str, y_label: &'a str) -> Self {
        Frame { title, x_label, y_label, width: 1000, height: 750 }
    }
}

/// A 2-D scatter of labelled points coloured by class, and optionally a group of unlabelled
/// points (drawn in black, over the classes).
#[derive(Debug, Clone, PartialEq)]
pub struct Scatter<'a> {
    /// Labelled points (e.g. 2-D codes or their first two principal components).
    pub points: &'a [[f32; 2]],
    /// Class of each point.
    pub labels: &'a [u16],
    /// Name of class `l` is `class_names[l]` (or "class l" past the end).
    pub class_names: &'a [String],
    /// A legend name and points without a class (e.g. "unlabelled test images").
    pub unlabelled: Option<(&'a str, &'a [[f32; 2]])>,
}

/// Scores of groups (e.g. normal and anomalous items) as overlaid histograms on shared bins,
/// with an optional vertical threshold line.
#[derive(Debug, Clone, PartialEq)]
pub struct Histogram<'a> {
    /// Legend name and values of each group.
    pub groups: &'a [(&'a str, &'a [f32])],
    /// Number of equal-width bins (1 to 10000) over the range of all values and the threshold.
    pub bins: usize,
    /// Legend name and position of a vertical line.
    pub threshold: Option<(&'a str, f32)>,
    /// Plot densities (each group integrating to 1) rather than counts, so that groups of
    /// different sizes compare.
    pub density: bool,
}

/// One named line of a [`LineChart`].
#[derive(Debug, Clone, PartialEq)]
pub struct Series<'a> {
    /// Legend name, e.g. "train loss".
    pub name: &'a str,
    /// (x, y) points in drawing order, e.g. (epoch, loss).
    pub points: &'a [(f64, f64)],
}

/// Several named series over a shared x axis, e.g. training and validation loss per epoch.
#[derive(Debug, Clone, PartialEq)]
pub struct LineChart<'a> {
    /// The lines, coloured in order.
    pub series: &'a [Series<'a>],
    /// Logarithmic y axis (points with y <= 0 are then left out).
    pub log_y: bool,
}

/// Writes `bytes` to `path` through a synced temporary file in the same folder and a rename.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp: PathBuf = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(source) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(EvalError::Io { path: path.to_path_buf(), source });
    }
    Ok(())
}

type DrawResult = std::result::Result<(), Box<dyn StdError>>;

/// Renders with `draw` on a white RGB canvas of the frame's size and writes it as a PNG.
fn render(
    path: &Path,
    frame: &Frame,
    draw: impl FnOnce(DrawingArea<BitMapBackend, plotters::coord::Shift>) -> DrawResult,
) -> Result<()> {
    font()?;
    let (w, h) = (frame.width, frame.height);
    if !(200..=10_000).contains(&w) || !(150..=10_000).contains(&h) {
        return Err(EvalError::input(format!("plot size {w} x {h} is outside 200 x 150 to 10000 x 10000")));
    }
    let mut pixels = vec![255u8; w as usize * h as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| EvalError::Plot(e.to_string()))?;
        draw(root.clone()).map_err(|e| EvalError::Plot(e.to_string()))?;
        root.present().map_err(|e| EvalError::Plot(e.to_string()))?;
    }
    let mut png = Vec::new();
    image::ImageEncoder::write_image(
        image::codecs::png::PngEncoder::new(&mut png),
        &pixels,
        w,
        h,
        image::ExtendedColorType::Rgb8,
    )
    .map_err(|e| EvalError::Plot(format!("PNG encoding: {e}")))?;
    write_atomic(path, &png)
}

/// A short axis label for `v` on an axis spanning `span`: up to 4 significant digits, trailing
/// zeros dropped, scientific notation for very large or small magnitudes, and rounding noise
/// (below a billionth of the span) shown as 0.
fn tick(v: f64, span: f64) -> String {
    let a = v.abs();
    if a == 0.0 || a < span.abs() * 1e-9 {
        return "0".into();
    }
    if !(1e-3..1e6).contains(&a) {
        return format!("{v:.2e}");
    }
    let decimals = (3 - a.log10().floor() as i32).max(0) as usize;
    let s = format!("{v:.decimals$}");
    if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_string() } else { s }
}

/// `lo..hi` padded by 5% on each side (or by 1 around a single value).
fn padded(lo: f64, hi: f64) -> std::ops::Range<f64> {
    if hi > lo {
        let pad = (hi - lo) * 0.05;
        lo - pad..hi + pad
    } else {
        lo - 1.0..hi + 1.0
    }
}

fn extent(values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    values.fold(None, |acc, v| match acc {
        None => Some((v, v)),
        Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
    })
}

fn check_points(what: &str, points: &[[f32; 2]]) -> Result<()> {
    if let Some(i) = points.iter().position(|p| !p[0].is_finite() || !p[1].is_finite()) {
        return Err(EvalError::input(format!("{what}: point {i} is not finite ({:?})", points[i])));
    }
    Ok(())
}

/// Draws `plot` and writes it to `path` as a PNG: points as translucent dots, one colour per
/// class, unlabelled points in black on top, and a legend of the classes present beside the
/// plot. Fails if labels are not one per point, a coordinate is not finite, or there is nothing
/// to draw.
pub fn scatter(path: &Path, frame: &Frame, plot: &Scatter) -> Result<()> {
    if plot.points.len() != plot.labels.len() {
        return Err(EvalError::input(format!(
            "scatter: {} points but {} labels",
            plot.points.len(),
            plot.labels.len()
        )));
    }
    check_points("scatter", plot.points)?;
    let extra: &[[f32; 2]] = plot.unlabelled.map_or(&[], |(_, p)| p);
    check_points("scatter (unlabelled)", extra)?;
    let all = || plot.points.iter().chain(extra);
    let (Some((x0, x1)), Some((y0, y1))) = (extent(all().map(|p| p[0] as f64)), extent(all().map(|p| p[1] as f64)))
    else {
        return Err(EvalError::input("scatter: no points to draw"));
    };
    let mut classes: Vec<u16> = plot.labels.to_vec();
    classes.sort_unstable();
    classes.dedup();
    let name = |l: u16| plot.class_names.get(l as usize).cloned().unwrap_or_else(|| format!("class {l}"));
    let dot = if plot.points.len() + extra.len() > 5_000 { 2 } else { 3 };
    render(path, frame, |root| {
        let legend_width = 200.min(frame.width / 4);
        let (main, side) = root.split_horizontally(frame.width - legend_width);
        let mut chart = ChartBuilder::on(&main)
            .caption(frame.title, (FAMILY, 24))
            .margin(15)
            .x_label_area_size(50)
            .y_label_area_size(70)
            .build_cartesian_2d(padded(x0, x1), padded(y0, y1))?;
        let (x_span, y_span) = (x1 - x0, y1 - y0);
        chart
            .configure_mesh()
            .x_desc(frame.x_label)
            .y_desc(frame.y_label)
            .label_style((FAMILY, 14))
            .light_line_style(RGBColor(235, 235, 235))
            .x_label_formatter(&|v| tick(*v, x_span))
            .y_label_formatter(&|v| tick(*v, y_span))
            .draw()?;
        for (i, &l) in classes.iter().enumerate() {
            let colour = rgb(class_colour(i)).mix(0.6).filled();
            let pts = plot.points.iter().zip(plot.labels).filter(|&(_, &pl)| pl == l);
            chart.draw_series(pts.map(|(p, _)| Circle::new((p[0] as f64, p[1] as f64), dot, colour)))?;
        }
        chart.draw_series(extra.iter().map(|p| Circle::new((p[0] as f64, p[1] as f64), dot, rgb(NEUTRAL).filled())))?;
        // The legend: one row per class (and the unlabelled group), shrinking to fit.
        let mut entries: Vec<(String, (u8, u8, u8))> =
            classes.iter().enumerate().map(|(i, &l)| (name(l), class_colour(i))).collect();
        let fits = ((frame.height as usize).saturating_sub(90) / 10).max(3) - usize::from(plot.unlabelled.is_some());
        if entries.len() > fits {
            let hidden = entries.len() - (fits - 1);
            entries.truncate(fits - 1);
            entries.push((format!("... {hidden} more"), (255, 255, 255)));
        }
        if let Some((n, _)) = plot.unlabelled {
            entries.push((n.to_string(), NEUTRAL));
        }
        let row = (((frame.height as i32 - 80) / entries.len() as i32).clamp(10, 26)) as u32;
        let font_size = (row as f64 * 0.65).clamp(8.0, 15.0);
        side.draw(&Text::new("classes", (10, 40), (FAMILY, 16).into_font()))?;
        for (i, (label, colour)) in entries.iter().enumerate() {
            let y = 70 + i as i32 * row as i32;
            side.draw(&Circle::new((18, y), (row as i32 / 4).clamp(3, 6), rgb(*colour).filled()))?;
            side.draw(&Text::new(label.clone(), (32, y - font_size as i32 / 2), (FAMILY, font_size).into_font()))?;
        }
        Ok(())
    })
}

/// Draws `plot` and writes it to `path` as a PNG: translucent bars per group on shared bins, a
/// black vertical threshold line, and a legend. Fails on no groups or values, a NaN or infinite
/// value, or zero bins.
pub fn histogram(path: &Path, frame: &Frame, plot: &Histogram) -> Result<()> {
    if !(1..=10_000).contains(&plot.bins) {
        return Err(EvalError::input(format!("histogram: {} bins, must be 1 to 10000", plot.bins)));
    }
    for (name, values) in plot.groups {
        if let Some(i) = values.iter().position(|v| !v.is_finite()) {
            return Err(EvalError::input(format!("histogram group `{name}`: value {i} is {}", values[i])));
        }
    }
    if let Some((name, t)) = plot.threshold
        && !t.is_finite()
    {
        return Err(EvalError::input(format!("histogram threshold `{name}` is {t}")));
    }
    let all = plot.groups.iter().flat_map(|(_, v)| v.iter()).chain(plot.threshold.iter().map(|(_, t)| t));
    let Some((lo, hi)) = extent(all.map(|&v| v as f64)) else {
        return Err(EvalError::input("histogram: no values to draw"));
    };
    let (lo, hi) = if hi > lo { (lo, hi) } else { (lo - 0.5, hi + 0.5) };
    let width = (hi - lo) / plot.bins as f64;
    let heights: Vec<Vec<f64>> = plot
        .groups
        .iter()
        .map(|(_, values)| {
            let mut h = vec![0.0; plot.bins];
            for &v in values.iter() {
                h[(((v as f64 - lo) / width) as usize).min(plot.bins - 1)] += 1.0;
            }
            if plot.density && !values.is_empty() {
                h.iter_mut().for_each(|c| *c /= values.len() as f64 * width);
            }
            h
        })
        .collect();
    let top = heights.iter().flatten().fold(0.0f64, |a, &b| a.max(b));
    let top = if top > 0.0 { top * 1.08 } else { 1.0 };
    render(path, frame, |root| {
        let mut chart = ChartBuilder::on(&root)
            .caption(frame.title, (FAMILY, 24))
            .margin(15)
            .x_label_area_size(50)
            .y_label_area_size(80)
            .build_cartesian_2d(padded(lo, hi), 0.0..top)?;
        let (x_span, y_span) = (hi - lo, top);
        chart
            .configure_mesh()
            .x_desc(frame.x_label)
            .y_desc(frame.y_label)
            .label_style((FAMILY, 14))
            .light_line_style(RGBColor(235, 235, 235))
            .x_label_formatter(&|v| tick(*v, x_span))
            .y_label_formatter(&|v| tick(*v, y_span))
            .draw()?;
        for (g, ((name, _), h)) in plot.groups.iter().zip(&heights).enumerate() {
            let colour = rgb(class_colour(g));
            let bars = h.iter().enumerate().filter(|&(_, &c)| c > 0.0).map(move |(b, &c)| {
                let x = lo + b as f64 * width;
                Rectangle::new([(x, 0.0), (x + width, c)], colour.mix(0.45).filled())
            });
            chart
                .draw_series(bars)?
                .label(*name)
                .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 14, y + 6)], colour.filled()));
        }
        if let Some((name, t)) = plot.threshold {
            let t = t as f64;
            chart
                .draw_series(std::iter::once(PathElement::new(vec![(t, 0.0), (t, top)], rgb(NEUTRAL).stroke_width(2))))?
                .label(format!("{name} ({})", tick(t, 0.0)))
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 14, y)], rgb(NEUTRAL).stroke_width(2)));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font((FAMILY, 15))
            .draw()?;
        Ok(())
    })
}

/// Draws `plot` and writes it to `path` as a PNG: one coloured line per series (with dots when
/// there are few points) and a legend. Non-finite points (e.g. a diverged loss), and with
/// `log_y` points with y <= 0, are left out. Fails if no series has a point left.
pub fn line_chart(path: &Path, frame: &Frame, plot: &LineChart) -> Result<()> {
    let kept: Vec<Vec<(f64, f64)>> = plot
        .series
        .iter()
        .map(|s| {
            s.points
                .iter()
                .copied()
                .filter(|(x, y)| x.is_finite() && y.is_finite() && (!plot.log_y || *y > 0.0))
                .collect()
        })
        .collect();
    let (Some((x0, x1)), Some((y0, y1))) =
        (extent(kept.iter().flatten().map(|p| p.0)), extent(kept.iter().flatten().map(|p| p.1)))
    else {
        return Err(EvalError::input("line chart: no finite points to draw"));
    };
    let x_range = if x1 > x0 { x0..x1 } else { x0 - 0.5..x1 + 0.5 };
    render(path, frame, |root| {
        if plot.log_y {
            let (lo, hi) = if y1 > y0 { (y0 / 1.2, y1 * 1.2) } else { (y0 / 2.0, y1 * 2.0) };
            draw_lines(&root, frame, plot, &kept, x_range, (lo..hi).log_scale(), 0.0)
        } else {
            draw_lines(&root, frame, plot, &kept, x_range, padded(y0, y1), y1 - y0)
        }
    })
}

fn draw_lines<Y>(
    root: &DrawingArea<BitMapBackend, plotters::coord::Shift>,
    frame: &Frame,
    plot: &LineChart,
    kept: &[Vec<(f64, f64)>],
    x_range: std::ops::Range<f64>,
    y_spec: Y,
    y_span: f64,
) -> DrawResult
where
    Y: AsRangedCoord<Value = f64>,
    Y::CoordDescType: ValueFormatter<f64>,
{
    let mut chart = ChartBuilder::on(root)
        .caption(frame.title, (FAMILY, 24))
        .margin(15)
        .x_label_area_size(50)
        .y_label_area_size(80)
        .build_cartesian_2d(x_range.clone(), y_spec)?;
    let x_span = x_range.end - x_range.start;
    chart
        .configure_mesh()
        .x_desc(frame.x_label)
        .y_desc(frame.y_label)
        .label_style((FAMILY, 14))
        .light_line_style(RGBColor(235, 235, 235))
        .x_label_formatter(&|v| tick(*v, x_span))
        .y_label_formatter(&|v| tick(*v, y_span))
        .draw()?;
    for (i, (series, points)) in plot.series.iter().zip(kept).enumerate() {
        let colour = rgb(class_colour(i));
        chart
            .draw_series(LineSeries::new(points.iter().copied(), colour.stroke_width(2)))?
            .label(series.name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(3)));
        if points.len() <= 60 {
            chart.draw_series(points.iter().map(|&p| Circle::new(p, 3, colour.filled())))?;
        }
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font((FAMILY, 15))
        .draw()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::rng::SplitMix64;

    /// Decodes a written PNG: its size, its set of colours, and whether `colour` occurs.
    fn decode(path: &Path) -> image::RgbImage {
        image::open(path).unwrap().to_rgb8()
    }

    fn colours(img: &image::RgbImage) -> HashSet<[u8; 3]> {
        img.pixels().map(|p| p.0).collect()
    }

    fn has(img: &image::RgbImage, (r, g, b): (u8, u8, u8)) -> bool {
        img.pixels().any(|p| p.0 == [r, g, b])
    }

    /// Dark (text-like) pixels in the top `rows` rows: the title was drawn.
    fn has_title(img: &image::RgbImage, rows: u32) -> bool {
        (0..rows).flat_map(|y| (0..img.width()).map(move |x| (x, y))).any(|(x, y)| img.get_pixel(x, y).0[0] < 100)
    }

    fn only_file(dir: &Path) -> Vec<String> {
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect()
    }

    #[test]
    fn tick_labels_are_short() {
        let cases = [(0.0, "0"), (5.0, "5"), (0.6000000000000001, "0.6"), (1234.5678, "1235"), (0.012345, "0.01235")];
        for (v, want) in cases {
            assert_eq!(tick(v, 1.0), want);
        }
        assert_eq!(
            (tick(-2.5, 1.0), tick(1e-5, 0.0), tick(3e7, 1.0)),
            ("-2.5".into(), "1.00e-5".into(), "3.00e7".into())
        );
        assert_eq!(tick(-2.220446049250313e-16, 2.0), "0");
    }

    #[test]
    fn palette_is_distinct() {
        let all: HashSet<_> = (0..40).map(class_colour).collect();
        assert_eq!(all.len(), 40);
        assert!(!all.contains(&NEUTRAL) && !all.contains(&(255, 255, 255)));
    }

    #[test]
    fn scatter_png() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("scatter.png");
        let mut g = SplitMix64::new(1, 0);
        let labels: Vec<u16> = (0..2000).map(|i| (i % 12) as u16).collect();
        let points: Vec<[f32; 2]> = labels
            .iter()
            .map(|&l| {
                let a = l as f64 * 0.5;
                [(a.cos() * 5.0 + g.normal() * 0.5) as f32, (a.sin() * 5.0 + g.normal() * 0.5) as f32]
            })
            .collect();
        let extra: Vec<[f32; 2]> = (0..100).map(|_| [g.normal() as f32, g.normal() as f32]).collect();
        let names: Vec<String> = (0..12).map(|i| format!("digit {i}")).collect();
        let plot = Scatter {
            points: &points,
            labels: &labels,
            class_names: &names,
            unlabelled: Some(("unlabelled test images", &extra)),
        };
        scatter(&path, &Frame::new("Codes", "code 1", "code 2"), &plot).unwrap();
        let img = decode(&path);
        assert_eq!(img.dimensions(), (1000, 750));
        assert!(colours(&img).len() > 50);
        for i in 0..12 {
            assert!(has(&img, class_colour(i)), "legend colour of class {i}");
        }
        assert!(has(&img, NEUTRAL) && has_title(&img, 40));
        assert_eq!(only_file(dir.path()), vec!["scatter.png"]);
        // Bad input.
        let bad = Scatter { labels: &labels[..10], ..plot.clone() };
        assert!(scatter(&path, &Frame::new("", "", ""), &bad).unwrap_err().to_string().contains("2000 points but 10"));
        let nan = [[f32::NAN, 0.0]];
        let bad = Scatter { points: &nan, labels: &[0], class_names: &[], unlabelled: None };
        assert!(scatter(&path, &Frame::new("", "", ""), &bad).is_err());
        // More classes than the legend can list: the rest are counted, nothing panics.
        let many: Vec<u16> = (0..600).collect();
        let plot = Scatter { points: &points[..600], labels: &many, class_names: &[], unlabelled: None };
        scatter(&path, &Frame::new("many", "x", "y"), &plot).unwrap();
        let empty = Scatter { points: &[], labels: &[], class_names: &[], unlabelled: None };
        assert!(scatter(&path, &Frame::new("", "", ""), &empty).unwrap_err().to_string().contains("no points"));
    }

    #[test]
    fn histogram_png() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("scores.png");
        let mut g = SplitMix64::new(2, 0);
        let normal: Vec<f32> = (0..3000).map(|_| (g.normal() * 0.5 + 1.0) as f32).collect();
        let anomalous: Vec<f32> = (0..200).map(|_| (g.normal() * 0.7 + 3.0) as f32).collect();
        let groups = [("normal", normal.as_slice()), ("anomalous", anomalous.as_slice())];
        let plot = Histogram { groups: &groups, bins: 60, threshold: Some(("95th percentile", 1.8)), density: true };
        let frame = Frame { width: 800, height: 500, ..Frame::new("Reconstruction error", "error", "density") };
        histogram(&path, &frame, &plot).unwrap();
        let img = decode(&path);
        assert_eq!(img.dimensions(), (800, 500));
        assert!(colours(&img).len() > 20);
        assert!(has(&img, class_colour(0)) && has(&img, class_colour(1)) && has(&img, NEUTRAL));
        assert!(has_title(&img, 40));
        assert!(histogram(&path, &frame, &Histogram { bins: 0, ..plot.clone() }).is_err());
        let nan = [("x", &[f32::NAN][..])];
        assert!(histogram(&path, &frame, &Histogram { groups: &nan, ..plot.clone() }).is_err());
        assert!(histogram(&path, &frame, &Histogram { groups: &[], threshold: None, ..plot }).is_err());
    }

    #[test]
    fn line_chart_png() {
        let dir = tempfile::tempdir().unwrap();
        let train: Vec<(f64, f64)> = (1..=30).map(|e| (e as f64, 1.0 / e as f64 + 0.05)).collect();
        let mut val: Vec<(f64, f64)> = (1..=30).map(|e| (e as f64, 1.2 / e as f64 + 0.08)).collect();
        val[10].1 = f64::NAN; // a diverged epoch is left out
        let series = [Series { name: "train", points: &train }, Series { name: "validation", points: &val }];
        for log_y in [false, true] {
            let path = dir.path().join(format!("loss-{log_y}.png"));
            line_chart(&path, &Frame::new("Loss", "epoch", "loss"), &LineChart { series: &series, log_y }).unwrap();
            let img = decode(&path);
            assert_eq!(img.dimensions(), (1000, 750));
            assert!(colours(&img).len() > 20);
            assert!(has(&img, class_colour(0)) && has(&img, class_colour(1)) && has_title(&img, 40));
        }
        let empty = [Series { name: "x", points: &[(1.0, f64::NAN)] }];
        let e =
            line_chart(&dir.path().join("x.png"), &Frame::new("", "", ""), &LineChart { series: &empty, log_y: false });
        assert!(e.is_err());
        let neg = [Series { name: "x", points: &[(1.0, -1.0)] }];
        assert!(
            line_chart(&dir.path().join("x.png"), &Frame::new("", "", ""), &LineChart { series: &neg, log_y: true })
                .is_err()
        );
    }

    #[test]
    fn unwritable_path_is_an_io_error() {
        let train = [(1.0, 1.0), (2.0, 0.5)];
        let series = [Series { name: "train", points: &train }];
        let e = line_chart(
            Path::new("/nonexistent-dir/loss.png"),
            &Frame::new("", "", ""),
            &LineChart { series: &series, log_y: false },
        )
        .unwrap_err();
        assert!(matches!(e, EvalError::Io { .. }) && e.to_string().contains("/nonexistent-dir/loss.png"), "{e}");
    }
}
