//! Log group metadata in the SQLite store: create once, prefix listing with paging, retention.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use lamina_store::{LogStore, SealError, Sealer, SqliteStore};

struct PlainSealer;

impl Sealer for PlainSealer {
    fn seal(&self, plaintext: &[u8]) -> Result<Vec<u8>, SealError> {
        Ok(plaintext.to_vec())
    }
    fn open(&self, sealed: &[u8]) -> Result<Vec<u8>, SealError> {
        Ok(sealed.to_vec())
    }
}

fn open(dir: &tempfile::TempDir) -> SqliteStore {
    SqliteStore::open(&dir.path().join("lamina.db"), Arc::new(PlainSealer)).unwrap()
}

#[tokio::test]
async fn a_log_group_is_created_once_and_keeps_its_creation_time() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    assert!(store.create_log_group("/aws/lambda/f", 1000).await.unwrap());
    assert!(!store.create_log_group("/aws/lambda/f", 2000).await.unwrap());
    let g = store.get_log_group("/aws/lambda/f").await.unwrap().unwrap();
    assert_eq!(g.creation_time_ms, 1000);
    assert_eq!(g.retention_in_days, None);
    assert_eq!(store.get_log_group("/aws/lambda/g").await.unwrap(), None);
}

#[tokio::test]
async fn log_groups_are_listed_by_prefix_in_name_order_with_paging() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    for name in [
        "/aws/lambda/b",
        "/aws/lambda/a",
        "/app/x",
        "/aws/lambda/c",
        "%odd_",
    ] {
        store.create_log_group(name, 1).await.unwrap();
    }
    let names = |v: Vec<lamina_store::LogGroupRecord>| -> Vec<String> {
        v.into_iter().map(|g| g.name).collect()
    };
    assert_eq!(
        names(
            store
                .list_log_groups(Some("/aws/lambda/"), None, 2)
                .await
                .unwrap()
        ),
        ["/aws/lambda/a", "/aws/lambda/b"]
    );
    assert_eq!(
        names(
            store
                .list_log_groups(Some("/aws/lambda/"), Some("/aws/lambda/b"), 2)
                .await
                .unwrap()
        ),
        ["/aws/lambda/c"]
    );
    // The prefix is literal: LIKE wildcards in it mean nothing.
    assert_eq!(
        names(store.list_log_groups(Some("%"), None, 50).await.unwrap()),
        ["%odd_"]
    );
    assert_eq!(
        store.list_log_groups(None, None, 50).await.unwrap().len(),
        5
    );
    assert_eq!(store.log_group_names().await.unwrap().len(), 5);
}

#[tokio::test]
async fn retention_is_put_and_removed_and_deleting_a_group_forgets_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    assert!(!store.put_log_retention("/nope", Some(1)).await.unwrap());
    store.create_log_group("/g", 5).await.unwrap();
    assert!(store.put_log_retention("/g", Some(7)).await.unwrap());
    assert_eq!(
        store
            .get_log_group("/g")
            .await
            .unwrap()
            .unwrap()
            .retention_in_days,
        Some(7)
    );
    assert!(store.put_log_retention("/g", None).await.unwrap());
    assert_eq!(
        store
            .get_log_group("/g")
            .await
            .unwrap()
            .unwrap()
            .retention_in_days,
        None
    );
    assert!(store.delete_log_group("/g").await.unwrap());
    assert!(!store.delete_log_group("/g").await.unwrap());
    assert_eq!(store.get_log_group("/g").await.unwrap(), None);
}
