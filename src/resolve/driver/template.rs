//! `template`: minijinja templates rendering YAML outputs, secrets and manifests, with
//! scoreline's functions: `derive`, `derive_shared`, `fail`, `env`, `service_port`; filters
//! `b64encode`, `sha256`, `dns_label`; the test `regex_path`.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use base64::Engine as _;
use minijinja::{Error, ErrorKind, Value as Jinja};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::{DriverError, Invocation, Provided, SecretReads};
use crate::baseline::{Templates, template_syntax};
use crate::resolve::derive::{self, Refusal};
use crate::resolve::identity::dns_label;
use crate::source::SourceFile;
use crate::yaml::{self, Located};

/// The identity `derive_shared` derives under: the same value for every resource of an
/// environment (credentials of an instance several resources share).
const SHARED_SCOPE: &str = "shared";

/// What the template functions read and noticed during one resource's run.
#[derive(Default)]
struct Call {
    /// The resource's uid, which `derive` derives under.
    uid: Mutex<String>,
    /// How this run reads secrets (the real run registers them, the shadow run shadows them).
    reads: Mutex<SecretReads>,
    refused: AtomicBool,
    used_development_key: AtomicBool,
    read_secret: AtomicBool,
    /// The part being rendered is `secrets`: a CI variable read there is a secret.
    in_secrets: AtomicBool,
}

impl Call {
    fn start(&self, invocation: &Invocation<'_>) {
        invocation
            .uid
            .clone_into(&mut self.uid.lock().unwrap_or_else(PoisonError::into_inner));
        *self.reads.lock().unwrap_or_else(PoisonError::into_inner) = SecretReads::of(invocation);
        for flag in [&self.refused, &self.used_development_key, &self.read_secret] {
            flag.store(false, Ordering::Relaxed);
        }
    }

    fn reads(&self) -> SecretReads {
        self.reads
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// The template engines of one render, one per definition, each with the definition's
/// templates compiled once: resources of the same definition only run them.
#[derive(Default)]
pub struct Engines {
    by_definition: RefCell<HashMap<*const Templates, Rc<Engine>>>,
}

struct Engine {
    env: minijinja::Environment<'static>,
    call: Arc<Call>,
}

impl Engines {
    /// The engine of `templates`, made on first use from what is the same for every resource
    /// of the render (environment, key, workloads).
    fn get(&self, invocation: &Invocation<'_>, templates: &Templates) -> Rc<Engine> {
        let mut engines = self.by_definition.borrow_mut();
        let engine = engines
            .entry(std::ptr::from_ref(templates))
            .or_insert_with(|| {
                let call = Arc::new(Call::default());
                let mut env = engine(invocation, call.clone());
                for (part, template) in templates.parts() {
                    let text = template.node.as_str().unwrap_or_default().to_owned();
                    // A template that does not compile is left out: running it reports the error.
                    let _ = env.add_template_owned(part, text);
                }
                Rc::new(Engine { env, call })
            });
        engine.clone()
    }
}

pub fn run(invocation: &Invocation<'_>, templates: &Templates) -> Result<Provided, DriverError> {
    let engine = invocation.engines.get(invocation, templates);
    let call = &engine.call;
    call.start(invocation);
    let context = invocation.context.to_template_value();
    let mut provided = Provided::default();
    for (part, template) in templates.parts() {
        let text = template.node.as_str().unwrap_or_default();
        call.in_secrets.store(part == "secrets", Ordering::Relaxed);
        let rendered = match engine.env.get_template(part) {
            Ok(compiled) => compiled.render(context.clone()),
            Err(_) => engine.env.render_str(text, context.clone()),
        };
        let rendered = rendered.map_err(|e| {
            let at = template.position_at(template_syntax::error_offset(text, &e));
            let diagnostic = template
                .source
                .error(at, format!("template `{part}` of definition `{}` (for {}): {}", invocation.definition.name, invocation.subject, template_syntax::error_message(&e)));
            if call.refused.load(Ordering::Relaxed) {
                DriverError::Refused(diagnostic.with_help(
                    "set SCORELINE_KEY from the CI secret store (a random string of 32+ characters); the public development key is only allowed for development and preview environments",
                ))
            } else {
                DriverError::Invalid(diagnostic.with_help("see the template context and functions in the README's baseline guide"))
            }
        })?;
        let value = parse_rendered(invocation, part, template, &rendered)?;
        match (part, value) {
            (_, Value::Null) => {}
            ("manifests", Value::Array(items)) => provided.manifests = items,
            ("outputs", Value::Object(map)) => provided.outputs = map,
            ("secrets", Value::Object(map)) => provided.secrets = map,
            (_, other) => {
                let want = if part == "manifests" {
                    "a list of objects"
                } else {
                    "a mapping"
                };
                return Err(invalid(
                    invocation,
                    part,
                    template,
                    format!("rendered {} instead of {want}", kind_of(&other)),
                ));
            }
        }
    }
    provided.used_development_key = call.used_development_key.load(Ordering::Relaxed);
    provided.read_secret = call.read_secret.load(Ordering::Relaxed);
    Ok(provided)
}

/// Rendered text is YAML; an error shows the offending rendered line only for outputs:
/// secrets and manifests (a Secret's `data`) may hold secret values on any line.
fn parse_rendered(
    invocation: &Invocation<'_>,
    part: &str,
    template: &Located,
    rendered: &str,
) -> Result<Value, DriverError> {
    let file = SourceFile::new(
        format!("<{part} of {}>", invocation.definition.name),
        rendered,
    );
    match yaml::parse(&file, yaml::Limits::default()) {
        Ok(docs) => Ok(docs.first().map(|d| d.to_json()).unwrap_or(Value::Null)),
        Err(errors) => {
            let first = &errors[0];
            let shown = if part != "outputs" {
                String::new()
            } else {
                format!(": `{}`", file.line(first.line).unwrap_or_default().trim())
            };
            Err(invalid(
                invocation,
                part,
                template,
                format!(
                    "rendered invalid YAML at line {} of its result{shown} ({})",
                    first.line, first.message
                ),
            ))
        }
    }
}

fn invalid(
    invocation: &Invocation<'_>,
    part: &str,
    template: &Located,
    message: String,
) -> DriverError {
    DriverError::Invalid(
        template
            .source
            .error(
                template.node.span.start,
                format!(
                    "template `{part}` of definition `{}` (for {}): {message}",
                    invocation.definition.name, invocation.subject
                ),
            )
            .with_help("quote values with `| tojson` so they stay valid YAML"),
    )
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
        Value::String(_) => "text",
        _ => "a scalar",
    }
}

fn engine(invocation: &Invocation<'_>, call: Arc<Call>) -> minijinja::Environment<'static> {
    let mut env = template_syntax::engine();
    let key = invocation.key.clone();
    let allow_development_key = invocation.environment.allows_development_key();
    let environment_name = invocation.environment.name.clone();
    for (function, shared) in [("derive", false), ("derive_shared", true)] {
        let key = key.clone();
        let environment_name = environment_name.clone();
        let call = call.clone();
        env.add_function(function, move |purpose: String, length: Option<usize>| {
        let length = length.unwrap_or(24);
        let uid = if shared {
            SHARED_SCOPE.to_owned()
        } else {
            call.uid.lock().unwrap_or_else(PoisonError::into_inner).clone()
        };
        match derive::derive(&key, allow_development_key, &environment_name, &uid, &purpose, length) {
            Ok(value) => {
                if matches!(key, derive::Key::Missing) {
                    call.used_development_key.store(true, Ordering::Relaxed);
                }
                call.read_secret.store(true, Ordering::Relaxed);
                Ok(call.reads().derived(&purpose, value))
            }
            Err(Refusal::NoKey) => {
                call.refused.store(true, Ordering::Relaxed);
                Err(Error::new(ErrorKind::InvalidOperation, format!("derive(\"{purpose}\") needs the platform key: SCORELINE_KEY is not set and environment `{environment_name}` is not a development or preview environment")))
            }
            Err(Refusal::Length(n)) => Err(Error::new(ErrorKind::InvalidOperation, format!("derive length must be 1 to {}, got {n}", derive::MAX_LENGTH))),
        }
        });
    }
    env.add_function("fail", |message: String| -> Result<Jinja, Error> {
        Err(Error::new(ErrorKind::InvalidOperation, message))
    });
    env.add_function("env", move |name: String| {
        let secret = call.in_secrets.load(Ordering::Relaxed);
        call.read_secret.fetch_or(secret, Ordering::Relaxed);
        std::env::var(&name)
            .map(|value| {
                if secret {
                    call.reads().variable(&name, value)
                } else {
                    value
                }
            })
            .map_err(|_| {
                Error::new(
                    ErrorKind::InvalidOperation,
                    format!("environment variable `{name}` is not set"),
                )
            })
    });
    let workloads = invocation.context.workloads();
    env.add_function("service_port", move |workload: String, port: Jinja| {
        service_port(&workloads, &workload, &port)
    });
    env.add_filter("b64encode", |text: String| {
        base64::engine::general_purpose::STANDARD.encode(text)
    });
    env.add_filter("sha256", |text: String| {
        Sha256::digest(text.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    });
    env.add_filter("dns_label", |text: String| dns_label(&text, &text, 63));
    env.add_test("regex_path", |path: String| {
        path.contains([
            '[', ']', '(', ')', '*', '+', '?', '^', '$', '|', '{', '}', '\\',
        ])
    });
    env
}

/// The Service port number of a workload's port, given by name or number.
fn service_port(workloads: &Value, workload: &str, port: &Jinja) -> Result<u16, Error> {
    let fail = |message: String| Error::new(ErrorKind::InvalidOperation, message);
    let ports: &Map<String, Value> = workloads[workload]["service"]["ports"]
        .as_object()
        .ok_or_else(|| fail(format!("workload `{workload}` publishes no service ports")))?;
    let wanted = port.to_string();
    let found = ports.get(&wanted).or_else(|| {
        ports
            .values()
            .find(|p| p["port"].as_u64().is_some_and(|n| n.to_string() == wanted))
    });
    found
        .and_then(|p| p["port"].as_u64())
        .and_then(|n| u16::try_from(n).ok())
        .ok_or_else(|| {
            let known: Vec<String> = ports
                .iter()
                .map(|(name, p)| format!("{name} ({})", p["port"]))
                .collect();
            fail(format!(
                "workload `{workload}` has no service port `{wanted}`; its ports: {}",
                known.join(", ")
            ))
        })
}
