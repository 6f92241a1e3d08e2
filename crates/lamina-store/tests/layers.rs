//! Layers in the SQLite store: numbering, listing, deletion, policies and blob references.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use lamina_store::{
    LayerStore, PolicyChange, SealError, Sealer, SqliteStore, Store, StoreError, StoredStatement,
};
use lamina_types::layer::LayerVersionRecord;

struct PlainSealer;

impl Sealer for PlainSealer {
    fn seal(&self, plaintext: &[u8]) -> Result<Vec<u8>, SealError> {
        Ok(plaintext.to_vec())
    }
    fn open(&self, sealed: &[u8]) -> Result<Vec<u8>, SealError> {
        Ok(sealed.to_vec())
    }
}

fn draft(name: &str, sha_byte: &str) -> LayerVersionRecord {
    LayerVersionRecord {
        layer_name: name.to_owned(),
        version: 0,
        description: String::new(),
        license_info: None,
        compatible_runtimes: Some(vec!["python3.12".into()]),
        compatible_architectures: None,
        code_sha256_hex: sha_byte.repeat(32),
        code_size: 10,
        unzipped_size: 30,
        created_date: "2026-01-01T00:00:00.000+0000".into(),
        policy_revision_id: "p0".into(),
    }
}

fn open(dir: &tempfile::TempDir) -> SqliteStore {
    SqliteStore::open(&dir.path().join("lamina.db"), Arc::new(PlainSealer)).unwrap()
}

#[tokio::test]
async fn version_numbers_are_never_reused_even_after_reopening() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = open(&dir);
        assert_eq!(
            store
                .publish_layer_version(&draft("a", "aa"))
                .await
                .unwrap()
                .version,
            1
        );
        assert_eq!(
            store
                .publish_layer_version(&draft("a", "aa"))
                .await
                .unwrap()
                .version,
            2
        );
        assert_eq!(
            store
                .publish_layer_version(&draft("b", "bb"))
                .await
                .unwrap()
                .version,
            1
        );
        let deleted = store.delete_layer_version("a", 2).await.unwrap().unwrap();
        assert_eq!(deleted.version, 2);
        assert!(store.delete_layer_version("a", 2).await.unwrap().is_none());
    }
    let store = open(&dir);
    assert_eq!(
        store
            .publish_layer_version(&draft("a", "aa"))
            .await
            .unwrap()
            .version,
        3
    );
    let got = store.get_layer_version("a", 1).await.unwrap().unwrap();
    assert_eq!(
        got.compatible_runtimes.as_deref(),
        Some(&["python3.12".to_owned()][..])
    );
    assert_eq!(got.compatible_architectures, None);
    let all: Vec<(String, u64)> = store
        .list_layer_versions(None)
        .await
        .unwrap()
        .into_iter()
        .map(|v| (v.layer_name, v.version))
        .collect();
    assert_eq!(all, [("a".into(), 3), ("a".into(), 1), ("b".into(), 1)]);
    assert_eq!(store.list_layer_versions(Some("b")).await.unwrap().len(), 1);
}

#[tokio::test]
async fn layer_blobs_count_as_references_and_storage() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let sha = "cc".repeat(32);
    assert_eq!(store.code_references(&sha).await.unwrap(), 0);
    store
        .publish_layer_version(&draft("c", "cc"))
        .await
        .unwrap();
    assert_eq!(store.code_references(&sha).await.unwrap(), 1);
    assert_eq!(store.code_usage().await.unwrap().total_code_size, 10);
    store.delete_layer_version("c", 1).await.unwrap();
    assert_eq!(store.code_references(&sha).await.unwrap(), 0);
    assert_eq!(store.code_usage().await.unwrap().total_code_size, 0);
}

#[tokio::test]
async fn policy_changes_check_statements_and_revisions() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    store
        .publish_layer_version(&draft("p", "dd"))
        .await
        .unwrap();
    let add = |sid: &str| {
        PolicyChange::Add(StoredStatement {
            sid: sid.into(),
            json: format!("{{\"Sid\":\"{sid}\"}}"),
        })
    };
    store
        .change_layer_policy("p", 1, add("s1"), None, "p1")
        .await
        .unwrap();
    assert!(matches!(
        store
            .change_layer_policy("p", 1, add("s1"), None, "x")
            .await,
        Err(StoreError::LayerStatementExists { .. })
    ));
    assert!(matches!(
        store
            .change_layer_policy("p", 1, add("s2"), Some("p0"), "x")
            .await,
        Err(StoreError::LayerPolicyRevisionMismatch { .. })
    ));
    store
        .change_layer_policy("p", 1, add("s2"), Some("p1"), "p2")
        .await
        .unwrap();
    assert!(matches!(
        store
            .change_layer_policy(
                "p",
                1,
                PolicyChange::Remove { sid: "nope".into() },
                None,
                "x"
            )
            .await,
        Err(StoreError::LayerStatementNotFound { .. })
    ));
    assert!(matches!(
        store
            .change_layer_policy("p", 9, add("s3"), None, "x")
            .await,
        Err(StoreError::LayerVersionNotFound { .. })
    ));
    let sids: Vec<String> = store
        .layer_policy_statements("p", 1)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.sid)
        .collect();
    assert_eq!(sids, ["s1", "s2"]);
    assert_eq!(
        store
            .get_layer_version("p", 1)
            .await
            .unwrap()
            .unwrap()
            .policy_revision_id,
        "p2"
    );
    store.delete_layer_version("p", 1).await.unwrap();
    assert!(
        store
            .layer_policy_statements("p", 1)
            .await
            .unwrap()
            .is_empty()
    );
}
