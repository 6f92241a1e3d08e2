//! The async queue and event invoke configs in SQLite.

use async_trait::async_trait;
use lamina_types::async_invoke::{AsyncEvent, EventInvokeConfig};
use rusqlite::{OptionalExtension, Row, params};

use super::SqliteStore;
use crate::async_queue::{AsyncStore, QueueStats};
use crate::{Sealer, StoreError};

const COLUMNS: &str = "id, function_name, qualifier, payload, request_id, trace_id, enqueued_at, \
     failed_attempts, invokes, throttles, next_attempt_at";

fn u32_of(n: i64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn event_row(r: &Row<'_>) -> rusqlite::Result<(AsyncEvent, Vec<u8>)> {
    Ok((
        AsyncEvent {
            id: r.get(0)?,
            function_name: r.get(1)?,
            qualifier: r.get(2)?,
            payload: Vec::new(),
            request_id: r.get(4)?,
            trace_id: r.get(5)?,
            enqueued_at_ms: r.get(6)?,
            failed_attempts: u32_of(r.get(7)?),
            invokes: u32_of(r.get(8)?),
            throttles: u32_of(r.get(9)?),
            next_attempt_at_ms: r.get(10)?,
        },
        r.get(3)?,
    ))
}

fn open_payload(
    (mut event, sealed): (AsyncEvent, Vec<u8>),
    sealer: &dyn Sealer,
) -> Result<AsyncEvent, StoreError> {
    event.payload = sealer.open(&sealed).map_err(|source| StoreError::Seal {
        name: event.function_name.clone(),
        source,
    })?;
    Ok(event)
}

fn config_key(c: &EventInvokeConfig) -> String {
    format!("{}:{}", c.function_name, c.qualifier)
}

fn parse_config(key: &str, body: &str) -> Result<EventInvokeConfig, StoreError> {
    serde_json::from_str(body).map_err(|source| StoreError::Corrupt {
        name: key.to_owned(),
        source,
    })
}

#[async_trait]
impl AsyncStore for SqliteStore {
    async fn enqueue(&self, event: &AsyncEvent) -> Result<(), StoreError> {
        let event = event.clone();
        self.with_conn(move |conn, sealer| {
            let sealed = sealer.seal(&event.payload).map_err(|source| StoreError::Seal {
                name: event.function_name.clone(),
                source,
            })?;
            conn.execute(
                &format!("INSERT INTO async_events ({COLUMNS}, lease_until) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, 0)"),
                params![
                    event.id,
                    event.function_name,
                    event.qualifier,
                    sealed,
                    event.request_id,
                    event.trace_id,
                    event.enqueued_at_ms,
                    event.failed_attempts,
                    event.invokes,
                    event.throttles,
                    event.next_attempt_at_ms
                ],
            )?;
            Ok(())
        })
        .await
    }

    async fn lease_due(
        &self,
        now_ms: i64,
        lease_ms: i64,
        limit: usize,
    ) -> Result<Vec<AsyncEvent>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.with_conn(move |conn, sealer| {
            let tx = conn.transaction()?;
            let rows = {
                let mut stmt = tx.prepare(&format!(
                    "SELECT {COLUMNS} FROM async_events WHERE next_attempt_at <= ?1 AND lease_until <= ?1 \
                     ORDER BY next_attempt_at LIMIT ?2"
                ))?;
                stmt.query_map(params![now_ms, limit], event_row)?
                    .collect::<Result<Vec<_>, _>>()?
            };
            for (e, _) in &rows {
                tx.execute(
                    "UPDATE async_events SET lease_until = ?2 WHERE id = ?1",
                    params![e.id, now_ms + lease_ms],
                )?;
            }
            tx.commit()?;
            rows.into_iter().map(|r| open_payload(r, sealer)).collect()
        })
        .await
    }

    async fn next_due_ms(&self) -> Result<Option<i64>, StoreError> {
        self.with_conn(|conn, _| {
            Ok(conn.query_row(
                "SELECT MIN(CASE WHEN lease_until > next_attempt_at THEN lease_until ELSE next_attempt_at END) FROM async_events",
                [],
                |r| r.get::<_, Option<i64>>(0),
            )?)
        })
        .await
    }

    async fn reschedule(&self, event: &AsyncEvent) -> Result<(), StoreError> {
        let e = event.clone();
        self.with_conn(move |conn, _| {
            conn.execute(
                "UPDATE async_events SET failed_attempts = ?2, invokes = ?3, throttles = ?4, \
                 next_attempt_at = ?5, lease_until = 0 WHERE id = ?1",
                params![
                    e.id,
                    e.failed_attempts,
                    e.invokes,
                    e.throttles,
                    e.next_attempt_at_ms
                ],
            )?;
            Ok(())
        })
        .await
    }

    async fn complete(&self, id: &str) -> Result<(), StoreError> {
        let id = id.to_owned();
        self.with_conn(move |conn, _| {
            conn.execute("DELETE FROM async_events WHERE id = ?1", [&id])?;
            Ok(())
        })
        .await
    }

    async fn fail(
        &self,
        event: &AsyncEvent,
        condition: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let (id, function, condition) = (
            event.id.clone(),
            event.function_name.clone(),
            condition.to_owned(),
        );
        self.with_conn(move |conn, _| {
            let tx = conn.transaction()?;
            tx.execute("DELETE FROM async_events WHERE id = ?1", [&id])?;
            tx.execute(
                "INSERT INTO async_failures (id, function_name, condition, failed_at) VALUES (?1, ?2, ?3, ?4) \
                 ON CONFLICT (id) DO NOTHING",
                params![id, function, condition, now_ms],
            )?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn release_leases(&self) -> Result<(), StoreError> {
        self.with_conn(|conn, _| {
            conn.execute(
                "UPDATE async_events SET lease_until = 0 WHERE lease_until > 0",
                [],
            )?;
            Ok(())
        })
        .await
    }

    async fn queue_stats(&self) -> Result<QueueStats, StoreError> {
        self.with_conn(|conn, _| {
            let (depth, oldest): (i64, Option<i64>) = conn.query_row(
                "SELECT COUNT(*), MIN(enqueued_at) FROM async_events",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            let failed: i64 =
                conn.query_row("SELECT COUNT(*) FROM async_failures", [], |r| r.get(0))?;
            Ok(QueueStats {
                depth: u64::try_from(depth).unwrap_or(0),
                oldest_enqueued_at_ms: oldest,
                failed: u64::try_from(failed).unwrap_or(0),
            })
        })
        .await
    }

    async fn put_event_invoke_config(&self, config: &EventInvokeConfig) -> Result<(), StoreError> {
        let config = config.clone();
        self.with_conn(move |conn, _| {
            let key = config_key(&config);
            let body = serde_json::to_string(&config)
                .map_err(|source| StoreError::Corrupt { name: key, source })?;
            conn.execute(
                "INSERT INTO event_invoke_configs (function_name, qualifier, body) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (function_name, qualifier) DO UPDATE SET body = excluded.body",
                params![config.function_name, config.qualifier, body],
            )?;
            Ok(())
        })
        .await
    }

    async fn event_invoke_config(
        &self,
        function: &str,
        qualifier: &str,
    ) -> Result<Option<EventInvokeConfig>, StoreError> {
        let (f, q) = (function.to_owned(), qualifier.to_owned());
        self.with_conn(move |conn, _| {
            conn.query_row(
                "SELECT body FROM event_invoke_configs WHERE function_name = ?1 AND qualifier = ?2",
                params![f, q],
                |r| r.get::<_, String>(0),
            )
            .optional()?
            .map(|b| parse_config(&format!("{f}:{q}"), &b))
            .transpose()
        })
        .await
    }

    async fn list_event_invoke_configs(
        &self,
        function: &str,
    ) -> Result<Vec<EventInvokeConfig>, StoreError> {
        let f = function.to_owned();
        self.with_conn(move |conn, _| {
            let mut stmt = conn.prepare(
                "SELECT qualifier, body FROM event_invoke_configs WHERE function_name = ?1 ORDER BY qualifier",
            )?;
            let rows = stmt
                .query_map([&f], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?
                .collect::<Result<Vec<_>, _>>()?;
            rows.iter()
                .map(|(q, b)| parse_config(&format!("{f}:{q}"), b))
                .collect()
        })
        .await
    }

    async fn delete_event_invoke_config(
        &self,
        function: &str,
        qualifier: &str,
    ) -> Result<bool, StoreError> {
        let (f, q) = (function.to_owned(), qualifier.to_owned());
        self.with_conn(move |conn, _| {
            Ok(conn.execute(
                "DELETE FROM event_invoke_configs WHERE function_name = ?1 AND qualifier = ?2",
                params![f, q],
            )? > 0)
        })
        .await
    }
}
