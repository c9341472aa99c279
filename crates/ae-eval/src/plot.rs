//! Every picture of the project, as PNG bytes: a 2-D scatter coloured by class, histograms of
//! scores with a threshold, line charts of losses over epochs, and grids of items (images as they
//! are, other items on a square grid) with a caption under each.
//!
//! Text is drawn with DejaVu Sans embedded in the binary (`assets/`), so no system font or font
//! library is needed. Nothing here writes files: the caller decides where the bytes go.

use std::error::Error as StdError;
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

/// A picture encoded as PNG, and its size.
#[derive(Debug, Clone, PartialEq)]
pub struct Png {
    /// The PNG file's bytes.
    pub bytes: Vec<u8>,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

impl Png {
    /// Encodes `pixels` (RGB, row-major, `width * height * 3` bytes).
    fn encode(pixels: &[u8], width: u32, height: u32) -> Result<Png> {
        let mut bytes = Vec::new();
        image::ImageEncoder::write_image(
            image::codecs::png::PngEncoder::new(&mut bytes),
            pixels,
            width,
            height,
            image::ExtendedColorType::Rgb8,
        )
        .map_err(|e| EvalError::Plot(format!("PNG encoding: {e}")))?;
        Ok(Png { bytes, width, height })
    }
}

type DrawResult = std::result::Result<(), Box<dyn StdError>>;

/// Renders with `draw` on a white RGB canvas of the frame's size and encodes it as a PNG.
fn render(
    frame: &Frame,
    draw: impl FnOnce(DrawingArea<BitMapBackend, plotters::coord::Shift>) -> DrawResult,
) -> Result<Png> {
    let (w, h) = (frame.width, frame.height);
    if !(200..=10_000).contains(&w) || !(150..=10_000).contains(&h) {
        return Err(EvalError::input(format!("plot size {w} x {h} is outside 200 x 150 to 10000 x 10000")));
    }
    let mut pixels = vec![255u8; w as usize * h as usize * 3];
    draw_on(&mut pixels, (w, h), |root| {
        root.fill(&WHITE)?;
        draw(root)
    })?;
    Png::encode(&pixels, w, h)
}

/// Runs `draw` on an RGB pixel buffer of `size` through plotters, with the embedded font.
fn draw_on(
    pixels: &mut [u8],
    size: (u32, u32),
    draw: impl FnOnce(DrawingArea<BitMapBackend, plotters::coord::Shift>) -> DrawResult,
) -> Result<()> {
    font()?;
    let root = BitMapBackend::with_buffer(pixels, size).into_drawing_area();
    draw(root.clone()).map_err(|e| EvalError::Plot(e.to_string()))?;
    root.present().map_err(|e| EvalError::Plot(e.to_string()))
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

/// Draws `plot` as a PNG: points as translucent dots, one colour per
/// class, unlabelled points in black on top, and a legend of the classes present beside the
/// plot. Fails if labels are not one per point, a coordinate is not finite, or there is nothing
/// to draw.
pub fn scatter(frame: &Frame, plot: &Scatter) -> Result<Png> {
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
    render(frame, |root| {
        let legend_width = 200.min(frame.width / 4);
        let (main, side) = root.split_horizontally(frame.width - legend_width);
        let mut chart = axes(&main, frame, 70, padded(x0, x1), padded(y0, y1), (x1 - x0, y1 - y0))?;
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

/// Draws `plot` as a PNG: translucent bars per group on shared bins, a
/// black vertical threshold line, and a legend. Fails on no groups or values, a NaN or infinite
/// value, or zero bins.
pub fn histogram(frame: &Frame, plot: &Histogram) -> Result<Png> {
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
    render(frame, |root| {
        let mut chart = axes(&root, frame, 80, padded(lo, hi), 0.0..top, (hi - lo, top))?;
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
        legend(&mut chart)
    })
}

/// Draws `plot` as a PNG: one coloured line per series (with dots when
/// there are few points) and a legend. Non-finite points (e.g. a diverged loss), and with
/// `log_y` points with y <= 0, are left out. Fails if no series has a point left.
pub fn line_chart(frame: &Frame, plot: &LineChart) -> Result<Png> {
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
    render(frame, |root| {
        if plot.log_y {
            let (lo, hi) = if y1 > y0 { (y0 / 1.2, y1 * 1.2) } else { (y0 / 2.0, y1 * 2.0) };
            draw_lines(&root, frame, plot, &kept, x_range, (lo..hi).log_scale(), 0.0)
        } else {
            draw_lines(&root, frame, plot, &kept, x_range, padded(y0, y1), y1 - y0)
        }
    })
}

type Chart<'a, 'b, Y> = ChartContext<'a, BitMapBackend<'b>, Cartesian2d<plotters::coord::types::RangedCoordf64, Y>>;

/// A chart on `area` with the frame's title and axis labels, `x` and `y` as its ranges, and
/// tick labels shortened for axes spanning `spans` (x, y); `y_label_area` pixels for the y
/// labels.
fn axes<'a, 'b, Y>(
    area: &'a DrawingArea<BitMapBackend<'b>, plotters::coord::Shift>,
    frame: &Frame,
    y_label_area: u32,
    x: std::ops::Range<f64>,
    y: Y,
    (x_span, y_span): (f64, f64),
) -> std::result::Result<Chart<'a, 'b, Y::CoordDescType>, Box<dyn StdError>>
where
    Y: AsRangedCoord<Value = f64>,
    Y::CoordDescType: ValueFormatter<f64>,
{
    let mut chart = ChartBuilder::on(area)
        .caption(frame.title, (FAMILY, 24))
        .margin(15)
        .x_label_area_size(50)
        .y_label_area_size(y_label_area)
        .build_cartesian_2d(x, y)?;
    chart
        .configure_mesh()
        .x_desc(frame.x_label)
        .y_desc(frame.y_label)
        .label_style((FAMILY, 14))
        .light_line_style(RGBColor(235, 235, 235))
        .x_label_formatter(&|v| tick(*v, x_span))
        .y_label_formatter(&|v| tick(*v, y_span))
        .draw()?;
    Ok(chart)
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
    let x_span = x_range.end - x_range.start;
    let mut chart = axes(root, frame, 80, x_range, y_spec, (x_span, y_span))?;
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
    legend(&mut chart)
}

/// The legend of the labelled series, in the upper right corner.
fn legend<'a, 'b: 'a, CT: plotters::coord::CoordTranslate>(
    chart: &mut ChartContext<'a, BitMapBackend<'b>, CT>,
) -> DrawResult {
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font((FAMILY, 15))
        .draw()?;
    Ok(())
}

/// One item of a [`Grid`] and the text under it.
#[derive(Debug, Clone, PartialEq)]
pub struct Tile {
    /// The item's values in data units (pixel values of an image).
    pub values: Vec<f32>,
    /// Text under the item (cut to the tile's width); empty for none.
    pub caption: String,
}

/// Rows of items side by side: inputs above reconstructions, noisy / denoised / clean, samples
/// from a prior.
#[derive(Debug, Clone, PartialEq)]
pub struct Grid<'a> {
    /// The rows of tiles (rows may differ in length).
    pub rows: &'a [Vec<Tile>],
    /// Shape of one item: `[channels, height, width]` draws an image of 1 or 3 channels; any other
    /// item is laid out row by row on a square grid.
    pub shape: &'a [usize],
    /// The values drawn as black and as full intensity; values outside are clipped.
    pub range: (f32, f32),
}

const GRID_BACKGROUND: (u8, u8, u8) = (40, 40, 48);
const GRID_INK: (u8, u8, u8) = (235, 235, 160);
const GRID_GAP: u32 = 4;

/// How one item is drawn: (channels, height, width).
fn grid_layout(shape: &[usize]) -> (usize, usize, usize) {
    match shape {
        [c, h, w] if *c == 1 || *c == 3 => (*c, *h, *w),
        _ => {
            let d: usize = shape.iter().product();
            let w = (d as f64).sqrt().ceil().max(1.0) as usize;
            (1, d.div_ceil(w), w)
        }
    }
}

/// Pixels per value (items are enlarged to about 64 pixels), tile width and height, and the
/// caption's font size.
fn grid_geometry(shape: &[usize]) -> (u32, u32, u32, u32) {
    let (_, h, w) = grid_layout(shape);
    let zoom = (64 / h.max(w)).max(1) as u32;
    let (tw, th) = (w as u32 * zoom, h as u32 * zoom);
    (zoom, tw, th, if tw >= 40 { 10 } else { 8 })
}

/// Height in pixels of a [`grid`] of `rows` rows of captioned items of `shape`.
pub fn grid_height(rows: usize, shape: &[usize]) -> u32 {
    let (_, _, th, font) = grid_geometry(shape);
    rows as u32 * (th + font + 4 + GRID_GAP) + GRID_GAP
}

/// Draws `grid` as a PNG on a dark background, each caption under its tile (no caption band
/// when every caption is empty). Fails when there is no item, an item's shape has no values, or
/// the picture would exceed 20,000 pixels a side.
pub fn grid(grid: &Grid) -> Result<Png> {
    let cols = grid.rows.iter().map(Vec::len).max().unwrap_or(0);
    if cols == 0 {
        return Err(EvalError::input("grid: no items to draw"));
    }
    let (channels, height, width) = grid_layout(grid.shape);
    if height * width == 0 {
        return Err(EvalError::input(format!("grid: items of shape {:?} have no values", grid.shape)));
    }
    let (zoom, tw, th, font_size) = grid_geometry(grid.shape);
    let captioned = grid.rows.iter().flatten().any(|t| !t.caption.is_empty());
    let caption_h = if captioned { font_size + 4 } else { 0 };
    let img_w = cols as u64 * (tw + GRID_GAP) as u64 + GRID_GAP as u64;
    let img_h = grid.rows.len() as u64 * (th + caption_h + GRID_GAP) as u64 + GRID_GAP as u64;
    if img_w > 20_000 || img_h > 20_000 {
        return Err(EvalError::input(format!("grid: {img_w} x {img_h} pixels is more than 20000 a side")));
    }
    let (img_w, img_h) = (img_w as u32, img_h as u32);
    let (lo, hi) = grid.range;
    let span = if hi > lo { hi - lo } else { 1.0 };
    let mut pixels: Vec<u8> =
        [GRID_BACKGROUND.0, GRID_BACKGROUND.1, GRID_BACKGROUND.2].repeat((img_w * img_h) as usize);
    let plane = height * width;
    let mut captions = Vec::new();
    for (r, tiles) in grid.rows.iter().enumerate() {
        for (c, tile) in tiles.iter().enumerate() {
            let (x0, y0) = (GRID_GAP + c as u32 * (tw + GRID_GAP), GRID_GAP + r as u32 * (th + caption_h + GRID_GAP));
            for y in 0..height {
                for x in 0..width {
                    let px = |ch: usize| {
                        let v = tile.values.get(ch * plane + y * width + x).copied().unwrap_or(lo);
                        (((v - lo) / span).clamp(0.0, 1.0) * 255.0).round() as u8
                    };
                    let colour = if channels == 3 { [px(0), px(1), px(2)] } else { [px(0); 3] };
                    for dy in 0..zoom {
                        let row = (y0 + y as u32 * zoom + dy) as usize * img_w as usize;
                        for dx in 0..zoom {
                            let at = (row + (x0 + x as u32 * zoom + dx) as usize) * 3;
                            pixels[at..at + 3].copy_from_slice(&colour);
                        }
                    }
                }
            }
            if !tile.caption.is_empty() {
                captions.push((tile.caption.as_str(), (x0 as i32, (y0 + th + 2) as i32)));
            }
        }
    }
    if !captions.is_empty() {
        draw_on(&mut pixels, (img_w, img_h), |root| {
            let style = (FAMILY, font_size as f64).into_font().color(&rgb(GRID_INK));
            for (caption, at) in captions {
                // Cut to the tile's width.
                let mut text: String = caption.to_string();
                while !text.is_empty() && root.estimate_text_size(&text, &style)?.0 > tw {
                    text.pop();
                }
                root.draw(&Text::new(text, at, &style))?;
            }
            Ok(())
        })?;
    }
    Png::encode(&pixels, img_w, img_h)
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use ae_core::SplitMix64;

    /// Decodes a PNG, checking that its recorded size is the image's.
    fn decode(png: &Png) -> image::RgbImage {
        let img = image::load_from_memory(&png.bytes).unwrap().to_rgb8();
        assert_eq!(img.dimensions(), (png.width, png.height));
        img
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
        let img = decode(&scatter(&Frame::new("Codes", "code 1", "code 2"), &plot).unwrap());
        assert_eq!(img.dimensions(), (1000, 750));
        assert!(colours(&img).len() > 50);
        for i in 0..12 {
            assert!(has(&img, class_colour(i)), "legend colour of class {i}");
        }
        assert!(has(&img, NEUTRAL) && has_title(&img, 40));
        // Bad input.
        let bad = Scatter { labels: &labels[..10], ..plot.clone() };
        assert!(scatter(&Frame::new("", "", ""), &bad).unwrap_err().to_string().contains("2000 points but 10"));
        let nan = [[f32::NAN, 0.0]];
        let bad = Scatter { points: &nan, labels: &[0], class_names: &[], unlabelled: None };
        assert!(scatter(&Frame::new("", "", ""), &bad).is_err());
        // More classes than the legend can list: the rest are counted, nothing panics.
        let many: Vec<u16> = (0..600).collect();
        let plot = Scatter { points: &points[..600], labels: &many, class_names: &[], unlabelled: None };
        scatter(&Frame::new("many", "x", "y"), &plot).unwrap();
        let empty = Scatter { points: &[], labels: &[], class_names: &[], unlabelled: None };
        assert!(scatter(&Frame::new("", "", ""), &empty).unwrap_err().to_string().contains("no points"));
    }

    #[test]
    fn histogram_png() {
        let mut g = SplitMix64::new(2, 0);
        let normal: Vec<f32> = (0..3000).map(|_| (g.normal() * 0.5 + 1.0) as f32).collect();
        let anomalous: Vec<f32> = (0..200).map(|_| (g.normal() * 0.7 + 3.0) as f32).collect();
        let groups = [("normal", normal.as_slice()), ("anomalous", anomalous.as_slice())];
        let plot = Histogram { groups: &groups, bins: 60, threshold: Some(("95th percentile", 1.8)), density: true };
        let frame = Frame { width: 800, height: 500, ..Frame::new("Reconstruction error", "error", "density") };
        let img = decode(&histogram(&frame, &plot).unwrap());
        assert_eq!(img.dimensions(), (800, 500));
        assert!(colours(&img).len() > 20);
        assert!(has(&img, class_colour(0)) && has(&img, class_colour(1)) && has(&img, NEUTRAL));
        assert!(has_title(&img, 40));
        assert!(histogram(&frame, &Histogram { bins: 0, ..plot.clone() }).is_err());
        let nan = [("x", &[f32::NAN][..])];
        assert!(histogram(&frame, &Histogram { groups: &nan, ..plot.clone() }).is_err());
        assert!(histogram(&frame, &Histogram { groups: &[], threshold: None, ..plot }).is_err());
    }

    #[test]
    fn line_chart_png() {
        let train: Vec<(f64, f64)> = (1..=30).map(|e| (e as f64, 1.0 / e as f64 + 0.05)).collect();
        let mut val: Vec<(f64, f64)> = (1..=30).map(|e| (e as f64, 1.2 / e as f64 + 0.08)).collect();
        val[10].1 = f64::NAN; // a diverged epoch is left out
        let series = [Series { name: "train", points: &train }, Series { name: "validation", points: &val }];
        for log_y in [false, true] {
            let img = decode(
                &line_chart(&Frame::new("Loss", "epoch", "loss"), &LineChart { series: &series, log_y }).unwrap(),
            );
            assert_eq!(img.dimensions(), (1000, 750));
            assert!(colours(&img).len() > 20);
            assert!(has(&img, class_colour(0)) && has(&img, class_colour(1)) && has_title(&img, 40));
        }
        let empty = [Series { name: "x", points: &[(1.0, f64::NAN)] }];
        assert!(line_chart(&Frame::new("", "", ""), &LineChart { series: &empty, log_y: false }).is_err());
        let neg = [Series { name: "x", points: &[(1.0, -1.0)] }];
        assert!(line_chart(&Frame::new("", "", ""), &LineChart { series: &neg, log_y: true }).is_err());
    }

    #[test]
    fn grid_draws_tiles_and_captions() {
        let tile = |v: f32, c: &str| Tile { values: vec![v; 784], caption: c.into() };
        let rows = vec![vec![tile(0.0, "sandal"), tile(255.0, "0.25")], vec![tile(127.5, "7")]];
        let png = grid(&Grid { rows: &rows, shape: &[1, 28, 28], range: (0.0, 255.0) }).unwrap();
        let img = decode(&png);
        // Tiles of 56 pixels (28 x 2) with 4-pixel gaps; a 14-pixel caption band under each row.
        assert_eq!(img.dimensions(), (2 * (56 + 4) + 4, grid_height(2, &[1, 28, 28])));
        assert_eq!(grid_height(2, &[1, 28, 28]), 2 * (56 + 14 + 4) + 4);
        assert_eq!(img.get_pixel(4 + 10, 4 + 10).0, [0, 0, 0]);
        assert_eq!(img.get_pixel(4 + 60 + 10, 4 + 10).0, [255, 255, 255]);
        assert_eq!(img.get_pixel(4 + 10, 4 + 74 + 10).0, [128, 128, 128]);
        // Captions are drawn in the band under the tiles, in the ink's colour (antialiased).
        let band = |x0: u32| (x0..x0 + 56).flat_map(|x| (4 + 56..4 + 70).map(move |y| (x, y)));
        let inked = |x0: u32| band(x0).filter(|&(x, y)| img.get_pixel(x, y).0[0] > 150).count();
        assert!(inked(4) > 20 && inked(64) > 10, "{} {}", inked(4), inked(64));
        // No captions: no band; a flat item shape is laid out on a square grid (10 values: 4 x 3).
        let rows = vec![vec![Tile { values: (0..10).map(|v| v as f32).collect(), caption: String::new() }]];
        let img = decode(&grid(&Grid { rows: &rows, shape: &[10], range: (0.0, 9.0) }).unwrap());
        assert_eq!(img.dimensions(), (4 * 16 + 8, 3 * 16 + 8));
        assert_eq!(img.get_pixel(4 + 16 + 1, 4 + 1).0, [28, 28, 28]); // value 1 of 9
        // Nothing to draw, or nothing in an item, is an error.
        assert!(grid(&Grid { rows: &[], shape: &[1, 2, 2], range: (0.0, 1.0) }).is_err());
        assert!(grid(&Grid { rows: &rows, shape: &[0], range: (0.0, 1.0) }).is_err());
    }
}
