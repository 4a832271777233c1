//! Resource definitions: how one resource type is provided (the driver and its inputs) and
//! where (the criteria).

use std::path::PathBuf;
use std::time::Duration;

use super::criteria::Rule;
use crate::yaml::Located;

#[derive(Debug, Clone)]
pub struct Definition {
    pub name: String,
    pub description: Option<String>,
    pub resource_type: String,
    pub criteria: Vec<Rule>,
    pub driver: Driver,
    /// The definition's `metadata.name` node, for messages that say where it is.
    pub location: Located,
}

#[derive(Debug, Clone)]
pub enum Driver {
    /// `static` / `echo`: outputs and secrets written out, strings may read `${env.VAR}`.
    Static {
        outputs: Option<Located>,
        secrets: Option<Located>,
    },
    /// `template`: minijinja templates rendering YAML.
    Template(Templates),
    /// `cmd`: a program speaking JSON on stdin and stdout.
    Cmd(Program),
}

/// A `cmd` definition's program, with its paths resolved once, when the baseline is read.
#[derive(Debug, Clone)]
pub struct Program {
    /// The program and its arguments as the definition writes them (messages show these).
    pub command: Vec<String>,
    /// The program to start: a relative path joined to the baseline folder (so absolute), a bare
    /// name as it is (looked up on PATH).
    pub path: PathBuf,
    /// Where it runs: the baseline folder, absolute; none for the embedded baseline.
    pub dir: Option<PathBuf>,
    pub timeout: Duration,
    /// The variables passed through from scoreline's environment, besides PATH, HOME, LANG, TZ.
    pub env: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Templates {
    pub outputs: Option<Located>,
    pub secrets: Option<Located>,
    pub manifests: Option<Located>,
}

impl Templates {
    /// Each template that is given, with its name.
    pub fn parts(&self) -> impl Iterator<Item = (&'static str, &Located)> {
        [
            ("outputs", &self.outputs),
            ("secrets", &self.secrets),
            ("manifests", &self.manifests),
        ]
        .into_iter()
        .filter_map(|(part, template)| template.as_ref().map(|t| (part, t)))
    }
}

impl Driver {
    pub fn name(&self) -> &'static str {
        match self {
            Driver::Static { .. } => "static",
            Driver::Template(_) => "template",
            Driver::Cmd(_) => "cmd",
        }
    }

    /// Whether its result depends on its inputs alone, so running it twice is harmless (a
    /// `cmd` program may provision something each time it runs).
    pub fn is_pure(&self) -> bool {
        !matches!(self, Driver::Cmd { .. })
    }
}

impl Definition {
    /// `name (file:line)`, how messages refer to a definition.
    pub fn describe(&self) -> String {
        format!("`{}` ({})", self.name, self.location.origin())
    }
}

/// `30s`, `5m`, `500ms` (the schema has checked the form).
pub fn parse_timeout(text: &str) -> Duration {
    let digits: String = text.chars().take_while(char::is_ascii_digit).collect();
    let n: u64 = digits.parse().unwrap_or(60);
    match &text[digits.len()..] {
        "ms" => Duration::from_millis(n),
        "m" => Duration::from_secs(n * 60),
        _ => Duration::from_secs(n),
    }
}
