//! Space-delimited filter patterns, as AWS documents them in "Using filter patterns to match
//! terms in space-delimited log events":
//!
//! - The event is cut into fields at runs of whitespace; text between double quotes (`"…"`)
//!   or square brackets (`[…]`) is one field, without its quotes or brackets (AWS's extracted
//!   `$request` is `GET /index.html HTTP/1.0`). A quote or bracket left open is plain text.
//! - The pattern, enclosed in `[ ]`, names the fields in order, separated by commas:
//!   `[ip, user, username, timestamp, request, status_code, bytes]`. An empty entry
//!   (`[..., status_code=4*,]`) is an unnamed field. `...` stands for any number of fields,
//!   none included, and may appear more than once. Without `...`, a pattern of N fields
//!   matches only the events of exactly N fields.
//! - A field may carry a condition on its own value: `=`, `!=` with a number, a string (bare
//!   or quoted; `*` is a wildcard: `request = *.html*`, `status_code = 4*`) or a regular
//!   expression (`ip = %127\.0\.0\.[1-9]%`, found anywhere in the field like a standalone
//!   `%regex%`); `<`, `<=`, `>`, `>=` with a number only. A number compares numerically with
//!   a numeric field (`= 200` matches `200.0`) and otherwise as text; an ordering against a
//!   field that is not a number is false. Conditions on the same field are joined by `&&`
//!   and `||` (`&&` binds tighter): `status_code = 404 || status_code = 410`,
//!   `w1!=ERROR && w1!=WARNING`. A condition naming another field
//!   (`status_code = 4* && bytes > 1000`, from AWS's older page) is refused: the console
//!   answers "Invalid filter pattern" to it (awsdocs/amazon-cloudwatch-logs-user-guide#21).
//! - At most two regular expressions per pattern (AWS's quota for delimited patterns).
//!
//! The exact field count follows AWS's older page, where `[w1=ERROR, w2]` matches
//! `ERROR message` but not `ERROR WARN message`. The current page also shows `[w1=ERROR, w2]`
//! returning sample events of six and seven fields, which no field count reconciles with the
//! former; here those events need `[w1=ERROR, ...]`.

use regex::Regex;

use super::json::{Op, glob};
use super::{PatternError, build_regex, err};

/// AWS: "a limit of 2 regex for each filter pattern when creating a delimited or JSON filter
/// pattern".
const MAX_REGEXES: usize = 2;

/// A parsed space-delimited pattern: its entries in order.
#[derive(Debug)]
pub struct SpacePattern {
    entries: Vec<Entry>,
}

#[derive(Debug)]
enum Entry {
    /// `...`: any number of fields.
    Ellipsis,
    /// One field, named or not, with an optional condition on its value.
    Field {
        name: Option<String>,
        condition: Option<Cond>,
    },
}

#[derive(Debug)]
enum Cond {
    And(Box<Cond>, Box<Cond>),
    Or(Box<Cond>, Box<Cond>),
    Test(Op, Value),
}

#[derive(Debug)]
enum Value {
    /// A number and its text as written (compared as text with a non-numeric field).
    Number(f64, String),
    /// A string, `*` being a wildcard.
    Text(String),
    Regex(Regex),
}

pub fn parse(pattern: &str) -> Result<SpacePattern, PatternError> {
    let mut p = Parser {
        chars: pattern.chars().collect(),
        at: 0,
        regexes: 0,
    };
    p.skip_blanks();
    if p.peek() != Some('[') {
        return err("a space-delimited filter pattern is enclosed in [ ]");
    }
    p.at += 1;
    let mut entries = Vec::new();
    loop {
        p.skip_blanks();
        entries.push(p.entry()?);
        p.skip_blanks();
        match p.next() {
            Some(',') => {}
            Some(']') => break,
            Some(c) => {
                return err(format!(
                    "unexpected '{c}' in space-delimited filter pattern (fields are separated by commas)"
                ));
            }
            None => return err("missing ']' at the end of the space-delimited filter pattern"),
        }
    }
    p.skip_blanks();
    if p.peek().is_some() {
        return err("unexpected text after ']' in space-delimited filter pattern");
    }
    if let [Entry::Field { name: None, .. }] = entries.as_slice() {
        return err("a space-delimited filter pattern names at least one field");
    }
    Ok(SpacePattern { entries })
}

/// Letters, digits, `_` and `-` make up a field name.
fn is_name_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '-'
}

struct Parser {
    chars: Vec<char>,
    at: usize,
    regexes: usize,
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.at).copied()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek();
        self.at += 1;
        c
    }

    fn looking_at(&self, s: &str) -> bool {
        s.chars()
            .enumerate()
            .all(|(k, c)| self.chars.get(self.at + k) == Some(&c))
    }

    fn skip_blanks(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.at += 1;
        }
    }

    /// Whether the entry ends here (before `,`, `]` or the end of the text).
    fn at_entry_end(&self) -> bool {
        matches!(self.peek(), None | Some(',' | ']'))
    }

    fn entry(&mut self) -> Result<Entry, PatternError> {
        if self.looking_at("...") {
            self.at += 3;
            self.skip_blanks();
            if !self.at_entry_end() {
                return err("'...' stands alone between commas in space-delimited filter pattern");
            }
            return Ok(Entry::Ellipsis);
        }
        if self.at_entry_end() {
            return Ok(Entry::Field {
                name: None,
                condition: None,
            });
        }
        // Look at the name without taking it: every test of the condition repeats it.
        let start = self.at;
        let name = self.name()?;
        self.skip_blanks();
        if self.at_entry_end() {
            return Ok(Entry::Field {
                name: Some(name),
                condition: None,
            });
        }
        self.at = start;
        let condition = self.or(&name)?;
        Ok(Entry::Field {
            name: Some(name),
            condition: Some(condition),
        })
    }

    fn name(&mut self) -> Result<String, PatternError> {
        let start = self.at;
        while self.peek().is_some_and(is_name_char) {
            self.at += 1;
        }
        if self.at == start {
            return match self.peek() {
                Some(c) => err(format!(
                    "expected a field name, found '{c}' in space-delimited filter pattern"
                )),
                None => err("missing ']' at the end of the space-delimited filter pattern"),
            };
        }
        Ok(self.chars[start..self.at].iter().collect())
    }

    fn or(&mut self, field: &str) -> Result<Cond, PatternError> {
        let mut left = self.and(field)?;
        loop {
            self.skip_blanks();
            if !self.looking_at("||") {
                return Ok(left);
            }
            self.at += 2;
            left = Cond::Or(Box::new(left), Box::new(self.and(field)?));
        }
    }

    fn and(&mut self, field: &str) -> Result<Cond, PatternError> {
        let mut left = self.test(field)?;
        loop {
            self.skip_blanks();
            if !self.looking_at("&&") {
                return Ok(left);
            }
            self.at += 2;
            left = Cond::And(Box::new(left), Box::new(self.test(field)?));
        }
    }

    /// `name op value`, where `name` is the field the condition belongs to.
    fn test(&mut self, field: &str) -> Result<Cond, PatternError> {
        self.skip_blanks();
        let name = self.name()?;
        if name != field {
            return err(format!(
                "the condition of field '{field}' tests '{name}': a field's condition can only test that field"
            ));
        }
        self.skip_blanks();
        let op = self.op(field)?;
        self.skip_blanks();
        let value = self.value(op, field)?;
        Ok(Cond::Test(op, value))
    }

    fn op(&mut self, field: &str) -> Result<Op, PatternError> {
        let (op, len) = match (self.peek(), self.chars.get(self.at + 1).copied()) {
            (Some('!'), Some('=')) => (Op::Ne, 2),
            (Some('<'), Some('=')) => (Op::Le, 2),
            (Some('>'), Some('=')) => (Op::Ge, 2),
            (Some('<'), _) => (Op::Lt, 1),
            (Some('>'), _) => (Op::Gt, 1),
            (Some('='), _) => (Op::Eq, 1),
            _ => {
                return err(format!(
                    "expected a comparison (=, !=, <, <=, >, >=) after field '{field}'"
                ));
            }
        };
        self.at += len;
        Ok(op)
    }

    fn value(&mut self, op: Op, field: &str) -> Result<Value, PatternError> {
        let ordering = !matches!(op, Op::Eq | Op::Ne);
        let numbers_only = || {
            err(format!(
                "field '{field}': the operators <, <=, > and >= compare numbers only"
            ))
        };
        match self.peek() {
            Some('"') => {
                self.at += 1;
                let mut text = String::new();
                loop {
                    match self.next() {
                        None => return err("unterminated quoted string in filter pattern"),
                        Some('"') => break,
                        Some('\\') if matches!(self.peek(), Some('"' | '\\')) => {
                            text.extend(self.next());
                        }
                        Some(c) => text.push(c),
                    }
                }
                if ordering {
                    return numbers_only();
                }
                Ok(Value::Text(text))
            }
            Some('%') => {
                let start = self.at + 1;
                let Some(len) = self.chars[start..].iter().position(|c| *c == '%') else {
                    return err("unterminated regular expression (%...%) in filter pattern");
                };
                let source: String = self.chars[start..start + len].iter().collect();
                self.at = start + len + 1;
                if ordering {
                    return numbers_only();
                }
                self.regexes += 1;
                if self.regexes > MAX_REGEXES {
                    return err(format!(
                        "a space-delimited filter pattern has at most {MAX_REGEXES} regular expressions"
                    ));
                }
                Ok(Value::Regex(build_regex(&source)?))
            }
            _ => {
                let start = self.at;
                while let Some(c) = self.peek() {
                    if c.is_whitespace()
                        || matches!(c, ',' | ']')
                        || self.looking_at("&&")
                        || self.looking_at("||")
                    {
                        break;
                    }
                    self.at += 1;
                }
                if self.at == start {
                    return err(format!("expected a value to compare field '{field}' with"));
                }
                let text: String = self.chars[start..self.at].iter().collect();
                match number(&text) {
                    Some(n) => Ok(Value::Number(n, text)),
                    None if ordering => numbers_only(),
                    None => Ok(Value::Text(text)),
                }
            }
        }
    }
}

/// A finite number, as a field or a bare value (`1534`, `-2.5`, `+1000`, `1e3`).
fn number(text: &str) -> Option<f64> {
    text.parse::<f64>().ok().filter(|n| n.is_finite())
}

/// Cuts an event into fields: runs of whitespace separate them, and `"…"` or `[…]` at the start
/// of a field is one field (without the quotes or brackets; `\"` does not close a quote).
fn fields(message: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = message.trim_start();
    while !rest.is_empty() {
        let closing = match rest.as_bytes().first() {
            Some(b'"') => closing_quote(&rest[1..]),
            Some(b'[') => rest[1..].find(']'),
            _ => None,
        };
        let after = match closing {
            // `"` and `[`/`]` are one byte each.
            Some(end) => {
                out.push(&rest[1..1 + end]);
                &rest[end + 2..]
            }
            None => {
                let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
                out.push(&rest[..end]);
                &rest[end..]
            }
        };
        rest = after.trim_start();
    }
    out
}

/// The byte offset of the `"` that closes a quoted field, skipping `\`-escaped characters.
fn closing_quote(text: &str) -> Option<usize> {
    let mut chars = text.char_indices();
    while let Some((at, c)) = chars.next() {
        match c {
            '"' => return Some(at),
            '\\' => {
                chars.next();
            }
            _ => {}
        }
    }
    None
}

impl SpacePattern {
    pub fn matches(&self, message: &str) -> bool {
        let fields = fields(message);
        let n = fields.len();
        // reach[j]: the entries so far can cover exactly the first j fields.
        let mut reach = vec![false; n + 1];
        reach[0] = true;
        for entry in &self.entries {
            let mut next = vec![false; n + 1];
            match entry {
                Entry::Ellipsis => {
                    let mut seen = false;
                    for (j, slot) in next.iter_mut().enumerate() {
                        seen |= reach[j];
                        *slot = seen;
                    }
                }
                Entry::Field { condition, .. } => {
                    for j in 1..=n {
                        next[j] = reach[j - 1]
                            && condition.as_ref().is_none_or(|c| c.eval(fields[j - 1]));
                    }
                }
            }
            if !next.contains(&true) {
                return false;
            }
            reach = next;
        }
        reach[n]
    }
}

impl Cond {
    fn eval(&self, field: &str) -> bool {
        match self {
            Cond::And(a, b) => a.eval(field) && b.eval(field),
            Cond::Or(a, b) => a.eval(field) || b.eval(field),
            Cond::Test(Op::Eq, value) => value.equals(field),
            Cond::Test(Op::Ne, value) => !value.equals(field),
            Cond::Test(op, value) => {
                let (Value::Number(n, _), Some(v)) = (value, number(field)) else {
                    return false;
                };
                op.orders(v, *n)
            }
        }
    }
}

impl Value {
    fn equals(&self, field: &str) -> bool {
        match self {
            Value::Number(n, text) => number(field) == Some(*n) || field == text,
            Value::Text(pattern) => glob(pattern, field),
            Value::Regex(regex) => regex.is_match(field),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs_api::pattern::FilterPattern;

    fn m(pattern: &str, message: &str) -> bool {
        FilterPattern::parse(pattern)
            .unwrap_or_else(|e| panic!("{pattern}: {e}"))
            .matches(message)
    }

    /// AWS's example event: seven fields (ip, user, username, timestamp, request, status_code,
    /// bytes).
    const EVENT: &str =
        r#"127.0.0.1 Prod frank [10/Oct/2000:13:25:15 -0700] "GET /index.html HTTP/1.0" 404 1534"#;

    fn event(ip: &str, request: &str, status: &str, bytes: &str) -> String {
        format!(
            r#"{ip} Prod frank [10/Oct/2000:13:25:15 -0700] "GET {request} HTTP/1.0" {status} {bytes}"#
        )
    }

    #[test]
    fn quoted_and_bracketed_text_are_single_fields() {
        assert_eq!(
            fields(EVENT),
            [
                "127.0.0.1",
                "Prod",
                "frank",
                "10/Oct/2000:13:25:15 -0700",
                "GET /index.html HTTP/1.0",
                "404",
                "1534"
            ]
        );
        assert_eq!(fields("  a \t b  "), ["a", "b"]);
        assert_eq!(fields(""), Vec::<&str>::new());
        assert_eq!(fields(r#""say \"hi\"" x"#), [r#"say \"hi\""#, "x"]);
        assert_eq!(fields(r#""" []"#), ["", ""]);
        // Left open, a quote or bracket is plain text.
        assert_eq!(fields(r#""open quote"#), [r#""open"#, "quote"]);
        assert_eq!(fields("[open bracket"), ["[open", "bracket"]);
        // Only at the start of a field.
        assert_eq!(fields(r#"a"b c"d"#), [r#"a"b"#, r#"c"d"#]);
    }

    #[test]
    fn the_docs_seven_field_pattern_with_regex_and_wildcards() {
        let pattern = r"[ip=%127\.0\.0\.[1-9]%, user, username, timestamp, request =*.html*, status_code = 4*, bytes]";
        assert!(m(pattern, EVENT));
        assert!(m(pattern, &event("127.0.0.9", "/a.html?x=1", "403", "7")));
        assert!(!m(
            pattern,
            &event("192.168.0.1", "/index.html", "404", "1534")
        ));
        assert!(!m(
            pattern,
            &event("127.0.0.0", "/index.html", "404", "1534")
        ));
        assert!(!m(
            pattern,
            &event("127.0.0.1", "/index.php", "404", "1534")
        ));
        assert!(!m(
            pattern,
            &event("127.0.0.1", "/index.html", "500", "1534")
        ));
        // Seven fields named: six or eight fields do not match.
        assert!(!m(pattern, &format!("{EVENT} extra")));
        assert!(!m(
            pattern,
            r#"127.0.0.1 Prod frank "GET /index.html HTTP/1.0" 404 1534"#
        ));
    }

    #[test]
    fn a_pattern_without_ellipsis_matches_exactly_as_many_fields() {
        let pattern = "[ip, user, username, timestamp, request, status_code, bytes]";
        assert!(m(pattern, EVENT));
        assert!(!m(pattern, &format!("{EVENT} extra")));
        assert!(!m(pattern, "127.0.0.1 Prod frank"));
        assert!(!m(pattern, ""));
        assert!(m("[a]", "one"));
        assert!(!m("[a]", "one two"));
    }

    #[test]
    fn the_docs_ellipsis_examples() {
        assert!(m("[..., request =*.html*, status_code = 4*, bytes]", EVENT));
        assert!(!m(
            "[..., request =*.html*, status_code = 4*, bytes]",
            &event("127.0.0.1", "/index.html", "200", "1534")
        ));
        assert!(m("[..., status_code, bytes]", EVENT));
        assert!(m("[ip, user, ..., status_code, bytes]", EVENT));
        assert!(m("[ip, user, ...]", EVENT));
        assert!(m("[ip, user, ...]", "a b"));
        assert!(!m("[ip, user, ...]", "a"));
        assert!(m("[...]", ""));
        assert!(m("[..., status=4*, size>1000]", EVENT));
        assert!(m("[ip, user, ..., status_code=4*, size>1000]", EVENT));
        assert!(!m(
            "[ip, user, ..., status_code=4*, size>1000]",
            &event("127.0.0.1", "/", "404", "999")
        ));
        // Several ellipses: the named field may be anywhere in between.
        assert!(m("[..., x=404, ...]", EVENT));
        assert!(!m("[..., x=405, ...]", EVENT));
        assert!(m("[..., x=Prod, ..., y=1534]", EVENT));
        assert!(!m("[..., x=1534, ..., y=Prod]", EVENT));
    }

    #[test]
    fn the_docs_or_example() {
        let pattern = "[ip, user, username, timestamp, request =*.html*, status_code = 404 || status_code = 410, bytes]";
        assert!(m(pattern, EVENT));
        assert!(m(pattern, &event("1.2.3.4", "/gone.html", "410", "0")));
        assert!(!m(pattern, &event("1.2.3.4", "/gone.html", "403", "0")));
        let four_or_five = "[..., status_code = 4* || status_code = 5*, bytes]";
        assert!(m(four_or_five, EVENT));
        assert!(m(four_or_five, &event("1.2.3.4", "/", "503", "0")));
        assert!(!m(four_or_five, &event("1.2.3.4", "/", "200", "0")));
    }

    #[test]
    fn and_conditions_on_one_field() {
        let pattern =
            "[ip, user, timestamp, request, status_code != 200 && status_code != 404, bytes]";
        let six = |status: &str| format!(r#"1.2.3.4 frank [t] "GET / HTTP/1.0" {status} 10"#);
        assert!(m(pattern, &six("500")));
        assert!(m(pattern, &six("-")));
        assert!(!m(pattern, &six("200")));
        assert!(!m(pattern, &six("404")));
        let no_403 = "[ip, user, username, timestamp, request, status_code = 4* && status_code != 403, bytes]";
        assert!(m(no_403, EVENT));
        assert!(!m(no_403, &event("1.2.3.4", "/", "403", "0")));
        // && binds tighter than ||.
        let p = "[a = 1 || a > 5 && a < 7]";
        assert!(m(p, "1") && m(p, "6") && !m(p, "8") && !m(p, "3"));
    }

    #[test]
    fn numeric_and_string_conditions() {
        let bytes = |cond: &str, value: &str| m(&format!("[..., bytes {cond}]"), value);
        assert!(bytes("> 1000", "1534"));
        assert!(!bytes("> 1000", "1000"));
        assert!(bytes(">= 1000", "1000"));
        assert!(bytes("< 1000", "999.5"));
        assert!(bytes("<= -1", "-1"));
        assert!(bytes("> +1000", "1e4"));
        assert!(!bytes("> 1000", "-"), "not a number");
        assert!(!bytes("< 1000", "abc"), "not a number");
        assert!(bytes("= 200", "200"));
        assert!(bytes("= 200", "200.0"), "numbers compare numerically");
        assert!(!bytes("= 200", "2000"));
        assert!(bytes("!= 200", "404"));
        assert!(bytes("!= 200", "-"));
        assert!(!bytes("!= 200", "200"));
        assert!(bytes("= HttpServer", "HttpServer"));
        assert!(!bytes("= HttpServer", "httpserver"), "case sensitive");
        assert!(bytes("= Http*", "HttpServer"));
        assert!(bytes("= *Server", "HttpServer"));
        assert!(bytes("!= *health-check*", "/api/users"));
        assert!(!bytes("!= *health-check*", "/api/health-check"));
        assert!(bytes(
            r#"= "GET /index.html HTTP/1.0""#,
            "x \"GET /index.html HTTP/1.0\""
        ));
        assert!(bytes(r#"= "a,b]c""#, "a,b]c"));
        assert!(bytes("= -", "-"));
        assert!(bytes("= *", "anything"));
    }

    #[test]
    fn regex_conditions_match_anywhere_in_the_field() {
        let top = "[logLevel, date, time, method, url=%/service/resource/[0-9]+$%, response_time]";
        let child = "[logLevel, date, time, method, url=%/service/resource/[0-9]+/part/[0-9]+$%, response_time]";
        // AWS's example events.
        let get = "INFO 09/25/2014 12:00:00 GET /service/resource/67 1200";
        let post = "INFO 09/25/2014 12:00:01 POST /service/resource/67/part/111 1310";
        let warning = "WARNING 09/25/2014 12:00:02 Invalid user request";
        let error = "ERROR 09/25/2014 12:00:02 Failed to process request";
        assert!(m(top, get));
        assert!(!m(top, post));
        assert!(!m(child, get));
        assert!(m(child, post));
        for other in [warning, error] {
            assert!(!m(top, other) && !m(child, other), "{other}");
        }
        assert!(m(r"[ip != %^10\.%, ...]", EVENT));
        assert!(!m(r"[ip != %^127\.%, ...]", EVENT));
        assert!(m(r"[a = %x% || a = %y%]", "y"));
    }

    #[test]
    fn the_docs_ordered_term_examples() {
        // The events of AWS's OR pattern example: `[w1=ERROR, w2]` matches the second only,
        // `[w1=ERROR || w1=WARN, w2]` the second and third.
        let (both, error, warn) = ("ERROR WARN message", "ERROR message", "WARN message");
        assert!(!m("[w1=ERROR, w2]", both));
        assert!(m("[w1=ERROR, w2]", error));
        assert!(!m("[w1=ERROR, w2]", warn));
        let either = "[w1=ERROR || w1=WARN, w2]";
        assert!(!m(either, both) && m(either, error) && m(either, warn));
        let neither = "[w1!=ERROR && w1!=WARNING, w2]";
        assert!(m(neither, "INFO message"));
        assert!(!m(neither, "ERROR message") && !m(neither, "WARNING message"));
        assert!(m("[w1=ERROR||w1=WARNING, w2]", "WARNING message"));
        // The current page's sample events have six or seven fields, so two named fields do
        // not cover them (see the module documentation); `...` does.
        let error_line = "ERROR 09/25/2014 12:00:02 Failed to process request";
        assert!(!m("[w1=ERROR, w2]", error_line));
        assert!(m("[w1=ERROR, ...]", error_line));
        assert!(!m(
            "[w1=ERROR, ...]",
            "INFO 09/25/2014 12:00:00 GET /service/resource/67 1200"
        ));
    }

    #[test]
    fn empty_entries_are_unnamed_fields() {
        // AWS's extracted-fields example: the trailing comma is a seventh, unnamed field.
        assert!(m("[..., request=*.html*, status_code=4*,]", EVENT));
        assert!(m("[,, x = Prod, ...]", "a b Prod c"));
        assert!(!m("[,, x = Prod, ...]", "a Prod b c"));
    }

    #[test]
    fn malformed_space_delimited_patterns_are_refused() {
        for bad in [
            "[",
            "[]",
            "[ ]",
            "[a",
            "[a,",
            "[a] extra",
            "[a b]",
            "[a = ]",
            "[a =, b]",
            "[a >]",
            "[a > x]",
            "[a > 4*]",
            r#"[a < "5"]"#,
            "[a > %5%]",
            "[a = 1 &&]",
            "[a = 1 || ]",
            "[a = 1 &]",
            "[a == 1 ||| a = 2]",
            "[a ~ 1]",
            "[(a = 1)]",
            "[a = 1 && b = 2, b]",
            "[ip, user, username, timestamp, request, status_code = 4* && bytes > 1000]",
            "[a, ...b]",
            "[a, ....]",
            "[a = %x]",
            "[a = %(%]",
            r#"[a = "open]"#,
            "[a = %x%, b = %y%, c = %z%]",
            "[a = %x% || a = %y% || a = %z%]",
        ] {
            assert!(FilterPattern::parse(bad).is_err(), "{bad}");
        }
        // Two regular expressions are allowed.
        assert!(FilterPattern::parse("[a = %x%, b = %y%]").is_ok());
    }
}
