//! Resource-based policies in SQLite (`function_policy_statements`, migration 3).

use async_trait::async_trait;
use rusqlite::{OptionalExtension, Transaction, params};

use super::SqliteStore;
use crate::policies::{LATEST, PolicyChange, PolicyStore, StoredStatement};
use crate::StoreError;

/// The RevisionId of what a policy is attached to. Only `$LATEST` (the function row) exists
/// so far: published versions and aliases get their arms here (and in
/// [`set_target_revision`]) when they carry their own revision.
fn target_revision(
    tx: &Transaction<'_>,
    function: &str,
    qualifier: &str,
) -> rusqlite::Result<Option<String>> {
    if qualifier != LATEST {
        return Ok(None);
    }
    tx.query_row(
        "SELECT revision_id FROM functions WHERE name = ?1",
        [function],
        |r| r.get(0),
    )
    .optional()
}

fn set_target_revision(
    tx: &Transaction<'_>,
    function: &str,
    qualifier: &str,
    revision: &str,
) -> rusqlite::Result<()> {
    if qualifier == LATEST {
        tx.execute(
            "UPDATE functions SET revision_id = ?2 WHERE name = ?1",
            params![function, revision],
        )?;
    }
    Ok(())
}

/// Deletes every policy of a function (inside its delete transaction).
pub(super) fn delete_function_rows(tx: &Transaction<'_>, function: &str) -> rusqlite::Result<()> {
    tx.execute(
        "DELETE FROM function_policy_statements WHERE function_name = ?1",
        [function],
    )?;
    Ok(())
}

#[async_trait]
impl PolicyStore for SqliteStore {
    async fn policy_statements(
        &self,
        function: &str,
        qualifier: &str,
    ) -> Result<Vec<StoredStatement>, StoreError> {
        let (function, qualifier) = (function.to_owned(), qualifier.to_owned());
        self.with_conn(move |conn, _| {
            let mut stmt = conn.prepare(
                "SELECT sid, statement FROM function_policy_statements \
                 WHERE function_name = ?1 AND qualifier = ?2 ORDER BY position",
            )?;
            let rows = stmt
                .query_map([&function, &qualifier], |r| {
                    Ok(StoredStatement {
                        sid: r.get(0)?,
                        json: r.get(1)?,
                    })
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
        .await
    }

    async fn change_policy(
        &self,
        function: &str,
        qualifier: &str,
        change: PolicyChange,
        expected_revision: &str,
        new_revision: &str,
    ) -> Result<(), StoreError> {
        let (function, qualifier) = (function.to_owned(), qualifier.to_owned());
        let (expected, new) = (expected_revision.to_owned(), new_revision.to_owned());
        self.with_conn(move |conn, _| {
            let tx = conn.transaction()?;
            match target_revision(&tx, &function, &qualifier)? {
                None => return Err(StoreError::NotFound { name: function }),
                Some(current) if current != expected => {
                    return Err(StoreError::RevisionMismatch { name: function });
                }
                Some(_) => {}
            }
            match change {
                PolicyChange::Add(statement) => {
                    let inserted = tx.execute(
                        "INSERT INTO function_policy_statements \
                         (function_name, qualifier, sid, position, statement) \
                         SELECT ?1, ?2, ?3, COALESCE(MAX(position), 0) + 1, ?4 \
                         FROM function_policy_statements WHERE function_name = ?1 AND qualifier = ?2 \
                         ON CONFLICT (function_name, qualifier, sid) DO NOTHING",
                        params![function, qualifier, statement.sid, statement.json],
                    )?;
                    if inserted == 0 {
                        return Err(StoreError::StatementExists {
                            name: function,
                            sid: statement.sid,
                        });
                    }
                }
                PolicyChange::Remove { sid } => {
                    let deleted = tx.execute(
                        "DELETE FROM function_policy_statements \
                         WHERE function_name = ?1 AND qualifier = ?2 AND sid = ?3",
                        params![function, qualifier, sid],
                    )?;
                    if deleted == 0 {
                        return Err(StoreError::StatementNotFound {
                            name: function,
                            sid,
                        });
                    }
                }
            }
            set_target_revision(&tx, &function, &qualifier, &new)?;
            tx.commit()?;
            Ok(())
        })
        .await
    }
}
