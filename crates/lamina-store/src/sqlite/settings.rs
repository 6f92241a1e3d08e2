//! Recursion and runtime management configs in SQLite (migration 3).

use async_trait::async_trait;
use lamina_types::settings::RuntimeManagement;
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::SqliteStore;
use super::policies::Target;
use crate::StoreError;
use crate::policies::LATEST;
use crate::settings::SettingsStore;

/// Whether `function` at `qualifier` (`$LATEST` or a published version) exists.
fn target_exists(conn: &Connection, function: &str, qualifier: &str) -> rusqlite::Result<bool> {
    let found: Option<i64> = match Target::of(qualifier) {
        Target::Latest => conn
            .query_row("SELECT 1 FROM functions WHERE name = ?1", [function], |r| {
                r.get(0)
            })
            .optional()?,
        Target::Version(n) => conn
            .query_row(
                "SELECT 1 FROM function_versions WHERE name = ?1 AND version = ?2",
                params![function, n],
                |r| r.get(0),
            )
            .optional()?,
        Target::Alias(_) => None,
    };
    Ok(found.is_some())
}

/// Deletes a function's settings (inside its delete transaction).
pub(super) fn delete_function_rows(tx: &Transaction<'_>, function: &str) -> rusqlite::Result<()> {
    tx.execute(
        "DELETE FROM function_recursion_configs WHERE function_name = ?1",
        [function],
    )?;
    tx.execute(
        "DELETE FROM function_runtime_management_configs WHERE function_name = ?1",
        [function],
    )?;
    Ok(())
}

/// Deletes the settings of one version (inside its delete transaction).
pub(super) fn delete_qualifier_rows(
    tx: &Transaction<'_>,
    function: &str,
    qualifier: &str,
) -> rusqlite::Result<()> {
    tx.execute(
        "DELETE FROM function_runtime_management_configs WHERE function_name = ?1 AND qualifier = ?2",
        [function, qualifier],
    )?;
    Ok(())
}

#[async_trait]
impl SettingsStore for SqliteStore {
    async fn recursion_config(&self, function: &str) -> Result<Option<String>, StoreError> {
        let function = function.to_owned();
        self.with_conn(move |conn, _| {
            Ok(conn
                .query_row(
                    "SELECT recursive_loop FROM function_recursion_configs WHERE function_name = ?1",
                    [&function],
                    |r| r.get(0),
                )
                .optional()?)
        })
        .await
    }

    async fn put_recursion_config(
        &self,
        function: &str,
        recursive_loop: &str,
    ) -> Result<(), StoreError> {
        let (function, value) = (function.to_owned(), recursive_loop.to_owned());
        self.with_conn(move |conn, _| {
            let tx = conn.transaction()?;
            if !target_exists(&tx, &function, LATEST)? {
                return Err(StoreError::NotFound { name: function });
            }
            tx.execute(
                "INSERT INTO function_recursion_configs (function_name, recursive_loop) \
                 VALUES (?1, ?2) \
                 ON CONFLICT (function_name) DO UPDATE SET recursive_loop = excluded.recursive_loop",
                params![function, value],
            )?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn runtime_management_config(
        &self,
        function: &str,
        qualifier: &str,
    ) -> Result<Option<RuntimeManagement>, StoreError> {
        let (function, qualifier) = (function.to_owned(), qualifier.to_owned());
        self.with_conn(move |conn, _| {
            Ok(conn
                .query_row(
                    "SELECT update_runtime_on, runtime_version_arn \
                     FROM function_runtime_management_configs \
                     WHERE function_name = ?1 AND qualifier = ?2",
                    [&function, &qualifier],
                    |r| {
                        Ok(RuntimeManagement {
                            update_runtime_on: r.get(0)?,
                            runtime_version_arn: r.get(1)?,
                        })
                    },
                )
                .optional()?)
        })
        .await
    }

    async fn put_runtime_management_config(
        &self,
        function: &str,
        qualifier: &str,
        config: &RuntimeManagement,
    ) -> Result<(), StoreError> {
        let (function, qualifier, config) =
            (function.to_owned(), qualifier.to_owned(), config.clone());
        self.with_conn(move |conn, _| {
            let tx = conn.transaction()?;
            if !target_exists(&tx, &function, &qualifier)? {
                return Err(StoreError::NotFound { name: function });
            }
            tx.execute(
                "INSERT INTO function_runtime_management_configs \
                 (function_name, qualifier, update_runtime_on, runtime_version_arn) \
                 VALUES (?1, ?2, ?3, ?4) \
                 ON CONFLICT (function_name, qualifier) DO UPDATE SET \
                 update_runtime_on = excluded.update_runtime_on, \
                 runtime_version_arn = excluded.runtime_version_arn",
                params![
                    function,
                    qualifier,
                    config.update_runtime_on,
                    config.runtime_version_arn
                ],
            )?;
            tx.commit()?;
            Ok(())
        })
        .await
    }
}
