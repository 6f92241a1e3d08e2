//! Plain-text tables that fit the terminal: when the rows are wider than the screen, the widest
//! column is cut (with `…`) until they fit.

use std::io::IsTerminal;

/// The narrowest a column is cut to.
const MIN_WIDTH: usize = 6;
/// Spaces between columns.
const GAP: usize = 2;

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

pub struct Table {
    headers: Vec<&'static str>,
    align: Vec<Align>,
    rows: Vec<Vec<String>>,
}

/// The width to fit: `$COLUMNS` when set, else the terminal's when stdout is one, else none.
pub fn terminal_width() -> Option<usize> {
    if let Some(n) = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|n| *n > 0)
    {
        return Some(n);
    }
    if std::io::stdout().is_terminal() {
        return crossterm::terminal::size()
            .ok()
            .map(|(w, _)| usize::from(w))
            .filter(|w| *w > 0);
    }
    None
}

fn width_of(s: &str) -> usize {
    s.chars().count()
}

/// `s` cut to `width` characters, the last one `…` when something was cut.
pub fn truncate(s: &str, width: usize) -> String {
    if width_of(s) <= width {
        return s.to_owned();
    }
    if width == 0 {
        return String::new();
    }
    let mut out: String = s.chars().take(width - 1).collect();
    out.push('…');
    out
}

impl Table {
    pub fn new(columns: &[(&'static str, Align)]) -> Self {
        Self {
            headers: columns.iter().map(|(h, _)| *h).collect(),
            align: columns.iter().map(|(_, a)| *a).collect(),
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Column widths fitted into `max` characters (if given).
    fn widths(&self, max: Option<usize>) -> Vec<usize> {
        let mut widths: Vec<usize> = self.headers.iter().map(|h| width_of(h)).collect();
        for row in &self.rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                // Only the first line of a cell is shown.
                *w = (*w).max(width_of(first_line(cell)));
            }
        }
        let Some(max) = max else { return widths };
        loop {
            let total = widths.iter().sum::<usize>() + GAP * widths.len().saturating_sub(1);
            if total <= max {
                return widths;
            }
            let excess = total - max;
            // The widest column that can still give something.
            let Some((i, w)) = widths
                .iter()
                .copied()
                .enumerate()
                .filter(|(_, w)| *w > MIN_WIDTH)
                .max_by_key(|(i, w)| (*w, usize::MAX - i))
            else {
                return widths;
            };
            // Cut it down to the next widest (or by the excess, whichever is less), so that
            // several wide columns share the cut evenly.
            let next = widths
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .map(|(_, w)| *w)
                .filter(|x| *x < w)
                .max()
                .unwrap_or(MIN_WIDTH)
                .max(MIN_WIDTH);
            let cut = excess.min(w - next).max(1);
            widths[i] = w - cut;
        }
    }

    /// The table, fitted to `max` characters wide.
    pub fn render(&self, max: Option<usize>) -> String {
        let widths = self.widths(max);
        let mut out = String::new();
        let headers: Vec<String> = self.headers.iter().map(|h| (*h).to_owned()).collect();
        for row in std::iter::once(&headers).chain(&self.rows) {
            let mut line = String::new();
            for (i, width) in widths.iter().enumerate() {
                let cell = truncate(
                    first_line(row.get(i).map(String::as_str).unwrap_or("")),
                    *width,
                );
                let pad = width.saturating_sub(width_of(&cell));
                if i > 0 {
                    line.push_str(&" ".repeat(GAP));
                }
                match self.align.get(i) {
                    Some(Align::Right) => {
                        line.push_str(&" ".repeat(pad));
                        line.push_str(&cell);
                    }
                    _ => {
                        line.push_str(&cell);
                        line.push_str(&" ".repeat(pad));
                    }
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Table {
        let mut t = Table::new(&[("NAME", Align::Left), ("MEMORY", Align::Right)]);
        t.row(vec!["a-very-long-function-name".into(), "128 MB".into()]);
        t.row(vec!["b".into(), "1024 MB".into()]);
        t
    }

    #[test]
    fn aligns_columns() {
        assert_eq!(
            sample().render(None),
            "NAME                        MEMORY\n\
             a-very-long-function-name   128 MB\n\
             b                          1024 MB\n"
        );
    }

    #[test]
    fn cuts_the_widest_column_to_fit() {
        let out = sample().render(Some(20));
        for line in out.lines() {
            assert!(line.chars().count() <= 20, "{line:?}");
        }
        assert!(out.contains("a-very-lon…   128 MB"), "{out}");
        assert!(out.contains("1024 MB"), "{out}");
    }

    #[test]
    fn never_cuts_below_the_minimum() {
        let out = sample().render(Some(3));
        assert!(out.contains("a-ver…"), "{out}");
    }

    #[test]
    fn truncate_marks_the_cut() {
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(truncate("abc", 4), "abc");
        assert_eq!(truncate("héllo wörld", 6), "héllo…");
    }
}
