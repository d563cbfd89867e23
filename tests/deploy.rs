//! The container build file and the Kubernetes manifests hold to what the
//! binary does: their command lines parse, the environment variables they
//! set are the ones the CLI reads, the probes' routes answer, the user is
//! not root, and the bundle fits in a ConfigMap (top-level files only).
//! (No image is built and no cluster runs here: neither is available to the
//! tests.)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use clap::Parser;
use serde_json::Value;
use triage_service::serve::Config;

use crate::serve_support::{POLICIES, Server};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn manifest(name: &str) -> Value {
    let path = root().join("deploy/kubernetes").join(name);
    serde_saphyr::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// `args` parse as a `triage` command line.
fn parses(args: &[&str]) {
    let argv = std::iter::once("triage").chain(args.iter().copied());
    if let Err(error) = triage::cli::Cli::try_parse_from(argv) {
        panic!("{args:?} does not parse: {error}");
    }
}

#[test]
fn the_dockerfile_runs_the_service_as_a_user_other_than_root() {
    let text = std::fs::read_to_string(root().join("Dockerfile")).unwrap();
    let stages = text.lines().filter(|l| l.starts_with("FROM ")).count();
    assert!(stages >= 2, "multi-stage: {stages} stage(s)");
    let user = text
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("USER "))
        .unwrap();
    assert!(
        !user.starts_with('0') && !user.starts_with("root"),
        "{user}"
    );
    let cmd = text.lines().find_map(|l| l.strip_prefix("CMD ")).unwrap();
    let args: Vec<String> = serde_json::from_str(cmd).unwrap();
    parses(&args.iter().map(String::as_str).collect::<Vec<_>>());
}

#[test]
fn the_deployment_runs_what_the_binary_accepts() {
    let deployment = manifest("deployment.yaml");
    let spec = &deployment["spec"];
    assert!(spec["replicas"].as_u64().unwrap() >= 2, "several replicas");
    let container = &spec["template"]["spec"]["containers"][0];
    let args: Vec<&str> = container["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    parses(&args);
    let policies = args
        .iter()
        .find_map(|a| a.strip_prefix("--policies="))
        .unwrap();
    let mounts = container["volumeMounts"].as_array().unwrap();
    assert!(
        mounts
            .iter()
            .any(|m| m["mountPath"] == policies && m.get("subPath").is_none())
    );

    // The variables set are the ones `serve` reads.
    let help = crate::common::binary(&["serve", "--help"]).1;
    for variable in container["env"].as_array().unwrap() {
        let name = variable["name"].as_str().unwrap();
        assert!(
            help.contains(&format!("env: {name}")),
            "`serve` does not read {name}"
        );
    }
    assert!(container["resources"]["limits"]["memory"].is_string());

    // The probes' routes answer on a running service.
    let server = Server::start(Config::new(POLICIES));
    for probe in ["readinessProbe", "livenessProbe"] {
        let path = container[probe]["httpGet"]["path"].as_str().unwrap();
        assert_eq!(server.get(path).status, 200, "{probe} {path}");
    }
}

#[test]
fn the_bundle_fits_in_a_config_map() {
    // A ConfigMap holds files, not directories: every file the bundle lists
    // must sit at its top level.
    let manifest: Value = serde_saphyr::from_str(
        &std::fs::read_to_string(root().join("policies/bundle.yaml")).unwrap(),
    )
    .unwrap();
    for file in manifest["files"].as_array().unwrap() {
        let file = file.as_str().unwrap();
        assert!(!file.contains('/'), "`{file}` is in a directory");
        assert!(root().join("policies").join(file).is_file(), "{file}");
    }
}
