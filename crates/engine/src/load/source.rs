//! Load: read a bundle's files in the order its manifest gives, and name the
//! bundle by the SHA-256 digest of exactly those bytes.

use std::collections::BTreeMap;
use std::path::{Component, Path};
use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::diagnostic::{BundleError, Code, Loc, Problem};
use crate::load::raw::{Manifest, parse_yaml};

/// The manifest's file name, at the root of every bundle.
pub const MANIFEST: &str = "bundle.yaml";

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

/// Reads the manifest, then each file it lists, through `read`.
///
/// Files that the manifest does not list are never read: neither a directory
/// listing nor its order can change what a bundle decides.
pub(crate) fn collect(
    display: impl Fn(&str) -> String,
    read: impl Fn(&str) -> Result<String, String>,
) -> Result<Sources, BundleError> {
    let manifest_display: Arc<str> = display(MANIFEST).into();
    let text: Arc<str> = match read(MANIFEST) {
        Ok(text) => text.into(),
        Err(cause) => {
            let problem = Problem::error(
                Code::Io,
                format!("cannot read the manifest `{manifest_display}`: {cause}"),
                None,
            )
            .with_help(format!(
                "a bundle is a directory with a `{MANIFEST}` at its root"
            ));
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
        match read(name) {
            Ok(content) => files.push(SourceFile {
                name: name.into(),
                display: display(name).into(),
                text: content.into(),
            }),
            Err(cause) => problems.push(Problem::error(
                Code::Io,
                format!("cannot read `{name}`: {cause}"),
                Some(loc),
            )),
        }
    }
    let mut sources = Sources {
        manifest,
        manifest_file,
        files,
        digest: String::new(),
    };
    if !problems.is_empty() {
        return Err(BundleError::new(problems, sources.texts()));
    }
    sources.digest = digest(std::iter::once(&sources.manifest_file).chain(&sources.files));
    Ok(sources)
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
