//! Secret outputs reach Secret objects only, never plain text, logs or command lines.

use super::render_in;
use crate::support::{object, secret_value, secret_values, snapshot};

#[test]
fn secrets_only_ever_reach_secret_objects() {
    let dir = tempfile::tempdir().unwrap();
    let out = render_in(
        dir.path(),
        &[(
            "score.yaml",
            "apiVersion: score.dev/v1b1\nmetadata:\n  name: api\ncontainers:\n  main:\n    image: nginx\n    variables:\n      DB_HOST: ${resources.db.host}\n      DB_URL: postgres://${resources.db.username}:${resources.db.password}@${resources.db.host}/x\n    files:\n      /etc/pgpass:\n        content: \"*:*:*:*:${resources.db.password}\"\n        mode: \"0600\"\n      /etc/app.conf:\n        content: \"db=${resources.db.host}\"\nresources:\n  db:\n    type: postgres\n",
        )],
    )
    .args(["--output", "json"])
    .env("SCORELINE_KEY", "k-for-test-0123456789abcdef012345")
    .env("GITHUB_ACTIONS", "true")
    .run()
    .success();
    let m = dir.path().join("manifests");
    let password = secret_value(&object(&m, "Secret", "pg-api-db"), "password");
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
    assert!(!out.stdout.contains(&password));
    let stderr = &out.stderr;
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
    let out = render_in(
        dir.path(),
        &[(
            "score.yaml",
            "apiVersion: score.dev/v1b1\nmetadata:\n  name: api\ncontainers:\n  main:\n    image: nginx\n    args: [\"--password\", \"${resources.db.password}\"]\nresources:\n  db:\n    type: postgres\n",
        )],
    )
    .run()
    .fails(3);
    out.stderr_has(
        "score.yaml:7:27: error: a secret output is used in `containers.main.args.1`, which is visible in the pod spec",
    );
    out.stderr_has("$(VARIABLE)");
}

/// A Secret whose `data` or `stringData` is no map of strings (here a definition's string)
/// would slip past the check for secrets outside Secret data: it is refused, naming the object
/// and the field, and nothing is written.
#[test]
fn a_secret_whose_data_is_no_map_of_strings_is_refused() {
    for (field, value) in [
        ("stringData", "\"s3cr3t-in-a-string\""),
        ("data", "[\"eA==\"]"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let definition = format!(
            "apiVersion: scoreline.dev/v1\nkind: ResourceDefinition\nmetadata:\n  name: odd-secret\nspec:\n  type: token\n  driver: template\n  criteria: [{{}}]\n  template:\n    manifests: |\n      - apiVersion: v1\n        kind: Secret\n        metadata:\n          name: {{{{ (\"tok-\" ~ resource.slug) | tojson }}}}\n        {field}: {value}\n"
        );
        let out = render_in(
            dir.path(),
            &[
                (
                    "platform/environments.yaml",
                    "environments:\n  - name: development\n    type: development\n    namespace: dev\n",
                ),
                ("platform/resources/odd-secret.yaml", &definition),
                (
                    "score.yaml",
                    "apiVersion: score.dev/v1b1\nmetadata:\n  name: api\ncontainers:\n  main:\n    image: nginx\nresources:\n  tok:\n    type: token\n",
                ),
            ],
        )
        .args(["--platform", "platform"])
        .run()
        .fails(3);
        out.stderr_has("Secret `tok-api-tok`")
            .stderr_has(&format!("`{field}` is not a map of strings"));
        assert!(!dir.path().join("manifests").exists());
    }
}
