//! Deployment statuses on this CI run's repository: a deployment of the run's commit to an
//! environment, `in_progress` (GitLab: `running`) while it is delivered, then success or failure,
//! with the environment's URL and the job's log.

use super::Error;
use super::api::Outcome;
use super::config::Run;

/// A deployment started on the forge.
pub struct Deployment<'r> {
    run: &'r Run,
    id: u64,
    log_url: Option<String>,
}

/// Starts a deployment of this run's commit to `environment` (`transient` for previews).
pub fn start_deployment<'r>(
    run: &'r Run,
    environment: &str,
    transient: bool,
    log_url: Option<&str>,
) -> Result<Deployment<'r>, Error> {
    let sha = run.commit.as_deref().ok_or_else(|| {
        Error::setup("no commit to record a deployment of (GITHUB_SHA / CI_COMMIT_SHA is not set)")
    })?;
    let reference = run.reference.as_deref().unwrap_or(sha);
    let id =
        run.repository
            .api
            .create_deployment(environment, sha, reference, transient, log_url)?;
    Ok(Deployment {
        run,
        id,
        log_url: log_url.map(str::to_owned),
    })
}

impl Deployment<'_> {
    /// Marks the deployment succeeded (at `environment_url`) or failed.
    pub fn finish(&self, succeeded: bool, environment_url: Option<&str>) -> Result<(), Error> {
        let outcome = if succeeded {
            Outcome::Success
        } else {
            Outcome::Failure
        };
        self.run.repository.api.finish_deployment(
            self.id,
            outcome,
            environment_url,
            self.log_url.as_deref(),
        )
    }
}
