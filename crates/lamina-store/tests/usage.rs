//! Usage totals and the audit log against a real SQLite file.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use lamina_store::{
    AuditEntry, AuditStore, SealError, Sealer, SqliteStore, UsageRecord, UsageStore,
};

struct PlainSealer;

impl Sealer for PlainSealer {
    fn seal(&self, plaintext: &[u8]) -> Result<Vec<u8>, SealError> {
        Ok(plaintext.to_vec())
    }
    fn open(&self, sealed: &[u8]) -> Result<Vec<u8>, SealError> {
        Ok(sealed.to_vec())
    }
}

fn usage(day: &str, function: &str, memory_mb: u32, requests: u64, billed_ms: u64) -> UsageRecord {
    UsageRecord {
        day: day.into(),
        function_name: function.into(),
        version: "$LATEST".into(),
        memory_mb,
        requests,
        billed_ms,
    }
}

#[tokio::test]
async fn usage_batches_add_up_per_day_function_version_and_memory() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("db"), Arc::new(PlainSealer)).unwrap();
    store
        .add_usage(&[
            usage("2026-01-01", "f", 128, 2, 10),
            usage("2026-01-02", "f", 128, 1, 3),
        ])
        .await
        .unwrap();
    store
        .add_usage(&[
            usage("2026-01-02", "f", 128, 4, 7),
            usage("2026-01-02", "f", 256, 1, 5),
        ])
        .await
        .unwrap();
    store.add_usage(&[]).await.unwrap();
    assert_eq!(
        store.usage_since(Some("2026-01-02")).await.unwrap(),
        vec![
            usage("2026-01-02", "f", 128, 5, 10),
            usage("2026-01-02", "f", 256, 1, 5)
        ]
    );
    assert_eq!(store.usage_since(None).await.unwrap().len(), 3);
}

#[tokio::test]
async fn audit_entries_come_back_newest_first() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("db"), Arc::new(PlainSealer)).unwrap();
    for (seq, op) in [
        (1, "CreateFunction"),
        (2, "DeleteFunction"),
        (3, "TagResource"),
    ] {
        store
            .append_audit(&AuditEntry {
                seq,
                at_ms: 1000 + seq,
                request_id: format!("r{seq}"),
                access_key_id: "AKID".into(),
                principal: "arn:aws:iam::000000000000:root".into(),
                operation: op.into(),
                resource: "arn:aws:lambda:us-east-1:000000000000:function:f".into(),
                status: if seq == 2 { 404 } else { 200 },
                error_type: (seq == 2).then(|| "ResourceNotFoundException".into()),
            })
            .await
            .unwrap();
    }
    let got = store.recent_audit(2).await.unwrap();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].operation, "TagResource");
    assert_eq!(got[1].operation, "DeleteFunction");
    assert_eq!(got[1].status, 404);
    assert_eq!(
        got[1].error_type.as_deref(),
        Some("ResourceNotFoundException")
    );
    // Reopening applies no migration twice.
    drop(store);
    let store = SqliteStore::open(&dir.path().join("db"), Arc::new(PlainSealer)).unwrap();
    assert_eq!(store.recent_audit(10).await.unwrap().len(), 3);
}
