//! CI surfaces through the CLI: job summaries under GitHub Actions ($GITHUB_STEP_SUMMARY) and
//! GitLab CI (a summary file and collapsible log sections), their 1 MiB cap, JUnit reports
//! (read back by Python's XML parser), and environment URLs in step outputs and dotenv files.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::support::{Cli, export_baseline, text, write_files};

/// A run under GitHub Actions with its step files in `steps`.
fn github(cli: Cli, steps: &Path) -> Cli {
    cli.env("GITHUB_ACTIONS", "true")
        .env("GITHUB_OUTPUT", steps.join("output"))
        .env("GITHUB_STEP_SUMMARY", steps.join("summary.md"))
        .env("GITHUB_SERVER_URL", "https://github.com")
        .env("GITHUB_REPOSITORY", "acme/shop")
        .env("GITHUB_RUN_ID", "42")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A JUnit report as Python's XML parser reads it: per test suite its name, its `tests` and
/// `failures` attributes, and per test case its name, classname and failure message (if any).
fn junit(path: &Path) -> Value {
    let script = r#"
import json, sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
assert root.tag == "testsuites", root.tag
suites = []
for suite in root.findall("testsuite"):
    cases = []
    for case in suite.findall("testcase"):
        failure = case.find("failure")
        assert case.get("classname"), case.attrib
        cases.append({"name": case.get("name"), "failure": None if failure is None else failure.get("message"), "text": None if failure is None else failure.text})
    assert int(suite.get("tests")) == len(cases)
    assert int(suite.get("failures")) == sum(1 for c in cases if c["failure"] is not None)
    suites.append({"name": suite.get("name"), "tests": len(cases), "failures": int(suite.get("failures")), "cases": cases})
assert int(root.get("tests")) == sum(s["tests"] for s in suites)
print(json.dumps(suites))
"#;
    let out = Command::new("python3")
        .args(["-c", script])
        .arg(path)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{}: {}",
        path.display(),
        text(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

const VALID: &str =
    "apiVersion: score.dev/v1b1\nmetadata:\n  name: web\ncontainers:\n  main:\n    image: nginx\n";
/// An unknown field at line 6, column 5, and a message with characters XML must escape.
const INVALID: &str = "apiVersion: score.dev/v1b1\nmetadata:\n  name: api\ncontainers:\n  main:\n    imagee: \"<&>\"\n";

#[test]
fn validate_writes_junit_and_a_summary_of_its_problems_even_when_it_fails() {
    let dir = tempfile::tempdir().unwrap();
    write_files(dir.path(), &[("ok.yaml", VALID), ("bad.yaml", INVALID)]);
    let out = github(
        Cli::new(["validate", "ok.yaml", "bad.yaml", "--junit", "report.xml"]),
        dir.path(),
    )
    .dir(dir.path())
    .run()
    .fails(2);
    out.stderr_has("bad.yaml:6:5");
    let suites = junit(&dir.path().join("report.xml"));
    assert_eq!(suites[0]["name"], "scoreline validate");
    assert_eq!(
        (suites[0]["tests"].as_u64(), suites[0]["failures"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(suites[0]["cases"][0]["name"], "ok.yaml");
    assert_eq!(suites[0]["cases"][0]["failure"], Value::Null);
    let failure = suites[0]["cases"][1]["failure"].as_str().unwrap();
    assert!(failure.starts_with("bad.yaml:6:5: "), "{failure}");
    assert!(failure.contains("imagee"), "{failure}");
    let summary = read(&dir.path().join("summary.md"));
    assert!(
        summary.contains("### ❌ `scoreline validate` failed (exit 2)"),
        "{summary}"
    );
    assert!(summary.contains("| bad.yaml:6:5 | error | "), "{summary}");

    // Valid: a passing report and a summary of the files.
    github(
        Cli::new(["validate", "ok.yaml", "--junit", "report.xml"]),
        dir.path(),
    )
    .dir(dir.path())
    .run()
    .success();
    let suites = junit(&dir.path().join("report.xml"));
    assert_eq!(
        (suites[0]["tests"].as_u64(), suites[0]["failures"].as_u64()),
        (Some(1), Some(0))
    );
    let summary = read(&dir.path().join("summary.md"));
    assert!(
        summary.contains("### ✅ `scoreline validate`: 1 file valid"),
        "{summary}"
    );
    assert!(summary.contains("| ok.yaml | web |"), "{summary}");
}

#[test]
fn baseline_validate_reports_a_case_per_file() {
    let dir = tempfile::tempdir().unwrap();
    let platform = dir.path().join("platform");
    export_baseline(&platform);
    let files = crate::support::files_below(&platform, &|p| {
        p.extension().is_some_and(|e| e == "yaml")
            && !p.components().any(|c| c.as_os_str() == "schemas")
    })
    .len();
    let report = dir.path().join("baseline.xml");
    Cli::new(["baseline", "validate"])
        .arg(&platform)
        .arg("--junit")
        .arg(&report)
        .run()
        .success();
    let suites = junit(&report);
    assert_eq!(suites[0]["name"], "scoreline baseline validate");
    assert_eq!(
        (suites[0]["tests"].as_u64(), suites[0]["failures"].as_u64()),
        (Some(files as u64), Some(0))
    );
    write_files(
        &platform,
        &[(
            "resources/redis.yaml",
            "apiVersion: scoreline.dev/v1\nkind: ResourceDefinition\nmetadata: {name: r}\nspec: {type: redis, driver: nope}\n",
        )],
    );
    Cli::new(["baseline", "validate"])
        .arg(&platform)
        .arg("--junit")
        .arg(&report)
        .run()
        .fails(2);
    let suites = junit(&report);
    assert_eq!(
        (suites[0]["tests"].as_u64(), suites[0]["failures"].as_u64()),
        (Some(files as u64), Some(1))
    );
    let failed: Vec<&Value> = suites[0]["cases"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| !c["failure"].is_null())
        .collect();
    assert!(
        failed[0]["name"]
            .as_str()
            .unwrap()
            .ends_with("resources/redis.yaml"),
        "{failed:?}"
    );
    assert!(
        failed[0]["failure"]
            .as_str()
            .unwrap()
            .contains("redis.yaml:4:"),
        "{failed:?}"
    );
}

/// An app repository with the embedded baseline exported, `environments` replacing its
/// environments.yaml.
fn app(dir: &Path, environments: Option<&str>) {
    write_files(dir, &[("score.yaml", VALID)]);
    export_baseline(&dir.join("platform"));
    if let Some(environments) = environments {
        write_files(dir, &[("platform/environments.yaml", environments)]);
    }
}

const WITH_URL: &str = "environments:\n  - name: development\n    type: development\n    namespace: dev\n    url: \"https://{app}.{env}.example.com\"\n    delivery: { kind: dir, path: \"out/{env}/{app}\" }\n  - name: pr-{n}\n    type: development\n    namespace: pr-{n}\n    url: \"https://pr-{n}.example.com/{app}\"\n    delivery: { kind: dir, path: \"out/{env}/{app}\" }\n";

#[test]
fn deploy_gives_the_environment_url_to_outputs_dotenv_and_the_summary() {
    let dir = tempfile::tempdir().unwrap();
    app(dir.path(), Some(WITH_URL));
    for (env, url) in [
        ("development", "https://web.development.example.com"),
        ("pr-7", "https://pr-7.example.com/web"),
    ] {
        let steps = tempfile::tempdir().unwrap();
        github(
            Cli::new([
                "deploy",
                "--platform",
                "platform",
                "--env",
                env,
                "--dotenv",
                "deploy.env",
            ]),
            steps.path(),
        )
        .dir(dir.path())
        .run()
        .success();
        assert!(read(&steps.path().join("output")).contains(&format!("environment-url={url}\n")));
        assert!(
            read(&dir.path().join("deploy.env")).contains(&format!("\nENVIRONMENT_URL={url}\n"))
        );
        let summary = read(&steps.path().join("summary.md"));
        assert!(
            summary.contains(&format!("### 🚀 deployed `web` to `{env}`")),
            "{summary}"
        );
        assert!(summary.contains("| record | sha256:"), "{summary}");
        assert!(
            summary.contains(&format!("Environment: <{url}>")),
            "{summary}"
        );
        std::fs::remove_file(dir.path().join("deploy.env")).unwrap();
    }
}

#[test]
fn an_environment_url_with_an_unknown_placeholder_is_located() {
    let dir = tempfile::tempdir().unwrap();
    app(dir.path(), None);
    for (from, to, problem) in [
        (
            "{app}.{env}.example",
            "{app}.{region}.example",
            "environments.yaml:5:10: error: url `https://{app}.{region}.example.com` of environment `development` has `{region}`",
        ),
        (
            "{app}.{env}.example",
            "{n}.example",
            "`{n}` only stands for something in a preview pattern",
        ),
        (
            "https://{app}.{env}",
            "ftp://{app}.{env}",
            "environments.yaml:5:10",
        ),
    ] {
        write_files(
            dir.path(),
            &[("platform/environments.yaml", &WITH_URL.replace(from, to))],
        );
        Cli::new(["baseline", "validate", "platform"])
            .dir(dir.path())
            .run()
            .fails(2)
            .stderr_has(problem);
    }
}

#[test]
fn under_gitlab_the_plan_goes_to_a_summary_file_and_its_diffs_into_collapsed_sections() {
    let dir = tempfile::tempdir().unwrap();
    app(dir.path(), None);
    let out = Cli::new([
        "plan",
        "--platform",
        "platform",
        "--env",
        "development",
        "--junit",
        "plan.xml",
    ])
    .env("GITLAB_CI", "true")
    .env(
        "CI_JOB_URL",
        "https://gitlab.example.com/acme/shop/-/jobs/9",
    )
    .dir(dir.path())
    .run()
    .success();
    let start = out
        .stderr
        .find("\x1b[0Ksection_start:")
        .expect("a section opens");
    let end = out.stderr.find("\x1b[0Ksection_end:").expect("and closes");
    assert!(start < end);
    assert!(
        out.stderr[start..]
            .contains(":plan_development[collapsed=true]\r\x1b[0Kdiff for `development`"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr[start..end].contains("+kind: Deployment"),
        "{}",
        out.stderr
    );
    let summary = read(&dir.path().join("scoreline-summary.md"));
    assert!(summary.contains("### Plan for `web`"), "{summary}");
    assert!(summary.contains("- `development`: "), "{summary}");
    let suites = junit(&dir.path().join("plan.xml"));
    assert_eq!(suites[0]["cases"][0]["name"], "development");
    assert_eq!(suites[0]["failures"], 0);

    // --summary names another file, under any CI or none.
    Cli::new(["render", "--platform", "platform", "--summary", "render.md"])
        .dir(dir.path())
        .run()
        .success();
    let summary = read(&dir.path().join("render.md"));
    assert!(
        summary.contains("Rendered `web` for `development`"),
        "{summary}"
    );
    assert!(
        summary.contains("| container | image |\n|---|---|\n| web.main | nginx |"),
        "{summary}"
    );
}

#[test]
fn a_plan_that_fails_in_one_environment_reports_it_in_junit_and_writes_no_plan() {
    let dir = tempfile::tempdir().unwrap();
    app(
        dir.path(),
        Some(
            "environments:\n  - name: development\n    type: development\n    namespace: dev\n    delivery: { kind: dir, path: \"out/{env}/{app}\" }\n  - name: production\n    type: production\n    namespace: prod\n",
        ),
    );
    let out = Cli::new([
        "plan",
        "--platform",
        "platform",
        "--env",
        "development",
        "--env",
        "production",
        "--junit",
        "plan.xml",
        "--out",
        "plan.json",
    ])
    .dir(dir.path())
    .env("SCORELINE_KEY", "a-platform-key-of-32-bytes-or-more!")
    .run();
    assert_ne!(out.code(), Some(0), "{}", out.streams());
    let suites = junit(&dir.path().join("plan.xml"));
    assert_eq!(
        (suites[0]["tests"].as_u64(), suites[0]["failures"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(suites[0]["cases"][1]["name"], "production");
    assert!(
        suites[0]["cases"][1]["failure"]
            .as_str()
            .unwrap()
            .contains("delivery"),
        "{suites}"
    );
    assert!(!dir.path().join("plan.json").exists());
}

#[test]
fn a_summary_near_its_limit_is_cut_with_a_note_and_stays_under_one_mebibyte() {
    let dir = tempfile::tempdir().unwrap();
    app(dir.path(), None);
    let steps = tempfile::tempdir().unwrap();
    let limit = 1024 * 1024;
    // Another step left little room.
    std::fs::write(steps.path().join("summary.md"), "x".repeat(limit - 1000)).unwrap();
    github(
        Cli::new(["plan", "--platform", "platform", "--env", "development"]),
        steps.path(),
    )
    .dir(dir.path())
    .run()
    .success();
    let summary = read(&steps.path().join("summary.md"));
    assert!(summary.len() < limit, "{}", summary.len());
    let added = &summary[limit - 1000..];
    assert!(added.contains("### Plan for `web`"), "{added}");
    assert!(
        added.contains("> **Truncated**: this summary was cut to fit"),
        "{added}"
    );
    assert!(
        added.contains("[the job's log](https://github.com/acme/shop/actions/runs/42)"),
        "{added}"
    );
    // Full: nothing more is added.
    std::fs::write(steps.path().join("summary.md"), "x".repeat(limit - 10)).unwrap();
    github(Cli::new(["render", "--platform", "platform"]), steps.path())
        .dir(dir.path())
        .run()
        .success();
    assert_eq!(read(&steps.path().join("summary.md")).len(), limit - 10);
}

#[test]
fn build_summarises_the_image_it_built() {
    let dir = tempfile::tempdir().unwrap();
    write_files(
        dir.path(),
        &[
            ("Dockerfile", "FROM scratch\nCOPY a.txt /a.txt\n"),
            ("a.txt", "hello\n"),
        ],
    );
    let steps = tempfile::tempdir().unwrap();
    github(
        Cli::new([
            "build",
            "--context",
            ".",
            "--oci-layout",
            "out",
            "--no-cache",
        ]),
        steps.path(),
    )
    .dir(dir.path())
    .run()
    .success();
    let summary = read(&steps.path().join("summary.md"));
    assert!(summary.contains("### 📦 built `sha256:"), "{summary}");
    assert!(summary.contains("| digest | sha256:"), "{summary}");
    assert!(
        summary.contains("| layers from the cache | 0 of 1 |"),
        "{summary}"
    );
}
