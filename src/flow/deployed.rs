//! What a deploy, promotion or rollback did.

use crate::deploy::{Delivered, Record};

/// A delivered (or unchanged) deployment.
pub struct Deployed {
    pub record: Record,
    pub delivered: Delivered,
    /// The commit (git) or snapshot (dir) holding it: the new one, or when unchanged the one
    /// that already held it.
    pub revision: String,
    pub folder: String,
    /// Where it answers, when one of its objects is a public route.
    pub url: Option<String>,
    /// Where it went (repository and folder), for messages.
    pub store: String,
    /// The pull/merge request of a `mode: pull-request` delivery.
    pub change: Option<crate::forge::Change>,
}
