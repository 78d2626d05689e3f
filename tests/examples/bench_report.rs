//! The broker benchmark's report from the results a run left in
//! `target/bench/broker.tsv`: prints the README's markdown table (the same
//! the run printed) and draws the comparison as an SVG chart.
//!
//! ```sh
//! cargo run -p mqtt-integration-tests --example bench_report -- \
//!     target/bench/broker.tsv docs/bench.svg > table.md
//! ```
//!
//! `scripts/bench-report` runs the benchmark, then this, and splices the
//! table into the README. Panels: throughput by QoS (TCP, the stock broker,
//! TLS, MQTT 5.0), client CPU per message, QoS 1 round-trip latency, memory per idle
//! connection; one bar per library, in the same colour everywhere. A
//! figure the run did not produce has no bar.

#[path = "../benches/broker/table.rs"]
mod table;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::error::Error;
use std::path::Path;
use table::{Results, LIBRARIES};

const WIDTH: u32 = 1200;
const HEIGHT: u32 = 1150;
/// One colour per library, in [`LIBRARIES`] order.
const COLOURS: [RGBColor; 4] = [
    RGBColor(31, 119, 180),
    RGBColor(44, 160, 44),
    RGBColor(255, 127, 14),
    RGBColor(148, 103, 189),
];

/// One chart: a group of bars (one per library) per label.
struct Panel {
    title: &'static str,
    unit: &'static str,
    groups: Vec<(String, [f64; 4])>,
}

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [tsv, svg] = args.as_slice() else {
        return Err("usage: bench_report <broker.tsv> <chart.svg>".into());
    };
    let results = Results::read(Path::new(tsv))?;
    if let Some(dir) = Path::new(svg).parent() {
        std::fs::create_dir_all(dir)?;
    }
    draw(&results, Path::new(svg))?;
    print!("{}", table::markdown(&results));
    Ok(())
}

/// The values of `key` in `spec(lib)` for every library.
fn values(r: &Results, spec: impl Fn(&str) -> String, key: &str) -> [f64; 4] {
    LIBRARIES.map(|lib| r.get(&spec(lib), key))
}

fn panels(r: &Results) -> [Panel; 4] {
    let tcp = |q: u8| move |lib: &str| format!("throughput:{lib}:{q}");
    let tls = |q: u8| move |lib: &str| format!("tls-throughput:{lib}:{q}");
    let nagle = |lib: &str| format!("nagle:{lib}:1");
    let latency = |lib: &str| format!("latency:{lib}");
    let idle = |lib: &str| format!("idle:{lib}");
    let mut throughput = Vec::new();
    let mut cpu = Vec::new();
    for q in 0..3 {
        throughput.push((format!("QoS {q}"), values(r, tcp(q), "rate")));
        cpu.push((format!("QoS {q}"), values(r, tcp(q), "cpu_us_per_msg")));
    }
    throughput.push((
        "QoS 1, stock broker (Nagle)".into(),
        values(r, nagle, "rate"),
    ));
    for q in 0..2 {
        throughput.push((format!("TLS QoS {q}"), values(r, tls(q), "rate")));
        cpu.push((format!("TLS QoS {q}"), values(r, tls(q), "cpu_us_per_msg")));
    }
    // The 5.0 phase: mqtt-tokio and rumqttc only, the other bars absent.
    let v5 = |q: u8| move |lib: &str| format!("v5:{lib}:{q}");
    for q in 0..3 {
        throughput.push((format!("5.0 QoS {q}"), values(r, v5(q), "rate")));
        cpu.push((format!("5.0 QoS {q}"), values(r, v5(q), "cpu_us_per_msg")));
    }
    [
        Panel {
            title: "Throughput (higher is better)",
            unit: "messages per second",
            groups: throughput,
        },
        Panel {
            title: "Client CPU per message (lower is better)",
            unit: "µs of CPU per message",
            groups: cpu,
        },
        Panel {
            title: "QoS 1 round trip (lower is better)",
            unit: "µs",
            groups: vec![
                ("p50".into(), values(r, latency, "p50_us")),
                ("p99".into(), values(r, latency, "p99_us")),
            ],
        },
        Panel {
            title: "Memory per idle connection (lower is better)",
            unit: "KiB",
            groups: vec![(
                format!(
                    "{} idle connections",
                    table::count(r.machine("idle_connections"))
                ),
                values(r, idle, "kib_per_conn"),
            )],
        },
    ]
}

fn draw(r: &Results, path: &Path) -> Result<(), Box<dyn Error>> {
    let root = SVGBackend::new(path, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&WHITE)?;
    let title = format!(
        "MQTT clients against mosquitto {} — {} cores ({}), {}",
        r.machine("mosquitto"),
        r.machine("cores"),
        r.machine("cpu"),
        r.machine("date"),
    );
    let centred = |size: i32| {
        ("sans-serif", size)
            .into_font()
            .color(&BLACK)
            .pos(Pos::new(HPos::Center, VPos::Center))
    };
    root.draw(&Text::new(title, (WIDTH as i32 / 2, 22), centred(20)))?;
    let subtitle = format!(
        "{} messages of {} B per throughput run ({} over TLS); \"5.0\": at MQTT 5.0; \
         one process per library and phase; no bar: not measured",
        table::count(r.machine("messages")),
        r.machine("payload_bytes"),
        table::count(r.machine("tls_messages")),
    );
    root.draw(&Text::new(subtitle, (WIDTH as i32 / 2, 46), centred(14)))?;
    legend(&root, 72)?;
    // Throughput and CPU across the whole width, as they have the most
    // groups; latency and idle memory side by side below.
    let body = root.margin(90, 10, 10, 10);
    let rows = body.split_evenly((3, 1));
    let mut areas = vec![rows[0].clone(), rows[1].clone()];
    areas.extend(rows[2].split_evenly((1, 2)));
    for (panel, area) in panels(r).iter().zip(&areas) {
        draw_panel(&root, area, panel)?;
    }
    root.present()?;
    Ok(())
}

/// A swatch and the name of each library, centred on one line at `y`.
fn legend(root: &DrawingArea<SVGBackend, Shift>, y: i32) -> Result<(), Box<dyn Error>> {
    let slot = 170;
    let mut x = WIDTH as i32 / 2 - slot * LIBRARIES.len() as i32 / 2;
    let font = ("sans-serif", 15).into_font().color(&BLACK);
    let font = font.pos(Pos::new(HPos::Left, VPos::Center));
    for (lib, colour) in LIBRARIES.iter().zip(COLOURS) {
        root.draw(&Rectangle::new(
            [(x, y - 7), (x + 14, y + 7)],
            colour.filled(),
        ))?;
        root.draw(&Text::new(*lib, (x + 20, y), font.clone()))?;
        x += slot;
    }
    Ok(())
}

fn draw_panel(
    root: &DrawingArea<SVGBackend, Shift>,
    area: &DrawingArea<SVGBackend, Shift>,
    panel: &Panel,
) -> Result<(), Box<dyn Error>> {
    let max = panel
        .groups
        .iter()
        .flat_map(|(_, v)| v.iter().copied())
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max);
    let top = if max > 0.0 { max * 1.15 } else { 1.0 };
    let groups = panel.groups.len() as f64;
    let mut chart = ChartBuilder::on(area)
        .caption(panel.title, ("sans-serif", 17))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(72)
        .build_cartesian_2d(0.0..groups, 0.0..top)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(0)
        .x_label_formatter(&|_| String::new())
        .y_desc(panel.unit)
        .y_label_formatter(&|v| axis(*v))
        .light_line_style(WHITE)
        .axis_desc_style(("sans-serif", 14))
        .label_style(("sans-serif", 12))
        .draw()?;
    let slots = LIBRARIES.len() as f64;
    let slot = 0.8 / slots;
    let value_font = ("sans-serif", 11)
        .into_font()
        .color(&BLACK)
        .pos(Pos::new(HPos::Center, VPos::Bottom));
    for (g, (label, values)) in panel.groups.iter().enumerate() {
        for (i, (v, colour)) in values.iter().zip(COLOURS).enumerate() {
            if !v.is_finite() {
                continue;
            }
            let x0 = g as f64 + 0.1 + i as f64 * slot;
            let bar = Rectangle::new(
                [(x0 + 0.1 * slot, 0.0), (x0 + 0.9 * slot, *v)],
                colour.filled(),
            );
            chart.draw_series(std::iter::once(bar))?;
            let centre = x0 + slot / 2.0;
            let text = Text::new(short(*v), (centre, *v), value_font.clone());
            chart.draw_series(std::iter::once(text))?;
        }
        let (x, y) = chart.backend_coord(&(g as f64 + 0.5, 0.0));
        let font = ("sans-serif", 14)
            .into_font()
            .color(&BLACK)
            .pos(Pos::new(HPos::Center, VPos::Top));
        root.draw(&Text::new(label.clone(), (x, y + 8), font))?;
    }
    Ok(())
}

/// An axis figure: 120000 as "120k", 2.50 as "2.5".
fn axis(v: f64) -> String {
    if v >= 10_000.0 {
        format!("{:.0}k", v / 1000.0)
    } else {
        let s = format!("{v:.2}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// A compact figure for labels: 109292 as "109k", 7.853 as "7.85".
fn short(v: f64) -> String {
    if v >= 10_000.0 {
        format!("{:.0}k", v / 1000.0)
    } else if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}
