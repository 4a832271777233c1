//! What the integration tests share: running the CLI (`cli`), fixtures' expectations
//! (`expect`), git (`git`), looking for secrets (`leak`), the helper servers (`servers`, `git_server`, `registry`), and reading
//! back the folders the CLI writes (below).

pub mod cli;
pub mod expect;
pub mod git;
pub mod git_server;
pub mod leak;
pub mod lib;
pub mod registry;
pub mod servers;

use std::path::{Path, PathBuf};

use base64::Engine;

pub use cli::{Cli, Outcome};

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `../shared/anchors` beside the repository (present in CI and development checkouts).
pub fn anchors() -> PathBuf {
    repo_root().join("../shared/anchors")
}

/// `baseline export PLATFORM`: the embedded baseline written to the folder `platform`.
pub fn export_baseline(platform: &Path) {
    Cli::new(["baseline", "export"])
        .arg(platform)
        .run()
        .success();
}

/// Output of a program other than scoreline, as text.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Every file below `dir` whose name satisfies `keep`, sorted.
pub fn files_below(dir: &Path, keep: &dyn Fn(&Path) -> bool) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        for entry in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else if keep(&path) {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// Writes `files` (path, content) under `dir`, creating folders.
pub fn write_files(dir: &Path, files: &[(&str, &str)]) {
    for (path, content) in files {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }
}

/// Every file of a folder (names relative to it) with its bytes, sorted by name.
pub fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = files_below(dir, &|_| true)
        .into_iter()
        .map(|p| {
            (
                p.strip_prefix(dir).unwrap().display().to_string(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

/// The rendered objects of a folder, parsed, by file name (kustomization.yaml excluded).
pub fn objects(dir: &Path) -> Vec<(String, serde_json::Value)> {
    snapshot(dir)
        .into_iter()
        .filter(|(name, _)| name.ends_with(".yaml") && name != "kustomization.yaml")
        .map(|(name, bytes)| {
            let text = String::from_utf8(bytes).unwrap();
            let first = lib::first_yaml_document(&name, text);
            (name, first)
        })
        .collect()
}

/// The one object of a kind and name.
pub fn object(dir: &Path, kind: &str, name: &str) -> serde_json::Value {
    objects(dir)
        .into_iter()
        .map(|(_, o)| o)
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .unwrap_or_else(|| {
            panic!(
                "no {kind} {name} in {}: {:?}",
                dir.display(),
                objects(dir)
                    .iter()
                    .map(|(n, _)| n.clone())
                    .collect::<Vec<_>>()
            )
        })
}

/// A Secret's values, decoded.
pub fn secret_values(secret: &serde_json::Value) -> Vec<(String, String)> {
    secret["data"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| {
            let bytes = BASE64.decode(v.as_str().unwrap()).unwrap();
            (k.clone(), String::from_utf8(bytes).unwrap())
        })
        .collect()
}

/// The one value named `key` of a Secret, decoded.
pub fn secret_value(secret: &serde_json::Value, key: &str) -> String {
    secret_values(secret)
        .into_iter()
        .find(|(k, _)| k == key)
        .unwrap_or_else(|| panic!("no {key} in {secret}"))
        .1
}

/// Base64 as Kubernetes Secrets and Docker's config write it.
pub fn base64(bytes: &[u8]) -> String {
    BASE64.encode(bytes)
}

const BASE64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// A JSON file, parsed.
pub fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(
        &std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    )
    .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
