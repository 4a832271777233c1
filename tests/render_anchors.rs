//! Every official Score example renders with the embedded baseline, and every object it renders
//! passes the real Kubernetes JSON schemas in strict mode (`kubernetes-validate --strict`, from
//! PyPI, installed by .ci/run). Community examples whose resource types the embedded baseline
//! does not provide fail with an error that lists the types it does provide.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{anchors, objects, run, scoreline, text, write_files};

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

fn render(
    files: &[PathBuf],
    extra: &[&str],
    env: &[(&str, &str)],
    out: &Path,
) -> std::process::Output {
    let mut cmd = scoreline();
    cmd.arg("render").arg("--out").arg(out).args(extra);
    for f in files {
        cmd.arg("-f").arg(f);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    run(&mut cmd)
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
        let out = render(&files, &["--app", "example"], case.env, &out_dir);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{:?}:\n{}",
            case.files,
            text(&out.stderr)
        );
        validate_strictly(&out_dir);
    }
}

/// score-full.yaml uses every field, with made-up resource types: it renders with the embedded
/// baseline exported and given definitions for those types.
#[test]
fn the_full_specification_sample_renders_and_passes_the_kubernetes_schemas() {
    let work = tempfile::tempdir().unwrap();
    let platform = work.path().join("platform");
    assert!(
        run(scoreline().args(["baseline", "export"]).arg(&platform))
            .status
            .success()
    );
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
    let out = render(
        &[sample],
        &[
            "--platform",
            platform.to_str().unwrap(),
            "--image",
            "ghcr.io/acme/two@sha256:0000000000000000000000000000000000000000000000000000000000000000",
        ],
        &[],
        &out_dir,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    validate_strictly(&out_dir);
}

#[test]
fn community_examples_of_unprovided_types_say_which_types_exist() {
    let work = tempfile::tempdir().unwrap();
    for (file, kind) in UNPROVIDED {
        let out = render(
            &[anchors().join("score").join(file)],
            &[],
            &[("SCORELINE_VAR_TEST", "x")],
            &work.path().join("out"),
        );
        assert_eq!(out.status.code(), Some(2), "{file}");
        let stderr = text(&out.stderr);
        assert!(
            stderr.contains(&format!("no resource definition matches {kind}")),
            "{stderr}"
        );
        assert!(
            stderr.contains("the embedded baseline has no definition of type")
                && stderr.contains("postgres"),
            "{stderr}"
        );
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
    let out = render(&files, &[], &[], work.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let frontend = common::object(work.path(), "Deployment", "frontend");
    let env = &frontend["spec"]["template"]["spec"]["containers"][0]["env"];
    assert_eq!(
        env[0],
        serde_json::json!({"name": "BACKEND_SVC", "value": "http://backend"})
    );
}

/// The README's sample platform renders the sample shop in all three environments, as its
/// CI examples run it (the CI secret store's variables set), and every object passes the
/// strict schemas: in-cluster Postgres in development, the shared staging database, the managed
/// one in production with Gateway API routes.
#[test]
fn the_sample_platform_renders_the_shop_in_every_environment() {
    let work = tempfile::tempdir().unwrap();
    let platform = common::repo_root().join("examples/platform");
    let shop = common::repo_root().join("examples/shop/score.yaml");
    let secrets = [
        ("SCORELINE_KEY", "test-platform-key"),
        ("REDIS_PASSWORD", "redis-pass-4f2a"),
        ("STAGING_SHOP_DB_PASSWORD", "staging-pass-9c1e"),
        ("PROD_SHOP_DB_PASSWORD", "prod-pass-7d3b"),
    ];
    for env in ["development", "staging", "production"] {
        let out_dir = work.path().join(env);
        let out = render(
            std::slice::from_ref(&shop),
            &[
                "--platform",
                platform.to_str().unwrap(),
                "--env",
                env,
                "--image",
                "web=ghcr.io/acme/shop@sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            ],
            &secrets,
            &out_dir,
        );
        assert_eq!(out.status.code(), Some(0), "{env}: {}", text(&out.stderr));
        validate_strictly(&out_dir);
        let rendered = objects(&out_dir);
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
        if env == "production" {
            let route = rendered
                .iter()
                .map(|(_, o)| o)
                .find(|o| o["kind"] == "HTTPRoute")
                .unwrap();
            assert_eq!(route["spec"]["parentRefs"][0]["name"], "public", "{route}");
            let secret = common::object(&out_dir, "Secret", "shop-secrets");
            let url = common::secret_values(&secret)
                .into_iter()
                .find(|(k, _)| k == "web.DATABASE_URL")
                .unwrap()
                .1;
            assert_eq!(
                url,
                "postgres://shop_app:prod-pass-7d3b@shop-prod.cluster-c2xq4n1.eu-west-1.rds.amazonaws.com:5432/shop"
            );
        }
    }
}
