//! Policies and settings in the SQLite store: ordering, atomic revision changes, and cleanup
//! with the function.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::Arc;

use lamina_store::{
    LATEST, PolicyChange, PolicyStore, SealError, Sealer, SettingsStore, SqliteStore, Store,
    StoreError, StoredStatement,
};
use lamina_types::model::{FunctionConfig, FunctionRecord, State, UpdateStatus};
use lamina_types::settings::RuntimeManagement;

struct PlainSealer;

impl Sealer for PlainSealer {
    fn seal(&self, plaintext: &[u8]) -> Result<Vec<u8>, SealError> {
        Ok(plaintext.to_vec())
    }
    fn open(&self, sealed: &[u8]) -> Result<Vec<u8>, SealError> {
        Ok(sealed.to_vec())
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
            layers: Default::default(),
            log_format: "Text".into(),
            log_group: format!("/aws/lambda/{name}"),
            application_log_level: None,
            system_log_level: None,
            dead_letter_target: None,
            kms_key_arn: None,
            snap_start_apply_on: "None".into(),
            has_environment: false,
        },
        environment: BTreeMap::new(),
        code_sha256_hex: "ab".repeat(32),
        code_size: 100,
        revision_id: "r1".into(),
        last_modified: "2026-01-01T00:00:00.000+0000".into(),
        state: State::Active,
        last_update_status: UpdateStatus::Successful,
        tags: BTreeMap::new(),
    }
}

fn statement(sid: &str) -> StoredStatement {
    StoredStatement {
        sid: sid.to_owned(),
        json: format!(r#"{{"Sid":"{sid}"}}"#),
    }
}

async fn store_with(name: &str) -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("lamina.db"), Arc::new(PlainSealer)).unwrap();
    store.create_function(&record(name)).await.unwrap();
    (dir, store)
}

#[tokio::test]
async fn statements_keep_their_order_and_move_the_function_revision() {
    let (_dir, store) = store_with("f").await;
    for (i, sid) in ["b", "a", "c"].into_iter().enumerate() {
        let (from, to) = (format!("r{}", i + 1), format!("r{}", i + 2));
        store
            .change_policy("f", LATEST, PolicyChange::Add(statement(sid)), &from, &to)
            .await
            .unwrap();
    }
    let sids: Vec<String> = store
        .policy_statements("f", LATEST)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.sid)
        .collect();
    assert_eq!(sids, ["b", "a", "c"]);
    assert_eq!(
        store.get_function("f").await.unwrap().unwrap().revision_id,
        "r4"
    );

    let dup = store
        .change_policy("f", LATEST, PolicyChange::Add(statement("a")), "r4", "r5")
        .await;
    assert!(
        matches!(dup, Err(StoreError::StatementExists { .. })),
        "{dup:?}"
    );
    let stale = store
        .change_policy("f", LATEST, PolicyChange::Add(statement("d")), "r1", "r5")
        .await;
    assert!(
        matches!(stale, Err(StoreError::RevisionMismatch { .. })),
        "{stale:?}"
    );
    let gone = store
        .change_policy(
            "f",
            LATEST,
            PolicyChange::Remove { sid: "zz".into() },
            "r4",
            "r5",
        )
        .await;
    assert!(
        matches!(gone, Err(StoreError::StatementNotFound { .. })),
        "{gone:?}"
    );
    // Failed changes changed nothing.
    assert_eq!(
        store.get_function("f").await.unwrap().unwrap().revision_id,
        "r4"
    );
    assert_eq!(store.policy_statements("f", LATEST).await.unwrap().len(), 3);

    store
        .change_policy(
            "f",
            LATEST,
            PolicyChange::Remove { sid: "a".into() },
            "r4",
            "r5",
        )
        .await
        .unwrap();
    let missing = store
        .change_policy(
            "nope",
            LATEST,
            PolicyChange::Add(statement("x")),
            "r1",
            "r2",
        )
        .await;
    assert!(
        matches!(missing, Err(StoreError::NotFound { .. })),
        "{missing:?}"
    );
    let no_version = store
        .change_policy("f", "3", PolicyChange::Add(statement("x")), "r5", "r6")
        .await;
    assert!(
        matches!(no_version, Err(StoreError::NotFound { .. })),
        "{no_version:?}"
    );
}

#[tokio::test]
async fn deleting_a_function_deletes_its_policy_and_settings() {
    let (_dir, store) = store_with("f").await;
    store
        .change_policy("f", LATEST, PolicyChange::Add(statement("s")), "r1", "r2")
        .await
        .unwrap();
    store.put_recursion_config("f", "Allow").await.unwrap();
    let manual = RuntimeManagement {
        update_runtime_on: "Manual".into(),
        runtime_version_arn: Some("arn:aws:lambda:us-east-1::runtime:abc".into()),
    };
    store
        .put_runtime_management_config("f", LATEST, &manual)
        .await
        .unwrap();
    assert_eq!(
        store.runtime_management_config("f", LATEST).await.unwrap(),
        Some(manual)
    );
    assert_eq!(
        store.recursion_config("f").await.unwrap().as_deref(),
        Some("Allow")
    );

    store.delete_function("f").await.unwrap();
    store.create_function(&record("f")).await.unwrap();
    assert!(
        store
            .policy_statements("f", LATEST)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.recursion_config("f").await.unwrap(), None);
    assert_eq!(
        store.runtime_management_config("f", LATEST).await.unwrap(),
        None
    );
    let missing = store.put_recursion_config("nope", "Allow").await;
    assert!(
        matches!(missing, Err(StoreError::NotFound { .. })),
        "{missing:?}"
    );
}
