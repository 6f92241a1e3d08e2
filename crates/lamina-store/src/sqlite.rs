//! The embedded SQLite store. One connection behind a mutex; every call runs on the blocking
//! pool so the async server never waits on disk. The rows every invocation reads are cached
//! in memory until the next write that can change them (see `cache`).

use std::path::Path;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use lamina_types::model::{
    AliasRecord, FunctionConfig, FunctionRecord, ProvisionedConfig, State, UpdateStatus,
    VersionRecord,
};
use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::{CodeUsage, Sealer, Store, StoreError};
use cache::{Cached, Key, ReadCache};

mod async_queue;
mod cache;
mod concurrency;
mod layers;
mod logs;
/// Migrations in order; each is applied once and recorded in `schema_migrations`.
mod policies;
mod settings;
mod usage;
mod versions;

const MIGRATIONS: &[(u32, &str)] = &[
    (1, include_str!("../migrations/0001_functions.sql")),
    (2, include_str!("../migrations/0002_versions_aliases.sql")),
    (
        3,
        include_str!("../migrations/0003_policies_and_configs.sql"),
    ),
    (4, include_str!("../migrations/0004_layers.sql")),
    (5, include_str!("../migrations/0005_concurrency.sql")),
    (6, include_str!("../migrations/0006_async.sql")),
    (7, include_str!("../migrations/0007_logs.sql")),
    (8, include_str!("../migrations/0008_usage_audit.sql")),
];

const FUNCTION_COLUMNS: &str = "name, config, environment, code_sha256, code_size, revision_id, \
     last_modified, state, last_update_status, tags";

/// SQLite-backed [`Store`].
#[derive(Clone)]
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
    sealer: Arc<dyn Sealer>,
    cache: Arc<ReadCache>,
}

impl SqliteStore {
    /// Opens (or creates) the database at `path` and applies pending migrations.
    pub fn open(path: &Path, sealer: Arc<dyn Sealer>) -> Result<Self, StoreError> {
        let conn = Connection::open(path).map_err(|source| StoreError::Open {
            path: path.display().to_string(),
            source,
        })?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        migrate(&conn)?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
            sealer,
            cache: Arc::default(),
        })
    }

    async fn with_conn<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection, &dyn Sealer) -> Result<T, StoreError> + Send + 'static,
    {
        self.run(f, None).await
    }

    /// Like [`SqliteStore::with_conn`], for a write that can change a row [`ReadCache`] keeps:
    /// the cache is emptied once the write is over, before the connection is released (even
    /// if the caller stops waiting).
    async fn write<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection, &dyn Sealer) -> Result<T, StoreError> + Send + 'static,
    {
        self.run(f, Some(Arc::clone(&self.cache))).await
    }

    /// A read through the cache: `pick` finds the answer in a cached entry, `keep` makes one.
    async fn cached<T, F>(
        &self,
        key: Key,
        pick: fn(Cached) -> Option<T>,
        keep: fn(T) -> Cached,
        f: F,
    ) -> Result<T, StoreError>
    where
        T: Clone + Send + 'static,
        F: FnOnce(&mut Connection, &dyn Sealer) -> Result<T, StoreError> + Send + 'static,
    {
        if let Some(hit) = self.cache.get(&key).and_then(pick) {
            return Ok(hit);
        }
        let generation = self.cache.generation();
        let value = self.with_conn(f).await?;
        self.cache.put(generation, key, keep(value.clone()));
        Ok(value)
    }

    async fn run<T, F>(&self, f: F, invalidate: Option<Arc<ReadCache>>) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection, &dyn Sealer) -> Result<T, StoreError> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        let sealer = Arc::clone(&self.sealer);
        tokio::task::spawn_blocking(move || {
            // A poisoned lock only means another call panicked mid-query; SQLite rolled the
            // transaction back, so the connection is still consistent.
            let mut guard = conn.lock().unwrap_or_else(|p| p.into_inner());
            let result = f(&mut guard, sealer.as_ref());
            if let Some(cache) = invalidate {
                cache.invalidate();
            }
            result
        })
        .await?
    }
}

fn migrate(conn: &Connection) -> Result<(), StoreError> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)",
    )?;
    for (version, sql) in MIGRATIONS {
        let applied: Option<u32> = conn
            .query_row(
                "SELECT version FROM schema_migrations WHERE version = ?1",
                [version],
                |r| r.get(0),
            )
            .optional()?;
        if applied.is_some() {
            continue;
        }
        let apply = || -> rusqlite::Result<()> {
            let tx = conn.unchecked_transaction()?;
            tx.execute_batch(sql)?;
            tx.execute(
                "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, ?2)",
                params![
                    version,
                    lamina_types::time::lambda_timestamp(lamina_types::time::now())
                ],
            )?;
            tx.commit()
        };
        apply().map_err(|source| StoreError::Migrate {
            version: *version,
            source,
        })?;
    }
    Ok(())
}

fn state_str(s: State) -> &'static str {
    match s {
        State::Pending => "Pending",
        State::Active => "Active",
        State::Inactive => "Inactive",
        State::Failed => "Failed",
    }
}

fn parse_state(s: &str) -> State {
    match s {
        "Pending" => State::Pending,
        "Inactive" => State::Inactive,
        "Failed" => State::Failed,
        _ => State::Active,
    }
}

fn update_str(s: UpdateStatus) -> &'static str {
    match s {
        UpdateStatus::Successful => "Successful",
        UpdateStatus::Failed => "Failed",
        UpdateStatus::InProgress => "InProgress",
    }
}

fn parse_update(s: &str) -> UpdateStatus {
    match s {
        "Failed" => UpdateStatus::Failed,
        "InProgress" => UpdateStatus::InProgress,
        _ => UpdateStatus::Successful,
    }
}

/// The columns of a record, with config, tags and environment serialised and sealed.
struct Encoded {
    config: String,
    environment: Option<Vec<u8>>,
    tags: String,
}

fn encode(rec: &FunctionRecord, sealer: &dyn Sealer) -> Result<Encoded, StoreError> {
    let corrupt = |source| StoreError::Corrupt {
        name: rec.name.clone(),
        source,
    };
    let environment = if rec.environment.is_empty() {
        None
    } else {
        let plain = serde_json::to_vec(&rec.environment).map_err(corrupt)?;
        Some(sealer.seal(&plain).map_err(|source| StoreError::Seal {
            name: rec.name.clone(),
            source,
        })?)
    };
    Ok(Encoded {
        config: serde_json::to_string(&rec.config).map_err(corrupt)?,
        environment,
        tags: serde_json::to_string(&rec.tags).map_err(corrupt)?,
    })
}

/// A row as read, before the JSON columns are decoded and the environment opened.
struct RawRow {
    name: String,
    config: String,
    environment: Option<Vec<u8>>,
    code_sha256: String,
    code_size: i64,
    revision_id: String,
    last_modified: String,
    state: String,
    last_update_status: String,
    tags: String,
}

fn raw_row(r: &Row<'_>) -> rusqlite::Result<RawRow> {
    Ok(RawRow {
        name: r.get(0)?,
        config: r.get(1)?,
        environment: r.get(2)?,
        code_sha256: r.get(3)?,
        code_size: r.get(4)?,
        revision_id: r.get(5)?,
        last_modified: r.get(6)?,
        state: r.get(7)?,
        last_update_status: r.get(8)?,
        tags: r.get(9)?,
    })
}

fn decode(raw: RawRow, sealer: &dyn Sealer) -> Result<FunctionRecord, StoreError> {
    let name = raw.name;
    let corrupt = |source| StoreError::Corrupt {
        name: name.clone(),
        source,
    };
    let config: FunctionConfig = serde_json::from_str(&raw.config).map_err(corrupt)?;
    let tags = serde_json::from_str(&raw.tags).map_err(corrupt)?;
    let environment = match raw.environment {
        None => Default::default(),
        Some(sealed) => {
            let plain = sealer.open(&sealed).map_err(|source| StoreError::Seal {
                name: name.clone(),
                source,
            })?;
            serde_json::from_slice(&plain).map_err(corrupt)?
        }
    };
    Ok(FunctionRecord {
        config,
        environment,
        code_sha256_hex: raw.code_sha256,
        code_size: u64::try_from(raw.code_size).unwrap_or(0),
        revision_id: raw.revision_id,
        last_modified: raw.last_modified,
        state: parse_state(&raw.state),
        last_update_status: parse_update(&raw.last_update_status),
        tags,
        name,
    })
}

fn size_i64(size: u64) -> i64 {
    i64::try_from(size).unwrap_or(i64::MAX)
}

#[async_trait]
impl Store for SqliteStore {
    async fn create_function(&self, rec: &FunctionRecord) -> Result<(), StoreError> {
        let rec = rec.clone();
        self.write(move |conn, sealer| {
            let e = encode(&rec, sealer)?;
            let inserted = conn.execute(
                &format!(
                    "INSERT INTO functions ({FUNCTION_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) \
                     ON CONFLICT (name) DO NOTHING"
                ),
                params![
                    rec.name,
                    e.config,
                    e.environment,
                    rec.code_sha256_hex,
                    size_i64(rec.code_size),
                    rec.revision_id,
                    rec.last_modified,
                    state_str(rec.state),
                    update_str(rec.last_update_status),
                    e.tags
                ],
            )?;
            if inserted == 0 {
                return Err(StoreError::AlreadyExists { name: rec.name });
            }
            Ok(())
        })
        .await
    }

    async fn get_function(&self, name: &str) -> Result<Option<FunctionRecord>, StoreError> {
        let key = Key::Function(name.to_owned());
        let name = name.to_owned();
        self.cached(
            key,
            |c| match c {
                Cached::Function(f) => Some(f),
                _ => None,
            },
            Cached::Function,
            move |conn, sealer| {
                let raw = conn
                    .query_row(
                        &format!("SELECT {FUNCTION_COLUMNS} FROM functions WHERE name = ?1"),
                        [&name],
                        raw_row,
                    )
                    .optional()?;
                raw.map(|r| decode(r, sealer)).transpose()
            },
        )
        .await
    }

    async fn list_functions(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<FunctionRecord>, StoreError> {
        let after = after.unwrap_or_default().to_owned();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.with_conn(move |conn, sealer| {
            let mut stmt = conn.prepare(&format!(
                "SELECT {FUNCTION_COLUMNS} FROM functions WHERE name > ?1 ORDER BY name LIMIT ?2"
            ))?;
            let raws = stmt
                .query_map(params![after, limit], raw_row)?
                .collect::<Result<Vec<_>, _>>()?;
            raws.into_iter().map(|r| decode(r, sealer)).collect()
        })
        .await
    }

    async fn update_function(
        &self,
        rec: &FunctionRecord,
        expected_revision: &str,
    ) -> Result<(), StoreError> {
        let rec = rec.clone();
        let expected = expected_revision.to_owned();
        self.write(move |conn, sealer| {
            let e = encode(&rec, sealer)?;
            let tx = conn.transaction()?;
            let current: Option<String> = tx
                .query_row(
                    "SELECT revision_id FROM functions WHERE name = ?1",
                    [&rec.name],
                    |r| r.get(0),
                )
                .optional()?;
            match current {
                None => return Err(StoreError::NotFound { name: rec.name }),
                Some(c) if c != expected => {
                    return Err(StoreError::RevisionMismatch { name: rec.name });
                }
                Some(_) => {}
            }
            tx.execute(
                "UPDATE functions SET config = ?2, environment = ?3, code_sha256 = ?4, code_size = ?5, \
                 revision_id = ?6, last_modified = ?7, state = ?8, last_update_status = ?9, tags = ?10 \
                 WHERE name = ?1",
                params![
                    rec.name,
                    e.config,
                    e.environment,
                    rec.code_sha256_hex,
                    size_i64(rec.code_size),
                    rec.revision_id,
                    rec.last_modified,
                    state_str(rec.state),
                    update_str(rec.last_update_status),
                    e.tags
                ],
            )?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn delete_function(&self, name: &str) -> Result<Option<FunctionRecord>, StoreError> {
        let name = name.to_owned();
        self.write(move |conn, sealer| {
            let tx = conn.transaction()?;
            let raw = tx
                .query_row(
                    &format!("SELECT {FUNCTION_COLUMNS} FROM functions WHERE name = ?1"),
                    [&name],
                    raw_row,
                )
                .optional()?;
            let Some(raw) = raw else { return Ok(None) };
            tx.execute("DELETE FROM functions WHERE name = ?1", [&name])?;
            tx.execute("DELETE FROM function_versions WHERE name = ?1", [&name])?;
            tx.execute(
                "DELETE FROM function_aliases WHERE function_name = ?1",
                [&name],
            )?;
            policies::delete_function_rows(&tx, &name)?;
            settings::delete_function_rows(&tx, &name)?;
            tx.commit()?;
            decode(raw, sealer).map(Some)
        })
        .await
    }

    async fn code_usage(&self) -> Result<CodeUsage, StoreError> {
        self.with_conn(|conn, _| {
            let (count, total): (i64, i64) = conn.query_row(
                "SELECT (SELECT COUNT(*) FROM functions), \
                 (SELECT COALESCE(SUM(code_size), 0) FROM functions) + \
                 (SELECT COALESCE(SUM(code_size), 0) FROM function_versions) + \
                 (SELECT COALESCE(SUM(code_size), 0) FROM layer_versions)",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            Ok(CodeUsage {
                function_count: u64::try_from(count).unwrap_or(0),
                total_code_size: u64::try_from(total).unwrap_or(0),
            })
        })
        .await
    }

    async fn code_references(&self, sha256_hex: &str) -> Result<u64, StoreError> {
        let sha = sha256_hex.to_owned();
        // A layer blob is referenced by its layer version and by every function (or version)
        // that uses it, which keeps it after the layer version is deleted. Functions name their
        // layers' blobs in the `layers` of their configuration JSON.
        let in_config = format!("%\"code_sha256_hex\":\"{sha}\"%");
        self.with_conn(move |conn, _| {
            let n: i64 = conn.query_row(
                "SELECT (SELECT COUNT(*) FROM functions WHERE code_sha256 = ?1) + \
                 (SELECT COUNT(*) FROM function_versions WHERE code_sha256 = ?1) + \
                 (SELECT COUNT(*) FROM layer_versions WHERE code_sha256 = ?1) + \
                 (SELECT COUNT(*) FROM functions WHERE config LIKE ?2) + \
                 (SELECT COUNT(*) FROM function_versions WHERE config LIKE ?2)",
                params![sha, in_config],
                |r| r.get(0),
            )?;
            Ok(u64::try_from(n).unwrap_or(0))
        })
        .await
    }

    async fn publish_version(
        &self,
        name: &str,
        expected_revision: &str,
        description: Option<&str>,
        new_revision: &str,
    ) -> Result<VersionRecord, StoreError> {
        let (name, rev) = (name.to_owned(), expected_revision.to_owned());
        let description = description.map(str::to_owned);
        let new_revision = new_revision.to_owned();
        self.write(move |conn, sealer| {
            versions::publish(
                conn,
                sealer,
                &name,
                &rev,
                description.as_deref(),
                &new_revision,
            )
        })
        .await
    }

    async fn get_version(
        &self,
        name: &str,
        version: u64,
    ) -> Result<Option<VersionRecord>, StoreError> {
        let name = name.to_owned();
        self.cached(
            Key::Version(name.clone(), version),
            |c| match c {
                Cached::Version(v) => Some(v),
                _ => None,
            },
            Cached::Version,
            move |conn, sealer| versions::get(conn, sealer, &name, version),
        )
        .await
    }

    async fn latest_version(&self, name: &str) -> Result<Option<VersionRecord>, StoreError> {
        let name = name.to_owned();
        self.with_conn(move |conn, sealer| versions::latest(conn, sealer, &name))
            .await
    }

    async fn list_versions(
        &self,
        name: &str,
        after: u64,
        limit: usize,
    ) -> Result<Vec<VersionRecord>, StoreError> {
        let name = name.to_owned();
        self.with_conn(move |conn, sealer| versions::list(conn, sealer, &name, after, limit))
            .await
    }

    async fn delete_version(
        &self,
        name: &str,
        version: u64,
    ) -> Result<Option<VersionRecord>, StoreError> {
        let name = name.to_owned();
        self.write(move |conn, sealer| versions::delete(conn, sealer, &name, version))
            .await
    }

    async fn put_alias(
        &self,
        alias: &AliasRecord,
        expected_revision: Option<&str>,
    ) -> Result<(), StoreError> {
        let alias = alias.clone();
        let expected = expected_revision.map(str::to_owned);
        self.write(move |conn, _| versions::put_alias(conn, &alias, expected.as_deref()))
            .await
    }

    async fn get_alias(
        &self,
        function: &str,
        name: &str,
    ) -> Result<Option<AliasRecord>, StoreError> {
        let (f, n) = (function.to_owned(), name.to_owned());
        self.cached(
            Key::Alias(f.clone(), n.clone()),
            |c| match c {
                Cached::Alias(a) => Some(a),
                _ => None,
            },
            Cached::Alias,
            move |conn, _| versions::get_alias(conn, &f, &n),
        )
        .await
    }

    async fn list_aliases(&self, function: &str) -> Result<Vec<AliasRecord>, StoreError> {
        let f = function.to_owned();
        self.with_conn(move |conn, _| versions::list_aliases(conn, &f))
            .await
    }

    async fn delete_alias(
        &self,
        function: &str,
        name: &str,
    ) -> Result<Option<AliasRecord>, StoreError> {
        let (f, n) = (function.to_owned(), name.to_owned());
        self.write(move |conn, _| versions::delete_alias(conn, &f, &n))
            .await
    }

    async fn reserved_concurrency(&self, name: &str) -> Result<Option<u32>, StoreError> {
        let name = name.to_owned();
        self.cached(
            Key::Reserved(name.clone()),
            |c| match c {
                Cached::Reserved(r) => Some(r),
                _ => None,
            },
            Cached::Reserved,
            move |conn, _| concurrency::reserved(conn, &name),
        )
        .await
    }

    async fn put_reserved_concurrency(
        &self,
        name: &str,
        reserved: Option<u32>,
    ) -> Result<(), StoreError> {
        let name = name.to_owned();
        self.write(move |conn, _| concurrency::put_reserved(conn, &name, reserved))
            .await
    }

    async fn reserved_concurrency_total(&self) -> Result<u32, StoreError> {
        self.with_conn(|conn, _| concurrency::reserved_total(conn))
            .await
    }

    async fn put_provisioned(&self, config: &ProvisionedConfig) -> Result<(), StoreError> {
        let config = config.clone();
        self.with_conn(move |conn, _| concurrency::put_provisioned(conn, &config))
            .await
    }

    async fn get_provisioned(
        &self,
        name: &str,
        qualifier: &str,
    ) -> Result<Option<ProvisionedConfig>, StoreError> {
        let (n, q) = (name.to_owned(), qualifier.to_owned());
        self.with_conn(move |conn, _| concurrency::get_provisioned(conn, &n, &q))
            .await
    }

    async fn list_provisioned(
        &self,
        name: Option<&str>,
    ) -> Result<Vec<ProvisionedConfig>, StoreError> {
        let n = name.map(str::to_owned);
        self.with_conn(move |conn, _| concurrency::list_provisioned(conn, n.as_deref()))
            .await
    }

    async fn delete_provisioned(&self, name: &str, qualifier: &str) -> Result<bool, StoreError> {
        let (n, q) = (name.to_owned(), qualifier.to_owned());
        self.with_conn(move |conn, _| concurrency::delete_provisioned(conn, &n, &q))
            .await
    }

    async fn unsettled_functions(&self) -> Result<Vec<String>, StoreError> {
        self.with_conn(|conn, _| {
            let mut stmt = conn.prepare(
                "SELECT name FROM functions WHERE state = 'Pending' OR last_update_status = 'InProgress' ORDER BY name",
            )?;
            let names = stmt
                .query_map([], |r| r.get(0))?
                .collect::<Result<Vec<String>, _>>()?;
            Ok(names)
        })
        .await
    }
}
