//! Usage totals and the audit log in SQLite.

use async_trait::async_trait;
use rusqlite::params;

use super::SqliteStore;
use crate::StoreError;
use crate::usage::{AuditEntry, AuditStore, UsageRecord, UsageStore};

fn u64_of(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

fn i64_of(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[async_trait]
impl UsageStore for SqliteStore {
    async fn add_usage(&self, records: &[UsageRecord]) -> Result<(), StoreError> {
        if records.is_empty() {
            return Ok(());
        }
        let records = records.to_vec();
        self.with_conn(move |conn, _| {
            let tx = conn.transaction()?;
            {
                let mut stmt = tx.prepare_cached(
                    "INSERT INTO usage_daily (day, function_name, version, memory_mb, requests, billed_ms) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
                     ON CONFLICT (day, function_name, version, memory_mb) DO UPDATE SET \
                     requests = usage_daily.requests + excluded.requests, \
                     billed_ms = usage_daily.billed_ms + excluded.billed_ms",
                )?;
                for r in &records {
                    stmt.execute(params![
                        r.day,
                        r.function_name,
                        r.version,
                        r.memory_mb,
                        i64_of(r.requests),
                        i64_of(r.billed_ms),
                    ])?;
                }
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn usage_since(&self, since: Option<&str>) -> Result<Vec<UsageRecord>, StoreError> {
        let since = since.unwrap_or("").to_owned();
        self.with_conn(move |conn, _| {
            let mut stmt = conn.prepare_cached(
                "SELECT day, function_name, version, memory_mb, requests, billed_ms FROM usage_daily \
                 WHERE day >= ?1 ORDER BY day, function_name, version, memory_mb",
            )?;
            let rows = stmt.query_map([since], |r| {
                Ok(UsageRecord {
                    day: r.get(0)?,
                    function_name: r.get(1)?,
                    version: r.get(2)?,
                    memory_mb: u32::try_from(r.get::<_, i64>(3)?).unwrap_or(0),
                    requests: u64_of(r.get(4)?),
                    billed_ms: u64_of(r.get(5)?),
                })
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }
}

#[async_trait]
impl AuditStore for SqliteStore {
    async fn append_audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        let e = entry.clone();
        self.with_conn(move |conn, _| {
            conn.execute(
                "INSERT INTO audit_log (seq, at_ms, request_id, access_key_id, principal, operation, \
                 resource, status, error_type) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    e.seq,
                    e.at_ms,
                    e.request_id,
                    e.access_key_id,
                    e.principal,
                    e.operation,
                    e.resource,
                    e.status,
                    e.error_type,
                ],
            )?;
            Ok(())
        })
        .await
    }

    async fn recent_audit(&self, limit: usize) -> Result<Vec<AuditEntry>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.with_conn(move |conn, _| {
            let mut stmt = conn.prepare_cached(
                "SELECT seq, at_ms, request_id, access_key_id, principal, operation, resource, \
                 status, error_type FROM audit_log ORDER BY seq DESC LIMIT ?1",
            )?;
            let rows = stmt.query_map([limit], |r| {
                Ok(AuditEntry {
                    seq: r.get(0)?,
                    at_ms: r.get(1)?,
                    request_id: r.get(2)?,
                    access_key_id: r.get(3)?,
                    principal: r.get(4)?,
                    operation: r.get(5)?,
                    resource: r.get(6)?,
                    status: u16::try_from(r.get::<_, i64>(7)?).unwrap_or(0),
                    error_type: r.get(8)?,
                })
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }
}
