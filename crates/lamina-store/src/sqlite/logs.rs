//! Log group metadata in SQLite (migration 7).

use async_trait::async_trait;
use rusqlite::{OptionalExtension, Row, params};

use super::SqliteStore;
use crate::StoreError;
use crate::logs::{LogGroupRecord, LogStore};

fn group_of(r: &Row<'_>) -> rusqlite::Result<LogGroupRecord> {
    let retention: Option<i64> = r.get(2)?;
    Ok(LogGroupRecord {
        name: r.get(0)?,
        creation_time_ms: r.get(1)?,
        retention_in_days: retention.and_then(|d| u32::try_from(d).ok()),
    })
}

#[async_trait]
impl LogStore for SqliteStore {
    async fn create_log_group(
        &self,
        name: &str,
        creation_time_ms: i64,
    ) -> Result<bool, StoreError> {
        let name = name.to_owned();
        self.with_conn(move |conn, _| {
            let n = conn.execute(
                "INSERT INTO log_groups (name, creation_time, retention_in_days) \
                 VALUES (?1, ?2, NULL) ON CONFLICT (name) DO NOTHING",
                params![name, creation_time_ms],
            )?;
            Ok(n == 1)
        })
        .await
    }

    async fn get_log_group(&self, name: &str) -> Result<Option<LogGroupRecord>, StoreError> {
        let name = name.to_owned();
        self.with_conn(move |conn, _| {
            Ok(conn
                .query_row(
                    "SELECT name, creation_time, retention_in_days FROM log_groups WHERE name = ?1",
                    [&name],
                    group_of,
                )
                .optional()?)
        })
        .await
    }

    async fn list_log_groups(
        &self,
        prefix: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<LogGroupRecord>, StoreError> {
        let prefix = prefix.unwrap_or_default().to_owned();
        let after = after.map(str::to_owned);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.with_conn(move |conn, _| {
            // `substr` counts characters in SQLite and PostgreSQL alike.
            let prefix_len = i64::try_from(prefix.chars().count()).unwrap_or(i64::MAX);
            let mut stmt = conn.prepare(
                "SELECT name, creation_time, retention_in_days FROM log_groups \
                 WHERE substr(name, 1, ?2) = ?1 AND (?3 IS NULL OR name > ?3) \
                 ORDER BY name LIMIT ?4",
            )?;
            let rows = stmt
                .query_map(params![prefix, prefix_len, after, limit], group_of)?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
        .await
    }

    async fn log_group_names(&self) -> Result<Vec<String>, StoreError> {
        self.with_conn(move |conn, _| {
            let mut stmt = conn.prepare("SELECT name FROM log_groups ORDER BY name")?;
            let rows = stmt
                .query_map([], |r| r.get(0))?
                .collect::<Result<Vec<String>, _>>()?;
            Ok(rows)
        })
        .await
    }

    async fn delete_log_group(&self, name: &str) -> Result<bool, StoreError> {
        let name = name.to_owned();
        self.with_conn(move |conn, _| {
            Ok(conn.execute("DELETE FROM log_groups WHERE name = ?1", [&name])? == 1)
        })
        .await
    }

    async fn put_log_retention(&self, name: &str, days: Option<u32>) -> Result<bool, StoreError> {
        let name = name.to_owned();
        self.with_conn(move |conn, _| {
            let n = conn.execute(
                "UPDATE log_groups SET retention_in_days = ?2 WHERE name = ?1",
                params![name, days.map(i64::from)],
            )?;
            Ok(n == 1)
        })
        .await
    }
}
