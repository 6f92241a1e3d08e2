//! Just enough of the Prometheus text format (0.0.4) to read `GET /metrics`: samples with
//! their labels; comments, `# HELP`/`# TYPE` and timestamps are skipped.

#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: Vec<(String, String)>,
    pub value: f64,
}

impl Sample {
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Every sample of `text`; malformed lines are skipped.
pub fn parse(text: &str) -> Vec<Sample> {
    text.lines().filter_map(parse_line).collect()
}

fn parse_value(s: &str) -> Option<f64> {
    match s {
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        "NaN" => Some(f64::NAN),
        s => s.parse().ok(),
    }
}

fn parse_line(line: &str) -> Option<Sample> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let name_end = line.find(|c: char| c == '{' || c.is_whitespace())?;
    let name = line[..name_end].to_owned();
    let mut rest = &line[name_end..];
    let mut labels = Vec::new();
    if let Some(after) = rest.strip_prefix('{') {
        let mut chars = after.char_indices().peekable();
        let end;
        loop {
            // Skip separators.
            while chars
                .peek()
                .is_some_and(|(_, c)| *c == ',' || c.is_whitespace())
            {
                chars.next();
            }
            let (start, c) = *chars.peek()?;
            if c == '}' {
                end = start + 1;
                break;
            }
            let eq = after[start..].find('=')? + start;
            let key = after[start..eq].trim().to_owned();
            while chars.peek().is_some_and(|(i, _)| *i <= eq) {
                chars.next();
            }
            if chars.next()?.1 != '"' {
                return None;
            }
            let mut value = String::new();
            loop {
                match chars.next()?.1 {
                    '\\' => match chars.next()?.1 {
                        'n' => value.push('\n'),
                        other => value.push(other),
                    },
                    '"' => break,
                    other => value.push(other),
                }
            }
            labels.push((key, value));
        }
        rest = &after[end..];
    }
    let value = parse_value(rest.split_whitespace().next()?)?;
    Some(Sample {
        name,
        labels,
        value,
    })
}

/// The `q`-quantile (0..1) of a histogram given as cumulative `(upper bound, count)` buckets
/// sorted by bound and ending with `+Inf`, interpolated linearly inside the bucket as
/// Prometheus's `histogram_quantile` does. `None` without observations.
pub fn quantile(q: f64, buckets: &[(f64, f64)]) -> Option<f64> {
    let total = buckets.last()?.1;
    if total <= 0.0 {
        return None;
    }
    let rank = q * total;
    let mut lower = 0.0;
    let mut below = 0.0;
    for (bound, count) in buckets {
        if *count >= rank && *count > below {
            if bound.is_infinite() {
                // Past the last finite bound: that bound is all that is known.
                return Some(lower);
            }
            return Some(lower + (bound - lower) * (rank - below) / (count - below));
        }
        lower = *bound;
        below = *count;
    }
    Some(lower)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_samples_with_labels() {
        let text = "# HELP x y\n# TYPE x counter\n\
                    lamina_invocations_total{function=\"a\",version=\"$LATEST\"} 3\n\
                    lamina_environments{state=\"idle\"} 1 1700000000\n\
                    weird{l=\"q\\\"uo,te}\"} +Inf\n\
                    plain 2.5\n\
                    broken{x=1} 2\n";
        let s = parse(text);
        assert_eq!(s.len(), 4, "{s:?}");
        assert_eq!(s[0].name, "lamina_invocations_total");
        assert_eq!(s[0].label("function"), Some("a"));
        assert_eq!(s[0].label("version"), Some("$LATEST"));
        assert_eq!(s[0].value, 3.0);
        assert_eq!(s[1].value, 1.0);
        assert_eq!(s[2].label("l"), Some("q\"uo,te}"));
        assert!(s[2].value.is_infinite());
        assert_eq!(s[3].name, "plain");
        assert!(s[3].labels.is_empty());
    }

    #[test]
    fn quantiles_interpolate_within_buckets() {
        // 10 observations: 4 under 10 ms, 6 between 10 and 100 ms.
        let b = [(0.01, 4.0), (0.1, 10.0), (f64::INFINITY, 10.0)];
        let p50 = quantile(0.5, &b).unwrap();
        assert!((p50 - 0.025).abs() < 1e-9, "{p50}");
        let p99 = quantile(0.99, &b).unwrap();
        assert!((p99 - 0.0985).abs() < 1e-9, "{p99}");
        assert_eq!(quantile(0.5, &[(0.01, 0.0), (f64::INFINITY, 0.0)]), None);
        // Everything past the last bound.
        assert_eq!(
            quantile(0.5, &[(1.0, 0.0), (f64::INFINITY, 2.0)]),
            Some(1.0)
        );
    }
}
