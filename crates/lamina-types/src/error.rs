//! Errors a caller caused, each already carrying the AWS error type it maps to.

/// A request the caller got wrong. Each variant is one AWS error type; the message is AWS's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UserError {
    /// `InvalidParameterValueException` (400).
    #[error("{0}")]
    InvalidParameterValue(String),
    /// `ValidationException` (400): framework constraint failures, joined as AWS joins them.
    #[error("{}", validation_message(.0))]
    Validation(Vec<String>),
    /// `ResourceNotFoundException` (404).
    #[error("{0}")]
    NotFound(String),
    /// `ResourceConflictException` (409).
    #[error("{0}")]
    Conflict(String),
    /// `PreconditionFailedException` (412).
    #[error("{0}")]
    PreconditionFailed(String),
    /// `RequestEntityTooLargeException` (413).
    #[error("{0}")]
    EntityTooLarge(String),
    /// `AccessDeniedException` (403).
    #[error("{0}")]
    AccessDenied(String),
    /// `CodeStorageExceededException` (400).
    #[error("{0}")]
    CodeStorageExceeded(String),
    /// `PolicyLengthExceededException` (400).
    #[error("{0}")]
    PolicyLengthExceeded(String),
}

impl UserError {
    /// One framework constraint failure, `Value '<v>' at '<field>' failed to satisfy constraint: <c>`.
    pub fn constraint(value: &str, field: &str, constraint: &str) -> String {
        format!("Value '{value}' at '{field}' failed to satisfy constraint: {constraint}")
    }

    /// A `ValidationException` with a single constraint failure.
    pub fn validation(value: &str, field: &str, constraint: &str) -> Self {
        Self::Validation(vec![Self::constraint(value, field, constraint)])
    }
}

fn validation_message(errors: &[String]) -> String {
    let n = errors.len();
    let noun = if n == 1 { "error" } else { "errors" };
    format!("{n} validation {noun} detected: {}", errors.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_messages_count_and_join_errors() {
        let one = UserError::validation(
            "901",
            "timeout",
            "Member must have value less than or equal to 900",
        );
        assert_eq!(
            one.to_string(),
            "1 validation error detected: Value '901' at 'timeout' failed to satisfy constraint: Member must have value less than or equal to 900"
        );
        let two = UserError::Validation(vec!["a".into(), "b".into()]);
        assert_eq!(two.to_string(), "2 validation errors detected: a; b");
    }
}
