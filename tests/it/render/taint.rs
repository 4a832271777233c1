//! What an adversarial review did with a Score file alone, each now refused or masked: a secret
//! routed through resource params into an error message, an Ingress host, an HTTPRoute, a PVC
//! size, or a volume source.

use super::render_in;
use crate::support::{Cli, Outcome, object, secret_value};

const KEY: &str = "taint-test-platform-key-0123456789abcdef";

/// A workload `shop` with a postgres `db` and whatever `extra` adds (YAML under `resources:`,
/// indented by four spaces, and under the container's `web:`).
fn shop(resources: &str, container: &str) -> String {
    format!(
        "apiVersion: score.dev/v1b1\nmetadata:\n  name: shop\ncontainers:\n  web:\n    image: nginx\n{container}service:\n  ports:\n    www: {{port: 80, targetPort: 8080}}\nresources:\n  db:\n    type: postgres\n{resources}"
    )
}

/// The password the embedded postgres definition derives for `shop`'s `db` under `KEY`.
fn password() -> String {
    let dir = tempfile::tempdir().unwrap();
    run(
        dir.path(),
        &shop("", "    variables:\n      DB: ${resources.db.password}\n"),
        &[],
    )
    .success();
    secret_value(
        &object(&dir.path().join("manifests"), "Secret", "pg-shop-db"),
        "password",
    )
}

fn run(dir: &std::path::Path, score: &str, extra: &[(&str, &str)]) -> Outcome {
    let mut cli: Cli = render_in(dir, &[("score.yaml", score)])
        .env("SCORELINE_KEY", KEY)
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_WORKSPACE", dir);
    for (k, v) in extra {
        cli = cli.env(k, v);
    }
    cli.run()
}

/// No line of stdout or stderr shows the password, other than the one that asks to mask it; and
/// that one comes before any error that could name it.
fn assert_masked(out: &Outcome, password: &str) {
    for stream in [&out.stdout, &out.stderr] {
        for line in stream.lines() {
            assert!(
                line == format!("::add-mask::{password}") || !line.contains(password),
                "shown: {line}\n--- stdout\n{}\n--- stderr\n{}",
                out.stdout,
                out.stderr
            );
        }
    }
    // On stderr (stdout carries data), before the first error there.
    let mask = out
        .stderr
        .lines()
        .position(|l| l == format!("::add-mask::{password}"))
        .expect("GitHub is told to mask the password, even though the run fails");
    let first_error = out.stderr.lines().position(|l| l.contains("error:"));
    assert!(first_error.is_none_or(|e| mask < e), "{}", out.stderr);
}

#[test]
fn a_secret_in_a_param_that_a_definition_fails_on_is_masked_in_the_error() {
    let password = password();
    let dir = tempfile::tempdir().unwrap();
    let route = "  route:\n    type: route\n    params:\n      host: shop.example.com\n      path: ${resources.db.password}\n      port: www\n";
    let out = run(dir.path(), &shop(route, ""), &[]).fails(2);
    out.stderr_has("params.path must start with /, got ••••••");
    assert_masked(&out, &password);
    let json = render_in(dir.path(), &[])
        .args(["--output", "json"])
        .env("SCORELINE_KEY", KEY)
        .run()
        .fails(2);
    assert!(json.stdout.contains("got ••••••") && !json.stdout.contains(&password));
}

#[test]
fn a_secret_as_a_service_port_is_masked_in_the_error() {
    let password = password();
    let dir = tempfile::tempdir().unwrap();
    let route = "  route:\n    type: route\n    params:\n      host: shop.example.com\n      path: /\n      port: ${resources.db.password}\n";
    let out = run(dir.path(), &shop(route, ""), &[]).fails(2);
    out.stderr_has("has no service port `••••••`");
    assert_masked(&out, &password);
}

#[test]
fn a_secret_in_a_route_host_is_refused_naming_the_field_and_its_origin() {
    let password = password();
    let dir = tempfile::tempdir().unwrap();
    let route = "  route:\n    type: route\n    params:\n      host: ${resources.db.password}.example.com\n      path: /\n      port: www\n";
    let out = run(dir.path(), &shop(route, ""), &[]).fails(3);
    out.stderr_has("into Ingress `route-shop-route` field `spec.rules.0.host`");
    out.stderr_has("${resources.db.password} of workload `shop`");
    assert_masked(&out, &password);
    assert!(
        !dir.path().join("manifests").exists(),
        "nothing is written when a render is refused"
    );
}

#[test]
fn a_secret_in_a_route_path_is_refused_even_through_a_filter() {
    let dir = tempfile::tempdir().unwrap();
    // `| upper` changes the value: only taint tracking, not a search for the value, sees it.
    let platform = "platform/resources/route.yaml";
    let definition = "apiVersion: scoreline.dev/v1\nkind: ResourceDefinition\nmetadata:\n  name: shouting-route\nspec:\n  type: route\n  driver: template\n  criteria: [{}]\n  template:\n    manifests: |\n      - apiVersion: networking.k8s.io/v1\n        kind: Ingress\n        metadata:\n          name: {{ (\"route-\" ~ resource.slug) | tojson }}\n        spec:\n          rules:\n          - host: {{ resource.params.host | upper | tojson }}\n";
    let route = "  route:\n    type: route\n    params:\n      host: ${resources.db.password}\n";
    crate::support::write_files(
        dir.path(),
        &[
            (
                "platform/environments.yaml",
                "environments:\n  - name: development\n    type: development\n    namespace: dev\n",
            ),
            (platform, definition),
            ("platform/resources/postgres.yaml", &embedded_postgres()),
        ],
    );
    let out = render_in(dir.path(), &[("score.yaml", &shop(route, ""))])
        .args(["--platform", "platform"])
        .env("SCORELINE_KEY", KEY)
        .run()
        .fails(3);
    out.stderr_has("definition `shouting-route`");
    out.stderr_has("field `spec.rules.0.host`");
}

#[test]
fn a_secret_as_a_volume_size_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let volume = "  data:\n    type: volume\n    params:\n      size: ${resources.db.password}\n";
    let container = "    volumes:\n      /data:\n        source: ${resources.data}\n";
    let out = run(dir.path(), &shop(volume, container), &[]).fails(3);
    out.stderr_has("PersistentVolumeClaim");
    out.stderr_has("field `spec.resources.requests.storage`");
}

#[test]
fn a_secret_in_an_httproute_hostname_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    crate::support::write_files(
        dir.path(),
        &[(
            "platform/environments.yaml",
            "environments:\n  - name: development\n    type: development\n    namespace: dev\n    values: {routes: gateway-api}\n",
        )],
    );
    export_embedded(dir.path());
    let route = "  route:\n    type: route\n    params:\n      host: ${resources.db.password}.example.com\n      path: /\n      port: www\n";
    let out = render_in(dir.path(), &[("score.yaml", &shop(route, ""))])
        .args(["--platform", "platform"])
        .env("SCORELINE_KEY", KEY)
        .run()
        .fails(3);
    out.stderr_has("into HTTPRoute `route-shop-route` field `spec.hostnames.0`");
}

/// The embedded baseline's resource definitions, exported beside a custom environments.yaml.
fn export_embedded(dir: &std::path::Path) {
    let exported = dir.join("exported");
    Cli::new(["baseline", "export"])
        .arg(&exported)
        .run()
        .success();
    std::fs::rename(exported.join("resources"), dir.join("platform/resources")).unwrap();
}

fn embedded_postgres() -> String {
    let dir = tempfile::tempdir().unwrap();
    let exported = dir.path().join("b");
    Cli::new(["baseline", "export"])
        .arg(&exported)
        .run()
        .success();
    std::fs::read_to_string(exported.join("resources/postgres.yaml")).unwrap()
}
