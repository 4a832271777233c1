//! Delivering rendered manifests and keeping their history: a git environment repository or a
//! local folder per environment, a deployment record beside every delivery, and diff, rollback,
//! promotion inputs and preview teardown on top. Renders nothing itself.

mod diff;
mod error;
mod git_cli;
mod inputs;
mod layout;
mod message;
mod record;
mod secrets;
mod sops;
mod store;
mod target;
mod url;

pub use diff::{Change, Side, compare};
pub use error::Error;
pub use git_cli::GitError;
pub use inputs::{SourceInput, WorkloadInput};
pub use layout::Layout;
pub use record::{ImageUse, Kind, Origin, Record, Rendering, Run, SecretDigests, short, timestamp};
pub use secrets::{Prepared, prepare};
pub use store::{Delivered, Entry, Files, Store};
pub use target::{Target, open};
pub use url::of as url;
