//! Fault injection for the decision log: a small tmpfs that a test fills up
//! and frees again, so that the writer meets a real `ENOSPC` (and a real
//! short write) on its real code path.
//!
//! Mounting needs root (CI runs as root). Where `mount` is not permitted the
//! tests that need it say so on stderr and pass without running.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A tmpfs mounted on a fresh temporary directory; unmounted when dropped.
pub struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    /// A tmpfs of `size` (`mount -o size=…`: `1m`, `256k`), or `None` (said
    /// on stderr) where this process may not mount one.
    pub fn mount(size: &str, test: &str) -> Option<Tmpfs> {
        let dir = tempfile::tempdir().unwrap();
        let mounted = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(dir.path())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if mounted {
            Some(Tmpfs { dir })
        } else {
            eprintln!("{test}: skipped: cannot mount a tmpfs here (it needs root)");
            None
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let unmounted = Command::new("umount")
            .arg(self.dir.path())
            .status()
            .is_ok_and(|s| s.success());
        if !unmounted {
            // Still in use (a test failed holding a file open): detach it.
            let _ = Command::new("umount")
                .arg("-l")
                .arg(self.dir.path())
                .status();
        }
    }
}

/// Fills the file system holding `dir` with a file of its own, until a write
/// fails for want of space; returns the file, to free the space by removing it.
pub fn fill(dir: &Path) -> PathBuf {
    let path = dir.join("filler");
    let mut file = std::fs::File::create(&path).unwrap();
    for chunk in [65_536, 4096, 1] {
        let bytes = vec![0u8; chunk];
        loop {
            match file.write_all(&bytes) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::StorageFull => break,
                Err(e) => panic!("filling {}: {e}", path.display()),
            }
        }
    }
    file.sync_all().unwrap();
    path
}

/// The error chain of a failure mentions a full disk.
pub fn is_disk_full(failure: &triage_audit::AuditError) -> bool {
    match failure {
        triage_audit::AuditError::Io { source, .. } => {
            source.kind() == std::io::ErrorKind::StorageFull
        }
        _ => false,
    }
}
