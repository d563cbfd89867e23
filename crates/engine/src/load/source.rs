//! Load: read a bundle's files in the order its manifest gives, and name the
//! bundle by the SHA-256 digest of exactly those bytes.
//!
//! The loader trusts nothing it is given: a file is read only when it is a
//! regular file that resolves (symbolic links followed) inside the bundle
//! directory, and never past a cap on its size and on the bundle's. A file
//! refused for any of these reasons is never read, so no part of it can
//! reach a diagnostic.

use std::collections::BTreeMap;
use std::fs::{File, Metadata};
use std::io::Read;
use std::path::{Component, Path};
use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::diagnostic::{BundleError, Code, Loc, Problem};
use crate::load::raw::{Manifest, parse_yaml};

/// The manifest's file name, at the root of every bundle.
pub const MANIFEST: &str = "bundle.yaml";

/// The most bytes one file of a bundle (its manifest included) may hold:
/// 1 MiB, some forty times the largest file of the reference pack.
pub const MAX_FILE_BYTES: u64 = 1 << 20;

/// The most bytes a bundle's files may hold together: 32 MiB, room for a
/// hundred thousand per-customer rules (about 18 MB) and some 2,400 times
/// the whole reference pack, so the loader's memory stays bounded whatever
/// a bundle lists.
pub const MAX_BUNDLE_BYTES: u64 = 32 << 20;

/// Why a file of a bundle was not read (or not kept).
#[derive(Debug)]
pub(crate) enum Refusal {
    /// It cannot be read: missing, unreadable, or not UTF-8.
    Unreadable(String),
    /// It resolves, through symbolic links, to a place outside the bundle directory.
    Outside,
    /// It is not a regular file; what it is instead, such as `a FIFO`.
    NotAFile(&'static str),
    /// It holds more bytes than it may: at least this many.
    TooLarge(u64),
}

/// One file of a bundle: the name it is reported under and its text.
#[derive(Clone, Debug)]
pub(crate) struct SourceFile {
    /// The name in the manifest, which goes into the digest.
    pub name: Arc<str>,
    /// The name problems are reported under (the path on disk, when loaded from one).
    pub display: Arc<str>,
    pub text: Arc<str>,
}

/// A bundle's manifest and the files it lists, in manifest order.
pub(crate) struct Sources {
    pub manifest: Manifest,
    pub manifest_file: SourceFile,
    pub files: Vec<SourceFile>,
    pub digest: String,
    /// Warnings about the files as a whole (YAML files the manifest does not list).
    pub warnings: Vec<Problem>,
}

impl Sources {
    /// Every file's display name and text, for rendering diagnostics.
    pub fn texts(&self) -> Vec<(Arc<str>, Arc<str>)> {
        std::iter::once(&self.manifest_file)
            .chain(&self.files)
            .map(|f| (f.display.clone(), f.text.clone()))
            .collect()
    }
}

/// Reads the manifest, then each file it lists, through `read`, which is
/// given the most bytes the file may hold. `listing` names the files beside
/// the manifest, for "did you mean" and for the warning that names YAML
/// files the manifest does not list.
///
/// Files that the manifest does not list are never read: neither a directory
/// listing nor its order can change what a bundle decides.
pub(crate) fn collect(
    display: impl Fn(&str) -> String,
    read: impl Fn(&str, u64) -> Result<String, Refusal>,
    listing: &[String],
) -> Result<Sources, BundleError> {
    let manifest_display: Arc<str> = display(MANIFEST).into();
    let mut budget = Budget::default();
    let text: Arc<str> = match budget.read(MANIFEST, &read) {
        Ok(text) => text.into(),
        Err(refusal) => {
            let problem = refused(&refusal, &manifest_display, true, None);
            let problem = match refusal {
                Refusal::Unreadable(_) => problem.with_help(format!(
                    "a bundle is a directory with a `{MANIFEST}` at its root"
                )),
                _ => problem,
            };
            return Err(BundleError::new(vec![problem], Vec::new()));
        }
    };
    let manifest_file = SourceFile {
        name: MANIFEST.into(),
        display: manifest_display.clone(),
        text: text.clone(),
    };
    let hidden = crate::load::text::hidden_characters(&manifest_display, &text);
    if !hidden.is_empty() {
        return Err(BundleError::new(hidden, vec![(manifest_display, text)]));
    }
    let (errors, mut warnings) = crate::load::style::yaml_style(&manifest_display, &text);
    if !errors.is_empty() {
        return Err(BundleError::new(errors, vec![(manifest_display, text)]));
    }
    let manifest: Manifest = match parse_yaml(&manifest_display, &text) {
        Ok(manifest) => manifest,
        Err(problem) => {
            return Err(BundleError::new(
                vec![problem],
                vec![(manifest_display, text)],
            ));
        }
    };

    let mut problems = Vec::new();
    let mut files = Vec::new();
    let mut seen = BTreeMap::new();
    for entry in &manifest.files {
        let name = entry.value.as_str();
        let loc = crate::load::raw::loc(&manifest_display, &text, &entry.referenced);
        if let Some(reason) = unsafe_name(name) {
            problems.push(Problem::error(
                Code::BadFileName,
                format!("file `{name}` {reason}"),
                Some(loc),
            ));
            continue;
        }
        if seen.insert(name.to_owned(), ()).is_some() {
            problems.push(Problem::error(
                Code::DuplicateFile,
                format!("file `{name}` is listed twice"),
                Some(loc),
            ));
            continue;
        }
        match budget.read(name, &read) {
            Ok(content) => files.push(SourceFile {
                name: name.into(),
                display: display(name).into(),
                text: content.into(),
            }),
            Err(Refusal::TooLarge(size)) if size <= MAX_FILE_BYTES => {
                // Past the bundle's cap, nothing more is read.
                problems.push(budget.problem(name, size, Some(loc)));
                break;
            }
            Err(refusal) => {
                let problem = refused(&refusal, name, false, Some(loc));
                problems.push(match refusal {
                    Refusal::Unreadable(_) => with_near_name(problem, name, listing),
                    _ => problem,
                });
            }
        }
    }
    warnings.extend(unlisted(&manifest, &manifest_file, listing));
    let mut sources = Sources {
        manifest,
        manifest_file,
        files,
        digest: String::new(),
        warnings,
    };
    if !problems.is_empty() {
        return Err(BundleError::new(problems, sources.texts()));
    }
    sources.digest = digest(std::iter::once(&sources.manifest_file).chain(&sources.files));
    Ok(sources)
}

/// `problem`, about the listed file `name` that cannot be read, with the
/// name of a file beside the manifest that it may have meant.
fn with_near_name(problem: Problem, name: &str, listing: &[String]) -> Problem {
    let candidates = listing
        .iter()
        .map(String::as_str)
        .filter(|n| *n != MANIFEST);
    match crate::diagnostic::did_you_mean(name, candidates) {
        Some(help) => problem.with_help(help),
        None => problem,
    }
}

/// A warning naming the YAML files of `listing` that the manifest does not
/// list (and so the bundle ignores).
fn unlisted(manifest: &Manifest, file: &SourceFile, listing: &[String]) -> Vec<Problem> {
    let listed: Vec<&str> = manifest.files.iter().map(|f| f.value.as_str()).collect();
    let names: Vec<String> = listing
        .iter()
        .filter(|n| n.ends_with(".yaml") || n.ends_with(".yml"))
        .filter(|n| *n != MANIFEST && !listed.contains(&n.as_str()))
        .map(|n| format!("`{n}`"))
        .collect();
    if names.is_empty() {
        return Vec::new();
    }
    let message = format!(
        "the manifest does not list {}, so the bundle ignores {}",
        names.join(", "),
        if names.len() == 1 { "it" } else { "them" }
    );
    let at = Loc {
        file: (*file.display).into(),
        line: 1,
        column: 1,
        offset: 0,
        len: 0,
    };
    vec![
        Problem::warning(Code::UnlistedFile, message, Some(at)).with_help(format!(
            "add each file that holds policy to `files` in {MANIFEST}, or move it out of the bundle directory"
        )),
    ]
}

/// The bytes a bundle's files have taken so far, against [`MAX_BUNDLE_BYTES`].
#[derive(Default)]
struct Budget {
    used: u64,
}

impl Budget {
    /// Reads `name` through `read`, allowing it what is left of the bundle's
    /// bytes (and no more than a file may hold).
    fn read(
        &mut self,
        name: &str,
        read: impl Fn(&str, u64) -> Result<String, Refusal>,
    ) -> Result<String, Refusal> {
        let left = MAX_BUNDLE_BYTES.saturating_sub(self.used);
        let text = read(name, MAX_FILE_BYTES.min(left))?;
        self.used += text.len() as u64;
        Ok(text)
    }

    /// The problem of file `name`, of `size` bytes, which would take the
    /// bundle past its cap (though it is not too large on its own).
    fn problem(&self, name: &str, size: u64, loc: Option<Loc>) -> Problem {
        let message = format!(
            concat!(
                "file `{}` ({} bytes) takes the bundle past the {} bytes a bundle's files ",
                "may hold together: {} bytes before it"
            ),
            name, size, MAX_BUNDLE_BYTES, self.used
        );
        Problem::error(Code::TooLarge, message, loc)
            .with_help("list only the files the bundle needs: its files together must fit the cap")
    }
}

/// The problem of the file `name` refused by the reader; `manifest` when
/// it is the manifest.
pub(crate) fn refused(refusal: &Refusal, name: &str, manifest: bool, loc: Option<Loc>) -> Problem {
    let what = match manifest {
        true => format!("the manifest `{name}`"),
        false => format!("file `{name}`"),
    };
    match refusal {
        Refusal::Unreadable(cause) => {
            // A file by its name alone, as this message has always read.
            let what = if manifest { what } else { format!("`{name}`") };
            // The system's words for the commonest cause, in plain ones.
            let cause = match cause.ends_with("(os error 2)") {
                true => "there is no file by this name",
                false => cause.as_str(),
            };
            Problem::error(Code::Io, format!("cannot read {what}: {cause}"), loc)
        }
        Refusal::Outside => Problem::error(
            Code::OutsideBundle,
            format!("{what} leads outside the bundle directory"),
            loc,
        )
        .with_help(concat!(
            "a bundle reads only files inside its directory: ",
            "copy the file in, or link to one inside it"
        )),
        Refusal::NotAFile(kind) => Problem::error(
            Code::NotAFile,
            format!("{what} is {kind}, not a regular file"),
            loc,
        )
        .with_help("a bundle's files are regular files: list no directory, device, FIFO or socket"),
        Refusal::TooLarge(size) => Problem::error(
            Code::TooLarge,
            format!(
                "{what} is {size} bytes, more than the {MAX_FILE_BYTES} bytes a policy file may hold"
            ),
            loc,
        )
        .with_help("split it into smaller files, each listed in the manifest"),
    }
}

/// Reads the bundle in the directory `dir` from disk; see [`read_inside`]
/// for what is refused.
pub(crate) fn collect_dir(dir: &Path) -> Result<Sources, BundleError> {
    let root = std::fs::canonicalize(dir);
    let mut listing: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    listing.sort();
    collect(
        |name| dir.join(name).display().to_string(),
        |name, cap| match &root {
            Ok(root) => read_inside(root, &dir.join(name), cap),
            Err(error) => Err(Refusal::Unreadable(error.to_string())),
        },
        &listing,
    )
}

/// Reads a bundle from files in memory, under the same caps as on disk.
pub(crate) fn collect_files(files: &[crate::load::PolicyFile]) -> Result<Sources, BundleError> {
    collect(
        |name| name.to_owned(),
        |name, cap| match files.iter().find(|f| f.name == name) {
            Some(file) if file.text.len() as u64 > cap => {
                Err(Refusal::TooLarge(file.text.len() as u64))
            }
            Some(file) => Ok(file.text.clone()),
            None => Err(Refusal::Unreadable("no such file in the bundle".to_owned())),
        },
        &files.iter().map(|f| f.name.clone()).collect::<Vec<_>>(),
    )
}

/// The text of the file at `path`, read only if it is a regular file that
/// resolves, symbolic links followed, inside `root` (a canonical path) and
/// holds at most `cap` bytes. Anything else is refused from its metadata,
/// without being opened: a FIFO or a device is never read. The file opened
/// is checked again, and read through a `take`, so that one swapped in
/// after the check cannot be read past the cap either.
pub(crate) fn read_inside(root: &Path, path: &Path, cap: u64) -> Result<String, Refusal> {
    let unreadable = |error: std::io::Error| Refusal::Unreadable(error.to_string());
    let resolved = std::fs::canonicalize(path).map_err(unreadable)?;
    regular(&std::fs::metadata(&resolved).map_err(unreadable)?, cap)?;
    if !resolved.starts_with(root) {
        return Err(Refusal::Outside);
    }
    let file = File::open(&resolved).map_err(unreadable)?;
    let opened = file.metadata().map_err(unreadable)?;
    regular(&opened, cap)?;
    let mut bytes = Vec::with_capacity(usize::try_from(opened.len()).unwrap_or(0));
    file.take(cap.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(unreadable)?;
    if bytes.len() as u64 > cap {
        return Err(Refusal::TooLarge(opened.len().max(bytes.len() as u64)));
    }
    String::from_utf8(bytes)
        .map_err(|_| Refusal::Unreadable("stream did not contain valid UTF-8".to_owned()))
}

/// `Ok` for a regular file of at most `cap` bytes.
fn regular(metadata: &Metadata, cap: u64) -> Result<(), Refusal> {
    let kind = metadata.file_type();
    if !kind.is_file() {
        return Err(Refusal::NotAFile(kind_name(kind)));
    }
    if metadata.len() > cap {
        return Err(Refusal::TooLarge(metadata.len()));
    }
    Ok(())
}

/// What a file that is not a regular file is, for a message.
fn kind_name(kind: std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            return "a FIFO";
        }
        if kind.is_socket() {
            return "a socket";
        }
        if kind.is_char_device() {
            return "a character device";
        }
        if kind.is_block_device() {
            return "a block device";
        }
    }
    if kind.is_dir() {
        "a directory"
    } else {
        "something other than a file"
    }
}

/// `sha256:` and the hex digest of each file's name and bytes, in order, each
/// prefixed by its length so that no two bundles share an encoding.
fn digest<'a>(files: impl Iterator<Item = &'a SourceFile>) -> String {
    let mut hasher = Sha256::new();
    for file in files {
        for part in [file.name.as_bytes(), file.text.as_bytes()] {
            hasher.update((part.len() as u64).to_be_bytes());
            hasher.update(part);
        }
    }
    format!("sha256:{}", crate::load::digest::hex(&hasher.finalize()))
}

/// Why a listed name may not be read, if it may not: bundles stay inside their directory.
fn unsafe_name(name: &str) -> Option<&'static str> {
    let path = Path::new(name);
    if name.is_empty() {
        return Some("has an empty name");
    }
    if path
        .components()
        .any(|c| !matches!(c, Component::Normal(_)))
    {
        return Some("must be a relative path inside the bundle directory");
    }
    None
}

/// Where a problem in `file` at the given YAML location is reported.
pub(crate) fn locate(file: &SourceFile, at: &serde_saphyr::Location) -> Loc {
    crate::load::raw::loc(&file.display, &file.text, at)
}
