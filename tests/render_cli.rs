//! `scoreline render` as users run it: sharing, dependency order, cycles, secrets, determinism,
//! atomic output, image overrides and located errors.

mod common;

use std::path::Path;

use common::{
    object, objects, repo_root, run, scoreline, secret_values, snapshot, text, write_files,
};
use serde_json::Value;

const SHOP: &str = "examples/shop/score.yaml";

fn render(dir: &Path, files: &[&str], extra: &[&str]) -> std::process::Output {
    let mut cmd = scoreline();
    cmd.arg("render").args(extra).arg("--out").arg(dir);
    for f in files {
        cmd.arg("-f").arg(f);
    }
    run(&mut cmd)
}

fn ok(out: &std::process::Output) {
    assert_eq!(out.status.code(), Some(0), "stderr:\n{}", text(&out.stderr));
}

#[test]
fn shared_resources_are_provisioned_once() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m");
    let examples = common::anchors().join("score/score-compose/examples/06-resource-provisioning");
    let one = examples.join("score.yaml");
    let two = examples.join("score2.yaml");
    ok(&render(
        &out,
        &[one.to_str().unwrap(), two.to_str().unwrap()],
        &["--app", "caches"],
    ));
    let statefulsets: Vec<String> = objects(&out)
        .into_iter()
        .filter(|(_, o)| o["kind"] == "StatefulSet")
        .map(|(_, o)| o["metadata"]["name"].as_str().unwrap().to_owned())
        .collect();
    // main-cache is declared by both workloads (same id): one instance; cache-c is workload-two's own.
    assert_eq!(
        statefulsets,
        vec!["redis-main-cache", "redis-workload-two-cache-c"]
    );
    let host_of = |workload: &str, var: &str| {
        let secret = object(&out, "Secret", &format!("{workload}-secrets"));
        secret_values(&secret)
            .into_iter()
            .find(|(k, _)| k.ends_with(var))
            .unwrap()
            .1
    };
    assert!(host_of("workload-one", "CONNECTION").contains("@redis-main-cache:6379"));
    assert!(host_of("workload-two", "CONNECTION_A").contains("@redis-main-cache:6379"));
    assert!(host_of("workload-two", "CONNECTION_B").contains("@redis-workload-two-cache-c:6379"));
    // Both workloads read the same derived password for the shared cache.
    let password = |workload: &str, var: &str| {
        host_of(workload, var)
            .split(':')
            .nth(2)
            .unwrap()
            .split('@')
            .next()
            .unwrap()
            .to_owned()
    };
    assert_eq!(
        password("workload-one", "CONNECTION"),
        password("workload-two", "CONNECTION_A")
    );
}

/// Two workloads share a route (same id) whose params read `dns`, but each has its own dns:
/// the same text would mean different resources, so the render is refused.
#[test]
fn a_shared_resource_whose_params_read_different_resources_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let workload = |name: &str| {
        format!(
            "apiVersion: score.dev/v1b1\nmetadata:\n  name: {name}\ncontainers:\n  main:\n    image: nginx\nservice:\n  ports:\n    web:\n      port: 80\nresources:\n  dns:\n    type: dns\n  route:\n    type: route\n    id: front\n    params:\n      host: ${{resources.dns.host}}\n      path: /\n      port: 80\n"
        )
    };
    write_files(
        dir.path(),
        &[
            ("a.yaml", &workload("web-a")),
            ("b.yaml", &workload("web-b")),
        ],
    );
    let out = run(scoreline()
        .current_dir(dir.path())
        .args(["render", "-f", "a.yaml", "-f", "b.yaml"]));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("b.yaml:14:3: error: shared resource `route` reads `${resources.dns}` in its params, which is dns (web-b) here but dns (web-a) in workload `web-a`"),
        "{stderr}"
    );
    assert!(!dir.path().join("manifests").exists());
}

#[test]
fn params_read_outputs_of_resources_provisioned_first() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m");
    let example =
        common::anchors().join("score/score-compose/examples/09-dns-and-route/score.yaml");
    ok(&render(&out, &[example.to_str().unwrap()], &[]));
    let ingress = object(&out, "Ingress", "route-hello-world-route");
    let rule = &ingress["spec"]["rules"][0];
    assert_eq!(
        rule["host"], "hello-world-dns.localhost",
        "the route's host param read the dns output"
    );
    let path = &rule["http"]["paths"][0];
    assert_eq!(path["path"], "/my/[^/]+/path");
    assert_eq!(
        path["pathType"], "ImplementationSpecific",
        "regex paths cannot be Prefix paths"
    );
    assert_eq!(
        path["backend"]["service"]["port"]["number"], 8080,
        "port `web` is the service port 8080"
    );
}

/// The dependent resource is declared first, so only the dependency edge (not declaration
/// order) can put the dns resource before the route that reads it.
#[test]
fn dependencies_are_provisioned_before_resources_declared_earlier() {
    let dir = tempfile::tempdir().unwrap();
    write_files(
        dir.path(),
        &[(
            "score.yaml",
            "apiVersion: score.dev/v1b1\nmetadata:\n  name: app\ncontainers:\n  main:\n    image: nginx\nservice:\n  ports:\n    web:\n      port: 80\nresources:\n  route:\n    type: route\n    params:\n      host: ${resources.dns.host}\n      path: /\n      port: 80\n  dns:\n    type: dns\n",
        )],
    );
    let out = run(scoreline().current_dir(dir.path()).args(["render"]));
    ok(&out);
    let ingress = object(&dir.path().join("manifests"), "Ingress", "route-app-route");
    assert_eq!(ingress["spec"]["rules"][0]["host"], "app-dns.localhost");
}

#[test]
fn a_dependency_cycle_is_an_error_naming_the_cycle() {
    let dir = tempfile::tempdir().unwrap();
    write_files(
        dir.path(),
        &[(
            "score.yaml",
            "apiVersion: score.dev/v1b1\nmetadata:\n  name: app\ncontainers:\n  main:\n    image: nginx\nresources:\n  first:\n    type: dns\n    params:\n      x: ${resources.second.host}\n  second:\n    type: dns\n    params:\n      x: ${resources.first.host}\n",
        )],
    );
    let out = run(scoreline().current_dir(dir.path()).args(["render"]));
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("score.yaml:8:3: error: resources depend on each other in a cycle: first (app) → second (app) → first (app)"), "{stderr}");
    assert!(!dir.path().join("manifests").exists(), "nothing is written");
}

#[test]
fn secrets_only_ever_reach_secret_objects() {
    let dir = tempfile::tempdir().unwrap();
    write_files(
        dir.path(),
        &[(
            "score.yaml",
            "apiVersion: score.dev/v1b1\nmetadata:\n  name: api\ncontainers:\n  main:\n    image: nginx\n    variables:\n      DB_HOST: ${resources.db.host}\n      DB_URL: postgres://${resources.db.username}:${resources.db.password}@${resources.db.host}/x\n    files:\n      /etc/pgpass:\n        content: \"*:*:*:*:${resources.db.password}\"\n        mode: \"0600\"\n      /etc/app.conf:\n        content: \"db=${resources.db.host}\"\nresources:\n  db:\n    type: postgres\n",
        )],
    );
    let out = run(scoreline()
        .current_dir(dir.path())
        .args(["render", "--output", "json"])
        .env("SCORELINE_KEY", "k-for-test")
        .env("GITHUB_ACTIONS", "true"));
    ok(&out);
    let m = dir.path().join("manifests");
    let password = secret_values(&object(&m, "Secret", "pg-api-db"))
        .into_iter()
        .find(|(k, _)| k == "password")
        .unwrap()
        .1;
    assert_eq!(password.len(), 24);
    // The whole variable is secret when any part is, and it is read by reference.
    let deployment = object(&m, "Deployment", "api");
    let env = &deployment["spec"]["template"]["spec"]["containers"][0]["env"];
    assert_eq!(
        env[0],
        serde_json::json!({"name": "DB_HOST", "value": "pg-api-db"})
    );
    assert_eq!(
        env[1]["valueFrom"]["secretKeyRef"],
        serde_json::json!({"name": "api-secrets", "key": "main.DB_URL"})
    );
    let secrets = secret_values(&object(&m, "Secret", "api-secrets"));
    assert!(
        secrets.iter().any(|(k, v)| k == "main.DB_URL"
            && *v == format!("postgres://api_db:{password}@pg-api-db/x"))
    );
    assert!(
        secrets
            .iter()
            .any(|(k, v)| k.ends_with("pgpass") && v.ends_with(&password)),
        "a file with a secret goes into the Secret"
    );
    let config = object(&m, "ConfigMap", "api-files");
    assert_eq!(
        config["data"].as_object().unwrap().len(),
        1,
        "only the plain file is in the ConfigMap"
    );
    // Nowhere else in plain text, nor in what the command printed (other than the mask request,
    // which goes to stderr when stdout carries JSON).
    for (name, bytes) in snapshot(&m) {
        assert!(
            !String::from_utf8_lossy(&bytes).contains(&password),
            "{name} holds the password in plain text"
        );
    }
    assert!(!text(&out.stdout).contains(&password));
    let stderr = text(&out.stderr);
    assert!(
        stderr
            .lines()
            .filter(|l| l.contains(&password))
            .all(|l| l == format!("::add-mask::{password}")),
        "{stderr}"
    );
    assert!(
        stderr
            .lines()
            .any(|l| l == format!("::add-mask::{password}")),
        "GitHub is told to mask it"
    );
}

#[test]
fn secrets_in_command_or_args_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    write_files(
        dir.path(),
        &[(
            "score.yaml",
            "apiVersion: score.dev/v1b1\nmetadata:\n  name: api\ncontainers:\n  main:\n    image: nginx\n    args: [\"--password\", \"${resources.db.password}\"]\nresources:\n  db:\n    type: postgres\n",
        )],
    );
    let out = run(scoreline().current_dir(dir.path()).args(["render"]));
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("score.yaml:7:27: error: a secret output is used in command or args"),
        "{stderr}"
    );
    assert!(stderr.contains("$(VARIABLE)"), "{stderr}");
}

#[test]
fn two_renders_are_byte_identical() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    for out in [&a, &b] {
        ok(&render(
            out,
            &[SHOP],
            &[
                "--image",
                "web=ghcr.io/acme/shop@sha256:0000000000000000000000000000000000000000000000000000000000000000",
            ],
        ));
    }
    let (sa, sb) = (snapshot(&a), snapshot(&b));
    assert!(sa.len() > 5);
    assert_eq!(sa, sb);
}

#[test]
fn a_failed_render_leaves_the_previous_output_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("manifests");
    ok(&render(
        &out,
        &[SHOP],
        &["--image", "web=ghcr.io/acme/shop:1"],
    ));
    let before = snapshot(&out);
    // An output the definition does not provide fails at render time, after resolving.
    let broken = dir.path().join("broken.yaml");
    std::fs::write(&broken, "apiVersion: score.dev/v1b1\nmetadata:\n  name: shop\ncontainers:\n  web:\n    image: nginx\n    variables:\n      DB: ${resources.db.hots}\nresources:\n  db:\n    type: postgres\n").unwrap();
    let failed = render(&out, &[broken.to_str().unwrap()], &[]);
    assert_eq!(failed.status.code(), Some(2));
    let stderr = text(&failed.stderr);
    assert!(stderr.contains("broken.yaml:8:11: error: ${resources.db.hots}: resource `db` (postgres, definition `postgres-in-cluster`) has no such output"), "{stderr}");
    assert!(
        stderr.contains("its outputs: host, port, name, database, username, password"),
        "{stderr}"
    );
    assert_eq!(snapshot(&out), before);
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n.to_string_lossy().starts_with('.'))
        .collect();
    assert!(
        leftovers.is_empty(),
        "temporary folders left behind: {leftovers:?}"
    );
}

#[test]
fn a_folder_of_other_files_is_never_replaced() {
    let dir = tempfile::tempdir().unwrap();
    write_files(dir.path(), &[("precious/notes.txt", "mine")]);
    let out = render(&dir.path().join("precious"), &[SHOP], &["--image", "x:1"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("refusing to replace"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("precious/notes.txt")).unwrap(),
        "mine"
    );
}

#[test]
fn images_are_given_per_container() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m");
    let missing = render(&out, &[SHOP], &[]);
    assert_eq!(missing.status.code(), Some(2));
    let stderr = text(&missing.stderr);
    assert!(stderr.contains("examples/shop/score.yaml:15:12: error: container `web` of workload `shop` has `image: .`"), "{stderr}");

    ok(&render(
        &out,
        &[SHOP],
        &[
            "--image",
            "shop.web=registry.example/shop@sha256:abababababababababababababababababababababababababababababababab",
        ],
    ));
    let deployment = object(&out, "Deployment", "shop");
    assert_eq!(
        deployment["spec"]["template"]["spec"]["containers"][0]["image"],
        "registry.example/shop@sha256:abababababababababababababababababababababababababababababababab"
    );

    // The workload-qualified override wins over the bare one in either order.
    for order in [["web=a:1", "shop.web=b:1"], ["shop.web=b:1", "web=a:1"]] {
        ok(&render(
            &out,
            &[SHOP],
            &["--image", order[0], "--image", order[1]],
        ));
        let deployment = object(&out, "Deployment", "shop");
        assert_eq!(
            deployment["spec"]["template"]["spec"]["containers"][0]["image"], "b:1",
            "{order:?}"
        );
    }

    let unknown = render(&out, &[SHOP], &["--image", "api=x:1"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(
        text(&unknown.stderr).contains(
            "--image names container `api`, which no workload has (containers: shop.web)"
        ),
        "{}",
        text(&unknown.stderr)
    );
}

#[test]
fn workloads_reach_each_other_through_service_ports() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m");
    let example = common::anchors().join("score/score-compose/examples/08-service-port-resource");
    let (a, b) = (example.join("scoreA.yaml"), example.join("scoreB.yaml"));
    ok(&render(
        &out,
        &[a.to_str().unwrap(), b.to_str().unwrap()],
        &["--app", "pair"],
    ));
    let deployment = object(&out, "Deployment", "workload-b");
    let env = &deployment["spec"]["template"]["spec"]["containers"][0]["env"][0];
    assert_eq!(env["value"], "http://workload-a:8080");
    let service = object(&out, "Service", "workload-a");
    assert_eq!(
        service["spec"]["ports"][0],
        serde_json::json!({"name": "web", "port": 8080, "protocol": "TCP", "targetPort": 80})
    );

    let alone = render(&dir.path().join("n"), &[b.to_str().unwrap()], &[]);
    assert_eq!(alone.status.code(), Some(2));
    assert!(
        text(&alone.stderr).contains(
            "params.workload `workload-a` is not a workload of this render (workloads: workload-b)"
        ),
        "{}",
        text(&alone.stderr)
    );
}

#[test]
fn the_workload_policy_fills_in_defaults() {
    let dir = tempfile::tempdir().unwrap();
    write_files(
        dir.path(),
        &[(
            "score.yaml",
            "apiVersion: score.dev/v1b1\nmetadata:\n  name: worker\ncontainers:\n  main:\n    image: busybox\n    resources:\n      limits:\n        memory: 1Gi\n",
        )],
    );
    let platform = repo_root().join("examples/platform");
    let out = run(scoreline()
        .current_dir(dir.path())
        .args(["render", "--env", "development", "--platform"])
        .arg(&platform));
    ok(&out);
    let deployment = object(&dir.path().join("manifests"), "Deployment", "worker");
    assert_eq!(deployment["metadata"]["namespace"], "shop-dev");
    assert_eq!(
        deployment["metadata"]["labels"]["acme.dev/cost-center"],
        "web"
    );
    assert_eq!(
        deployment["metadata"]["labels"]["app.kubernetes.io/managed-by"],
        "scoreline"
    );
    let pod = &deployment["spec"]["template"]["spec"];
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    let container = &pod["containers"][0];
    assert_eq!(container["securityContext"]["readOnlyRootFilesystem"], true);
    // The Score file's own limit stays; what it does not give comes from the policy.
    assert_eq!(
        container["resources"],
        serde_json::json!({"limits": {"memory": "1Gi"}, "requests": {"cpu": "50m", "memory": "64Mi"}})
    );

    // A request above the policy's default limit (512Mi) must not be paired with that limit:
    // the API server refuses requests larger than limits.
    std::fs::write(
        dir.path().join("score.yaml"),
        "apiVersion: score.dev/v1b1\nmetadata:\n  name: worker\ncontainers:\n  main:\n    image: busybox\n    resources:\n      requests:\n        memory: 1Gi\n",
    )
    .unwrap();
    ok(&run(scoreline()
        .current_dir(dir.path())
        .args(["render", "--env", "development", "--platform"])
        .arg(&platform)));
    let deployment = object(&dir.path().join("manifests"), "Deployment", "worker");
    assert_eq!(
        deployment["spec"]["template"]["spec"]["containers"][0]["resources"],
        serde_json::json!({"requests": {"cpu": "50m", "memory": "1Gi"}})
    );
}

#[test]
fn json_output_lists_what_was_written() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m");
    let result = render(&out, &[SHOP], &["--image", "x:1", "--output", "json"]);
    ok(&result);
    let json: Value = serde_json::from_slice(&result.stdout).unwrap();
    assert_eq!(json["environment"], "development");
    assert_eq!(json["app"], "shop");
    let files: Vec<&str> = json["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["file"].as_str().unwrap())
        .collect();
    assert!(files.contains(&"deployment-shop.yaml"), "{files:?}");
    for f in &files {
        assert!(out.join(f).is_file());
    }
    let kustomization = std::fs::read_to_string(out.join("kustomization.yaml")).unwrap();
    for f in &files {
        assert!(
            kustomization.contains(&format!("- {f}\n")),
            "{kustomization}"
        );
    }
}
