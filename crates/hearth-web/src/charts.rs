//! Small server-drawn SVG charts for the analytics page: a line chart of
//! daily series and a bar chart. Presentation attributes only (no inline
//! `style`), so they pass the Content-Security-Policy; every label is
//! escaped.

use std::fmt::Write;

// Labels escape as every template value does.
use crate::templates::escape as esc;

/// One line of a chart.
pub(crate) struct Series<'a> {
    pub label: &'a str,
    pub color: &'a str,
    pub values: Vec<f64>,
}

const W: f64 = 720.0;
const H: f64 = 220.0;
const LEFT: f64 = 44.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 16.0;
const BOTTOM: f64 = 36.0;

/// A "nice" axis maximum: 1, 2 or 5 times a power of ten, at least `max`.
fn nice_max(max: f64) -> f64 {
    if max <= 0.0 {
        return 1.0;
    }
    let p = 10f64.powf(max.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * p)
        .find(|v| *v >= max)
        .unwrap_or(10.0 * p)
}

fn frame(out: &mut String, title: &str, top: f64, labels: &[String]) {
    let plot_w = W - LEFT - RIGHT;
    let plot_h = H - TOP - BOTTOM;
    let _ = write!(
        out,
        "<svg class=\"chart\" viewBox=\"0 0 {W} {H}\" role=\"img\" aria-label=\"{}\" xmlns=\"http://www.w3.org/2000/svg\">\
         <title>{}</title>",
        esc(title),
        esc(title)
    );
    for i in 0..=4 {
        let y = TOP + plot_h * (1.0 - i as f64 / 4.0);
        let v = top * i as f64 / 4.0;
        let _ = write!(
            out,
            "<line x1=\"{LEFT}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\" stroke=\"#e3e6eb\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"end\" fill=\"#5b6472\">{}</text>",
            LEFT + plot_w,
            LEFT - 6.0,
            y + 4.0,
            fmt_num(v)
        );
    }
    // At most ~8 x labels.
    let n = labels.len();
    let every = n.div_ceil(8).max(1);
    for (i, l) in labels.iter().enumerate().filter(|(i, _)| i % every == 0) {
        let x = LEFT + x_at(i, n) * plot_w;
        let _ = write!(
            out,
            "<text x=\"{x:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"middle\" fill=\"#5b6472\">{}</text>",
            H - BOTTOM + 16.0,
            esc(l)
        );
    }
}

fn x_at(i: usize, n: usize) -> f64 {
    if n <= 1 {
        0.5
    } else {
        i as f64 / (n - 1) as f64
    }
}

fn fmt_num(v: f64) -> String {
    if v >= 1000.0 {
        format!("{:.1}k", v / 1000.0)
    } else if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

fn legend(out: &mut String, series: &[Series<'_>]) {
    let mut x = LEFT;
    for s in series {
        let _ = write!(
            out,
            "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"10\" height=\"10\" fill=\"{}\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" fill=\"#1d2330\">{}</text>",
            H - 12.0,
            esc(s.color),
            x + 14.0,
            H - 3.0,
            esc(s.label)
        );
        x += 24.0 + 7.0 * s.label.chars().count() as f64;
    }
}

/// Lines over `labels` (one value per label per series).
pub(crate) fn lines(title: &str, labels: &[String], series: &[Series<'_>]) -> String {
    let max = series
        .iter()
        .flat_map(|s| s.values.iter().copied())
        .fold(0.0, f64::max);
    let top = nice_max(max);
    let mut out = String::new();
    frame(&mut out, title, top, labels);
    let plot_w = W - LEFT - RIGHT;
    let plot_h = H - TOP - BOTTOM;
    for s in series {
        let n = s.values.len();
        let points: Vec<String> = s
            .values
            .iter()
            .enumerate()
            .map(|(i, v)| {
                format!(
                    "{:.1},{:.1}",
                    LEFT + x_at(i, n) * plot_w,
                    TOP + plot_h * (1.0 - v / top)
                )
            })
            .collect();
        let _ = write!(
            out,
            "<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"2\" points=\"{}\"/>",
            esc(s.color),
            points.join(" ")
        );
    }
    legend(&mut out, series);
    out.push_str("</svg>");
    out
}

/// Bars, one per label.
pub(crate) fn bars(title: &str, labels: &[String], s: &Series<'_>) -> String {
    let max = s.values.iter().copied().fold(0.0, f64::max);
    let top = nice_max(max);
    let mut out = String::new();
    frame(&mut out, title, top, labels);
    let plot_w = W - LEFT - RIGHT;
    let plot_h = H - TOP - BOTTOM;
    let n = s.values.len().max(1);
    let slot = plot_w / n as f64;
    for (i, v) in s.values.iter().enumerate() {
        let h = plot_h * v / top;
        let x = LEFT + x_at(i, n) * plot_w - slot * 0.35;
        let _ = write!(
            out,
            "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{h:.1}\" fill=\"{}\"><title>{}: {}</title></rect>",
            TOP + plot_h - h,
            (slot * 0.7).max(1.0),
            esc(s.color),
            esc(labels.get(i).map(String::as_str).unwrap_or("")),
            fmt_num(*v)
        );
    }
    legend(&mut out, std::slice::from_ref(s));
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes_round_up_nicely() {
        assert_eq!(nice_max(0.0), 1.0);
        assert_eq!(nice_max(7.0), 10.0);
        assert_eq!(nice_max(12.0), 20.0);
        assert_eq!(nice_max(480.0), 500.0);
        assert_eq!(nice_max(1000.0), 1000.0);
    }

    #[test]
    fn charts_are_svg_with_escaped_labels_and_no_inline_style() {
        let labels: Vec<String> = (1..=30).map(|d| format!("11-{d:02}")).collect();
        let svg = lines(
            "Active <members>",
            &labels,
            &[Series {
                label: "active & posting",
                color: "#0b62d6",
                values: (0..30).map(f64::from).collect(),
            }],
        );
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("Active &lt;members&gt;"));
        assert!(svg.contains("active &amp; posting"));
        assert!(svg.contains("<polyline"));
        assert!(!svg.contains("style="));
        let b = bars(
            "New",
            &labels[..3],
            &Series {
                label: "new",
                color: "#1e7d3a",
                values: vec![1.0, 0.0, 3.0],
            },
        );
        assert_eq!(
            b.matches("<rect x=").count(),
            3 + 1,
            "three bars and a legend swatch"
        );
    }
}
