//! The pictures: a grouped bar chart of a bench run and the CPU-per-MiB panels of a size
//! sweep, drawn as SVG with plotters.
//!
//! Both functions draw plain data, names and numbers, and know nothing of the bench's
//! scenarios or engines: a row, an engine or a panel added later (sparse files, the async
//! engines) appears in the pictures without a change here. Engines get their colour by order of
//! first appearance, so the engine listed first (fdcopy) always has the first one.

use std::ops::Range;

use plotters::coord::ranged1d::{KeyPointHint, KeyPointWeight, NoDefaultFormatting, Ranged, ValueFormatter};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// A grouped bar chart: CPU time of every engine relative to a baseline engine, one group per
/// row, in one or more panels (e.g. bulk copies and 4 KiB copies).
#[derive(Debug, Clone, Default)]
pub struct Bars {
    pub title: String,
    /// Lines under the picture: machine, date, command, what the numbers are.
    pub caption: Vec<String>,
    /// The engine every value is relative to (its bars are all 1).
    pub baseline: String,
    pub panels: Vec<BarPanel>,
}

/// One panel of a bar chart.
#[derive(Debug, Clone, Default)]
pub struct BarPanel {
    pub title: String,
    pub groups: Vec<Group>,
}

/// One group of bars: a scenario (a row of the table).
#[derive(Debug, Clone, Default)]
pub struct Group {
    pub name: String,
    /// Engine name and CPU relative to the baseline, in drawing order.
    pub bars: Vec<(String, f64)>,
    /// The goal of the first engine, relative to the baseline, drawn as a mark across the group.
    pub goal: Option<f64>,
    /// Whether the first engine met its goal (colours its value label).
    pub met: Option<bool>,
    /// Why the group has no bars (shown in its place).
    pub note: Option<String>,
}

/// CPU per MiB against bytes per copy, one panel per scenario.
#[derive(Debug, Clone, Default)]
pub struct Sweep {
    pub title: String,
    pub caption: Vec<String>,
    /// Label of the y axis.
    pub unit: String,
    pub panels: Vec<SweepPanel>,
}

/// One scenario of a sweep.
#[derive(Debug, Clone, Default)]
pub struct SweepPanel {
    pub name: String,
    /// One line per engine: (bytes per copy, value) points, in size order.
    pub lines: Vec<(String, Vec<(u64, f64)>)>,
    /// The size from which the kernel path wins, marked with a vertical line.
    pub crossover: Option<u64>,
    /// One line of text under the panel's name (the crossover, the verdict).
    pub note: String,
    /// Why the panel has no lines.
    pub skipped: Option<String>,
}

/// Colours by order of first appearance (a colour-blind-safe palette, fdcopy's first).
const PALETTE: [RGBColor; 8] = [
    RGBColor(213, 94, 0),
    RGBColor(0, 114, 178),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
    RGBColor(120, 120, 120),
    RGBColor(0, 0, 0),
];
const GREEN: RGBColor = RGBColor(0, 128, 0);
const RED: RGBColor = RGBColor(200, 0, 0);
const GRAY: RGBColor = RGBColor(110, 110, 110);
const FONT: &str = "sans-serif";

/// Engine names in order of first appearance.
fn engines<'a>(names: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    for n in names {
        if !seen.iter().any(|s| s == n) {
            seen.push(n.to_string());
        }
    }
    seen
}

fn colour(engines: &[String], name: &str) -> RGBColor {
    let i = engines.iter().position(|e| e == name).unwrap_or(engines.len());
    PALETTE[i % PALETTE.len()]
}

/// An axis with the ticks we choose (plotters' automatic ones would land between the
/// groups, or on sizes nobody measured), linear or logarithmic.
#[derive(Debug, Clone)]
struct Axis {
    lo: f64,
    hi: f64,
    log: bool,
    ticks: Vec<(f64, String)>,
}

impl Axis {
    fn at(&self, v: f64) -> f64 {
        if self.log {
            v.max(f64::MIN_POSITIVE).ln()
        } else {
            v
        }
    }
}

impl Ranged for Axis {
    type FormatOption = NoDefaultFormatting;
    type ValueType = f64;

    fn map(&self, v: &f64, limit: (i32, i32)) -> i32 {
        let (a, b) = (self.at(self.lo), self.at(self.hi));
        let t = if b == a { 0.0 } else { (self.at(*v) - a) / (b - a) };
        limit.0 + ((limit.1 - limit.0) as f64 * t).round() as i32
    }

    fn key_points<H: KeyPointHint>(&self, hint: H) -> Vec<f64> {
        match hint.weight() {
            KeyPointWeight::Bold => self.ticks.iter().map(|t| t.0).collect(),
            KeyPointWeight::Any => Vec::new(),
        }
    }

    fn range(&self) -> Range<f64> {
        self.lo..self.hi
    }
}

impl ValueFormatter<f64> for Axis {
    fn format_ext(&self, v: &f64) -> String {
        self.ticks
            .iter()
            .min_by(|a, b| (a.0 - v).abs().total_cmp(&(b.0 - v).abs()))
            .map(|t| t.1.clone())
            .unwrap_or_default()
    }
}

/// Ticks at 1, 2 and 5 times the powers of ten within `[lo, hi]`, labelled by `label`.
fn decades(lo: f64, hi: f64, label: impl Fn(f64) -> String) -> Vec<(f64, String)> {
    let mut ticks = Vec::new();
    let mut p = 10f64.powf(lo.log10().floor());
    while p <= hi * 1.0001 {
        for m in [1.0, 2.0, 5.0] {
            let v = p * m;
            if v >= lo * 0.9999 && v <= hi * 1.0001 {
                ticks.push((v, label(v)));
            }
        }
        p *= 10.0;
    }
    ticks
}

/// `0.5×`, `1×`, `0.25×`.
fn times(v: f64) -> String {
    let s = format!("{v:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    format!("{s}×")
}

/// `4K`, `256K`, `16M`, `1G`.
pub fn size_label(bytes: u64) -> String {
    for (shift, unit) in [(30, "G"), (20, "M"), (10, "K")] {
        if bytes >= 1 << shift && bytes.is_multiple_of(1 << shift) {
            return format!("{}{unit}", bytes >> shift);
        }
    }
    format!("{bytes}")
}

fn err(e: impl std::fmt::Display) -> String {
    format!("drawing: {e}")
}

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;

/// The legend row: a swatch and the name of every engine, then `extra` (swatch-less items).
fn legend(area: &Area<'_>, engines: &[String], extra: &[(&str, RGBColor)]) -> Result<(), String> {
    let font = (FONT, 15).into_font();
    let mut x = 20;
    let y = 14;
    for e in engines {
        let c = colour(engines, e);
        area.draw(&Rectangle::new([(x, y), (x + 14, y + 14)], c.filled()))
            .map_err(err)?;
        area.draw(&Text::new(e.clone(), (x + 20, y), font.clone()))
            .map_err(err)?;
        x += 34 + 9 * e.chars().count() as i32;
    }
    for (text, c) in extra {
        area.draw(&PathElement::new(
            vec![(x + 6, y - 2), (x + 6, y + 16)],
            c.stroke_width(3),
        ))
        .map_err(err)?;
        area.draw(&Text::new(text.to_string(), (x + 16, y), font.clone().color(c)))
            .map_err(err)?;
        x += 30 + 8 * text.chars().count() as i32;
    }
    Ok(())
}

/// The caption lines at the bottom.
fn caption(area: &Area<'_>, lines: &[String]) -> Result<(), String> {
    let font = (FONT, 13).into_font().color(&GRAY);
    for (i, line) in lines.iter().enumerate() {
        area.draw(&Text::new(line.clone(), (20, 8 + 18 * i as i32), font.clone()))
            .map_err(err)?;
    }
    Ok(())
}

/// Splits `root` into title, legend, the body and the caption.
fn frame<'a>(root: &Area<'a>, title: &str, lines: usize) -> Result<(Area<'a>, Area<'a>, Area<'a>), String> {
    root.fill(&WHITE).map_err(err)?;
    let (_, h) = root.dim_in_pixel();
    let body = root.titled(title, (FONT, 22)).map_err(err)?;
    let (top, rest) = body.split_vertically(40);
    let (_, rest_h) = rest.dim_in_pixel();
    let caption_h = 16 + 18 * lines as u32;
    let (main, bottom) = rest.split_vertically(rest_h.saturating_sub(caption_h).min(h));
    Ok((top, main, bottom))
}

/// Draws `bars` as an SVG document.
pub fn bars_svg(bars: &Bars) -> Result<String, String> {
    let engines = engines(
        bars.panels
            .iter()
            .flat_map(|p| &p.groups)
            .flat_map(|g| &g.bars)
            .map(|(e, _)| e.as_str()),
    );
    let values: Vec<f64> = bars
        .panels
        .iter()
        .flat_map(|p| &p.groups)
        .flat_map(|g| g.bars.iter().map(|b| b.1).chain(g.goal))
        .filter(|v| *v > 0.0 && v.is_finite())
        .collect();
    let lo = values.iter().copied().fold(0.1, f64::min) / 1.15;
    let hi = values.iter().copied().fold(1.5, f64::max) * 1.35;
    let x_axis = Axis {
        lo,
        hi,
        log: true,
        ticks: decades(lo, hi, times),
    };
    let rows = bars.panels.iter().map(|p| p.groups.len()).max().unwrap_or(1).max(1);
    let per_group = 12 * engines.len().max(1) as u32 + 18;
    let cols = bars.panels.len().clamp(1, 2) as u32;
    let panel_rows = (bars.panels.len() as u32).div_ceil(cols).max(1);
    let width = 620 * cols;
    let height = 130 + 18 * bars.caption.len() as u32 + panel_rows * (rows as u32 * per_group + 90);

    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        let (top, main, bottom) = frame(&root, &bars.title, bars.caption.len())?;
        legend(&top, &engines, &[("goal for fdcopy", BLACK)])?;
        let cells = main.split_evenly((panel_rows as usize, cols as usize));
        for (panel, area) in bars.panels.iter().zip(&cells) {
            bar_panel(area, panel, &engines, &x_axis, rows, &bars.baseline)?;
        }
        caption(&bottom, &bars.caption)?;
        root.present().map_err(err)?;
    }
    Ok(svg)
}

/// Room for the group names left of the bars: at least 150 pixels, more for long names.
fn label_width<'a>(names: impl Iterator<Item = &'a str>) -> u32 {
    let longest = names.map(|n| n.chars().count()).max().unwrap_or(0) as u32;
    (8 * longest + 16).max(150)
}

/// One panel of bars: groups top to bottom, bars left to right from the axis' low end.
fn bar_panel(
    area: &Area<'_>,
    panel: &BarPanel,
    engines: &[String],
    x_axis: &Axis,
    rows: usize,
    baseline: &str,
) -> Result<(), String> {
    let n = rows as f64;
    let y_axis = Axis {
        lo: -0.5,
        hi: n - 0.5,
        log: false,
        ticks: panel
            .groups
            .iter()
            .enumerate()
            .map(|(i, g)| (n - 1.0 - i as f64, g.name.clone()))
            .collect(),
    };
    let mut chart = ChartBuilder::on(area)
        .caption(&panel.title, (FONT, 17))
        .margin(10)
        .margin_right(24)
        .x_label_area_size(36)
        .y_label_area_size(label_width(panel.groups.iter().map(|g| g.name.as_str())))
        .build_cartesian_2d(x_axis.clone(), y_axis)
        .map_err(err)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .x_desc(format!("CPU time relative to {baseline} (log scale)"))
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 14))
        .bold_line_style(RGBColor(225, 225, 225))
        .draw()
        .map_err(err)?;
    // The baseline.
    chart
        .draw_series(std::iter::once(PathElement::new(
            vec![(1.0, -0.5), (1.0, n - 0.5)],
            GRAY.stroke_width(1),
        )))
        .map_err(err)?;
    let label = (FONT, 12).into_font();
    for (i, g) in panel.groups.iter().enumerate() {
        let center = n - 1.0 - i as f64;
        let top = center + 0.4;
        if g.bars.is_empty() {
            let note = g.note.clone().unwrap_or_else(|| "not run".into());
            let note: String = note.chars().take(48).collect();
            chart
                .draw_series(std::iter::once(Text::new(
                    format!("n/a: {note}"),
                    (x_axis.lo * 1.05, center),
                    label.clone().color(&GRAY).pos(Pos::new(HPos::Left, VPos::Center)),
                )))
                .map_err(err)?;
            continue;
        }
        let h = 0.8 / g.bars.len() as f64;
        for (j, (engine, v)) in g.bars.iter().enumerate() {
            let (y1, y0) = (top - j as f64 * h, top - (j + 1) as f64 * h);
            let v = v.clamp(x_axis.lo, x_axis.hi);
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(x_axis.lo, y0 + h * 0.08), (v, y1 - h * 0.08)],
                    colour(engines, engine).filled(),
                )))
                .map_err(err)?;
            if j == 0 {
                let c = match g.met {
                    Some(true) => GREEN,
                    Some(false) => RED,
                    None => BLACK,
                };
                // Right of the bar, or of the goal mark when that is just past the bar.
                let at = match g.goal {
                    Some(goal) if goal > v && goal < v * 1.25 => goal,
                    _ => v,
                };
                chart
                    .draw_series(std::iter::once(Text::new(
                        format!("{v:.2}"),
                        (at * 1.03, (y0 + y1) / 2.0),
                        label.clone().color(&c).pos(Pos::new(HPos::Left, VPos::Center)),
                    )))
                    .map_err(err)?;
            }
        }
        if let Some(goal) = g.goal {
            chart
                .draw_series(std::iter::once(PathElement::new(
                    vec![(goal, center - 0.45), (goal, center + 0.45)],
                    BLACK.stroke_width(3),
                )))
                .map_err(err)?;
        }
    }
    Ok(())
}

/// Draws `sweep` as an SVG document.
pub fn sweep_svg(sweep: &Sweep) -> Result<String, String> {
    let engines = engines(sweep.panels.iter().flat_map(|p| &p.lines).map(|(e, _)| e.as_str()));
    let points: Vec<(u64, f64)> = sweep
        .panels
        .iter()
        .flat_map(|p| &p.lines)
        .flat_map(|(_, pts)| pts.iter().copied())
        .filter(|(_, v)| *v > 0.0 && v.is_finite())
        .collect();
    let mut sizes: Vec<u64> = points.iter().map(|p| p.0).collect();
    sizes.sort_unstable();
    sizes.dedup();
    let (smin, smax) = (
        sizes.first().copied().unwrap_or(4096) as f64,
        sizes.last().copied().unwrap_or(1 << 28) as f64,
    );
    let x_axis = Axis {
        lo: smin / 1.5,
        hi: smax * 1.5,
        log: true,
        ticks: sizes.iter().map(|&s| (s as f64, size_label(s))).collect(),
    };
    let vmin = points.iter().map(|p| p.1).fold(f64::MAX, f64::min).min(1e9);
    let vmax = points.iter().map(|p| p.1).fold(0.0, f64::max).max(vmin * 10.0);
    let (lo, hi) = (vmin / 1.3, vmax * 1.3);
    let y_axis = Axis {
        lo,
        hi,
        log: true,
        ticks: decades(lo, hi, |v| format!("{v}")),
    };
    let cols = 2u32;
    let rows = (sweep.panels.len() as u32).div_ceil(cols).max(1);
    let width = 1200;
    let height = 130 + 18 * sweep.caption.len() as u32 + rows * 320;

    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        let (top, main, bottom) = frame(&root, &sweep.title, sweep.caption.len())?;
        legend(&top, &engines, &[("kernel path wins from here", GRAY)])?;
        let cells = main.split_evenly((rows as usize, cols as usize));
        for (panel, area) in sweep.panels.iter().zip(&cells) {
            sweep_panel(area, panel, &engines, &x_axis, &y_axis, &sweep.unit)?;
        }
        caption(&bottom, &sweep.caption)?;
        root.present().map_err(err)?;
    }
    Ok(svg)
}

/// One scenario of a sweep: a line per engine.
fn sweep_panel(
    area: &Area<'_>,
    panel: &SweepPanel,
    engines: &[String],
    x_axis: &Axis,
    y_axis: &Axis,
    unit: &str,
) -> Result<(), String> {
    let title = if panel.note.is_empty() {
        panel.name.clone()
    } else {
        format!("{}: {}", panel.name, panel.note)
    };
    let mut chart = ChartBuilder::on(area)
        .caption(title, (FONT, 16))
        .margin(8)
        .margin_right(20)
        .x_label_area_size(34)
        .y_label_area_size(64)
        .build_cartesian_2d(x_axis.clone(), y_axis.clone())
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc("bytes per copy")
        .y_desc(unit)
        .label_style((FONT, 13))
        .axis_desc_style((FONT, 13))
        .bold_line_style(RGBColor(230, 230, 230))
        .draw()
        .map_err(err)?;
    if let Some(why) = &panel.skipped {
        let why: String = why.chars().take(70).collect();
        chart
            .draw_series(std::iter::once(Text::new(
                format!("n/a: {why}"),
                (x_axis.lo * 1.2, (y_axis.lo * y_axis.hi).sqrt()),
                (FONT, 13).into_font().color(&GRAY),
            )))
            .map_err(err)?;
        return Ok(());
    }
    if let Some(x) = panel.crossover {
        let x = x as f64 / 1.4; // between the last size the loop won and this one
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(x, y_axis.lo), (x, y_axis.hi)],
                GRAY.stroke_width(2),
            )))
            .map_err(err)?;
    }
    for (engine, pts) in &panel.lines {
        let c = colour(engines, engine);
        let pts: Vec<(f64, f64)> = pts
            .iter()
            .filter(|p| p.1 > 0.0 && p.1.is_finite())
            .map(|&(s, v)| (s as f64, v))
            .collect();
        let width = if engine == &engines[0] { 3 } else { 2 };
        chart
            .draw_series(LineSeries::new(pts.iter().copied(), c.stroke_width(width)))
            .map_err(err)?;
        chart
            .draw_series(pts.iter().map(|&p| Circle::new(p, 3, c.filled())))
            .map_err(err)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels() {
        assert_eq!(times(0.5), "0.5×");
        assert_eq!(times(1.0), "1×");
        assert_eq!(times(0.25), "0.25×");
        assert_eq!(size_label(4096), "4K");
        assert_eq!(size_label(256 << 20), "256M");
        assert_eq!(size_label(1000), "1000");
        let t: Vec<f64> = decades(0.08, 2.5, times).into_iter().map(|t| t.0).collect();
        assert_eq!(t, vec![0.1, 0.2, 0.5, 1.0, 2.0]);
    }

    #[test]
    fn colours_follow_first_appearance() {
        let e = engines(["fdcopy", "std", "fdcopy", "kernel"].into_iter());
        assert_eq!(e, vec!["fdcopy", "std", "kernel"]);
        assert_eq!(colour(&e, "fdcopy"), PALETTE[0]);
        assert_eq!(colour(&e, "kernel"), PALETTE[2]);
    }
}
