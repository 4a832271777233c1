//! `cmd`: runs a platform program with `{resource, context}` as JSON on stdin; it answers
//! `{outputs, secrets, manifests}` as JSON on stdout. Failures show its stderr, with any secret
//! it was given blanked out.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{DriverError, Invocation, Provided, definition_error};

pub fn run(
    invocation: &Invocation<'_>,
    command: &[String],
    dir: Option<&Path>,
    timeout: Duration,
) -> Result<Provided, DriverError> {
    let failed = |message: String, help: String| {
        DriverError::Failed(definition_error(invocation, message).with_help(help))
    };
    let program = program_path(&command[0], dir);
    let mut child = Command::new(&program)
        .args(&command[1..])
        .current_dir(dir.unwrap_or(Path::new(".")))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| failed(format!("cannot run `{}`: {e}", program.display()), "check that the program exists and is executable (bare names are looked up on PATH)".into()))?;
    let payload = invocation.context.to_cmd_input();
    let mut stdin = child.stdin.take().expect("stdin is piped");
    let writer = std::thread::spawn(move || {
        // A program that does not read its input is allowed: ignore a closed pipe.
        let _ = stdin.write_all(payload.as_bytes());
    });
    let stdout = reader(child.stdout.take().expect("stdout is piped"));
    let stderr = reader(child.stderr.take().expect("stderr is piped"));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| {
            failed(
                format!("waiting for `{}`: {e}", program.display()),
                String::new(),
            )
        })? {
            break status;
        }
        if started.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            return Err(failed(
                format!("`{}` did not finish within {timeout:?}", program.display()),
                "raise spec.timeout, or find out why the program hangs".into(),
            ));
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let _ = writer.join();
    let stdout = stdout.join().unwrap_or_default();
    let stderr = redact(
        &String::from_utf8_lossy(&stderr.join().unwrap_or_default()),
        invocation,
    );
    let tail = tail(&stderr);
    if !status.success() {
        return Err(failed(
            format!("`{}` exited with {status}", program.display()),
            format!("its stderr:\n{tail}"),
        ));
    }
    parse(&stdout).map_err(|problem| failed(format!("`{}` printed {problem}", program.display()), format!("print one JSON object {{\"outputs\": {{…}}, \"secrets\": {{…}}, \"manifests\": […]}} on stdout; its stderr:\n{tail}")))
}

fn program_path(program: &str, dir: Option<&Path>) -> PathBuf {
    let path = Path::new(program);
    match dir {
        Some(dir) if path.components().count() > 1 && path.is_relative() => dir.join(path),
        _ => path.to_path_buf(),
    }
}

fn reader(mut stream: impl Read + Send + 'static) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut buffer = Vec::new();
        let _ = stream.read_to_end(&mut buffer);
        buffer
    })
}

fn parse(stdout: &[u8]) -> Result<Provided, String> {
    let value: Value =
        serde_json::from_slice(stdout).map_err(|e| format!("output that is not JSON ({e})"))?;
    let Value::Object(map) = value else {
        return Err("JSON that is not an object".into());
    };
    let mut provided = Provided::default();
    for (key, value) in map {
        match (key.as_str(), value) {
            ("outputs", Value::Object(m)) => provided.outputs = m,
            ("secrets", Value::Object(m)) => provided.secrets = m,
            ("manifests", Value::Array(items)) => provided.manifests = items,
            ("outputs" | "secrets" | "manifests", _) => {
                return Err(format!(
                    "`{key}` of the wrong type (outputs and secrets are objects, manifests a list)"
                ));
            }
            (other, _) => return Err(format!("an unknown key `{other}`")),
        }
    }
    Ok(provided)
}

/// The secrets the program was given never reach our output, even if it echoes them.
fn redact(text: &str, invocation: &Invocation<'_>) -> String {
    let mut secrets: Vec<&String> = invocation.secret_texts.iter().collect();
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    secrets
        .iter()
        .filter(|s| s.len() >= 4)
        .fold(text.to_owned(), |acc, secret| {
            acc.replace(secret.as_str(), "••••••")
        })
}

/// The last lines of stderr, enough to see why, short enough for a CI log.
fn tail(stderr: &str) -> String {
    let lines: Vec<&str> = stderr.lines().collect();
    let shown = &lines[lines.len().saturating_sub(20)..];
    if shown.is_empty() {
        "(empty)".into()
    } else {
        shown.join("\n")
    }
}
