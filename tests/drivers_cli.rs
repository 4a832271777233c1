//! Resource drivers through `scoreline render`, with platform folders written by each test:
//! static values from CI variables, derived secrets and the platform key, `cmd` programs, template
//! errors, and definitions that do not match or tie.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{object, run, scoreline, secret_values, text, write_files};

const ENVIRONMENTS: &str = "environments:\n  - name: dev\n    type: development\n    namespace: dev\n  - name: prod\n    type: production\n    namespace: prod\n";
const APP: &str = "apiVersion: score.dev/v1b1\nmetadata:\n  name: app\ncontainers:\n  main:\n    image: nginx\n    variables:\n      HOST: ${resources.db.host}\n      PASSWORD: ${resources.db.password}\nresources:\n  db:\n    type: postgres\n";

fn definition(name: &str, spec: &str) -> String {
    format!(
        "apiVersion: scoreline.dev/v1\nkind: ResourceDefinition\nmetadata:\n  name: {name}\nspec:\n  type: postgres\n{spec}"
    )
}

/// A folder with score.yaml and platform/ (environments plus the given resource files).
fn project(resources: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write_files(
        dir.path(),
        &[
            ("score.yaml", APP),
            ("platform/environments.yaml", ENVIRONMENTS),
        ],
    );
    for (file, content) in resources {
        write_files(&dir.path().join("platform/resources"), &[(file, content)]);
    }
    dir
}

fn render(dir: &Path, env: &str) -> std::process::Command {
    let mut cmd = scoreline();
    cmd.current_dir(dir)
        .args(["render", "--platform", "platform", "--env", env])
        .env_remove("SCORELINE_KEY");
    cmd
}

fn password(dir: &Path) -> String {
    let secrets = secret_values(&object(&dir.join("manifests"), "Secret", "app-secrets"));
    secrets
        .into_iter()
        .find(|(k, _)| k == "main.PASSWORD")
        .unwrap()
        .1
}

#[test]
fn static_definitions_read_ci_variables_and_name_the_missing_one() {
    let dir = project(&[(
        "pg.yaml",
        &definition(
            "managed",
            "  driver: echo\n  criteria: [{}]\n  outputs:\n    host: db.internal\n  secrets:\n    password: \"${env.DB_PASSWORD}\"\n",
        ),
    )]);
    let missing = run(render(dir.path(), "prod").env_remove("DB_PASSWORD"));
    assert_eq!(missing.status.code(), Some(2));
    let stderr = text(&missing.stderr);
    assert!(stderr.contains("platform/resources/pg.yaml:12:16: error: definition `managed` (for resource `db` of workload `app`) reads environment variable `DB_PASSWORD`, which is not set"), "{stderr}");

    let out = run(render(dir.path(), "prod").env("DB_PASSWORD", "from-the-secret-store"));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(password(dir.path()), "from-the-secret-store");
    let deployment = object(&dir.path().join("manifests"), "Deployment", "app");
    assert_eq!(
        deployment["spec"]["template"]["spec"]["containers"][0]["env"][0]["value"],
        "db.internal"
    );
}

/// The pod's config hash and the render's id cover secret values and are written where the
/// Secrets are not (a Deployment, the output marker, a deployment record): keyed by the platform
/// key, they cannot confirm a guessed password offline, yet stay stable for one key.
#[test]
fn digests_over_secret_values_are_keyed_by_the_platform_key() {
    let dir = project(&[(
        "pg.yaml",
        &definition(
            "managed",
            "  driver: echo\n  criteria: [{}]\n  outputs:\n    host: db.internal\n  secrets:\n    password: \"${env.DB_PASSWORD}\"\n",
        ),
    )]);
    let digests = |key: &str| {
        let out = run(render(dir.path(), "prod")
            .env("DB_PASSWORD", "guessable")
            .env("SCORELINE_KEY", key)
            .args(["--output", "json"]));
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let result: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let deployment = object(&dir.path().join("manifests"), "Deployment", "app");
        let hash =
            deployment["spec"]["template"]["metadata"]["annotations"]["scoreline.dev/config-hash"]
                .as_str()
                .unwrap()
                .to_owned();
        (hash, result["digest"].as_str().unwrap().to_owned())
    };
    let first = digests("platform-key-one");
    assert_eq!(first, digests("platform-key-one"), "stable for one key");
    let other = digests("platform-key-two");
    assert_ne!(first.0, other.0, "the config hash is keyed");
    assert_ne!(first.1, other.1, "the render id is keyed");
}

#[test]
fn derived_secrets_need_the_platform_key_outside_development() {
    let template = "  driver: template\n  criteria: [{}]\n  template:\n    outputs: |\n      host: db\n    secrets: |\n      password: {{ derive(\"password\") | tojson }}\n";
    let dir = project(&[("pg.yaml", &definition("derived", template))]);
    let refused = run(&mut render(dir.path(), "prod"));
    assert_eq!(refused.status.code(), Some(3), "{}", text(&refused.stderr));
    let stderr = text(&refused.stderr);
    assert!(stderr.contains("platform/resources/pg.yaml:13:20: error: template `secrets` of definition `derived` (for resource `db` of workload `app`): invalid operation: derive(\"password\") needs the platform key"), "{stderr}");
    assert!(
        stderr.contains("help: set SCORELINE_KEY from the CI secret store"),
        "{stderr}"
    );
    assert!(!dir.path().join("manifests").exists());

    // Development may use the public key, with a warning.
    let dev = run(&mut render(dir.path(), "dev"));
    assert_eq!(dev.status.code(), Some(0));
    assert!(text(&dev.stderr).contains("warning: SCORELINE_KEY is not set"));

    let with_key = |key: &str| {
        let out = run(render(dir.path(), "prod").env("SCORELINE_KEY", key));
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        assert!(!text(&out.stderr).contains("SCORELINE_KEY is not set"));
        password(dir.path())
    };
    let first = with_key("key-one");
    assert_eq!(first, with_key("key-one"), "stable with no state store");
    assert_ne!(first, with_key("key-two"));
    assert_eq!(first.len(), 24);
}

const PROVISION: &str = r#"#!/usr/bin/env python3
import json, sys, time
request = json.load(sys.stdin)
resource, context = request["resource"], request["context"]
mode = resource["params"].get("mode", "ok")
if mode == "fail":
    print("connecting with token " + resource["params"]["token"], file=sys.stderr)
    print("quota exceeded", file=sys.stderr)
    sys.exit(3)
if mode == "garbage":
    print("not json")
    sys.exit(0)
if mode == "slow":
    time.sleep(30)
print(json.dumps({
    "outputs": {"host": "db-" + resource["slug"] + "." + context["environment"]["name"]},
    "secrets": {"password": "pw-" + context["app"]},
    "manifests": [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "provisioned-" + resource["slug"]}, "data": {"size": resource["params"].get("size", "small")}}],
}))
"#;

fn cmd_project(mode: &str, timeout: &str) -> tempfile::TempDir {
    let app = format!(
        "apiVersion: score.dev/v1b1\nmetadata:\n  name: app\ncontainers:\n  main:\n    image: nginx\n    variables:\n      HOST: ${{resources.db.host}}\n      PASSWORD: ${{resources.db.password}}\nresources:\n  token:\n    type: api-token\n  db:\n    type: postgres\n    params:\n      mode: {mode}\n      size: large\n      token: ${{resources.token.value}}\n"
    );
    let dir = project(&[
        (
            "pg.yaml",
            &definition(
                "provisioned",
                &format!(
                    "  driver: cmd\n  criteria: [{{}}]\n  command: [python3, bin/provision.py]\n  timeout: {timeout}\n"
                ),
            ),
        ),
        (
            "token.yaml",
            "apiVersion: scoreline.dev/v1\nkind: ResourceDefinition\nmetadata:\n  name: token\nspec:\n  type: api-token\n  driver: static\n  criteria: [{}]\n  secrets:\n    value: tok-SECRET-4711\n",
        ),
    ]);
    write_files(
        dir.path(),
        &[
            ("score.yaml", &app),
            ("platform/bin/provision.py", PROVISION),
        ],
    );
    dir
}

#[test]
fn cmd_programs_speak_json() {
    let dir = cmd_project("ok", "30s");
    let out = run(&mut render(dir.path(), "dev"));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let m = dir.path().join("manifests");
    let secrets = secret_values(&object(&m, "Secret", "app-secrets"));
    assert!(
        secrets.contains(&("main.HOST".to_owned(), "db-app-db.dev".to_owned())),
        "{secrets:?}"
    );
    assert_eq!(password(dir.path()), "pw-app");
    // The program was given a secret (the token, in its params), so all its outputs are secret.
    let env =
        object(&m, "Deployment", "app")["spec"]["template"]["spec"]["containers"][0]["env"].clone();
    assert_eq!(env[0]["valueFrom"]["secretKeyRef"]["key"], "main.HOST");
    assert_eq!(
        object(&m, "ConfigMap", "provisioned-app-db")["data"]["size"],
        "large"
    );
}

#[test]
fn a_failing_cmd_program_shows_its_stderr_without_the_secrets_it_was_given() {
    let dir = cmd_project("fail", "30s");
    let out = run(&mut render(dir.path(), "dev"));
    assert_eq!(out.status.code(), Some(1), "runtime failure");
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(
            "error: definition `provisioned` (cmd, for resource `db` of workload `app`): `"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("exited with exit status: 3"), "{stderr}");
    assert!(
        stderr.contains("quota exceeded") && stderr.contains("connecting with token ••••••"),
        "{stderr}"
    );
    assert!(!stderr.contains("tok-SECRET-4711"), "{stderr}");
}

#[test]
fn cmd_programs_must_answer_json_in_time() {
    let garbage = run(&mut render(cmd_project("garbage", "30s").path(), "dev"));
    assert_eq!(garbage.status.code(), Some(1));
    assert!(
        text(&garbage.stderr).contains("printed output that is not JSON"),
        "{}",
        text(&garbage.stderr)
    );

    let started = Instant::now();
    let slow = run(&mut render(cmd_project("slow", "1s").path(), "dev"));
    assert_eq!(slow.status.code(), Some(1));
    assert!(
        text(&slow.stderr).contains("did not finish within 1s"),
        "{}",
        text(&slow.stderr)
    );
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "the program is stopped, not waited for"
    );
}

#[test]
fn template_errors_point_into_the_template() {
    let template = "  driver: template\n  criteria: [{}]\n  template:\n    outputs: |\n      host: db\n      port: {{ resource.params.port }}\n";
    let dir = project(&[("pg.yaml", &definition("broken", template))]);
    let out = run(&mut render(dir.path(), "dev"));
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("platform/resources/pg.yaml:12:16: error: template `outputs` of definition `broken` (for resource `db` of workload `app`): undefined value: `resource.params.port` is undefined"), "{stderr}");
}

/// A manifests template that renders broken YAML on a Secret's line: the error says where
/// in the template, but never shows the rendered line that holds the secret.
#[test]
fn broken_rendered_manifests_never_show_their_secret_lines() {
    let template = "  driver: template\n  criteria: [{}]\n  template:\n    outputs: |\n      host: db\n    secrets: |\n      password: {{ env(\"DB_PASSWORD\") | tojson }}\n    manifests: |\n      - apiVersion: v1\n        kind: Secret\n        metadata: {name: db}\n        stringData:\n          password: \"{{ env(\"DB_PASSWORD\") }}\n";
    let dir = project(&[("pg.yaml", &definition("leaky", template))]);
    let out = run(render(dir.path(), "dev").env("DB_PASSWORD", "hunter2-s3cret"));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("template `manifests` of definition `leaky`")
            && stderr.contains("rendered invalid YAML"),
        "{stderr}"
    );
    assert!(!stderr.contains("hunter2-s3cret"), "{stderr}");
    assert!(!text(&out.stdout).contains("hunter2-s3cret"));
}

#[test]
fn no_match_and_ties_are_located_at_the_resource_and_list_the_definitions() {
    let dir = project(&[
        (
            "a.yaml",
            &definition(
                "only-prod",
                "  driver: echo\n  criteria:\n    - env_type: production\n  outputs: {host: a}\n",
            ),
        ),
        (
            "b.yaml",
            &definition(
                "large-class",
                "  driver: echo\n  criteria:\n    - class: large\n  outputs: {host: b}\n",
            ),
        ),
    ]);
    let out = run(&mut render(dir.path(), "dev"));
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("score.yaml:11:3: error: no resource definition matches postgres (class default, id app.db) in environment `dev` (type development)"), "{stderr}");
    assert!(stderr.contains("`only-prod` (platform/resources/a.yaml:4): rule 1 {env_type: production}: env_type is `development`, not `production`"), "{stderr}");
    assert!(stderr.contains("`large-class` (platform/resources/b.yaml:4): rule 1 {class: large}: class is `default`, not `large`"), "{stderr}");

    let tie = project(&[
        (
            "a.yaml",
            &definition(
                "first",
                "  driver: echo\n  criteria:\n    - env: dev\n  outputs: {host: a}\n",
            ),
        ),
        (
            "b.yaml",
            &definition(
                "second",
                "  driver: echo\n  criteria:\n    - env: dev\n  outputs: {host: b}\n",
            ),
        ),
    ]);
    let out = run(&mut render(tie.path(), "dev"));
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("resource definitions `first` (platform/resources/a.yaml:4) and `second` (platform/resources/b.yaml:4) tie for postgres"), "{}", text(&out.stderr));
}

#[test]
fn explain_shows_the_winner_and_why_the_others_lost() {
    let out = run(scoreline().args([
        "resources",
        "explain",
        "-f",
        "examples/shop/score.yaml",
        "--platform",
        "examples/platform",
        "--env",
        "staging",
    ]));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("shop / db: postgres (class default, id shop.db)"),
        "{stderr}"
    );
    assert!(
        stderr.contains("✔ postgres-staging-shared (examples/platform/resources/postgres.yaml:"),
        "{stderr}"
    );
    assert!(
        stderr.contains("selected by rule 1 {env: staging, res_id: shop.db} [res_id + env]"),
        "{stderr}"
    );
    assert!(stderr.contains("· postgres-in-cluster (examples/platform/resources/postgres.yaml:6): matches by rule 2 {env_type: staging} [env_type], but a more specific definition wins"), "{stderr}");
    assert!(
        stderr.contains("· postgres-managed (examples/platform/resources/postgres.yaml:"),
        "{stderr}"
    );

    let json = run(scoreline().args([
        "resources",
        "explain",
        "-f",
        "examples/shop/score.yaml",
        "--platform",
        "examples/platform",
        "--env",
        "production",
        "--output",
        "json",
    ]));
    let report: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let db = report["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["resource"] == "db")
        .unwrap();
    let selected: Vec<&str> = db["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["result"]["verdict"] == "selected")
        .map(|c| c["definition"].as_str().unwrap())
        .collect();
    assert_eq!(selected, vec!["postgres-managed"]);
}
