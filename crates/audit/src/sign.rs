//! Ed25519 keys and signed documents: the checkpoints a log writer signs and
//! the approvals of bundles.
//!
//! Key files (written by `triage keygen --out PREFIX`), each one line of text:
//!
//! ```text
//! PREFIX.key   ed25519-private:<64 hex digits: the 32-byte secret seed>   (mode 0600)
//! PREFIX.pub   ed25519:<64 hex digits: the 32-byte public key>
//! ```
//!
//! The public key's line is also how a signed document names its signer (its
//! `key`), so the `.pub` file can be compared with a document by eye.
//!
//! A signed document is a JSON object with `key` and `signature` (hex of the
//! 64-byte Ed25519 signature) over the canonical encoding
//! ([`super::canonical`]) of the object without its `signature`.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use serde_json::Value;

use super::AuditError;
use super::canonical;

const PRIVATE: &str = "ed25519-private:";
const PUBLIC: &str = "ed25519:";

/// A private key, read from a `.key` file or newly made.
pub struct Signer {
    key: SigningKey,
    public: String,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the secret.
        f.debug_struct("Signer")
            .field("public", &self.public)
            .finish()
    }
}

impl Signer {
    /// A new key from the operating system's random source.
    pub fn generate() -> Result<Signer, AuditError> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| AuditError::Key {
            path: PathBuf::new(),
            detail: format!("no randomness from the operating system: {e}"),
        })?;
        Ok(Signer::from_seed(&seed))
    }

    fn from_seed(seed: &[u8; 32]) -> Signer {
        let key = SigningKey::from_bytes(seed);
        let public = format!("{PUBLIC}{}", canonical::hex(key.verifying_key().as_bytes()));
        Signer { key, public }
    }

    /// The private key in the `.key` file at `path`.
    pub fn read(path: &Path) -> Result<Signer, AuditError> {
        let text = std::fs::read_to_string(path).map_err(AuditError::io("read", path))?;
        let seed = text
            .trim()
            .strip_prefix(PRIVATE)
            .and_then(hex_bytes::<32>)
            .ok_or_else(|| AuditError::Key {
                path: path.to_path_buf(),
                detail: format!("not a private key: expected `{PRIVATE}` and 64 hex digits"),
            })?;
        Ok(Signer::from_seed(&seed))
    }

    /// The public key, as a `.pub` file holds it and documents name it.
    pub fn public(&self) -> &str {
        &self.public
    }

    /// Writes `PREFIX.key` (created, never overwritten; mode 0600) and
    /// `PREFIX.pub`, and returns their paths.
    pub fn write_pair(&self, prefix: &Path) -> Result<(PathBuf, PathBuf), AuditError> {
        let private = with_suffix(prefix, "key");
        let public = with_suffix(prefix, "pub");
        let secret = format!("{PRIVATE}{}\n", canonical::hex(self.key.as_bytes()));
        write_new(&private, secret.as_bytes(), 0o600)?;
        write_new(&public, format!("{}\n", self.public).as_bytes(), 0o644)?;
        Ok((private, public))
    }

    /// Adds `key` and `signature` to the JSON object `document`.
    pub fn sign(&self, document: &mut Value) {
        let Value::Object(map) = document else {
            return;
        };
        map.remove("signature");
        map.insert("key".to_owned(), Value::String(self.public.clone()));
        let signature = self.key.sign(&canonical::encode(document));
        if let Value::Object(map) = document {
            let hex = canonical::hex(&signature.to_bytes());
            map.insert("signature".to_owned(), Value::String(hex));
        }
    }
}

/// Why a signed document is not accepted.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("it names no key or signature")]
    Unsigned,
    #[error("it is signed by `{0}`, which is not a trusted key")]
    Untrusted(String),
    #[error("its signature does not match its contents: it was forged or edited")]
    Forged,
}

/// The public keys whose signatures are accepted.
#[derive(Clone, Debug, Default)]
pub struct Trusted {
    keys: HashMap<String, VerifyingKey>,
}

impl Trusted {
    /// The keys in the `.pub` files at `paths`.
    pub fn read(paths: &[PathBuf]) -> Result<Trusted, AuditError> {
        let mut keys = HashMap::new();
        for path in paths {
            let text = std::fs::read_to_string(path).map_err(AuditError::io("read", path))?;
            let name = text.trim();
            let key = public_key(name).ok_or_else(|| AuditError::Key {
                path: path.clone(),
                detail: format!("not a public key: expected `{PUBLIC}` and 64 hex digits"),
            })?;
            keys.insert(name.to_owned(), key);
        }
        Ok(Trusted { keys })
    }

    /// Whether `document` carries a valid signature by one of these keys.
    pub fn check(&self, document: &Value) -> Result<(), Refusal> {
        let text = |k: &str| document.get(k).and_then(Value::as_str);
        let (Some(name), Some(signature)) = (text("key"), text("signature")) else {
            return Err(Refusal::Unsigned);
        };
        let Some(key) = self.keys.get(name) else {
            return Err(Refusal::Untrusted(name.to_owned()));
        };
        let signature = hex_bytes::<64>(signature).ok_or(Refusal::Forged)?;
        let mut unsigned = document.clone();
        if let Value::Object(map) = &mut unsigned {
            map.remove("signature");
        }
        key.verify_strict(
            &canonical::encode(&unsigned),
            &Signature::from_bytes(&signature),
        )
        .map_err(|_| Refusal::Forged)
    }
}

fn public_key(text: &str) -> Option<VerifyingKey> {
    let bytes = text.strip_prefix(PUBLIC).and_then(hex_bytes::<32>)?;
    VerifyingKey::from_bytes(&bytes).ok()
}

fn hex_bytes<const N: usize>(hex: &str) -> Option<[u8; N]> {
    if hex.len() != N * 2 || !hex.is_ascii() {
        return None;
    }
    let mut out = [0u8; N];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// `prefix` with `.suffix` added to its file name (`keys/ops` → `keys/ops.key`).
fn with_suffix(prefix: &Path, suffix: &str) -> PathBuf {
    let mut name = prefix.as_os_str().to_owned();
    name.push(".");
    name.push(suffix);
    PathBuf::from(name)
}

/// Creates `path` with `bytes`, refusing to replace a file that exists.
fn write_new(path: &Path, bytes: &[u8], mode: u32) -> Result<(), AuditError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
    #[cfg(not(unix))]
    let _ = mode;
    let mut file = options.open(path).map_err(AuditError::io("create", path))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(AuditError::io("write", path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signed_document_is_accepted_by_its_key_only() {
        let signer = Signer::from_seed(&[7; 32]);
        let other = Signer::from_seed(&[8; 32]);
        let mut document = serde_json::json!({"seq": 3, "head": "sha256:ab"});
        signer.sign(&mut document);
        let trusted = |s: &Signer| Trusted {
            keys: HashMap::from([(s.public.clone(), s.key.verifying_key())]),
        };
        assert_eq!(trusted(&signer).check(&document), Ok(()));
        assert!(matches!(
            trusted(&other).check(&document),
            Err(Refusal::Untrusted(_))
        ));
        document["seq"] = serde_json::json!(4);
        assert_eq!(trusted(&signer).check(&document), Err(Refusal::Forged));
    }
}
