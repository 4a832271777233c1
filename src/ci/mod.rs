//! CI surfaces: which system runs us, and how problems and results are shown there.

mod annotation;
pub mod junit;
pub mod outputs;
pub mod progress;
pub mod provenance;
pub mod report;
pub mod summary;

use std::path::PathBuf;

pub use annotation::{github_command, mask_command};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum System {
    /// GitHub Actions; `workspace` is `$GITHUB_WORKSPACE`, the root annotation paths are relative to.
    GitHub {
        workspace: Option<PathBuf>,
    },
    GitLab,
    Jenkins,
    Local,
}

impl System {
    pub fn detect() -> System {
        Self::from_env(|name| std::env::var(name).ok())
    }

    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> System {
        if var("GITHUB_ACTIONS").as_deref() == Some("true") {
            System::GitHub {
                workspace: var("GITHUB_WORKSPACE").map(PathBuf::from),
            }
        } else if var("GITLAB_CI").is_some() {
            System::GitLab
        } else if var("JENKINS_URL").is_some()
            || var("BUILD_TAG").is_some_and(|t| t.starts_with("jenkins-"))
        {
            System::Jenkins
        } else {
            System::Local
        }
    }

    pub fn is_ci(&self) -> bool {
        *self != System::Local
    }
}

/// CI systems without their own detection (Buildkite, CircleCI, Drone, Travis…) set `CI=true`,
/// some with a terminal attached: their logs keep every redraw and escape code, so neither bars
/// nor colour there.
pub fn generic_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_ci_systems_from_their_variables() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(
            System::from_env(env(&[
                ("GITHUB_ACTIONS", "true"),
                ("GITHUB_WORKSPACE", "/w")
            ])),
            System::GitHub {
                workspace: Some("/w".into())
            }
        );
        assert_eq!(
            System::from_env(env(&[("GITLAB_CI", "true")])),
            System::GitLab
        );
        assert_eq!(
            System::from_env(env(&[("JENKINS_URL", "http://j")])),
            System::Jenkins
        );
        assert_eq!(System::from_env(env(&[])), System::Local);
    }
}
