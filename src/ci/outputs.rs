//! Step outputs for later steps: `$GITHUB_OUTPUT` under GitHub Actions (`name<<DELIMITER` form for
//! values with line breaks), a dotenv file (GitLab `artifacts:reports:dotenv`) when asked for.

use std::io::Write;
use std::path::Path;

/// Appends outputs to `$GITHUB_OUTPUT` if it is set, and to `dotenv` if given.
pub fn write(outputs: &[(&str, String)], dotenv: Option<&Path>) -> std::io::Result<()> {
    if let Some(path) = std::env::var_os("GITHUB_OUTPUT").filter(|p| !p.is_empty()) {
        append(Path::new(&path), &github(outputs))?;
    }
    if let Some(path) = dotenv {
        append(path, &dotenv_lines(outputs))?;
    }
    Ok(())
}

/// Step outputs are read by later steps and shown in the run's page: no secret goes in.
fn append(path: &Path, text: &str) -> std::io::Result<()> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?
        .write_all(crate::secret::redact(text).as_bytes())
}

fn github(outputs: &[(&str, String)]) -> String {
    outputs
        .iter()
        .map(|(name, value)| {
            if value.contains(['\n', '\r']) {
                let mut delimiter = String::from("SCORELINE_EOF");
                while value.contains(&delimiter) {
                    delimiter.push('_');
                }
                format!("{name}<<{delimiter}\n{value}\n{delimiter}\n")
            } else {
                format!("{name}={value}\n")
            }
        })
        .collect()
}

/// Outputs whose dotenv variable has no `SCORELINE_` prefix: `ENVIRONMENT_URL` is what GitLab
/// jobs conventionally give `environment:url`.
const UNPREFIXED: [&str; 1] = ["environment-url"];

/// GitLab dotenv: keys `[A-Za-z0-9_]`, one line each (multi-line values are left out).
fn dotenv_lines(outputs: &[(&str, String)]) -> String {
    outputs
        .iter()
        .filter(|(_, v)| !v.contains(['\n', '\r']))
        .map(|(name, value)| {
            let key = name
                .to_uppercase()
                .replace(|c: char| !c.is_ascii_alphanumeric(), "_");
            let prefix = if UNPREFIXED.contains(name) {
                ""
            } else {
                "SCORELINE_"
            };
            format!("{prefix}{key}={value}\n")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multiline_values_use_a_delimiter() {
        let text = github(&[
            ("id", "sha256:1".into()),
            ("notes", "a\nSCORELINE_EOF\nb".into()),
        ]);
        assert_eq!(
            text,
            "id=sha256:1\nnotes<<SCORELINE_EOF_\na\nSCORELINE_EOF\nb\nSCORELINE_EOF_\n"
        );
        assert_eq!(
            dotenv_lines(&[("record-id", "x".into()), ("notes", "a\nb".into())]),
            "SCORELINE_RECORD_ID=x\n"
        );
        assert_eq!(
            dotenv_lines(&[("environment-url", "https://shop.example.com".into())]),
            "ENVIRONMENT_URL=https://shop.example.com\n"
        );
    }
}
