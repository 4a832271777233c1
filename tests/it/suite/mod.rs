//! The plugin suite as each CI runs it: the GitHub actions (`actions/`) run from their
//! action.yml as the runner would, the GitLab components (`gitlab-components/`) in a real GitLab
//! CI interpreter (gitlab-ci-local), the Jenkinsfile's `sh` steps as a non-root agent, and every
//! action, workflow and template checked by the schemas and linters their platforms use. The
//! tools come from `.ci/run` (PyPI, npm into `.ci/tools`); a missing one fails the test.

mod actions;
mod gitlab;
mod jenkins;

mod lint;

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::git::{environment_repository, git};
use crate::support::{Cli, repo_root, write_files};

/// The platform key the suite's pipelines deploy with (32 bytes or more).
const KEY: &str = "suite-platform-key-0123456789abcdef";

/// The app's environments: all delivered to `../env.git`, Secrets in plain (throwaway values).
const ENVIRONMENTS: &str = r#"environments:
  - name: staging
    type: staging
    namespace: shop-staging
    delivery: { kind: git, repo: ../env.git, path: "{env}/{app}" }
    secrets: { mode: plain }
    values: { domain: staging.acme.test }
  - name: production
    type: production
    namespace: shop
    delivery: { kind: git, repo: ../env.git, path: "{env}/{app}" }
    secrets: { mode: plain }
    values: { domain: acme.test }
  - name: pr-{n}
    type: preview
    namespace: shop-pr-{n}
    delivery: { kind: git, repo: ../env.git, path: "{env}/{app}" }
    secrets: { mode: plain }
    values: { domain: preview.acme.test }
"#;

/// A folder with an app repository `app/` (examples/shop with its Dockerfile, the embedded
/// baseline exported to `platform/` with `ENVIRONMENTS`, committed) and a bare environment
/// repository `env.git`.
struct Workspace {
    dir: tempfile::TempDir,
}

impl Workspace {
    fn new() -> Workspace {
        let dir = tempfile::tempdir().unwrap();
        environment_repository(dir.path());
        let app = dir.path().join("app");
        copy(&repo_root().join("examples/shop"), &app);
        Cli::new(["baseline", "export", "platform"])
            .dir(&app)
            .run()
            .success();
        write_files(&app, &[("platform/environments.yaml", ENVIRONMENTS)]);
        git(&app, &["init", "--quiet", "--initial-branch=main"]);
        let workspace = Workspace { dir };
        workspace.commit("the shop");
        workspace
    }

    fn app(&self) -> PathBuf {
        self.dir.path().join("app")
    }

    fn commit(&self, message: &str) {
        git(&self.app(), &["add", "-A"]);
        git(&self.app(), &["commit", "--quiet", "-m", message]);
    }

    /// The environment repository's files at its tip.
    fn deployed(&self) -> String {
        git(
            &self.dir.path().join("env.git"),
            &["ls-tree", "-r", "--name-only", "main"],
        )
    }

    fn environment_tip(&self) -> String {
        git(&self.dir.path().join("env.git"), &["rev-parse", "main"])
            .trim()
            .to_owned()
    }
}

/// Copies the folder `from` to `to`, files and folders only.
fn copy(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// The scoreline binary under test.
fn scoreline() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_scoreline"))
}

/// A tool `.ci/run` installs with npm into `.ci/tools` (Node 22 included).
fn npm_tool(name: &str) -> PathBuf {
    let path = repo_root().join(".ci/tools/node_modules/.bin").join(name);
    assert!(
        path.exists(),
        "{} is missing: run .ci/run (or `npm ci --prefix .ci/tools`)",
        path.display()
    );
    path
}

/// A program on PATH that `.ci/run` installs (PyPI or Debian), ready to run.
fn tool(name: &str) -> Command {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(name).is_file()))
        .unwrap_or(false);
    assert!(found, "`{name}` is not on PATH: run .ci/run to install it");
    Command::new(name)
}

/// A YAML file's first document, as JSON.
fn yaml(path: &Path) -> serde_json::Value {
    yaml_text(
        &path.display().to_string(),
        &std::fs::read_to_string(path).unwrap(),
    )
}

/// The first document of YAML `text` (`name` for messages), as JSON.
fn yaml_text(name: &str, text: &str) -> serde_json::Value {
    crate::support::lib::first_yaml_document(name, text.to_owned())
}
