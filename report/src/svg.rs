//! Hand-written inline SVG charts: a funnel, histograms with threshold lines, horizontal
//! bars. Every chart is an `<svg data-chart="…">` with fixed `width`/`height` and a
//! `viewBox`, so it scales with the page and the report's check script can measure it.
//! All text goes through [`esc`]; all numbers are formatted deterministically.

use std::fmt::Write;

/// Escapes text for HTML and SVG (element content and quoted attributes).
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Control characters other than tab/newline are not valid in HTML text.
            c if c.is_control() && c != '\n' && c != '\t' && c != '\r' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// `1234567` → `1,234,567`.
pub fn int(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Signed integer with thousands separators and an explicit sign.
pub fn signed(n: i64) -> String {
    if n > 0 {
        format!("+{}", int(n as u64))
    } else if n < 0 {
        format!("−{}", int(n.unsigned_abs()))
    } else {
        "0".into()
    }
}

/// A value for display: integers without decimals, others with up to 4 significant
/// decimals, very large or small ones in scientific notation.
pub fn num(x: f64) -> String {
    if !x.is_finite() {
        return x.to_string();
    }
    if x == x.trunc() && x.abs() < 1e15 {
        return format!("{x:.0}");
    }
    let a = x.abs();
    if !(1e-4..1e7).contains(&a) {
        return format!("{x:.3e}");
    }
    let decimals = if a >= 100.0 {
        1
    } else if a >= 1.0 {
        2
    } else {
        4
    };
    let s = format!("{x:.decimals$}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}

/// An axis tick: two significant digits.
pub fn tick(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return num(x);
    }
    let mag = x.abs().log10().floor() as i32;
    let p = 10f64.powi(mag - 1);
    let r = (x / p).round() * p;
    if mag >= 1 {
        num(r.round())
    } else {
        let decimals = (1 - mag) as usize;
        let s = format!("{r:.decimals$}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// Percentage with one decimal.
pub fn pct(part: u64, whole: u64) -> String {
    if whole == 0 {
        return "–".into();
    }
    format!("{:.1}%", part as f64 * 100.0 / whole as f64)
}

fn f(x: f64) -> String {
    // Coordinates: two decimals, no "-0".
    let r = (x * 100.0).round() / 100.0;
    let r = if r == 0.0 { 0.0 } else { r };
    let s = format!("{r:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// One row of a funnel.
pub struct FunnelRow {
    /// Step key (`input`, a rule name, `kept`).
    pub key: String,
    /// Label shown.
    pub label: String,
    /// Amount before the step.
    pub before: u64,
    /// Amount after it.
    pub after: u64,
}

/// A funnel: per row, what remains (dark) and what the step removed (light).
pub fn funnel(id: &str, unit: &str, rows: &[FunnelRow]) -> String {
    let w = 960.0;
    let row_h = 30.0;
    let top = 8.0;
    let label_w = 250.0;
    let bar_w = 470.0;
    let h = top * 2.0 + row_h * rows.len() as f64;
    let max = rows
        .iter()
        .map(|r| r.before.max(r.after))
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let total = rows.first().map(|r| r.before).unwrap_or(0);
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="chart funnel" data-chart="{}" data-unit="{}" width="{}" height="{}" viewBox="0 0 {} {}" role="img" aria-label="{} funnel">"#,
        esc(id),
        esc(unit),
        f(w),
        f(h),
        f(w),
        f(h),
        esc(unit)
    );
    for (i, r) in rows.iter().enumerate() {
        let y = top + row_h * i as f64;
        let after_w = r.after as f64 / max * bar_w;
        let before_w = r.before as f64 / max * bar_w;
        let _ = write!(
            s,
            r#"<text x="{}" y="{}" class="lbl" text-anchor="end">{}</text>"#,
            f(label_w - 8.0),
            f(y + row_h * 0.62),
            esc(&r.label)
        );
        let _ = write!(
            s,
            r#"<rect class="bar keep" data-step="{}" data-value="{}" x="{}" y="{}" width="{}" height="{}"><title>{}: {} {} remain</title></rect>"#,
            esc(&r.key),
            r.after,
            f(label_w),
            f(y + 4.0),
            f(after_w),
            f(row_h - 8.0),
            esc(&r.label),
            int(r.after),
            esc(unit)
        );
        if r.before > r.after {
            let _ = write!(
                s,
                r#"<rect class="bar cut" data-step="{}" data-removed="{}" x="{}" y="{}" width="{}" height="{}"><title>{}: {} {} removed</title></rect>"#,
                esc(&r.key),
                r.before - r.after,
                f(label_w + after_w),
                f(y + 4.0),
                f(before_w - after_w),
                f(row_h - 8.0),
                esc(&r.label),
                int(r.before - r.after),
                esc(unit)
            );
        }
        let note = if r.before == r.after || i == 0 {
            format!("{} ({})", int(r.after), pct(r.after, total))
        } else if r.after > r.before {
            format!("{} (+{})", int(r.after), int(r.after - r.before))
        } else {
            format!("{} (−{})", int(r.after), int(r.before - r.after))
        };
        let _ = write!(
            s,
            r#"<text x="{}" y="{}" class="num">{}</text>"#,
            f(label_w + bar_w + 10.0),
            f(y + row_h * 0.62),
            esc(&note)
        );
    }
    s.push_str("</svg>");
    s
}

/// A histogram's x scale: linear, or `log10(1 + x)` for long-tailed non-negative values.
#[derive(Debug, Clone, Copy)]
pub struct Scale {
    /// Lowest value.
    pub lo: f64,
    /// Highest value.
    pub hi: f64,
    /// Logarithmic.
    pub log: bool,
}

impl Scale {
    fn t(&self, x: f64) -> f64 {
        if self.log {
            (1.0 + x.max(0.0)).log10()
        } else {
            x
        }
    }

    fn inv(&self, t: f64) -> f64 {
        if self.log {
            10f64.powf(t) - 1.0
        } else {
            t
        }
    }

    /// Position of `x` in `[0, 1]`.
    pub fn unit(&self, x: f64) -> f64 {
        let (a, b) = (self.t(self.lo), self.t(self.hi));
        if b <= a {
            return 0.5;
        }
        ((self.t(x) - a) / (b - a)).clamp(0.0, 1.0)
    }

    /// The value at position `u` in `[0, 1]`.
    pub fn value(&self, u: f64) -> f64 {
        let (a, b) = (self.t(self.lo), self.t(self.hi));
        self.inv(a + (b - a) * u)
    }

    /// Bin of `x` among `n` equal bins.
    pub fn bin(&self, x: f64, n: usize) -> usize {
        ((self.unit(x) * n as f64) as usize).min(n - 1)
    }
}

/// A threshold line drawn on a histogram.
pub struct Threshold {
    /// Rule name.
    pub rule: String,
    /// `< 50`, `> 0.1`, …
    pub text: String,
    /// Where.
    pub value: f64,
}

/// How much taller than the median non-empty bin the tallest bin of a *spiky* histogram
/// is: such a histogram's y axis is logarithmic, or its other bins would be invisible.
pub const SPIKY: u64 = 20;

/// Whether the tallest bin of `counts` is more than [`SPIKY`] times the median non-empty
/// bin (so a linear y axis would flatten everything else).
pub fn is_spiky(counts: &[u64]) -> bool {
    let mut nonzero: Vec<u64> = counts.iter().copied().filter(|&c| c > 0).collect();
    if nonzero.len() < 2 {
        return false;
    }
    nonzero.sort_unstable();
    let median = nonzero[(nonzero.len() - 1) / 2];
    let max = nonzero[nonzero.len() - 1];
    max > SPIKY * median
}

/// A histogram with two stacked series (kept below, removed above); the y axis is
/// logarithmic (`log10(1 + n)`) when the histogram is spiky ([`is_spiky`]), and says so.
pub fn histogram(
    id: &str,
    scale: Scale,
    kept: &[u64],
    removed: &[u64],
    series: (&str, &str),
    thresholds: &[Threshold],
) -> String {
    let (w, h) = (460.0, 230.0);
    let (ml, mr, mt, mb) = (52.0, 14.0, 26.0, 42.0);
    let pw = w - ml - mr;
    let ph = h - mt - mb;
    let n = kept.len().max(1);
    let max = kept
        .iter()
        .zip(removed)
        .map(|(a, b)| a + b)
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let totals: Vec<u64> = (0..n)
        .map(|i| kept.get(i).copied().unwrap_or(0) + removed.get(i).copied().unwrap_or(0))
        .collect();
    let log_y = is_spiky(&totals);
    // Height of `v` documents.
    let height = |v: f64| match log_y {
        true => ph * (1.0 + v).log10() / (1.0 + max).log10(),
        false => ph * v / max,
    };
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="chart hist" data-chart="{}" data-yscale="{}" width="{}" height="{}" viewBox="0 0 {} {}" role="img" aria-label="histogram">"#,
        esc(id),
        if log_y { "log" } else { "linear" },
        f(w),
        f(h),
        f(w),
        f(h)
    );
    // Axes and y ticks.
    // y ticks at 0, max/2 (when it is a whole number of documents) and max; on a log axis
    // at 0, the powers of ten below max, and max.
    let ticks: Vec<f64> = if log_y {
        let mut t = vec![0.0];
        let mut p = 1.0;
        while p * 3.0 <= max {
            t.push(p);
            p *= 10.0;
        }
        t.push(max);
        t
    } else if max >= 4.0 {
        vec![0.0, (max / 2.0).round(), max]
    } else {
        vec![0.0, max]
    };
    for v in ticks {
        let y = mt + ph - height(v);
        let _ = write!(
            s,
            r#"<line class="grid" x1="{}" y1="{}" x2="{}" y2="{}"/><text class="tick" x="{}" y="{}" text-anchor="end">{}</text>"#,
            f(ml),
            f(y),
            f(ml + pw),
            f(y),
            f(ml - 4.0),
            f(y + 4.0),
            esc(&num(v.round()))
        );
    }
    let bw = pw / n as f64;
    for i in 0..n {
        let x = ml + bw * i as f64;
        let (k, r) = (
            kept.get(i).copied().unwrap_or(0),
            removed.get(i).copied().unwrap_or(0),
        );
        let lo = scale.value(i as f64 / n as f64);
        let hi = scale.value((i + 1) as f64 / n as f64);
        // A non-empty bin is at least one pixel high, so a lone outlier stays visible.
        let kh = if k > 0 {
            height(k as f64).max(1.0)
        } else {
            0.0
        };
        let rh = if r > 0 {
            (height((k + r) as f64) - height(k as f64)).max(1.0)
        } else {
            0.0
        };
        if k > 0 {
            let _ = write!(
                s,
                r#"<rect class="bar keep" x="{}" y="{}" width="{}" height="{}"><title>[{}, {}): {} {}</title></rect>"#,
                f(x + 0.5),
                f(mt + ph - kh),
                f((bw - 1.0).max(0.5)),
                f(kh),
                esc(&num(lo)),
                esc(&num(hi)),
                int(k),
                esc(series.0)
            );
        }
        if r > 0 {
            let _ = write!(
                s,
                r#"<rect class="bar cut" x="{}" y="{}" width="{}" height="{}"><title>[{}, {}): {} {}</title></rect>"#,
                f(x + 0.5),
                f(mt + ph - kh - rh),
                f((bw - 1.0).max(0.5)),
                f(rh),
                esc(&num(lo)),
                esc(&num(hi)),
                int(r),
                esc(series.1)
            );
        }
    }
    let _ = write!(
        s,
        r#"<line class="axis" x1="{}" y1="{}" x2="{}" y2="{}"/>"#,
        f(ml),
        f(mt + ph),
        f(ml + pw),
        f(mt + ph)
    );
    for k in 0..=4 {
        let u = k as f64 / 4.0;
        let anchor = match k {
            0 => "start",
            4 => "end",
            _ => "middle",
        };
        let _ = write!(
            s,
            r#"<text class="tick" x="{}" y="{}" text-anchor="{}">{}</text>"#,
            f(ml + pw * u),
            f(mt + ph + 15.0),
            anchor,
            esc(&tick(scale.value(u)))
        );
    }
    if scale.log {
        let _ = write!(
            s,
            r#"<text class="tick" x="{}" y="{}" text-anchor="end">log scale</text>"#,
            f(ml + pw),
            f(mt + ph + 32.0)
        );
    }
    if log_y {
        let _ = write!(
            s,
            r#"<text class="tick ylabel" x="{}" y="{}" text-anchor="start">documents: log scale (spiky: a bin &gt; {SPIKY}× the median)<title>The tallest bin holds more than {SPIKY} times the documents of the median non-empty bin, so the y axis is log10(1 + documents).</title></text>"#,
            f(4.0),
            f(mt + ph + 32.0)
        );
    }
    for (j, t) in thresholds.iter().enumerate() {
        let x = ml + pw * scale.unit(t.value);
        let ty = mt - 8.0 + 0.0 * j as f64;
        let anchor = if x > ml + pw * 0.7 { "end" } else { "start" };
        let dx = if anchor == "end" { -4.0 } else { 4.0 };
        let _ = write!(
            s,
            r#"<line class="thr" data-threshold="{}" data-rule="{}" x1="{}" y1="{}" x2="{}" y2="{}"><title>{}</title></line><text class="thrl" x="{}" y="{}" text-anchor="{}">{}</text>"#,
            t.value,
            esc(&t.rule),
            f(x),
            f(mt - 4.0),
            f(x),
            f(mt + ph),
            esc(&format!("{} {}", t.rule, t.text)),
            f(x + dx),
            f(ty + 12.0 * j as f64),
            anchor,
            esc(&t.text)
        );
    }
    s.push_str("</svg>");
    s
}

/// One horizontal bar.
pub struct HBar {
    /// Label at the left.
    pub label: String,
    /// Length (may be negative for diverging charts).
    pub value: f64,
    /// Text at the right.
    pub note: String,
}

/// Horizontal bars; negative values extend left of a centre line.
pub fn hbars(id: &str, rows: &[HBar]) -> String {
    let w = 760.0;
    let row_h = 24.0;
    let label_w = 240.0;
    let bar_w = 360.0;
    let h = 12.0 + row_h * rows.len().max(1) as f64;
    let max = rows
        .iter()
        .map(|r| r.value.abs())
        .fold(0.0f64, f64::max)
        .max(1e-12);
    let diverging = rows.iter().any(|r| r.value < 0.0);
    let zero = if diverging {
        label_w + bar_w / 2.0
    } else {
        label_w
    };
    let scale = if diverging { bar_w / 2.0 } else { bar_w };
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="chart hbars" data-chart="{}" width="{}" height="{}" viewBox="0 0 {} {}" role="img">"#,
        esc(id),
        f(w),
        f(h),
        f(w),
        f(h)
    );
    for (i, r) in rows.iter().enumerate() {
        let y = 6.0 + row_h * i as f64;
        let len = r.value.abs() / max * scale;
        let x = if r.value < 0.0 { zero - len } else { zero };
        let cls = if r.value < 0.0 { "bar cut" } else { "bar keep" };
        let _ = write!(
            s,
            r#"<text x="{}" y="{}" class="lbl" text-anchor="end">{}</text><rect class="{}" x="{}" y="{}" width="{}" height="{}"><title>{}: {}</title></rect><text x="{}" y="{}" class="num">{}</text>"#,
            f(label_w - 8.0),
            f(y + row_h * 0.62),
            esc(&r.label),
            cls,
            f(x),
            f(y + 3.0),
            f(len.max(if r.value != 0.0 { 1.0 } else { 0.0 })),
            f(row_h - 6.0),
            esc(&r.label),
            esc(&r.note),
            f(label_w + bar_w + 10.0),
            f(y + row_h * 0.62),
            esc(&r.note)
        );
    }
    if diverging {
        let _ = write!(
            s,
            r#"<line class="axis" x1="{}" y1="4" x2="{}" y2="{}"/>"#,
            f(zero),
            f(zero),
            f(h - 4.0)
        );
    }
    s.push_str("</svg>");
    s
}

/// One row of [`paired_bars`]: a quantity before and after.
#[derive(Debug, Clone)]
pub struct PairedBar {
    /// Label at the left.
    pub label: String,
    /// The quantity before (upper bar).
    pub before: f64,
    /// And after (lower bar).
    pub after: f64,
    /// Text at the right.
    pub note: String,
}

/// Horizontal bar pairs on one scale: per row, the quantity before (class `before`) above
/// the quantity after (class `after`).
pub fn paired_bars(id: &str, rows: &[PairedBar]) -> String {
    let w = 760.0;
    let row_h = 30.0;
    let label_w = 200.0;
    let bar_w = 360.0;
    let h = 12.0 + row_h * rows.len().max(1) as f64;
    let max = rows
        .iter()
        .map(|r| r.before.max(r.after))
        .fold(0.0f64, f64::max)
        .max(1e-12);
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="chart pairs" data-chart="{}" width="{}" height="{}" viewBox="0 0 {} {}" role="img">"#,
        esc(id),
        f(w),
        f(h),
        f(w),
        f(h)
    );
    let len = |x: f64| {
        let l = x.max(0.0) / max * bar_w;
        if x > 0.0 {
            l.max(1.0)
        } else {
            0.0
        }
    };
    for (i, r) in rows.iter().enumerate() {
        let y = 6.0 + row_h * i as f64;
        let half = (row_h - 6.0) / 2.0;
        let _ = write!(
            s,
            r#"<text x="{}" y="{}" class="lbl" text-anchor="end">{}</text><rect class="bar before" data-row="{i}" data-when="before" x="{}" y="{}" width="{}" height="{}"><title>{} before: {}</title></rect><rect class="bar after" data-row="{i}" data-when="after" x="{}" y="{}" width="{}" height="{}"><title>{} after: {}</title></rect><text x="{}" y="{}" class="num">{}</text>"#,
            f(label_w - 8.0),
            f(y + row_h * 0.55),
            esc(&r.label),
            f(label_w),
            f(y + 3.0),
            f(len(r.before)),
            f(half),
            esc(&r.label),
            num(r.before),
            f(label_w),
            f(y + 3.0 + half),
            f(len(r.after)),
            f(half),
            esc(&r.label),
            num(r.after),
            f(label_w + bar_w + 10.0),
            f(y + row_h * 0.55),
            esc(&r.note)
        );
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            esc(r#"<script>alert("x" & 'y')</script>"#),
            "&lt;script&gt;alert(&quot;x&quot; &amp; &#39;y&#39;)&lt;/script&gt;"
        );
        assert_eq!(esc("a\u{0}b"), "a\u{fffd}b");
    }

    #[test]
    fn spiky_histograms_get_a_log_y_axis() {
        // The tallest bin against the median non-empty bin (empty bins do not count).
        assert!(is_spiky(&[0, 210, 10, 0, 10, 9]));
        assert!(!is_spiky(&[0, 200, 10, 0, 10, 9]));
        assert!(!is_spiky(&[500]));
        assert!(!is_spiky(&[0, 0]));
        let scale = Scale {
            lo: 0.0,
            hi: 1.0,
            log: false,
        };
        let spiky = histogram(
            "h",
            scale,
            &[1000, 2, 3, 1],
            &[0, 1, 0, 0],
            ("kept", "cut"),
            &[],
        );
        assert!(spiky.contains(r#"data-yscale="log""#), "{spiky}");
        assert!(spiky.contains("documents: log scale (spiky"));
        let flat = histogram("h", scale, &[10, 12, 9, 11], &[0; 4], ("kept", "cut"), &[]);
        assert!(flat.contains(r#"data-yscale="linear""#) && !flat.contains("log scale"));
    }

    #[test]
    fn numbers() {
        assert_eq!(int(1353042), "1,353,042");
        assert_eq!(int(999), "999");
        assert_eq!(num(50.0), "50");
        assert_eq!(num(0.1), "0.1");
        assert_eq!(num(0.123456), "0.1235");
        assert_eq!(signed(-5), "−5");
        assert_eq!(tick(29.98), "30");
        assert_eq!(tick(1858.0), "1900");
        assert_eq!(tick(0.0362), "0.036");
        assert_eq!(tick(0.1447), "0.14");
    }

    #[test]
    fn log_scale_round_trips() {
        let s = Scale {
            lo: 0.0,
            hi: 9999.0,
            log: true,
        };
        assert!((s.value(s.unit(99.0)) - 99.0).abs() < 1e-9);
        assert_eq!(s.bin(9999.0, 30), 29);
        assert_eq!(s.bin(0.0, 30), 0);
    }
}
