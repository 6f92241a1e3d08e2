//! Usage for billing: requests and billed duration per UTC day, function, version and memory
//! size, costed at the configured prices (`[billing]`). Invocations add to an in-memory table
//! that a background task writes to the store every second (and at shutdown).

use std::collections::HashMap;
use std::sync::Mutex;

use axum::Json;
use axum::extract::{Query, State};
use lamina_store::{Store, StoreError, UsageRecord};
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::macros::format_description;

use crate::error::{ApiError, ApiResult};
use crate::observe::BillingConfig;
use crate::state::AppState;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    day: String,
    function: String,
    version: String,
    memory_mb: u32,
}

/// Usage not yet written to the store.
#[derive(Default)]
pub struct UsageMeter {
    pending: Mutex<HashMap<Key, (u64, u64)>>,
    /// One flush at a time, so a read after `flush` sees everything recorded before it.
    flushing: tokio::sync::Mutex<()>,
}

/// `YYYY-MM-DD` of a time, in UTC.
pub fn day_of(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day())
}

impl UsageMeter {
    /// Adds one request of `billed_ms` at `memory_mb`, on the UTC day of `at`.
    pub fn record(
        &self,
        function: &str,
        version: &str,
        memory_mb: u32,
        billed_ms: u64,
        at: OffsetDateTime,
    ) {
        let key = Key {
            day: day_of(at),
            function: function.to_owned(),
            version: version.to_owned(),
            memory_mb,
        };
        let mut p = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        let e = p.entry(key).or_default();
        e.0 += 1;
        e.1 += billed_ms;
    }

    fn take(&self) -> HashMap<Key, (u64, u64)> {
        std::mem::take(&mut *self.pending.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Writes the pending usage in one transaction; on failure it stays pending.
    pub async fn flush(&self, store: &dyn Store) -> Result<(), StoreError> {
        let _one = self.flushing.lock().await;
        let taken = self.take();
        if taken.is_empty() {
            return Ok(());
        }
        let records: Vec<UsageRecord> = taken
            .iter()
            .map(|(k, (requests, billed_ms))| UsageRecord {
                day: k.day.clone(),
                function_name: k.function.clone(),
                version: k.version.clone(),
                memory_mb: k.memory_mb,
                requests: *requests,
                billed_ms: *billed_ms,
            })
            .collect();
        if let Err(e) = store.add_usage(&records).await {
            let mut p = self.pending.lock().unwrap_or_else(|p| p.into_inner());
            for (k, (r, b)) in taken {
                let e = p.entry(k).or_default();
                e.0 += r;
                e.1 += b;
            }
            return Err(e);
        }
        Ok(())
    }
}

/// GB-seconds of `billed_ms` at `memory_mb`: billed ms / 1000 * memory MB / 1024.
pub fn gb_seconds(billed_ms: u64, memory_mb: u32) -> f64 {
    billed_ms as f64 / 1000.0 * f64::from(memory_mb) / 1024.0
}

/// The cost of `requests` and `gb_seconds` at `prices`, in USD.
pub fn cost_usd(prices: &BillingConfig, requests: u64, gb_seconds: f64) -> f64 {
    requests as f64 * prices.price_per_million_requests_usd / 1_000_000.0
        + gb_seconds * prices.price_per_gb_second_usd
}

#[derive(Debug, Deserialize)]
pub struct UsageQuery {
    /// First UTC day included, `YYYY-MM-DD`.
    since: Option<String>,
}

/// `GET /_lamina/admin/usage?since=YYYY-MM-DD`: usage rows (oldest day first) with GB-seconds
/// and cost at the configured prices, and their totals.
pub async fn admin(
    State(state): State<AppState>,
    Query(query): Query<UsageQuery>,
) -> ApiResult<Json<Value>> {
    // Invocations that already answered may still be finishing: count them too.
    state.engine.settle().await;
    if let Some(since) = &query.since
        && time::Date::parse(since, format_description!("[year]-[month]-[day]")).is_err()
    {
        return Err(ApiError::invalid(format!(
            "since must be a date like 2025-01-31, got {since:?}"
        )));
    }
    state.observe.usage.flush(state.store.as_ref()).await?;
    let rows = state.store.usage_since(query.since.as_deref()).await?;
    let prices = &state.config.billing;
    let (mut requests, mut gbs, mut cost) = (0u64, 0f64, 0f64);
    let usage: Vec<Value> = rows
        .iter()
        .map(|r| {
            let g = gb_seconds(r.billed_ms, r.memory_mb);
            let c = cost_usd(prices, r.requests, g);
            requests += r.requests;
            gbs += g;
            cost += c;
            json!({
                "Date": r.day,
                "FunctionName": r.function_name,
                "Version": r.version,
                "MemorySize": r.memory_mb,
                "Requests": r.requests,
                "BilledDurationMs": r.billed_ms,
                "GBSeconds": g,
                "CostUSD": c,
            })
        })
        .collect();
    Ok(Json(json!({
        "Usage": usage,
        "Total": { "Requests": requests, "GBSeconds": gbs, "CostUSD": cost },
        "Prices": {
            "PerMillionRequestsUSD": prices.price_per_million_requests_usd,
            "PerGBSecondUSD": prices.price_per_gb_second_usd,
        },
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gb_seconds_and_cost_follow_the_aws_formula() {
        // 1000 requests of 100 ms at 512 MB: 50 GB-s.
        let g = gb_seconds(100_000, 512);
        assert!((g - 50.0).abs() < 1e-9);
        let c = cost_usd(&BillingConfig::default(), 1000, g);
        assert!((c - (0.0002 + 50.0 * 0.000_016_666_7)).abs() < 1e-12);
    }

    #[test]
    fn usage_is_grouped_by_utc_day_and_memory() {
        let m = UsageMeter::default();
        let t = OffsetDateTime::from_unix_timestamp(1_767_225_599).unwrap(); // 2025-12-31T23:59:59Z
        m.record("f", "$LATEST", 128, 3, t);
        m.record("f", "$LATEST", 128, 4, t);
        m.record("f", "$LATEST", 256, 1, t);
        m.record("f", "$LATEST", 128, 5, t + time::Duration::seconds(1));
        let taken = m.take();
        assert_eq!(taken.len(), 3);
        let k = Key {
            day: "2025-12-31".into(),
            function: "f".into(),
            version: "$LATEST".into(),
            memory_mb: 128,
        };
        assert_eq!(taken[&k], (2, 7));
        assert!(taken.keys().any(|k| k.day == "2026-01-01"));
    }
}
