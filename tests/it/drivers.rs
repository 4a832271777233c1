//! Resource drivers through `scoreline render`, with platform folders written by each test:
//! static values from CI variables, derived secrets and the platform key, `cmd` programs, template
//! errors, and definitions that do not match or tie.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::support::{Cli, object, secret_value, secret_values, write_files};

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

/// A platform key (32 bytes or more, as keys must be).
const KEY: &str = "platform-key-for-the-driver-tests";

/// `render` of the project in `dir` for `env`, with the platform key KEY.
fn render(dir: &Path, env: &str) -> Cli {
    Cli::new(["render", "--platform", "platform", "--env", env])
        .dir(dir)
        .env("SCORELINE_KEY", KEY)
}

/// `render` as by `render`, without the platform key.
fn keyless_render(dir: &Path, env: &str) -> Cli {
    render(dir, env).env_remove("SCORELINE_KEY")
}

fn password(dir: &Path) -> String {
    secret_value(
        &object(&dir.join("manifests"), "Secret", "app-secrets"),
        "main.PASSWORD",
    )
}

/// A project whose postgres is a static definition reading `DB_PASSWORD`.
fn static_project() -> tempfile::TempDir {
    project(&[(
        "pg.yaml",
        &definition(
            "managed",
            "  driver: echo\n  criteria: [{}]\n  outputs:\n    host: db.internal\n  secrets:\n    password: \"${env.DB_PASSWORD}\"\n",
        ),
    )])
}

#[test]
fn static_definitions_name_the_missing_ci_variable() {
    let dir = static_project();
    let missing = render(dir.path(), "prod")
        .env_remove("DB_PASSWORD")
        .run()
        .fails(2);
    missing.stderr_has("platform/resources/pg.yaml:12:16: error: definition `managed` (for resource `db` of workload `app`) reads environment variable `DB_PASSWORD`, which is not set");
}

#[test]
fn static_definitions_read_ci_variables() {
    let dir = static_project();
    render(dir.path(), "prod")
        .env("DB_PASSWORD", "from-the-secret-store")
        .run()
        .success();
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
    let dir = static_project();
    let digests = |key: &str| {
        let out = render(dir.path(), "prod")
            .env("DB_PASSWORD", "guessable")
            .env("SCORELINE_KEY", key)
            .args(["--output", "json"])
            .run()
            .success();
        let result: serde_json::Value = out.json();
        let deployment = object(&dir.path().join("manifests"), "Deployment", "app");
        let hash =
            deployment["spec"]["template"]["metadata"]["annotations"]["scoreline.dev/config-hash"]
                .as_str()
                .unwrap()
                .to_owned();
        (hash, result["digest"].as_str().unwrap().to_owned())
    };
    let first = digests("platform-key-one-0123456789abcdef");
    assert_eq!(
        first,
        digests("platform-key-one-0123456789abcdef"),
        "stable for one key"
    );
    let other = digests("platform-key-two-0123456789abcdef");
    assert_ne!(first.0, other.0, "the config hash is keyed");
    assert_ne!(first.1, other.1, "the render id is keyed");
}

/// A project whose postgres password is derived from the platform key.
fn derived_project() -> tempfile::TempDir {
    let template = "  driver: template\n  criteria: [{}]\n  template:\n    outputs: |\n      host: db\n    secrets: |\n      password: {{ derive(\"password\") | tojson }}\n";
    project(&[("pg.yaml", &definition("derived", template))])
}

#[test]
fn derived_secrets_need_the_platform_key_outside_development() {
    let dir = derived_project();
    // Refused before any definition runs: whatever it renders is keyed.
    let refused = keyless_render(dir.path(), "prod").run().fails(3);
    refused.stderr_has("platform/environments.yaml:5:11: error: SCORELINE_KEY is not set: environment `prod` (type `production`)");
    refused.stderr_has("help: set it from the CI secret store");
    assert!(!dir.path().join("manifests").exists());
}

/// Development may use the public key, with a warning.
#[test]
fn derived_secrets_in_development_use_the_public_key_with_a_warning() {
    let dir = derived_project();
    let dev = keyless_render(dir.path(), "dev").run().success();
    assert!(dev.stderr.contains("warning: SCORELINE_KEY is not set"));
}

#[test]
fn derived_secrets_are_stable_for_one_platform_key_and_differ_for_another() {
    let dir = derived_project();
    let with_key = |key: &str| {
        let out = render(dir.path(), "prod")
            .env("SCORELINE_KEY", key)
            .run()
            .success();
        assert!(!out.stderr.contains("SCORELINE_KEY is not set"));
        password(dir.path())
    };
    let first = with_key("key-one-0123456789abcdef0123456789");
    assert_eq!(
        first,
        with_key("key-one-0123456789abcdef0123456789"),
        "stable with no state store"
    );
    assert_ne!(first, with_key("key-two-0123456789abcdef0123456789"));
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
    render(dir.path(), "dev").run().success();
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
    // A runtime failure.
    let out = render(dir.path(), "dev").run().fails(1);
    let stderr = &out.stderr;
    out.stderr_has("error: definition `provisioned` (cmd, for resource `db` of workload `app`): `");
    out.stderr_has("exited with exit status: 3");
    out.stderr_has("quota exceeded")
        .stderr_has("connecting with token ••••••");
    assert!(!stderr.contains("tok-SECRET-4711"), "{stderr}");
}

#[test]
fn a_cmd_program_must_answer_json() {
    let garbage = render(cmd_project("garbage", "30s").path(), "dev")
        .run()
        .fails(1);
    garbage.stderr_has("printed output that is not JSON");
}

#[test]
fn a_cmd_program_must_answer_in_time() {
    let started = Instant::now();
    let slow = render(cmd_project("slow", "1s").path(), "dev")
        .run()
        .fails(1);
    slow.stderr_has("did not finish within 1s");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "the program is stopped, not waited for"
    );
}

#[test]
fn template_errors_point_into_the_template() {
    let template = "  driver: template\n  criteria: [{}]\n  template:\n    outputs: |\n      host: db\n      port: {{ resource.params.port }}\n";
    let dir = project(&[("pg.yaml", &definition("broken", template))]);
    let out = render(dir.path(), "dev").run().fails(2);
    out.stderr_has("platform/resources/pg.yaml:12:16: error: template `outputs` of definition `broken` (for resource `db` of workload `app`): undefined value: `resource.params.port` is undefined");
}

/// A manifests template that renders broken YAML on a Secret's line: the error says where
/// in the template, but never shows the rendered line that holds the secret.
#[test]
fn broken_rendered_manifests_never_show_their_secret_lines() {
    let template = "  driver: template\n  criteria: [{}]\n  template:\n    outputs: |\n      host: db\n    secrets: |\n      password: {{ env(\"DB_PASSWORD\") | tojson }}\n    manifests: |\n      - apiVersion: v1\n        kind: Secret\n        metadata: {name: db}\n        stringData:\n          password: \"{{ env(\"DB_PASSWORD\") }}\n";
    let dir = project(&[("pg.yaml", &definition("leaky", template))]);
    let out = render(dir.path(), "dev")
        .env("DB_PASSWORD", "hunter2-s3cret")
        .run()
        .fails(2);
    let stderr = &out.stderr;
    out.stderr_has("template `manifests` of definition `leaky`")
        .stderr_has("rendered invalid YAML");
    assert!(!stderr.contains("hunter2-s3cret"), "{stderr}");
    assert!(!out.stdout.contains("hunter2-s3cret"));
}

/// An echo definition of postgres: `name`, with `criteria` (YAML lines) and host `host`.
fn echo(name: &str, criteria: &str, host: &str) -> String {
    definition(
        name,
        &format!("  driver: echo\n  criteria:\n{criteria}  outputs: {{host: {host}}}\n"),
    )
}

#[test]
fn no_match_is_located_at_the_resource_and_lists_why_each_definition_lost() {
    let dir = project(&[
        (
            "a.yaml",
            &echo("only-prod", "    - env_type: production\n", "a"),
        ),
        ("b.yaml", &echo("large-class", "    - class: large\n", "b")),
    ]);
    let out = render(dir.path(), "dev").run().fails(2);
    out.stderr_has("score.yaml:11:3: error: no resource definition matches postgres (class default, id app.db) in environment `dev` (type development)");
    out.stderr_has("`only-prod` (platform/resources/a.yaml:4): rule 1 {env_type: production}: env_type is `development`, not `production`");
    out.stderr_has("`large-class` (platform/resources/b.yaml:4): rule 1 {class: large}: class is `default`, not `large`");
}

#[test]
fn a_tie_names_both_definitions() {
    let tie = project(&[
        ("a.yaml", &echo("first", "    - env: dev\n", "a")),
        ("b.yaml", &echo("second", "    - env: dev\n", "b")),
    ]);
    let out = render(tie.path(), "dev").run().fails(2);
    out.stderr_has("resource definitions `first` (platform/resources/a.yaml:4) and `second` (platform/resources/b.yaml:4) tie for postgres");
}

/// `resources explain` of the shop on the example platform in `env`, with `extra` flags.
fn explain(env: &str, extra: &[&str]) -> Cli {
    Cli::new([
        "resources",
        "explain",
        "-f",
        "examples/shop/score.yaml",
        "--platform",
        "examples/platform",
        "--env",
        env,
    ])
    .args(extra)
}

#[test]
fn explain_shows_the_winner_and_why_the_others_lost() {
    let out = explain("staging", &[]).run().success();
    out.stderr_has("shop / db: postgres (class default, id shop.db)");
    out.stderr_has("✔ postgres-staging-shared (examples/platform/resources/postgres.yaml:");
    out.stderr_has("selected by rule 1 {env: staging, res_id: shop.db} [res_id + env]");
    out.stderr_has("· postgres-in-cluster (examples/platform/resources/postgres.yaml:8): matches by rule 2 {env_type: staging} [env_type], but a more specific definition wins");
    out.stderr_has("· postgres-managed (examples/platform/resources/postgres.yaml:");
}

#[test]
fn explain_as_json_marks_the_selected_definition() {
    let report: serde_json::Value = explain("production", &["--output", "json"]).run().json();
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

/// `--app` names the app that criteria `{app: …}` match (default: the first workload's name).
#[test]
fn explain_with_app_selects_the_definitions_for_that_app() {
    let dir = tempfile::tempdir().unwrap();
    write_files(
        dir.path(),
        &[
            (
                "score.yaml",
                "apiVersion: score.dev/v1b1\nmetadata: {name: web}\ncontainers: {main: {image: busybox}}\nresources:\n  cache: {type: redis}\n",
            ),
            (
                "platform/environments.yaml",
                "environments:\n  - {name: development, type: development, namespace: dev}\n",
            ),
            (
                "platform/resources/redis.yaml",
                "apiVersion: scoreline.dev/v1\nkind: ResourceDefinition\nmetadata: {name: shared-redis}\nspec:\n  type: redis\n  driver: static\n  criteria: [{}]\n  outputs: {host: shared}\n---\napiVersion: scoreline.dev/v1\nkind: ResourceDefinition\nmetadata: {name: billing-redis}\nspec:\n  type: redis\n  driver: static\n  criteria: [{app: billing}]\n  outputs: {host: billing}\n",
            ),
        ],
    );
    let explain = |extra: &[&str]| {
        Cli::new(["resources", "explain", "--platform", "platform"])
            .args(extra)
            .dir(dir.path())
            .run()
            .success()
    };
    let default = explain(&[]);
    default.stderr_has("✔ shared-redis");
    default.stderr_has("· billing-redis");
    let billing = explain(&["--app", "billing"]);
    billing.stderr_has("✔ billing-redis");
    billing.stderr_has("selected by rule 1 {app: billing} [app]");
    billing.stderr_has("· shared-redis");
}
