//! `triage schema`: JSON Schemas for editors and for services that send tickets.

use std::io::Write;
use std::path::Path;

use super::shared::{PolicyArgs, exit};

/// Where `--write` puts the schemas, inside the bundle directory.
pub const SCHEMA_DIR: &str = ".schemas";

/// The first line of a YAML file that names its schema for editors.
const HEADER: &str = "# yaml-language-server: $schema=";

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Which schema: the policy files, the test suites, or the bundle's tickets.
    #[arg(value_enum, required_unless_present = "write")]
    pub which: Option<Which>,
    /// Write every schema into the bundle directory DIR (`DIR/.schemas/`),
    /// and point the `# yaml-language-server: $schema=` line of each of its
    /// YAML files (and of its suites in `tests/`) there by a relative path,
    /// so the bundle keeps its editor support wherever it is copied.
    #[arg(long, value_name = "DIR", conflicts_with = "which")]
    pub write: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub policy: PolicyArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Which {
    /// `bundle.yaml` and the policy files (fixed by this version of triage).
    Policy,
    /// The policy test suites in `tests/` (fixed).
    Suite,
    /// The tickets the bundle at `--policies` accepts (derived from its schema).
    Ticket,
    /// A decision, as the service answers and the log records it (fixed).
    Decision,
    /// A rejection: an invalid ticket or an evaluation error (fixed).
    Rejection,
    /// The service's OpenAPI 3.1 document, as `/openapi.json` serves it (docs/openapi.json).
    Openapi,
}

pub fn run(args: &Args, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    let which = match (&args.write, args.which) {
        (Some(dir), _) => return write_into(dir, out, err),
        (None, Some(which)) => which,
        (None, None) => Which::Policy,
    };
    let schema = match which {
        Which::Policy => triage_engine::jsonschema::policy(),
        Which::Suite => triage_engine::jsonschema::suite(),
        Which::Decision => triage_engine::jsonschema::decision(),
        Which::Rejection => triage_engine::jsonschema::rejection(),
        Which::Openapi => triage_service::serve::openapi(),
        Which::Ticket => match super::shared::load(&args.policy.policies, err) {
            Ok(bundle) => triage_engine::jsonschema::ticket(&bundle.catalog()),
            Err(code) => return code,
        },
    };
    match serde_json::to_string_pretty(&schema) {
        Ok(text) => {
            let _ = writeln!(out, "{text}");
            exit::DECIDED
        }
        Err(error) => {
            let _ = writeln!(err, "error: {error}");
            exit::OTHER
        }
    }
}

/// `--write DIR`: the three schemas into `DIR/.schemas/`, then each YAML
/// file's schema line pointed at them.
fn write_into(dir: &Path, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    let bundle = match super::shared::load(dir, err) {
        Ok(bundle) => bundle,
        Err(code) => return code,
    };
    let schemas = [
        ("policy", triage_engine::jsonschema::policy()),
        ("suite", triage_engine::jsonschema::suite()),
        (
            "ticket",
            triage_engine::jsonschema::ticket(&bundle.catalog()),
        ),
    ];
    let target = dir.join(SCHEMA_DIR);
    let written = std::fs::create_dir_all(&target).and_then(|()| {
        for (name, schema) in &schemas {
            let text = serde_json::to_string_pretty(schema).map_err(std::io::Error::other)?;
            std::fs::write(target.join(format!("{name}.schema.json")), text + "\n")?;
        }
        let policy = format!("./{SCHEMA_DIR}/policy.schema.json");
        let mut headed = point_headers(dir, &policy)?;
        let suites = dir.join("tests");
        if suites.is_dir() {
            headed += point_headers(&suites, &format!("../{SCHEMA_DIR}/suite.schema.json"))?;
        }
        Ok(headed)
    });
    match written {
        Ok(headed) => {
            let _ = writeln!(
                out,
                "wrote {} (policy, suite, ticket); {headed} YAML files point there",
                target.display()
            );
            exit::DECIDED
        }
        Err(error) => {
            let _ = writeln!(err, "error: cannot write into {}: {error}", dir.display());
            exit::OTHER
        }
    }
}

/// Points the schema line of every `.yaml`/`.yml` file directly in `dir` at
/// `schema`, adding the line where a file has none; the count of files.
fn point_headers(dir: &Path, schema: &str) -> std::io::Result<usize> {
    let mut paths: Vec<_> = std::fs::read_dir(dir)?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .collect();
    paths.sort();
    for path in &paths {
        let text = std::fs::read_to_string(path)?;
        std::fs::write(path, with_header(&text, schema))?;
    }
    Ok(paths.len())
}

/// `text` with its schema line (the first line, if it is one) naming `schema`.
pub fn with_header(text: &str, schema: &str) -> String {
    let line = format!("{HEADER}{schema}\n");
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    match text.strip_prefix(HEADER) {
        Some(rest) => line + rest.split_once('\n').map_or("", |(_, after)| after),
        None => line + text,
    }
}
