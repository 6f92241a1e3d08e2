//! Layers in SQLite (`layers`, `layer_versions`, `layer_version_statements`; migration 4).

use async_trait::async_trait;
use lamina_types::layer::LayerVersionRecord;
use rusqlite::{Connection, OptionalExtension, Row, params};

use super::{SqliteStore, size_i64};
use crate::StoreError;
use crate::layers::LayerStore;
use crate::policies::{PolicyChange, StoredStatement};

const COLUMNS: &str = "layer_name, version, description, license_info, compatible_runtimes, \
     compatible_architectures, code_sha256, code_size, unzipped_size, created_date, policy_revision_id";

/// A row before its JSON lists are decoded.
struct Raw {
    layer_name: String,
    version: i64,
    description: String,
    license_info: Option<String>,
    compatible_runtimes: Option<String>,
    compatible_architectures: Option<String>,
    code_sha256: String,
    code_size: i64,
    unzipped_size: i64,
    created_date: String,
    policy_revision_id: String,
}

fn raw(r: &Row<'_>) -> rusqlite::Result<Raw> {
    Ok(Raw {
        layer_name: r.get(0)?,
        version: r.get(1)?,
        description: r.get(2)?,
        license_info: r.get(3)?,
        compatible_runtimes: r.get(4)?,
        compatible_architectures: r.get(5)?,
        code_sha256: r.get(6)?,
        code_size: r.get(7)?,
        unzipped_size: r.get(8)?,
        created_date: r.get(9)?,
        policy_revision_id: r.get(10)?,
    })
}

fn decode(raw: Raw) -> Result<LayerVersionRecord, StoreError> {
    let list = |json: Option<String>| -> Result<Option<Vec<String>>, StoreError> {
        json.map(|j| serde_json::from_str(&j))
            .transpose()
            .map_err(|source| StoreError::Corrupt {
                name: format!("layer {}:{}", raw.layer_name, raw.version),
                source,
            })
    };
    Ok(LayerVersionRecord {
        compatible_runtimes: list(raw.compatible_runtimes.clone())?,
        compatible_architectures: list(raw.compatible_architectures.clone())?,
        version: u64::try_from(raw.version).unwrap_or(0),
        description: raw.description,
        license_info: raw.license_info,
        code_sha256_hex: raw.code_sha256,
        code_size: u64::try_from(raw.code_size).unwrap_or(0),
        unzipped_size: u64::try_from(raw.unzipped_size).unwrap_or(0),
        created_date: raw.created_date,
        policy_revision_id: raw.policy_revision_id,
        layer_name: raw.layer_name,
    })
}

fn encode_list(list: &Option<Vec<String>>) -> Option<String> {
    list.as_ref()
        .map(|l| serde_json::to_string(l).unwrap_or_else(|_| "[]".to_owned()))
}

fn get(
    conn: &Connection,
    layer: &str,
    version: u64,
) -> Result<Option<LayerVersionRecord>, StoreError> {
    conn.query_row(
        &format!("SELECT {COLUMNS} FROM layer_versions WHERE layer_name = ?1 AND version = ?2"),
        params![layer, size_i64(version)],
        raw,
    )
    .optional()?
    .map(decode)
    .transpose()
}

fn not_found(layer: &str, version: u64) -> StoreError {
    StoreError::LayerVersionNotFound {
        layer: layer.to_owned(),
        version,
    }
}

#[async_trait]
impl LayerStore for SqliteStore {
    async fn publish_layer_version(
        &self,
        draft: &LayerVersionRecord,
    ) -> Result<LayerVersionRecord, StoreError> {
        let mut rec = draft.clone();
        self.with_conn(move |conn, _| {
            let tx = conn.transaction()?;
            let last: Option<i64> = tx
                .query_row(
                    "SELECT last_version FROM layers WHERE name = ?1",
                    [&rec.layer_name],
                    |r| r.get(0),
                )
                .optional()?;
            let version = last.unwrap_or(0) + 1;
            if last.is_some() {
                tx.execute(
                    "UPDATE layers SET last_version = ?2 WHERE name = ?1",
                    params![rec.layer_name, version],
                )?;
            } else {
                tx.execute(
                    "INSERT INTO layers (name, last_version) VALUES (?1, ?2)",
                    params![rec.layer_name, version],
                )?;
            }
            tx.execute(
                &format!(
                    "INSERT INTO layer_versions ({COLUMNS}) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
                ),
                params![
                    rec.layer_name,
                    version,
                    rec.description,
                    rec.license_info,
                    encode_list(&rec.compatible_runtimes),
                    encode_list(&rec.compatible_architectures),
                    rec.code_sha256_hex,
                    size_i64(rec.code_size),
                    size_i64(rec.unzipped_size),
                    rec.created_date,
                    rec.policy_revision_id
                ],
            )?;
            tx.commit()?;
            rec.version = u64::try_from(version).unwrap_or(0);
            Ok(rec)
        })
        .await
    }

    async fn get_layer_version(
        &self,
        layer: &str,
        version: u64,
    ) -> Result<Option<LayerVersionRecord>, StoreError> {
        let layer = layer.to_owned();
        self.with_conn(move |conn, _| get(conn, &layer, version))
            .await
    }

    async fn list_layer_versions(
        &self,
        layer: Option<&str>,
    ) -> Result<Vec<LayerVersionRecord>, StoreError> {
        let layer = layer.map(str::to_owned);
        self.with_conn(move |conn, _| {
            let raws = match &layer {
                Some(name) => {
                    let mut stmt = conn.prepare(&format!(
                        "SELECT {COLUMNS} FROM layer_versions WHERE layer_name = ?1 \
                         ORDER BY version DESC"
                    ))?;
                    stmt.query_map([name], raw)?
                        .collect::<Result<Vec<_>, _>>()?
                }
                None => {
                    let mut stmt = conn.prepare(&format!(
                        "SELECT {COLUMNS} FROM layer_versions ORDER BY layer_name, version DESC"
                    ))?;
                    stmt.query_map([], raw)?.collect::<Result<Vec<_>, _>>()?
                }
            };
            raws.into_iter().map(decode).collect()
        })
        .await
    }

    async fn delete_layer_version(
        &self,
        layer: &str,
        version: u64,
    ) -> Result<Option<LayerVersionRecord>, StoreError> {
        let layer = layer.to_owned();
        self.with_conn(move |conn, _| {
            let tx = conn.transaction()?;
            let Some(found) = get(&tx, &layer, version)? else {
                return Ok(None);
            };
            tx.execute(
                "DELETE FROM layer_versions WHERE layer_name = ?1 AND version = ?2",
                params![layer, size_i64(version)],
            )?;
            tx.execute(
                "DELETE FROM layer_version_statements WHERE layer_name = ?1 AND version = ?2",
                params![layer, size_i64(version)],
            )?;
            tx.commit()?;
            Ok(Some(found))
        })
        .await
    }

    async fn layer_policy_statements(
        &self,
        layer: &str,
        version: u64,
    ) -> Result<Vec<StoredStatement>, StoreError> {
        let layer = layer.to_owned();
        self.with_conn(move |conn, _| {
            let mut stmt = conn.prepare(
                "SELECT sid, statement FROM layer_version_statements \
                 WHERE layer_name = ?1 AND version = ?2 ORDER BY position",
            )?;
            let rows = stmt
                .query_map(params![layer, size_i64(version)], |r| {
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

    async fn change_layer_policy(
        &self,
        layer: &str,
        version: u64,
        change: PolicyChange,
        expected_revision: Option<&str>,
        new_revision: &str,
    ) -> Result<(), StoreError> {
        let layer = layer.to_owned();
        let expected = expected_revision.map(str::to_owned);
        let new = new_revision.to_owned();
        self.with_conn(move |conn, _| {
            let tx = conn.transaction()?;
            let v = size_i64(version);
            let current: Option<String> = tx
                .query_row(
                    "SELECT policy_revision_id FROM layer_versions \
                     WHERE layer_name = ?1 AND version = ?2",
                    params![layer, v],
                    |r| r.get(0),
                )
                .optional()?;
            let Some(current) = current else {
                return Err(not_found(&layer, version));
            };
            let statement_exists = |sid: &str| -> rusqlite::Result<bool> {
                let found: Option<i64> = tx
                    .query_row(
                        "SELECT 1 FROM layer_version_statements \
                         WHERE layer_name = ?1 AND version = ?2 AND sid = ?3",
                        params![layer, v, sid],
                        |r| r.get(0),
                    )
                    .optional()?;
                Ok(found.is_some())
            };
            // AWS reports a taken statement id before a stale revision, and a stale revision
            // before a missing statement.
            if let PolicyChange::Add(statement) = &change
                && statement_exists(&statement.sid)?
            {
                return Err(StoreError::LayerStatementExists {
                    layer,
                    version,
                    sid: statement.sid.clone(),
                });
            }
            if expected.as_ref().is_some_and(|e| *e != current) {
                return Err(StoreError::LayerPolicyRevisionMismatch { layer, version });
            }
            match change {
                PolicyChange::Add(statement) => {
                    tx.execute(
                        "INSERT INTO layer_version_statements \
                         (layer_name, version, sid, position, statement) \
                         SELECT ?1, ?2, ?3, COALESCE(MAX(position), 0) + 1, ?4 \
                         FROM layer_version_statements WHERE layer_name = ?1 AND version = ?2",
                        params![layer, v, statement.sid, statement.json],
                    )?;
                }
                PolicyChange::Remove { sid } => {
                    let deleted = tx.execute(
                        "DELETE FROM layer_version_statements \
                         WHERE layer_name = ?1 AND version = ?2 AND sid = ?3",
                        params![layer, v, sid],
                    )?;
                    if deleted == 0 {
                        return Err(StoreError::LayerStatementNotFound {
                            layer,
                            version,
                            sid,
                        });
                    }
                }
            }
            tx.execute(
                "UPDATE layer_versions SET policy_revision_id = ?3 \
                 WHERE layer_name = ?1 AND version = ?2",
                params![layer, v, new],
            )?;
            tx.commit()?;
            Ok(())
        })
        .await
    }
}
