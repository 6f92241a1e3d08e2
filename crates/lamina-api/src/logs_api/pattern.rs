//! CloudWatch Logs filter patterns (FilterLogEvents `filterPattern`), as documented in
//! "Filter pattern syntax for metric filters, subscription filters, filter log events, and
//! Live Tail":
//!
//! - Terms: `ERROR Exception` matches events containing every term. Terms are case sensitive
//!   and match whole terms: `AUTHORIZED` matches `[SUCCESS 200] AUTHORIZED REQUEST` but not
//!   `UNAUTHORIZED` (AWS's own example, contrasted with the regex `%AUTHORIZED%`). A term's
//!   edges are compared with the neighbouring characters only where the edge is a term
//!   character (letter, digit, `_`), so `ERROR:` still matches inside `ERROR:xyz`.
//! - Quoted phrases: `"INTERNAL SERVER ERROR"` matches the text anywhere (`\"` and `\\` escape);
//!   a phrase of blanks alone (`" "`) matches every event.
//! - `?term` (any of): with several, an event must contain at least one of them.
//! - `-term` (exclusion): events containing the term are left out.
//! - `%regex%`: a regular expression, anywhere in the event.
//! - JSON patterns: `{ $.field = value }`, `!=`, numeric `<`, `<=`, `>`, `>=`, `IS NULL`,
//!   `IS TRUE`, `IS FALSE`, `NOT EXISTS`, joined by `&&` and `||` (`&&` binds tighter) with
//!   parentheses. Selectors are `$.a.b`, `$.list[0]` and `$.list[*]` (any element). Values are
//!   numbers, `true`/`false`/`null`, quoted strings or bare words; `*` in a string is a
//!   wildcard (`{ $.ip != 123.123.* }`, `{ $.field = "*" }` for "exists with a value").
//!   Only events whose whole message is JSON can match; a comparison on a field that is not
//!   there is false (even `!=`), as AWS documents `NOT EXISTS` for that case.
//! - Space-delimited patterns: `[ip, user, ..., status_code = 4* || status_code = 5*, bytes > 1000]`
//!   name the event's fields in order, `...` standing for any number of them; each field may
//!   carry a condition on its own value (details in `pattern/space.rs`).

use regex::Regex;
use serde_json::Value;

mod space;

pub use space::SpacePattern;

/// Why a filter pattern was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PatternError(String);

fn err<T>(message: impl Into<String>) -> Result<T, PatternError> {
    Err(PatternError(message.into()))
}

/// A parsed filter pattern.
#[derive(Debug)]
pub enum FilterPattern {
    /// The empty pattern: every event.
    All,
    Terms(Terms),
    Json(Expr),
    Space(SpacePattern),
}

/// A pattern of terms: all `required`, at least one of `any_of` (when there are some), none
/// of `excluded`.
#[derive(Debug, Default)]
pub struct Terms {
    required: Vec<Term>,
    any_of: Vec<Term>,
    excluded: Vec<Term>,
}

#[derive(Debug)]
enum Term {
    Word(String),
    Phrase(String),
    Regex(Regex),
}

impl FilterPattern {
    pub fn parse(pattern: &str) -> Result<Self, PatternError> {
        let trimmed = pattern.trim();
        if trimmed.is_empty() {
            return Ok(Self::All);
        }
        if trimmed.starts_with('{') {
            return json::parse(trimmed).map(Self::Json);
        }
        if trimmed.starts_with('[') {
            return space::parse(trimmed).map(Self::Space);
        }
        parse_terms(trimmed).map(Self::Terms)
    }

    pub fn matches(&self, message: &str) -> bool {
        match self {
            Self::All => true,
            Self::Terms(t) => t.matches(message),
            Self::Space(p) => p.matches(message),
            Self::Json(expr) => {
                serde_json::from_str::<Value>(message.trim()).is_ok_and(|doc| expr.eval(&doc))
            }
        }
    }
}

impl Terms {
    fn matches(&self, message: &str) -> bool {
        self.required.iter().all(|t| t.matches(message))
            && (self.any_of.is_empty() || self.any_of.iter().any(|t| t.matches(message)))
            && !self.excluded.iter().any(|t| t.matches(message))
    }
}

/// Letters, digits and `_` make up a term; anything else separates terms.
fn is_term_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

impl Term {
    fn matches(&self, message: &str) -> bool {
        match self {
            Term::Phrase(p) => p.trim().is_empty() || message.contains(p.as_str()),
            Term::Regex(r) => r.is_match(message),
            Term::Word(w) => contains_word(message, w),
        }
    }
}

/// Whether `word` occurs in `haystack` not glued to other term characters.
fn contains_word(haystack: &str, word: &str) -> bool {
    let (Some(first), Some(last)) = (word.chars().next(), word.chars().last()) else {
        return true;
    };
    let mut from = 0;
    while let Some(found) = haystack[from..].find(word) {
        let at = from + found;
        let end = at + word.len();
        let before_ok =
            !is_term_char(first) || !haystack[..at].chars().next_back().is_some_and(is_term_char);
        let after_ok =
            !is_term_char(last) || !haystack[end..].chars().next().is_some_and(is_term_char);
        if before_ok && after_ok {
            return true;
        }
        from = at + first.len_utf8();
    }
    false
}

fn parse_terms(pattern: &str) -> Result<Terms, PatternError> {
    let mut terms = Terms::default();
    let chars: Vec<char> = pattern.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_whitespace() {
            i += 1;
            continue;
        }
        // `?` and `-` are operators only in front of a term.
        let modifier = match chars[i] {
            c @ ('?' | '-') if chars.get(i + 1).is_some_and(|n| !n.is_whitespace()) => {
                i += 1;
                Some(c)
            }
            _ => None,
        };
        let term = match chars[i] {
            '"' => {
                let mut text = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return err("unterminated quoted phrase in filter pattern"),
                        Some('"') => break,
                        Some('\\') if matches!(chars.get(i + 1), Some('"' | '\\')) => {
                            text.push(chars[i + 1]);
                            i += 2;
                        }
                        Some(c) => {
                            text.push(*c);
                            i += 1;
                        }
                    }
                }
                i += 1;
                Term::Phrase(text)
            }
            '%' => {
                let start = i + 1;
                let Some(len) = chars[start..].iter().position(|c| *c == '%') else {
                    return err("unterminated regular expression (%...%) in filter pattern");
                };
                let source: String = chars[start..start + len].iter().collect();
                i = start + len + 1;
                Term::Regex(build_regex(&source)?)
            }
            _ => {
                let start = i;
                while i < chars.len() && !chars[i].is_whitespace() {
                    i += 1;
                }
                Term::Word(chars[start..i].iter().collect())
            }
        };
        match modifier {
            Some('?') => terms.any_of.push(term),
            Some(_) => terms.excluded.push(term),
            None => terms.required.push(term),
        }
    }
    Ok(terms)
}

/// Compiles the text between a pattern's `%` signs (bounded in size: patterns come from
/// clients).
fn build_regex(source: &str) -> Result<Regex, PatternError> {
    regex::RegexBuilder::new(source)
        .size_limit(1 << 20)
        .build()
        .map_err(|e| PatternError(format!("invalid regular expression: {e}")))
}

pub use json::Expr;

/// JSON patterns: a small recursive-descent parser and evaluator.
mod json {
    use super::{PatternError, err};
    use serde_json::Value;

    /// A JSON pattern's boolean expression.
    #[derive(Debug, Clone, PartialEq)]
    pub enum Expr {
        And(Box<Expr>, Box<Expr>),
        Or(Box<Expr>, Box<Expr>),
        Test(Selector, Test),
    }

    /// `$.a.b[0][*]`.
    #[derive(Debug, Clone, PartialEq)]
    pub struct Selector(Vec<Step>);

    #[derive(Debug, Clone, PartialEq)]
    enum Step {
        Key(String),
        Index(usize),
        AnyIndex,
    }

    #[derive(Debug, Clone, Copy, PartialEq)]
    pub enum Op {
        Eq,
        Ne,
        Lt,
        Le,
        Gt,
        Ge,
    }

    impl Op {
        /// `value <op> bound` for the ordering operators (`=` and `!=` are not numeric only,
        /// so their callers decide them).
        pub fn orders(self, value: f64, bound: f64) -> bool {
            match self {
                Op::Lt => value < bound,
                Op::Le => value <= bound,
                Op::Gt => value > bound,
                Op::Ge => value >= bound,
                Op::Eq => value == bound,
                Op::Ne => value != bound,
            }
        }
    }

    #[derive(Debug, Clone, PartialEq)]
    pub enum Literal {
        /// The number and its text as written (compared with string fields).
        Number(f64, String),
        /// A string, `*` being a wildcard.
        Text(String),
        Bool(bool),
        Null,
    }

    #[derive(Debug, Clone, PartialEq)]
    pub enum Test {
        Compare(Op, Literal),
        IsNull,
        IsBool(bool),
        NotExists,
    }

    #[derive(Debug, Clone, PartialEq)]
    enum Token {
        Open,
        Close,
        LParen,
        RParen,
        And,
        Or,
        Op(Op),
        Selector(String),
        Quoted(String),
        Bare(String),
    }

    fn is_bare_char(c: char) -> bool {
        !c.is_whitespace()
            && !matches!(c, '(' | ')' | '{' | '}' | '&' | '|' | '=' | '!' | '<' | '>')
    }

    fn tokenize(pattern: &str) -> Result<Vec<Token>, PatternError> {
        let chars: Vec<char> = pattern.chars().collect();
        let mut out = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            let next = chars.get(i + 1).copied();
            let (token, len) = match c {
                c if c.is_whitespace() => {
                    i += 1;
                    continue;
                }
                '{' => (Token::Open, 1),
                '}' => (Token::Close, 1),
                '(' => (Token::LParen, 1),
                ')' => (Token::RParen, 1),
                '&' if next == Some('&') => (Token::And, 2),
                '|' if next == Some('|') => (Token::Or, 2),
                '!' if next == Some('=') => (Token::Op(Op::Ne), 2),
                '<' if next == Some('=') => (Token::Op(Op::Le), 2),
                '>' if next == Some('=') => (Token::Op(Op::Ge), 2),
                '<' => (Token::Op(Op::Lt), 1),
                '>' => (Token::Op(Op::Gt), 1),
                '=' if next == Some('=') => (Token::Op(Op::Eq), 2),
                '=' => (Token::Op(Op::Eq), 1),
                '"' => {
                    let mut text = String::new();
                    let mut j = i + 1;
                    loop {
                        match chars.get(j) {
                            None => {
                                return err("unterminated quoted string in JSON filter pattern");
                            }
                            Some('"') => break,
                            Some('\\') if matches!(chars.get(j + 1), Some('"' | '\\')) => {
                                text.push(chars[j + 1]);
                                j += 2;
                            }
                            Some(ch) => {
                                text.push(*ch);
                                j += 1;
                            }
                        }
                    }
                    (Token::Quoted(text), j + 1 - i)
                }
                c if is_bare_char(c) => {
                    let mut j = i;
                    while j < chars.len() && is_bare_char(chars[j]) {
                        j += 1;
                    }
                    let word: String = chars[i..j].iter().collect();
                    let token = if word.starts_with('$') {
                        Token::Selector(word)
                    } else {
                        Token::Bare(word)
                    };
                    (token, j - i)
                }
                other => return err(format!("unexpected '{other}' in JSON filter pattern")),
            };
            out.push(token);
            i += len;
        }
        Ok(out)
    }

    struct Parser {
        tokens: Vec<Token>,
        at: usize,
    }

    impl Parser {
        fn peek(&self) -> Option<&Token> {
            self.tokens.get(self.at)
        }

        fn next(&mut self) -> Option<Token> {
            let t = self.tokens.get(self.at).cloned();
            self.at += 1;
            t
        }

        fn or(&mut self) -> Result<Expr, PatternError> {
            let mut left = self.and()?;
            while self.peek() == Some(&Token::Or) {
                self.at += 1;
                left = Expr::Or(Box::new(left), Box::new(self.and()?));
            }
            Ok(left)
        }

        fn and(&mut self) -> Result<Expr, PatternError> {
            let mut left = self.unary()?;
            while self.peek() == Some(&Token::And) {
                self.at += 1;
                left = Expr::And(Box::new(left), Box::new(self.unary()?));
            }
            Ok(left)
        }

        fn unary(&mut self) -> Result<Expr, PatternError> {
            match self.next() {
                Some(Token::LParen) => {
                    let inner = self.or()?;
                    match self.next() {
                        Some(Token::RParen) => Ok(inner),
                        _ => err("missing ')' in JSON filter pattern"),
                    }
                }
                Some(Token::Selector(s)) => {
                    let selector = parse_selector(&s)?;
                    let test = self.test()?;
                    Ok(Expr::Test(selector, test))
                }
                _ => err("expected a selector ($.field) in JSON filter pattern"),
            }
        }

        fn test(&mut self) -> Result<Test, PatternError> {
            match self.next() {
                Some(Token::Op(op)) => {
                    let literal = match self.next() {
                        Some(Token::Quoted(s)) => Literal::Text(s),
                        Some(Token::Bare(word)) => bare_literal(word),
                        _ => return err("expected a value after the comparison operator"),
                    };
                    if !matches!(op, Op::Eq | Op::Ne) && !matches!(literal, Literal::Number(..)) {
                        return err("the operators <, <=, > and >= compare numbers only");
                    }
                    Ok(Test::Compare(op, literal))
                }
                Some(Token::Bare(word)) if word.eq_ignore_ascii_case("IS") => match self.next() {
                    Some(Token::Bare(w)) if w.eq_ignore_ascii_case("NULL") => Ok(Test::IsNull),
                    Some(Token::Bare(w)) if w.eq_ignore_ascii_case("TRUE") => {
                        Ok(Test::IsBool(true))
                    }
                    Some(Token::Bare(w)) if w.eq_ignore_ascii_case("FALSE") => {
                        Ok(Test::IsBool(false))
                    }
                    _ => err("expected NULL, TRUE or FALSE after IS"),
                },
                Some(Token::Bare(word)) if word.eq_ignore_ascii_case("NOT") => match self.next() {
                    Some(Token::Bare(w)) if w.eq_ignore_ascii_case("EXISTS") => Ok(Test::NotExists),
                    _ => err("expected EXISTS after NOT"),
                },
                _ => err("expected a comparison after the selector"),
            }
        }
    }

    fn bare_literal(word: String) -> Literal {
        match word.as_str() {
            "true" => Literal::Bool(true),
            "false" => Literal::Bool(false),
            "null" => Literal::Null,
            _ => match word.parse::<f64>() {
                Ok(n) if n.is_finite() => Literal::Number(n, word),
                _ => Literal::Text(word),
            },
        }
    }

    fn parse_selector(s: &str) -> Result<Selector, PatternError> {
        let bad = || PatternError(format!("invalid selector '{s}' in JSON filter pattern"));
        let mut rest = s.strip_prefix('$').ok_or_else(bad)?;
        let mut steps = Vec::new();
        while !rest.is_empty() {
            if let Some(after) = rest.strip_prefix('.') {
                let end = after.find(['.', '[']).unwrap_or(after.len());
                if end == 0 {
                    return Err(bad());
                }
                steps.push(Step::Key(after[..end].to_owned()));
                rest = &after[end..];
            } else if let Some(after) = rest.strip_prefix('[') {
                let end = after.find(']').ok_or_else(bad)?;
                let inside = &after[..end];
                steps.push(if inside == "*" {
                    Step::AnyIndex
                } else {
                    Step::Index(inside.parse().map_err(|_| bad())?)
                });
                rest = &after[end + 1..];
            } else {
                return Err(bad());
            }
        }
        Ok(Selector(steps))
    }

    pub fn parse(pattern: &str) -> Result<Expr, PatternError> {
        let tokens = tokenize(pattern)?;
        if tokens.first() != Some(&Token::Open) || tokens.last() != Some(&Token::Close) {
            return err("a JSON filter pattern is enclosed in { }");
        }
        let mut parser = Parser {
            tokens: tokens[1..tokens.len() - 1].to_vec(),
            at: 0,
        };
        let expr = parser.or()?;
        if parser.at != parser.tokens.len() {
            return err("unexpected text after the expression in JSON filter pattern");
        }
        Ok(expr)
    }

    impl Selector {
        fn resolve<'a>(&self, doc: &'a Value) -> Vec<&'a Value> {
            let mut current = vec![doc];
            for step in &self.0 {
                current = current
                    .into_iter()
                    .flat_map(|v| -> Vec<&'a Value> {
                        match (step, v) {
                            (Step::Key(k), Value::Object(map)) => map.get(k).into_iter().collect(),
                            (Step::Index(i), Value::Array(items)) => {
                                items.get(*i).into_iter().collect()
                            }
                            (Step::AnyIndex, Value::Array(items)) => items.iter().collect(),
                            _ => Vec::new(),
                        }
                    })
                    .collect();
            }
            current
        }
    }

    /// `*` matches any run of characters; everything else literally.
    pub(super) fn glob(pattern: &str, text: &str) -> bool {
        let parts: Vec<&str> = pattern.split('*').collect();
        if parts.len() == 1 {
            return pattern == text;
        }
        let (first, last) = (parts[0], parts[parts.len() - 1]);
        if !text.starts_with(first) || text.len() < first.len() + last.len() {
            return false;
        }
        let mut rest = &text[first.len()..];
        for middle in &parts[1..parts.len() - 1] {
            match rest.find(middle) {
                Some(at) => rest = &rest[at + middle.len()..],
                None => return false,
            }
        }
        rest.ends_with(last)
    }

    fn equals(literal: &Literal, value: &Value) -> bool {
        match (literal, value) {
            (Literal::Number(n, _), Value::Number(v)) => v.as_f64() == Some(*n),
            (Literal::Number(_, text), Value::String(s)) => s == text,
            (Literal::Text(p), Value::String(s)) => glob(p, s),
            (Literal::Text(p), Value::Number(v)) => glob(p, &v.to_string()),
            (Literal::Text(p), Value::Bool(b)) => glob(p, if *b { "true" } else { "false" }),
            (Literal::Bool(b), Value::Bool(v)) => b == v,
            (Literal::Null, Value::Null) => true,
            _ => false,
        }
    }

    fn compare(op: Op, literal: &Literal, value: &Value) -> bool {
        match op {
            Op::Eq => equals(literal, value),
            Op::Ne => !equals(literal, value),
            Op::Lt | Op::Le | Op::Gt | Op::Ge => {
                let (Literal::Number(n, _), Some(v)) = (literal, value.as_f64()) else {
                    return false;
                };
                op.orders(v, *n)
            }
        }
    }

    impl Expr {
        pub fn eval(&self, doc: &Value) -> bool {
            match self {
                Expr::And(a, b) => a.eval(doc) && b.eval(doc),
                Expr::Or(a, b) => a.eval(doc) || b.eval(doc),
                Expr::Test(selector, test) => {
                    let values = selector.resolve(doc);
                    match test {
                        Test::NotExists => values.is_empty(),
                        Test::IsNull => values.iter().any(|v| v.is_null()),
                        Test::IsBool(b) => values.iter().any(|v| v.as_bool() == Some(*b)),
                        Test::Compare(op, literal) => {
                            values.iter().any(|v| compare(*op, literal, v))
                        }
                    }
                }
            }
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn globs_match_like_cloudwatch_wildcards() {
            assert!(glob("123.123.*", "123.123.4.5"));
            assert!(!glob("123.123.*", "123.124.4.5"));
            assert!(glob("*", ""));
            assert!(glob("a*c*e", "abcde"));
            assert!(!glob("a*c*e", "abcdf"));
            assert!(!glob("ab*ba", "aba"));
            assert!(glob("exact", "exact"));
        }

        #[test]
        fn selectors_parse_keys_and_indices() {
            assert_eq!(
                parse_selector("$.a.b[2][*]").unwrap(),
                Selector(vec![
                    Step::Key("a".into()),
                    Step::Key("b".into()),
                    Step::Index(2),
                    Step::AnyIndex
                ])
            );
            for bad in ["$..a", "$.a[", "$.a[x]", "a.b", "$a"] {
                assert!(parse_selector(bad).is_err(), "{bad}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pattern: &str, message: &str) -> bool {
        FilterPattern::parse(pattern)
            .unwrap_or_else(|e| panic!("{pattern}: {e}"))
            .matches(message)
    }

    #[test]
    fn the_empty_pattern_and_a_blank_phrase_match_everything() {
        assert!(m("", "anything"));
        assert!(m("   ", ""));
        assert!(m("\" \"", "anything"));
    }

    #[test]
    fn terms_must_all_appear_as_whole_terms_and_are_case_sensitive() {
        assert!(m("ERROR", "[ERROR 400] BAD REQUEST"));
        assert!(m("ERROR ARGUMENTS", "[ERROR 419] MISSING ARGUMENTS"));
        assert!(!m("ERROR ARGUMENTS", "[ERROR 400] BAD REQUEST"));
        assert!(!m("error", "[ERROR 400] BAD REQUEST"));
        // AWS's own contrast between a term and the regex %AUTHORIZED%.
        assert!(m("AUTHORIZED", "[SUCCESS 200] AUTHORIZED REQUEST"));
        assert!(!m("AUTHORIZED", "[ERROR 401] UNAUTHORIZED REQUEST"));
        assert!(m("%AUTHORIZED%", "[ERROR 401] UNAUTHORIZED REQUEST"));
        assert!(m("EVENT 3", "EVENT 3"));
        assert!(!m("EVENT 3", "EVENT 33"));
        assert!(m("request_id", "x request_id=5"));
        assert!(!m("request", "x request_id=5"));
        // A term whose edge is punctuation is not bounded on that side.
        assert!(m("id=", "request id=5"));
        assert!(!m("id=", "request_id=5"));
        assert!(m("=5", "request_id=5"));
        assert!(m("Duration:", "REPORT RequestId: x\tDuration: 1.00 ms"));
        assert!(m("ünïcode", "say ünïcode!"));
    }

    #[test]
    fn quoted_phrases_match_the_exact_text_anywhere() {
        assert!(m(
            "\"INTERNAL SERVER ERROR\"",
            "[ERROR 500] INTERNAL SERVER ERROR"
        ));
        assert!(!m(
            "\"SERVER INTERNAL\"",
            "[ERROR 500] INTERNAL SERVER ERROR"
        ));
        assert!(m("\"request-id-123\"", "got request-id-1234"));
        assert!(m(r#""say \"hi\"""#, r#"they say "hi" twice"#));
        assert!(m("\"a b\" c", "a b c"));
        assert!(!m("\"a b\" c", "a b"));
    }

    #[test]
    fn question_marked_terms_need_any_one_and_minus_excludes() {
        assert!(m("?ERROR ?WARN", "WARN disk almost full"));
        assert!(m("?ERROR ?WARN", "ERROR disk full"));
        assert!(!m("?ERROR ?WARN", "INFO all good"));
        assert!(m("ERROR -ARGUMENTS", "[ERROR 400] BAD REQUEST"));
        assert!(!m("ERROR -ARGUMENTS", "[ERROR 419] MISSING ARGUMENTS"));
        assert!(!m(
            "-\"MISSING ARGUMENTS\"",
            "[ERROR 419] MISSING ARGUMENTS"
        ));
        assert!(m("START ?x ?y -END", "START y"));
        assert!(!m("START ?x ?y -END", "START z"));
        // A lone `-` or `?` is a term of its own.
        assert!(m("a - b", "a - b"));
    }

    #[test]
    fn malformed_term_patterns_are_refused() {
        for bad in ["\"open", "%open", "%(%"] {
            assert!(FilterPattern::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn json_equality_on_strings_numbers_and_booleans() {
        let doc = r#"{"level":"ERROR","code":200,"ok":true,"user":{"name":"ann","tags":["a","b"]},"ip":"123.123.4.5","n":null}"#;
        assert!(m(r#"{ $.level = "ERROR" }"#, doc));
        assert!(m("{ $.level = ERROR }", doc));
        assert!(m("{$.level=ERR*}", doc));
        assert!(!m(r#"{ $.level = "error" }"#, doc));
        assert!(m("{ $.code = 200 }", doc));
        assert!(m("{ $.code != 404 }", doc));
        assert!(m("{ $.ok = true }", doc));
        assert!(m("{ $.ok IS TRUE }", doc));
        assert!(!m("{ $.ok IS FALSE }", doc));
        assert!(m(r#"{ $.user.name != "bob" }"#, doc));
        assert!(!m(r#"{ $.user.name != "ann" }"#, doc));
        assert!(m("{ $.ip != 124.* }", doc));
        assert!(!m("{ $.ip != 123.123.* }", doc));
        assert!(m(r#"{ $.user.tags[1] = "b" }"#, doc));
        assert!(m(r#"{ $.user.tags[*] = "a" }"#, doc));
        assert!(!m(r#"{ $.user.tags[0] = "b" }"#, doc));
        assert!(m(r#"{ $.level = "*" }"#, doc));
        assert!(m("{ $.n IS NULL }", doc));
        assert!(m("{ $.missing NOT EXISTS }", doc));
        assert!(!m("{ $.level NOT EXISTS }", doc));
        // A field that is not there never matches a comparison, not even `!=`.
        assert!(!m(r#"{ $.missing != "x" }"#, doc));
        assert!(!m(r#"{ $.missing = "*" }"#, doc));
    }

    #[test]
    fn json_numeric_comparisons() {
        let doc = r#"{"n": 7, "latency": 1500.5, "s": "9"}"#;
        assert!(m("{ $.n > 5 }", doc));
        assert!(m("{ $.n >= 7 }", doc));
        assert!(!m("{ $.n < 7 }", doc));
        assert!(m("{ $.n <= 7 }", doc));
        assert!(m("{ $.latency > 1000 }", doc));
        assert!(m("{ $.n = 7.0 }", doc));
        assert!(!m("{ $.s > 5 }", doc), "strings are not numbers");
        assert!(
            m("{ $.s = 9 }", doc),
            "equality on a string compares the text"
        );
        assert!(m("{ $.n > -1e3 }", doc));
    }

    #[test]
    fn json_and_or_and_parentheses() {
        let doc = r#"{"a": 1, "b": "x", "c": false}"#;
        assert!(m(r#"{ $.a = 1 && $.b = "x" }"#, doc));
        assert!(!m(r#"{ $.a = 1 && $.b = "y" }"#, doc));
        assert!(m(r#"{ $.a = 2 || $.b = "x" }"#, doc));
        // && binds tighter than ||.
        assert!(m(r#"{ $.a = 2 && $.b = "y" || $.c IS FALSE }"#, doc));
        assert!(!m(r#"{ $.a = 2 && ($.b = "y" || $.c IS FALSE) }"#, doc));
        assert!(m(r#"{ ($.a = 2 || $.a = 1) && $.b = "x" }"#, doc));
    }

    #[test]
    fn json_patterns_only_match_json_messages() {
        assert!(!m(r#"{ $.level = "ERROR" }"#, "ERROR not json"));
        assert!(!m(
            r#"{ $.level = "ERROR" }"#,
            r#"prefix {"level":"ERROR"}"#
        ));
        assert!(m(r#"{ $.level = "ERROR" }"#, "  {\"level\":\"ERROR\"}\n"));
        assert!(m("{ $[0] = 1 }", "[1, 2]"));
    }

    #[test]
    fn malformed_json_patterns_are_refused() {
        for bad in [
            "{ $.a = 1",
            "{ }",
            "{ $.a }",
            "{ $.a = }",
            "{ $.a > \"x\" }",
            "{ $.a = 1 && }",
            "{ ($.a = 1 }",
            "{ a = 1 }",
            "{ $.a IS MAYBE }",
            "{ $.a = 1 } extra",
            "{ $.a = \"open }",
        ] {
            assert!(FilterPattern::parse(bad).is_err(), "{bad}");
        }
    }
}
