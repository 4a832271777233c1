//! Secrets that text transformations would hide from redaction: a value escaped for Markdown,
//! HTML or XML, cut to a length or to its last lines, or Debug-formatted, no longer reads as
//! itself, so redaction must come first. Each test routes one such secret through the CLI and
//! searches every surface (stdout, stderr and its annotations, the job summaries, the JUnit
//! report, the forge's requests, the environment repository) for any fragment of it, in every
//! reading a viewer has of that surface (as written; Markdown/HTML/XML unescaped; workflow
//! command escapes undone).

use std::path::Path;

use serde_json::json;

use crate::deploy::World;
use crate::forge::{Fake, TOKEN, github_deploy};
use crate::support::git::git;
use crate::support::leak::{fragments_shown, visible};
use crate::support::{Cli, Outcome, write_files};

const ENVIRONMENTS: &str = "environments:\n  - name: dev\n    type: development\n    namespace: dev\n    delivery: { kind: dir, path: \"out/{env}/{app}\" }\n";
const APP: &str = "apiVersion: score.dev/v1b1\nmetadata:\n  name: app\ncontainers:\n  main:\n    image: nginx\n    variables:\n      TOKEN: ${resources.vault.token}\nresources:\n  vault:\n    type: vault\n";

/// A project whose `vault` resource is `spec` (after `driver:`).
fn project(spec: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write_files(
        dir.path(),
        &[
            ("score.yaml", APP),
            ("platform/environments.yaml", ENVIRONMENTS),
            (
                "platform/resources/vault.yaml",
                &format!(
                    "apiVersion: scoreline.dev/v1\nkind: ResourceDefinition\nmetadata:\n  name: vault\nspec:\n  type: vault\n  criteria: [{{}}]\n{spec}"
                ),
            ),
        ],
    );
    dir
}

/// Runs `args` in `dir` as a GitHub Actions step with `--summary` and the step summary, and
/// returns every surface it wrote: (name, text).
fn surfaces(dir: &Path, cli: Cli, junit: bool) -> (Outcome, Vec<(String, String)>) {
    let cli = cli
        .dir(dir)
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_STEP_SUMMARY", dir.join("gh.md"))
        .arg("--summary")
        .arg(dir.join("sum.md"));
    let cli = if junit {
        cli.arg("--junit").arg(dir.join("report.xml"))
    } else {
        cli
    };
    let outcome = cli.run();
    let mut places = vec![
        ("stdout".to_owned(), visible(&outcome.stdout)),
        ("stderr".to_owned(), visible(&outcome.stderr)),
    ];
    for file in ["gh.md", "sum.md", "report.xml"] {
        if let Ok(text) = std::fs::read_to_string(dir.join(file)) {
            places.push((file.to_owned(), text));
        }
    }
    (outcome, places)
}

fn assert_hidden(secret: &str, places: &[(String, String)]) {
    let found = fragments_shown(secret, places);
    assert!(
        found.is_empty(),
        "{}\n\n{}",
        found.join("\n"),
        places
            .iter()
            .map(|(p, t)| format!("--- {p}\n{t}"))
            .collect::<String>()
    );
}

/// A secret with every character Markdown, HTML and XML escape, refused by a template's
/// `fail()` that quotes it: the error, the summaries' problem tables and paragraphs, the JUnit
/// report and the annotation must all show it masked.
#[test]
fn a_secret_escaped_for_markdown_html_or_xml_is_still_masked() {
    let token = "tok&en<secret>|value-\"quoted\"-'apos'-0123456789";
    let dir = project(
        "  driver: template\n  template:\n    secrets: |\n      {% set t = env(\"VAULT_TOKEN\") %}{% if not t.startswith(\"hvs.\") %}{{ fail(\"VAULT_TOKEN is not a Vault token: \" ~ t) }}{% endif %}token: {{ t | tojson }}\n",
    );
    for (command, junit) in [("plan", true), ("render", false)] {
        let (outcome, places) = surfaces(
            dir.path(),
            Cli::new([command, "--platform", "platform", "--env", "dev"]).env("VAULT_TOKEN", token),
            junit,
        );
        assert_ne!(outcome.code(), Some(0), "{}", outcome.all());
        outcome.stderr_has("VAULT_TOKEN is not a Vault token: ••••••");
        let summary = &places.iter().find(|(p, _)| p == "sum.md").unwrap().1;
        assert!(summary.contains("not a Vault token: ••••••"), "{summary}");
        assert_hidden(token, &places);
    }
}

/// A 27-line PEM key given to a failing `cmd` program that prints it (and one line of it on
/// its own) on stderr: the stderr shown is masked before its last lines are kept, and each
/// line of a multi-line secret is masked on its own.
#[test]
fn a_multi_line_secret_printed_by_a_failing_program_is_masked_whole_and_by_line() {
    // Distinct lines of base64-looking text (a linear congruential sequence).
    let mut state: u64 = 0x5eed;
    let body: String = (0..25)
        .map(|_| {
            let line: String = (0..64)
                .map(|_| {
                    state = state
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    let n = (state >> 58) as usize;
                    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"[n] as char
                })
                .collect();
            line + "\n"
        })
        .collect();
    let key = format!("-----BEGIN PRIVATE KEY-----\n{body}-----END PRIVATE KEY-----");
    let dir = project(
        "  driver: cmd\n  env: [TLS_KEY]\n  command: [sh, -c, 'printf \"%s\\n\" \"$TLS_KEY\" >&2; printf \"line 3: %s\\n\" \"$(printf \"%s\\n\" \"$TLS_KEY\" | sed -n 3p)\" >&2; exit 1']\n",
    );
    let (outcome, places) = surfaces(
        dir.path(),
        Cli::new(["plan", "--platform", "platform", "--env", "dev"]).env("TLS_KEY", &key),
        true,
    );
    outcome.stderr_has("its stderr:");
    outcome.stderr_has("line 3: ••••••");
    assert_hidden(&key, &places);
}

/// A forge (a proxy in front of it) answering an error with an HTML page that echoes the
/// request's Authorization header across the point where the message is shortened: the
/// warning on stderr, its annotation and the summary show none of the token.
#[test]
fn a_token_echoed_in_a_long_error_page_is_masked_before_it_is_cut_on_the_github_fake() {
    let world = World::new();
    let fake = Fake::start(json!({"user": "scoreline-bot", "faults": [
        {"method": "POST", "path": "/deployments$", "status": 422, "times": 1, "echo_auth_at": 275},
    ]}));
    let steps = tempfile::tempdir().unwrap();
    let out = github_deploy(&world, &fake, "nginx:1.27")
        .args(["--deployment"])
        .env("GITHUB_STEP_SUMMARY", steps.path().join("gh.md"))
        .run()
        .success();
    out.stderr_has("deployment status not reported");
    out.stderr_has("HTTP 422");
    let places = vec![
        ("stdout".to_owned(), visible(&out.stdout)),
        ("stderr".to_owned(), visible(&out.stderr)),
        (
            "gh.md".to_owned(),
            std::fs::read_to_string(steps.path().join("gh.md")).unwrap_or_default(),
        ),
    ];
    assert_hidden(TOKEN, &places);
}

/// A source repository whose remote URL holds a password with a raw `/` and a token in its
/// query: neither reaches the deployment's record or commit message.
#[test]
fn credentials_in_the_source_remote_reach_no_record_or_commit() {
    let world = World::new();
    let (password, token) = ("pa/ss-Word-0123456789", "glpat-QueryToken-0123456789");
    git(
        &world.work(),
        &[
            "remote",
            "add",
            "origin",
            &format!(
                "https://ci:{password}@git.example.com/acme/shop.git?private_token={token}&ref=main"
            ),
        ],
    );
    let out = world.deploy("throwaway", "nginx:1.27").success();
    let log = git(&world.repo(), &["log", "--all", "--format=%B"]);
    assert!(log.contains("git.example.com/acme/shop.git"), "{log}");
    let checkout = world.checkout();
    let mut places = vec![
        ("stdout".to_owned(), visible(&out.stdout)),
        ("stderr".to_owned(), visible(&out.stderr)),
        ("commit messages".to_owned(), log),
    ];
    for file in crate::support::files_below(checkout.path(), &|p| {
        !p.components().any(|c| c.as_os_str() == ".git")
    }) {
        places.push((
            file.display().to_string(),
            std::fs::read_to_string(&file).unwrap_or_default(),
        ));
    }
    assert_hidden(password, &places);
    assert_hidden(token, &places);
}
