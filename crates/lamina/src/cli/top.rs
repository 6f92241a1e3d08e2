//! `lamina top`: live per-function invocations and errors per second, concurrency and p50/p99
//! latency, refreshed every second from `GET /metrics` (rates from counter deltas, latency
//! from the deltas of the duration histogram's buckets) and the admin endpoints (execution
//! environments, async queue). `q`, Esc or Ctrl-C quits; `--once` prints one frame measured
//! over one interval and exits.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use crossterm::event::{Event, KeyCode, KeyEventKind, KeyModifiers};
use serde_json::{Value, json};

use super::client::{Client, Connection};
use super::prom::{self, Sample};
use super::table::{Align, Table, terminal_width, truncate};
use super::{Output, OutputArg};

#[derive(Args)]
pub struct TopArgs {
    /// Print one frame (measured over one interval) and exit.
    #[arg(long)]
    pub once: bool,
    /// Seconds between refreshes.
    #[arg(long, short = 'i', default_value_t = 1.0,
          value_parser = parse_interval)]
    pub interval: f64,
    #[command(flatten)]
    pub output: OutputArg,
    #[command(flatten)]
    pub connection: Connection,
}

fn parse_interval(s: &str) -> Result<f64, String> {
    match s.trim_end_matches('s').parse::<f64>() {
        Ok(v) if (0.1..=3600.0).contains(&v) => Ok(v),
        _ => Err(format!(
            "{s:?}: give seconds between 0.1 and 3600, such as 1 or 0.5"
        )),
    }
}

/// One function's counters at one moment (its versions added up).
#[derive(Debug, Default, Clone)]
struct Counters {
    invocations: f64,
    errors: f64,
    throttles: f64,
    concurrency: f64,
    /// Cumulative duration buckets: upper bound (seconds) -> count.
    buckets: Vec<(f64, f64)>,
}

/// Everything read in one refresh.
struct Snapshot {
    at: Instant,
    functions: BTreeMap<String, Counters>,
    environments: Value,
    async_queue: Value,
}

/// Adds the samples of `/metrics` up per function.
fn counters(samples: &[Sample]) -> BTreeMap<String, Counters> {
    let mut out: BTreeMap<String, Counters> = BTreeMap::new();
    for s in samples {
        let Some(function) = s.label("function") else {
            continue;
        };
        let field = match s.name.as_str() {
            "lamina_invocations_total" => |c: &mut Counters, v| c.invocations += v,
            "lamina_errors_total" => |c: &mut Counters, v| c.errors += v,
            "lamina_throttles_total" => |c: &mut Counters, v| c.throttles += v,
            "lamina_concurrent_executions" => |c: &mut Counters, v| c.concurrency += v,
            "lamina_duration_seconds_bucket" => {
                let Some(le) = s.label("le").and_then(|l| match l {
                    "+Inf" => Some(f64::INFINITY),
                    l => l.parse::<f64>().ok(),
                }) else {
                    continue;
                };
                let c = out.entry(function.to_owned()).or_default();
                match c.buckets.iter_mut().find(|(b, _)| *b == le) {
                    Some((_, n)) => *n += s.value,
                    None => c.buckets.push((le, s.value)),
                }
                continue;
            }
            _ => continue,
        };
        field(out.entry(function.to_owned()).or_default(), s.value);
    }
    for c in out.values_mut() {
        c.buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    }
    out
}

async fn snapshot(client: &Client) -> anyhow::Result<Snapshot> {
    let (metrics, environments, async_queue) = tokio::join!(
        client.get("/metrics"),
        client.get_json("/_lamina/admin/environments"),
        client.get_json("/_lamina/admin/async"),
    );
    let (_, metrics) = metrics?;
    let text = std::str::from_utf8(&metrics).context("/metrics is not UTF-8")?;
    Ok(Snapshot {
        at: Instant::now(),
        functions: counters(&prom::parse(text)),
        // The admin endpoints only add context: a failure there leaves the figures blank.
        environments: environments.unwrap_or(Value::Null),
        async_queue: async_queue.unwrap_or(Value::Null),
    })
}

/// One function's line of a frame.
#[derive(Debug, Clone, PartialEq)]
struct Row {
    function: String,
    invocations_per_sec: f64,
    errors_per_sec: f64,
    throttles_per_sec: f64,
    concurrency: f64,
    p50: Option<f64>,
    p99: Option<f64>,
    invocations: f64,
    errors: f64,
}

/// `now - before`, or `now` when the counter went backwards (the server restarted).
fn delta(now: f64, before: f64) -> f64 {
    if now >= before { now - before } else { now }
}

fn rows(before: &Snapshot, now: &Snapshot) -> Vec<Row> {
    let secs = now.at.duration_since(before.at).as_secs_f64().max(1e-3);
    let empty = Counters::default();
    let mut rows: Vec<Row> = now
        .functions
        .iter()
        .map(|(name, c)| {
            let b = before.functions.get(name).unwrap_or(&empty);
            let reset = c.invocations < b.invocations;
            let buckets: Vec<(f64, f64)> = c
                .buckets
                .iter()
                .map(|(le, n)| {
                    let prev = if reset {
                        0.0
                    } else {
                        b.buckets
                            .iter()
                            .find(|(x, _)| x == le)
                            .map_or(0.0, |(_, p)| *p)
                    };
                    (*le, delta(*n, prev))
                })
                .collect();
            Row {
                function: name.clone(),
                invocations_per_sec: delta(c.invocations, b.invocations) / secs,
                errors_per_sec: delta(c.errors, b.errors) / secs,
                throttles_per_sec: delta(c.throttles, b.throttles) / secs,
                concurrency: c.concurrency,
                p50: prom::quantile(0.5, &buckets),
                p99: prom::quantile(0.99, &buckets),
                invocations: c.invocations,
                errors: c.errors,
            }
        })
        .collect();
    rows.sort_by(|a, b| {
        b.invocations_per_sec
            .total_cmp(&a.invocations_per_sec)
            .then(b.concurrency.total_cmp(&a.concurrency))
            .then(b.invocations.total_cmp(&a.invocations))
            .then(a.function.cmp(&b.function))
    });
    rows
}

fn latency(secs: Option<f64>) -> String {
    match secs {
        None => "-".to_owned(),
        Some(s) if s < 0.01 => format!("{:.1}ms", s * 1000.0),
        Some(s) if s < 10.0 => format!("{:.0}ms", s * 1000.0),
        Some(s) => format!("{s:.1}s"),
    }
}

fn rate(r: f64) -> String {
    if r == 0.0 {
        "0".to_owned()
    } else {
        format!("{r:.1}")
    }
}

fn count(v: f64) -> String {
    format!("{v:.0}")
}

/// The lines above the table: environments and the async queue.
fn summary(now: &Snapshot) -> String {
    let e = &now.environments;
    let q = &now.async_queue;
    let n = |v: &Value| v.as_u64().map_or_else(|| "?".to_owned(), |n| n.to_string());
    format!(
        "environments: {} live, {} idle   in flight: {}   async queue: {} (oldest {} s, {} failed)",
        n(&e["Live"]),
        n(&e["Idle"]),
        n(&e["InFlight"]),
        n(&q["Depth"]),
        n(&q["OldestEventAgeSeconds"]),
        n(&q["Failed"]),
    )
}

fn table(rows: &[Row]) -> Table {
    let mut t = Table::new(&[
        ("FUNCTION", Align::Left),
        ("INV/S", Align::Right),
        ("ERR/S", Align::Right),
        ("THROTTLE/S", Align::Right),
        ("CONC", Align::Right),
        ("P50", Align::Right),
        ("P99", Align::Right),
        ("INVOCATIONS", Align::Right),
        ("ERRORS", Align::Right),
    ]);
    for r in rows {
        t.row(vec![
            r.function.clone(),
            rate(r.invocations_per_sec),
            rate(r.errors_per_sec),
            rate(r.throttles_per_sec),
            count(r.concurrency),
            latency(r.p50),
            latency(r.p99),
            count(r.invocations),
            count(r.errors),
        ]);
    }
    t
}

/// A frame as text lines, `height` rows at most (when known).
fn frame_text(
    endpoint: &str,
    before: &Snapshot,
    now: &Snapshot,
    width: Option<usize>,
    height: Option<usize>,
    interactive: bool,
) -> Vec<String> {
    let rows = rows(before, now);
    let clock = time::OffsetDateTime::now_utc();
    let mut lines = vec![
        format!(
            "lamina top  {endpoint}  {:02}:{:02}:{:02} UTC{}",
            clock.hour(),
            clock.minute(),
            clock.second(),
            if interactive { "  (q to quit)" } else { "" }
        ),
        summary(now),
        String::new(),
    ];
    if rows.is_empty() {
        lines.push("no invocations since the server started".to_owned());
    } else {
        lines.extend(table(&rows).render(width).lines().map(str::to_owned));
    }
    if let Some(h) = height {
        lines.truncate(h.max(1));
    }
    // Columns that could not be cut further must not wrap and scroll the header away.
    if let Some(w) = width {
        for line in &mut lines {
            *line = truncate(line, w);
        }
    }
    lines
}

fn frame_json(before: &Snapshot, now: &Snapshot) -> Value {
    let ms = |s: Option<f64>| s.map(|s| s * 1000.0);
    json!({
        "IntervalSeconds": now.at.duration_since(before.at).as_secs_f64(),
        "Environments": now.environments,
        "AsyncQueue": now.async_queue,
        "Functions": rows(before, now).iter().map(|r| json!({
            "FunctionName": r.function,
            "InvocationsPerSecond": r.invocations_per_sec,
            "ErrorsPerSecond": r.errors_per_sec,
            "ThrottlesPerSecond": r.throttles_per_sec,
            "ConcurrentExecutions": r.concurrency,
            "P50Ms": ms(r.p50),
            "P99Ms": ms(r.p99),
            "Invocations": r.invocations,
            "Errors": r.errors,
        })).collect::<Vec<_>>(),
    })
}

/// Raw mode and the alternate screen while it lives.
struct Screen;

impl Screen {
    fn enter() -> anyhow::Result<Self> {
        crossterm::terminal::enable_raw_mode()?;
        let screen = Self;
        crossterm::execute!(
            std::io::stdout(),
            crossterm::terminal::EnterAlternateScreen,
            crossterm::cursor::Hide
        )?;
        Ok(screen)
    }

    fn draw(lines: &[String]) -> std::io::Result<()> {
        let mut out = std::io::stdout().lock();
        crossterm::queue!(
            out,
            crossterm::cursor::MoveTo(0, 0),
            crossterm::terminal::Clear(crossterm::terminal::ClearType::All)
        )?;
        // Raw mode: a newline does not return the carriage.
        out.write_all(lines.join("\r\n").as_bytes())?;
        out.flush()
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        let _ = crossterm::execute!(
            std::io::stdout(),
            crossterm::cursor::Show,
            crossterm::terminal::LeaveAlternateScreen
        );
        let _ = crossterm::terminal::disable_raw_mode();
    }
}

/// Waits up to `timeout` for a key; true when it asks to quit.
fn wait_for_quit(timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match crossterm::event::poll(left) {
            Ok(true) => {}
            Ok(false) => return false,
            Err(_) => {
                std::thread::sleep(left);
                return false;
            }
        }
        if let Ok(Event::Key(key)) = crossterm::event::read()
            && key.kind != KeyEventKind::Release
        {
            let ctrl_c = key.modifiers.contains(KeyModifiers::CONTROL)
                && matches!(key.code, KeyCode::Char('c' | 'C'));
            if ctrl_c || matches!(key.code, KeyCode::Char('q' | 'Q') | KeyCode::Esc) {
                return true;
            }
        }
    }
}

pub async fn run(args: TopArgs) -> anyhow::Result<()> {
    let client = args.connection.connect()?;
    let interval = Duration::from_secs_f64(args.interval);
    let mut before = snapshot(&client).await?;

    if args.once {
        tokio::time::sleep(interval).await;
        let now = snapshot(&client).await?;
        return match args.output.output {
            Output::Json => super::out_json(&frame_json(&before, &now)),
            Output::Text => {
                let lines = frame_text(
                    &client.endpoint,
                    &before,
                    &now,
                    terminal_width(),
                    None,
                    false,
                );
                super::out(&lines.join("\n"))?;
                Ok(())
            }
        };
    }

    let interactive = args.output.output == Output::Text
        && std::io::stdout().is_terminal()
        && std::io::stdin().is_terminal();
    if !interactive {
        // A stream of frames (text separated by blank lines, or one JSON object a line).
        loop {
            tokio::select! {
                () = tokio::time::sleep(interval) => {}
                _ = tokio::signal::ctrl_c() => return Ok(()),
            }
            let now = snapshot(&client).await?;
            match args.output.output {
                Output::Json => super::out(&frame_json(&before, &now).to_string())?,
                Output::Text => {
                    let lines = frame_text(
                        &client.endpoint,
                        &before,
                        &now,
                        terminal_width(),
                        None,
                        false,
                    );
                    super::out(&format!("{}\n", lines.join("\n")))?;
                }
            }
            before = now;
        }
    }

    let _screen = Screen::enter()?;
    Screen::draw(&["lamina top: reading metrics ...".to_owned()])?;
    loop {
        if tokio::task::spawn_blocking(move || wait_for_quit(interval)).await? {
            return Ok(());
        }
        let now = match snapshot(&client).await {
            Ok(s) => s,
            Err(e) => {
                Screen::draw(&[format!("lamina top: {e:#}"), "(q to quit)".to_owned()])?;
                continue;
            }
        };
        let (w, h) = crossterm::terminal::size().unwrap_or((80, 24));
        let lines = frame_text(
            &client.endpoint,
            &before,
            &now,
            Some(usize::from(w)),
            Some(usize::from(h)),
            true,
        );
        Screen::draw(&lines)?;
        before = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(at: Instant, text: &str) -> Snapshot {
        Snapshot {
            at,
            functions: counters(&prom::parse(text)),
            environments: json!({"Live": 2, "Idle": 1, "InFlight": 1}),
            async_queue: json!({"Depth": 0, "OldestEventAgeSeconds": 0, "Failed": 0}),
        }
    }

    const BEFORE: &str = "\
lamina_invocations_total{function=\"a\",version=\"$LATEST\"} 10
lamina_invocations_total{function=\"a\",version=\"1\"} 5
lamina_errors_total{function=\"a\",version=\"$LATEST\"} 1
lamina_duration_seconds_bucket{function=\"a\",version=\"$LATEST\",le=\"0.01\"} 10
lamina_duration_seconds_bucket{function=\"a\",version=\"$LATEST\",le=\"0.1\"} 10
lamina_duration_seconds_bucket{function=\"a\",version=\"$LATEST\",le=\"+Inf\"} 10
lamina_invocations_total{function=\"b\",version=\"$LATEST\"} 3
";

    const AFTER: &str = "\
lamina_invocations_total{function=\"a\",version=\"$LATEST\"} 20
lamina_invocations_total{function=\"a\",version=\"1\"} 5
lamina_errors_total{function=\"a\",version=\"$LATEST\"} 3
lamina_concurrent_executions{function=\"a\",version=\"$LATEST\"} 2
lamina_duration_seconds_bucket{function=\"a\",version=\"$LATEST\",le=\"0.01\"} 10
lamina_duration_seconds_bucket{function=\"a\",version=\"$LATEST\",le=\"0.1\"} 20
lamina_duration_seconds_bucket{function=\"a\",version=\"$LATEST\",le=\"+Inf\"} 20
lamina_invocations_total{function=\"b\",version=\"$LATEST\"} 3
lamina_environments{state=\"live\"} 2
";

    #[test]
    fn rates_and_latency_come_from_deltas() {
        let t0 = Instant::now();
        let before = snap(t0, BEFORE);
        let now = snap(t0 + Duration::from_secs(2), AFTER);
        let rows = rows(&before, &now);
        assert_eq!(rows.len(), 2);
        let a = &rows[0];
        assert_eq!(a.function, "a");
        assert!((a.invocations_per_sec - 5.0).abs() < 1e-9);
        assert!((a.errors_per_sec - 1.0).abs() < 1e-9);
        assert_eq!(a.concurrency, 2.0);
        assert_eq!(a.invocations, 25.0);
        // The 10 new observations all fell between 10 and 100 ms: the old ones don't count.
        let p50 = a.p50.unwrap();
        assert!((p50 - 0.055).abs() < 1e-9, "{p50}");
        assert_eq!(rows[1].function, "b");
        assert_eq!(rows[1].invocations_per_sec, 0.0);
        assert_eq!(rows[1].p50, None);

        let text = frame_text("http://x", &before, &now, None, None, false).join("\n");
        let narrow = frame_text("http://x", &before, &now, Some(30), Some(4), false);
        assert_eq!(narrow.len(), 4);
        assert!(narrow.iter().all(|l| l.chars().count() <= 30), "{narrow:?}");
        assert!(text.contains("environments: 2 live, 1 idle"), "{text}");
        assert!(text.contains("FUNCTION"), "{text}");
        let json = frame_json(&before, &now);
        assert_eq!(json["Functions"][0]["FunctionName"], "a");
        assert_eq!(json["Functions"][1]["P50Ms"], Value::Null);
    }

    #[test]
    fn a_restarted_server_does_not_go_negative() {
        let t0 = Instant::now();
        let before = snap(t0, AFTER);
        let now = snap(t0 + Duration::from_secs(1), BEFORE);
        let rows = rows(&before, &now);
        assert!(rows.iter().all(|r| r.invocations_per_sec >= 0.0));
    }

    #[test]
    fn formats() {
        assert_eq!(latency(Some(0.0005)), "0.5ms");
        assert_eq!(latency(Some(0.25)), "250ms");
        assert_eq!(latency(Some(12.0)), "12.0s");
        assert_eq!(rate(0.0), "0");
        assert_eq!(rate(2.26), "2.3");
        assert!(parse_interval("0.5").is_ok());
        assert!(parse_interval("1s").is_ok());
        assert!(parse_interval("0").is_err());
    }
}
