//! The secret values a run has come to know, and their removal from everything it shows.
//! (A `cmd` driver keeps a registry of its own, of what it gave its program.)
//!
//! A value is registered the moment it becomes known — a resource's secret output, a derived
//! value, a CI variable a definition read — whether or not the run then succeeds. Every surface
//! (stderr, annotations, JSON, `$GITHUB_OUTPUT`, summaries, dotenv files, commit messages,
//! records) passes its text through [`redact`], and the renderer asks [`Secrets::find`] whether
//! a non-Secret object holds one, as defence in depth behind taint tracking.
//!
//! One registry per process: a secret met anywhere must be masked everywhere, including in the
//! error that ends the run, which no caller would otherwise have at hand.

use std::borrow::Cow;
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use aho_corasick::{AhoCorasick, MatchKind};
use base64::Engine as _;

/// What replaces a secret in anything shown.
pub const MASK: &str = "••••••";

/// Values shorter than this are neither masked nor searched for: a two-character secret would
/// match all over ordinary text. Taint tracking still keeps them out of non-Secret objects.
pub const MIN_LEN: usize = 4;

/// Each line this long or longer of a multi-line secret (a PEM key, a kubeconfig) is a form of
/// it too, so that a fragment cut at line boundaries (a program's last lines of stderr, a diff
/// hunk) is masked. Shorter lines are left out: they are too often ordinary text (`}`, `---`,
/// `type: Opaque`) to hide everywhere, and on their own give little of the secret away; a
/// 64-character PEM line or a token line is well above it.
pub const LINE_MIN_LEN: usize = 16;

type Listener = Box<dyn Fn(&str) + Send + Sync>;

/// Known secret values (each in the forms it is shown in, see `forms`) and where each came from.
#[derive(Default)]
pub struct Secrets {
    known: RwLock<Known>,
    /// Built on first use after a registration: registering thousands of values stays linear.
    matcher: Mutex<Option<Arc<Matcher>>>,
    listener: OnceLock<Listener>,
}

#[derive(Default)]
struct Known {
    /// (form, index into `origins`), in registration order.
    forms: Vec<(String, usize)>,
    origins: Vec<String>,
    /// Each value's index in `origins`.
    seen: std::collections::HashMap<String, usize>,
}

struct Matcher {
    automaton: AhoCorasick,
    /// The origin of each pattern of `automaton`.
    origins: Vec<String>,
}

impl Secrets {
    /// Registers a secret value; `origin` names where it came from (`resources.db.password`),
    /// never the value, and is what a refusal quotes.
    pub fn register(&self, value: &str, origin: &str) {
        if value.chars().count() < MIN_LEN {
            return;
        }
        let mut known = self.known.write().expect("secret registry poisoned");
        if let Some(&index) = known.seen.get(value) {
            // The latest name is the one closest to where it is used (a resource's output
            // rather than the derivation that made it).
            known.origins[index] = origin.to_owned();
            drop(known);
            *self.matcher.lock().expect("secret matcher poisoned") = None;
            return;
        }
        let index = known.origins.len();
        known.seen.insert(value.to_owned(), index);
        known.origins.push(origin.to_owned());
        for form in forms(value) {
            known.forms.push((form, index));
        }
        drop(known);
        *self.matcher.lock().expect("secret matcher poisoned") = None;
        if let Some(listener) = self.listener.get() {
            listener(value);
        }
    }

    /// Called with every value registered from now on (the CI log's `::add-mask::`), and at
    /// once with those already known.
    pub fn on_register(&self, listener: impl Fn(&str) + Send + Sync + 'static) {
        let known = self.known.read().expect("secret registry poisoned");
        let mut values: Vec<&str> = Vec::new();
        let mut last = usize::MAX;
        for (form, origin) in &known.forms {
            // The first form of each value is the raw one.
            if *origin != last {
                values.push(form);
                last = *origin;
            }
        }
        values.iter().for_each(|v| listener(v));
        let _ = self.listener.set(Box::new(listener));
    }

    /// The text with every known secret (in any of its forms) replaced by [`MASK`].
    pub fn redact<'t>(&self, text: &'t str) -> Cow<'t, str> {
        match self.matcher() {
            Some(m) if m.automaton.is_match(text) => {
                let mut masked = String::with_capacity(text.len());
                m.automaton
                    .replace_all_with(text, &mut masked, |_, _, out| {
                        out.push_str(MASK);
                        true
                    });
                Cow::Owned(masked)
            }
            _ => Cow::Borrowed(text),
        }
    }

    /// A JSON value with every known secret masked in its strings and keys. Masked before it
    /// is written out: JSON escapes (`\"`, `\\`, `\u…`) change how a secret reads in the text.
    pub fn redact_json(&self, value: serde_json::Value) -> serde_json::Value {
        use serde_json::Value;
        match value {
            Value::String(text) => Value::String(self.redact(&text).into_owned()),
            Value::Array(items) => {
                Value::Array(items.into_iter().map(|v| self.redact_json(v)).collect())
            }
            Value::Object(map) => Value::Object(
                map.into_iter()
                    .map(|(key, item)| (self.redact(&key).into_owned(), self.redact_json(item)))
                    .collect(),
            ),
            other => other,
        }
    }

    /// Where the first secret found in `text` came from.
    pub fn find(&self, text: &str) -> Option<String> {
        let m = self.matcher()?;
        m.automaton
            .find(text)
            .map(|found| m.origins[found.pattern().as_usize()].clone())
    }

    pub fn is_empty(&self) -> bool {
        self.known
            .read()
            .expect("secret registry poisoned")
            .forms
            .is_empty()
    }

    fn matcher(&self) -> Option<Arc<Matcher>> {
        let mut cached = self.matcher.lock().expect("secret matcher poisoned");
        if cached.is_none() {
            let known = self.known.read().expect("secret registry poisoned");
            if known.forms.is_empty() {
                return None;
            }
            let automaton = AhoCorasick::builder()
                // The longest form wins, so a value containing another is masked whole.
                .match_kind(MatchKind::LeftmostLongest)
                .build(known.forms.iter().map(|(form, _)| form))
                .expect("secret patterns build");
            let origins = known
                .forms
                .iter()
                .map(|(_, i)| known.origins[*i].clone())
                .collect();
            *cached = Some(Arc::new(Matcher { automaton, origins }));
        }
        cached.clone()
    }
}

/// The forms a value is shown in: as is, base64 (a Secret's `data`, basic auth), URL-encoded
/// (a connection string), inside a JSON string (a program that prints its input shows `"`
/// as `\"`, and Python's `json.dumps` non-ASCII as `\u00e9`), and, for a multi-line value,
/// each of its long lines (see [`LINE_MIN_LEN`]).
fn forms(value: &str) -> Vec<String> {
    let mut forms = vec![value.to_owned()];
    let lines = value
        .lines()
        .map(str::trim)
        .filter(|line| line.len() < value.len() && line.chars().count() >= LINE_MIN_LEN)
        .map(str::to_owned);
    for form in [
        base64::engine::general_purpose::STANDARD.encode(value),
        percent_encoding::utf8_percent_encode(value, percent_encoding::NON_ALPHANUMERIC)
            .to_string(),
        json_escaped(value, false),
        json_escaped(value, true),
    ]
    .into_iter()
    .chain(lines)
    {
        if !forms.contains(&form) {
            forms.push(form);
        }
    }
    forms
}

/// A string as it appears inside a JSON string literal; with `ascii`, non-ASCII as `\uXXXX`.
fn json_escaped(text: &str, ascii: bool) -> String {
    let quoted = serde_json::to_string(text).expect("a string serialises");
    let inner = &quoted[1..quoted.len() - 1];
    if !ascii {
        return inner.to_owned();
    }
    let mut out = String::with_capacity(inner.len());
    for c in inner.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            for unit in c.encode_utf16(&mut [0; 2]) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    out
}

/// The process's registry.
pub fn global() -> &'static Secrets {
    static GLOBAL: OnceLock<Secrets> = OnceLock::new();
    GLOBAL.get_or_init(Secrets::default)
}

/// Registers a value with the process's registry.
pub fn register(value: &str, origin: &str) {
    global().register(value, origin);
}

/// Redacts text with the process's registry.
pub fn redact(text: &str) -> Cow<'_, str> {
    global().redact(text)
}

/// Redacts a JSON value with the process's registry (see [`Secrets::redact_json`]).
pub fn redact_json(value: serde_json::Value) -> serde_json::Value {
    global().redact_json(value)
}

/// The CI variables that hold credentials scoreline reads (the platform key, git and forge
/// tokens, registry passwords).
const CREDENTIAL_VARIABLES: [&str; 8] = [
    "SCORELINE_KEY",
    "GIT_TOKEN",
    "GITHUB_TOKEN",
    "GH_TOKEN",
    "GITLAB_TOKEN",
    "CI_JOB_TOKEN",
    "REGISTRY_PASSWORD",
    "CI_REGISTRY_PASSWORD",
];

/// Registers the credentials the process was given, whether or not this run uses them: a
/// definition that reads one (`${env.GIT_TOKEN}`) must find it known before it is rendered.
pub fn register_credentials() {
    for name in CREDENTIAL_VARIABLES {
        if let Some(value) = std::env::var(name).ok().filter(|v| !v.is_empty()) {
            register(&value, name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_of_a_value_is_masked() {
        let secrets = Secrets::default();
        secrets.register("p@ss word", "resources.db.password");
        let b64 = base64::engine::general_purpose::STANDARD.encode("p@ss word");
        let text = format!("raw p@ss word, b64 {b64}, url p%40ss%20word.");
        assert_eq!(
            secrets.redact(&text),
            format!("raw {MASK}, b64 {MASK}, url {MASK}.")
        );
        assert_eq!(
            secrets.find("host=p%40ss%20word").as_deref(),
            Some("resources.db.password")
        );
        assert_eq!(secrets.find("nothing here"), None);
    }

    #[test]
    fn secrets_are_masked_as_json_escapes_them() {
        let secrets = Secrets::default();
        secrets.register("pa\"ss\\wörd", "a");
        secrets.register("abc", "short");
        assert_eq!(
            secrets.redact(r#"raw pa"ss\wörd json "pa\"ss\\wörd" python "pa\"ss\\w\u00f6rd" abc"#),
            format!(r#"raw {MASK} json "{MASK}" python "{MASK}" abc"#)
        );
    }

    #[test]
    fn a_value_containing_another_is_masked_whole() {
        let secrets = Secrets::default();
        secrets.register("abcd", "a");
        secrets.register("xxabcdxx", "b");
        assert_eq!(secrets.redact("-xxabcdxx-"), format!("-{MASK}-"));
    }

    #[test]
    fn json_is_masked_before_it_is_escaped() {
        let secrets = Secrets::default();
        secrets.register("q\"uote\\d-secret", "test");
        let value = serde_json::json!({"m": "got q\"uote\\d-secret", "q\"uote\\d-secret": 1});
        let text = serde_json::to_string(&secrets.redact_json(value)).unwrap();
        assert_eq!(text, format!(r#"{{"m":"got {MASK}","{MASK}":1}}"#));
    }

    #[test]
    fn each_long_line_of_a_multi_line_secret_is_masked_on_its_own() {
        let secrets = Secrets::default();
        let key = "-----BEGIN KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n  bm90IGEgcmVhbCBrZXkgYXQgYWxs\nshort\n-----END KEY-----";
        secrets.register(key, "TLS_KEY");
        assert_eq!(
            secrets.redact("tail:\nbm90IGEgcmVhbCBrZXkgYXQgYWxs\nshort\n-----END KEY-----"),
            format!("tail:\n{MASK}\nshort\n{MASK}")
        );
        assert_eq!(
            secrets.redact(key),
            MASK,
            "whole, the value is masked as one"
        );
    }

    #[test]
    fn short_values_are_not_registered() {
        let secrets = Secrets::default();
        secrets.register("abc", "short");
        assert!(secrets.is_empty());
        assert_eq!(secrets.redact("abc"), "abc");
    }

    #[test]
    fn listeners_hear_known_and_later_values_once() {
        let secrets = Secrets::default();
        secrets.register("first-value", "a");
        let heard = Arc::new(Mutex::new(Vec::new()));
        let sink = heard.clone();
        secrets.on_register(move |v| sink.lock().unwrap().push(v.to_owned()));
        secrets.register("second-value", "b");
        secrets.register("second-value", "b");
        assert_eq!(*heard.lock().unwrap(), ["first-value", "second-value"]);
    }
}
