//! `chart`: arrivals per second as a filled area, with the
//! acknowledgements sent and the hand-offs (first leases) per second as
//! lines over it, drawn as SVG.
//!
//! Over a long span the periods grow (at most `MAX_POINTS` of them) and
//! the axis says "per N s".

use std::io::Write as _;

use plotters::prelude::*;

use crate::error::Error;
use crate::ledger::Ledger;
use crate::output::Target;
use crate::report::Context;
use crate::stamp::{self, SECOND};

/// The most periods drawn along the time axis.
pub const MAX_POINTS: i64 = 3600;

const SIZE: (u32, u32) = (1000, 520);

/// The three series, counted per period from `start`.
pub struct Curves {
    pub start: i64,
    /// Period length in microseconds.
    pub period: i64,
    pub arrivals: Vec<u64>,
    pub acks: Vec<u64>,
    pub leases: Vec<u64>,
}

/// Count the series. The time axis runs from the first arrival to the
/// last event of any of the three kinds.
pub fn curves(ledger: &Ledger) -> Option<Curves> {
    let s = &ledger.spans;
    let start = stamp::floor(s.arrival.first?, SECOND);
    let end = [s.arrival.last, s.ack.last, s.lease.last]
        .into_iter()
        .flatten()
        .max()?;
    let span_s = (end - start) / SECOND + 1;
    let period = ((span_s + MAX_POINTS - 1) / MAX_POINTS).max(1) * SECOND;
    let n = ((end - start) / period + 1) as usize;
    let mut c = Curves {
        start,
        period,
        arrivals: vec![0; n],
        acks: vec![0; n],
        leases: vec![0; n],
    };
    let slot = |us: i64| {
        let k = (us - start).div_euclid(period);
        (0..n as i64).contains(&k).then_some(k as usize)
    };
    for t in &ledger.tickets {
        let series = [
            (Some(t.key.arrival_us), &mut c.arrivals),
            (t.ack_sent_us(), &mut c.acks),
            (t.leased_us(), &mut c.leases),
        ];
        for (at, counts) in series {
            if let Some(k) = at.and_then(slot) {
                counts[k] += 1;
            }
        }
    }
    Some(c)
}

/// Draw the chart as SVG text.
pub fn draw(ledger: &Ledger) -> Result<String, Error> {
    let mut svg = String::new();
    let drawn = match curves(ledger) {
        Some(c) => render(&c, &mut svg),
        None => render_empty(&mut svg),
    };
    drawn.map_err(|e| Error::Chart(e.to_string()))?;
    Ok(svg)
}

type DrawResult = Result<(), Box<dyn std::error::Error>>;

fn render(c: &Curves, svg: &mut String) -> DrawResult {
    let root = SVGBackend::with_string(svg, SIZE).into_drawing_area();
    root.fill(&WHITE)?;
    let x_max = (c.arrivals.len() as i64 * c.period / SECOND) as f64;
    let y_max = [&c.arrivals, &c.acks, &c.leases]
        .iter()
        .flat_map(|s| s.iter())
        .max()
        .copied()
        .unwrap_or(0)
        .max(1);
    let per = match c.period / SECOND {
        1 => "per second".to_string(),
        n => format!("per {n} s"),
    };
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!("Arrivals, acknowledgements and hand-offs {per}"),
            ("sans-serif", 20),
        )
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(56)
        .build_cartesian_2d(0f64..x_max, 0u64..(y_max + y_max / 20 + 1))?;
    chart
        .configure_mesh()
        .x_label_formatter(&|x| format!("{x:.0}"))
        .x_desc(format!("seconds since {}", stamp::seconds(c.start)))
        .y_desc(format!("messages {per}"))
        .draw()?;
    let step = (c.period / SECOND) as f64;
    let points = |s: &[u64]| -> Vec<(f64, u64)> {
        s.iter()
            .enumerate()
            .map(|(k, &n)| (k as f64 * step, n))
            .collect()
    };
    let blue = RGBColor(70, 110, 190);
    chart
        .draw_series(
            AreaSeries::new(points(&c.arrivals), 0, blue.mix(0.35))
                .border_style(blue),
        )?
        .label("arrivals")
        .legend(move |(x, y)| {
            Rectangle::new(
                [(x, y - 5), (x + 14, y + 5)],
                blue.mix(0.35).filled(),
            )
        });
    let lines = [
        ("acknowledgements sent", RGBColor(40, 150, 70), &c.acks),
        (
            "handed over (first lease)",
            RGBColor(200, 80, 40),
            &c.leases,
        ),
    ];
    for (label, color, series) in lines {
        chart
            .draw_series(LineSeries::new(
                points(series),
                color.stroke_width(2),
            ))?
            .label(label)
            .legend(move |(x, y)| {
                PathElement::new([(x, y), (x + 14, y)], color.stroke_width(2))
            });
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}

/// An empty spool still gets a chart, saying so.
fn render_empty(svg: &mut String) -> DrawResult {
    let root = SVGBackend::with_string(svg, SIZE).into_drawing_area();
    root.fill(&WHITE)?;
    root.draw(&Text::new(
        "No messages in the spool yet",
        (SIZE.0 as i32 / 3, SIZE.1 as i32 / 2),
        ("sans-serif", 20),
    ))?;
    root.present()?;
    Ok(())
}

/// Draw and write the chart (`chart.svg` in an output directory).
pub fn write(ctx: &Context, ledger: &Ledger) -> Result<(), Error> {
    let svg = draw(ledger)?;
    let mut target = Target::open(&ctx.dest, "chart.svg")?;
    target
        .write_all(svg.as_bytes())
        .map_err(|e| Error::write(target.name(), e))?;
    target.finish()
}
