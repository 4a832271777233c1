//! `cmd`: runs a platform program with `{resource, context}` as JSON on stdin; it answers
//! `{outputs, secrets, manifests}` as JSON on stdout.
//!
//! The program gets a minimal environment (PATH, HOME, LANG, TZ and the variables its definition
//! names, never the platform key or other CI secrets), runs in a process group of its own so that
//! its timeout stops everything it started, and every message about it (its stderr included) is
//! blanked of the secrets it was given.

use std::ffi::OsString;
use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{DriverError, Invocation, Provided, definition_error};
use crate::baseline::Program;

/// What every program gets from scoreline's environment, when set.
const BASE_ENVIRONMENT: [&str; 4] = ["PATH", "HOME", "LANG", "TZ"];

/// How long output may still arrive once the program's process group is killed.
const GRACE: Duration = Duration::from_secs(1);

/// Why a run failed: a message and help, both redacted before anyone sees them.
struct Failure {
    message: String,
    help: String,
}

pub fn run(invocation: &Invocation<'_>, program: &Program) -> Result<Provided, DriverError> {
    let environment = environment(program);
    // The variables the definition names may be CI secrets: blanked out like the context's.
    let passed: Vec<String> = environment
        .iter()
        .filter(|(name, _)| !BASE_ENVIRONMENT.contains(&name.as_str()))
        .map(|(name, value)| {
            let value = value.to_string_lossy().into_owned();
            // Masked from now on, and refused wherever it would land outside a Secret.
            crate::secret::register(&value, &format!("CI variable `{name}`"));
            value
        })
        .collect();
    // Its messages are blanked of exactly what it was given, whatever else the run knows.
    let given = crate::secret::Secrets::default();
    for secret in invocation.secret_texts.iter().chain(&passed) {
        given.register(secret, "given to the program");
    }
    execute(invocation, program, environment, &given).map_err(|failure| {
        DriverError::Failed(
            definition_error(invocation, given.redact(&failure.message).into_owned())
                .with_help(given.redact(&failure.help).into_owned()),
        )
    })
}

fn execute(
    invocation: &Invocation<'_>,
    program: &Program,
    environment: Vec<(String, OsString)>,
    given: &crate::secret::Secrets,
) -> Result<Provided, Failure> {
    let shown = &program.command[0];
    let mut command = Command::new(&program.path);
    command
        .args(&program.command[1..])
        .env_clear()
        .envs(environment)
        // Its own process group (id = its pid), so a timeout can stop what it started, too.
        .process_group(0)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(dir) = &program.dir {
        command.current_dir(dir);
    }
    let mut child = command.spawn().map_err(|e| Failure {
        message: format!("cannot run `{shown}`: {e}"),
        help: "check that the program exists and is executable (bare names are looked up on PATH)"
            .into(),
    })?;
    let payload = invocation.context.to_cmd_input();
    let mut stdin = child.stdin.take().expect("stdin is piped");
    // Not joined: a program that does not read its input is allowed (a closed pipe is
    // ignored), and one whose input pipe stays open must not hold us up.
    std::thread::spawn(move || {
        let _ = stdin.write_all(payload.as_bytes());
    });
    let (sender, received) = mpsc::channel();
    reader(
        child.stdout.take().expect("stdout is piped"),
        0,
        sender.clone(),
    );
    reader(child.stderr.take().expect("stderr is piped"), 1, sender);
    let deadline = Instant::now() + program.timeout;
    let mut outputs: [Option<Vec<u8>>; 2] = [None, None];
    let status = wait_until(&mut child, deadline);
    // Done when the program has exited and both its pipes are closed: a process it left
    // behind may still hold them, and counts against the timeout.
    let done = status.is_some() && collect(&received, &mut outputs, deadline);
    stop(&mut child);
    if !done {
        collect(&received, &mut outputs, Instant::now() + GRACE);
    }
    let [stdout, stderr] = outputs.map(Option::unwrap_or_default);
    // Masked whole before its last lines are kept: a multi-line secret cut at a line no longer
    // reads as itself.
    let stderr = String::from_utf8_lossy(&stderr);
    let tail = tail(&given.redact(&crate::secret::redact(&stderr)));
    let timeout = program.timeout;
    match status {
        None => Err(Failure {
            message: format!("`{shown}` did not finish within {timeout:?}"),
            help: format!(
                "raise spec.timeout, or find out why the program hangs; its stderr:\n{tail}"
            ),
        }),
        Some(_) if !done => Err(Failure {
            message: format!(
                "`{shown}` exited, but processes it started did not close its output within {timeout:?}"
            ),
            help: "start background processes with their output redirected (`… >/dev/null 2>&1 &`), or raise spec.timeout".into(),
        }),
        Some(status) if !status.success() => Err(Failure {
            message: format!("`{shown}` exited with {status}"),
            help: format!("its stderr:\n{tail}"),
        }),
        Some(_) => parse(&stdout).map_err(|problem| Failure {
            message: format!("`{shown}` printed {problem}"),
            help: format!("print one JSON object {{\"outputs\": {{…}}, \"secrets\": {{…}}, \"manifests\": […]}} on stdout; its stderr:\n{tail}"),
        }),
    }
}

/// PATH, HOME, LANG, TZ and the variables the definition names, where scoreline has them.
fn environment(program: &Program) -> Vec<(String, OsString)> {
    let mut names: Vec<&str> = BASE_ENVIRONMENT.to_vec();
    names.extend(
        program
            .env
            .iter()
            .map(String::as_str)
            .filter(|name| !BASE_ENVIRONMENT.contains(name)),
    );
    names
        .into_iter()
        .filter_map(|name| std::env::var_os(name).map(|value| (name.to_owned(), value)))
        .collect()
}

/// Reads a pipe to its end on a thread of its own, then sends what it read as `index`.
fn reader(
    mut stream: impl Read + Send + 'static,
    index: usize,
    sender: mpsc::Sender<(usize, Vec<u8>)>,
) {
    std::thread::spawn(move || {
        let mut buffer = Vec::new();
        let _ = stream.read_to_end(&mut buffer);
        let _ = sender.send((index, buffer));
    });
}

/// The program's exit status, or none if it still runs at the deadline.
fn wait_until(child: &mut Child, deadline: Instant) -> Option<ExitStatus> {
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Takes the readers' output until both are in (true) or the deadline passes (false).
fn collect(
    received: &mpsc::Receiver<(usize, Vec<u8>)>,
    outputs: &mut [Option<Vec<u8>>; 2],
    deadline: Instant,
) -> bool {
    while outputs.iter().any(Option::is_none) {
        match received.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok((index, bytes)) => outputs[index] = Some(bytes),
            Err(_) => return false,
        }
    }
    true
}

/// Kills the program's process group (whatever it left running, or all of it at a timeout),
/// then reaps the program.
fn stop(child: &mut Child) {
    let Ok(group) = libc::pid_t::try_from(child.id()) else {
        let _ = child.kill();
        let _ = child.wait();
        return;
    };
    // SAFETY: killpg takes two integers and only sends a signal. The group's id is the
    // program's pid (`process_group(0)`); POSIX does not reuse that id while the program is
    // unreaped or any process of the group lives, so no other process group is hit. If the
    // group is already empty the call fails with ESRCH, which is fine.
    unsafe {
        libc::killpg(group, libc::SIGKILL);
    }
    let _ = child.wait();
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
