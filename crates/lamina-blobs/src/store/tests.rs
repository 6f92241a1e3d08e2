use std::fs;
use std::path::PathBuf;

use super::*;
use crate::envelope::OVERHEAD;

const PLAINTEXT: &[u8] = b"PK\x03\x04 exports.handler = async () => 'secret handler source';";

fn store(dir: &Path) -> BlobStore {
    BlobStore::open_local(&dir.join("blobs-root"), MasterKey::for_testing()).unwrap()
}

fn blob_file(dir: &Path, digest: &str) -> PathBuf {
    dir.join("blobs-root/blobs").join(&digest[..2]).join(digest)
}

#[tokio::test]
async fn put_get_round_trip_and_layout() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let digest = store.put(PLAINTEXT).await.unwrap();

    assert_eq!(digest, sha256_hex(PLAINTEXT));
    assert_eq!(digest.len(), 64);
    assert_eq!(&store.get(&digest).await.unwrap()[..], PLAINTEXT);
    assert!(store.contains(&digest).await.unwrap());

    let on_disk = fs::read(blob_file(dir.path(), &digest)).unwrap();
    assert_eq!(on_disk.len(), PLAINTEXT.len() + OVERHEAD);
    assert_eq!(&on_disk[..4], b"LMB1");
}

#[tokio::test]
async fn bytes_on_disk_are_not_plaintext() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    // Large and repetitive, so any leak of a plaintext window would be found.
    let plaintext = b"TOP-SECRET-CODE ".repeat(4096);
    let digest = store.put(&plaintext).await.unwrap();

    let on_disk = fs::read(blob_file(dir.path(), &digest)).unwrap();
    let needle = b"TOP-SECRET";
    assert!(!on_disk.windows(needle.len()).any(|w| w == needle));
    assert!(!on_disk.windows(16).any(|w| w == &plaintext[..16]));
}

#[tokio::test]
async fn put_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let first = store.put(PLAINTEXT).await.unwrap();
    let before = fs::read(blob_file(dir.path(), &first)).unwrap();
    let second = store.put(PLAINTEXT).await.unwrap();
    assert_eq!(first, second);
    // The existing object is not rewritten (a rewrite would use a new data key and nonces).
    assert_eq!(before, fs::read(blob_file(dir.path(), &first)).unwrap());
    assert_eq!(&store.get(&first).await.unwrap()[..], PLAINTEXT);
}

#[tokio::test]
async fn empty_blob_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let digest = store.put(b"").await.unwrap();
    assert_eq!(
        digest,
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    assert!(store.get(&digest).await.unwrap().is_empty());
}

#[tokio::test]
async fn tampering_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let digest = store.put(PLAINTEXT).await.unwrap();
    let file = blob_file(dir.path(), &digest);
    let original = fs::read(&file).unwrap();

    for index in [0, 10, 40, 70, original.len() / 2, original.len() - 1] {
        let mut tampered = original.clone();
        tampered[index] ^= 0x80;
        fs::write(&file, &tampered).unwrap();
        let err = store.get(&digest).await.unwrap_err();
        assert!(
            matches!(err, BlobError::DecryptBlob { digest: ref d, .. } if *d == digest),
            "byte {index}: {err:?}"
        );
    }

    fs::write(&file, &original[..original.len() - 1]).unwrap();
    assert!(matches!(
        store.get(&digest).await,
        Err(BlobError::DecryptBlob { .. })
    ));
    fs::write(&file, b"").unwrap();
    assert!(matches!(
        store.get(&digest).await,
        Err(BlobError::DecryptBlob { .. })
    ));
}

#[tokio::test]
async fn swapped_blob_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let good = store.put(b"good code").await.unwrap();
    let evil = store.put(b"evil code").await.unwrap();
    // An attacker with write access copies the evil object over the good one.
    fs::copy(blob_file(dir.path(), &evil), blob_file(dir.path(), &good)).unwrap();
    let err = store.get(&good).await.unwrap_err();
    assert!(matches!(
        err,
        BlobError::DecryptBlob {
            source: EnvelopeError::Decrypt,
            ..
        }
    ));
}

#[tokio::test]
async fn wrong_master_key_fails() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("blobs-root");
    let digest = BlobStore::open_local(&root, MasterKey::for_testing())
        .unwrap()
        .put(PLAINTEXT)
        .await
        .unwrap();

    let other =
        BlobStore::open_local(&root, MasterKey::from_hex(&"5a".repeat(32)).unwrap()).unwrap();
    let err = other.get(&digest).await.unwrap_err();
    assert!(matches!(
        err,
        BlobError::DecryptBlob {
            source: EnvelopeError::UnwrapKey,
            ..
        }
    ));

    let sealed = store(dir.path()).seal(b"value").unwrap();
    assert!(matches!(
        other.open(&sealed),
        Err(BlobError::OpenValue(EnvelopeError::UnwrapKey))
    ));
}

#[tokio::test]
async fn missing_and_delete() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let missing = sha256_hex(b"never stored");
    assert!(matches!(
        store.get(&missing).await,
        Err(BlobError::NotFound { ref digest }) if *digest == missing
    ));
    assert!(!store.contains(&missing).await.unwrap());
    store.delete(&missing).await.unwrap();

    let digest = store.put(PLAINTEXT).await.unwrap();
    store.delete(&digest).await.unwrap();
    store.delete(&digest).await.unwrap();
    assert!(matches!(
        store.get(&digest).await,
        Err(BlobError::NotFound { .. })
    ));
    assert!(!blob_file(dir.path(), &digest).exists());
}

#[tokio::test]
async fn invalid_digests_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let upper = sha256_hex(PLAINTEXT).to_uppercase();
    let long = "a".repeat(1000);
    for bad in [
        "",
        "abc",
        "../../etc/passwd",
        &upper,
        &long,
        &format!("{}/", "a".repeat(63)),
    ] {
        assert!(
            matches!(store.get(bad).await, Err(BlobError::InvalidDigest { .. })),
            "{bad}"
        );
        assert!(matches!(
            store.delete(bad).await,
            Err(BlobError::InvalidDigest { .. })
        ));
    }
    match store.get(&long).await {
        Err(BlobError::InvalidDigest { digest }) => {
            assert_eq!(digest.len(), MAX_REPORTED_DIGEST_LEN)
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn seal_and_open_values() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let sealed = store.seal(b"DB_PASSWORD=hunter2").unwrap();
    assert!(!sealed.windows(7).any(|w| w == b"hunter2"));
    assert_eq!(&sealed[..4], b"LMS1");
    assert_eq!(store.open(&sealed).unwrap(), b"DB_PASSWORD=hunter2");
    assert_ne!(sealed, store.seal(b"DB_PASSWORD=hunter2").unwrap());

    let mut tampered = sealed.clone();
    let last = tampered.len() - 1;
    tampered[last] ^= 1;
    assert!(matches!(
        store.open(&tampered),
        Err(BlobError::OpenValue(EnvelopeError::Decrypt))
    ));
    assert!(matches!(
        store.open(b"garbage"),
        Err(BlobError::OpenValue(EnvelopeError::Truncated { len: 7 }))
    ));

    let bound = store.seal_with_context(b"v", b"arn:fn:a").unwrap();
    assert_eq!(store.open_with_context(&bound, b"arn:fn:a").unwrap(), b"v");
    assert!(store.open_with_context(&bound, b"arn:fn:b").is_err());
    assert!(store.open(&bound).is_err());
}

#[tokio::test]
async fn sealed_values_and_blobs_are_not_interchangeable() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let digest = store.put(PLAINTEXT).await.unwrap();
    let blob = fs::read(blob_file(dir.path(), &digest)).unwrap();
    assert!(matches!(
        store.open_with_context(&blob, digest.as_bytes()),
        Err(BlobError::OpenValue(EnvelopeError::UnknownFormat))
    ));
}

#[tokio::test]
async fn open_local_creates_root_and_clones_share_state() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("nested/root");
    let store = BlobStore::open_local(&root, MasterKey::for_testing()).unwrap();
    assert!(root.is_dir());
    let clone = store.clone();
    let digest = store.put(b"shared").await.unwrap();
    assert_eq!(&clone.get(&digest).await.unwrap()[..], b"shared");
    assert!(format!("{store:?}").contains("MasterKey([REDACTED])"));
}

#[tokio::test]
async fn works_with_in_memory_object_store() {
    let store = BlobStore::with_object_store(
        Arc::new(object_store::memory::InMemory::new()),
        MasterKey::for_testing(),
    );
    let digest = store.put(PLAINTEXT).await.unwrap();
    assert_eq!(&store.get(&digest).await.unwrap()[..], PLAINTEXT);
}
