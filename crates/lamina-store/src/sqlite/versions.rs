//! Published versions and aliases in SQLite.

use lamina_types::model::{AliasRecord, FunctionConfig, VersionRecord};
use rusqlite::{Connection, OptionalExtension, Row, params};

use super::{FUNCTION_COLUMNS, RawRow, decode, raw_row, size_i64};
use crate::{Sealer, StoreError};

/// A version row read as a function row (versions are always Active and untagged) plus its number.
const VERSION_SELECT: &str = "SELECT name, config, environment, code_sha256, code_size, revision_id, \
     last_modified, 'Active', 'Successful', '{}', version FROM function_versions";

fn version_row(r: &Row<'_>) -> rusqlite::Result<(RawRow, i64)> {
    Ok((raw_row(r)?, r.get(10)?))
}

fn decode_version(
    (raw, version): (RawRow, i64),
    sealer: &dyn Sealer,
) -> Result<VersionRecord, StoreError> {
    Ok(VersionRecord {
        version: u64::try_from(version).unwrap_or(0),
        function: decode(raw, sealer)?,
    })
}

/// Snapshots `$LATEST` of `name` as the next version, if its revision is still `expected`.
pub(super) fn publish(
    conn: &mut Connection,
    sealer: &dyn Sealer,
    name: &str,
    expected_revision: &str,
    description: Option<&str>,
    revision: &str,
) -> Result<VersionRecord, StoreError> {
    let tx = conn.transaction()?;
    let row = tx
        .query_row(
            &format!("SELECT {FUNCTION_COLUMNS}, last_version FROM functions WHERE name = ?1"),
            [name],
            |r| Ok((raw_row(r)?, r.get::<_, i64>(10)?)),
        )
        .optional()?;
    let Some((raw, last)) = row else {
        return Err(StoreError::NotFound { name: name.into() });
    };
    if raw.revision_id != expected_revision {
        return Err(StoreError::RevisionMismatch { name: name.into() });
    }
    let version = last + 1;
    let mut config: FunctionConfig =
        serde_json::from_str(&raw.config).map_err(|source| StoreError::Corrupt {
            name: name.into(),
            source,
        })?;
    if let Some(d) = description {
        config.description = d.to_owned();
    }
    let config_json = serde_json::to_string(&config).map_err(|source| StoreError::Corrupt {
        name: name.into(),
        source,
    })?;
    tx.execute(
        "INSERT INTO function_versions (name, version, config, environment, code_sha256, code_size, \
         revision_id, last_modified) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            name,
            version,
            config_json,
            raw.environment,
            raw.code_sha256,
            raw.code_size,
            revision,
            raw.last_modified
        ],
    )?;
    tx.execute(
        "UPDATE functions SET last_version = ?2 WHERE name = ?1",
        params![name, version],
    )?;
    let published = tx.query_row(
        &format!("{VERSION_SELECT} WHERE name = ?1 AND version = ?2"),
        params![name, version],
        version_row,
    )?;
    tx.commit()?;
    decode_version(published, sealer)
}

pub(super) fn get(
    conn: &Connection,
    sealer: &dyn Sealer,
    name: &str,
    version: u64,
) -> Result<Option<VersionRecord>, StoreError> {
    conn.query_row(
        &format!("{VERSION_SELECT} WHERE name = ?1 AND version = ?2"),
        params![name, size_i64(version)],
        version_row,
    )
    .optional()?
    .map(|r| decode_version(r, sealer))
    .transpose()
}

pub(super) fn latest(
    conn: &Connection,
    sealer: &dyn Sealer,
    name: &str,
) -> Result<Option<VersionRecord>, StoreError> {
    conn.query_row(
        &format!("{VERSION_SELECT} WHERE name = ?1 ORDER BY version DESC LIMIT 1"),
        [name],
        version_row,
    )
    .optional()?
    .map(|r| decode_version(r, sealer))
    .transpose()
}

pub(super) fn list(
    conn: &Connection,
    sealer: &dyn Sealer,
    name: &str,
    after: u64,
    limit: usize,
) -> Result<Vec<VersionRecord>, StoreError> {
    let mut stmt = conn.prepare(&format!(
        "{VERSION_SELECT} WHERE name = ?1 AND version > ?2 ORDER BY version LIMIT ?3"
    ))?;
    let rows = stmt
        .query_map(
            params![
                name,
                size_i64(after),
                i64::try_from(limit).unwrap_or(i64::MAX)
            ],
            version_row,
        )?
        .collect::<Result<Vec<_>, _>>()?;
    rows.into_iter()
        .map(|r| decode_version(r, sealer))
        .collect()
}

pub(super) fn delete(
    conn: &mut Connection,
    sealer: &dyn Sealer,
    name: &str,
    version: u64,
) -> Result<Option<VersionRecord>, StoreError> {
    let tx = conn.transaction()?;
    let row = tx
        .query_row(
            &format!("{VERSION_SELECT} WHERE name = ?1 AND version = ?2"),
            params![name, size_i64(version)],
            version_row,
        )
        .optional()?;
    let Some(row) = row else { return Ok(None) };
    tx.execute(
        "DELETE FROM function_versions WHERE name = ?1 AND version = ?2",
        params![name, size_i64(version)],
    )?;
    super::policies::delete_qualifier_rows(&tx, name, &version.to_string())?;
    super::settings::delete_qualifier_rows(&tx, name, &version.to_string())?;
    tx.commit()?;
    decode_version(row, sealer).map(Some)
}

fn alias_json(alias: &AliasRecord) -> Result<String, StoreError> {
    serde_json::to_string(alias).map_err(|source| StoreError::Corrupt {
        name: format!("{}:{}", alias.function_name, alias.name),
        source,
    })
}

fn parse_alias(key: &str, body: &str) -> Result<AliasRecord, StoreError> {
    serde_json::from_str(body).map_err(|source| StoreError::Corrupt {
        name: key.to_owned(),
        source,
    })
}

/// Creates an alias (`expected` None) or replaces it if its revision is still `expected`.
pub(super) fn put_alias(
    conn: &mut Connection,
    alias: &AliasRecord,
    expected: Option<&str>,
) -> Result<(), StoreError> {
    let key = format!("{}:{}", alias.function_name, alias.name);
    let body = alias_json(alias)?;
    let tx = conn.transaction()?;
    let exists: bool = tx
        .query_row(
            "SELECT COUNT(*) FROM functions WHERE name = ?1",
            [&alias.function_name],
            |r| r.get::<_, i64>(0),
        )
        .map(|n| n > 0)?;
    if !exists {
        return Err(StoreError::NotFound {
            name: alias.function_name.clone(),
        });
    }
    let current: Option<String> = tx
        .query_row(
            "SELECT body FROM function_aliases WHERE function_name = ?1 AND name = ?2",
            params![alias.function_name, alias.name],
            |r| r.get(0),
        )
        .optional()?;
    match (expected, current) {
        (None, Some(_)) => return Err(StoreError::AlreadyExists { name: key }),
        (None, None) => {
            tx.execute(
                "INSERT INTO function_aliases (function_name, name, body) VALUES (?1, ?2, ?3)",
                params![alias.function_name, alias.name, body],
            )?;
        }
        (Some(_), None) => return Err(StoreError::NotFound { name: key }),
        (Some(rev), Some(current)) => {
            if parse_alias(&key, &current)?.revision_id != rev {
                return Err(StoreError::RevisionMismatch { name: key });
            }
            tx.execute(
                "UPDATE function_aliases SET body = ?3 WHERE function_name = ?1 AND name = ?2",
                params![alias.function_name, alias.name, body],
            )?;
        }
    }
    tx.commit()?;
    Ok(())
}

pub(super) fn get_alias(
    conn: &Connection,
    function: &str,
    name: &str,
) -> Result<Option<AliasRecord>, StoreError> {
    let key = format!("{function}:{name}");
    conn.query_row(
        "SELECT body FROM function_aliases WHERE function_name = ?1 AND name = ?2",
        params![function, name],
        |r| r.get::<_, String>(0),
    )
    .optional()?
    .map(|b| parse_alias(&key, &b))
    .transpose()
}

pub(super) fn list_aliases(
    conn: &Connection,
    function: &str,
) -> Result<Vec<AliasRecord>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT name, body FROM function_aliases WHERE function_name = ?1 ORDER BY name",
    )?;
    let rows = stmt
        .query_map([function], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    rows.iter()
        .map(|(n, b)| parse_alias(&format!("{function}:{n}"), b))
        .collect()
}

pub(super) fn delete_alias(
    conn: &mut Connection,
    function: &str,
    name: &str,
) -> Result<Option<AliasRecord>, StoreError> {
    let tx = conn.transaction()?;
    let found = get_alias(&tx, function, name)?;
    tx.execute(
        "DELETE FROM function_aliases WHERE function_name = ?1 AND name = ?2",
        params![function, name],
    )?;
    super::policies::delete_qualifier_rows(&tx, function, name)?;
    tx.commit()?;
    Ok(found)
}
