//! A collector for framework constraint failures, which AWS reports together in one
//! `ValidationException` (`N validation errors detected: …; …`).

use std::sync::LazyLock;

use regex::Regex;

use crate::error::UserError;

/// Framework (`ValidationException`) failures of one request, in the order they were found.
#[derive(Debug, Default)]
pub struct Constraints(Vec<String>);

impl Constraints {
    /// Records `Value '<value>' at '<field>' failed to satisfy constraint: <constraint>`.
    pub fn fail(&mut self, value: &str, field: &str, constraint: &str) {
        self.0.push(UserError::constraint(value, field, constraint));
    }

    /// Records AWS's null form: `Value null at '<field>' …: Member must not be null`.
    pub fn null(&mut self, field: &str) {
        self.0.push(format!(
            "Value null at '{field}' failed to satisfy constraint: Member must not be null"
        ));
    }

    /// Length bounds (in characters), as AWS words them.
    pub fn length(&mut self, value: &str, field: &str, min: usize, max: usize) {
        let n = value.chars().count();
        if n < min {
            self.fail(
                value,
                field,
                &format!("Member must have length greater than or equal to {min}"),
            );
        } else if n > max {
            self.fail(
                value,
                field,
                &format!("Member must have length less than or equal to {max}"),
            );
        }
    }

    /// A regular expression the whole value must match; `pattern` is quoted in the message.
    pub fn pattern(&mut self, value: &str, field: &str, re: &Regex, pattern: &str) {
        if !re.is_match(value) {
            self.fail(
                value,
                field,
                &format!("Member must satisfy regular expression pattern: {pattern}"),
            );
        }
    }

    /// One of a fixed set of values; `allowed` is quoted as AWS lists it.
    pub fn one_of(&mut self, value: &str, field: &str, allowed: &[&str]) {
        if !allowed.contains(&value) {
            self.fail(
                value,
                field,
                &format!(
                    "Member must satisfy enum value set: [{}]",
                    allowed.join(", ")
                ),
            );
        }
    }

    /// `Ok` when nothing failed, else one `ValidationException` with every failure.
    pub fn finish(self) -> Result<(), UserError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(UserError::Validation(self.0))
        }
    }
}

/// Compiles a model pattern anchored at both ends, as AWS applies it.
pub fn anchored(pattern: &str) -> Regex {
    #[allow(clippy::expect_used)]
    Regex::new(&format!("^(?:{pattern})$")).expect("static pattern compiles")
}

/// A lazily compiled anchored pattern.
pub type Pattern = LazyLock<Regex>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_reported_together_in_order() {
        let mut c = Constraints::default();
        c.null("statementId");
        c.one_of("Maybe", "recursiveLoop", &["Allow", "Terminate"]);
        c.length("", "qualifier", 1, 128);
        assert_eq!(
            c.finish().unwrap_err().to_string(),
            "3 validation errors detected: Value null at 'statementId' failed to satisfy constraint: Member must not be null; \
             Value 'Maybe' at 'recursiveLoop' failed to satisfy constraint: Member must satisfy enum value set: [Allow, Terminate]; \
             Value '' at 'qualifier' failed to satisfy constraint: Member must have length greater than or equal to 1"
        );
        assert!(Constraints::default().finish().is_ok());
    }
}
