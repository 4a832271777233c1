//! An app folder's revision: what a plan binds and `deploy --plan` checks again.

use serde::{Deserialize, Serialize};

/// What an app folder holds at a moment, as a plan binds it: the folder changes exactly when
/// `folder` does; `tip` says where the whole delivery was, for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revision {
    /// The branch's tip commit (git), none for a new branch or a local folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tip: Option<String>,
    /// The folder's git tree id, or (a local folder) its newest history snapshot; none while the
    /// folder holds nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub folder: Option<String>,
}

impl std::fmt::Display for Revision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let short = |s: &str| s[..s.len().min(12)].to_owned();
        match &self.folder {
            Some(folder) => write!(f, "folder {}", short(folder))?,
            None => f.write_str("no folder")?,
        }
        match &self.tip {
            Some(tip) => write!(f, " at commit {}", short(tip)),
            None => Ok(()),
        }
    }
}
