//! The GitLab components in a real GitLab CI interpreter: gitlab-ci-local (on Node 22) runs a
//! `.gitlab-ci.yml` that includes them as a project includes its own catalog components
//! (`component: $CI_SERVER_FQDN/$CI_PROJECT_PATH/STEP@$CI_COMMIT_SHA`, which gitlab-ci-local
//! reads from the project's `templates/` when the project is the git remote's and the ref is
//! the checked-out commit), jobs in the shell with the binary under test on PATH, against a
//! bare environment repository and a registry on loopback.

use std::path::Path;
use std::process::{Command, Output};

use super::{KEY, Workspace, copy, npm_tool, scoreline};
use crate::support::git::git;
use crate::support::registry::TestRegistry;
use crate::support::{repo_root, text};

const PIPELINE: &str = r#"stages: [build, plan, deploy, verify]
include:
  - component: $CI_SERVER_FQDN/$CI_PROJECT_PATH/build@$CI_COMMIT_SHA
    inputs:
      tags: REGISTRY/acme/shop:$CI_COMMIT_SHORT_SHA
  - component: $CI_SERVER_FQDN/$CI_PROJECT_PATH/plan@$CI_COMMIT_SHA
    inputs:
      stage: plan
      platform: platform
      environments: staging
      images: web=$SCORELINE_IMAGE
  - component: $CI_SERVER_FQDN/$CI_PROJECT_PATH/deploy@$CI_COMMIT_SHA
    inputs:
      job-prefix: staging-
      environment: staging
      plan: plan.json
  - component: $CI_SERVER_FQDN/$CI_PROJECT_PATH/deploy@$CI_COMMIT_SHA
    inputs:
      job-prefix: review-
      platform: platform
      environment: pr-$PREVIEW
      images: web=$SCORELINE_IMAGE
      review: true
verify:
  stage: verify
  needs: [scoreline-build, staging-deploy]
  script:
    - printf 'image=%s\nrecord=%s\nrevision=%s\nurl=%s\nchanged=%s\n' "$SCORELINE_IMAGE" "$SCORELINE_RECORD_ID" "$SCORELINE_REVISION" "$ENVIRONMENT_URL" "$SCORELINE_CHANGED" > "$VERIFY_FILE"
plan-verify:
  stage: verify
  needs: [scoreline-plan]
  script:
    - printf 'changed=%s\nplan=%s\n' "$SCORELINE_CHANGED" "$SCORELINE_PLAN" > "$VERIFY_FILE.plan"
    - cp plan.json "$VERIFY_FILE.plan.json"
"#;

/// `gitlab-ci-local ARGS…` in `app`, jobs in the shell, scoreline and Node 22 first on PATH.
fn gitlab_ci_local(app: &Path, home: &Path, args: &[&str], variables: &[(&str, &str)]) -> Output {
    let node = npm_tool("node");
    let path = std::env::join_paths(
        [scoreline().parent().unwrap(), node.parent().unwrap()]
            .into_iter()
            .map(Path::to_path_buf)
            .chain(std::env::split_paths(&std::env::var_os("PATH").unwrap())),
    )
    .unwrap();
    let mut command = Command::new(&node);
    command
        .arg(npm_tool("gitlab-ci-local"))
        .args(["--force-shell-executor", "--no-color"])
        .args(args)
        .current_dir(app)
        .env("PATH", path)
        .env("HOME", home)
        .env_remove("CI")
        .env_remove("GITHUB_ACTIONS")
        .env_remove("GITHUB_OUTPUT");
    for (name, value) in variables {
        command.arg("--variable").arg(format!("{name}={value}"));
    }
    command.output().unwrap()
}

#[test]
fn components_build_deploy_and_pass_their_outputs_on_in_gitlab_ci_local() {
    let workspace = Workspace::new();
    let registry = TestRegistry::start();
    let app = workspace.app();
    copy(
        &repo_root().join("gitlab-components/templates"),
        &app.join("templates"),
    );
    std::fs::write(
        app.join(".gitlab-ci.yml"),
        PIPELINE.replace("REGISTRY", &registry.host()),
    )
    .unwrap();
    std::fs::write(app.join(".gitignore"), ".gitlab-ci-local/\n").unwrap();
    workspace.commit("the pipeline");
    git(
        &app,
        &[
            "remote",
            "add",
            "origin",
            "git@gitlab.example.com:acme/shop.git",
        ],
    );
    let home = tempfile::tempdir().unwrap();
    let verified = home.path().join("verified");
    let verify_file = verified.display().to_string();
    let variables = [
        ("SCORELINE_KEY", KEY),
        ("PREVIEW", "12"),
        ("VERIFY_FILE", verify_file.as_str()),
    ];

    let run = gitlab_ci_local(&app, home.path(), &[], &variables);
    let log = text(&run.stdout) + &text(&run.stderr);
    assert!(run.status.success(), "gitlab-ci-local failed:\n{log}");
    let outputs: std::collections::BTreeMap<&str, &str> = std::fs::read_to_string(&verified)
        .unwrap_or_else(|e| panic!("the verify job wrote nothing ({e}):\n{log}"))
        .leak()
        .lines()
        .map(|l| l.split_once('=').unwrap())
        .collect();
    let short = &git(&app, &["rev-parse", "--short=8", "HEAD"]);
    let image = outputs["image"];
    assert!(
        image.starts_with(&format!("{}/acme/shop@sha256:", registry.host())),
        "{outputs:?}\n{log}"
    );
    let tagged = crate::support::registry::inspect(
        &format!("{}/acme/shop:{}", registry.host(), short.trim()),
        &[],
    );
    assert!(
        image.ends_with(tagged["Digest"].as_str().unwrap()),
        "{tagged}"
    );
    assert!(outputs["record"].starts_with("sha256:"), "{outputs:?}");
    // The plan job's dotenv reached its downstream job, and staging got exactly the plan.
    let planned = std::fs::read_to_string(format!("{verify_file}.plan"))
        .unwrap_or_else(|e| panic!("plan-verify wrote nothing ({e}):\n{log}"));
    assert_eq!(planned, "changed=true\nplan=plan.json\n", "{log}");
    let plan: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{verify_file}.plan.json")).unwrap())
            .unwrap();
    assert_eq!(
        outputs["record"],
        plan["environments"][0]["id"].as_str().unwrap(),
        "{log}"
    );
    assert_eq!(outputs["changed"], "true");
    assert_eq!(outputs["url"], "https://shop-dns.localhost/");
    let deployed = workspace.deployed();
    assert!(
        deployed.contains("staging/shop/kustomization.yaml"),
        "{deployed}"
    );
    assert!(
        deployed.contains("pr-12/shop/kustomization.yaml"),
        "{deployed}"
    );
    let staging = git(
        &workspace.dir.path().join("env.git"),
        &["log", "-1", "--format=%H", "main", "--", "staging"],
    );
    assert_eq!(outputs["revision"], staging.trim());
    // The staging deployment has no stop job; the review app's stop job destroys its preview.
    let list = gitlab_ci_local(&app, home.path(), &["--list"], &variables);
    let jobs = text(&list.stdout);
    assert!(
        jobs.contains("review-stop") && !jobs.contains("staging-stop"),
        "{jobs}"
    );
    let stop = gitlab_ci_local(&app, home.path(), &["review-stop"], &variables);
    let log = text(&stop.stdout) + &text(&stop.stderr);
    assert!(stop.status.success(), "review-stop failed:\n{log}");
    let deployed = workspace.deployed();
    assert!(!deployed.contains("pr-12/"), "{deployed}\n{log}");
    assert!(
        deployed.contains("staging/shop/kustomization.yaml"),
        "{deployed}"
    );
}
