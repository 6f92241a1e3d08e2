//! Observability of invocations: Prometheus metrics (`metrics.rs`), usage for billing
//! (`usage.rs`) and OpenTelemetry spans (`telemetry.rs`). The invoke path only updates memory;
//! background tasks write usage to the store every second and send spans, and [`shutdown`]
//! flushes both.

use std::time::{Duration, SystemTime};

use lamina_engine::InvocationMetrics;
use serde::{Deserialize, Serialize};

use crate::metrics::Metrics;
use crate::state::AppState;
use crate::telemetry::{InvocationSpan, SpanExporter};
use crate::usage::UsageMeter;

/// `[telemetry]` in the server's config file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TelemetryConfig {
    /// Require SigV4 (the root credentials) for `GET /metrics`, like every other request.
    pub metrics_auth: bool,
    /// OTLP/HTTP endpoint (plain `http://`) that receives one trace per invocation, e.g.
    /// `http://127.0.0.1:4318` (spans go to `/v1/traces` under it).
    pub otlp_endpoint: Option<String>,
}

/// `[billing]` in the server's config file: the prices usage is costed at.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BillingConfig {
    /// USD per million requests (AWS: 0.20).
    pub price_per_million_requests_usd: f64,
    /// USD per GB-second of billed duration (AWS x86: 0.0000166667).
    pub price_per_gb_second_usd: f64,
}

impl Default for BillingConfig {
    fn default() -> Self {
        Self {
            price_per_million_requests_usd: 0.20,
            price_per_gb_second_usd: 0.000_016_666_7,
        }
    }
}

impl BillingConfig {
    /// Prices must be finite and not negative.
    pub fn validate(&self) -> Result<(), String> {
        for (name, v) in [
            (
                "price_per_million_requests_usd",
                self.price_per_million_requests_usd,
            ),
            ("price_per_gb_second_usd", self.price_per_gb_second_usd),
        ] {
            if !v.is_finite() || v < 0.0 {
                return Err(format!("[billing] {name} must be a price >= 0, got {v}"));
            }
        }
        Ok(())
    }
}

/// What the handlers and the async workers report invocations to.
pub struct Observability {
    pub metrics: Metrics,
    pub usage: UsageMeter,
    /// Present when an OTLP endpoint is configured.
    pub spans: Option<SpanExporter>,
}

/// One invocation that ran (successfully or not), as the API saw it.
pub struct Invoked<'a> {
    pub function: &'a str,
    pub version: &'a str,
    /// The ARN the caller invoked (with its qualifier).
    pub invoked_arn: &'a str,
    pub request_id: &'a str,
    /// The `X-Amzn-Trace-Id` the function received.
    pub trace_header: &'a str,
    /// When the API started and finished the invocation.
    pub began: SystemTime,
    pub ended: SystemTime,
    pub function_error: bool,
    pub metrics: &'a InvocationMetrics,
}

impl Observability {
    pub fn new(telemetry: &TelemetryConfig) -> Self {
        let spans = telemetry
            .otlp_endpoint
            .as_deref()
            .and_then(|e| match SpanExporter::new(e) {
                Ok(s) => Some(s),
                Err(why) => {
                    tracing::error!(endpoint = e, error = %why, "OTLP export disabled");
                    None
                }
            });
        Self {
            metrics: Metrics::default(),
            usage: UsageMeter::default(),
            spans,
        }
    }

    /// Records an invocation in the metrics, the usage and (when configured) a trace.
    pub fn invoked(&self, region: &str, inv: &Invoked<'_>) {
        self.metrics
            .invocation(inv.function, inv.version, inv.metrics, inv.function_error);
        self.usage.record(
            inv.function,
            inv.version,
            inv.metrics.memory_size_mb,
            inv.metrics.billed_duration_ms,
            lamina_types::time::now(),
        );
        if let Some(spans) = &self.spans
            && !spans.record(InvocationSpan::of(region, inv))
        {
            self.metrics.span_dropped();
        }
    }
}

/// Starts the background flushers: usage to the store every second, spans as they come.
pub fn spawn(state: AppState) {
    let usage_state = state.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = usage_state
                .observe
                .usage
                .flush(usage_state.store.as_ref())
                .await
            {
                tracing::warn!(error = %e, "cannot write usage; kept for the next try");
            }
        }
    });
    if state.observe.spans.is_some() {
        tokio::spawn(async move {
            if let Some(spans) = &state.observe.spans {
                spans.run().await;
            }
        });
    }
}

/// Writes what is still in memory: usage to the store, spans to the OTLP endpoint.
pub async fn shutdown(state: &AppState) {
    if let Err(e) = state.observe.usage.flush(state.store.as_ref()).await {
        tracing::error!(error = %e, "cannot write usage at shutdown");
    }
    if let Some(spans) = &state.observe.spans {
        spans.flush().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn billing_prices_default_to_aws_and_must_be_sane() {
        let b = BillingConfig::default();
        assert_eq!(b.price_per_million_requests_usd, 0.20);
        assert_eq!(b.price_per_gb_second_usd, 0.000_016_666_7);
        assert!(b.validate().is_ok());
        let bad = BillingConfig {
            price_per_gb_second_usd: -1.0,
            ..b
        };
        assert!(bad.validate().is_err());
    }
}
