//! Delivering rendered manifests and keeping their history: a git environment repository or a
//! local folder per environment, a deployment record beside every delivery, and diff, rollback,
//! promotion inputs and preview teardown on top. Renders nothing itself.

mod diff;
mod error;
mod git_cli;
mod inputs;
mod layout;
mod message;
mod plan;
mod record;
mod revision;
mod secrets;
mod sops;
mod store;
mod target;
mod url;

pub use diff::{Change, ChangeKind, Side, compare, summarise};
pub use error::Error;
pub use git_cli::GitError;
pub use inputs::{SourceInput, WorkloadInput, digest};
pub use layout::Layout;
pub use plan::{
    EnvironmentPlan, FORMAT as PLAN_FORMAT, InputFile, Plan, PlanInputs, PlannedResource,
    RESOURCE_COLUMNS, resource_rows,
};
pub use record::{ImageUse, Kind, Origin, Record, Rendering, Run, SecretDigests, short, timestamp};
pub use secrets::{Prepared, prepare};
pub use store::{Delivered, Entry, Files, Revision, Store};
pub use target::{Target, open};
pub use url::environment_url;
