//! Approvals: a bundle signed off before it may serve.
//!
//! `triage approve BASE_DIR HEAD_DIR --key PREFIX.key` writes
//! `HEAD_DIR/approval.json`, a signed document ([`super::sign`]):
//!
//! ```text
//! {"schema":"triage.approval/v1","at":…,
//!  "bundle":{"name","version","digest"},   the bundle approved (HEAD_DIR)
//!  "base":{"name","version","digest"},     the bundle it was compared with
//!  "plan":{…},                              `triage plan BASE_DIR HEAD_DIR --format json`
//!  "suite":{"passed","failed","coverage","report"},  its suites' results
//!  "key":"ed25519:…","signature":"…"}
//! ```
//!
//! `suite.report` is the SHA-256 of the canonical encoding of the whole suite
//! report (`triage test --format json`); the counts stand beside it.
//!
//! The file is not part of the bundle: the bundle's digest covers only the
//! files its manifest lists, and the loader's `unlisted-file` warning is about
//! YAML files, so the approval changes neither. An approval's id is the
//! SHA-256 of its canonical encoding, signature included; the records of the
//! decisions made under it carry that id.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::AuditError;
use super::canonical;
use super::sign::{Refusal, Signer, Trusted};
use triage_engine::PolicyRef;

pub const SCHEMA: &str = "triage.approval/v1";

/// The approval's name in the bundle directory.
pub const FILE: &str = "approval.json";

/// What an approval signs besides the two bundles.
#[derive(Debug)]
pub struct Evidence {
    /// The plan of the change from the base, as JSON.
    pub plan: Value,
    /// The head bundle's suite report, as JSON.
    pub suite: Value,
}

/// The signed approval of `head`, compared with `base`.
pub fn sign(head: &PolicyRef, base: &PolicyRef, evidence: &Evidence, signer: &Signer) -> Value {
    let count = |k: &str| evidence.suite.get(k).cloned().unwrap_or(Value::Null);
    let at = chrono::DateTime::<chrono::Utc>::from(std::time::SystemTime::now())
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let mut document = serde_json::json!({
        "schema": SCHEMA,
        "at": at,
        "bundle": head,
        "base": base,
        "plan": evidence.plan,
        "suite": {
            "passed": count("passed"),
            "failed": count("failed"),
            "coverage": evidence.suite.pointer("/coverage/percent").cloned().unwrap_or(Value::Null),
            "report": canonical::sha256(&canonical::encode(&evidence.suite)),
        },
    });
    signer.sign(&mut document);
    document
}

/// An approval's id: the SHA-256 of its canonical encoding.
pub fn id(document: &Value) -> String {
    canonical::sha256(&canonical::encode(document))
}

/// Writes `document` as `dir/approval.json` (to a temporary name, then
/// renamed over it, so a watching service never reads half of it).
pub fn write(dir: &Path, document: &Value) -> Result<PathBuf, AuditError> {
    let path = dir.join(FILE);
    let temporary = dir.join(format!(".{FILE}.partial"));
    let mut text =
        serde_json::to_vec_pretty(document).map_err(|e| AuditError::Encode(e.to_string()))?;
    text.push(b'\n');
    super::archive::write_whole(&path, &temporary, &text)?;
    Ok(path)
}

/// A valid approval of the bundle being loaded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Approved {
    pub id: String,
    /// The key that signed it.
    pub key: String,
}

/// Why a bundle has no valid approval.
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    #[error("no approval: `{}` is missing", path.display())]
    Missing { path: PathBuf },
    #[error("`{}` is not an approval: {detail}", path.display())]
    Unreadable { path: PathBuf, detail: String },
    #[error("the approval `{}` is refused: {refusal}", path.display())]
    Signature { path: PathBuf, refusal: Refusal },
    #[error("the approval is for bundle `{approved}`, not for the loaded `{loaded}`")]
    OtherBundle { approved: String, loaded: String },
}

impl Refused {
    /// A short name for the reason, for metrics labels.
    pub fn reason(&self) -> &'static str {
        match self {
            Refused::Missing { .. } => "missing",
            Refused::Unreadable { .. } => "unreadable",
            Refused::Signature {
                refusal: Refusal::Untrusted(_),
                ..
            } => "untrusted",
            Refused::Signature { .. } => "bad_signature",
            Refused::OtherBundle { .. } => "other_bundle",
        }
    }
}

/// The approval in `dir` of the bundle with `digest`, signed by a key of `trusted`.
pub fn check(dir: &Path, digest: &str, trusted: &Trusted) -> Result<Approved, Refused> {
    let path = dir.join(FILE);
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Refused::Missing { path });
        }
        Err(e) => {
            let detail = e.to_string();
            return Err(Refused::Unreadable { path, detail });
        }
    };
    let document: Value = match serde_json::from_slice(&bytes) {
        Ok(document) => document,
        Err(e) => {
            let detail = e.to_string();
            return Err(Refused::Unreadable { path, detail });
        }
    };
    if document.get("schema").and_then(Value::as_str) != Some(SCHEMA) {
        let detail = format!("its `schema` is not `{SCHEMA}`");
        return Err(Refused::Unreadable { path, detail });
    }
    if let Err(refusal) = trusted.check(&document) {
        return Err(Refused::Signature { path, refusal });
    }
    let approved = document
        .pointer("/bundle/digest")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if approved != digest {
        return Err(Refused::OtherBundle {
            approved: approved.to_owned(),
            loaded: digest.to_owned(),
        });
    }
    let key = document.get("key").and_then(Value::as_str);
    Ok(Approved {
        id: id(&document),
        key: key.unwrap_or_default().to_owned(),
    })
}
