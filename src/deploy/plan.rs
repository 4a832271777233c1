//! A plan: what deploying would do in each environment — the resources and the definition each
//! matched, the images, the object changes and their diffs (Secret values masked) — bound to
//! what it was planned from: each app folder's revision and the render's keyed id (never the
//! manifests, never a plain digest of them: they hold Secret values), with the inputs to render
//! it again. `plan --out` writes it as versioned JSON; `deploy --plan` delivers exactly it.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::diff::{Change, ChangeKind, summarise};
use super::error::Error;
use super::record::ImageUse;
use super::store::Revision;
use crate::ci::summary::{self, Markdown, cell};
use crate::resolve::Graph;

/// The plan file's format; another is refused, never guessed at.
pub const FORMAT: &str = "scoreline.dev/plan/v1";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub format: String,
    /// RFC 3339, UTC.
    pub created: String,
    pub inputs: PlanInputs,
    pub environments: Vec<EnvironmentPlan>,
}

/// What the plan was rendered from, as `deploy --plan` renders it again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanInputs {
    /// The Score files as named on the command line (relative to where it ran).
    pub files: Vec<InputFile>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app: Option<String>,
    /// The `--image` values.
    #[serde(default)]
    pub images: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputFile {
    pub path: String,
    /// `sha256:…` of the file's bytes (a Score file holds no secret).
    pub sha256: String,
}

/// One environment's part of a plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnvironmentPlan {
    pub environment: String,
    pub app: String,
    pub namespace: String,
    /// The delivery and folder, for people (`https://…/env.git (main) staging/shop`).
    pub location: String,
    /// The app folder's revision the changes were computed against.
    pub revision: Revision,
    /// The render's keyed id: the record id `deploy --plan` must render again.
    pub id: String,
    /// The record id of what the folder holds now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployed: Option<String>,
    /// The baseline revision rendered with.
    pub baseline: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    pub resources: Vec<PlannedResource>,
    pub images: Vec<ImageUse>,
    pub changes: Vec<Change>,
}

/// A resource and the definition that provides it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedResource {
    /// `workload.resource` for each declaration (a shared resource has several).
    pub resource: Vec<String>,
    #[serde(rename = "type")]
    pub resource_type: String,
    pub class: String,
    pub id: String,
    pub definition: String,
}

impl PlannedResource {
    /// Every resource of a render, as provisioned.
    pub fn of(graph: &Graph) -> Vec<PlannedResource> {
        graph
            .resources
            .iter()
            .map(|r| PlannedResource {
                resource: r
                    .declared_by
                    .iter()
                    .map(|(workload, name)| format!("{workload}.{name}"))
                    .collect(),
                resource_type: r.resource_type.clone(),
                class: r.class.clone(),
                id: r.identity.res_id.clone(),
                definition: r.definition.clone(),
            })
            .collect()
    }
}

/// The columns of a resources table (`resource_rows`).
pub const RESOURCE_COLUMNS: [&str; 4] = ["resource", "type", "class", "definition"];

/// Resources as table rows: who declares each, its type and class, the definition that matched.
pub fn resource_rows(resources: &[PlannedResource]) -> Vec<Vec<String>> {
    resources
        .iter()
        .map(|r| {
            vec![
                r.resource.join(", "),
                r.resource_type.clone(),
                r.class.clone(),
                r.definition.clone(),
            ]
        })
        .collect()
}

impl Plan {
    /// Reads a plan file; one of another format or version is refused.
    pub fn read(path: &Path) -> Result<Plan, Error> {
        let shown = path.display();
        let bytes = std::fs::read(path).map_err(|e| {
            Error::Plan(format!(
                "cannot read the plan file {shown}: {e} (write one with `scoreline plan --out FILE`)"
            ))
        })?;
        let value: serde_json::Value = serde_json::from_slice(&bytes)
            .map_err(|e| Error::Plan(format!("{shown} is not a plan file: {e}")))?;
        match value["format"].as_str() {
            Some(FORMAT) => {}
            Some(other) => {
                return Err(Error::Plan(format!(
                    "{shown} is a plan of format `{other}`; this scoreline reads `{FORMAT}`: run `scoreline plan` again with this version"
                )));
            }
            None => {
                return Err(Error::Plan(format!(
                    "{shown} is not a plan file (no `format: {FORMAT}`)"
                )));
            }
        }
        serde_json::from_value(value)
            .map_err(|e| Error::Plan(format!("{shown}: not a valid plan: {e}")))
    }

    /// Writes the plan file atomically, every known secret redacted.
    pub fn write(&self, path: &Path) -> Result<(), Error> {
        let value =
            crate::secret::redact_json(serde_json::to_value(self).expect("plans serialise"));
        let mut text = serde_json::to_string_pretty(&value).expect("plans serialise");
        text.push('\n');
        crate::folder::write_file(path, crate::secret::redact(&text).as_bytes())
            .map_err(|e| Error::Io(e.to_string()))
    }

    /// The environment `deploy --plan` delivers: the one named, or the plan's only one.
    pub fn environment(&self, name: Option<&str>) -> Result<&EnvironmentPlan, Error> {
        let names = || {
            self.environments
                .iter()
                .map(|e| e.environment.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        match (name, self.environments.as_slice()) {
            (Some(name), all) => all.iter().find(|e| e.environment == name).ok_or_else(|| {
                Error::Plan(format!(
                    "the plan has no environment `{name}` (it plans {})",
                    names()
                ))
            }),
            (None, [only]) => Ok(only),
            (None, _) => Err(Error::Plan(format!(
                "the plan covers several environments ({}): name the one to deploy with --env",
                names()
            ))),
        }
    }

    pub fn has_changes(&self) -> bool {
        self.environments.iter().any(|e| !e.changes.is_empty())
    }

    /// The plan as Markdown for a job summary or a pull request comment: a one-line verdict
    /// per environment, then for each its object changes, resources, images and the diff
    /// (collapsed). Cut to `limit` bytes when longer, ending with a line that links to the job
    /// (`job_url`), where the whole plan is.
    pub fn markdown(&self, limit: usize, job_url: Option<&str>) -> String {
        self.document().render(limit, &summary::job_note(job_url))
    }

    /// The plan as a Markdown document (see `markdown`).
    pub fn document(&self) -> Markdown {
        let mut doc = Markdown::new();
        let app = self
            .environments
            .first()
            .map(|e| e.app.as_str())
            .unwrap_or_default();
        doc.heading(3, &format!("Plan for `{}`", cell(app)));
        let verdicts: Vec<String> = self
            .environments
            .iter()
            .map(|e| format!("- {}", e.verdict()))
            .collect();
        doc.paragraph(&verdicts.join("\n"));
        for env in &self.environments {
            env.describe(&mut doc);
        }
        doc
    }
}

impl EnvironmentPlan {
    /// This environment's part of the plan as Markdown, for its own pull request comment: a
    /// heading, the verdict, then as in `Plan::markdown` (cut to `limit` bytes the same way).
    pub fn markdown(&self, limit: usize, job_url: Option<&str>) -> String {
        let mut doc = Markdown::new();
        doc.heading(
            3,
            &format!(
                "Plan for `{}` in `{}`",
                cell(&self.app),
                cell(&self.environment)
            ),
        );
        doc.paragraph(&self.verdict());
        self.describe(&mut doc);
        doc.render(limit, &summary::job_note(job_url))
    }

    /// One line: the environment and what deploying would do there.
    pub fn verdict(&self) -> String {
        let env = format!("`{}`", cell(&self.environment));
        if self.changes.is_empty() {
            return format!("{env}: no changes ({} is up to date)", self.short_id());
        }
        let mut counts = Vec::new();
        for kind in [
            ChangeKind::Added,
            ChangeKind::Changed,
            ChangeKind::Removed,
            ChangeKind::MayHaveChanged,
        ] {
            let n = self.changes.iter().filter(|c| c.change == kind).count();
            if n > 0 {
                counts.push(format!("{n} {kind}"));
            }
        }
        let n = self.changes.len();
        format!(
            "{env}: {n} object{} to change ({}), render {}",
            if n == 1 { "" } else { "s" },
            counts.join(", "),
            self.short_id()
        )
    }

    fn short_id(&self) -> &str {
        super::record::short(&self.id)
    }

    fn describe(&self, doc: &mut Markdown) {
        doc.heading(
            4,
            &format!(
                "`{}` (namespace `{}`)",
                cell(&self.environment),
                cell(&self.namespace)
            ),
        );
        let mut facts = vec![format!(
            "Delivers to {} ({}).",
            cell(&self.location),
            cell(&self.revision.to_string())
        )];
        if let Some(url) = &self.url {
            facts.push(format!("Environment URL: {}", cell(url)));
        }
        doc.paragraph(&facts.join(" "));
        doc.table(&RESOURCE_COLUMNS, &resource_rows(&self.resources));
        let images: Vec<Vec<String>> = self
            .images
            .iter()
            .map(|i| {
                vec![
                    format!("{}.{}", i.workload, i.container),
                    i.image.clone(),
                    if i.pinned { "yes" } else { "no: a tag" }.to_owned(),
                ]
            })
            .collect();
        doc.table(&["container", "image", "pinned by digest"], &images);
        summarise(
            doc,
            &self.changes,
            &format!("Diff for {}", self.environment),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(diff_lines: usize) -> Plan {
        let diff: String = (0..diff_lines).map(|i| format!("+line {i}\n")).collect();
        Plan {
            format: FORMAT.into(),
            created: "2026-01-01T00:00:00Z".into(),
            inputs: PlanInputs {
                files: vec![],
                platform: None,
                app: None,
                images: vec![],
            },
            environments: vec![EnvironmentPlan {
                environment: "staging".into(),
                app: "shop".into(),
                namespace: "shop-staging".into(),
                location: "env.git (main) staging/shop".into(),
                revision: Revision {
                    tip: None,
                    folder: None,
                },
                id: "sha256:0123456789abcdef0123".into(),
                deployed: None,
                baseline: "sha256:b".into(),
                url: None,
                resources: vec![PlannedResource {
                    resource: vec!["shop.db".into()],
                    resource_type: "postgres".into(),
                    class: "default".into(),
                    id: "shop.db".into(),
                    definition: "postgres-in-cluster".into(),
                }],
                images: vec![],
                changes: vec![Change {
                    file: "deployment-shop.yaml".into(),
                    object: "Deployment/shop".into(),
                    change: ChangeKind::Added,
                    diff,
                }],
            }],
        }
    }

    #[test]
    fn a_plan_fits_a_pull_request_comment_with_a_link_to_the_job() {
        let big = plan(20_000).markdown(65_536, Some("https://ci/run/1"));
        assert!(big.len() <= 65_536, "{}", big.len());
        assert!(big.contains("- `staging`: 1 object to change (1 added)"));
        assert!(big.contains("| shop.db | postgres | default | postgres-in-cluster |"));
        assert!(big.contains("| Deployment/shop | added | deployment-shop.yaml |"));
        assert!(
            big.ends_with("[the job's log](https://ci/run/1).\n"),
            "{}",
            &big[big.len() - 200..]
        );
        let small = plan(3).markdown(65_536, Some("https://ci/run/1"));
        assert!(small.contains("+line 2\n```\n\n</details>") && !small.contains("Truncated"));
    }
}
