//! "Did you mean": for a name the baseline does not know (an environment, a resource type, a
//! class), the closest one it does, as fields of Score files and baselines already get.

use super::Baseline;
use super::selection::{Selection, Verdict};

/// The known name closest to `given`, if one is close enough to be a likely typo.
pub fn closest<'a>(given: &str, known: &[&'a str]) -> Option<&'a str> {
    let given = given.to_lowercase();
    known
        .iter()
        .map(|k| (strsim::jaro_winkler(&given, &k.to_lowercase()), *k))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| k)
}

/// "did you mean `staging`? known: development, staging", or the list alone.
pub fn known(given: &str, known: &[&str]) -> String {
    let list = if known.is_empty() {
        "none".to_owned()
    } else {
        known.join(", ")
    };
    match closest(given, known) {
        Some(close) => format!("did you mean `{close}`? known: {list}"),
        None => format!("known: {list}"),
    }
}

/// "did you mean `x`? " when a known name is close to `given`, else nothing.
fn did_you_mean(given: &str, known: &[&str], what: &str) -> String {
    closest(given, known)
        .map(|close| format!("did you mean {what}`{close}`? "))
        .unwrap_or_default()
}

impl Baseline {
    /// Why `--env NAME` names no environment here, with the closest name.
    pub fn unknown_environment(&self, name: &str) -> String {
        let names = self.environment_names();
        format!(
            "environment `{name}` is not defined in {}: {}environments: {}",
            self.origin,
            did_you_mean(name, &names, ""),
            names.join(", ")
        )
    }

    /// Why no definition provides a resource type, with the closest type defined.
    pub fn unknown_type(&self, resource_type: &str) -> String {
        let types = self.resource_types();
        format!(
            "{} has no definition of type `{resource_type}`; {}it defines: {}",
            self.origin,
            did_you_mean(resource_type, &types, ""),
            types.join(", ")
        )
    }
}

impl Selection<'_> {
    /// When no definition matched because none has the resource's class: the classes the type
    /// has, with the closest one.
    pub fn class_suggestion(&self) -> Option<String> {
        if self.candidates.is_empty()
            || !self
                .candidates
                .iter()
                .all(|c| matches!(c.verdict, Verdict::NoMatch { .. }))
        {
            return None;
        }
        let mut classes: Vec<&str> = self
            .candidates
            .iter()
            .flat_map(|c| &c.definition.criteria)
            .map(|rule| rule.class.as_deref().unwrap_or("default"))
            .collect();
        classes.sort();
        classes.dedup();
        let class = self.subject.class.as_str();
        if classes.contains(&class) {
            return None;
        }
        Some(format!(
            "{}no definition of type `{}` has class `{class}`; its classes: {}",
            did_you_mean(class, &classes, "class "),
            self.subject.resource_type,
            classes.join(", ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_typo_finds_the_name_and_a_stranger_finds_none() {
        let names = ["development", "staging", "production", "pr-{n}"];
        assert_eq!(closest("stagin", &names), Some("staging"));
        assert_eq!(closest("Prodution", &names), Some("production"));
        assert_eq!(closest("qa", &names), None);
        assert_eq!(
            known("developmnt", &names[..2]),
            "did you mean `development`? known: development, staging"
        );
        assert_eq!(known("x", &[]), "known: none");
    }
}
