//! Placeholder substitution for one workload against provisioned outputs, remembering whether
//! any secret output went into the result (then the whole value is secret).

use serde_json::Value;

use crate::diagnostic::Diagnostic;
use crate::position::Pos;
use crate::resolve::Graph;
use crate::score::LoadedWorkload;
use crate::score::placeholder::{self, Reference, Template};
use crate::source::SourceFile;

/// A substituted string and whether it holds a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expanded {
    pub text: String,
    pub secret: bool,
}

pub struct Substituter<'a> {
    pub workload: &'a LoadedWorkload,
    graph: &'a Graph,
    metadata: Value,
}

impl<'a> Substituter<'a> {
    pub fn new(workload: &'a LoadedWorkload, graph: &'a Graph) -> Self {
        let metadata = serde_json::to_value(&workload.workload.metadata).unwrap_or_default();
        Substituter {
            workload,
            graph,
            metadata,
        }
    }

    /// Expands a string of the Score file at `path` (errors point into the Score file).
    pub fn field(&self, text: &str, path: &[&str]) -> Result<Expanded, Diagnostic> {
        let node = self.workload.document.lookup(path).map(|(_, n)| n);
        let source = &self.workload.source;
        self.expand(text, source, &|offset| {
            node.map_or(Pos::START, |n| n.position_at(source, offset))
        })
    }

    /// Expands text read from `source` (a `files.source` file; errors point into it).
    pub fn file_text(&self, text: &str, source: &SourceFile) -> Result<Expanded, Diagnostic> {
        self.expand(text, source, &|offset| source.position(offset))
    }

    /// The provisioned outputs a whole-resource reference (`${resources.data}`) names.
    pub fn resource_outputs(&self, name: &str) -> Option<&'a crate::resolve::Provisioned> {
        self.graph
            .resource(&self.workload.workload.metadata.name, name)
    }

    fn expand(
        &self,
        text: &str,
        source: &SourceFile,
        locate: &dyn Fn(usize) -> Pos,
    ) -> Result<Expanded, Diagnostic> {
        let template = Template::parse(text).map_err(|errors| {
            let e = &errors[0];
            source
                .error(locate(e.offset), e.message.clone())
                .with_help(e.help.clone())
        })?;
        let mut secret = false;
        let text = template.substitute(|p| {
            let (value, is_secret) = self.lookup(&p.reference).map_err(|(message, help)| {
                source.error(locate(p.offset), message).with_help(help)
            })?;
            secret |= is_secret;
            Ok(placeholder::to_text(&value))
        })?;
        Ok(Expanded { text, secret })
    }

    fn lookup(&self, reference: &Reference) -> Result<(Value, bool), (String, String)> {
        match reference {
            Reference::Metadata(keys) => placeholder::lookup(&self.metadata, keys)
                .map(|v| (v.clone(), false))
                .map_err(|e| {
                    (
                        format!("{reference}: {e}"),
                        "add the key under `metadata`".into(),
                    )
                }),
            Reference::Resource { name, keys } => {
                let provisioned = self.resource_outputs(name).ok_or_else(|| {
                    (
                        format!("{reference}: resource `{name}` was not provisioned"),
                        "declare it under `resources:`".into(),
                    )
                })?;
                if keys.is_empty() {
                    return Err((
                        format!("{reference} names a whole resource"),
                        format!("name an output, e.g. ${{resources.{name}.host}}"),
                    ));
                }
                provisioned.outputs.lookup(keys).map(|(v, s)| (v.clone(), s)).map_err(|e| {
                    let available: Vec<&String> = provisioned.outputs.keys().collect();
                    (
                        format!("{reference}: resource `{name}` ({}, definition `{}`) has no such output: {e}", provisioned.resource_type, provisioned.definition),
                        format!("its outputs: {}", available.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(", ")),
                    )
                })
            }
            Reference::Env(_) => Err((
                format!("{reference} is not a Score placeholder"),
                "use ${metadata.…} or ${resources.…}".into(),
            )),
        }
    }
}
