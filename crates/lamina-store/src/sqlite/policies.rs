//! Resource-based policies in SQLite (`function_policy_statements`, migration 3).

use async_trait::async_trait;
use rusqlite::{OptionalExtension, Transaction, params};

use super::{SqliteStore, versions};
use crate::StoreError;
use crate::policies::{LATEST, PolicyChange, PolicyStore, StoredStatement};

/// What a qualifier names: `$LATEST`, a published version, or an alias.
pub(super) enum Target<'a> {
    Latest,
    Version(i64),
    Alias(&'a str),
}

impl<'a> Target<'a> {
    pub(super) fn of(qualifier: &'a str) -> Self {
        if qualifier == LATEST {
            Target::Latest
        } else if !qualifier.is_empty() && qualifier.bytes().all(|b| b.is_ascii_digit()) {
            // Longer than i64: no such version.
            qualifier
                .parse()
                .map_or(Target::Version(-1), Target::Version)
        } else {
            Target::Alias(qualifier)
        }
    }
}

/// The RevisionId of what a policy is attached to (AWS versions a policy with the RevisionId
/// of its function, version or alias), or `None` when that does not exist.
fn target_revision(
    tx: &Transaction<'_>,
    function: &str,
    qualifier: &str,
) -> Result<Option<String>, StoreError> {
    Ok(match Target::of(qualifier) {
        Target::Latest => tx
            .query_row(
                "SELECT revision_id FROM functions WHERE name = ?1",
                [function],
                |r| r.get(0),
            )
            .optional()?,
        Target::Version(n) => tx
            .query_row(
                "SELECT revision_id FROM function_versions WHERE name = ?1 AND version = ?2",
                params![function, n],
                |r| r.get(0),
            )
            .optional()?,
        Target::Alias(name) => versions::get_alias(tx, function, name)?.map(|a| a.revision_id),
    })
}

fn set_target_revision(
    tx: &Transaction<'_>,
    function: &str,
    qualifier: &str,
    revision: &str,
) -> Result<(), StoreError> {
    match Target::of(qualifier) {
        Target::Latest => {
            tx.execute(
                "UPDATE functions SET revision_id = ?2 WHERE name = ?1",
                params![function, revision],
            )?;
        }
        Target::Version(n) => {
            tx.execute(
                "UPDATE function_versions SET revision_id = ?3 WHERE name = ?1 AND version = ?2",
                params![function, n, revision],
            )?;
        }
        Target::Alias(name) => {
            if let Some(mut alias) = versions::get_alias(tx, function, name)? {
                alias.revision_id = revision.to_owned();
                let body = serde_json::to_string(&alias).map_err(|source| StoreError::Corrupt {
                    name: format!("{function}:{name}"),
                    source,
                })?;
                tx.execute(
                    "UPDATE function_aliases SET body = ?3 WHERE function_name = ?1 AND name = ?2",
                    params![function, name, body],
                )?;
            }
        }
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

/// Deletes the policy of one version or alias (inside its delete transaction).
pub(super) fn delete_qualifier_rows(
    tx: &Transaction<'_>,
    function: &str,
    qualifier: &str,
) -> rusqlite::Result<()> {
    tx.execute(
        "DELETE FROM function_policy_statements WHERE function_name = ?1 AND qualifier = ?2",
        [function, qualifier],
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
        self.write(move |conn, _| {
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
