//! Asynchronous invocation: queued events, event invoke configs (retries, event age,
//! destinations) with AWS's validation, and the retry decisions (time is a parameter, so the
//! rules are tested without waiting).

use serde::{Deserialize, Serialize};

use crate::error::UserError;

/// One queued event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AsyncEvent {
    pub id: String,
    pub function_name: String,
    /// `$LATEST`, a version or an alias.
    pub qualifier: String,
    pub payload: Vec<u8>,
    pub request_id: String,
    pub trace_id: String,
    pub enqueued_at_ms: i64,
    /// Attempts that ran the function and failed (function errors, timeouts, crashes).
    pub failed_attempts: u32,
    /// Times the function was invoked for this event (`approximateInvokeCount`).
    pub invokes: u32,
    pub next_attempt_at_ms: i64,
    /// Throttles and platform errors in a row (they back off exponentially).
    pub throttles: u32,
}

/// `DestinationConfig` member shape.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Destination {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destination: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DestinationConfig {
    #[serde(default)]
    pub on_success: Destination,
    #[serde(default)]
    pub on_failure: Destination,
}

/// A function's (or version's, or alias's) `FunctionEventInvokeConfig`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventInvokeConfig {
    pub function_name: String,
    pub qualifier: String,
    pub maximum_retry_attempts: Option<u32>,
    pub maximum_event_age_seconds: Option<u32>,
    pub destinations: DestinationConfig,
    /// Epoch seconds (AWS's `LastModified` is a number here).
    pub last_modified: i64,
}

impl EventInvokeConfig {
    pub fn retries(&self) -> u32 {
        self.maximum_retry_attempts.unwrap_or(DEFAULT_RETRIES)
    }
    pub fn max_age_ms(&self) -> i64 {
        i64::from(
            self.maximum_event_age_seconds
                .unwrap_or(DEFAULT_MAX_AGE_SECS),
        ) * 1000
    }
}

pub const DEFAULT_RETRIES: u32 = 2;
pub const DEFAULT_MAX_AGE_SECS: u32 = 21_600;

/// The request body of Put/UpdateFunctionEventInvokeConfig.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EventInvokeConfigRequest {
    pub maximum_retry_attempts: Option<i64>,
    pub maximum_event_age_in_seconds: Option<i64>,
    pub destination_config: Option<DestinationConfig>,
}

/// Validates the numbers of a config request (framework constraints, reported together).
pub fn check_config_request(req: &EventInvokeConfigRequest) -> Result<(), UserError> {
    let mut errors = Vec::new();
    if let Some(n) = req.maximum_retry_attempts {
        if n < 0 {
            errors.push(UserError::constraint(
                &n.to_string(),
                "maximumRetryAttempts",
                "Member must have value greater than or equal to 0",
            ));
        } else if n > 2 {
            errors.push(UserError::constraint(
                &n.to_string(),
                "maximumRetryAttempts",
                "Member must have value less than or equal to 2",
            ));
        }
    }
    if let Some(n) = req.maximum_event_age_in_seconds {
        if n < 60 {
            errors.push(UserError::constraint(
                &n.to_string(),
                "maximumEventAgeInSeconds",
                "Member must have value greater than or equal to 60",
            ));
        } else if n > 21_600 {
            errors.push(UserError::constraint(
                &n.to_string(),
                "maximumEventAgeInSeconds",
                "Member must have value less than or equal to 21600",
            ));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(UserError::Validation(errors))
    }
}

/// What kind of target a destination ARN names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A Lambda function (with an optional qualifier).
    Function {
        name: String,
        qualifier: Option<String>,
    },
    Sqs,
    Sns,
    EventBridge,
}

/// Parses a destination ARN as AWS validates it.
pub fn parse_destination(arn: &str) -> Result<Target, UserError> {
    let invalid = || {
        UserError::InvalidParameterValue(format!(
            "The provided destination config DestinationConfig(onSuccess=null, onFailure=OnFailure(destination={arn})) is invalid."
        ))
    };
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let ["arn", partition, service, region, account, resource] = parts.as_slice() else {
        return Err(invalid());
    };
    let ok_account = account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit());
    if !partition.starts_with("aws") || region.is_empty() || !ok_account || resource.is_empty() {
        return Err(invalid());
    }
    match *service {
        "lambda" => {
            let rest = resource.strip_prefix("function:").ok_or_else(invalid)?;
            let (name, qualifier) = match rest.split_once(':') {
                Some((n, q)) => (n, Some(q.to_owned())),
                None => (rest, None),
            };
            if name.is_empty() {
                return Err(invalid());
            }
            Ok(Target::Function {
                name: name.to_owned(),
                qualifier,
            })
        }
        "sqs" => Ok(Target::Sqs),
        "sns" => Ok(Target::Sns),
        "events" if resource.starts_with("event-bus/") => Ok(Target::EventBridge),
        _ => Err(invalid()),
    }
}

/// Retry timing, configurable so operators (and tests) can shorten AWS's minutes.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct RetryPolicy {
    /// Delay before the first retry after a function error (AWS: about 1 minute); the second
    /// waits twice as long.
    pub retry_delay_ms: u64,
    /// Exponential backoff for throttles and platform errors, from min to max.
    pub throttle_backoff_min_ms: u64,
    pub throttle_backoff_max_ms: u64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            retry_delay_ms: 60_000,
            throttle_backoff_min_ms: 1_000,
            throttle_backoff_max_ms: 300_000,
        }
    }
}

/// How one attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptResult {
    Success,
    /// Function error, timeout or crash: uses the retry budget.
    FunctionError,
    /// Throttled or a platform error: retried until the event is too old.
    Throttled,
}

/// What to do with an event next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Done,
    RetryAt(i64),
    Fail(&'static str),
}

/// Whether an event is already too old to run (checked before each attempt).
pub fn expired(event: &AsyncEvent, config_max_age_ms: i64, now_ms: i64) -> bool {
    now_ms - event.enqueued_at_ms > config_max_age_ms
}

/// Applies AWS's rules after an attempt. `event` already counts this attempt.
pub fn decide(
    event: &AsyncEvent,
    result: AttemptResult,
    max_retries: u32,
    max_age_ms: i64,
    policy: &RetryPolicy,
    now_ms: i64,
) -> Decision {
    let next = match result {
        AttemptResult::Success => return Decision::Done,
        AttemptResult::FunctionError => {
            if event.failed_attempts > max_retries {
                return Decision::Fail("RetriesExhausted");
            }
            let delay = policy
                .retry_delay_ms
                .saturating_mul(u64::from(event.failed_attempts));
            now_ms.saturating_add(i64::try_from(delay).unwrap_or(i64::MAX))
        }
        AttemptResult::Throttled => {
            let exp = policy
                .throttle_backoff_min_ms
                .saturating_mul(1u64 << event.throttles.saturating_sub(1).min(20))
                .min(policy.throttle_backoff_max_ms);
            now_ms.saturating_add(i64::try_from(exp).unwrap_or(i64::MAX))
        }
    };
    if next - event.enqueued_at_ms > max_age_ms {
        return Decision::Fail("EventAgeExceeded");
    }
    Decision::RetryAt(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(failed: u32, throttles: u32) -> AsyncEvent {
        AsyncEvent {
            id: "e".into(),
            function_name: "f".into(),
            qualifier: "$LATEST".into(),
            payload: vec![],
            request_id: "r".into(),
            trace_id: "t".into(),
            enqueued_at_ms: 0,
            failed_attempts: failed,
            invokes: failed,
            next_attempt_at_ms: 0,
            throttles,
        }
    }

    const HOUR: i64 = 3_600_000;

    #[test]
    fn function_errors_retry_after_one_then_two_minutes_then_fail() {
        let p = RetryPolicy::default();
        assert_eq!(
            decide(
                &event(1, 0),
                AttemptResult::FunctionError,
                2,
                6 * HOUR,
                &p,
                1_000
            ),
            Decision::RetryAt(61_000)
        );
        assert_eq!(
            decide(
                &event(2, 0),
                AttemptResult::FunctionError,
                2,
                6 * HOUR,
                &p,
                70_000
            ),
            Decision::RetryAt(190_000)
        );
        assert_eq!(
            decide(
                &event(3, 0),
                AttemptResult::FunctionError,
                2,
                6 * HOUR,
                &p,
                200_000
            ),
            Decision::Fail("RetriesExhausted")
        );
        assert_eq!(
            decide(
                &event(1, 0),
                AttemptResult::FunctionError,
                0,
                6 * HOUR,
                &p,
                0
            ),
            Decision::Fail("RetriesExhausted")
        );
        assert_eq!(
            decide(&event(1, 0), AttemptResult::Success, 2, 6 * HOUR, &p, 0),
            Decision::Done
        );
    }

    #[test]
    fn throttles_back_off_exponentially_until_the_event_is_too_old() {
        let p = RetryPolicy::default();
        assert_eq!(
            decide(&event(0, 1), AttemptResult::Throttled, 2, HOUR, &p, 0),
            Decision::RetryAt(1_000)
        );
        assert_eq!(
            decide(&event(0, 4), AttemptResult::Throttled, 2, HOUR, &p, 0),
            Decision::RetryAt(8_000)
        );
        assert_eq!(
            decide(&event(0, 30), AttemptResult::Throttled, 2, HOUR, &p, 0),
            Decision::RetryAt(300_000)
        );
        assert_eq!(
            decide(&event(0, 30), AttemptResult::Throttled, 2, 60_000, &p, 0),
            Decision::Fail("EventAgeExceeded")
        );
        assert!(expired(&event(0, 0), 60_000, 60_001));
        assert!(!expired(&event(0, 0), 60_000, 60_000));
    }

    #[test]
    fn destinations_are_validated_like_aws() {
        assert_eq!(
            parse_destination("arn:aws:lambda:us-east-1:000000000000:function:f:prod").unwrap(),
            Target::Function {
                name: "f".into(),
                qualifier: Some("prod".into())
            }
        );
        assert_eq!(
            parse_destination("arn:aws:sqs:us-east-1:000000000000:q").unwrap(),
            Target::Sqs
        );
        assert!(parse_destination("arn:aws:s4:us-east-1:000000000000:q").is_err());
        assert!(parse_destination("not-an-arn").is_err());
        assert!(parse_destination("arn:aws:sqs:us-east-1:12:q").is_err());
    }

    #[test]
    fn config_numbers_are_bounded() {
        let req = EventInvokeConfigRequest {
            maximum_retry_attempts: Some(3),
            maximum_event_age_in_seconds: Some(59),
            destination_config: None,
        };
        assert_eq!(
            check_config_request(&req).unwrap_err().to_string(),
            "2 validation errors detected: Value '3' at 'maximumRetryAttempts' failed to satisfy constraint: Member must have value less than or equal to 2; Value '59' at 'maximumEventAgeInSeconds' failed to satisfy constraint: Member must have value greater than or equal to 60"
        );
    }
}
