//! Every official Score example renders with the embedded baseline, and every object it renders
//! passes the real Kubernetes JSON schemas in strict mode (`kubernetes-validate --strict`, from
//! PyPI, installed by .ci/run). Community examples whose resource types the embedded baseline
//! does not provide fail with an error that lists the types it does provide.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::render;
use crate::support::{
    Cli, anchors, export_baseline, object, objects, repo_root, secret_value, text, write_files,
};

struct Case {
    files: &'static [&'static str],
    env: &'static [(&'static str, &'static str)],
}

const CASES: &[Case] = &[
    Case {
        files: &["spec/score-deprecated-files-and-volumes.yaml"],
        env: &[],
    },
    Case {
        files: &["score-compose/examples/01-hello/score.yaml"],
        env: &[],
    },
    Case {
        files: &["score-compose/examples/02-environment/score.yaml"],
        env: &[("SCORELINE_VAR_NAME", "world")],
    },
    Case {
        files: &["score-compose/examples/03-files/score.yaml"],
        env: &[],
    },
    Case {
        files: &[
            "score-compose/examples/04-multiple-workloads/score.yaml",
            "score-compose/examples/04-multiple-workloads/score2.yaml",
        ],
        env: &[],
    },
    Case {
        files: &["score-compose/examples/05-volume-mounts/score.yaml"],
        env: &[],
    },
    Case {
        files: &[
            "score-compose/examples/06-resource-provisioning/score.yaml",
            "score-compose/examples/06-resource-provisioning/score2.yaml",
        ],
        env: &[],
    },
    Case {
        files: &["score-compose/examples/07-overrides/score.yaml"],
        env: &[],
    },
    Case {
        files: &[
            "score-compose/examples/08-service-port-resource/scoreA.yaml",
            "score-compose/examples/08-service-port-resource/scoreB.yaml",
        ],
        env: &[],
    },
    Case {
        files: &["score-compose/examples/09-dns-and-route/score.yaml"],
        env: &[],
    },
    Case {
        files: &["score-compose/examples/10-amqp-rabbitmq/score.yaml"],
        env: &[],
    },
    Case {
        files: &["score-compose/examples/11-mongodb-document-database/score.yaml"],
        env: &[],
    },
    Case {
        files: &["score-compose/examples/12-mysql-database/score.yaml"],
        env: &[],
    },
    Case {
        files: &["score-compose/examples/13-kafka-topic/score.yaml"],
        env: &[],
    },
    Case {
        files: &["score-compose/examples/14-elasticsearch/score.yaml"],
        env: &[],
    },
    Case {
        files: &["score-compose/examples/15-mssql-database/score.yaml"],
        env: &[],
    },
    Case {
        files: &["score-compose/examples/16-patching-templates/score.yaml"],
        env: &[],
    },
    Case {
        files: &["community-provisioners/dns/score.yaml"],
        env: &[],
    },
    Case {
        files: &["community-provisioners/route/score.yaml"],
        env: &[],
    },
    Case {
        files: &["community-provisioners/environment/score.yaml"],
        env: &[("SCORELINE_VAR_TEST", "hello")],
    },
    Case {
        files: &["community-provisioners/redis/score.yaml"],
        env: &[],
    },
    Case {
        files: &[
            "community-provisioners/service/score-frontend.yaml",
            "community-provisioners/service/score-backend.yaml",
        ],
        env: &[],
    },
];

/// Community examples of types outside the embedded baseline (the Score reference
/// implementations do not ship them either).
const UNPROVIDED: &[(&str, &str)] = &[
    (
        "community-provisioners/dapr-pubsub/score.yaml",
        "dapr-pubsub",
    ),
    (
        "community-provisioners/dapr-state-store/score.yaml",
        "dapr-state-store",
    ),
    (
        "community-provisioners/dapr-subscription/score.yaml",
        "dapr-subscription",
    ),
    ("community-provisioners/endpoint/score.yaml", "endpoint"),
    (
        "community-provisioners/gcp-pubsub-emulator/score.yaml",
        "gcp-pubsub-emulator",
    ),
    (
        "community-provisioners/horizontal-pod-autoscaler/score.yaml",
        "horizontal-pod-autoscaler",
    ),
    ("community-provisioners/llm-model/score.yaml", "llm-model"),
];

/// Kinds without a schema in core Kubernetes (they pass through `kubernetes-validate` with a
/// warning, so their structure is asserted by the render tests instead).
const CUSTOM_KINDS: &[&str] = &["HTTPRoute"];

/// Every rendered object passes the strict schemas, and every one was actually checked.
fn validate_strictly(dir: &Path) {
    let files: Vec<PathBuf> = objects(dir)
        .into_iter()
        .filter(|(_, o)| !CUSTOM_KINDS.contains(&o["kind"].as_str().unwrap()))
        .map(|(name, _)| dir.join(name))
        .collect();
    assert!(!files.is_empty());
    let out = Command::new("python3")
        .args(["-m", "kubernetes_validate", "--strict"])
        .args(&files)
        .output()
        .expect("kubernetes-validate runs (pip install kubernetes-validate; .ci/run installs it)");
    let report = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{}: {report}", dir.display());
    assert_eq!(
        report.matches(" passed for resource ").count(),
        files.len(),
        "every object checked against a schema:\n{report}"
    );
}

/// `render` of `files` into `out` with `extra` flags and `env` variables.
fn render_with(files: &[PathBuf], extra: &[&str], env: &[(&str, &str)], out: &Path) -> Cli {
    env.iter()
        .fold(render(out, files, extra), |cli, (k, v)| cli.env(k, v))
}

#[test]
fn every_official_example_renders_and_passes_the_kubernetes_schemas() {
    let work = tempfile::tempdir().unwrap();
    for (i, case) in CASES.iter().enumerate() {
        let files: Vec<PathBuf> = case
            .files
            .iter()
            .map(|f| anchors().join("score").join(f))
            .collect();
        let out_dir = work.path().join(i.to_string());
        render_with(&files, &["--app", "example"], case.env, &out_dir)
            .run()
            .success();
        validate_strictly(&out_dir);
    }
}

/// score-full.yaml uses every field, with made-up resource types: it renders with the embedded
/// baseline exported and given definitions for those types.
#[test]
fn the_full_specification_sample_renders_and_passes_the_kubernetes_schemas() {
    let work = tempfile::tempdir().unwrap();
    let platform = work.path().join("platform");
    export_baseline(&platform);
    let made_up = |name: &str, kind: &str| {
        format!(
            "apiVersion: scoreline.dev/v1\nkind: ResourceDefinition\nmetadata:\n  name: {name}\nspec:\n  type: {kind}\n  driver: static\n  criteria: [{{}}]\n  outputs:\n    value: {name}\n---\n"
        )
    };
    let definitions = [
        made_up("one", "Resource-One"),
        made_up("two", "Resource-Two"),
        made_up("three", "Type-Three"),
    ]
    .concat();
    write_files(&platform, &[("resources/made-up.yaml", &definitions)]);
    let sample = work.path().join("score-full.yaml");
    std::fs::copy(anchors().join("score/spec/score-full.yaml"), &sample).unwrap();
    std::fs::write(work.path().join("file.txt"), "supplied by the test\n").unwrap();
    let out_dir = work.path().join("out");
    render(
        &out_dir,
        &[sample],
        &[
            "--platform",
            platform.to_str().unwrap(),
            "--image",
            "ghcr.io/acme/two@sha256:0000000000000000000000000000000000000000000000000000000000000000",
        ],
    )
    .run()
    .success();
    validate_strictly(&out_dir);
}

#[test]
fn community_examples_of_unprovided_types_say_which_types_exist() {
    let work = tempfile::tempdir().unwrap();
    for (file, kind) in UNPROVIDED {
        let out = render(
            &work.path().join("out"),
            &[anchors().join("score").join(file)],
            &[],
        )
        .env("SCORELINE_VAR_TEST", "x")
        .run()
        .fails(2);
        out.stderr_has(&format!("no resource definition matches {kind}"));
        out.stderr_has("the embedded baseline has no definition of type")
            .stderr_has("postgres");
    }
}

/// The community `service` type: the frontend reaches the backend workload by its Service name.
#[test]
fn a_service_resource_names_the_workload_it_reaches() {
    let work = tempfile::tempdir().unwrap();
    let files = ["score-frontend.yaml", "score-backend.yaml"].map(|f| {
        anchors()
            .join("score/community-provisioners/service")
            .join(f)
    });
    render(work.path(), &files, &[]).run().success();
    let frontend = object(work.path(), "Deployment", "frontend");
    let env = &frontend["spec"]["template"]["spec"]["containers"][0]["env"];
    assert_eq!(
        env[0],
        serde_json::json!({"name": "BACKEND_SVC", "value": "http://backend"})
    );
}

/// The README's sample platform renders the sample shop in `env` as its CI examples run it (the
/// CI secret store's variables set), and every object passes the strict schemas: in-cluster
/// Postgres in development, the shared staging database, the managed one in production with
/// Gateway API routes; no secret value is outside a Secret. Returns the folder rendered.
fn the_sample_platform_renders_the_shop_in(env: &str) -> tempfile::TempDir {
    let work = tempfile::tempdir().unwrap();
    let platform = repo_root().join("examples/platform");
    let shop = repo_root().join("examples/shop/score.yaml");
    let secrets = [
        ("SCORELINE_KEY", "test-platform-key-0123456789abcdef"),
        ("REDIS_PASSWORD", "redis-pass-4f2a"),
        ("STAGING_SHOP_DB_PASSWORD", "staging-pass-9c1e"),
        ("PROD_SHOP_DB_PASSWORD", "prod-pass-7d3b"),
    ];
    let out_dir = work.path();
    render_with(
        std::slice::from_ref(&shop),
        &[
            "--platform",
            platform.to_str().unwrap(),
            "--env",
            env,
            "--image",
            "web=ghcr.io/acme/shop@sha256:4b825dc642cb6eb9a060e54bf8d69288fbee4904000000000000000000000000",
        ],
        &secrets,
        out_dir,
    )
    .run()
    .success();
    validate_strictly(out_dir);
    let rendered = objects(out_dir);
    let kinds: Vec<&str> = rendered
        .iter()
        .map(|(_, o)| o["kind"].as_str().unwrap())
        .collect();
    let in_cluster_db = rendered.iter().any(|(_, o)| {
        o["kind"] == "StatefulSet" && o["metadata"]["name"].as_str().unwrap().contains("db")
    });
    assert_eq!(in_cluster_db, env == "development", "{env}: {kinds:?}");
    assert_eq!(
        kinds.contains(&"HTTPRoute"),
        env == "production",
        "{env}: {kinds:?}"
    );
    assert_eq!(
        kinds.contains(&"Ingress"),
        env != "production",
        "{env}: {kinds:?}"
    );
    for (name, object) in &rendered {
        if object["kind"] == "Secret" {
            continue;
        }
        let text = serde_json::to_string(object).unwrap();
        for (_, value) in &secrets[1..] {
            assert!(!text.contains(value), "{env}: a secret in {name}");
        }
    }
    work
}

#[test]
fn the_sample_platform_renders_the_shop_in_development() {
    the_sample_platform_renders_the_shop_in("development");
}

#[test]
fn the_sample_platform_renders_the_shop_in_staging() {
    the_sample_platform_renders_the_shop_in("staging");
}

#[test]
fn the_sample_platform_renders_the_shop_in_production_with_routes_and_the_managed_database() {
    let out_dir = the_sample_platform_renders_the_shop_in("production");
    let rendered = objects(out_dir.path());
    let route = rendered
        .iter()
        .map(|(_, o)| o)
        .find(|o| o["kind"] == "HTTPRoute")
        .unwrap();
    assert_eq!(route["spec"]["parentRefs"][0]["name"], "public", "{route}");
    let secret = object(out_dir.path(), "Secret", "shop-secrets");
    let url = secret_value(&secret, "web.DATABASE_URL");
    assert_eq!(
        url,
        "postgres://shop_app:prod-pass-7d3b@shop-prod.cluster-c2xq4n1.eu-west-1.rds.amazonaws.com:5432/shop"
    );
}
