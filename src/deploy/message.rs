//! The commit message of a deployment: what, where, and where from.

use super::record::{Kind, Record};

/// `extra` is the text the user adds (`--message`).
pub fn commit_message(record: &Record, extra: Option<&str>) -> String {
    // The environment repository is read by many: its history holds no secret.
    crate::secret::redact(&compose(record, extra)).into_owned()
}

fn compose(record: &Record, extra: Option<&str>) -> String {
    let verb = match record.kind {
        Kind::Deploy => "deploy",
        Kind::Rollback => "roll back",
        Kind::Promote => "promote",
    };
    let mut text = format!(
        "{verb} {} to {} ({})\n\n",
        record.app,
        record.environment,
        record.short_id()
    );
    let p = &record.provenance;
    if let Some(repo) = &p.repository {
        text.push_str(&format!(
            "source: {repo}{}\n",
            p.commit
                .as_deref()
                .map(|c| format!(" @ {c}"))
                .unwrap_or_default()
        ));
    }
    // The run making this commit: a rollback's or promotion's own, else the deploying one.
    let run = match &record.run {
        Some(run) => run.run_url.as_ref(),
        None => p.run_url.as_ref(),
    };
    if let Some(run) = run {
        text.push_str(&format!("run: {run}\n"));
    }
    if let Some(from) = &record.from {
        text.push_str(&format!("from: {} {}\n", from.environment, from.id));
    }
    text.push_str(&format!("record: {}\n", record.id));
    if let Some(extra) = extra {
        text.push_str(&format!("\n{extra}\n"));
    }
    text
}
