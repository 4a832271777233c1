//! Resources across workloads: shared ones provisioned once, dependencies before dependents,
//! cycles refused, and workloads reaching each other through service ports.

use super::render;
use crate::support::{Cli, anchors, object, objects, secret_values, write_files};

#[test]
fn shared_resources_are_provisioned_once() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m");
    let examples = anchors().join("score/score-compose/examples/06-resource-provisioning");
    let one = examples.join("score.yaml");
    let two = examples.join("score2.yaml");
    render(&out, &[one, two], &["--app", "caches"])
        .run()
        .success();
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
    let out = Cli::new(["render", "-f", "a.yaml", "-f", "b.yaml"])
        .dir(dir.path())
        .run()
        .fails(2);
    out.stderr_has("b.yaml:14:3: error: shared resource `route` reads `${resources.dns}` in its params, which is dns (web-b) here but dns (web-a) in workload `web-a`");
    assert!(!dir.path().join("manifests").exists());
}

#[test]
fn params_read_outputs_of_resources_provisioned_first() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m");
    let example = anchors().join("score/score-compose/examples/09-dns-and-route/score.yaml");
    render(&out, &[example], &[]).run().success();
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
    super::render_in(
        dir.path(),
        &[(
            "score.yaml",
            "apiVersion: score.dev/v1b1\nmetadata:\n  name: app\ncontainers:\n  main:\n    image: nginx\nservice:\n  ports:\n    web:\n      port: 80\nresources:\n  route:\n    type: route\n    params:\n      host: ${resources.dns.host}\n      path: /\n      port: 80\n  dns:\n    type: dns\n",
        )],
    )
    .run()
    .success();
    let ingress = object(&dir.path().join("manifests"), "Ingress", "route-app-route");
    assert_eq!(ingress["spec"]["rules"][0]["host"], "app-dns.localhost");
}

#[test]
fn a_dependency_cycle_is_an_error_naming_the_cycle() {
    let dir = tempfile::tempdir().unwrap();
    let out = super::render_in(
        dir.path(),
        &[(
            "score.yaml",
            "apiVersion: score.dev/v1b1\nmetadata:\n  name: app\ncontainers:\n  main:\n    image: nginx\nresources:\n  first:\n    type: dns\n    params:\n      x: ${resources.second.host}\n  second:\n    type: dns\n    params:\n      x: ${resources.first.host}\n",
        )],
    )
    .run()
    .fails(2);
    out.stderr_has("score.yaml:8:3: error: resources depend on each other in a cycle: first (app) → second (app) → first (app)");
    assert!(!dir.path().join("manifests").exists(), "nothing is written");
}

fn service_port_example() -> [std::path::PathBuf; 2] {
    let example = anchors().join("score/score-compose/examples/08-service-port-resource");
    [example.join("scoreA.yaml"), example.join("scoreB.yaml")]
}

#[test]
fn workloads_reach_each_other_through_service_ports() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m");
    render(&out, &service_port_example(), &["--app", "pair"])
        .run()
        .success();
    let deployment = object(&out, "Deployment", "workload-b");
    let env = &deployment["spec"]["template"]["spec"]["containers"][0]["env"][0];
    assert_eq!(env["value"], "http://workload-a:8080");
    let service = object(&out, "Service", "workload-a");
    assert_eq!(
        service["spec"]["ports"][0],
        serde_json::json!({"name": "web", "port": 8080, "protocol": "TCP", "targetPort": 80})
    );
}

#[test]
fn a_service_port_of_a_workload_outside_the_render_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let [_, b] = service_port_example();
    let alone = render(&dir.path().join("n"), &[b], &[]).run().fails(2);
    alone.stderr_has(
        "params.workload `workload-a` is not a workload of this render (workloads: workload-b)",
    );
}
