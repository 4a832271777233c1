//! Each GitHub action run as the runner runs it: a Docker action's `args` with `${{ … }}`
//! evaluated over its inputs (the given ones, else the defaults), every argument passed as one
//! word, empty ones included; `INPUT_*` variables; `runs.env` and the step's `env:`; a
//! `GITHUB_OUTPUT` file; the workspace as working folder. The composite `setup` action's step
//! runs in bash against a local download server.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

use super::{KEY, Workspace, scoreline, tool, yaml};
use crate::support::registry::TestRegistry;
use crate::support::servers::ScriptServer;
use crate::support::{Outcome, repo_root, text};

/// The steps of this suite: every one has a Docker action of that name.
const STEPS: [&str; 8] = [
    "build", "validate", "render", "plan", "deploy", "promote", "rollback", "destroy",
];

fn action(step: &str) -> Value {
    yaml(&repo_root().join("actions").join(step).join("action.yml"))
}

/// A step of a workflow: `uses: …/actions/STEP@v1` with `with:` and `env:`.
struct Step<'a> {
    action: &'a str,
    with: &'a [(&'a str, &'a str)],
    env: &'a [(&'a str, &'a str)],
}

/// What the action wrote to `$GITHUB_OUTPUT`, and how it ended.
struct Ran {
    outcome: Outcome,
    outputs: BTreeMap<String, String>,
}

impl Step<'_> {
    /// The inputs as the runner sees them: `with:` over the defaults; a required one missing
    /// fails the test, as the runner fails the step.
    fn inputs(&self, action: &Value) -> BTreeMap<String, String> {
        let mut inputs = BTreeMap::new();
        for (name, spec) in action["inputs"].as_object().unwrap() {
            let given = self.with.iter().find(|(n, _)| n == name).map(|(_, v)| *v);
            let value = match (given, spec["default"].as_str()) {
                (Some(v), _) => v.to_owned(),
                (None, Some(default)) => {
                    default.replace("${{ github.token }}", "github-token-of-the-run")
                }
                (None, None) => {
                    assert!(
                        spec["required"] != true,
                        "{}: input `{name}` is required",
                        self.action
                    );
                    String::new()
                }
            };
            inputs.insert(name.clone(), value);
        }
        for (name, _) in self.with {
            assert!(
                inputs.contains_key(*name),
                "{} has no input `{name}`",
                self.action
            );
        }
        inputs
    }

    fn run(&self, workspace: &Path) -> Ran {
        let action = action(self.action);
        assert_eq!(action["runs"]["using"], "docker", "{}", self.action);
        let inputs = self.inputs(&action);
        let args: Vec<String> = action["runs"]["args"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| evaluate(a.as_str().unwrap(), &inputs))
            .collect();
        let outputs = tempfile::NamedTempFile::new().unwrap();
        let home = tempfile::tempdir().unwrap();
        let mut command = Command::new(scoreline());
        command
            .args(&args)
            .current_dir(workspace)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap())
            .env("HOME", home.path())
            .env("GITHUB_ACTIONS", "true")
            .env("CI", "true")
            .env("GITHUB_WORKSPACE", workspace)
            .env("GITHUB_OUTPUT", outputs.path());
        for (name, value) in &inputs {
            command.env(
                format!("INPUT_{}", name.replace(' ', "_").to_uppercase()),
                value,
            );
        }
        for (name, value) in action["runs"]["env"].as_object().into_iter().flatten() {
            command.env(name, evaluate(value.as_str().unwrap(), &inputs));
        }
        for (name, value) in self.env {
            command.env(name, value);
        }
        let outcome = Outcome::of(&mut command, std::time::Duration::from_secs(120));
        let written = std::fs::read_to_string(outputs.path()).unwrap();
        let outputs = written
            .lines()
            .map(|l| {
                let (k, v) = l.split_once('=').expect("name=value");
                (k.to_owned(), v.to_owned())
            })
            .collect();
        Ran { outcome, outputs }
    }
}

/// A `${{ … }}` template as the runner evaluates it, for the two forms the actions use:
/// `inputs.NAME`, and `inputs.NAME == 'true' && 'TEXT' || ''`. Anything else fails the test.
fn evaluate(template: &str, inputs: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find("${{") {
        out.push_str(&rest[..start]);
        let end = start + rest[start..].find("}}").expect("`${{` is closed");
        let expression = rest[start + 3..end].trim();
        let input = |name: &str| {
            inputs
                .get(name)
                .unwrap_or_else(|| panic!("`{template}` reads an undeclared input `{name}`"))
                .clone()
        };
        let value = if let Some((condition, choice)) = expression.split_once(" && ") {
            let name = condition
                .strip_prefix("inputs.")
                .and_then(|c| c.strip_suffix(" == 'true'"))
                .unwrap_or_else(|| panic!("unknown condition in `{template}`"));
            let text = choice
                .strip_suffix(" || ''")
                .and_then(|c| c.strip_prefix('\''))
                .and_then(|c| c.strip_suffix('\''))
                .unwrap_or_else(|| panic!("unknown choice in `{template}`"));
            // The runner compares strings case-insensitively.
            if input(name).eq_ignore_ascii_case("true") {
                text.to_owned()
            } else {
                String::new()
            }
        } else if let Some(name) = expression.strip_prefix("inputs.") {
            input(name)
        } else {
            panic!("the test knows no `{expression}` (in `{template}`)")
        };
        out.push_str(&value);
        rest = &rest[end + 2..];
    }
    out.push_str(rest);
    out
}

/// Every action runs the published image of this version, by the same reference, and is
/// described, branded and documented.
#[test]
fn every_action_runs_the_release_image_and_is_documented() {
    let image = format!(
        "docker://ghcr.io/scoreline-dev/scoreline:{}",
        env!("CARGO_PKG_VERSION")
    );
    let steps: Vec<String> = std::fs::read_dir(repo_root().join("actions"))
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().into_string().unwrap())
        .collect();
    for step in STEPS {
        assert!(steps.iter().any(|s| s == step), "actions/{step} is missing");
        let action = action(step);
        assert_eq!(action["runs"]["image"], image.as_str(), "actions/{step}");
        assert_eq!(action["runs"]["args"][0], step, "actions/{step}");
    }
    assert_eq!(
        steps.len(),
        STEPS.len() + 1,
        "{steps:?}: the steps and setup"
    );
    assert_eq!(
        action("setup")["inputs"]["version"]["default"],
        env!("CARGO_PKG_VERSION")
    );
    for step in steps {
        let action = action(&step);
        assert!(
            action["branding"]["icon"].is_string(),
            "actions/{step}: branding"
        );
        let readme =
            std::fs::read_to_string(repo_root().join("actions").join(&step).join("README.md"))
                .unwrap_or_else(|e| panic!("actions/{step}/README.md: {e}"));
        for name in action["inputs"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(n, _)| n)
            .chain(
                action["outputs"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(n, _)| n),
            )
        {
            assert!(
                readme.contains(&format!("`{name}`")),
                "actions/{step}/README.md does not name `{name}`"
            );
        }
    }
}

/// The step env a deploying job gives the actions.
const KEY_ENV: &[(&str, &str)] = &[("SCORELINE_KEY", KEY)];

#[test]
fn build_pushes_and_outputs_the_pinned_image() {
    let workspace = Workspace::new();
    let registry = TestRegistry::start();
    let tag = format!("{}/acme/shop:ci", registry.host());
    let ran = Step {
        action: "build",
        with: &[
            (
                "tags",
                &format!("{tag}\n{}/acme/shop:latest\n", registry.host()),
            ),
            ("no-cache", "true"),
        ],
        env: &[],
    }
    .run(&workspace.app());
    ran.outcome.success();
    let digest = &ran.outputs["digest"];
    assert!(digest.starts_with("sha256:"), "{:?}", ran.outputs);
    assert_eq!(
        ran.outputs["image"],
        format!("{}/acme/shop@{digest}", registry.host())
    );
    // Both tags of the multi-line input were pushed.
    for tag in ["ci", "latest"] {
        let inspected =
            crate::support::registry::inspect(&format!("{}/acme/shop:{tag}", registry.host()), &[]);
        assert_eq!(inspected["Digest"], digest.as_str(), "{tag}");
    }
}

#[test]
fn validate_passes_the_shop_and_annotates_a_typo() {
    let workspace = Workspace::new();
    Step {
        action: "validate",
        with: &[],
        env: &[],
    }
    .run(&workspace.app())
    .outcome
    .success();
    std::fs::write(workspace.app().join("typo.yaml"), "apiVersion: score.dev/v1b1\nmetadata: {name: typo}\ncontainers:\n  web:\n    imagee: nginx\n").unwrap();
    let ran = Step {
        action: "validate",
        with: &[("files", "score.yaml\ntypo.yaml")],
        env: &[],
    }
    .run(&workspace.app());
    ran.outcome
        .fails(2)
        .stdout_has("::error file=typo.yaml,line=5,col=5,");
}

#[test]
fn render_writes_the_manifests_and_outputs_their_digest() {
    let workspace = Workspace::new();
    let ran = Step {
        action: "render",
        with: &[("platform", "platform"), ("environment", "staging"), ("images", "web=ghcr.io/acme/shop@sha256:5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"), ("out", "out/staging")],
        env: KEY_ENV,
    }
    .run(&workspace.app());
    ran.outcome.success();
    assert_eq!(ran.outputs["manifests"], "out/staging");
    assert!(
        ran.outputs["digest"].starts_with("sha256:"),
        "{:?}",
        ran.outputs
    );
    let deployment =
        std::fs::read_to_string(workspace.app().join("out/staging/deployment-shop.yaml")).unwrap();
    assert!(
        deployment.contains("ghcr.io/acme/shop@sha256:5891b5b5"),
        "{deployment}"
    );
}

/// `deploy` of the shop to `environment` with the image `web=REF`.
fn deploy(workspace: &Workspace, environment: &str, image: &str) -> Ran {
    let image = format!("web={image}");
    Step {
        action: "deploy",
        with: &[
            ("platform", "platform"),
            ("environment", environment),
            ("images", &image),
            ("message", "from the deploy action"),
        ],
        env: KEY_ENV,
    }
    .run(&workspace.app())
}

/// The plan action outputs whether staging would change and its plan file; the deploy action
/// given that file delivers exactly the planned render.
#[test]
fn plan_outputs_its_file_and_deploy_delivers_exactly_it() {
    let workspace = Workspace::new();
    let image = format!("web={IMAGE_1}");
    let planned = Step {
        action: "plan",
        with: &[
            ("platform", "platform"),
            ("environments", "staging"),
            ("images", &image),
        ],
        env: KEY_ENV,
    }
    .run(&workspace.app());
    planned.outcome.success();
    assert_eq!(planned.outputs["changed"], "true", "{:?}", planned.outputs);
    assert_eq!(planned.outputs["plan"], "plan.json");
    let plan: Value =
        serde_json::from_str(&std::fs::read_to_string(workspace.app().join("plan.json")).unwrap())
            .unwrap();
    let deployed = Step {
        action: "deploy",
        with: &[("plan", "plan.json"), ("environment", "staging")],
        env: KEY_ENV,
    }
    .run(&workspace.app());
    deployed.outcome.success();
    assert_eq!(deployed.outputs["status"], "deployed");
    assert_eq!(
        deployed.outputs["record-id"],
        plan["environments"][0]["id"].as_str().unwrap()
    );
}

const IMAGE_1: &str =
    "ghcr.io/acme/shop@sha256:1111111111111111111111111111111111111111111111111111111111111111";
const IMAGE_2: &str =
    "ghcr.io/acme/shop@sha256:2222222222222222222222222222222222222222222222222222222222222222";

#[test]
fn deploy_outputs_the_record_revision_url_and_whether_it_changed() {
    let workspace = Workspace::new();
    let first = deploy(&workspace, "staging", IMAGE_1);
    first.outcome.success();
    let outputs = &first.outputs;
    assert_eq!(outputs["status"], "deployed", "{outputs:?}");
    assert_eq!(outputs["changed"], "true");
    assert_eq!(outputs["revision"], workspace.environment_tip());
    assert_eq!(outputs["folder"], "staging/shop");
    assert!(outputs["record-id"].starts_with("sha256:"), "{outputs:?}");
    // The shop's route, on the host the embedded `dns` definition gives it.
    assert_eq!(outputs["environment-url"], "https://shop-dns.localhost/");
    let again = deploy(&workspace, "staging", IMAGE_1);
    again.outcome.success();
    assert_eq!(again.outputs["status"], "unchanged");
    assert_eq!(again.outputs["changed"], "false");
    assert_eq!(again.outputs["record-id"], outputs["record-id"]);
    assert_eq!(again.outputs["revision"], outputs["revision"]);
}

#[test]
fn promote_and_rollback_output_their_deployments() {
    let workspace = Workspace::new();
    deploy(&workspace, "staging", IMAGE_1).outcome.success();
    let staged = deploy(&workspace, "staging", IMAGE_2);
    staged.outcome.success();
    let promoted = Step {
        action: "promote",
        with: &[
            ("from", "staging"),
            ("to", "production"),
            ("platform", "platform"),
        ],
        env: KEY_ENV,
    }
    .run(&workspace.app());
    promoted.outcome.success();
    assert_eq!(promoted.outputs["status"], "deployed");
    assert_eq!(promoted.outputs["folder"], "production/shop");
    assert_eq!(promoted.outputs["revision"], workspace.environment_tip());
    assert_eq!(
        promoted.outputs["environment-url"],
        "https://shop-dns.localhost/"
    );
    let rolled = Step {
        action: "rollback",
        with: &[("environment", "staging"), ("platform", "platform")],
        env: KEY_ENV,
    }
    .run(&workspace.app());
    rolled.outcome.success();
    assert_eq!(rolled.outputs["changed"], "true");
    assert_ne!(rolled.outputs["record-id"], staged.outputs["record-id"]);
    assert_eq!(rolled.outputs["revision"], workspace.environment_tip());
    assert!(
        workspace
            .deployed()
            .contains("production/shop/kustomization.yaml")
    );
}

#[test]
fn destroy_removes_a_preview_and_says_so() {
    let workspace = Workspace::new();
    deploy(&workspace, "pr-7", IMAGE_1).outcome.success();
    assert!(workspace.deployed().contains("pr-7/shop/"));
    let destroy = |with: &[(&str, &str)]| {
        Step {
            action: "destroy",
            with,
            env: &[],
        }
        .run(&workspace.app())
    };
    let ran = destroy(&[("environment", "pr-7"), ("platform", "platform")]);
    ran.outcome.success();
    assert_eq!(ran.outputs["changed"], "true");
    assert_eq!(ran.outputs["removed"], "shop");
    assert!(
        !workspace.deployed().contains("pr-7/"),
        "{}",
        workspace.deployed()
    );
    // staging is no preview: refused unless the force input says "true"
    deploy(&workspace, "staging", IMAGE_1).outcome.success();
    destroy(&[("environment", "staging"), ("platform", "platform")])
        .outcome
        .fails(2);
    let forced = destroy(&[
        ("environment", "staging"),
        ("platform", "platform"),
        ("force", "true"),
    ]);
    forced.outcome.success();
    assert_eq!(forced.outputs["removed"], "shop");
}

/// The `setup` action's step, in bash as the runner runs a composite step, with `download-url`
/// pointing at a local server: `(exit code, stderr, GITHUB_PATH, GITHUB_OUTPUT)`.
fn setup(files: &Path, install: &Path) -> (Option<i32>, String, String, String) {
    let server = ScriptServer::start(
        "file_server.py",
        tempfile::tempdir().unwrap(),
        &[files.as_os_str()],
        &[],
        &[],
    );
    let action = action("setup");
    let step = &action["runs"]["steps"][0];
    assert_eq!(step["shell"], "bash");
    let runner = tempfile::tempdir().unwrap();
    let (path_file, output_file) = (runner.path().join("path"), runner.path().join("output"));
    let mut command = Command::new("bash");
    command
        .args(["--noprofile", "--norc", "-eo", "pipefail", "-c"])
        .arg(step["run"].as_str().unwrap())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap())
        .env("RUNNER_TEMP", runner.path())
        .env("RUNNER_TOOL_CACHE", runner.path())
        .env("GITHUB_PATH", &path_file)
        .env("GITHUB_OUTPUT", &output_file)
        .env("VERSION", env!("CARGO_PKG_VERSION"))
        .env("DOWNLOAD_URL", format!("http://127.0.0.1:{}", server.port))
        .env("INSTALL_DIR", install);
    for (name, value) in step["env"].as_object().unwrap() {
        let value = value.as_str().unwrap();
        assert!(
            value.starts_with("${{ inputs."),
            "setup's step env `{name}` is an input"
        );
    }
    let out = command.output().unwrap();
    let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
    (
        out.status.code(),
        text(&out.stderr) + &text(&out.stdout),
        read(&path_file),
        read(&output_file),
    )
}

#[test]
fn setup_installs_a_release_whose_checksum_matches_and_nothing_else() {
    let release = tempfile::tempdir().unwrap();
    let version = env!("CARGO_PKG_VERSION");
    let folder = release.path().join(format!("v{version}"));
    std::fs::create_dir_all(&folder).unwrap();
    let archive = format!(
        "scoreline-{version}-{}-unknown-linux-gnu.tar.gz",
        std::env::consts::ARCH
    );
    let staging = tempfile::tempdir().unwrap();
    std::fs::copy(scoreline(), staging.path().join("scoreline")).unwrap();
    let tar = tool("tar")
        .arg("-czf")
        .arg(folder.join(&archive))
        .arg("-C")
        .arg(staging.path())
        .arg("scoreline")
        .output()
        .unwrap();
    assert!(tar.status.success());
    let sum = tool("sha256sum")
        .arg(&archive)
        .current_dir(&folder)
        .output()
        .unwrap();
    let sums = text(&sum.stdout);
    std::fs::write(
        folder.join("SHA256SUMS"),
        format!("{}0000  scoreline-{version}-other.tar.gz\n", &sums[..60]) + &sums,
    )
    .unwrap();

    let install = tempfile::tempdir().unwrap();
    let dir = install.path().join("bin");
    let (code, log, path, output) = setup(release.path(), &dir);
    assert_eq!(code, Some(0), "{log}");
    assert!(log.contains(&format!("scoreline {version}")), "{log}");
    assert_eq!(path.trim(), dir.display().to_string());
    assert_eq!(output.trim(), format!("path={}/scoreline", dir.display()));

    // A tampered archive: refused, nothing installed.
    std::fs::write(
        folder.join("SHA256SUMS"),
        sums.replacen(&sums[..8], "00000000", 1),
    )
    .unwrap();
    let other = install.path().join("other");
    let (code, log, path, _) = setup(release.path(), &other);
    assert_eq!(code, Some(1), "{log}");
    assert!(
        log.contains("::error::") && log.contains("not installed"),
        "{log}"
    );
    assert!(!other.exists() && path.is_empty());
}
