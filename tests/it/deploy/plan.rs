//! `scoreline plan` and `scoreline deploy --plan` against a real environment repository: the plan
//! shows and binds what deploying would do; deploying it delivers exactly that render, and is
//! refused (exit 3, nothing pushed) when a Score file, the render or the app folder changed since
//! — also when the folder changes during the push itself (a race the retry must not paper over).

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{FIRST, SECOND, TEST_KEY, World};
use crate::support::git::git;
use crate::support::{Cli, Outcome, files_below, object, read_json, secret_values};

impl World {
    /// `plan` of the shop with FIRST for `envs`, written to `plan.json`; more flags may follow.
    pub(crate) fn plan_cli(&self, envs: &[&str], image: &str) -> Cli {
        let mut cli = self.cli(&[
            "plan",
            "-f",
            "shop/score.yaml",
            "--image",
            &format!("web={image}"),
        ]);
        for env in envs {
            cli = cli.args(["--env", env]);
        }
        cli
    }

    /// `plan --out plan.json` as by `plan_cli`, successful.
    fn plan_to_file(&self, envs: &[&str], image: &str) {
        self.plan_cli(envs, image)
            .args(["--out", "plan.json"])
            .run()
            .success();
    }

    /// `deploy --plan plan.json` in the workspace with the platform key.
    fn deploy_plan(&self) -> Cli {
        Cli::new(["deploy", "--plan", "plan.json"])
            .dir(self.work())
            .env("SCORELINE_KEY", TEST_KEY)
    }

    fn plan_file(&self) -> Value {
        read_json(&self.work().join("plan.json"))
    }

    /// The branch tip of the environment repository.
    fn tip(&self) -> String {
        self.git(&["rev-parse", "main"]).trim().to_owned()
    }

    /// Commits a new file into `folder` of the environment repository, as a person would.
    fn add_file(&self, folder: &str, name: &str) {
        let checkout = self.checkout();
        let dir = checkout.path().join(folder);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(name), "kind: ConfigMap\n").unwrap();
        git(checkout.path(), &["add", "--all"]);
        git(checkout.path(), &["commit", "--quiet", "-m", "by hand"]);
        git(checkout.path(), &["push", "--quiet", "origin", "HEAD:main"]);
    }

    /// Every value of every Secret staging's render holds: what must never show.
    pub(crate) fn staging_secrets(&self) -> Vec<String> {
        let out = self.dir.path().join("rendered");
        self.cli(&[
            "render",
            "-f",
            "shop/score.yaml",
            "--env",
            "staging",
            &format!("--image=web={FIRST}"),
        ])
        .arg("--out")
        .arg(&out)
        .run()
        .success();
        let secret = object(&out, "Secret", "shop-secrets");
        let mut values: Vec<String> = secret_values(&secret).into_iter().map(|(_, v)| v).collect();
        // The password alone, as it sits inside the database URL.
        let url = values
            .iter()
            .find(|v| v.starts_with("postgres://"))
            .cloned()
            .unwrap();
        let password = url
            .split_once("shop_db:")
            .unwrap()
            .1
            .split_once('@')
            .unwrap()
            .0;
        assert!(password.len() >= 16, "{password}");
        values.push(password.to_owned());
        values
    }
}

/// A run under GitHub Actions: its step files in `steps`.
fn github(cli: Cli, steps: &Path) -> Cli {
    std::fs::write(
        steps.join("event.json"),
        r#"{"action":"synchronize","number":7,"pull_request":{"number":7,"head":{"sha":"abc"}}}"#,
    )
    .unwrap();
    cli.env("GITHUB_ACTIONS", "true")
        .env("GITHUB_OUTPUT", steps.join("output"))
        .env("GITHUB_STEP_SUMMARY", steps.join("summary.md"))
        .env("GITHUB_EVENT_PATH", steps.join("event.json"))
        .env("GITHUB_SERVER_URL", "https://github.com")
        .env("GITHUB_REPOSITORY", "acme/shop")
        .env("GITHUB_RUN_ID", "42")
}

/// No secret in the run's output (but for the `::add-mask::` lines that tell the runner what
/// to hide) nor in the files named.
fn assert_no_secret(secrets: &[String], outcome: &Outcome, files: &[PathBuf]) {
    let shown = |text: &str| -> String {
        text.lines()
            .filter(|l| !l.starts_with("::add-mask::"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let mut places = vec![
        ("stdout".to_owned(), shown(&outcome.stdout)),
        ("stderr".to_owned(), shown(&outcome.stderr)),
    ];
    for file in files {
        places.push((
            file.display().to_string(),
            std::fs::read_to_string(file).unwrap(),
        ));
    }
    for (place, text) in places {
        for secret in secrets {
            assert!(
                !text.contains(secret.as_str()),
                "{place} shows a secret value:\n{text}"
            );
        }
    }
}

#[test]
fn plan_shows_each_environment_and_writes_a_plan_file_without_secrets() {
    let world = World::new();
    let secrets = world.staging_secrets();
    let steps = tempfile::tempdir().unwrap();
    let out = github(
        world.plan_cli(&["staging", "production"], FIRST),
        steps.path(),
    )
    .args([
        "--out",
        "plan.json",
        "--junit",
        "plan.xml",
        "--output",
        "json",
    ])
    .run()
    .success();
    let plan = world.plan_file();
    assert_eq!(plan["format"], "scoreline.dev/plan/v1");
    assert_eq!(out.json::<Value>(), plan, "stdout is the plan");
    assert_eq!(plan["inputs"]["files"][0]["path"], "shop/score.yaml");
    let score = std::fs::read(world.work().join("shop/score.yaml")).unwrap();
    assert_eq!(
        plan["inputs"]["files"][0]["sha256"].as_str().unwrap(),
        format!("sha256:{}", sha256_hex(&score))
    );
    let envs = plan["environments"].as_array().unwrap();
    assert_eq!(envs.len(), 2);
    for env in envs {
        assert!(env["id"].as_str().unwrap().starts_with("sha256:"), "{env}");
        assert!(env.get("deployed").is_none(), "nothing deployed yet: {env}");
        assert!(env["revision"].get("folder").is_none(), "{env}");
        let changes = env["changes"].as_array().unwrap();
        assert!(changes.len() > 3, "{env}");
        assert!(
            changes.iter().all(|c| c["change"] == "added"),
            "{changes:?}"
        );
        let db = env["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["type"] == "postgres")
            .unwrap();
        assert_eq!(db["resource"][0], "shop.db");
        assert_eq!(db["class"], "default");
        assert!(!db["definition"].as_str().unwrap().is_empty());
        assert_eq!(env["images"][0]["image"], FIRST);
        assert_eq!(env["images"][0]["pinned"], true);
    }
    // The render's id is keyed: a plan made with another key binds another id.
    let other = world
        .plan_cli(&["staging"], FIRST)
        .env("SCORELINE_KEY", "another-platform-key-0123456789abcdef")
        .args(["--output", "json"])
        .run()
        .success()
        .json::<Value>();
    assert_ne!(other["environments"][0]["id"], envs[0]["id"]);
    // Secrets masked in the diff: only their digests show.
    let diff: String = envs[0]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["diff"].as_str().unwrap())
        .collect();
    assert!(diff.contains("(hidden, digest "), "{diff}");

    let summary = std::fs::read_to_string(steps.path().join("summary.md")).unwrap();
    assert!(summary.contains("### Plan for `shop`"), "{summary}");
    assert!(summary.contains("- `staging`: "), "{summary}");
    assert!(
        summary.contains("| resource | type | class | definition |"),
        "{summary}"
    );
    assert!(
        summary.contains("| shop.db | postgres | default |"),
        "{summary}"
    );
    assert!(
        summary.contains(&format!("| shop.web | {FIRST} | yes |")),
        "{summary}"
    );
    assert!(
        summary.contains("<details><summary>Diff for staging</summary>"),
        "{summary}"
    );
    let junit = std::fs::read_to_string(world.work().join("plan.xml")).unwrap();
    assert!(junit.contains("tests=\"2\" failures=\"0\""), "{junit}");
    assert_no_secret(
        &secrets,
        &out,
        &[
            world.work().join("plan.json"),
            world.work().join("plan.xml"),
            steps.path().join("summary.md"),
        ],
    );
    // Nothing was delivered.
    assert!(world.git(&["for-each-ref"]).trim().is_empty());
}

#[test]
fn plan_then_deploy_plan_pushes_exactly_the_planned_render() {
    let world = World::new();
    world.deploy("staging", FIRST).success();
    let before = world.tip();
    world.plan_to_file(&["staging"], SECOND);
    let plan = world.plan_file();
    let env = &plan["environments"][0];
    assert_eq!(env["revision"]["tip"], before.as_str());
    assert_eq!(
        env["revision"]["folder"].as_str().unwrap(),
        world.git(&["rev-parse", "main:staging/shop"]).trim()
    );
    assert_eq!(env["deployed"], world.record("staging/shop")["id"]);
    assert!(
        env["changes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["object"] == "Deployment/shop" && c["change"] == "changed")
    );

    let out = world.deploy_plan().run().success();
    assert!(
        out.stderr.contains("deployed shop to staging"),
        "{}",
        out.streams()
    );
    assert_eq!(
        world.record("staging/shop")["id"],
        env["id"],
        "the record is the planned render"
    );
    assert_eq!(world.record("staging/shop")["images"][0]["image"], SECOND);
    assert_eq!(
        world.git(&["rev-parse", "main~1"]).trim(),
        before,
        "one commit on the planned tip"
    );
}

#[test]
fn deploy_plan_refuses_when_another_deploy_moved_the_folder_and_pushes_nothing() {
    let world = World::new();
    world.plan_to_file(&["staging"], FIRST);
    world.deploy("staging", SECOND).success();
    let tip = world.tip();
    let out = world.deploy_plan().run().fails(3);
    out.stderr_has("environment `staging`");
    out.stderr_has("staging/shop moved since the plan was made: planned no folder, now folder ");
    out.stderr_has("run `scoreline plan` again");
    assert_eq!(world.tip(), tip, "nothing pushed");
    assert_eq!(world.record("staging/shop")["images"][0]["image"], SECOND);
}

#[test]
fn deploy_plan_refuses_when_a_direct_commit_changed_the_folder() {
    let world = World::new();
    world.deploy("staging", FIRST).success();
    world.plan_to_file(&["staging"], SECOND);
    world.add_file("staging/shop", "by-hand.yaml");
    let tip = world.tip();
    world
        .deploy_plan()
        .run()
        .fails(3)
        .stderr_has("moved since the plan was made");
    assert_eq!(world.tip(), tip);
}

#[test]
fn deploy_plan_goes_on_when_only_other_folders_moved() {
    let world = World::new();
    world.plan_to_file(&["staging"], FIRST);
    world.deploy("production", SECOND).success();
    world.add_file("elsewhere", "x.yaml");
    world.deploy_plan().run().success();
    assert_eq!(
        world.record("staging/shop")["id"],
        world.plan_file()["environments"][0]["id"]
    );
    assert!(world.holds("production/shop"));
}

#[test]
fn deploy_plan_refuses_changed_inputs() {
    let world = World::new();
    world.plan_to_file(&["staging"], FIRST);
    // Another platform key: the same inputs render another keyed id.
    world
        .deploy_plan()
        .env("SCORELINE_KEY", "another-platform-key-0123456789abcdef")
        .run()
        .fails(3)
        .stderr_has("the render differs from the plan's");
    // A changed baseline.
    let policy = world.work().join("platform/environments.yaml");
    let environments = std::fs::read_to_string(&policy).unwrap();
    std::fs::write(
        &policy,
        environments.replace("namespace: shop-staging", "namespace: shop-staging-2"),
    )
    .unwrap();
    world
        .deploy_plan()
        .run()
        .fails(3)
        .stderr_has("the baseline changed (planned revision ");
    std::fs::write(&policy, environments).unwrap();
    // A changed Score file.
    let score = world.work().join("shop/score.yaml");
    let mut text = std::fs::read_to_string(&score).unwrap();
    text.push_str("# edited\n");
    std::fs::write(&score, text).unwrap();
    let out = world.deploy_plan().run().fails(3);
    out.stderr_has(
        "the Score file shop/score.yaml changed since the plan was made (planned sha256:",
    );
    out.stderr_has("nothing was delivered");
    assert!(
        world.git(&["for-each-ref"]).trim().is_empty(),
        "nothing pushed"
    );
}

#[test]
fn deploy_plan_of_a_plan_of_several_environments_needs_env() {
    let world = World::new();
    world.plan_to_file(&["staging", "production"], FIRST);
    world
        .deploy_plan()
        .run()
        .fails(2)
        .stderr_has("name the one to deploy with --env");
    world
        .deploy_plan()
        .args(["--env", "throwaway"])
        .run()
        .fails(2)
        .stderr_has("the plan has no environment `throwaway` (it plans staging, production)");
    world
        .deploy_plan()
        .args(["--env", "production"])
        .run()
        .success();
    assert!(world.holds("production/shop") && !world.holds("staging/shop"));
    std::fs::write(
        world.work().join("plan.json"),
        r#"{"format":"scoreline.dev/plan/v9"}"#,
    )
    .unwrap();
    world
        .deploy_plan()
        .run()
        .fails(2)
        .stderr_has("is a plan of format `scoreline.dev/plan/v9`");
    world
        .deploy_plan()
        .args(["-f", "shop/score.yaml"])
        .run()
        .fails(2);
}

/// A pre-receive hook that holds the first push until `go` exists in `dir` (later pushes pass):
/// a push landing meanwhile makes the held one lose the race when it updates the branch.
fn hold_first_push(world: &World, dir: &Path) {
    world.hook(&format!(
        "#!/bin/sh\ncat >/dev/null\nif [ ! -e '{d}/first' ]; then\n  touch '{d}/first'\n  i=0\n  while [ ! -e '{d}/go' ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done\nfi\nexit 0\n",
        d = dir.display()
    ));
}

/// A world with production deployed (the branch exists) and staging planned with FIRST.
fn staging_planned() -> World {
    let world = World::new();
    world.deploy("production", FIRST).success();
    world.plan_to_file(&["staging"], FIRST);
    world
}

/// Runs `deploy --plan` with its push held while `meanwhile` pushes something else.
fn race(world: &World, meanwhile: impl FnOnce()) -> Outcome {
    let flags = tempfile::tempdir().unwrap();
    hold_first_push(world, flags.path());
    let running = world.deploy_plan().spawn();
    let started = std::time::Instant::now();
    while !flags.path().join("first").exists() {
        assert!(started.elapsed().as_secs() < 60, "the deploy never pushed");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    meanwhile();
    std::fs::write(flags.path().join("go"), "").unwrap();
    running.wait()
}

#[test]
fn a_push_race_lost_to_a_change_of_the_planned_folder_refuses() {
    let world = staging_planned();
    let out = race(&world, || world.add_file("staging/shop", "by-hand.yaml"));
    out.fails(3)
        .stderr_has("staging/shop moved since the plan was made");
    assert!(
        !world.holds("staging/shop"),
        "only the hand-made file is there"
    );
    assert_eq!(
        world.commits(),
        2,
        "production's deploy and the hand-made commit"
    );
}

#[test]
fn a_push_race_lost_to_another_folder_is_retried_and_lands() {
    let world = staging_planned();
    let out = race(&world, || world.add_file("elsewhere", "x.yaml"));
    out.success();
    assert_eq!(
        world.record("staging/shop")["id"],
        world.plan_file()["environments"][0]["id"]
    );
    assert_eq!(
        world.commits(),
        3,
        "production's deploy, the other commit, the plan's"
    );
}

#[test]
fn deploy_plan_to_a_local_folder_checks_its_newest_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path();
    git(work, &["init", "--quiet"]);
    super::copy_shop(&work.join("shop"));
    let plan = |image: &str| {
        Cli::new([
            "plan",
            "-f",
            "shop/score.yaml",
            "--env",
            "development",
            "--image",
        ])
        .arg(format!("web={image}"))
        .args(["--out", "plan.json"])
        .dir(work)
        .run()
        .success()
    };
    let deploy = |image: &str| {
        Cli::new(["deploy", "-f", "shop/score.yaml", "--image"])
            .arg(format!("web={image}"))
            .dir(work)
            .run()
            .success()
    };
    deploy(FIRST);
    plan(SECOND);
    let planned = read_json(&work.join("plan.json"));
    assert_eq!(
        planned["environments"][0]["revision"]["folder"],
        "000001.json"
    );
    deploy("ghcr.io/acme/shop:other");
    let files = || files_below(&work.join(".scoreline/deploy"), &|_| true);
    let before = files().len();
    Cli::new(["deploy", "--plan", "plan.json"])
        .dir(work)
        .run()
        .fails(3)
        .stderr_has("planned folder 000001.json, now folder 000002.json");
    assert_eq!(files().len(), before);
    plan(SECOND);
    Cli::new(["deploy", "--plan", "plan.json"])
        .dir(work)
        .run()
        .success();
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
