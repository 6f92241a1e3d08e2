//! The SQLite store against a real database file.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::Arc;

use lamina_store::{SealError, Sealer, SqliteStore, Store, StoreError};
use lamina_types::model::{AliasRecord, FunctionConfig, FunctionRecord, State, UpdateStatus};

/// Reverses bytes and prefixes a marker: enough to prove the store seals what it writes.
struct TestSealer;

impl Sealer for TestSealer {
    fn seal(&self, plaintext: &[u8]) -> Result<Vec<u8>, SealError> {
        let mut v = b"sealed:".to_vec();
        v.extend(plaintext.iter().rev());
        Ok(v)
    }
    fn open(&self, sealed: &[u8]) -> Result<Vec<u8>, SealError> {
        let body = sealed.strip_prefix(b"sealed:").ok_or("not sealed")?;
        Ok(body.iter().rev().copied().collect())
    }
}

fn record(name: &str) -> FunctionRecord {
    FunctionRecord {
        name: name.to_owned(),
        config: FunctionConfig {
            runtime: "python3.12".into(),
            handler: "app.handler".into(),
            role: "arn:aws:iam::000000000000:role/r".into(),
            description: String::new(),
            timeout: 3,
            memory_size: 128,
            architectures: vec!["x86_64".into()],
            ephemeral_storage_mb: 512,
            tracing_mode: "PassThrough".into(),
            layers: vec![],
            log_format: "Text".into(),
            log_group: format!("/aws/lambda/{name}"),
            application_log_level: None,
            system_log_level: None,
            dead_letter_target: None,
            kms_key_arn: None,
            snap_start_apply_on: "None".into(),
            has_environment: true,
        },
        environment: BTreeMap::from([("SECRET_TOKEN".into(), "hunter2-value".into())]),
        code_sha256_hex: "ab".repeat(32),
        code_size: 100,
        revision_id: "r1".into(),
        last_modified: "2026-01-01T00:00:00.000+0000".into(),
        state: State::Pending,
        last_update_status: UpdateStatus::Successful,
        tags: BTreeMap::new(),
    }
}

fn open(dir: &tempfile::TempDir) -> SqliteStore {
    SqliteStore::open(&dir.path().join("lamina.db"), Arc::new(TestSealer)).unwrap()
}

#[tokio::test]
async fn functions_survive_reopening_and_environment_is_sealed_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = open(&dir);
        store.create_function(&record("a")).await.unwrap();
    }
    let store = open(&dir);
    let got = store.get_function("a").await.unwrap().unwrap();
    assert_eq!(got, record("a"));
    drop(store);
    let mut raw = Vec::new();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        raw.extend(std::fs::read(entry.unwrap().path()).unwrap());
    }
    let needle = b"hunter2-value";
    assert!(!raw.windows(needle.len()).any(|w| w == needle));
}

#[tokio::test]
async fn duplicate_create_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    store.create_function(&record("a")).await.unwrap();
    let err = store.create_function(&record("a")).await.unwrap_err();
    assert!(matches!(err, StoreError::AlreadyExists { .. }));
}

#[tokio::test]
async fn update_is_compare_and_swap_on_revision() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    store.create_function(&record("a")).await.unwrap();
    let mut next = record("a");
    next.revision_id = "r2".into();
    next.config.timeout = 10;
    store.update_function(&next, "r1").await.unwrap();
    let err = store.update_function(&next, "r1").await.unwrap_err();
    assert!(matches!(err, StoreError::RevisionMismatch { .. }));
    assert_eq!(
        store
            .get_function("a")
            .await
            .unwrap()
            .unwrap()
            .config
            .timeout,
        10
    );
    let err = store
        .update_function(&record("zz"), "r1")
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }));
}

#[tokio::test]
async fn list_pages_in_name_order_and_usage_counts() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    for n in ["c", "a", "b"] {
        store.create_function(&record(n)).await.unwrap();
    }
    let first: Vec<_> = store
        .list_functions(None, 2)
        .await
        .unwrap()
        .into_iter()
        .map(|f| f.name)
        .collect();
    assert_eq!(first, ["a", "b"]);
    let rest: Vec<_> = store
        .list_functions(Some("b"), 2)
        .await
        .unwrap()
        .into_iter()
        .map(|f| f.name)
        .collect();
    assert_eq!(rest, ["c"]);
    let usage = store.code_usage().await.unwrap();
    assert_eq!((usage.function_count, usage.total_code_size), (3, 300));
    assert_eq!(store.code_references(&"ab".repeat(32)).await.unwrap(), 3);
    assert_eq!(store.unsettled_functions().await.unwrap(), ["a", "b", "c"]);
    assert!(store.delete_function("a").await.unwrap().is_some());
    assert!(store.delete_function("a").await.unwrap().is_none());
}

#[tokio::test]
async fn every_read_the_invoke_path_makes_sees_the_write_before_it() {
    // These reads are served from a cache while nothing changes; each write must show.
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    assert!(store.get_function("a").await.unwrap().is_none());
    store.create_function(&record("a")).await.unwrap();
    assert_eq!(
        store
            .get_function("a")
            .await
            .unwrap()
            .unwrap()
            .config
            .timeout,
        3
    );
    let mut next = record("a");
    next.revision_id = "r2".into();
    next.config.timeout = 10;
    store.update_function(&next, "r1").await.unwrap();
    assert_eq!(
        store
            .get_function("a")
            .await
            .unwrap()
            .unwrap()
            .config
            .timeout,
        10
    );

    assert_eq!(store.reserved_concurrency("a").await.unwrap(), None);
    store.put_reserved_concurrency("a", Some(5)).await.unwrap();
    assert_eq!(store.reserved_concurrency("a").await.unwrap(), Some(5));
    store.put_reserved_concurrency("a", None).await.unwrap();
    assert_eq!(store.reserved_concurrency("a").await.unwrap(), None);

    assert!(store.get_version("a", 1).await.unwrap().is_none());
    store.publish_version("a", "r2", None, "r3").await.unwrap();
    assert_eq!(
        store
            .get_version("a", 1)
            .await
            .unwrap()
            .unwrap()
            .function
            .config
            .timeout,
        10
    );

    let mut alias = AliasRecord {
        function_name: "a".into(),
        name: "live".into(),
        function_version: "1".into(),
        description: String::new(),
        routing: BTreeMap::new(),
        has_routing: false,
        revision_id: "ar1".into(),
    };
    assert!(store.get_alias("a", "live").await.unwrap().is_none());
    store.put_alias(&alias, None).await.unwrap();
    assert_eq!(
        store
            .get_alias("a", "live")
            .await
            .unwrap()
            .unwrap()
            .description,
        ""
    );
    alias.description = "moved".into();
    alias.revision_id = "ar2".into();
    store.put_alias(&alias, Some("ar1")).await.unwrap();
    assert_eq!(
        store
            .get_alias("a", "live")
            .await
            .unwrap()
            .unwrap()
            .description,
        "moved"
    );
    store.delete_alias("a", "live").await.unwrap();
    assert!(store.get_alias("a", "live").await.unwrap().is_none());

    store.delete_version("a", 1).await.unwrap();
    assert!(store.get_version("a", 1).await.unwrap().is_none());
    store.delete_function("a").await.unwrap();
    assert!(store.get_function("a").await.unwrap().is_none());
}
