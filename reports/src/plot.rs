//! The plots, as inline SVG strings drawn by `plotters` (its SVG backend writes into a
//! `String`; text is left to the browser's fonts).

use plotters::chart::MeshStyle;
use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::element::{Drawable, PointCollection};
use plotters::prelude::*;

use crate::Error;
use crate::sim::{SimRun, TX_STATUSES};

/// Width of every plot, in CSS pixels.
pub const WIDTH_PX: u32 = 1160;
/// Rows the chain timeline draws at most (one per node); more nodes are summarised.
pub const TIMELINE_ROWS_MAX: u32 = 40;
/// Columns the timeline's micro-block ticks are thinned to (about one per pixel).
const TICK_COLUMNS: u64 = 1000;
/// Nodes whose chain height is drawn at most.
pub const HEIGHT_SERIES_MAX: usize = 12;
/// Time buckets of the status and drop plots.
pub const BUCKETS: usize = 120;

const MICRO: RGBColor = RGBColor(70, 120, 180);
const MACRO: RGBColor = RGBColor(20, 60, 40);
const VIEW: RGBColor = RGBColor(235, 140, 0);
const REVERT: RGBColor = RGBColor(215, 25, 28);
const CRASH: RGBColor = RGBColor(90, 90, 90);
const CUT: RGBColor = RGBColor(150, 80, 200);
const DRIFT: RGBColor = RGBColor(220, 190, 0);
const FAIL: RGBColor = RGBColor(215, 25, 28);

pub(crate) fn font(size: u32) -> TextStyle<'static> {
    TextStyle::from(("sans-serif", size).into_font()).color(&BLACK)
}

pub(crate) fn err<E: std::fmt::Display>(e: E) -> Error {
    Error::Plot(e.to_string())
}

/// The axes of a chart with a linear x and a linear y: what each one shows, the width of
/// the y labels, and how both label their ticks.
pub(crate) struct Axes<'l> {
    /// What x shows (with its unit).
    pub x_desc: &'l str,
    /// What y shows (with its unit).
    pub y_desc: &'l str,
    /// Width of the y labels' column, in pixels.
    pub y_label_px: u32,
    /// The tick labels of both axes.
    pub label: &'l dyn Fn(&f64) -> String,
}

/// The reports' look of a chart's axes: label fonts and a light grid.
pub(crate) trait ReportStyle {
    /// Sets the fonts of the labels and axis names, and the colour of the light grid.
    fn report_style(&mut self) -> &mut Self;
}

impl<X: Ranged, Y: Ranged, DB: DrawingBackend> ReportStyle for MeshStyle<'_, '_, X, Y, DB> {
    fn report_style(&mut self) -> &mut Self {
        self.label_style(font(13))
            .axis_desc_style(font(14))
            .light_line_style(RGBColor(235, 235, 235))
    }
}

/// A chart with linear axes.
pub(crate) type LinearChart<'a, 'b> =
    ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// A chart on `root` over `x` and `y`, its axes and mesh drawn in the reports' style.
pub(crate) fn linear_chart<'a, 'b>(
    root: &'a DrawingArea<SVGBackend<'b>, Shift>,
    x: std::ops::Range<f64>,
    y: std::ops::Range<f64>,
    axes: &Axes<'_>,
) -> Result<LinearChart<'a, 'b>, Error> {
    let mut chart = ChartBuilder::on(root)
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(axes.y_label_px)
        .build_cartesian_2d(x, y)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc(axes.x_desc)
        .x_label_formatter(axes.label)
        .y_desc(axes.y_desc)
        .y_label_formatter(axes.label)
        .report_style()
        .draw()
        .map_err(err)?;
    Ok(chart)
}

/// Draws `layers` (name, colour, a count per bucket) as bars stacked bucket by bucket, each
/// layer with its legend entry. Bucket `b` spans `[b * width, (b + 1) * width)`; its bar
/// starts `offset` in and is 90% of `width` wide.
pub(crate) fn stacked_bars(
    chart: &mut LinearChart<'_, '_>,
    legend: &mut Legend,
    layers: Vec<(String, RGBColor, &[u64])>,
    width: f64,
    offset: f64,
) -> Result<(), Error> {
    let buckets = layers.iter().map(|l| l.2.len()).max().unwrap_or(0);
    let mut base = vec![0u64; buckets];
    for (name, color, counts) in layers {
        let bars: Vec<_> = counts
            .iter()
            .enumerate()
            .filter(|(_, c)| **c > 0)
            .map(|(b, c)| {
                let x0 = b as f64 * width + offset;
                let y0 = base[b] as f64;
                Rectangle::new(
                    [(x0, y0), (x0 + width * 0.9, y0 + *c as f64)],
                    color.filled(),
                )
            })
            .collect();
        for (b, c) in counts.iter().enumerate() {
            base[b] += c;
        }
        chart.draw_series(bars).map_err(err)?;
        legend.push((name, Mark::Box(color.to_rgba())));
    }
    Ok(())
}

/// Width of the legend column right of each plot.
const LEGEND_PX: u32 = 170;

/// A legend entry's symbol.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Mark {
    /// A filled box (areas, shaded spans, bars).
    Box(RGBAColor),
    /// A vertical tick of this stroke width.
    VLine(RGBAColor, u32),
    /// A horizontal line (series, failed-check lines).
    HLine(RGBAColor),
    /// A filled triangle.
    Triangle(RGBAColor),
    /// A cross.
    Cross(RGBAColor),
}

pub(crate) type Legend = Vec<(String, Mark)>;

/// Draws into a fresh SVG string of `WIDTH_PX` x `height_px`: `draw` gets the plot's area
/// and fills the legend, which is drawn in a column on the right.
pub(crate) fn svg(
    height_px: u32,
    draw: impl FnOnce(&DrawingArea<SVGBackend<'_>, Shift>, &mut Legend) -> Result<(), Error>,
) -> Result<String, Error> {
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (WIDTH_PX, height_px)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let (plot_area, legend_area) = root.split_horizontally(WIDTH_PX - LEGEND_PX);
        let mut legend = Legend::new();
        draw(&plot_area, &mut legend)?;
        for (i, (label, mark)) in legend.iter().enumerate() {
            let y = 24 + 22 * i as i32;
            let x = 12;
            match *mark {
                Mark::Box(c) => legend_area
                    .draw(&Rectangle::new([(x, y - 7), (x + 16, y + 7)], c.filled()))
                    .map_err(err)?,
                Mark::VLine(c, w) => legend_area
                    .draw(&PathElement::new(
                        vec![(x + 8, y - 8), (x + 8, y + 8)],
                        c.stroke_width(w),
                    ))
                    .map_err(err)?,
                Mark::HLine(c) => legend_area
                    .draw(&PathElement::new(
                        vec![(x, y), (x + 16, y)],
                        c.stroke_width(3),
                    ))
                    .map_err(err)?,
                Mark::Triangle(c) => legend_area
                    .draw(&TriangleMarker::new((x + 8, y), 7, c.filled()))
                    .map_err(err)?,
                Mark::Cross(c) => legend_area
                    .draw(&Cross::new((x + 8, y), 6, c.stroke_width(3)))
                    .map_err(err)?,
            }
            legend_area
                .draw(&Text::new(label.clone(), (x + 26, y - 8), font(14)))
                .map_err(err)?;
        }
        root.present().map_err(err)?;
    }
    Ok(out)
}

pub(crate) fn secs(ns: u64) -> f64 {
    ns as f64 / 1e9
}

/// Draws `series` when it is not empty, and gives it its legend entry.
fn layer<'b, E>(
    chart: &mut LinearChart<'_, 'b>,
    legend: &mut Legend,
    series: Vec<E>,
    label: &str,
    mark: Mark,
) -> Result<(), Error>
where
    for<'e> &'e E: PointCollection<'e, (f64, f64)>,
    E: Drawable<SVGBackend<'b>>,
{
    if !series.is_empty() {
        chart.draw_series(series).map_err(err)?;
        legend.push((String::from(label), mark));
    }
    Ok(())
}

/// A chart of `rows` rows over `0..end_s` seconds, without a y mesh: the row `r` from the
/// top (0 on top) is labelled `label(r)`.
fn row_chart<'a, 'b>(
    root: &'a DrawingArea<SVGBackend<'b>, Shift>,
    end_s: f64,
    rows: u32,
    y_label_px: u32,
    label: &dyn Fn(u32) -> String,
) -> Result<LinearChart<'a, 'b>, Error> {
    let mut chart = ChartBuilder::on(root)
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(y_label_px)
        .build_cartesian_2d(0f64..end_s, -0.5f64..(rows as f64 - 0.5))
        .map_err(err)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(rows as usize + 1)
        .y_label_formatter(&|v| {
            let r = v.round();
            if (v - r).abs() < 1e-6 && r >= 0.0 && r < rows as f64 {
                label(rows - 1 - r as u32)
            } else {
                String::new()
            }
        })
        .x_desc("simulated time (s)")
        .x_label_formatter(&|v| format!("{v:.0}"))
        .report_style()
        .draw()
        .map_err(err)?;
    Ok(chart)
}

/// The chain timeline's geometry: which nodes get a row, and where.
#[derive(Debug, Clone, Copy)]
struct Timeline {
    /// Rows drawn: one per node, at most [`TIMELINE_ROWS_MAX`].
    rows: u32,
    /// The run's length, at least 1 ns (ticks are thinned per column of it).
    end_ns: u64,
}

impl Timeline {
    /// Whether node `n` has a row.
    fn shown(self, n: u32) -> bool {
        n < self.rows
    }

    /// The row of node `n` on the y axis (node 0 on top).
    fn y(self, n: u32) -> f64 {
        (self.rows - 1 - n) as f64
    }
}

/// Chain timeline: one row per node; micro blocks as ticks, macro blocks as tall dark
/// bars, view changes as orange triangles, reverts as red crosses; crashes shaded grey,
/// partitions and cuts purple, clock drift yellow; failed checks as red vertical lines.
pub fn chain_timeline(run: &SimRun) -> Result<String, Error> {
    let tl = Timeline {
        rows: run.nodes.clamp(1, TIMELINE_ROWS_MAX),
        end_ns: run.summary.duration_ns.max(1),
    };
    let validators = if run.validators == 0 {
        run.nodes
    } else {
        run.validators
    };
    let end_s = secs(run.summary.duration_ns).max(1e-3);
    let height = 90 + 26 * tl.rows.max(4);
    let label = |n: u32| {
        if n >= validators {
            format!("node {n} (obs.)")
        } else {
            format!("node {n}")
        }
    };
    svg(height, |root, legend| {
        let mut chart = row_chart(root, end_s, tl.rows, 95, &label)?;
        timeline_spans(&mut chart, legend, run, tl)?;
        timeline_blocks(&mut chart, legend, run, tl)?;
        timeline_events(&mut chart, legend, run, tl)
    })
}

/// The timeline's shaded spans: crashed, partitioned or cut off, clock drift.
fn timeline_spans(
    chart: &mut LinearChart<'_, '_>,
    legend: &mut Legend,
    run: &SimRun,
    tl: Timeline,
) -> Result<(), Error> {
    let legend_span = |what: &str| -> Option<RGBColor> {
        if what == "crash" {
            Some(CRASH)
        } else if what == "partition" || what == "cut" {
            Some(CUT)
        } else if what.starts_with("clock drift") {
            Some(DRIFT)
        } else {
            None
        }
    };
    for (label, color) in [
        ("crashed", CRASH),
        ("partitioned / cut", CUT),
        ("clock drift", DRIFT),
    ] {
        let rects: Vec<_> = run
            .spans
            .iter()
            .filter(|s| legend_span(&s.what) == Some(color))
            .flat_map(|s| {
                s.nodes.iter().filter(|n| tl.shown(**n)).map(move |n| {
                    Rectangle::new(
                        [
                            (secs(s.from_ns), tl.y(*n) - 0.46),
                            (secs(s.to_ns), tl.y(*n) + 0.46),
                        ],
                        color.mix(0.28).filled(),
                    )
                })
            })
            .collect();
        layer(chart, legend, rects, label, Mark::Box(color.mix(0.4)))?;
    }
    Ok(())
}

/// The timeline's blocks: micro blocks as thin ticks (thinned to [`TICK_COLUMNS`] per
/// row), macro blocks as tall dark bars.
fn timeline_blocks(
    chart: &mut LinearChart<'_, '_>,
    legend: &mut Legend,
    run: &SimRun,
    tl: Timeline,
) -> Result<(), Error> {
    let micro: Vec<_> = run
        .chains
        .iter()
        .enumerate()
        .filter(|(n, _)| tl.shown(*n as u32))
        .flat_map(|(n, c)| {
            // One tick per pixel column at most: a long run stays a small page.
            let mut column_last = u64::MAX;
            c.micro
                .iter()
                .filter(move |(t, ..)| {
                    let column = *t * TICK_COLUMNS / tl.end_ns;
                    let fresh = column != column_last;
                    column_last = column;
                    fresh
                })
                .map(move |(t, ..)| {
                    PathElement::new(
                        vec![
                            (secs(*t), tl.y(n as u32) - 0.22),
                            (secs(*t), tl.y(n as u32) + 0.22),
                        ],
                        MICRO.stroke_width(1),
                    )
                })
        })
        .collect();
    layer(
        chart,
        legend,
        micro,
        "micro block",
        Mark::VLine(MICRO.to_rgba(), 1),
    )?;
    let macros: Vec<_> = run
        .chains
        .iter()
        .enumerate()
        .filter(|(n, _)| tl.shown(*n as u32))
        .flat_map(|(n, c)| {
            c.macro_blocks.iter().map(move |(t, _)| {
                let y = tl.y(n as u32);
                PathElement::new(
                    vec![(secs(*t), y - 0.4), (secs(*t), y + 0.4)],
                    MACRO.stroke_width(3),
                )
            })
        })
        .collect();
    layer(
        chart,
        legend,
        macros,
        "macro block",
        Mark::VLine(MACRO.to_rgba(), 3),
    )
}

/// The timeline's events: view changes, reverts, failed checks (across every row).
fn timeline_events(
    chart: &mut LinearChart<'_, '_>,
    legend: &mut Legend,
    run: &SimRun,
    tl: Timeline,
) -> Result<(), Error> {
    let views: Vec<_> = run
        .chains
        .iter()
        .enumerate()
        .filter(|(n, _)| tl.shown(*n as u32))
        .flat_map(|(n, c)| {
            c.view_changes.iter().map(move |(t, _)| {
                TriangleMarker::new((secs(*t), tl.y(n as u32) + 0.3), 6, VIEW.filled())
            })
        })
        .collect();
    layer(
        chart,
        legend,
        views,
        "view change",
        Mark::Triangle(VIEW.to_rgba()),
    )?;
    let reverts: Vec<_> = run
        .chains
        .iter()
        .enumerate()
        .filter(|(n, _)| tl.shown(*n as u32))
        .flat_map(|(n, c)| {
            c.reverts.iter().map(move |(t, ..)| {
                Cross::new((secs(*t), tl.y(n as u32)), 7, REVERT.stroke_width(3))
            })
        })
        .collect();
    layer(
        chart,
        legend,
        reverts,
        "revert",
        Mark::Cross(REVERT.to_rgba()),
    )?;
    let failed: Vec<_> = run
        .checks
        .iter()
        .filter(|c| !c.3)
        .map(|(t, ..)| {
            PathElement::new(
                vec![(secs(*t), -0.5), (secs(*t), tl.rows as f64 - 0.5)],
                FAIL.stroke_width(2),
            )
        })
        .collect();
    layer(
        chart,
        legend,
        failed,
        "failed check",
        Mark::HLine(FAIL.to_rgba()),
    )
}

/// Chain height over time per node: epoch plus the fraction of the epoch's micro blocks,
/// so a stall is a flat line and a revert a step down.
pub fn chain_height(run: &SimRun) -> Result<String, Error> {
    let end_s = secs(run.summary.duration_ns).max(1e-3);
    let per_epoch = run
        .chains
        .iter()
        .flat_map(|c| c.micro.iter().map(|m| m.2 + 1))
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let series: Vec<Vec<(f64, f64)>> = run
        .chains
        .iter()
        .take(HEIGHT_SERIES_MAX)
        .map(|c| {
            // Merge the node's micro blocks, reverts and macro blocks in time order.
            let mut points: Vec<(u64, f64)> = Vec::new();
            points.extend(
                c.micro
                    .iter()
                    .map(|(t, e, o, _)| (*t, *e as f64 + (*o + 1) as f64 / (per_epoch + 1.0))),
            );
            points.extend(
                c.reverts
                    .iter()
                    .map(|(t, e, o)| (*t, *e as f64 + *o as f64 / (per_epoch + 1.0))),
            );
            points.extend(c.macro_blocks.iter().map(|(t, e)| (*t, *e as f64 + 1.0)));
            points.sort_by_key(|p| p.0);
            let mut out = Vec::with_capacity(points.len() * 2);
            let mut last = 0.0;
            out.push((0.0, 0.0));
            for (t, h) in points {
                out.push((secs(t), last));
                out.push((secs(t), h));
                last = h;
            }
            out.push((end_s, last));
            out
        })
        .collect();
    let top = series
        .iter()
        .flatten()
        .map(|p| p.1)
        .fold(1.0f64, f64::max)
        .ceil();
    svg(340, |root, legend| {
        let mut chart = linear_chart(
            root,
            0f64..end_s,
            0f64..top,
            &Axes {
                x_desc: "simulated time (s)",
                y_desc: "epoch",
                y_label_px: 70,
                label: &|v| format!("{v:.0}"),
            },
        )?;
        for (n, points) in series.into_iter().enumerate() {
            let color = Palette99::pick(n).to_rgba();
            chart
                .draw_series(LineSeries::new(points, color.stroke_width(2)))
                .map_err(err)?;
            legend.push((format!("node {n}"), Mark::HLine(color)));
        }
        Ok(())
    })
}

/// Colour of a transaction status.
pub fn status_color(status: &str) -> RGBColor {
    match status {
        "created" => RGBColor(200, 200, 200),
        "accepted" => RGBColor(255, 200, 90),
        "prepared" => RGBColor(120, 170, 230),
        "rollback" => RGBColor(215, 25, 28),
        "committed" => RGBColor(60, 160, 80),
        "rejected" => RGBColor(120, 40, 40),
        _ => RGBColor(140, 60, 160),
    }
}

/// Transactions by status over time, stacked.
pub fn tx_statuses(run: &SimRun) -> Result<String, Error> {
    let end_s = secs(run.summary.duration_ns).max(1e-3);
    let series = run.tx_status_series(BUCKETS * 2);
    let total = run.transactions.len().max(1) as f64;
    svg(320, |root, legend| {
        let mut chart = linear_chart(
            root,
            0f64..end_s,
            0f64..total * 1.05,
            &Axes {
                x_desc: "simulated time (s)",
                y_desc: "transactions",
                y_label_px: 70,
                label: &|v| format!("{v:.0}"),
            },
        )?;
        // Stacked: draw the cumulative sums from the top layer down.
        for i in (0..TX_STATUSES.len()).rev() {
            let points: Vec<(f64, f64)> = series
                .iter()
                .map(|(t, c)| (secs(*t), c[..=i].iter().sum::<u64>() as f64))
                .collect();
            if series.iter().all(|(_, c)| c[i] == 0) {
                continue;
            }
            let color = status_color(TX_STATUSES[i]);
            chart
                .draw_series(AreaSeries::new(points, 0.0, color.filled()))
                .map_err(err)?;
            legend.push((String::from(TX_STATUSES[i]), Mark::Box(color.to_rgba())));
        }
        Ok(())
    })
}

/// Messages dropped per time window, stacked by reason.
pub fn dropped(run: &SimRun) -> Result<String, Error> {
    let end_s = secs(run.summary.duration_ns).max(1e-3);
    let by_reason = run.dropped_series(BUCKETS);
    let width = end_s / BUCKETS as f64;
    let mut totals = vec![0u64; BUCKETS];
    for v in by_reason.values() {
        for (t, c) in totals.iter_mut().zip(v) {
            *t += c;
        }
    }
    let top = totals.iter().copied().max().unwrap_or(0).max(1) as f64 * 1.1;
    svg(260, |root, legend| {
        let mut chart = linear_chart(
            root,
            0f64..end_s,
            0f64..top,
            &Axes {
                x_desc: "simulated time (s)",
                y_desc: "messages",
                y_label_px: 70,
                label: &|v| format!("{v:.0}"),
            },
        )?;
        let layers = by_reason
            .iter()
            .enumerate()
            .map(|(i, (reason, counts))| {
                let color = match reason.as_str() {
                    "loss" => RGBColor(240, 160, 60),
                    "partition" => CUT,
                    "down" => CRASH,
                    _ => {
                        let (r, g, b) = Palette99::pick(i).rgb();
                        RGBColor(r, g, b)
                    }
                };
                (reason.clone(), color, counts.as_slice())
            })
            .collect();
        stacked_bars(&mut chart, legend, layers, width, 0.0)?;
        Ok(())
    })
}

/// Colour of a Snowball state.
pub fn snowball_color(state: &str) -> RGBColor {
    match state {
        "pool_wait" => RGBColor(200, 200, 200),
        "shared_keying" => RGBColor(120, 170, 230),
        "commitment" => RGBColor(70, 120, 180),
        "cloaked_vals" => RGBColor(150, 80, 200),
        "signature" => RGBColor(235, 140, 0),
        "secret_keying" => RGBColor(220, 190, 0),
        _ => RGBColor(140, 140, 140),
    }
}

/// Snowball rounds: one row per node that took part (at most [`TIMELINE_ROWS_MAX`]), each
/// round's phases as coloured spans, a green triangle where it succeeded, a red cross where
/// it failed.
pub fn snowball_rounds(run: &SimRun) -> Result<String, Error> {
    let mut nodes: Vec<u32> = run.snowball.iter().map(|r| r.node).collect();
    nodes.sort_unstable();
    nodes.dedup();
    nodes.truncate(TIMELINE_ROWS_MAX as usize);
    let rows = nodes.len().max(1) as u32;
    let row_of = |n: u32| {
        nodes
            .iter()
            .position(|m| *m == n)
            .map(|i| (rows - 1 - i as u32) as f64)
    };
    let end_s = secs(run.summary.duration_ns).max(1e-3);
    // Tall enough for the legend's ten entries.
    let height = (90 + 26 * rows).max(250);
    let label = |i: u32| {
        nodes
            .get(i as usize)
            .map(|n| format!("node {n}"))
            .unwrap_or_default()
    };
    svg(height, |root, legend| {
        let mut chart = row_chart(root, end_s, rows, 80, &label)?;
        snowball_phases(&mut chart, legend, run, &row_of)?;
        snowball_outcomes(&mut chart, legend, run, &row_of)
    })
}

/// Each round's phases as spans coloured by state, on its node's row (`row_of`).
fn snowball_phases(
    chart: &mut LinearChart<'_, '_>,
    legend: &mut Legend,
    run: &SimRun,
    row_of: &dyn Fn(u32) -> Option<f64>,
) -> Result<(), Error> {
    for state in crate::sim::SNOWBALL_STATES {
        let color = snowball_color(state);
        let rects: Vec<_> = run
            .snowball
            .iter()
            .filter_map(|r| row_of(r.node).map(|y| (r, y)))
            .flat_map(|(r, y)| {
                r.phases.iter().filter(|p| p.state == state).map(move |p| {
                    Rectangle::new(
                        [(secs(p.from_ns), y - 0.3), (secs(p.to_ns), y + 0.3)],
                        color.filled(),
                    )
                })
            })
            .collect();
        layer(chart, legend, rects, state, Mark::Box(color.to_rgba()))?;
    }
    Ok(())
}

/// Where each round ended: a green triangle when it succeeded, a red cross when it failed.
fn snowball_outcomes(
    chart: &mut LinearChart<'_, '_>,
    legend: &mut Legend,
    run: &SimRun,
    row_of: &dyn Fn(u32) -> Option<f64>,
) -> Result<(), Error> {
    let green = RGBColor(30, 142, 62);
    let ok: Vec<_> = run
        .snowball
        .iter()
        .filter(|r| r.outcome == Some(true))
        .filter_map(|r| {
            row_of(r.node)
                .map(|y| TriangleMarker::new((secs(r.end_ns), y + 0.3), 6, green.filled()))
        })
        .collect();
    layer(
        chart,
        legend,
        ok,
        "succeeded",
        Mark::Triangle(green.to_rgba()),
    )?;
    let failed: Vec<_> = run
        .snowball
        .iter()
        .filter(|r| r.outcome == Some(false))
        .filter_map(|r| {
            row_of(r.node).map(|y| Cross::new((secs(r.end_ns), y), 7, FAIL.stroke_width(3)))
        })
        .collect();
    layer(chart, legend, failed, "failed", Mark::Cross(FAIL.to_rgba()))
}
