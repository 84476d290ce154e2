//! Charts drawn on the server as SVG: a horizontal bar chart (one bar per region or reason)
//! and a column chart (one column per day). No script and no inline `style` (the CSP forbids
//! both): only SVG presentation attributes. Each chart is an `<svg role="img">` with a
//! `<title>` and an `aria-label`; the pages put the same numbers in a real table beside it,
//! which is what a screen reader reads.
//!
//! Every text that goes into the SVG is escaped here (the templates insert the SVG as is).

use std::fmt::Write as _;

/// One bar or column: its label, its value, and the value as shown (e.g. `"4.5 h"`).
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    pub label: String,
    pub value: f64,
    pub shown: String,
}

impl Bar {
    pub fn count(label: impl Into<String>, n: u64) -> Bar {
        Bar {
            label: label.into(),
            value: n as f64,
            shown: n.to_string(),
        }
    }
}

/// Narrow, so that on a phone (about 350 px of page) the drawing is at about its own size
/// and a 12-unit label reads as 12 px; wider screens cap the chart's width (portal.css).
const WIDTH: f64 = 360.0;
const BAR_COLOUR: &str = "#1d70b8";
const TEXT_COLOUR: &str = "#0b0c0c";
const AXIS_COLOUR: &str = "#505a5f";
const FONT: &str = "font-family=\"sans-serif\" font-size=\"12\"";

/// Text for XML: `&`, `<`, `>`, `"` and `'` escaped.
pub fn escape(text: &str) -> String {
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

/// A label cut to fit its column (the full text is in the row's `<title>` and the table).
fn fit(label: &str, chars: usize) -> String {
    if label.chars().count() <= chars {
        return label.to_string();
    }
    let mut cut: String = label.chars().take(chars.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

fn open(title: &str, height: f64) -> String {
    let title = escape(title);
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" aria-label=\"{title}\" \
         viewBox=\"0 0 {WIDTH} {height}\" width=\"100%\" class=\"chart\">\
         <title>{title}</title>"
    )
}

/// The largest value, or 1 (so that all-zero data draws empty bars, not a division by 0).
fn scale_max(bars: &[Bar]) -> f64 {
    bars.iter()
        .map(|b| b.value)
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max)
        .max(f64::MIN_POSITIVE)
}

/// A bar's length for `value` on an axis `span` long: proportional, never negative.
fn length(value: f64, max: f64, span: f64) -> f64 {
    if !value.is_finite() || value <= 0.0 {
        return 0.0;
    }
    (value / max * span).min(span)
}

fn empty_chart(title: &str, empty: &str) -> String {
    let mut svg = open(title, 40.0);
    let _ = write!(
        svg,
        "<text x=\"0\" y=\"24\" {FONT} fill=\"{TEXT_COLOUR}\">{}</text></svg>",
        escape(empty)
    );
    svg
}

/// Horizontal bars, one row each: the label on its own line (the full width is the
/// label's, so a long region name fits a phone), the bar under it and the shown value after
/// the bar. `empty` is said when there is nothing to draw.
pub fn bar_chart(title: &str, empty: &str, bars: &[Bar]) -> String {
    if bars.is_empty() {
        return empty_chart(title, empty);
    }
    const ROW: f64 = 40.0;
    // About as many 12-unit characters as fit across the chart.
    const LABEL_CHARS: usize = 52;
    // Room after the longest bar for its value.
    const SPAN: f64 = WIDTH - 70.0;
    let height = ROW * bars.len() as f64 + 4.0;
    let max = scale_max(bars);
    let mut svg = open(title, height);
    for (i, bar) in bars.iter().enumerate() {
        let y = 2.0 + ROW * i as f64;
        let w = length(bar.value, max, SPAN);
        let _ = write!(
            svg,
            "<g><title>{full}: {shown}</title>\
             <text x=\"0\" y=\"{ly:.1}\" {FONT} fill=\"{TEXT_COLOUR}\">{label}</text>\
             <rect x=\"0\" y=\"{by:.1}\" width=\"{w:.1}\" height=\"16\" fill=\"{BAR_COLOUR}\"/>\
             <text x=\"{vx:.1}\" y=\"{vy:.1}\" {FONT} fill=\"{TEXT_COLOUR}\">{shown}</text></g>",
            ly = y + 12.0,
            by = y + 17.0,
            vy = y + 29.5,
            full = escape(&bar.label),
            label = escape(&fit(&bar.label, LABEL_CHARS)),
            vx = w + 6.0,
            shown = escape(&bar.shown),
        );
    }
    svg.push_str("</svg>");
    svg
}

/// Columns in order (one per day), the largest value marked on the axis and a label under
/// every few columns. `empty` is said when there is nothing to draw.
pub fn column_chart(title: &str, empty: &str, columns: &[Bar]) -> String {
    if columns.is_empty() {
        return empty_chart(title, empty);
    }
    const LEFT: f64 = 40.0;
    const TOP: f64 = 10.0;
    const SPAN: f64 = 160.0;
    const HEIGHT: f64 = TOP + SPAN + 30.0;
    let max = scale_max(columns);
    let step = (WIDTH - LEFT) / columns.len() as f64;
    let gap = (step * 0.2).min(4.0);
    // About six labels whatever the period's length (each has ~50 units of room).
    let every = columns.len().div_ceil(6);
    let mut svg = open(title, HEIGHT);
    let base = TOP + SPAN;
    let top_value = columns
        .iter()
        .filter(|c| c.value.is_finite())
        .max_by(|a, b| a.value.total_cmp(&b.value))
        .map(|c| c.shown.clone())
        .unwrap_or_default();
    let _ = write!(
        svg,
        "<line x1=\"{LEFT}\" y1=\"{base}\" x2=\"{WIDTH}\" y2=\"{base}\" stroke=\"{AXIS_COLOUR}\"/>\
         <text x=\"{lx}\" y=\"{ty}\" text-anchor=\"end\" {FONT} fill=\"{TEXT_COLOUR}\">{top}</text>\
         <text x=\"{lx}\" y=\"{base}\" text-anchor=\"end\" {FONT} fill=\"{TEXT_COLOUR}\">0</text>",
        lx = LEFT - 6.0,
        ty = TOP + 10.0,
        top = escape(&top_value),
    );
    for (i, column) in columns.iter().enumerate() {
        let x = LEFT + step * i as f64;
        let h = length(column.value, max, SPAN);
        let _ = write!(
            svg,
            "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{h:.1}\" fill=\"{BAR_COLOUR}\">\
             <title>{label}: {shown}</title></rect>",
            y = base - h,
            w = (step - gap).max(1.0),
            label = escape(&column.label),
            shown = escape(&column.shown),
        );
        if i % every == 0 {
            let _ = write!(
                svg,
                "<text x=\"{cx:.1}\" y=\"{ly}\" text-anchor=\"middle\" {FONT} fill=\"{TEXT_COLOUR}\">{label}</text>",
                cx = x + step / 2.0,
                ly = base + 18.0,
                label = escape(&column.label),
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `height` (columns) or `width` (bars) of every `<rect>`.
    fn rect_sizes(svg: &str, attribute: &str) -> Vec<f64> {
        svg.split("<rect ")
            .skip(1)
            .map(|r| {
                let at = r.find(&format!(" {attribute}=\"")).unwrap() + attribute.len() + 3;
                let end = r[at..].find('"').unwrap();
                r[at..at + end].parse().unwrap()
            })
            .collect()
    }

    /// Well-formed enough for a browser: one root, every element closed, nothing unescaped.
    fn assert_well_formed(svg: &str) {
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\""));
        assert!(svg.ends_with("</svg>"));
        assert_eq!(svg.matches("<svg").count(), 1);
        assert_eq!(svg.matches("<text").count(), svg.matches("</text>").count());
        assert_eq!(
            svg.matches("<title>").count(),
            svg.matches("</title>").count()
        );
        assert!(!svg.contains("style="), "no inline styles (CSP)");
        assert!(!svg.contains("<script"));
    }

    #[test]
    fn bars_are_proportional_and_labelled() {
        let bars = [
            Bar::count("Астана", 10),
            Bar::count("Алматы", 5),
            Bar::count("Шымкент", 0),
        ];
        let svg = bar_chart("Өтініштер", "—", &bars);
        assert_well_formed(&svg);
        assert!(svg.contains("aria-label=\"Өтініштер\""));
        assert!(svg.contains("<title>Өтініштер</title>"));
        let widths = rect_sizes(&svg, "width");
        assert_eq!(widths.len(), 3);
        assert!((widths[0] - 2.0 * widths[1]).abs() < 0.11, "{widths:?}");
        assert_eq!(widths[2], 0.0);
        for label in ["Астана", "Алматы", "Шымкент", ">10<", ">5<"] {
            assert!(svg.contains(label), "{label}");
        }
    }

    #[test]
    fn columns_are_proportional() {
        let days: Vec<Bar> = (0..10u64)
            .map(|n| Bar::count(format!("{:02}.12", n + 1), n * 3))
            .collect();
        let svg = column_chart("Per day", "none", &days);
        assert_well_formed(&svg);
        let heights = rect_sizes(&svg, "height");
        assert_eq!(heights.len(), 10);
        assert_eq!(heights[0], 0.0);
        assert_eq!(heights[9], 160.0, "the largest fills the axis");
        assert!((heights[3] - heights[9] / 3.0).abs() < 0.11, "{heights:?}");
        assert!(svg.contains("<title>04.12: 9</title>"));
    }

    #[test]
    fn all_text_is_escaped() {
        let evil = "<script>alert('x')</script> & \"quoted\"";
        let bars = [Bar {
            label: evil.into(),
            value: 1.0,
            shown: "<b>1</b>".into(),
        }];
        for svg in [
            bar_chart(evil, evil, &bars),
            column_chart(evil, evil, &bars),
            bar_chart(evil, evil, &[]),
        ] {
            assert_well_formed(&svg);
            assert!(!svg.contains("<script>"));
            assert!(!svg.contains("<b>"));
            assert!(svg.contains(
                "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;quoted&quot;"
            ));
        }
    }

    #[test]
    fn long_labels_are_cut_and_kept_whole_in_the_title() {
        let long = "Additional verification by the Migration Service is needed for this one";
        let svg = bar_chart("Reasons", "—", &[Bar::count(long, 3)]);
        assert_well_formed(&svg);
        assert!(svg.contains(&format!("<title>{long}: 3</title>")));
        let cut: String = long.chars().take(51).collect();
        assert!(svg.contains(&format!(">{cut}…</text>")), "{svg}");
        assert_eq!(fit("short", 40), "short");
    }

    #[test]
    fn empty_and_zero_data_draw_without_dividing_by_zero() {
        let svg = bar_chart("Reasons", "No annulments", &[]);
        assert_well_formed(&svg);
        assert!(svg.contains("No annulments"));
        assert!(!svg.contains("<rect"));
        let svg = column_chart("Days", "None", &[]);
        assert!(svg.contains("None"));
        let zeros = [Bar::count("a", 0), Bar::count("b", 0)];
        let svg = column_chart("Days", "None", &zeros);
        assert_well_formed(&svg);
        assert_eq!(rect_sizes(&svg, "height"), vec![0.0, 0.0]);
        assert!(!svg.contains("NaN") && !svg.contains("inf"));
    }
}
