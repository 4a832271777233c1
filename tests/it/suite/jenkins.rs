//! examples/Jenkinsfile's `sh` steps run as written, in order, as a Jenkins docker agent runs
//! them: `sh -xe` (no pipefail), as a non-root user (nobody) with HOME unset, the pipeline's
//! `environment { … }` and each step's `withCredentials` bindings set, against a registry on
//! loopback and a bare environment repository. The approval (`input`) stands before promote.

use std::process::Command;

use super::{KEY, Workspace, scoreline};
use crate::support::registry::TestRegistry;
use crate::support::{Outcome, repo_root};

/// The quoted values of `key: 'VALUE'` in `text`.
fn quoted_after<'a>(text: &'a str, key: &str) -> Vec<&'a str> {
    text.match_indices(key)
        .map(|(i, _)| {
            let rest = &text[i + key.len()..];
            &rest[..rest.find('\'').expect("a closing quote")]
        })
        .collect()
}

#[test]
fn the_jenkinsfile_steps_run_as_a_non_root_agent_without_home() {
    let jenkinsfile = std::fs::read_to_string(repo_root().join("examples/Jenkinsfile")).unwrap();
    let code: String = jenkinsfile
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(code.contains(&format!(
        "image 'ghcr.io/scoreline-dev/scoreline:{}'",
        env!("CARGO_PKG_VERSION")
    )));
    assert!(code.contains("args '--entrypoint='"));
    let promote = code.find("sh 'scoreline promote").expect("a promote step");
    assert!(
        code[..promote].rfind("input message:") > code[..promote].rfind("sh '"),
        "the approval comes right before promote"
    );
    let report = quoted_after(&code, "junit '");
    assert_eq!(report.len(), 1, "one junit report");

    let workspace = Workspace::new();
    let registry = TestRegistry::start();
    let bin = workspace.dir.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::copy(scoreline(), bin.join("scoreline")).unwrap();
    let head = crate::support::git::git(&workspace.app(), &["rev-parse", "HEAD"]);
    let nobody = Command::new("chown")
        .args(["-R", "65534:65534"])
        .arg(workspace.dir.path())
        .status()
        .unwrap();
    assert!(nobody.success());
    std::fs::set_permissions(
        workspace.dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();

    // The pipeline's environment, with the registry on loopback for registry.acme.dev.
    let mut variables: Vec<(String, String)> = Vec::new();
    let environment = &code[code.find("environment {").unwrap()..];
    for line in environment[..environment.find('}').unwrap()]
        .lines()
        .skip(1)
        .map(str::trim)
        .filter(|l| !l.is_empty())
    {
        let (name, value) = line.split_once(" = ").unwrap();
        let value = match value.strip_prefix("credentials('") {
            Some(_) if name == "SCORELINE_KEY" => KEY.to_owned(),
            Some(id) => format!("fake-{id}"),
            None => value
                .trim_matches('\'')
                .replace("registry.acme.dev", &registry.host()),
        };
        variables.push((name.to_owned(), value));
    }
    for name in quoted_after(&code, "Variable: '")
        .into_iter()
        .chain(quoted_after(&code, "variable: '"))
    {
        variables.push((
            name.to_owned(),
            format!("fake-credential-{name}-0123456789"),
        ));
    }
    variables.push(("GIT_COMMIT".into(), head.trim().to_owned()));

    let steps = quoted_after(&code, "sh '");
    assert_eq!(steps.len(), 4, "{steps:?}");
    for step in &steps {
        assert!(!step.contains('|'), "`{step}` pipes: sh has no pipefail");
        let mut command = Command::new("setpriv");
        command
            .args([
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                "sh",
                "-xe",
                "-c",
            ])
            .arg(step)
            .current_dir(workspace.app())
            .env_clear()
            .env(
                "PATH",
                format!("{}:/usr/local/bin:/usr/bin:/bin", bin.display()),
            )
            .env("JENKINS_URL", "https://jenkins.acme.test/")
            .env("BUILD_URL", "https://jenkins.acme.test/job/shop/7/")
            .env("BUILD_TAG", "jenkins-shop-7")
            .env("WORKSPACE", workspace.app());
        command.envs(variables.iter().map(|(k, v)| (k, v)));
        let outcome = Outcome::of(&mut command, std::time::Duration::from_secs(120));
        assert!(
            outcome.code() == Some(0),
            "`{step}` failed\n{}",
            outcome.streams()
        );
    }
    // Back to the test's own user, whose git reads only repositories it owns.
    let back = Command::new("chown")
        .args(["-R", "0:0"])
        .arg(workspace.dir.path())
        .status()
        .unwrap();
    assert!(back.success());
    let junit = std::fs::read_to_string(workspace.app().join(report[0])).unwrap();
    assert!(junit.contains("<testsuite"), "{junit}");
    let deployed = workspace.deployed();
    assert!(
        deployed.contains("staging/shop/kustomization.yaml")
            && deployed.contains("production/shop/kustomization.yaml"),
        "{deployed}"
    );
}
