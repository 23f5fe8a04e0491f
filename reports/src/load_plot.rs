//! The plots of a load run, as inline SVG strings drawn by `plotters`.

use plotters::prelude::*;

use crate::Error;
use crate::load::LoadRun;
use crate::plot::{Axes, Mark, ReportStyle, err, linear_chart, stacked_bars, svg};

/// Deepest "nines" the percentile distribution draws (6: 99.9999%).
pub const NINES_MAX: f64 = 6.0;

const STARTED: RGBColor = RGBColor(70, 120, 180);
const COMPLETED: RGBColor = RGBColor(60, 160, 80);
const TARGET: RGBColor = RGBColor(30, 30, 30);
const ERRORS: RGBColor = RGBColor(215, 25, 28);

/// The colours of the percentile series: p50, p90, p99, p99.9, max.
const PCT_COLORS: [RGBColor; 5] = [
    RGBColor(60, 160, 80),
    RGBColor(70, 120, 180),
    RGBColor(235, 140, 0),
    RGBColor(150, 80, 200),
    RGBColor(215, 25, 28),
];

/// A histogram to draw on the nines axis: its legend name, the histogram, dashed or not.
pub type Curve<'a> = (String, &'a hdrhistogram::Histogram<u64>, bool);

/// A drawn line: legend name, points, dashed or not.
type Line = (String, Vec<(f64, f64)>, bool);

/// Whole numbers as labels; the ticks between them unlabelled.
fn int_label(v: &f64) -> String {
    if (v - v.round()).abs() < 1e-6 {
        format!("{v:.0}")
    } else {
        String::new()
    }
}

fn x_end(run: &LoadRun) -> f64 {
    (run.results.series.len() as f64).max(1.0)
}

/// Throughput per second: started, completed, errors, and the schedule's target.
pub fn throughput(run: &LoadRun) -> Result<String, Error> {
    let series = &run.results.series;
    let target = run.target_per_second.clone().unwrap_or_default();
    let top = series
        .iter()
        .map(|p| p.started.max(p.completed) as f64)
        .chain(target.iter().copied())
        .fold(1.0f64, f64::max)
        * 1.1;
    let end = x_end(run);
    svg(320, |root, legend| {
        let mut chart = linear_chart(
            root,
            0f64..end,
            0f64..top,
            &Axes {
                x_desc: "seconds since the start",
                y_desc: "requests per second",
                y_label_px: 80,
                label: &int_label,
            },
        )?;
        // Each second as a step: [s, s+1) at its value.
        let steps = |values: Vec<f64>| -> Vec<(f64, f64)> {
            values
                .iter()
                .enumerate()
                .flat_map(|(i, v)| [(i as f64, *v), (i as f64 + 1.0, *v)])
                .collect()
        };
        for (label, color, values) in [
            (
                "started",
                STARTED,
                series.iter().map(|p| p.started as f64).collect::<Vec<_>>(),
            ),
            (
                "completed",
                COMPLETED,
                series.iter().map(|p| p.completed as f64).collect(),
            ),
            (
                "errors",
                ERRORS,
                series.iter().map(|p| p.errors as f64).collect(),
            ),
        ] {
            if label == "errors" && values.iter().all(|v| *v == 0.0) {
                continue;
            }
            chart
                .draw_series(LineSeries::new(steps(values), color.stroke_width(2)))
                .map_err(err)?;
            legend.push((label.into(), Mark::HLine(color.to_rgba())));
        }
        // The target last, dashed, so it shows on top of a run that met it.
        if !target.is_empty() {
            chart
                .draw_series(DashedLineSeries::new(
                    steps(target.clone()),
                    8,
                    5,
                    TARGET.stroke_width(2),
                ))
                .map_err(err)?;
            legend.push(("target".into(), Mark::HLine(TARGET.to_rgba())));
        }
        Ok(())
    })
}

/// Request types whose latency over time is drawn at most (one plot each).
pub const TYPE_PLOTS_MAX: usize = 8;

/// Latency percentiles per second (p50, p90, p99, p99.9, max) over every request type,
/// log-scaled milliseconds.
pub fn latency_over_time(run: &LoadRun) -> Result<String, Error> {
    let series = &run.results.series;
    let columns: [(&str, Vec<u64>); 5] = [
        ("p50", series.iter().map(|p| p.p50_ns).collect()),
        ("p90", series.iter().map(|p| p.p90_ns).collect()),
        ("p99", series.iter().map(|p| p.p99_ns).collect()),
        ("p99.9", run.series_p99_9_ns.clone()),
        ("max", series.iter().map(|p| p.max_ns).collect()),
    ];
    percentiles_over_time(&columns, x_end(run))
}

/// The same for one request type (from the per-type series).
pub fn type_latency_over_time(run: &LoadRun, name: &str) -> Result<String, Error> {
    let rows = run.series_by_type.get(name).cloned().unwrap_or_default();
    let col = |k: usize| rows.iter().map(|r| r[k]).collect::<Vec<u64>>();
    let columns: [(&str, Vec<u64>); 5] = [
        ("p50", col(0)),
        ("p90", col(1)),
        ("p99", col(2)),
        ("p99.9", col(3)),
        ("max", col(4)),
    ];
    percentiles_over_time(&columns, x_end(run))
}

fn percentiles_over_time(columns: &[(&str, Vec<u64>); 5], end: f64) -> Result<String, Error> {
    let values = || {
        columns
            .iter()
            .flat_map(|(_, v)| v.iter().copied())
            .filter(|v| *v > 0)
    };
    let lo = values().min().unwrap_or(1_000) as f64 / 1e6 / 1.5;
    let hi = values().max().unwrap_or(1_000_000) as f64 / 1e6 * 1.5;
    let (lo, hi) = (lo.max(1e-4), hi.max(lo.max(1e-4) * 10.0));
    svg(340, |root, legend| {
        let mut chart = ChartBuilder::on(root)
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(80)
            .build_cartesian_2d(0f64..end, (lo..hi).log_scale())
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc("seconds since the start")
            .x_label_formatter(&int_label)
            .y_desc("latency (ms, log scale)")
            .y_label_formatter(&|v| format!("{v}"))
            .report_style()
            .draw()
            .map_err(err)?;
        for (i, (label, values)) in columns.iter().enumerate() {
            let color = PCT_COLORS[i];
            // A second without answers has no percentile: the line breaks there.
            let mut segment: Vec<(f64, f64)> = Vec::new();
            let mut segments = Vec::new();
            for (s, v) in values.iter().enumerate() {
                if *v == 0 {
                    if !segment.is_empty() {
                        segments.push(std::mem::take(&mut segment));
                    }
                } else {
                    segment.push((s as f64 + 0.5, *v as f64 / 1e6));
                }
            }
            segments.push(segment);
            for seg in segments.into_iter().filter(|s| !s.is_empty()) {
                chart
                    .draw_series(LineSeries::new(seg, color.stroke_width(2)))
                    .map_err(err)?;
            }
            legend.push(((*label).into(), Mark::HLine(color.to_rgba())));
        }
        Ok(())
    })
}

/// The percentile distribution of histograms on HdrHistogram's "nines" axis: x is
/// log10(1 / (1 - q)), labelled 0%, 90%, 99%, 99.9%, ...; y is the latency in ms.
pub fn percentile_distribution(series: &[Curve<'_>]) -> Result<String, Error> {
    let mut lines: Vec<Line> = Vec::new();
    let mut top = 0f64;
    let mut deepest = 2f64;
    for (name, h, dashed) in series {
        if h.is_empty() {
            continue;
        }
        let mut points = Vec::new();
        for v in h.iter_quantiles(5) {
            let q: f64 = v.quantile_iterated_to();
            let x = if q >= 1.0 {
                NINES_MAX
            } else {
                (1.0 / (1.0 - q)).log10().min(NINES_MAX)
            };
            let y = h.highest_equivalent(v.value_iterated_to()) as f64 / 1e6;
            points.push((x, y));
            top = top.max(y);
        }
        // The last point (q = 1) sits at the depth the count supports: 1/count.
        let depth = (h.len() as f64).log10().clamp(1.0, NINES_MAX);
        if let Some(last) = points.last_mut() {
            last.0 = last.0.min(depth);
        }
        points.retain(|p| p.0 <= depth);
        deepest = deepest.max(depth.ceil());
        lines.push((name.clone(), points, *dashed));
    }
    let top = (top * 1.1).max(1e-3);
    svg(340, |root, legend| {
        let mut chart = ChartBuilder::on(root)
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(80)
            .build_cartesian_2d(0f64..deepest, 0f64..top)
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_labels(deepest as usize + 1)
            .x_desc("percentile (log-scaled nines)")
            .x_label_formatter(&|v| {
                let n = v.round();
                if (v - n).abs() > 1e-6 {
                    return String::new();
                }
                match n as i32 {
                    0 => "0%".into(),
                    1 => "90%".into(),
                    2 => "99%".into(),
                    k => format!("99.{}%", "9".repeat(k as usize - 2)),
                }
            })
            .y_desc("latency (ms)")
            .y_label_formatter(&|v| format!("{v:.2}"))
            .report_style()
            .draw()
            .map_err(err)?;
        for (i, (name, points, dashed)) in lines.into_iter().enumerate() {
            let color = Palette99::pick(i).to_rgba();
            if dashed {
                chart
                    .draw_series(DashedLineSeries::new(points, 6, 4, color.stroke_width(2)))
                    .map_err(err)?;
            } else {
                chart
                    .draw_series(LineSeries::new(points, color.stroke_width(2)))
                    .map_err(err)?;
            }
            legend.push((name, Mark::HLine(color)));
        }
        Ok(())
    })
}

/// Whether every second's errors are broken down by code (results written before the
/// per-second codes existed have totals only).
pub fn errors_have_codes(run: &LoadRun) -> bool {
    run.results
        .series
        .iter()
        .all(|p| p.errors_by_code.values().sum::<u64>() == p.errors)
}

/// Errors per second, stacked by code (or all codes together for results without
/// per-second codes).
pub fn errors_over_time(run: &LoadRun) -> Result<String, Error> {
    let series = &run.results.series;
    let top = series.iter().map(|p| p.errors).max().unwrap_or(0).max(1) as f64 * 1.1;
    let end = x_end(run);
    // Per code, per second; one "all codes" layer when the codes are not per second.
    let mut layers: std::collections::BTreeMap<String, Vec<u64>> = Default::default();
    if errors_have_codes(run) {
        for (i, p) in series.iter().enumerate() {
            for (code, n) in &p.errors_by_code {
                layers
                    .entry(code.clone())
                    .or_insert_with(|| vec![0; series.len()])[i] += n;
            }
        }
    } else {
        layers.insert(
            "errors (all codes)".into(),
            series.iter().map(|p| p.errors).collect(),
        );
    }
    svg(240, |root, legend| {
        let mut chart = linear_chart(
            root,
            0f64..end,
            0f64..top,
            &Axes {
                x_desc: "seconds since the start",
                y_desc: "errors",
                y_label_px: 80,
                label: &int_label,
            },
        )?;
        let layers = layers
            .iter()
            .enumerate()
            .map(|(k, (code, counts))| {
                let color = if k == 0 {
                    ERRORS
                } else {
                    let (r, g, b) = Palette99::pick(k + 3).rgb();
                    RGBColor(r, g, b)
                };
                (code.clone(), color, counts.as_slice())
            })
            .collect();
        stacked_bars(&mut chart, legend, layers, 1.0, 0.05)?;
        Ok(())
    })
}
