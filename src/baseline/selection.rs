//! Choosing the definition for a resource: the most specific matching rule wins; a tie for
//! first place or no match at all is an error that shows every candidate and why.

use serde::Serialize;

use super::criteria::{Specificity, Subject};
use super::definition::Definition;

/// Every definition of the subject's type and how it fared.
#[derive(Debug, Clone)]
pub struct Selection<'b> {
    pub subject: Subject,
    pub candidates: Vec<Candidate<'b>>,
}

#[derive(Debug, Clone)]
pub struct Candidate<'b> {
    pub definition: &'b Definition,
    pub verdict: Verdict,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    /// The winner: its best matching rule (1-based) and that rule's specificity.
    Selected {
        rule: usize,
        specificity: Specificity,
    },
    /// Matched, but a more specific definition won.
    LessSpecific {
        rule: usize,
        specificity: Specificity,
    },
    /// Tied for first place with another definition.
    Tied {
        rule: usize,
        specificity: Specificity,
    },
    /// No rule matched; each rule's reason, in order.
    NoMatch { reasons: Vec<String> },
}

impl<'b> Selection<'b> {
    pub fn winner(&self) -> Option<&'b Definition> {
        self.candidates
            .iter()
            .find(|c| matches!(c.verdict, Verdict::Selected { .. }))
            .map(|c| c.definition)
    }

    pub fn tied(&self) -> Vec<&'b Definition> {
        self.candidates
            .iter()
            .filter(|c| matches!(c.verdict, Verdict::Tied { .. }))
            .map(|c| c.definition)
            .collect()
    }
}

impl Candidate<'_> {
    /// ✔ for the winner, ✘ for a tie, · for the others.
    pub fn mark(&self) -> char {
        match self.verdict {
            Verdict::Selected { .. } => '✔',
            Verdict::Tied { .. } => '✘',
            Verdict::LessSpecific { .. } | Verdict::NoMatch { .. } => '·',
        }
    }

    /// Why the candidate won or lost, in words.
    pub fn reason(&self) -> String {
        let rule = |n: &usize| &self.definition.criteria[n - 1];
        match &self.verdict {
            Verdict::Selected {
                rule: n,
                specificity,
            } => format!("selected by rule {n} {} [{specificity}]", rule(n)),
            Verdict::Tied {
                rule: n,
                specificity,
            } => format!("ties on rule {n} {} [{specificity}]", rule(n)),
            Verdict::LessSpecific {
                rule: n,
                specificity,
            } => format!(
                "matches by rule {n} {} [{specificity}], but a more specific definition wins",
                rule(n)
            ),
            Verdict::NoMatch { reasons } => format!("no rule matches: {}", reasons.join("; ")),
        }
    }
}

/// Ranks every definition of the subject's type.
pub fn select<'b>(definitions: &'b [Definition], subject: &Subject) -> Selection<'b> {
    let mut candidates: Vec<(Candidate<'b>, Option<Specificity>)> = definitions
        .iter()
        .filter(|d| d.resource_type == subject.resource_type)
        .map(|definition| {
            let mut best: Option<(usize, Specificity)> = None;
            let mut reasons = Vec::new();
            for (i, rule) in definition.criteria.iter().enumerate() {
                match rule.check(subject) {
                    Ok(s) if best.is_none_or(|(_, b)| s > b) => best = Some((i + 1, s)),
                    Ok(_) => {}
                    Err(reason) => reasons.push(format!("rule {} {rule}: {reason}", i + 1)),
                }
            }
            let verdict = match best {
                Some((rule, specificity)) => Verdict::LessSpecific { rule, specificity },
                None => Verdict::NoMatch { reasons },
            };
            let top = best.map(|(_, s)| s);
            (
                Candidate {
                    definition,
                    verdict,
                },
                top,
            )
        })
        .collect();
    let top = candidates.iter().filter_map(|(_, s)| *s).max();
    if let Some(top) = top {
        let leaders = candidates.iter().filter(|(_, s)| *s == Some(top)).count();
        for (candidate, s) in &mut candidates {
            if *s == Some(top)
                && let Verdict::LessSpecific { rule, specificity } = candidate.verdict
            {
                candidate.verdict = if leaders == 1 {
                    Verdict::Selected { rule, specificity }
                } else {
                    Verdict::Tied { rule, specificity }
                };
            }
        }
    }
    Selection {
        subject: subject.clone(),
        candidates: candidates.into_iter().map(|(c, _)| c).collect(),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::baseline::criteria::Rule;
    use crate::baseline::definition::Driver;
    use crate::source::SourceFile;
    use crate::yaml::{Located, Node, ScalarStyle, Span, Value};

    fn definition(name: &str, resource_type: &str, criteria: Vec<Rule>) -> Definition {
        let pos = crate::position::Pos::START;
        Definition {
            name: name.into(),
            description: None,
            resource_type: resource_type.into(),
            criteria,
            driver: Driver::Static {
                outputs: None,
                secrets: None,
            },
            location: Located {
                source: Arc::new(SourceFile::new("t.yaml", "")),
                node: Node {
                    value: Value::Null,
                    span: Span {
                        start: pos,
                        end: pos,
                    },
                    style: Some(ScalarStyle::Plain),
                },
            },
        }
    }

    fn rule(fields: &[(&str, &str)]) -> Rule {
        let mut r = Rule::default();
        for (k, v) in fields {
            let v = Some((*v).to_owned());
            match *k {
                "env_type" => r.env_type = v,
                "env" => r.env = v,
                "app" => r.app = v,
                "res_id" => r.res_id = v,
                "class" => r.class = v,
                other => panic!("no field {other}"),
            }
        }
        r
    }

    fn subject(class: &str) -> Subject {
        Subject {
            resource_type: "postgres".into(),
            class: class.into(),
            res_id: "shop.db".into(),
            env: "staging".into(),
            env_type: "test".into(),
            app: "shop".into(),
        }
    }

    fn winner(defs: &[Definition], class: &str) -> Option<String> {
        select(defs, &subject(class))
            .winner()
            .map(|d| d.name.clone())
    }

    #[test]
    fn each_field_beats_every_field_ranked_below_it() {
        // (more specific rule, less specific rule): the first must win either way round.
        let ladder: &[&[(&str, &str)]] = &[
            &[("res_id", "shop.db")],
            &[("env", "staging")],
            &[("app", "shop")],
            &[("env_type", "test")],
            &[],
        ];
        for (i, stronger) in ladder.iter().enumerate() {
            for weaker in &ladder[i + 1..] {
                for defs in [
                    vec![
                        definition("strong", "postgres", vec![rule(stronger)]),
                        definition("weak", "postgres", vec![rule(weaker)]),
                    ],
                    vec![
                        definition("weak", "postgres", vec![rule(weaker)]),
                        definition("strong", "postgres", vec![rule(stronger)]),
                    ],
                ] {
                    assert_eq!(
                        winner(&defs, "default").as_deref(),
                        Some("strong"),
                        "{stronger:?} vs {weaker:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_higher_field_beats_any_number_of_lower_fields() {
        let defs = vec![
            definition("env", "postgres", vec![rule(&[("env", "staging")])]),
            definition(
                "app-and-type",
                "postgres",
                vec![rule(&[("app", "shop"), ("env_type", "test")])],
            ),
        ];
        assert_eq!(winner(&defs, "default").as_deref(), Some("env"));
        let defs = vec![
            definition(
                "env-and-app",
                "postgres",
                vec![rule(&[("env", "staging"), ("app", "shop")])],
            ),
            definition("env", "postgres", vec![rule(&[("env", "staging")])]),
        ];
        assert_eq!(winner(&defs, "default").as_deref(), Some("env-and-app"));
    }

    #[test]
    fn a_definition_ranks_by_its_best_matching_rule() {
        let defs = vec![
            definition(
                "multi",
                "postgres",
                vec![
                    rule(&[("env", "production")]),
                    rule(&[("env_type", "test")]),
                    rule(&[("res_id", "shop.db")]),
                ],
            ),
            definition("env", "postgres", vec![rule(&[("env", "staging")])]),
        ];
        let selection = select(&defs, &subject("default"));
        assert_eq!(selection.winner().map(|d| d.name.as_str()), Some("multi"));
        assert!(matches!(
            selection.candidates[0].verdict,
            Verdict::Selected { rule: 3, .. }
        ));
        assert!(matches!(
            selection.candidates[1].verdict,
            Verdict::LessSpecific { rule: 1, .. }
        ));
    }

    #[test]
    fn equal_specificity_is_a_tie_naming_both() {
        let defs = vec![
            definition("a", "postgres", vec![rule(&[("env_type", "test")])]),
            definition("b", "postgres", vec![rule(&[("env_type", "test")])]),
            definition("c", "postgres", vec![rule(&[])]),
        ];
        let selection = select(&defs, &subject("default"));
        assert!(selection.winner().is_none());
        let tied: Vec<&str> = selection.tied().iter().map(|d| d.name.as_str()).collect();
        assert_eq!(tied, vec!["a", "b"]);
    }

    #[test]
    fn class_defaults_to_default_and_must_match() {
        let defs = vec![
            definition("any", "postgres", vec![rule(&[])]),
            definition("large", "postgres", vec![rule(&[("class", "large")])]),
        ];
        assert_eq!(winner(&defs, "default").as_deref(), Some("any"));
        assert_eq!(winner(&defs, "large").as_deref(), Some("large"));
        assert_eq!(winner(&defs, "small"), None);
        let selection = select(&defs, &subject("small"));
        let Verdict::NoMatch { reasons } = &selection.candidates[0].verdict else {
            panic!()
        };
        assert_eq!(
            reasons,
            &vec!["rule 1 {}: class is `small`, not `default`".to_owned()]
        );
    }

    #[test]
    fn mismatches_say_which_field_differs() {
        let defs = vec![
            definition(
                "prod",
                "postgres",
                vec![rule(&[("env_type", "production")])],
            ),
            definition("redis", "redis", vec![rule(&[])]),
        ];
        let selection = select(&defs, &subject("default"));
        assert_eq!(
            selection.candidates.len(),
            1,
            "only definitions of the subject's type are candidates"
        );
        let Verdict::NoMatch { reasons } = &selection.candidates[0].verdict else {
            panic!()
        };
        assert_eq!(
            reasons,
            &vec!["rule 1 {env_type: production}: env_type is `test`, not `production`".to_owned()]
        );
    }
}
