//! The application layer: for each command, strings the modules below together — load the
//! inputs, render, deliver, read history, promote, roll back, tear down. Parses no flag and
//! prints nothing: it returns results, and the warnings it collects, to the command line.

mod comparison;
mod delivery;
mod deployed;
mod environment;
mod plan;
mod session;
mod talk;
mod teardown;

pub use comparison::{diff_environments, diff_records};
pub use delivery::{promote, rollback};
pub use deployed::Deployed;
pub use environment::history;
pub use plan::{PlanRequest, Planned, deploy_plan, plan};
pub use session::{Inputs, Session, load};
pub use talk::{Talk, comment_plan};
pub use teardown::{destroy, gc};
