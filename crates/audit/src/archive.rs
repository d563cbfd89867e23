//! The bundles that made decisions, kept beside the log so that replay works
//! after `policies/` has changed or gone: `<log>.bundles/sha256-<hex>.json`,
//! one file per digest holding the policy reference and every bundle file as
//! loaded. Written once (to a temporary name, synced, then renamed), never
//! rewritten; a bundle rebuilt from it must have the digest of its name.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::AuditError;
use triage_engine::{Bundle, PolicyFile, PolicyRef};

#[derive(Serialize, Deserialize)]
struct Stored {
    policy: PolicyRef,
    files: Vec<PolicyFile>,
}

/// The archive of one log, with the bundles already loaded from it.
pub struct Archive {
    dir: PathBuf,
    loaded: HashMap<String, Bundle>,
}

impl Archive {
    /// The archive beside `log` (any segment of it).
    pub fn of(log: &Path) -> Archive {
        Archive {
            dir: super::read::sidecar(&super::read::base(log), "bundles"),
            loaded: HashMap::new(),
        }
    }

    fn file(&self, digest: &str) -> PathBuf {
        self.dir.join(format!("{}.json", digest.replace(':', "-")))
    }

    /// Stores `bundle` unless it is there already.
    pub fn store(&mut self, bundle: &Bundle) -> Result<(), AuditError> {
        // Checked before anything is allocated: this runs for every record.
        if self.loaded.contains_key(&*bundle.policy().digest) {
            return Ok(());
        }
        let digest = bundle.policy().digest.to_string();
        let path = self.file(&digest);
        if !path.exists() {
            std::fs::create_dir_all(&self.dir).map_err(AuditError::io("create", &self.dir))?;
            let text = encode(bundle)?;
            write_whole(&path, &path.with_extension("json.partial"), text.as_bytes())?;
        }
        self.loaded.insert(digest, bundle.clone());
        Ok(())
    }

    /// The bundle with `digest`, rebuilt from the archive.
    pub fn load(&mut self, digest: &str) -> Result<Bundle, AuditError> {
        if let Some(bundle) = self.loaded.get(digest) {
            return Ok(bundle.clone());
        }
        let path = self.file(digest);
        let text = std::fs::read(&path).map_err(|e| AuditError::Archive {
            digest: digest.to_owned(),
            detail: format!("cannot read `{}`: {e}", path.display()),
        })?;
        let bundle = decode(digest, &text, &format!("`{}`", path.display()))?;
        self.loaded.insert(digest.to_owned(), bundle.clone());
        Ok(bundle)
    }
}

/// The archived form of `bundle`: its policy reference and every file.
pub(crate) fn encode(bundle: &Bundle) -> Result<String, AuditError> {
    let stored = Stored {
        policy: bundle.policy().clone(),
        files: bundle.files().to_vec(),
    };
    serde_json::to_string_pretty(&stored).map_err(|e| AuditError::Encode(e.to_string()))
}

/// The bundle with `digest` rebuilt from its archived form `text`, found at
/// `place`; refused when the files do not have that digest.
pub(crate) fn decode(digest: &str, text: &[u8], place: &str) -> Result<Bundle, AuditError> {
    let fail = |detail: String| AuditError::Archive {
        digest: digest.to_owned(),
        detail,
    };
    let stored: Stored = serde_json::from_slice(text)
        .map_err(|e| fail(format!("{place} is not an archived bundle: {e}")))?;
    let bundle = Bundle::from_files(&stored.files)
        .map_err(|e| fail(format!("the archived files do not load: {e}")))?;
    if &*bundle.policy().digest != digest {
        return Err(fail(format!(
            "the archived files have digest `{}`: the archive was altered",
            bundle.policy().digest
        )));
    }
    Ok(bundle)
}

/// Writes `bytes` to `path` whole or not at all: to `temporary`, synced,
/// then renamed over `path`, so no reader ever sees half of it.
pub(crate) fn write_whole(path: &Path, temporary: &Path, bytes: &[u8]) -> Result<(), AuditError> {
    let mut file = std::fs::File::create(temporary).map_err(AuditError::io("create", temporary))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(AuditError::io("write", temporary))?;
    std::fs::rename(temporary, path).map_err(AuditError::io("rename", temporary))
}
