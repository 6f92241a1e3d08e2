//! Reserved and provisioned concurrency in SQLite.

use lamina_types::model::ProvisionedConfig;
use rusqlite::{Connection, OptionalExtension, params};

use crate::StoreError;

pub(super) fn reserved(conn: &Connection, name: &str) -> Result<Option<u32>, StoreError> {
    Ok(conn
        .query_row(
            "SELECT reserved FROM function_concurrency WHERE name = ?1",
            [name],
            |r| r.get::<_, i64>(0),
        )
        .optional()?
        .map(|n| u32::try_from(n).unwrap_or(0)))
}

pub(super) fn put_reserved(
    conn: &Connection,
    name: &str,
    reserved: Option<u32>,
) -> Result<(), StoreError> {
    match reserved {
        Some(n) => conn.execute(
            "INSERT INTO function_concurrency (name, reserved) VALUES (?1, ?2) \
             ON CONFLICT (name) DO UPDATE SET reserved = excluded.reserved",
            params![name, n],
        )?,
        None => conn.execute("DELETE FROM function_concurrency WHERE name = ?1", [name])?,
    };
    Ok(())
}

pub(super) fn reserved_total(conn: &Connection) -> Result<u32, StoreError> {
    let n: i64 = conn.query_row(
        "SELECT COALESCE(SUM(reserved), 0) FROM function_concurrency",
        [],
        |r| r.get(0),
    )?;
    Ok(u32::try_from(n).unwrap_or(u32::MAX))
}

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ProvisionedConfig> {
    Ok(ProvisionedConfig {
        function_name: r.get(0)?,
        qualifier: r.get(1)?,
        requested: u32::try_from(r.get::<_, i64>(2)?).unwrap_or(0),
        last_modified: r.get(3)?,
    })
}

const SELECT: &str =
    "SELECT name, qualifier, requested, last_modified FROM provisioned_concurrency";

pub(super) fn put_provisioned(conn: &Connection, c: &ProvisionedConfig) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO provisioned_concurrency (name, qualifier, requested, last_modified) \
         VALUES (?1, ?2, ?3, ?4) ON CONFLICT (name, qualifier) DO UPDATE SET \
         requested = excluded.requested, last_modified = excluded.last_modified",
        params![c.function_name, c.qualifier, c.requested, c.last_modified],
    )?;
    Ok(())
}

pub(super) fn get_provisioned(
    conn: &Connection,
    name: &str,
    qualifier: &str,
) -> Result<Option<ProvisionedConfig>, StoreError> {
    Ok(conn
        .query_row(
            &format!("{SELECT} WHERE name = ?1 AND qualifier = ?2"),
            params![name, qualifier],
            row,
        )
        .optional()?)
}

/// One function's configurations, or every function's when `name` is None.
pub(super) fn list_provisioned(
    conn: &Connection,
    name: Option<&str>,
) -> Result<Vec<ProvisionedConfig>, StoreError> {
    let (sql, args): (String, Vec<&str>) = match name {
        Some(n) => (
            format!("{SELECT} WHERE name = ?1 ORDER BY name, qualifier"),
            vec![n],
        ),
        None => (format!("{SELECT} ORDER BY name, qualifier"), vec![]),
    };
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt
        .query_map(rusqlite::params_from_iter(args), row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

pub(super) fn delete_provisioned(
    conn: &Connection,
    name: &str,
    qualifier: &str,
) -> Result<bool, StoreError> {
    Ok(conn.execute(
        "DELETE FROM provisioned_concurrency WHERE name = ?1 AND qualifier = ?2",
        params![name, qualifier],
    )? > 0)
}
