//! Delivery folders: each `path` template stays inside its repository (or working folder), and
//! no two environments' folders can ever be the same, or one inside the other, where they share a
//! repository and branch (or, for `kind: dir`, the working folder): a deploy replaces its app's
//! folder whole, so an overlap would let one environment's deploy wipe out another's manifests.
//!
//! The rule, for every two environments delivering to the same place: `{env}` is replaced by each
//! one's name (a preview pattern's keeps its `{n}`), then the paths are compared folder by folder
//! over the shorter one's length. A placeholder (`{app}`, `{n}`) stands for any non-empty name
//! without `/`, so two folder names may match unless their fixed text differs: before the first
//! placeholder, after the last, or all of it when neither has one. If every folder name of the
//! shorter path may match the other's, the paths overlap and the later environment is refused.

use crate::diagnostic::Diagnostic;
use crate::source::SourceFile;
use crate::yaml::Node;

use super::environment::{DeliveryKind, Environment};

const HELP_RELATIVE: &str =
    "write a relative folder inside the repository, e.g. `path: \"{env}/{app}\"`";

/// Every delivery path stays inside its repository or folder and names `{app}`, and a preview
/// pattern's also `{env}`: without them apps (or instances) share one folder and each deploy
/// replaces the other's manifests.
pub(super) fn check_paths(source: &SourceFile, document: &Node) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for (name, environment) in super::environment::entries(document) {
        let Some((_, node)) = environment.lookup(&["delivery", "path"]) else {
            continue;
        };
        let path = node.as_str().unwrap_or_default();
        if let Some((problem, help)) = path_problem(path, name.contains("{n}")) {
            out.push(
                source
                    .error(
                        node.span.start,
                        format!("delivery path `{path}` of environment `{name}` {problem}"),
                    )
                    .with_help(help),
            );
        }
    }
    out
}

/// What is wrong with a path template on its own, and what to do.
fn path_problem(path: &str, pattern: bool) -> Option<(String, &'static str)> {
    let folders: Vec<&str> = path.split('/').collect();
    if path.starts_with('/') {
        return Some(("is absolute: deliveries write only inside the repository, or for `kind: dir` the working folder".into(), HELP_RELATIVE));
    }
    if folders.contains(&"..") {
        return Some((
            "climbs out with `..`: deliveries write only inside the repository or folder".into(),
            HELP_RELATIVE,
        ));
    }
    if folders.iter().any(|f| f.eq_ignore_ascii_case(".git")) {
        return Some((
            "enters `.git`, where git keeps the repository itself".into(),
            HELP_RELATIVE,
        ));
    }
    if folders.iter().any(|f| f.is_empty() || *f == ".") {
        return Some((
            "has an empty or `.` folder name".into(),
            "name each folder once, separated by single slashes, e.g. `path: \"{env}/{app}\"`",
        ));
    }
    let mut missing = Vec::new();
    if !path.contains("{app}") {
        missing.push("{app}");
    }
    if pattern && !path.contains("{env}") {
        missing.push("{env}");
    }
    if missing.is_empty() {
        return None;
    }
    let why = if missing.contains(&"{app}") {
        "every app would share one folder and each deploy would replace the others' manifests"
    } else {
        "every instance of the preview pattern would share one folder"
    };
    Some((
        format!("has no {}: {why}", missing.join(" and ")),
        "use a path with both placeholders, e.g. `path: \"{env}/{app}\"`",
    ))
}

/// Where an environment's deploys land: the place (kind, repository, branch) and its folder
/// template, `{env}` filled in.
struct Target<'e> {
    environment: &'e Environment,
    place: (DeliveryKind, String, String),
    folders: Vec<String>,
}

impl<'e> Target<'e> {
    /// None without a delivery, or with a path that is wrong on its own (reported already).
    fn of(environment: &'e Environment) -> Option<Target<'e>> {
        let delivery = environment.delivery.as_ref()?;
        if path_problem(&delivery.path, environment.is_pattern()).is_some() {
            return None;
        }
        let place = match delivery.kind {
            DeliveryKind::Dir => (DeliveryKind::Dir, String::new(), String::new()),
            DeliveryKind::Git => (
                DeliveryKind::Git,
                repository_key(delivery.repo.as_deref().unwrap_or_default()),
                delivery.branch.clone().unwrap_or_else(|| "main".into()),
            ),
        };
        let folders = delivery
            .path
            .replace("{env}", &environment.name)
            .split('/')
            .map(str::to_owned)
            .collect();
        Some(Target {
            environment,
            place,
            folders,
        })
    }

    /// Whether some folder of one is some folder of the other, or inside it.
    fn overlaps(&self, other: &Target<'_>) -> bool {
        self.place == other.place
            && self
                .folders
                .iter()
                .zip(&other.folders)
                .all(|(a, b)| may_match(a, b))
    }

    /// "repository `…` (branch `…`)", or "local folders".
    fn describe_place(&self) -> String {
        let delivery = self
            .environment
            .delivery
            .as_ref()
            .expect("a target delivers");
        match delivery.kind {
            DeliveryKind::Dir => "local folders".into(),
            DeliveryKind::Git => format!(
                "repository `{}` (branch `{}`)",
                delivery.repo.as_deref().unwrap_or_default(),
                self.place.2
            ),
        }
    }
}

/// No two environments delivering to one place can write the same folder, or one inside the
/// other: the later one's `delivery` is an error naming the earlier.
pub(super) fn check_overlaps(environments: &[Environment]) -> Vec<Diagnostic> {
    let targets: Vec<Target> = environments.iter().filter_map(Target::of).collect();
    let mut out = Vec::new();
    for (i, target) in targets.iter().enumerate() {
        let env = target.environment;
        let Some(at) = env.delivery_location.as_ref().or(env.location.as_ref()) else {
            continue;
        };
        for earlier in &targets[..i] {
            let other = earlier.environment;
            if other.name == env.name || !target.overlaps(earlier) {
                continue; // an environment defined twice is reported as such
            }
            let other_at = other
                .delivery_location
                .as_ref()
                .or(other.location.as_ref())
                .map(|l| format!(" ({})", l.origin()))
                .unwrap_or_default();
            out.push(
                at.source
                    .error(
                        at.node.span.start,
                        format!(
                            "the delivery of environment `{}` overlaps that of environment `{}`{other_at}: both deliver to {}, where paths `{}` and `{}` can name the same folder, or one inside the other, so a deploy to one would replace the other's manifests",
                            env.name,
                            other.name,
                            target.describe_place(),
                            target.folders.join("/"),
                            earlier.folders.join("/"),
                        ),
                    )
                    .with_help("give each environment a folder of its own, e.g. `path: \"{env}/{app}\"` (the environment's name first), or another repository or branch"),
            );
        }
    }
    out
}

/// Whether two folder-name templates can name the same folder. A placeholder stands for any
/// non-empty name without `/`; only the fixed text before the first placeholder and after the
/// last is compared, so the answer errs towards yes.
fn may_match(a: &str, b: &str) -> bool {
    match (fixed_ends(a), fixed_ends(b)) {
        (None, None) => a == b,
        (None, Some(ends)) => fits(a, ends),
        (Some(ends), None) => fits(b, ends),
        (Some((p1, s1)), Some((p2, s2))) => {
            (p1.starts_with(p2) || p2.starts_with(p1)) && (s1.ends_with(s2) || s2.ends_with(s1))
        }
    }
}

/// A literal folder name against a template's fixed ends, the placeholders taking at least one
/// character.
fn fits(name: &str, (prefix, suffix): (&str, &str)) -> bool {
    name.len() > prefix.len() + suffix.len() && name.starts_with(prefix) && name.ends_with(suffix)
}

/// The text before the first placeholder and after the last; none without a placeholder.
fn fixed_ends(folder: &str) -> Option<(&str, &str)> {
    let open = folder.find('{')?;
    let close = folder.rfind('}').filter(|close| *close > open)?;
    Some((&folder[..open], &folder[close + 1..]))
}

/// One spelling per repository, trivially: no trailing `/` or `.git`, no leading `./`, scheme
/// and host in lowercase.
fn repository_key(repo: &str) -> String {
    let trimmed = repo.trim().trim_end_matches('/');
    let trimmed = trimmed
        .strip_suffix(".git")
        .unwrap_or(trimmed)
        .trim_end_matches('/');
    let trimmed = trimmed.strip_prefix("./").unwrap_or(trimmed);
    match trimmed.split_once("://") {
        Some((scheme, rest)) => {
            let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
            format!(
                "{}://{}/{path}",
                scheme.to_ascii_lowercase(),
                host.to_ascii_lowercase()
            )
        }
        None => trimmed.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn overlap(a: &str, b: &str) -> bool {
        let folders = |p: &str| p.split('/').map(str::to_owned).collect::<Vec<_>>();
        folders(a)
            .iter()
            .zip(&folders(b))
            .all(|(x, y)| may_match(x, y))
    }

    #[test]
    fn folders_overlap_when_every_folder_name_may_match() {
        assert!(overlap("envs/{app}", "envs/dev/{app}"), "app `dev`");
        assert!(overlap("dev-{app}", "dev-x/{app}"), "app `x`");
        assert!(overlap("pr-{n}/{app}", "pr-main/{app}"));
        assert!(overlap("{app}", "{app}"));
        assert!(overlap("a-{app}-b", "a-x{app}"));
        assert!(!overlap("pr-{n}/{app}", "production/{app}"));
        assert!(!overlap("staging/{app}", "production/{app}"));
        assert!(!overlap("{app}/staging", "{app}/production"));
        assert!(!overlap("a-{app}", "b-{app}"));
        assert!(!overlap("{app}-a", "{app}-b"));
        assert!(!overlap("ab", "ab{app}b"), "the placeholder is never empty");
    }

    #[test]
    fn repositories_are_compared_spelled_one_way() {
        let one = repository_key("https://GitHub.com/acme/env.git");
        assert_eq!(one, repository_key("https://github.com/acme/env/"));
        assert_eq!(repository_key("./env.git/"), repository_key("env"));
        assert_ne!(one, repository_key("https://github.com/acme/other"));
    }
}
