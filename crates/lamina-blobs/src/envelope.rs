//! AES-256-GCM envelope encryption.
//!
//! Every sealed object gets a fresh random 256-bit data key. The payload is encrypted with
//! the data key; the data key is encrypted ("wrapped") with the [`MasterKey`]. The result is
//! self-contained:
//!
//! ```text
//! offset  len  field
//!      0    4  magic + version: b"LMB1" (blob) or b"LMS1" (sealed value)
//!      4   12  nonce used to wrap the data key
//!     16   48  wrapped data key (32-byte key + 16-byte GCM tag)
//!     64   12  nonce used to encrypt the payload
//!     76    n  payload ciphertext
//!   76+n   16  payload GCM tag
//! ```
//!
//! Associated data binds everything together: the key wrap authenticates the magic, and the
//! payload authenticates the whole 76-byte header plus a caller-supplied context (the blob's
//! SHA-256 digest, so a blob cannot be swapped for another).

use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::{Aes256Gcm, Key, Nonce, Tag};
use rand::TryRngCore;
use rand::rngs::OsRng;
use secrecy::zeroize::Zeroizing;

use crate::key::{MASTER_KEY_LEN, MasterKey};

/// Header magic for content-addressed blobs, format version 1.
pub(crate) const MAGIC_BLOB: [u8; 4] = *b"LMB1";
/// Header magic for small sealed values (for example environment variables), version 1.
pub(crate) const MAGIC_SEALED: [u8; 4] = *b"LMS1";

const MAGIC_LEN: usize = 4;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
const DATA_KEY_LEN: usize = 32;
const WRAPPED_KEY_LEN: usize = DATA_KEY_LEN + TAG_LEN;
/// Length of the fixed header that precedes the payload ciphertext.
pub(crate) const HEADER_LEN: usize = MAGIC_LEN + NONCE_LEN + WRAPPED_KEY_LEN + NONCE_LEN;
/// Bytes added to the plaintext by sealing.
pub(crate) const OVERHEAD: usize = HEADER_LEN + TAG_LEN;

/// Errors from sealing or opening an envelope.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EnvelopeError {
    /// The operating system random number generator failed.
    #[error("failed to generate a random data key or nonce")]
    Randomness(#[source] rand::rand_core::OsError),
    /// AES-GCM refused to encrypt (only possible for absurdly large inputs).
    #[error("failed to encrypt")]
    Encrypt,
    /// The input is shorter than the fixed header plus tag.
    #[error("sealed data is truncated: {len} bytes is shorter than the {OVERHEAD}-byte minimum")]
    Truncated { len: usize },
    /// The input does not start with the expected magic bytes and version.
    #[error("sealed data has an unknown format or version")]
    UnknownFormat,
    /// The data key could not be unwrapped: wrong master key, or the header was altered.
    #[error("failed to unwrap the data key (wrong master key or altered header)")]
    UnwrapKey,
    /// The payload failed authentication: altered ciphertext, or a different context (digest).
    #[error("failed to decrypt the payload (altered ciphertext or wrong context)")]
    Decrypt,
}

/// Encrypts `plaintext` under a fresh data key wrapped by `master`.
///
/// `context` is extra associated data that must be presented again to [`open`].
pub(crate) fn seal(
    master: &MasterKey,
    magic: [u8; MAGIC_LEN],
    context: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, EnvelopeError> {
    let data_key = Zeroizing::new(random::<DATA_KEY_LEN>()?);
    let key_nonce = random::<NONCE_LEN>()?;
    let data_nonce = random::<NONCE_LEN>()?;

    let mut wrapped = Zeroizing::new(*data_key);
    let wrap_tag = cipher(master.expose())
        .encrypt_in_place_detached(Nonce::from_slice(&key_nonce), &magic, &mut wrapped[..])
        .map_err(|_| EnvelopeError::Encrypt)?;

    let mut out = Vec::with_capacity(plaintext.len().saturating_add(OVERHEAD));
    out.extend_from_slice(&magic);
    out.extend_from_slice(&key_nonce);
    out.extend_from_slice(&wrapped[..]);
    out.extend_from_slice(&wrap_tag);
    out.extend_from_slice(&data_nonce);

    let aad = [&out[..], context].concat();
    out.extend_from_slice(plaintext);
    let (_, body) = out.split_at_mut(HEADER_LEN);
    let tag = cipher(&data_key)
        .encrypt_in_place_detached(Nonce::from_slice(&data_nonce), &aad, body)
        .map_err(|_| EnvelopeError::Encrypt)?;
    out.extend_from_slice(&tag);
    Ok(out)
}

/// Decrypts an envelope produced by [`seal`] with the same `magic` and `context`.
pub(crate) fn open(
    master: &MasterKey,
    magic: [u8; MAGIC_LEN],
    context: &[u8],
    sealed: &[u8],
) -> Result<Vec<u8>, EnvelopeError> {
    if sealed.len() < OVERHEAD {
        return Err(EnvelopeError::Truncated { len: sealed.len() });
    }
    let (header, rest) = sealed.split_at(HEADER_LEN);
    let (found_magic, header_rest) = header.split_at(MAGIC_LEN);
    if found_magic != magic {
        return Err(EnvelopeError::UnknownFormat);
    }
    let (key_nonce, header_rest) = header_rest.split_at(NONCE_LEN);
    let (wrapped_key, header_rest) = header_rest.split_at(DATA_KEY_LEN);
    let (wrap_tag, data_nonce) = header_rest.split_at(TAG_LEN);

    let mut data_key = Zeroizing::new([0u8; DATA_KEY_LEN]);
    data_key.copy_from_slice(wrapped_key);
    cipher(master.expose())
        .decrypt_in_place_detached(
            Nonce::from_slice(key_nonce),
            &magic,
            &mut data_key[..],
            Tag::from_slice(wrap_tag),
        )
        .map_err(|_| EnvelopeError::UnwrapKey)?;

    let (ciphertext, tag) = rest.split_at(rest.len() - TAG_LEN);
    let aad = [header, context].concat();
    let mut plaintext = ciphertext.to_vec();
    cipher(&data_key)
        .decrypt_in_place_detached(
            Nonce::from_slice(data_nonce),
            &aad,
            &mut plaintext,
            Tag::from_slice(tag),
        )
        .map_err(|_| EnvelopeError::Decrypt)?;
    Ok(plaintext)
}

fn cipher(key: &[u8; MASTER_KEY_LEN]) -> Aes256Gcm {
    Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key))
}

fn random<const N: usize>() -> Result<[u8; N], EnvelopeError> {
    let mut bytes = [0u8; N];
    OsRng
        .try_fill_bytes(&mut bytes)
        .map_err(EnvelopeError::Randomness)?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> MasterKey {
        MasterKey::from_hex(&hex::encode([byte; 32])).unwrap()
    }

    #[test]
    fn round_trips_and_has_expected_layout() {
        let master = key(1);
        let sealed = seal(&master, MAGIC_SEALED, b"ctx", b"hello").unwrap();
        assert_eq!(sealed.len(), 5 + OVERHEAD);
        assert_eq!(&sealed[..4], b"LMS1");
        assert_eq!(
            open(&master, MAGIC_SEALED, b"ctx", &sealed).unwrap(),
            b"hello"
        );
    }

    #[test]
    fn empty_plaintext_round_trips() {
        let master = key(1);
        let sealed = seal(&master, MAGIC_BLOB, b"", b"").unwrap();
        assert_eq!(sealed.len(), OVERHEAD);
        assert!(open(&master, MAGIC_BLOB, b"", &sealed).unwrap().is_empty());
    }

    #[test]
    fn every_seal_uses_fresh_keys_and_nonces() {
        let master = key(1);
        let a = seal(&master, MAGIC_SEALED, b"", b"same").unwrap();
        let b = seal(&master, MAGIC_SEALED, b"", b"same").unwrap();
        assert_ne!(a, b);
        assert_ne!(a[4..HEADER_LEN], b[4..HEADER_LEN]);
    }

    #[test]
    fn detects_any_single_bit_flip() {
        let master = key(1);
        let sealed = seal(&master, MAGIC_BLOB, b"ctx", b"some payload").unwrap();
        for index in 0..sealed.len() {
            let mut tampered = sealed.clone();
            tampered[index] ^= 0x01;
            let err = open(&master, MAGIC_BLOB, b"ctx", &tampered).unwrap_err();
            let expected = match index {
                0..MAGIC_LEN => matches!(err, EnvelopeError::UnknownFormat),
                MAGIC_LEN..64 => matches!(err, EnvelopeError::UnwrapKey),
                _ => matches!(err, EnvelopeError::Decrypt),
            };
            assert!(expected, "byte {index}: unexpected {err:?}");
        }
    }

    #[test]
    fn rejects_wrong_key_context_magic_and_truncation() {
        let sealed = seal(&key(1), MAGIC_BLOB, b"ctx", b"payload").unwrap();
        assert!(matches!(
            open(&key(2), MAGIC_BLOB, b"ctx", &sealed),
            Err(EnvelopeError::UnwrapKey)
        ));
        assert!(matches!(
            open(&key(1), MAGIC_BLOB, b"other", &sealed),
            Err(EnvelopeError::Decrypt)
        ));
        assert!(matches!(
            open(&key(1), MAGIC_SEALED, b"ctx", &sealed),
            Err(EnvelopeError::UnknownFormat)
        ));
        for len in [0, 3, OVERHEAD - 1] {
            assert!(matches!(
                open(&key(1), MAGIC_BLOB, b"ctx", &sealed[..len]),
                Err(EnvelopeError::Truncated { .. })
            ));
        }
        assert!(matches!(
            open(&key(1), MAGIC_BLOB, b"ctx", &sealed[..sealed.len() - 1]),
            Err(EnvelopeError::Decrypt)
        ));
    }
}
