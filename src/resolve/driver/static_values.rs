//! `static` / `echo`: outputs written in the definition; strings may read `${env.VAR}` (e.g.
//! credentials of a managed database from the CI secret store).

use serde_json::{Map, Value};

use super::{DriverError, Invocation, Provided};
use crate::score::placeholder::{Reference, Template};
use crate::yaml::{Located, Node, Value as Yaml};

pub fn run(
    invocation: &Invocation<'_>,
    outputs: Option<&Located>,
    secrets: Option<&Located>,
) -> Result<Provided, DriverError> {
    let read_secret = secrets.is_some_and(|located| reads_environment(&located.node));
    Ok(Provided {
        outputs: materialize_map(invocation, outputs, false)?,
        secrets: materialize_map(invocation, secrets, true)?,
        read_secret,
        ..Provided::default()
    })
}

fn reads_environment(node: &Node) -> bool {
    match &node.value {
        Yaml::String(text) => text.contains("${env."),
        Yaml::Seq(items) => items.iter().any(reads_environment),
        Yaml::Map(entries) => entries.iter().any(|e| reads_environment(&e.value)),
        _ => false,
    }
}

/// `secret`: the map is the definition's `secrets`, whose CI variables are secrets.
fn materialize_map(
    invocation: &Invocation<'_>,
    located: Option<&Located>,
    secret: bool,
) -> Result<Map<String, Value>, DriverError> {
    let Some(located) = located else {
        return Ok(Map::new());
    };
    let reads = secret.then(|| super::SecretReads::of(invocation));
    match materialize(invocation, reads.as_ref(), located, &located.node)? {
        Value::Object(map) => Ok(map),
        _ => Ok(Map::new()),
    }
}

fn materialize(
    invocation: &Invocation<'_>,
    reads: Option<&super::SecretReads>,
    located: &Located,
    node: &Node,
) -> Result<Value, DriverError> {
    Ok(match &node.value {
        Yaml::String(text) => {
            let template =
                Template::parse_env(text).expect("the baseline loader checked the syntax");
            let value = template.substitute(|p| {
                let Reference::Env(var) = &p.reference else {
                    unreachable!("env syntax yields env references")
                };
                std::env::var(var)
                    .map(|value| match reads {
                        Some(reads) => reads.variable(var, value),
                        None => value,
                    })
                    .map_err(|_| (p.offset, var.clone()))
            });
            match value {
                Ok(text) => Value::String(text),
                Err((offset, var)) => {
                    let at = node.position_at(&located.source, offset);
                    return Err(DriverError::Invalid(
                        located
                            .source
                            .error(at, format!("definition `{}` (for {}) reads environment variable `{var}`, which is not set", invocation.definition.name, invocation.subject))
                            .with_help(format!("set {var} in the CI job, e.g. from its secret store")),
                    ));
                }
            }
        }
        Yaml::Seq(items) => Value::Array(
            items
                .iter()
                .map(|i| materialize(invocation, reads, located, i))
                .collect::<Result<_, _>>()?,
        ),
        Yaml::Map(entries) => {
            let mut map = Map::new();
            for e in entries {
                map.insert(
                    e.key_str().to_owned(),
                    materialize(invocation, reads, located, &e.value)?,
                );
            }
            Value::Object(map)
        }
        _ => node.to_json(),
    })
}
