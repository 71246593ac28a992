//! Simple charts for the reports, drawn as SVG on the server: bars for two series a month,
//! bars by category, and a line over months. Written here rather than taken from a plotting
//! crate so that the text is plain `<text>` in the page's own fonts (Chinese labels render as the
//! rest of the page does) and the figures are printed beside every bar and point: the charts read
//! in black and white, on paper, without colour. Only presentation attributes (no `style`), so
//! the console's CSP (`style-src 'self'`) holds for an SVG inline in a page.

use std::fmt::Write;

use crate::kernel::PointsTotal;

/// The font stack of the console, for an SVG opened on its own.
const FONT_FAMILY: &str =
    "Noto Sans CJK SC, Noto Sans SC, Source Han Sans SC, PingFang SC, Microsoft YaHei, sans-serif";
const WIDTH: f64 = 760.0;
const HEIGHT: f64 = 320.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 44.0;
const BOTTOM: f64 = 58.0;
/// Dark enough to print as black, and the ink of the text.
const INK: &str = "#1f2328";
const GRID: &str = "#c8ccd1";
/// How far the axis reaches past the largest value, for the figure written above it.
const HEADROOM: f64 = 1.25;

/// Escapes text for SVG (and HTML) content and attributes.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// An amount in hundredths as a number of points, for geometry only (labels use the exact text).
fn as_points(total: PointsTotal) -> f64 {
    total.hundredths() as f64 / 100.0
}

/// A round upper bound for an axis (1, 2, 2.5 or 5 times a power of ten) at or above `max`.
fn nice_ceiling(max: f64) -> f64 {
    if max <= 0.0 {
        return 1.0;
    }
    let power = 10f64.powf(max.log10().floor());
    for step in [1.0, 2.0, 2.5, 5.0, 10.0] {
        if step * power >= max {
            return step * power;
        }
    }
    10.0 * power
}

/// The vertical scale of a plot: values `low..=high` onto the plot's height, in round steps.
struct Scale {
    low: f64,
    high: f64,
    step: f64,
}

impl Scale {
    fn of(values: impl Iterator<Item = f64>) -> Scale {
        let (mut low, mut high) = (0.0f64, 0.0f64);
        for v in values {
            low = low.min(v);
            high = high.max(v);
        }
        // Room above the tallest bar for its upright figure, below the legend.
        let high = high * HEADROOM;
        let step = nice_ceiling((high - low) / 4.0);
        Scale {
            low: (low / step).floor() * step,
            high: ((high / step).ceil() * step).max(step),
            step,
        }
    }

    fn y(&self, value: f64) -> f64 {
        let plot = HEIGHT - TOP - BOTTOM;
        TOP + plot * (self.high - value) / (self.high - self.low)
    }

    /// Grid lines and their labels, one a step; the zero line solid.
    fn grid(&self, out: &mut String) {
        let steps = ((self.high - self.low) / self.step).round() as i64;
        for n in 0..=steps {
            let value = self.low + self.step * n as f64;
            let y = self.y(value);
            let _ = write!(
                out,
                r#"<line x1="{LEFT}" y1="{y:.1}" x2="{x2}" y2="{y:.1}" stroke="{GRID}" stroke-width="1"{dash}/>"#,
                x2 = WIDTH - RIGHT,
                dash = if value.abs() < self.step / 2.0 {
                    ""
                } else {
                    r#" stroke-dasharray="3 3""#
                },
            );
            let _ = write!(
                out,
                r#"<text x="{x:.1}" y="{ty:.1}" font-size="12" text-anchor="end" fill="{INK}">{label}</text>"#,
                x = LEFT - 6.0,
                ty = y + 4.0,
                label = axis_label(value),
            );
        }
    }
}

/// An axis figure: whole points, with thousands as 万 past ten thousand.
fn axis_label(value: f64) -> String {
    if value.abs() >= 10_000.0 {
        let wan = value / 10_000.0;
        if wan.fract() == 0.0 {
            format!("{wan:.0}万")
        } else {
            format!("{wan:.1}万")
        }
    } else if value.fract() == 0.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.1}")
    }
}

fn open(out: &mut String, id: &str, title: &str, description: &str) {
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" id="{id}" class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" role="img" aria-labelledby="{id}-title {id}-desc" font-family="{FONT_FAMILY}">"#,
        id = esc(id),
    );
    let _ = write!(
        out,
        r#"<title id="{id}-title">{title}</title><desc id="{id}-desc">{desc}</desc>"#,
        id = esc(id),
        title = esc(title),
        desc = esc(description),
    );
    let _ = write!(
        out,
        r##"<rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>"##
    );
    let _ = write!(
        out,
        r#"<text x="{LEFT}" y="22" font-size="16" font-weight="bold" fill="{INK}">{}</text>"#,
        esc(title)
    );
}

/// A month on the axis: `3月`, with the year under the first month and each January.
pub struct MonthLabel {
    pub month: String,
    pub year: Option<String>,
}

fn month_labels(out: &mut String, labels: &[MonthLabel], x_of: impl Fn(usize) -> f64) {
    let base = HEIGHT - BOTTOM;
    for (i, label) in labels.iter().enumerate() {
        let x = x_of(i);
        let _ = write!(
            out,
            r#"<text x="{x:.1}" y="{y:.1}" font-size="13" text-anchor="middle" fill="{INK}">{}</text>"#,
            esc(&label.month),
            y = base + 18.0,
        );
        if let Some(year) = &label.year {
            let _ = write!(
                out,
                r#"<text x="{x:.1}" y="{y:.1}" font-size="12" text-anchor="middle" fill="{INK}">{}</text>"#,
                esc(year),
                y = base + 34.0,
            );
        }
    }
}

/// A figure beside a bar or point, turned upright so that twelve months fit side by side.
fn value_label(out: &mut String, x: f64, y: f64, text: &str, series: &str) {
    let _ = write!(
        out,
        r#"<text x="{x:.1}" y="{y:.1}" font-size="11" text-anchor="start" fill="{INK}" transform="rotate(-90 {x:.1} {y:.1})" data-series="{series}">{text}</text>"#,
        series = esc(series),
        text = esc(text),
    );
}

/// Two series a month, side by side: the first solid, the second hatched, each bar with its
/// figure, and a legend that shows the fill of each.
pub fn paired_bars(
    id: &str,
    title: &str,
    months: &[MonthLabel],
    series: [(&str, &[PointsTotal]); 2],
) -> String {
    let mut out = String::new();
    let description = series
        .iter()
        .map(|(name, values)| {
            let figures: Vec<String> = values.iter().map(|v| v.to_string()).collect();
            format!("{name}：{}", figures.join("、"))
        })
        .collect::<Vec<_>>()
        .join("；");
    open(&mut out, id, title, &description);
    let hatch = format!("{}-hatch", esc(id));
    let _ = write!(
        out,
        r##"<defs><pattern id="{hatch}" patternUnits="userSpaceOnUse" width="6" height="6" patternTransform="rotate(45)"><rect width="6" height="6" fill="#ffffff"/><line x1="0" y1="0" x2="0" y2="6" stroke="{INK}" stroke-width="2.2"/></pattern></defs>"##
    );
    let fills = [INK.to_string(), format!("url(#{hatch})")];
    // The legend, at the top right.
    let mut lx = WIDTH - RIGHT - 260.0;
    for (i, (name, _)) in series.iter().enumerate() {
        let _ = write!(
            out,
            r#"<rect x="{lx:.1}" y="10" width="18" height="14" fill="{fill}" stroke="{INK}" stroke-width="1"/><text x="{tx:.1}" y="22" font-size="13" fill="{INK}">{name}</text>"#,
            fill = fills[i],
            tx = lx + 24.0,
            name = esc(name),
        );
        lx += 130.0;
    }
    let scale = Scale::of(
        series
            .iter()
            .flat_map(|(_, values)| values.iter().map(|v| as_points(*v))),
    );
    scale.grid(&mut out);
    let n = months.len().max(1) as f64;
    let group = (WIDTH - LEFT - RIGHT) / n;
    let bar = (group * 0.34).min(26.0);
    let x_of = |i: usize| LEFT + group * (i as f64 + 0.5);
    for (s, (name, values)) in series.iter().enumerate() {
        for (i, value) in values.iter().enumerate().take(months.len()) {
            let v = as_points(*value);
            let x = x_of(i) + if s == 0 { -bar - 1.0 } else { 1.0 };
            let (y0, y1) = (scale.y(v.max(0.0)), scale.y(v.min(0.0)));
            let _ = write!(
                out,
                r#"<rect x="{x:.1}" y="{y0:.1}" width="{bar:.1}" height="{h:.1}" fill="{fill}" stroke="{INK}" stroke-width="1" data-series="{series}" data-value="{value}"><title>{label}：{value}</title></rect>"#,
                h = (y1 - y0).max(0.5),
                fill = fills[s],
                series = esc(name),
                label = esc(&months[i].month),
            );
            // Empty months stay quiet: a row of 0.00 would hide the months that count.
            if *value != PointsTotal::ZERO {
                value_label(
                    &mut out,
                    x + bar / 2.0 + 4.0,
                    y0 - 4.0,
                    &value.to_string(),
                    name,
                );
            }
        }
    }
    month_labels(&mut out, months, x_of);
    out.push_str("</svg>");
    out
}

/// One bar a category, across, with the category's name before it and its figure after it.
pub fn category_bars(id: &str, title: &str, items: &[(String, PointsTotal)]) -> String {
    let mut out = String::new();
    let description = items
        .iter()
        .map(|(name, v)| format!("{name}：{v}"))
        .collect::<Vec<_>>()
        .join("；");
    let rows = items.len().max(1) as f64;
    let row = 36.0;
    let height = 50.0 + row * rows + 10.0;
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" id="{id}" class="chart" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" role="img" aria-labelledby="{id}-title {id}-desc" font-family="{FONT_FAMILY}">"#,
        id = esc(id),
    );
    let _ = write!(
        out,
        r##"<title id="{id}-title">{title}</title><desc id="{id}-desc">{desc}</desc><rect x="0" y="0" width="{WIDTH}" height="{height}" fill="#ffffff"/><text x="16" y="22" font-size="16" font-weight="bold" fill="{INK}">{title}</text>"##,
        id = esc(id),
        title = esc(title),
        desc = esc(&description),
    );
    if items.is_empty() {
        let _ = write!(
            out,
            r#"<text x="16" y="66" font-size="14" fill="{INK}">这段时间没有发放积分。</text>"#
        );
        out.push_str("</svg>");
        return out;
    }
    let label_width = 170.0;
    let value_width = 110.0;
    let plot = WIDTH - 16.0 - label_width - value_width;
    let high = items
        .iter()
        .map(|(_, v)| as_points(*v))
        .fold(0.0f64, f64::max)
        .max(0.01);
    for (i, (name, value)) in items.iter().enumerate() {
        let y = 44.0 + row * i as f64;
        let w = (as_points(*value).max(0.0) / high * plot).max(1.0);
        let x = 16.0 + label_width;
        let _ = write!(
            out,
            r#"<text x="{lx:.1}" y="{ty:.1}" font-size="17" text-anchor="end" fill="{INK}">{name}</text><rect x="{x:.1}" y="{y:.1}" width="{w:.1}" height="24" fill="{INK}" fill-opacity="0.75" stroke="{INK}" stroke-width="1" data-category="{name}" data-value="{value}"/><text x="{vx:.1}" y="{ty:.1}" font-size="17" fill="{INK}" data-category="{name}">{value}</text>"#,
            lx = x - 8.0,
            ty = y + 18.0,
            vx = x + w + 8.0,
            name = esc(name),
        );
    }
    out.push_str("</svg>");
    out
}

/// One series over months: a line with a marked point and its figure at each month's end.
pub fn month_line(
    id: &str,
    title: &str,
    months: &[MonthLabel],
    name: &str,
    values: &[PointsTotal],
) -> String {
    let mut out = String::new();
    let figures: Vec<String> = values.iter().map(|v| v.to_string()).collect();
    open(
        &mut out,
        id,
        title,
        &format!("{name}：{}", figures.join("、")),
    );
    let scale = Scale::of(values.iter().map(|v| as_points(*v)));
    scale.grid(&mut out);
    let n = months.len().max(1) as f64;
    let step = (WIDTH - LEFT - RIGHT) / n;
    let x_of = |i: usize| LEFT + step * (i as f64 + 0.5);
    let points: Vec<String> = values
        .iter()
        .enumerate()
        .take(months.len())
        .map(|(i, v)| format!("{:.1},{:.1}", x_of(i), scale.y(as_points(*v))))
        .collect();
    let _ = write!(
        out,
        r#"<polyline points="{}" fill="none" stroke="{INK}" stroke-width="2.5"/>"#,
        points.join(" ")
    );
    for (i, value) in values.iter().enumerate().take(months.len()) {
        let (x, y) = (x_of(i), scale.y(as_points(*value)));
        let _ = write!(
            out,
            r##"<circle cx="{x:.1}" cy="{y:.1}" r="4.5" fill="#ffffff" stroke="{INK}" stroke-width="2" data-series="{series}" data-value="{value}"><title>{label}：{value}</title></circle>"##,
            series = esc(name),
            label = esc(&months[i].month),
        );
        if *value != PointsTotal::ZERO {
            value_label(&mut out, x + 4.0, y - 9.0, &value.to_string(), name);
        }
    }
    month_labels(&mut out, months, x_of);
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn months(n: usize) -> Vec<MonthLabel> {
        (1..=n)
            .map(|m| MonthLabel {
                month: format!("{m}月"),
                year: (m == 1).then(|| "2026".to_string()),
            })
            .collect()
    }

    #[test]
    fn every_bar_carries_its_exact_figure_and_text_is_escaped() {
        let a = [PointsTotal::from(12_345), PointsTotal::from(0)];
        let b = [PointsTotal::from(-50), PointsTotal::from(999)];
        let svg = paired_bars(
            "c<1>",
            "发放与兑换",
            &months(2),
            [("发放", &a), ("兑换", &b)],
        );
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        for figure in ["123.45", "-0.50", "9.99"] {
            assert!(
                svg.contains(&format!(">{figure}</text>")),
                "{figure}: {svg}"
            );
        }
        assert!(
            !svg.contains(">0.00</text>"),
            "an empty month has no figure"
        );
        assert!(svg.contains("data-value=\"0.00\""), "but it has its bar");
        assert!(svg.contains("c&lt;1&gt;-hatch"), "ids are escaped");
        assert!(!svg.contains("style="), "no style attributes under the CSP");
        assert!(svg.contains(">2026</text>") && svg.contains(">1月</text>"));
    }

    #[test]
    fn the_axis_reaches_past_the_largest_value() {
        let scale = Scale::of([0.0, 73.0, 12.5].into_iter());
        assert_eq!((scale.low, scale.high, scale.step), (0.0, 100.0, 25.0));
        let scale = Scale::of([-3.0, 1234.0].into_iter());
        assert_eq!((scale.low, scale.high, scale.step), (-500.0, 2000.0, 500.0));
        assert!(scale.y(1500.0) < scale.y(0.0));
        let scale = Scale::of([0.0].into_iter());
        assert_eq!(
            (scale.low, scale.high),
            (0.0, 1.0),
            "an empty chart still has an axis"
        );
        assert_eq!(axis_label(25_000.0), "2.5万");
        assert_eq!(axis_label(500.0), "500");
    }

    #[test]
    fn categories_and_a_line_show_names_and_figures() {
        let svg = category_bars(
            "cat",
            "按类别",
            &[("志愿服务".into(), PointsTotal::from(3_000))],
        );
        assert!(svg.contains(">志愿服务</text>") && svg.contains(">30.00</text>"));
        assert!(category_bars("none", "按类别", &[]).contains("没有发放"));
        let svg = month_line(
            "line",
            "结存",
            &months(3),
            "结存",
            &[
                PointsTotal::from(100),
                PointsTotal::from(250),
                PointsTotal::from(0),
            ],
        );
        assert_eq!(svg.matches("<circle").count(), 3);
        assert!(svg.contains(">2.50</text>"));
    }
}
