//! Server-rendered SVG charts: lines and steps, grouped or stacked bars, stacked areas
//! (cumulative flow), scatter plots with horizontal reference lines (percentiles), and
//! histograms.
//!
//! A chart is built in code (numbers only), laid out here into plain shapes, and written by a
//! small askama template, so every piece of text is escaped and no markup is put together by
//! hand. Each chart is accessible: an `<svg role="img">` with a `<title>` and `<desc>`,
//! labelled axes with ticks, a legend, and the data behind it as a `<table>` in a
//! `<details>` "Data" element. Colours come only from CSS classes (`s0`…`s7`, a palette in
//! `app.css`); a series may add a class of its own (for example `ideal`).
//!
//! Put a chart into a page with `{{ chart|safe }}`: [`Chart`] implements `Display`.

use askama::Template;
use std::fmt;

/// Width and height of the drawing, in SVG units (the SVG scales to its container).
const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 260.0;
const LEFT: f64 = 52.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 14.0;
const BOTTOM: f64 = 44.0;
/// How many colours the palette holds; series beyond wrap around.
const PALETTE: usize = 8;

/// What kind of chart it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Lines,
    Bars { stacked: bool },
    Area,
    Scatter,
}

/// How a line series is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    Line,
    Step,
}

/// One named series of values, one per category (`None` leaves a gap).
#[derive(Debug, Clone)]
pub struct Series {
    name: String,
    values: Vec<Option<f64>>,
    style: Style,
    class: Option<String>,
}

impl Series {
    /// A series from values, one per category.
    pub fn new(name: impl Into<String>, values: impl IntoIterator<Item = f64>) -> Self {
        Self::sparse(name, values.into_iter().map(Some))
    }

    /// A series whose values may be missing for some categories.
    pub fn sparse(name: impl Into<String>, values: impl IntoIterator<Item = Option<f64>>) -> Self {
        Series { name: name.into(), values: values.into_iter().collect(), style: Style::Line, class: None }
    }

    /// Draw as a step line (the value holds until the next category) rather than a straight one.
    pub fn step(mut self) -> Self {
        self.style = Style::Step;
        self
    }

    /// Add a CSS class to this series' marks and legend swatch (e.g. `ideal`, `dashed`).
    pub fn class(mut self, class: impl Into<String>) -> Self {
        self.class = Some(clean_class(&class.into()));
        self
    }
}

/// One point of a scatter plot.
#[derive(Debug, Clone)]
pub struct Point {
    /// What the point is (shown as its tooltip and in the data table), e.g. an item key.
    pub label: String,
    /// Position on the x axis.
    pub x: f64,
    /// Position on the y axis.
    pub y: f64,
}

/// A horizontal reference line across the plot (a target, a percentile).
#[derive(Debug, Clone)]
struct HLine {
    label: String,
    value: f64,
}

type Format = Box<dyn Fn(f64) -> String + Send + Sync>;

/// A chart being built; render it with `to_string()` or `{{ chart|safe }}` in a template.
pub struct Chart {
    id: String,
    kind: Kind,
    title: String,
    desc: String,
    x_label: String,
    y_label: String,
    categories: Vec<String>,
    series: Vec<Series>,
    points: Vec<Point>,
    hlines: Vec<HLine>,
    x_format: Option<Format>,
    x_ticks: Vec<(f64, String)>,
}

impl fmt::Debug for Chart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Chart")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("title", &self.title)
            .finish()
    }
}

impl Chart {
    fn new(kind: Kind, id: &str, title: impl Into<String>) -> Self {
        Chart {
            id: clean_class(id),
            kind,
            title: title.into(),
            desc: String::new(),
            x_label: String::new(),
            y_label: String::new(),
            categories: Vec::new(),
            series: Vec::new(),
            points: Vec::new(),
            hlines: Vec::new(),
            x_format: None,
            x_ticks: Vec::new(),
        }
    }

    /// Lines (or steps) over ordered categories. `id` must be unique on the page.
    pub fn lines(id: &str, title: impl Into<String>) -> Self {
        Self::new(Kind::Lines, id, title)
    }

    /// Bars side by side per category, one per series.
    pub fn grouped_bars(id: &str, title: impl Into<String>) -> Self {
        Self::new(Kind::Bars { stacked: false }, id, title)
    }

    /// Bars stacked per category, the series on top of each other.
    pub fn stacked_bars(id: &str, title: impl Into<String>) -> Self {
        Self::new(Kind::Bars { stacked: true }, id, title)
    }

    /// Areas stacked on each other over ordered categories (a cumulative flow diagram); the
    /// first series is drawn at the bottom.
    pub fn stacked_area(id: &str, title: impl Into<String>) -> Self {
        Self::new(Kind::Area, id, title)
    }

    /// Points at numeric positions; add reference lines with [`Chart::hline`].
    pub fn scatter(id: &str, title: impl Into<String>) -> Self {
        Self::new(Kind::Scatter, id, title)
    }

    /// A histogram of `values` in bins of `width` starting at the lowest multiple of `width`
    /// at or below the smallest value: one bar per bin counting the values in `[lo, hi)`.
    pub fn histogram(id: &str, title: impl Into<String>, values: &[f64], width: f64) -> Self {
        let mut chart = Self::new(Kind::Bars { stacked: false }, id, title);
        chart.y_label = "Count".into();
        let width = if width.is_finite() && width > 0.0 { width } else { 1.0 };
        let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
        if finite.is_empty() {
            return chart;
        }
        let min = finite.iter().copied().fold(f64::INFINITY, f64::min);
        let max = finite.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let start = (min / width).floor() * width;
        // At most a few hundred bins, whatever the width asked for.
        let bins = (((max - start) / width).floor() as usize + 1).min(500);
        let mut counts = vec![0.0; bins];
        for v in finite {
            let i = (((v - start) / width).floor() as usize).min(bins - 1);
            counts[i] += 1.0;
        }
        chart.categories = (0..bins)
            .map(|i| format!("{}–{}", num(start + i as f64 * width), num(start + (i + 1) as f64 * width)))
            .collect();
        chart.series.push(Series::new("Count", counts));
        chart
    }

    /// A longer description of what the chart shows (the SVG's `<desc>`).
    pub fn desc(mut self, desc: impl Into<String>) -> Self {
        self.desc = desc.into();
        self
    }

    /// The x axis' label.
    pub fn x_label(mut self, label: impl Into<String>) -> Self {
        self.x_label = label.into();
        self
    }

    /// The y axis' label.
    pub fn y_label(mut self, label: impl Into<String>) -> Self {
        self.y_label = label.into();
        self
    }

    /// The ordered categories along the x axis (days, sprints, bins).
    pub fn categories(mut self, categories: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.categories = categories.into_iter().map(Into::into).collect();
        self
    }

    /// Add a series (for lines, bars and areas).
    pub fn series(mut self, series: Series) -> Self {
        self.series.push(series);
        self
    }

    /// Add points (for a scatter plot).
    pub fn points(mut self, points: impl IntoIterator<Item = Point>) -> Self {
        self.points.extend(points);
        self
    }

    /// Add a labelled horizontal reference line at `value`.
    pub fn hline(mut self, label: impl Into<String>, value: f64) -> Self {
        if value.is_finite() {
            self.hlines.push(HLine { label: label.into(), value });
        }
        self
    }

    /// How a scatter plot writes x values (its tick labels and data table), e.g. as dates.
    pub fn x_format(mut self, format: impl Fn(f64) -> String + Send + Sync + 'static) -> Self {
        self.x_format = Some(Box::new(format));
        self
    }

    /// Fixed ticks for a scatter plot's x axis (position, label), instead of computed ones.
    pub fn x_ticks(mut self, ticks: impl IntoIterator<Item = (f64, String)>) -> Self {
        self.x_ticks = ticks.into_iter().collect();
        self
    }

    /// The data table behind the chart: a header row and the rows, as the `<details>` shows
    /// them.
    pub fn table(&self) -> (Vec<String>, Vec<Vec<String>>) {
        if self.kind == Kind::Scatter {
            let header = vec!["Item".to_string(), label_or(&self.x_label, "x"), label_or(&self.y_label, "y")];
            let rows = self.points.iter().map(|p| vec![p.label.clone(), self.fmt_x(p.x), num(p.y)]).collect();
            return (header, rows);
        }
        let mut header = vec![label_or(&self.x_label, "Category")];
        header.extend(self.series.iter().map(|s| s.name.clone()));
        let rows = self
            .categories
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let mut row = vec![c.clone()];
                row.extend(
                    self.series
                        .iter()
                        .map(|s| s.values.get(i).copied().flatten().map(num).unwrap_or_default()),
                );
                row
            })
            .collect();
        (header, rows)
    }

    fn fmt_x(&self, x: f64) -> String {
        match &self.x_format {
            Some(f) => f(x),
            None => num(x),
        }
    }

    /// Lays the chart out into shapes for the template.
    fn layout(&self) -> View {
        let plot_w = WIDTH - LEFT - RIGHT;
        let plot_h = HEIGHT - TOP - BOTTOM;
        let bottom = TOP + plot_h;
        let mut view = View {
            id: self.id.clone(),
            title: self.title.clone(),
            desc: if self.desc.is_empty() { self.title.clone() } else { self.desc.clone() },
            width: WIDTH,
            height: HEIGHT,
            rects: Vec::new(),
            paths: Vec::new(),
            circles: Vec::new(),
            lines: Vec::new(),
            texts: Vec::new(),
            legend: Vec::new(),
            header: Vec::new(),
            rows: Vec::new(),
            empty: false,
        };
        let (header, rows) = self.table();
        view.header = header;
        view.rows = rows;

        // The y range: from zero (or the lowest value, if negative) to the highest value.
        let n = self.categories.len();
        let mut lo: f64 = 0.0;
        let mut hi: f64 = 0.0;
        match self.kind {
            Kind::Bars { stacked: true } | Kind::Area => {
                for i in 0..n {
                    let (neg, pos) = self.series.iter().fold((0.0, 0.0), |(neg, pos), s| match value(s, i) {
                        v if v < 0.0 => (neg + v, pos),
                        v => (neg, pos + v),
                    });
                    lo = lo.min(neg);
                    hi = hi.max(pos);
                }
            }
            Kind::Scatter => {
                for p in &self.points {
                    lo = lo.min(p.y);
                    hi = hi.max(p.y);
                }
            }
            _ => {
                for s in &self.series {
                    for v in s.values.iter().flatten().filter(|v| v.is_finite()) {
                        lo = lo.min(*v);
                        hi = hi.max(*v);
                    }
                }
            }
        }
        for h in &self.hlines {
            lo = lo.min(h.value);
            hi = hi.max(h.value);
        }
        let y_ticks = nice_ticks(lo, hi, 5);
        let (y0, y1) = (y_ticks[0], y_ticks[y_ticks.len() - 1]);
        let y_of = |v: f64| round1(bottom - (v - y0) / (y1 - y0) * plot_h);

        // Grid and y axis.
        for t in &y_ticks {
            let y = y_of(*t);
            view.lines.push(LineShape { x1: LEFT, y1: y, x2: LEFT + plot_w, y2: y, class: "grid".into() });
            view.texts.push(TextShape::new(LEFT - 6.0, y + 4.0, "end", "tick", num(*t)));
        }
        view.lines.push(LineShape {
            x1: LEFT,
            y1: bottom,
            x2: LEFT + plot_w,
            y2: bottom,
            class: "axis".into(),
        });
        view.lines.push(LineShape { x1: LEFT, y1: TOP, x2: LEFT, y2: bottom, class: "axis".into() });
        if !self.y_label.is_empty() {
            let mut t =
                TextShape::new(14.0, TOP + plot_h / 2.0, "middle", "axis-label", self.y_label.clone());
            t.rotate = true;
            view.texts.push(t);
        }
        if !self.x_label.is_empty() {
            view.texts.push(TextShape::new(
                LEFT + plot_w / 2.0,
                HEIGHT - 6.0,
                "middle",
                "axis-label",
                self.x_label.clone(),
            ));
        }

        // Category labels along x, thinned so they never overlap (about 6.5 units a character).
        let widest = self.categories.iter().map(|c| c.chars().count()).max().unwrap_or(1) as f64;
        let max_labels = ((plot_w / (widest * 6.5 + 12.0)).floor() as usize).max(2);
        let every = n.div_ceil(max_labels).max(1);
        let band = if n == 0 { plot_w } else { plot_w / n as f64 };
        // Lines and areas sit on points from edge to edge; bars sit in bands.
        let point_x = |i: usize| {
            if n <= 1 {
                round1(LEFT + plot_w / 2.0)
            } else {
                round1(LEFT + i as f64 * plot_w / (n - 1) as f64)
            }
        };
        let band_x = |i: usize| round1(LEFT + (i as f64 + 0.5) * band);
        if self.kind != Kind::Scatter {
            let at = |i: usize| if matches!(self.kind, Kind::Bars { .. }) { band_x(i) } else { point_x(i) };
            for (i, c) in self.categories.iter().enumerate() {
                // Always label the last category, and skip a regular label too close to it.
                let last = i + 1 == n;
                if last || (i % every == 0 && n - 1 - i >= every) {
                    view.texts.push(TextShape::x_tick(at(i), bottom + 16.0, c.clone()));
                    view.lines.push(LineShape {
                        x1: at(i),
                        y1: bottom,
                        x2: at(i),
                        y2: bottom + 4.0,
                        class: "axis".into(),
                    });
                }
            }
        }

        match self.kind {
            Kind::Lines => {
                for (si, s) in self.series.iter().enumerate() {
                    let mut d = String::new();
                    let mut pen_down = false;
                    let mut prev_y = 0.0;
                    for i in 0..n {
                        match s.values.get(i).copied().flatten().filter(|v| v.is_finite()) {
                            Some(v) => {
                                let (x, y) = (point_x(i), y_of(v));
                                if !pen_down {
                                    d.push_str(&format!("M{x} {y}"));
                                } else if s.style == Style::Step {
                                    d.push_str(&format!(" H{x} V{y}"));
                                } else {
                                    d.push_str(&format!(" L{x} {y}"));
                                }
                                if !pen_down || s.style != Style::Step || prev_y != y {
                                    view.circles.push(CircleShape {
                                        cx: x,
                                        cy: y,
                                        r: if n > 40 { 1.5 } else { 2.5 },
                                        class: series_class("dot", si, s),
                                        tip: format!("{} · {}: {}", s.name, self.categories[i], num(v)),
                                    });
                                }
                                pen_down = true;
                                prev_y = y;
                            }
                            None => pen_down = false,
                        }
                    }
                    view.paths.push(PathShape { d, class: series_class("line", si, s) });
                }
            }
            Kind::Bars { stacked } => {
                let k = self.series.len().max(1);
                let gap = (band * 0.2).min(16.0);
                let inner = band - gap;
                for i in 0..n {
                    let (mut pos, mut neg) = (0.0, 0.0);
                    for (si, s) in self.series.iter().enumerate() {
                        let v = value(s, i);
                        let (x, w, from) = if stacked {
                            let from = if v < 0.0 { neg } else { pos };
                            (LEFT + i as f64 * band + gap / 2.0, inner, from)
                        } else {
                            (
                                LEFT + i as f64 * band + gap / 2.0 + si as f64 * inner / k as f64,
                                inner / k as f64,
                                0.0,
                            )
                        };
                        let (a, b) = (y_of(from), y_of(from + v));
                        if stacked {
                            if v < 0.0 {
                                neg += v;
                            } else {
                                pos += v;
                            }
                        }
                        if s.values.get(i).copied().flatten().is_none() {
                            continue;
                        }
                        view.rects.push(RectShape {
                            x: round1(x),
                            y: a.min(b),
                            w: round1((w - 1.0).max(1.0)),
                            h: round1((a - b).abs()),
                            class: series_class("bar", si, s),
                            tip: format!("{} · {}: {}", s.name, self.categories[i], num(v)),
                        });
                    }
                }
            }
            Kind::Area => {
                let mut base = vec![0.0; n];
                for (si, s) in self.series.iter().enumerate() {
                    let top: Vec<f64> = (0..n).map(|i| base[i] + value(s, i).max(0.0)).collect();
                    if n > 0 {
                        let mut d = String::new();
                        for i in 0..n {
                            d.push_str(&format!(
                                "{}{} {} ",
                                if i == 0 { "M" } else { "L" },
                                point_x(i),
                                y_of(top[i])
                            ));
                        }
                        for i in (0..n).rev() {
                            d.push_str(&format!("L{} {} ", point_x(i), y_of(base[i])));
                        }
                        d.push('Z');
                        view.paths.push(PathShape { d, class: series_class("area", si, s) });
                    }
                    base = top;
                }
            }
            Kind::Scatter => {
                let (x_lo, x_hi) = self
                    .points
                    .iter()
                    .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| (a.min(p.x), b.max(p.x)));
                let ticks: Vec<(f64, String)> = if !self.x_ticks.is_empty() {
                    self.x_ticks.clone()
                } else if x_lo.is_finite() {
                    nice_ticks(x_lo, x_hi, 6).into_iter().map(|t| (t, self.fmt_x(t))).collect()
                } else {
                    Vec::new()
                };
                let all_lo = ticks.iter().map(|t| t.0).fold(x_lo, f64::min);
                let all_hi = ticks.iter().map(|t| t.0).fold(x_hi, f64::max);
                let (x0, x1) = if all_lo.is_finite() && all_hi > all_lo {
                    (all_lo, all_hi)
                } else if all_lo.is_finite() {
                    (all_lo - 1.0, all_lo + 1.0)
                } else {
                    (0.0, 1.0)
                };
                let pad = 8.0;
                let x_of = |v: f64| round1(LEFT + pad + (v - x0) / (x1 - x0) * (plot_w - 2.0 * pad));
                for (t, label) in &ticks {
                    view.texts.push(TextShape::x_tick(x_of(*t), bottom + 16.0, label.clone()));
                    view.lines.push(LineShape {
                        x1: x_of(*t),
                        y1: bottom,
                        x2: x_of(*t),
                        y2: bottom + 4.0,
                        class: "axis".into(),
                    });
                }
                for p in self.points.iter().filter(|p| p.x.is_finite() && p.y.is_finite()) {
                    view.circles.push(CircleShape {
                        cx: x_of(p.x),
                        cy: y_of(p.y),
                        r: 3.0,
                        class: "dot s0".into(),
                        tip: format!("{}: {} ({})", p.label, num(p.y), self.fmt_x(p.x)),
                    });
                }
            }
        }

        // Reference lines, labelled at the right end, drawn over the marks.
        for (hi, h) in self.hlines.iter().enumerate() {
            let y = y_of(h.value);
            let class = format!("ref r{}", hi % PALETTE);
            view.lines.push(LineShape { x1: LEFT, y1: y, x2: LEFT + plot_w, y2: y, class: class.clone() });
            view.texts.push(TextShape::new(
                LEFT + plot_w - 2.0,
                y - 4.0,
                "end",
                &format!("ref-label r{}", hi % PALETTE),
                format!("{} {}", h.label, num(h.value)),
            ));
            view.legend.push(LegendEntry {
                class: format!("swatch ref r{}", hi % PALETTE),
                name: format!("{} ({})", h.label, num(h.value)),
            });
        }
        if self.kind != Kind::Scatter && (self.series.len() > 1 || !self.hlines.is_empty()) {
            let entries: Vec<LegendEntry> = self
                .series
                .iter()
                .enumerate()
                .map(|(si, s)| LegendEntry { class: series_class("swatch", si, s), name: s.name.clone() })
                .collect();
            view.legend.splice(0..0, entries);
        }
        view.empty = if self.kind == Kind::Scatter {
            self.points.is_empty()
        } else {
            n == 0 || self.series.is_empty()
        };
        view
    }
}

impl fmt::Display for Chart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.layout().render_into(f).map_err(|_| fmt::Error)
    }
}

/// A series' value at category `i`, missing or not finite counted as zero.
fn value(s: &Series, i: usize) -> f64 {
    s.values.get(i).copied().flatten().filter(|v| v.is_finite()).unwrap_or(0.0)
}

fn series_class(base: &str, index: usize, s: &Series) -> String {
    match &s.class {
        Some(c) => format!("{base} s{} {c}", index % PALETTE),
        None => format!("{base} s{}", index % PALETTE),
    }
}

fn label_or(label: &str, fallback: &str) -> String {
    if label.is_empty() {
        fallback.to_string()
    } else {
        label.to_string()
    }
}

/// Keeps only characters that are safe in a class name or an id.
fn clean_class(s: &str) -> String {
    s.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_' || *c == ' ').collect()
}

fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

/// A number as a person writes it: at most two decimals, no trailing zeros.
pub fn num(v: f64) -> String {
    if !v.is_finite() {
        return String::new();
    }
    let r = (v * 100.0).round() / 100.0;
    let s = format!("{r:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".into()
    } else {
        s.into()
    }
}

/// Round tick values (1, 2 or 5 times a power of ten) covering `lo..=hi`, about `count` of
/// them; always at least two.
pub fn nice_ticks(lo: f64, hi: f64, count: usize) -> Vec<f64> {
    let (lo, hi) = if !lo.is_finite() || !hi.is_finite() { (0.0, 1.0) } else { (lo.min(hi), lo.max(hi)) };
    // A flat range still gets an axis: from the value up by its own size (or by one).
    let (lo, hi) = if hi - lo <= f64::EPSILON { (lo, lo + lo.abs().max(1.0)) } else { (lo, hi) };
    let span = hi - lo;
    let raw = span / count.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * mag).find(|s| *s >= raw).unwrap_or(10.0 * mag);
    let start = (lo / step).floor() * step;
    let mut end = (hi / step).ceil() * step;
    if end <= start {
        end = start + step;
    }
    let steps = ((end - start) / step).round() as usize;
    (0..=steps).map(|i| round_to(start + i as f64 * step, step)).collect()
}

/// Removes floating-point noise from a tick (0.30000000000000004 → 0.3).
fn round_to(v: f64, step: f64) -> f64 {
    let decimals = (-step.log10().floor()).max(0.0) as i32 + 1;
    let f = 10f64.powi(decimals);
    (v * f).round() / f
}

struct RectShape {
    x: f64,
    y: f64,
    w: f64,
    h: f64,
    class: String,
    tip: String,
}

struct PathShape {
    d: String,
    class: String,
}

struct CircleShape {
    cx: f64,
    cy: f64,
    r: f64,
    class: String,
    tip: String,
}

struct LineShape {
    x1: f64,
    y1: f64,
    x2: f64,
    y2: f64,
    class: String,
}

struct TextShape {
    x: f64,
    y: f64,
    anchor: &'static str,
    class: String,
    text: String,
    rotate: bool,
}

impl TextShape {
    fn new(x: f64, y: f64, anchor: &'static str, class: &str, text: String) -> Self {
        TextShape { x: round1(x), y: round1(y), anchor, class: class.into(), text, rotate: false }
    }

    /// A tick label under the x axis: centred, but kept inside the drawing at the right edge.
    fn x_tick(x: f64, y: f64, text: String) -> Self {
        let half = text.chars().count() as f64 * 3.25;
        let anchor = if x + half > WIDTH - 2.0 { "end" } else { "middle" };
        let x = if anchor == "end" { x.min(WIDTH - 2.0) } else { x };
        TextShape::new(x, y, anchor, "tick", text)
    }
}

struct LegendEntry {
    class: String,
    name: String,
}

/// The laid-out chart, as the template writes it.
#[derive(Template)]
#[template(
    ext = "html",
    source = r#"<figure class="chart" id="chart-{{ id }}">
<figcaption class="chart-title">{{ title }}</figcaption>
{% if empty %}<p class="chart-empty faint">No data for this period.</p>{% endif %}
<svg class="chart-svg" viewBox="0 0 {{ width }} {{ height }}" role="img" aria-labelledby="chart-{{ id }}-t chart-{{ id }}-d" preserveAspectRatio="xMidYMid meet">
<title id="chart-{{ id }}-t">{{ title }}</title>
<desc id="chart-{{ id }}-d">{{ desc }}</desc>
{% for l in lines %}<line class="{{ l.class }}" x1="{{ l.x1 }}" y1="{{ l.y1 }}" x2="{{ l.x2 }}" y2="{{ l.y2 }}"/>
{% endfor %}{% for r in rects %}<rect class="{{ r.class }}" x="{{ r.x }}" y="{{ r.y }}" width="{{ r.w }}" height="{{ r.h }}"><title>{{ r.tip }}</title></rect>
{% endfor %}{% for p in paths %}<path class="{{ p.class }}" d="{{ p.d }}"/>
{% endfor %}{% for c in circles %}<circle class="{{ c.class }}" cx="{{ c.cx }}" cy="{{ c.cy }}" r="{{ c.r }}"><title>{{ c.tip }}</title></circle>
{% endfor %}{% for t in texts %}<text class="{{ t.class }}" x="{{ t.x }}" y="{{ t.y }}" text-anchor="{{ t.anchor }}"{% if t.rotate %} transform="rotate(-90 {{ t.x }} {{ t.y }})"{% endif %}>{{ t.text }}</text>
{% endfor %}</svg>
{% if !legend.is_empty() %}<ul class="chart-key">{% for e in legend %}<li><span class="{{ e.class }}" aria-hidden="true"></span>{{ e.name }}</li>{% endfor %}</ul>
{% endif %}<details class="chart-data"><summary>Data</summary>
<table class="table chart-table"><caption>{{ title }}</caption><thead><tr>{% for h in header %}<th scope="col">{{ h }}</th>{% endfor %}</tr></thead>
<tbody>{% for row in rows %}<tr>{% for cell in row %}{% if loop.first %}<th scope="row">{{ cell }}</th>{% else %}<td>{{ cell }}</td>{% endif %}{% endfor %}</tr>
{% endfor %}</tbody></table></details>
</figure>"#
)]
struct View {
    id: String,
    title: String,
    desc: String,
    width: f64,
    height: f64,
    rects: Vec<RectShape>,
    paths: Vec<PathShape>,
    circles: Vec<CircleShape>,
    lines: Vec<LineShape>,
    texts: Vec<TextShape>,
    legend: Vec<LegendEntry>,
    header: Vec<String>,
    rows: Vec<Vec<String>>,
    empty: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(hay: &str, needle: &str) -> usize {
        hay.matches(needle).count()
    }

    #[test]
    fn ticks_are_round_and_cover_the_range() {
        assert_eq!(nice_ticks(0.0, 23.0, 5), vec![0.0, 5.0, 10.0, 15.0, 20.0, 25.0]);
        assert_eq!(nice_ticks(0.0, 1.0, 5), vec![0.0, 0.2, 0.4, 0.6, 0.8, 1.0]);
        assert_eq!(nice_ticks(0.0, 0.0, 5), vec![0.0, 0.2, 0.4, 0.6, 0.8, 1.0]);
        assert_eq!(nice_ticks(-3.0, 7.0, 5), vec![-4.0, -2.0, 0.0, 2.0, 4.0, 6.0, 8.0]);
        assert_eq!(nice_ticks(f64::NAN, 1.0, 5).len(), 6);
    }

    #[test]
    fn numbers_are_written_plainly() {
        assert_eq!(num(3.0), "3");
        assert_eq!(num(2.5), "2.5");
        assert_eq!(num(1.0 / 3.0), "0.33");
        assert_eq!(num(-0.001), "0");
        assert_eq!(num(f64::NAN), "");
    }

    #[test]
    fn a_line_chart_is_accessible_and_carries_its_data() {
        let chart = Chart::lines("burn", "Burndown <sprint 1>")
            .desc("Remaining points & ideal")
            .x_label("Day")
            .y_label("Points")
            .categories(["Mon", "Tue", "Wed"])
            .series(Series::new("Remaining", [10.0, 8.0, 3.0]).step())
            .series(Series::new("Ideal", [10.0, 5.0, 0.0]).class("ideal"));
        let html = chart.to_string();
        assert!(html.contains(r#"role="img""#));
        assert!(html.contains(r#"<title id="chart-burn-t">Burndown &#60;sprint 1&#62;</title>"#), "{html}");
        assert!(html.contains("Remaining points &#38; ideal"));
        assert!(html.contains(">Day</text>") && html.contains(">Points</text>"));
        assert_eq!(count(&html, "<path class=\"line"), 2);
        assert!(html.contains(r#"class="line s1 ideal""#));
        // A step line moves horizontally then vertically.
        assert!(html.contains(" H"), "{html}");
        assert!(html.contains("<details class=\"chart-data\"><summary>Data</summary>"));
        let (header, rows) = chart.table();
        assert_eq!(header, ["Day", "Remaining", "Ideal"]);
        assert_eq!(rows[1], ["Tue", "8", "5"]);
        assert!(html.contains("<th scope=\"row\">Wed</th><td>3</td><td>0</td>"));
        // Two series: a legend.
        assert_eq!(count(&html, "<li><span class=\"swatch"), 2);
    }

    #[test]
    fn gaps_break_a_line() {
        let html = Chart::lines("g", "Gaps")
            .categories(["a", "b", "c", "d"])
            .series(Series::sparse("s", [Some(1.0), None, Some(2.0), Some(3.0)]))
            .to_string();
        let d = html.split("<path class=\"line s0\" d=\"").nth(1).unwrap().split('"').next().unwrap();
        assert_eq!(d.matches('M').count(), 2, "{d}");
        assert_eq!(d.matches('L').count(), 1, "{d}");
    }

    #[test]
    fn grouped_and_stacked_bars() {
        let grouped = Chart::grouped_bars("v", "Velocity")
            .categories(["S1", "S2"])
            .series(Series::new("Committed", [10.0, 12.0]))
            .series(Series::new("Completed", [8.0, 12.0]))
            .to_string();
        assert_eq!(count(&grouped, "<rect class=\"bar"), 4);
        let stacked = Chart::stacked_bars("t", "Throughput")
            .categories(["W1", "W2"])
            .series(Series::new("Stories", [2.0, 3.0]))
            .series(Series::new("Bugs", [1.0, 0.0]))
            .to_string();
        assert_eq!(count(&stacked, "<rect class=\"bar"), 4);
        // Stacked: the highest bar reaches 3 and the axis covers it.
        assert!(stacked.contains(">3</text>"));
    }

    #[test]
    fn stacked_area_draws_one_closed_shape_per_series() {
        let chart = Chart::stacked_area("cfd", "Cumulative flow")
            .categories(["d1", "d2", "d3"])
            .series(Series::new("Done", [0.0, 1.0, 2.0]))
            .series(Series::new("In progress", [1.0, 1.0, 1.0]))
            .series(Series::new("To do", [3.0, 2.0, 1.0]));
        let html = chart.to_string();
        assert_eq!(count(&html, "<path class=\"area"), 3);
        assert_eq!(count(&html, "Z\"/>"), 3);
        assert_eq!(chart.table().1[0], ["d1", "0", "1", "3"]);
    }

    #[test]
    fn scatter_with_percentile_lines() {
        let chart = Chart::scatter("ct", "Cycle time")
            .y_label("Days")
            .x_label("Done")
            .x_format(|x| format!("day {x}"))
            .points([
                Point { label: "APP-1".into(), x: 1.0, y: 2.0 },
                Point { label: "APP-<2>".into(), x: 3.0, y: 5.5 },
            ])
            .hline("85th percentile", 5.0)
            .hline("50th percentile", 3.0);
        let html = chart.to_string();
        assert_eq!(count(&html, "<circle class=\"dot"), 2);
        assert_eq!(count(&html, "<line class=\"ref"), 2);
        assert!(html.contains("85th percentile 5"));
        assert!(html.contains("APP-&#60;2&#62;"));
        assert!(!html.contains("APP-<2>"));
        let (header, rows) = chart.table();
        assert_eq!(header, ["Item", "Done", "Days"]);
        assert_eq!(rows[1], ["APP-<2>", "day 3", "5.5"]);
    }

    #[test]
    fn histogram_bins_values() {
        let chart = Chart::histogram("h", "Cycle time distribution", &[0.5, 1.0, 1.5, 3.9, f64::NAN], 2.0);
        let (_, rows) = chart.table();
        assert_eq!(rows, vec![vec!["0–2".to_string(), "3".into()], vec!["2–4".into(), "1".into()]]);
        assert_eq!(count(&chart.to_string(), "<rect class=\"bar"), 2);
        let empty = Chart::histogram("e", "Nothing", &[], 1.0).to_string();
        assert!(empty.contains("No data for this period."));
    }

    #[test]
    fn ids_and_classes_cannot_break_out_of_attributes() {
        let html = Chart::lines("a\"b<c", "T")
            .categories(["x"])
            .series(Series::new("s", [1.0]).class("ok\" onload=\"x"))
            .to_string();
        assert!(html.contains("id=\"chart-abc\""));
        assert!(!html.contains("onload=\""));
    }

    #[test]
    fn long_category_axes_are_thinned() {
        let days: Vec<String> = (1..=90).map(|d| format!("d{d}")).collect();
        let html = Chart::lines("long", "Long")
            .categories(days)
            .series(Series::new("s", (1..=90).map(f64::from)))
            .to_string();
        let labels = html.matches("class=\"tick\"").count();
        // Six y ticks plus about twenty short x labels (not ninety), the last day always labelled.
        assert!((20..=28).contains(&labels), "{labels}");
        assert!(html.contains(">d90</text>"));
        // All 90 values are still in the data table.
        assert_eq!(html.matches("<th scope=\"row\">").count(), 90);
    }
}
