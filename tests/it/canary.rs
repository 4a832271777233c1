//! The secret canary (issue 10): distinctive secret values — the platform key, CI variables
//! read in a definition's `secrets` (by a `static` and by a `template` definition; one with
//! every character Markdown, HTML and XML escape, one a multi-line PEM-like key), a `cmd`
//! program's secrets, a git token, and every password the embedded definitions derive — routed
//! by Score files into every place a workload or a resource's params can put them, through
//! every command: under GitHub Actions on a pull request (step outputs, job summary, dotenv
//! file, `deploy --comment` and `plan --comment` on a forge fake), and `plan` under GitLab CI
//! too (log sections, `./scoreline-summary.md`).
//!
//! One table: a row per routing with the commands it runs and what they must do (succeed, or be
//! refused with an exit code and a message naming the field). After every run no piece of a
//! canary may show (`support::leak`: any 10 characters, as written and with JSON, Markdown/HTML/
//! XML or workflow-command escapes undone; the whole of it base64 or URL-encoded) in stdout,
//! stderr, annotations, step outputs, the summaries (`--summary FILE` on every run), the dotenv
//! file, a plan file, a JUnit report, the requests the forge got, the rendered manifests, or the
//! environment repository (commit messages, records, manifests): only a Secret's data values
//! may hold one, and in `sops` mode only as ciphertext. Each of these places must have been
//! written, so that finding nothing there means something.

use std::path::{Path, PathBuf};

use base64::Engine;
use serde_json::Value;

use crate::forge::{Fake, on_pull_request};
use crate::support::git::{environment_repository, git};
use crate::support::lib::first_yaml_document;
use crate::support::{Cli, Outcome, files_below, leak, write_files};

// No canary holds a run of FRAGMENT characters that ordinary output has (such as
// `0123456789`, in the fake pull request's commit id).

/// The platform key: 40 characters.
const KEY: &str = "KEYcanary-0f3a9c1e5b7d2468a-platform-key";
const _: () = assert!(KEY.len() == 40);
/// The CI variable definitions read in their `secrets`, with every character an encoding
/// changes (JSON `"` `\`, workflow commands `%` `:` `,`, URLs) in it; the second and third
/// values are what later runs are given (a rotated secret).
const TOKENS: [&str; 3] = [
    "tok\"CANARY\\%41:,;/ +&=?#ci-token-0001",
    "tok\"CANARY\\%42:,;/ +&=?#ci-token-0002",
    "tok\"CANARY\\%43:,;/ +&=?#ci-token-0003",
];
const TEMPLATE_TOKEN: &str = "tok2CANARYtemplate-9q7w5e3r1t-abcdefghij";
/// A CI variable with every character Markdown, HTML and XML escape (read by a `static`
/// definition): escaped before redaction, it would no longer read as itself.
const HOSTILE: &str = "hos&t<CANARY>|pipe-\"dq\"-'sq'-9q7w5e3r1t&amp;";
/// A multi-line CI variable shaped as a PEM key (read by a `template` definition): cut at a
/// line boundary before redaction, its lines would show.
const PEM: &str = "-----BEGIN CANARY PRIVATE KEY-----
MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7pemCanaryLine1
q3Zx8vR2mK9tLwYb4NcHs7GfUe1DjPa0XoiV5nTrBlWkQyM6Sd3Ju8zFgEhCpA2Line2
Rt5Ym1Wn0Kc8Xv3Lq9Jb7Hz2Gd6Fs4Ep1Do0Cn5Bm9Al8Zk7Yj6Xi4Wh3Vg2Uf1Te0Line3
-----END CANARY PRIVATE KEY-----";
/// What the `cmd` programs answer with as secrets.
const CMD_SECRET: &str = "cmd/CANARY+vault=9q7w5e3r1tabcdefghijklm";
const CMD_CACHED: &str = "cmd/CANARY+cached=9q7w5e3r1tabcdefghijkl";
/// A git token the run holds (the environment repository is local: it is never sent), also
/// written into the source repository's remote URL.
const GIT_TOKEN: &str = "ghp_GITcanary9q7w5e3r1tabcdefghijklmnopq";

/// A route's params, the workload publishing port 80.
macro_rules! route {
    ($name:literal, $source:literal, $params:literal) => {
        (
            $name,
            concat!(
                "containers:\n  web:\n    image: nginx\nservice:\n  ports:\n    http: { port: 80, targetPort: 8080 }\nresources:\n  ",
                $source,
                "\n  route:\n    type: route\n    params: ",
                $params,
                "\n"
            ),
        )
    };
}

/// A resource of type `kind` (named after it) whose `params.size` is `source`'s secret output.
macro_rules! size_of {
    ($kind:literal, $source:literal, $output:literal) => {
        (
            concat!($kind, " size"),
            concat!(
                "containers:\n  web:\n    image: nginx\nresources:\n  ",
                $source,
                "\n  ",
                $kind,
                ":\n    type: ",
                $kind,
                "\n    params: { size: \"${resources.",
                $output,
                "}\" }\n"
            ),
        )
    };
}

/// Every place a routing can put a secret, and what must come of it: each row's commands run
/// in order, each checked on its own. Resources are named as in `CATALOG`.
#[rustfmt::skip]
const TABLE: &[Row] = &[
    // routing (a Score file)        commands       expected: ok, or refused (exit code, message naming the field)
    row(ROUTED,                      LIFECYCLE,     OK),
    row(METADATA,                    RENDER_DEPLOY, OK),
    row(IMAGE,                       RENDER_ONLY,   OK),
    row(PROBE,                       RENDER_ONLY,   OK),
    row(TARGETS,                     RENDER_ONLY,   OK),
    row(ARGS,                        RENDER_DEPLOY, refused(3, "`containers.web.args.0`")),
    row(COMMAND,                     RENDER_DEPLOY, refused(3, "`containers.web.command.0`")),
    row(COMMAND_CMD,                 RENDER_DEPLOY, refused(3, "`containers.web.command.1`")),
    row(VOLUME_OUTPUT,               RENDER_DEPLOY, refused(2, "volume source `${resources.tok.value}` must be a whole resource reference")),
    row(CLAIM_NAME,                  RENDER_DEPLOY, refused(3, "the volume source of resource `claim`")),
    row(SERVICE_PORT_NAME,           RENDER_DEPLOY, refused(2, "is not a valid name in `service.ports`")),
    row(SERVICE_PORT_NUMBER,         RENDER_ONLY,   refused(2, "`service.ports.http.port` must be an integer")),
    row(ROUTE_HOST,                  RENDER_DEPLOY, refused(3, "Ingress `route-shop-route` field `spec.rules.0.host`")),
    row(ROUTE_PATH,                  RENDER_DEPLOY, refused(3, "Ingress `route-shop-route` field `spec.rules.0.http.paths.0.path`")),
    row(ROUTE_NOT_A_PATH,            RENDER_DEPLOY, refused(2, "params.path must start with /, got ••••••")),
    row(ROUTE_NOT_A_PATH_HOSTILE,    RENDER_DEPLOY, refused(2, "params.path must start with /, got ••••••")),
    row(ROUTE_PORT,                  RENDER_DEPLOY, refused(2, "has no service port `••••••`")),
    row(ROUTE_PORT_PEM,              RENDER_DEPLOY, refused(2, "has no service port `••••••`")),
    row(ROUTE_PORT_DERIVED,          RENDER_DEPLOY, refused(2, "has no service port `••••••`")),
    row(DNS_PARAMS,                  RENDER_DEPLOY, OK),
    row(VOLUME_SIZE,                 RENDER_DEPLOY, refused(3, "PersistentVolumeClaim `vol-shop-data` field `spec.resources.requests.storage`")),
    row(S3_PARAMS,                   RENDER_DEPLOY, OK),
    row(KAFKA_PARAMS,                RENDER_DEPLOY, OK),
    row(size_of!("postgres", "db: { type: postgres }", "db.password"),
                                     RENDER_DEPLOY, refused(3, "StatefulSet `pg-shop-postgres` field `spec.volumeClaimTemplates.0.spec.resources.requests.storage`")),
    row(size_of!("redis", "tok: { type: ci-token }", "tok.value"),
                                     RENDER_DEPLOY, refused(3, "StatefulSet `redis-shop-redis` field `spec.volumeClaimTemplates.0")),
    row(size_of!("mongodb", "tok2: { type: ci-token-t }", "tok2.value"),
                                     RENDER_DEPLOY, refused(3, "StatefulSet `mongo-shop-mongodb` field `spec.volumeClaimTemplates.0")),
    row(size_of!("mysql", "vault: { type: vault }", "vault.value"),
                                     RENDER_DEPLOY, refused(3, "StatefulSet `mysql-shop-mysql` field `spec.volumeClaimTemplates.0")),
    row(size_of!("amqp", "s3: { type: s3 }", "s3.secret_key"),
                                     RENDER_DEPLOY, refused(3, "StatefulSet `rabbitmq-shop-amqp` field `spec.volumeClaimTemplates.0")),
    row(size_of!("elasticsearch", "db: { type: postgres }", "db.password"),
                                     RENDER_DEPLOY, refused(3, "StatefulSet `es-shop-elasticsearch` field `spec.volumeClaimTemplates.0")),
    row(size_of!("mssql", "tok: { type: ci-token }", "tok.value"),
                                     RENDER_DEPLOY, refused(3, "StatefulSet `mssql-shop-mssql` field `spec.volumeClaimTemplates.0")),
    row(size_of!("postgres-instance", "s3: { type: s3 }", "s3.access_key_id"),
                                     RENDER_DEPLOY, refused(3, "StatefulSet `pgi-shop-postgres-instance` field `spec.volumeClaimTemplates.0")),
    row(SERVICE_PORT_WORKLOAD,       RENDER_DEPLOY, refused(2, "params.workload `••••••` is not a workload")),
    row(SECRET_DATA_KEY,             RENDER_DEPLOY, refused(3, "Secret `htpasswd-shop-users` field `data.••••••`")),
    row(KEY_IN_OUTPUTS,              RENDER_DEPLOY, refused(3, "holds a secret value (SCORELINE_KEY) in `spec.template.spec.containers.0.env.0.value`")),
    row(GIT_TOKEN_IN_OUTPUTS,        RENDER_DEPLOY, refused(3, "holds a secret value (GIT_TOKEN) in `spec.template.spec.containers.0.env.0.value`")),
    row(CMD_MANIFEST,                RENDER_DEPLOY, refused(3, "ConfigMap `vault-cache` (from resource `cache` of workload `shop` (definition `vault-cm`)) holds a secret value")),
];

// --- Routings: a Score file's body after `metadata.name: shop`.

/// Every secret into the places made for them: variables (secretKeyRef), file content and a
/// source file (the workload's Secret).
const ROUTED: Routing = (
    "variables, files, source files",
    r#"containers:
  web:
    image: nginx@sha256:5555555555555555555555555555555555555555555555555555555555555555
    variables:
      DB_URL: postgres://${resources.db.username}:${resources.db.password}@${resources.db.host}/shop
      TOKEN: ${resources.tok.value}
      TOKEN2: ${resources.tok2.value}
      VAULT: ${resources.vault.value}
      S3_KEY: ${resources.s3.access_key_id}
      S3_SECRET: ${resources.s3.aws_secret_key}
      REDIS: redis://:${resources.redis.password}@${resources.redis.host}
      HOSTILE: ${resources.hostile.value}
      PEM: ${resources.pem.value}
    files:
      /etc/app/inline.conf:
        content: "password=${resources.db.password} token=${resources.tok.value}"
      /etc/app/source.conf:
        source: config/app.conf
resources:
  db: { type: postgres }
  tok: { type: ci-token }
  tok2: { type: ci-token-t }
  vault: { type: vault }
  s3: { type: s3 }
  redis: { type: redis }
  hostile: { type: ci-hostile }
  pem: { type: ci-pem }
"#,
);

/// Annotations and labels are the workload's own: never expanded, never rendered.
const METADATA: Routing = (
    "workload annotations and labels",
    r#"  annotations:
    team: ${resources.db.password}
  labels:
    tier: ${resources.tok.value}
containers:
  web:
    image: nginx
    variables:
      TEAM: ${metadata.annotations.team}
resources:
  db: { type: postgres }
  tok: { type: ci-token }
"#,
);

/// Not expanded: the image is used as written.
const IMAGE: Routing = (
    "container image",
    r#"containers:
  web:
    image: nginx:${resources.db.password}
resources:
  db: { type: postgres }
"#,
);

/// Not expanded: probes are used as written.
const PROBE: Routing = (
    "probe path and header",
    r#"containers:
  web:
    image: nginx
    livenessProbe:
      httpGet:
        path: /${resources.tok.value}
        port: 80
        httpHeaders: [{ name: X-Token, value: "${resources.db.password}" }]
resources:
  db: { type: postgres }
  tok: { type: ci-token }
"#,
);

/// Not expanded: file and volume targets and sub paths are used as written.
const TARGETS: Routing = (
    "file and volume targets, sub path",
    r#"containers:
  web:
    image: nginx
    files:
      "/etc/${resources.tok.value}":
        content: x
    volumes:
      "/data/${resources.db.password}":
        source: existing-claim
        path: ${resources.tok.value}
resources:
  db: { type: postgres }
  tok: { type: ci-token }
"#,
);

const ARGS: Routing = (
    "args",
    r#"containers:
  web:
    image: nginx
    args: ["--token=${resources.tok.value}"]
resources:
  tok: { type: ci-token }
"#,
);

const COMMAND: Routing = (
    "command",
    r#"containers:
  web:
    image: nginx
    command: ["${resources.db.password}"]
resources:
  db: { type: postgres }
"#,
);

const COMMAND_CMD: Routing = (
    "command (a cmd program's secret)",
    r#"containers:
  web:
    image: nginx
    command: [run, "${resources.vault.value}"]
resources:
  vault: { type: vault }
"#,
);

const VOLUME_OUTPUT: Routing = (
    "volume source (an output)",
    r#"containers:
  web:
    image: nginx
    volumes:
      /data:
        source: ${resources.tok.value}
resources:
  tok: { type: ci-token }
"#,
);

const CLAIM_NAME: Routing = (
    "volume claim name (params)",
    r#"containers:
  web:
    image: nginx
    volumes:
      /data:
        source: ${resources.claim}
resources:
  tok2: { type: ci-token-t }
  claim:
    type: named-volume
    params: { claim: "${resources.tok2.value}" }
"#,
);

const SERVICE_PORT_NAME: Routing = (
    "service port name",
    r#"containers:
  web:
    image: nginx
service:
  ports:
    "${resources.db.password}": { port: 80 }
resources:
  db: { type: postgres }
"#,
);

const SERVICE_PORT_NUMBER: Routing = (
    "service port number",
    r#"containers:
  web:
    image: nginx
service:
  ports:
    http: { port: "${resources.db.password}" }
resources:
  db: { type: postgres }
"#,
);

const ROUTE_HOST: Routing = route!(
    "route host",
    "db: { type: postgres }",
    r#"{ host: "${resources.db.password}.example.com", path: /, port: 80 }"#
);
const ROUTE_PATH: Routing = route!(
    "route path",
    "tok: { type: ci-token }",
    r#"{ host: shop.example.com, path: "/${resources.tok.value}", port: http }"#
);
const ROUTE_NOT_A_PATH: Routing = route!(
    "route path (not a path)",
    "tok: { type: ci-token }",
    r#"{ host: shop.example.com, path: "${resources.tok.value}", port: http }"#
);
const ROUTE_NOT_A_PATH_HOSTILE: Routing = route!(
    "route path (not a path, Markdown/HTML/XML characters)",
    "hostile: { type: ci-hostile }",
    r#"{ host: shop.example.com, path: "${resources.hostile.value}", port: http }"#
);
const ROUTE_PORT_PEM: Routing = route!(
    "route port (a multi-line secret)",
    "pem: { type: ci-pem }",
    r#"{ host: shop.example.com, path: /, port: "${resources.pem.value}" }"#
);
const ROUTE_PORT: Routing = route!(
    "route port",
    "tok2: { type: ci-token-t }",
    r#"{ host: shop.example.com, path: /, port: "${resources.tok2.value}" }"#
);
const ROUTE_PORT_DERIVED: Routing = route!(
    "route port (built from a derived value)",
    "s3: { type: s3 }",
    r#"{ host: shop.example.com, path: /, port: "${resources.s3.access_key_id}" }"#
);

const DNS_PARAMS: Routing = (
    "dns params",
    r#"containers:
  web:
    image: nginx
    variables:
      HOST: ${resources.dns.host}
resources:
  tok: { type: ci-token }
  dns:
    type: dns
    params: { host: "${resources.tok.value}", name: "${resources.tok.value}" }
"#,
);

const VOLUME_SIZE: Routing = (
    "volume size",
    r#"containers:
  web:
    image: nginx
    volumes:
      /data:
        source: ${resources.data}
resources:
  db: { type: postgres }
  data:
    type: volume
    params: { size: "${resources.db.password}" }
"#,
);

const S3_PARAMS: Routing = (
    "s3 params",
    r#"containers:
  web:
    image: nginx
    variables:
      BUCKET: ${resources.s3.bucket}
resources:
  vault: { type: vault }
  s3:
    type: s3
    params: { bucket: "${resources.vault.value}", region: "${resources.vault.value}" }
"#,
);

const KAFKA_PARAMS: Routing = (
    "kafka-topic params",
    r#"containers:
  web:
    image: nginx
    variables:
      TOPIC: ${resources.kafka-topic.name}
resources:
  tok: { type: ci-token }
  kafka-topic:
    type: kafka-topic
    params: { partitions: "${resources.tok.value}" }
"#,
);

const SERVICE_PORT_WORKLOAD: Routing = (
    "service-port params",
    r#"containers:
  web:
    image: nginx
resources:
  tok: { type: ci-token }
  peer:
    type: service-port
    params: { workload: "${resources.tok.value}", port: http }
"#,
);

/// A (platform) definition naming a Secret's data key after a param.
const SECRET_DATA_KEY: Routing = (
    "Secret data key (params)",
    r#"containers:
  web:
    image: nginx
resources:
  tok2: { type: ci-token-t }
  users:
    type: htpasswd
    params: { user: "${resources.tok2.value}" }
"#,
);

/// A (platform) definition that reads the platform key in its outputs, by mistake.
const KEY_IN_OUTPUTS: Routing = (
    "platform key in a definition's outputs",
    r#"containers:
  web:
    image: nginx
    variables:
      VALUE: ${resources.leak.value}
resources:
  leak: { type: leaky-key }
"#,
);

const GIT_TOKEN_IN_OUTPUTS: Routing = (
    "git token in a definition's outputs",
    r#"containers:
  web:
    image: nginx
    variables:
      VALUE: ${resources.leak.value}
resources:
  leak: { type: leaky-git }
"#,
);

/// A `cmd` program that puts its own secret into a ConfigMap.
const CMD_MANIFEST: Routing = (
    "cmd program's manifests",
    r#"containers:
  web:
    image: nginx
resources:
  cache: { type: vault-cm }
"#,
);

// --- The platform: the embedded baseline, the deploy tests' git environments (one per secrets
// mode, see `deploy::ENVIRONMENTS`) and the definitions the canaries come from.

const DEFINITIONS: &str = r#"apiVersion: scoreline.dev/v1
kind: ResourceDefinition
metadata: { name: ci-token }
spec:
  type: ci-token
  driver: static
  criteria: [{}]
  outputs: { user: svc }
  secrets: { value: "${env.CANARY_TOKEN}" }
---
apiVersion: scoreline.dev/v1
kind: ResourceDefinition
metadata: { name: ci-token-t }
spec:
  type: ci-token-t
  driver: template
  criteria: [{}]
  template:
    secrets: |
      value: {{ env("CANARY_TOKEN2") | tojson }}
---
apiVersion: scoreline.dev/v1
kind: ResourceDefinition
metadata: { name: ci-hostile }
spec:
  type: ci-hostile
  driver: static
  criteria: [{}]
  secrets: { value: "${env.CANARY_HOSTILE}" }
---
apiVersion: scoreline.dev/v1
kind: ResourceDefinition
metadata: { name: ci-pem }
spec:
  type: ci-pem
  driver: template
  criteria: [{}]
  template:
    secrets: |
      value: {{ env("CANARY_PEM") | tojson }}
---
apiVersion: scoreline.dev/v1
kind: ResourceDefinition
metadata: { name: vault }
spec:
  type: vault
  driver: cmd
  criteria: [{}]
  command: [sh, bin/vault.sh]
---
apiVersion: scoreline.dev/v1
kind: ResourceDefinition
metadata: { name: vault-cm }
spec:
  type: vault-cm
  driver: cmd
  criteria: [{}]
  command: [sh, bin/vault-cm.sh]
---
apiVersion: scoreline.dev/v1
kind: ResourceDefinition
metadata: { name: named-volume }
spec:
  type: named-volume
  driver: template
  criteria: [{}]
  template:
    outputs: |
      source:
        persistentVolumeClaim:
          claimName: {{ resource.params.claim | tojson }}
---
apiVersion: scoreline.dev/v1
kind: ResourceDefinition
metadata: { name: htpasswd }
spec:
  type: htpasswd
  driver: template
  criteria: [{}]
  template:
    manifests: |
      - apiVersion: v1
        kind: Secret
        metadata:
          name: {{ ("htpasswd-" ~ resource.slug) | tojson }}
        data:
          {{ resource.params.user | default("admin") | tojson }}: {{ derive("password") | b64encode | tojson }}
---
apiVersion: scoreline.dev/v1
kind: ResourceDefinition
metadata: { name: leaky-key }
spec:
  type: leaky-key
  driver: template
  criteria: [{}]
  template:
    outputs: |
      value: {{ env("SCORELINE_KEY") | tojson }}
---
apiVersion: scoreline.dev/v1
kind: ResourceDefinition
metadata: { name: leaky-git }
spec:
  type: leaky-git
  driver: static
  criteria: [{}]
  outputs: { value: "${env.GIT_TOKEN}" }
"#;

/// Every resource a routing may name, declared once, so the values they derive in each
/// environment are known before any row runs (a derived value depends on the environment, the
/// workload, the resource's name and type, and the key: not on params).
const CATALOG: &str = r#"containers:
  web:
    image: nginx
resources:
  db: { type: postgres }
  s3: { type: s3 }
  redis: { type: redis }
  postgres: { type: postgres }
  mongodb: { type: mongodb }
  mysql: { type: mysql }
  amqp: { type: amqp }
  elasticsearch: { type: elasticsearch }
  mssql: { type: mssql }
  postgres-instance: { type: postgres-instance }
  users: { type: htpasswd }
"#;

// --- The table's types.

/// A name and the Score file's body.
type Routing = (&'static str, &'static str);

struct Row {
    routing: Routing,
    commands: &'static [Command],
    expected: Expected,
}

const fn row(routing: Routing, commands: &'static [Command], expected: Expected) -> Row {
    Row {
        routing,
        commands,
        expected,
    }
}

#[derive(Debug, Clone, Copy)]
enum Expected {
    Ok,
    /// Exit code and a fragment of the message (on stderr), which names the field.
    Refused(i32, &'static str),
}

const OK: Expected = Expected::Ok;

const fn refused(code: i32, fragment: &'static str) -> Expected {
    Expected::Refused(code, fragment)
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Command {
    /// `render --out DIR`, as text or `--output json`.
    Render {
        json: bool,
    },
    /// `deploy --comment --dotenv FILE` on a pull request (the forge fake); `token` is the
    /// index into TOKENS the run is given.
    Deploy {
        env: &'static str,
        json: bool,
        token: usize,
    },
    /// `plan --out FILE --junit FILE`: as a GitHub Actions job on a pull request with
    /// `--comment` (the forge fake), or as a GitLab CI job (log sections,
    /// `./scoreline-summary.md`).
    Plan {
        env: &'static str,
        gitlab: bool,
    },
    /// `diff --env ENV -f SCORE`.
    Diff {
        env: &'static str,
        json: bool,
        token: usize,
    },
    /// `diff --env ENV --against-env OTHER`.
    DiffEnvs {
        env: &'static str,
        other: &'static str,
    },
    /// `diff --env ENV --from OLDEST --to NEWEST` (the ids from `history`).
    DiffRecords {
        env: &'static str,
    },
    History {
        env: &'static str,
        json: bool,
    },
    Rollback {
        env: &'static str,
    },
    Promote {
        from: &'static str,
        to: &'static str,
        token: usize,
    },
}

impl Command {
    fn renders(self) -> bool {
        matches!(self, Command::Render { .. })
    }
}

const RENDER: [Command; 2] = [
    Command::Render { json: false },
    Command::Render { json: true },
];
const RENDER_ONLY: &[Command] = &RENDER;
/// Rendered, and deployed to the plain-text environment (where a leak would be worst).
const RENDER_DEPLOY: &[Command] = &[
    RENDER[0],
    RENDER[1],
    Command::Plan {
        env: "throwaway",
        gitlab: false,
    },
    Command::Plan {
        env: "throwaway",
        gitlab: true,
    },
    Command::Deploy {
        env: "throwaway",
        json: false,
        token: 0,
    },
];
/// Every command, in an order that gives each something to work on: deploys to each secrets
/// mode, a rotated CI secret, diffs, history, rollbacks and a promotion.
#[rustfmt::skip]
const LIFECYCLE: &[Command] = &[
    RENDER[0],
    RENDER[1],
    Command::Plan { env: "staging", gitlab: false },
    Command::Deploy { env: "staging", json: false, token: 0 },
    Command::Deploy { env: "production", json: true, token: 0 },
    Command::Deploy { env: "throwaway", json: false, token: 0 },
    Command::Deploy { env: "staging", json: true, token: 1 },
    Command::Deploy { env: "throwaway", json: false, token: 1 },
    Command::Plan { env: "staging", gitlab: false },
    Command::Plan { env: "throwaway", gitlab: true },
    Command::Diff { env: "staging", json: false, token: 2 },
    Command::Diff { env: "throwaway", json: true, token: 2 },
    Command::DiffEnvs { env: "throwaway", other: "staging" },
    Command::DiffRecords { env: "throwaway" },
    Command::History { env: "staging", json: false },
    Command::History { env: "throwaway", json: true },
    Command::Rollback { env: "staging" },
    Command::Rollback { env: "throwaway" },
    Command::Promote { from: "staging", to: "production", token: 2 },
];

// --- The tests: renders in one, everything that touches the environment repository in the
// other, each with a workspace of its own.

#[test]
fn canary_render_table() {
    let bench = Bench::new();
    let mut failures = Vec::new();
    for row in TABLE {
        for command in row.commands.iter().filter(|c| c.renders()) {
            bench.check(row, *command, &mut failures);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    bench.routed_secrets_reach_the_secret();
}

#[test]
fn canary_deploy_table() {
    let bench = Bench::new();
    let mut failures = Vec::new();
    for row in TABLE {
        for command in row.commands.iter().filter(|c| !c.renders()) {
            bench.check(row, *command, &mut failures);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// A secret value no run may show, and what it is.
#[derive(Debug, Clone)]
struct Canary {
    name: String,
    value: String,
}

/// A workspace (a git repository whose remote URL holds the git token), the platform, an age
/// key, a bare environment repository, and the canaries, derived values included.
struct Bench {
    dir: tempfile::TempDir,
    canaries: Vec<Canary>,
    /// The environment repository's tip when it was last read.
    scanned: std::cell::RefCell<String>,
    /// A GitHub API fake the pull request's plans and deploys are commented on, and how many of its
    /// requests were read.
    fake: Fake,
    sent: std::cell::Cell<usize>,
}

impl Bench {
    fn new() -> Bench {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let recipient = environment_repository(root);
        let work = root.join("work");
        std::fs::create_dir_all(&work).unwrap();
        git(&work, &["init", "--quiet"]);
        let remote = format!("https://x-access-token:{GIT_TOKEN}@github.com/acme/shop.git");
        git(&work, &["remote", "add", "origin", &remote]);
        Cli::new(["baseline", "export", "platform"])
            .dir(&work)
            .run()
            .success();
        let vault = format!(
            "#!/bin/sh\ncat >/dev/null\necho '{{\"outputs\": {{\"path\": \"kv/shop\"}}, \"secrets\": {{\"value\": \"{CMD_SECRET}\"}}}}'\n"
        );
        let cached = format!(
            "#!/bin/sh\ncat >/dev/null\necho '{{\"secrets\": {{\"value\": \"{CMD_CACHED}\"}}, \"manifests\": [{{\"apiVersion\": \"v1\", \"kind\": \"ConfigMap\", \"metadata\": {{\"name\": \"vault-cache\"}}, \"data\": {{\"token\": \"{CMD_CACHED}\"}}}}]}}'\n"
        );
        write_files(
            &work,
            &[
                (
                    "platform/environments.yaml",
                    &crate::deploy::ENVIRONMENTS.replace("RECIPIENT", &recipient),
                ),
                ("platform/resources/canary.yaml", DEFINITIONS),
                ("platform/bin/vault.sh", &vault),
                ("platform/bin/vault-cm.sh", &cached),
                (
                    "config/app.conf",
                    "url=postgres://${resources.db.username}:${resources.db.password}@${resources.db.host}\nvault=${resources.vault.value}\n",
                ),
            ],
        );
        let mut canaries: Vec<Canary> = [
            ("SCORELINE_KEY", KEY),
            ("CANARY_TOKEN (1st)", TOKENS[0]),
            ("CANARY_TOKEN (2nd)", TOKENS[1]),
            ("CANARY_TOKEN (3rd)", TOKENS[2]),
            ("CANARY_TOKEN2", TEMPLATE_TOKEN),
            ("CANARY_HOSTILE", HOSTILE),
            ("CANARY_PEM", PEM),
            ("cmd secret", CMD_SECRET),
            ("cmd secret (manifests)", CMD_CACHED),
            ("GIT_TOKEN", GIT_TOKEN),
        ]
        .iter()
        .map(|(name, value)| Canary {
            name: (*name).to_owned(),
            value: (*value).to_owned(),
        })
        .collect();

        let mut bench = Bench {
            dir,
            canaries: Vec::new(),
            scanned: Default::default(),
            fake: Fake::start(serde_json::json!({"user": "scoreline-bot"})),
            sent: Default::default(),
        };
        canaries.extend(bench.learn_derived());
        bench.canaries = canaries;
        bench
    }

    fn work(&self) -> PathBuf {
        self.dir.path().join("work")
    }

    fn repo(&self) -> PathBuf {
        self.dir.path().join("env.git")
    }

    /// The values the catalog's resources derive in each environment, read from the Secrets of
    /// a render: the passwords nobody sets, which must show nowhere else either.
    fn learn_derived(&self) -> Vec<Canary> {
        let score = self.score("catalog", CATALOG);
        let mut learned = Vec::new();
        for env in ["staging", "production", "throwaway"] {
            let out = self.dir.path().join(format!("learn-{env}"));
            self.cli(&["render", "--env", env, "-f", &score])
                .arg("--out")
                .arg(&out)
                .run()
                .success();
            for (file, object) in yaml_objects(&out) {
                if object["kind"] != "Secret" {
                    continue;
                }
                for (key, value) in object["data"].as_object().into_iter().flatten() {
                    let bytes = base64::engine::general_purpose::STANDARD
                        .decode(value.as_str().unwrap_or_default())
                        .unwrap();
                    learned.push(Canary {
                        name: format!("derived {env}/{file} {key}"),
                        value: String::from_utf8(bytes).unwrap(),
                    });
                }
            }
        }
        assert!(
            learned.len() >= 30 && learned.iter().all(|c| c.value.len() >= 12),
            "derived values: {learned:#?}"
        );
        learned
    }

    /// The canaries do travel: the allowed routing puts them, and the derived values, into the
    /// workload's Secret (so that finding them nowhere else means something).
    fn routed_secrets_reach_the_secret(&self) {
        let score = self.score(ROUTED.0, ROUTED.1);
        let out = self.dir.path().join("routed");
        self.cli(&["render", "--env", "staging", "-f", &score])
            .arg("--out")
            .arg(&out)
            .run()
            .success();
        let (_, secret) = yaml_objects(&out)
            .into_iter()
            .find(|(file, _)| file == "secret-shop-secrets.yaml")
            .expect("the workload has a Secret");
        let values: String = secret["data"]
            .as_object()
            .unwrap()
            .values()
            .map(|v| {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(v.as_str().unwrap())
                    .unwrap();
                String::from_utf8(bytes).unwrap() + "\n"
            })
            .collect();
        let derived = |name: &str| {
            let canary = self.canaries.iter().find(|c| c.name == name);
            canary.unwrap_or_else(|| panic!("no {name}")).value.as_str()
        };
        for value in [
            TOKENS[0],
            TEMPLATE_TOKEN,
            HOSTILE,
            PEM,
            CMD_SECRET,
            derived("derived staging/secret-pg-shop-db.yaml password"),
            derived("derived staging/secret-redis-shop-redis.yaml password"),
            derived("derived staging/secret-minio.yaml root-user"),
            derived("derived staging/secret-minio.yaml root-password"),
        ] {
            assert!(values.contains(value), "{value} is not in {values}");
        }
    }

    /// `score-NAME.yaml` in the workspace: the app `shop` with `body` (which may begin with more
    /// metadata); its path there.
    fn score(&self, name: &str, body: &str) -> String {
        let file = format!(
            "score-{}.yaml",
            name.replace(|c: char| !c.is_ascii_alphanumeric(), "-")
        );
        let text = format!("apiVersion: score.dev/v1b1\nmetadata:\n  name: shop\n{body}");
        write_files(&self.work(), &[(&file, &text)]);
        file
    }

    /// scoreline in the workspace with the platform, the canaries in its environment, as a
    /// GitHub Actions step.
    fn cli(&self, args: &[&str]) -> Cli {
        Cli::new(args)
            .dir(self.work())
            .args(["--platform", "platform"])
            .env("SCORELINE_KEY", KEY)
            .env("CANARY_TOKEN", TOKENS[0])
            .env("CANARY_TOKEN2", TEMPLATE_TOKEN)
            .env("CANARY_HOSTILE", HOSTILE)
            .env("CANARY_PEM", PEM)
            .env("GIT_TOKEN", GIT_TOKEN)
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_WORKSPACE", self.work())
    }

    /// Runs one command of a row, checks its outcome and every place it could show a canary.
    fn check(&self, row: &Row, command: Command, failures: &mut Vec<String>) {
        let (routing, body) = row.routing;
        let score = self.score(routing, body);
        let steps = tempfile::tempdir().unwrap();
        let step = |name: &str| steps.path().join(name);
        let (output, summary, dotenv) = (
            step("github-output"),
            step("step-summary"),
            step("deploy.env"),
        );
        let (plan, junit, summary_file) = (step("plan.json"), step("plan.xml"), step("summary.md"));
        let gitlab_summary = self.work().join("scoreline-summary.md");
        let out_dir = steps.path().join("manifests");
        let tip = self.tip();
        let json = |cli: Cli, json: bool| {
            if json {
                cli.args(["--output", "json"])
            } else {
                cli
            }
        };
        let cli = match command {
            Command::Render { json: j } => json(
                self.cli(&["render", "--env", "staging", "-f", &score])
                    .arg("--out")
                    .arg(&out_dir),
                j,
            ),
            Command::Deploy {
                env,
                json: j,
                token,
            } => json(
                on_pull_request(
                    self.cli(&["deploy", "--env", env, "-f", &score]),
                    &self.fake,
                )
                .args(["--comment", "--dotenv"])
                .arg(&dotenv)
                .env("CANARY_TOKEN", TOKENS[token]),
                j,
            ),
            Command::Plan { env, gitlab } => {
                let cli = self
                    .cli(&["plan", "--env", env, "-f", &score])
                    .arg("--out")
                    .arg(&plan)
                    .arg("--junit")
                    .arg(&junit);
                if gitlab {
                    cli.env_remove("GITHUB_ACTIONS")
                        .env_remove("GITHUB_WORKSPACE")
                        .env("GITLAB_CI", "true")
                        .env("CI_PROJECT_DIR", self.work())
                } else {
                    on_pull_request(cli, &self.fake).arg("--comment")
                }
            }
            Command::Diff {
                env,
                json: j,
                token,
            } => json(
                self.cli(&["diff", "--env", env, "-f", &score])
                    .env("CANARY_TOKEN", TOKENS[token]),
                j,
            ),
            Command::DiffEnvs { env, other } => self.cli(&[
                "diff",
                "--env",
                env,
                "--against-env",
                other,
                "--app",
                "shop",
            ]),
            Command::DiffRecords { env } => {
                let ids = self.record_ids(env);
                self.cli(&[
                    "diff",
                    "--env",
                    env,
                    "--app",
                    "shop",
                    "--from",
                    &ids[ids.len() - 1],
                    "--to",
                    &ids[0],
                ])
            }
            Command::History { env, json: j } => json(self.cli(&["history", "--env", env]), j),
            Command::Rollback { env } => self.cli(&["rollback", "--env", env, "--app", "shop"]),
            Command::Promote { from, to, token } => self
                .cli(&["promote", "--from", from, "--to", to, "--app", "shop"])
                .env("CANARY_TOKEN", TOKENS[token]),
        };
        let cli = match command {
            // Under GitLab CI the summary goes to ./scoreline-summary.md unless named.
            Command::Plan { gitlab: true, .. } => cli,
            _ => cli.arg("--summary").arg(&summary_file),
        };
        let outcome = cli
            .env("GITHUB_OUTPUT", &output)
            .env("GITHUB_STEP_SUMMARY", &summary)
            .run();
        let what = format!("[{routing}] {command:?}");
        if let Some(problem) = verdict(&outcome, row.expected) {
            failures.push(format!("{what}: {problem}\n{}", outcome.streams()));
        }
        if matches!(row.expected, Expected::Refused(..)) && self.tip() != tip {
            failures.push(format!(
                "{what}: a refused run changed the environment repository"
            ));
        }
        let mut places = shown(&outcome);
        for (place, path) in [
            ("$GITHUB_OUTPUT", &output),
            ("$GITHUB_STEP_SUMMARY", &summary),
            ("the dotenv file", &dotenv),
            ("the plan file", &plan),
            ("the JUnit report", &junit),
            ("--summary FILE", &summary_file),
            ("./scoreline-summary.md", &gitlab_summary),
        ] {
            places.push((
                place.to_owned(),
                std::fs::read_to_string(path).unwrap_or_default(),
            ));
        }
        let _ = std::fs::remove_file(&gitlab_summary);
        let sent = self.fake.sent();
        let seen = self.sent.replace(sent.len());
        places.extend(sent.into_iter().skip(seen).map(|(request, body)| {
            (
                format!("the forge fake: {request}"),
                format!("{request}\n{body}"),
            )
        }));
        let mut problems = unwritten(command, row.expected, &places);
        if out_dir.exists() {
            places.extend(manifest_places(
                "rendered",
                &out_dir,
                "render",
                &mut problems,
            ));
        }
        // The repository is read again whenever a run moved it.
        if !command.renders() && self.scanned.replace(self.tip()) != self.tip() {
            places.extend(self.repository_places(&mut problems));
        }
        problems.extend(leaks(&self.canaries, &places));
        if !problems.is_empty() {
            failures.push(format!("{what}: {}", problems.join("\n  ")));
        }
    }

    /// The environment repository's tip (empty before the first deploy).
    fn tip(&self) -> String {
        git(&self.repo(), &["for-each-ref", "--format=%(objectname)"])
    }

    /// Record ids of the app's deployments to `env`, newest first.
    fn record_ids(&self, env: &str) -> Vec<String> {
        let history: Value = self
            .cli(&["history", "--env", env, "--app", "shop", "--output", "json"])
            .run()
            .success()
            .json();
        history[0]["deployments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["record"]["id"].as_str().unwrap().to_owned())
            .collect()
    }

    /// Commit messages, and every file of a fresh checkout (Secrets as their mode allows).
    fn repository_places(&self, problems: &mut Vec<String>) -> Vec<(String, String)> {
        let mut places = vec![(
            "commit messages".to_owned(),
            git(&self.repo(), &["log", "--all", "--format=%B"]),
        )];
        if self.tip().is_empty() {
            return places;
        }
        let checkout = tempfile::tempdir().unwrap();
        let repo = self.repo();
        git(
            checkout.path(),
            &[
                "clone",
                "--quiet",
                "--branch",
                "main",
                repo.to_str().unwrap(),
                ".",
            ],
        );
        let root = checkout.path();
        for folder in std::fs::read_dir(root).unwrap() {
            let folder = folder.unwrap().path();
            let env = folder.file_name().unwrap().to_string_lossy().into_owned();
            if env == ".git" {
                continue;
            }
            let mode = match env.as_str() {
                "staging" => "sops",
                "production" => "external",
                _ => "plain",
            };
            places.extend(manifest_places("repository", &folder, mode, problems));
        }
        places
    }
}

/// Whether the run ended as expected; what is wrong if not.
fn verdict(outcome: &Outcome, expected: Expected) -> Option<String> {
    match expected {
        Expected::Ok if outcome.code() == Some(0) => None,
        Expected::Ok => Some(format!("exited {:?}, expected success", outcome.code())),
        Expected::Refused(code, _) if outcome.code() != Some(code) => {
            Some(format!("exited {:?}, expected {code}", outcome.code()))
        }
        Expected::Refused(_, fragment) if !outcome.stderr.contains(fragment) => {
            Some(format!("no `{fragment}` on stderr"))
        }
        Expected::Refused(..) => None,
    }
}

/// The places a run must have written, so that finding no canary in them means something:
/// the summary (every run but `history`; `./scoreline-summary.md` under GitLab), and a plan's
/// JUnit report; a deploy that succeeded its comment; a plan that succeeded its plan file, and
/// its comment (GitHub) or its log sections (GitLab; every such plan in the table has changes).
fn unwritten(command: Command, expected: Expected, places: &[(String, String)]) -> Vec<String> {
    let text = |name: &str| {
        places
            .iter()
            .filter(|(place, _)| place.starts_with(name))
            .map(|(_, text)| text.as_str())
            .collect::<String>()
    };
    let mut wanted = Vec::new();
    match command {
        Command::Plan { gitlab: true, .. } => wanted.push(("./scoreline-summary.md", "")),
        // History has no summary to give.
        Command::History { .. } => {}
        _ => wanted.push(("--summary FILE", "")),
    }
    if let (Command::Deploy { .. }, Expected::Ok) = (command, expected) {
        wanted.push(("the forge fake", "scoreline:deploy"));
    }
    if let Command::Plan { gitlab, .. } = command {
        wanted.push(("the JUnit report", "<testcase"));
        if matches!(expected, Expected::Ok) {
            wanted.push(("the plan file", ""));
            wanted.push(if gitlab {
                ("stderr", "section_start:")
            } else {
                ("the forge fake", "Plan for `shop`")
            });
        }
    }
    wanted
        .into_iter()
        .filter(|(place, has)| {
            let text = text(place);
            text.is_empty() || !text.contains(has)
        })
        .map(|(place, has)| format!("{place} was not written (or lacks `{has}`)"))
        .collect()
}

/// What a run showed: stdout, stderr and its annotations, without the `::add-mask::` lines
/// (they are how the runner learns what to hide, and never show).
fn shown(outcome: &Outcome) -> Vec<(String, String)> {
    let (stdout, stderr) = (
        leak::visible(&outcome.stdout),
        leak::visible(&outcome.stderr),
    );
    let annotations = format!("{stdout}\n{stderr}")
        .lines()
        .filter(|l| l.starts_with("::"))
        .collect::<Vec<_>>()
        .join("\n");
    vec![
        ("stdout".to_owned(), stdout),
        ("stderr".to_owned(), stderr),
        ("annotations".to_owned(), annotations),
    ]
}

/// Every file below `dir` as a place. YAML and JSON files are also read, so that escaped text
/// is seen as the value it is; a Secret's data values are left out (`render`, `plain`), must be
/// SOPS ciphertext (`sops`), or must not exist (`external`), but its keys are kept.
fn manifest_places(
    label: &str,
    dir: &Path,
    mode: &str,
    problems: &mut Vec<String>,
) -> Vec<(String, String)> {
    let mut places = Vec::new();
    for path in files_below(dir, &|p| !p.components().any(|c| c.as_os_str() == ".git")) {
        let name = format!(
            "{label} {}",
            path.strip_prefix(dir.parent().unwrap()).unwrap().display()
        );
        let raw = std::fs::read_to_string(&path).unwrap_or_default();
        let parsed = if path.extension().is_some_and(|e| e == "yaml") {
            Some(first_yaml_document(&name, raw.clone()))
        } else {
            serde_json::from_str::<Value>(&raw).ok()
        };
        let Some(mut value) = parsed else {
            places.push((name, raw));
            continue;
        };
        if value["kind"] == "Secret" {
            if mode == "external" {
                problems.push(format!(
                    "{name}: a Secret in an environment of mode external"
                ));
            }
            for part in ["data", "stringData"] {
                for (key, item) in value[part].as_object_mut().into_iter().flatten() {
                    let sealed = item
                        .as_str()
                        .is_some_and(|s| s.starts_with("ENC[AES256_GCM,data:"));
                    if mode == "sops" && !sealed {
                        problems.push(format!("{name}: `{part}.{key}` is not SOPS-encrypted"));
                    }
                    *item = Value::Null;
                }
            }
            // The data key sealed to each age recipient is ciphertext in PEM-like armour (whose
            // `-----BEGIN` a PEM canary shares).
            for recipient in value["sops"]["age"].as_array_mut().into_iter().flatten() {
                let armoured = recipient["enc"]
                    .as_str()
                    .is_some_and(|s| s.starts_with("-----BEGIN AGE ENCRYPTED FILE-----\n"));
                if !armoured {
                    problems.push(format!(
                        "{name}: an age recipient's `enc` is not age armour"
                    ));
                }
                recipient["enc"] = Value::Null;
            }
            places.push((name, strings(&value)));
        } else {
            places.push((format!("{name} (as read)"), strings(&value)));
            places.push((name, raw));
        }
    }
    places
}

/// Every key and string of a value, one a line: the text as a reader sees it, unescaped.
fn strings(value: &Value) -> String {
    fn walk(value: &Value, out: &mut Vec<String>) {
        match value {
            Value::String(s) => out.push(s.clone()),
            Value::Array(items) => items.iter().for_each(|v| walk(v, out)),
            Value::Object(map) => map.iter().for_each(|(k, v)| {
                out.push(k.clone());
                walk(v, out);
            }),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(value, &mut out);
    out.join("\n")
}

/// Every canary shown in a place: which, and how — any piece of it (`support::leak`: FRAGMENT
/// characters, in every reading of the place: as written; JSON, Markdown/HTML/XML or
/// workflow-command escapes undone), or all of it base64 or URL-encoded.
fn leaks(canaries: &[Canary], places: &[(String, String)]) -> Vec<String> {
    let mut found = Vec::new();
    for (place, text) in places {
        for canary in canaries {
            if let Some((reading, piece)) = leak::fragment_shown(&canary.value, text) {
                found.push(format!(
                    "{place} shows {} (`{piece}`, {reading})",
                    canary.name
                ));
            }
            for (form, shown) in encoded(&canary.value) {
                if text.contains(&shown) {
                    found.push(format!("{place} shows {} ({form})", canary.name));
                }
            }
        }
    }
    found
}

/// A canary in base64 and URL-encoded (every character but letters and digits).
fn encoded(value: &str) -> [(&'static str, String); 2] {
    [
        (
            "base64",
            base64::engine::general_purpose::STANDARD.encode(value),
        ),
        (
            "URL-encoded",
            percent_encoding::utf8_percent_encode(value, percent_encoding::NON_ALPHANUMERIC)
                .to_string(),
        ),
    ]
}

/// The objects of a rendered folder, by file name.
fn yaml_objects(dir: &Path) -> Vec<(String, Value)> {
    files_below(dir, &|p| p.extension().is_some_and(|e| e == "yaml"))
        .into_iter()
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(&p).unwrap();
            (name.clone(), first_yaml_document(&name, text))
        })
        .collect()
}
