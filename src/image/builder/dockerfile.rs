//! Dockerfiles: the instruction subset a daemonless build supports (FROM, ARG, ENV, LABEL,
//! WORKDIR, USER, EXPOSE, COPY, ADD, ENTRYPOINT, CMD, SHELL, STOPSIGNAL, VOLUME, HEALTHCHECK),
//! with Docker's syntax: parser directives, line continuations, exec and shell forms, flags,
//! and `$VAR` / `${VAR:-default}` expansion. Errors are located at the instruction.

use std::collections::BTreeMap;

use crate::diagnostic::Diagnostic;
use crate::position::Pos;
use crate::source::SourceFile;

#[derive(Debug, Clone, PartialEq)]
pub struct Dockerfile {
    /// ARGs before the first FROM (usable in FROM lines).
    pub global_args: Vec<Arg>,
    pub stages: Vec<Stage>,
    /// The first RUN, if any: a daemonless build cannot run commands.
    pub first_run: Option<Pos>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Stage {
    /// The image reference as written (expanded with global ARGs at build time), or `scratch`.
    pub base: String,
    pub platform: Option<String>,
    pub alias: Option<String>,
    pub at: Pos,
    pub instructions: Vec<(Pos, Instruction)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Arg {
    pub name: String,
    pub default: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// `["executable", "arg"]`
    Exec(Vec<String>),
    /// `executable arg`, run by the stage's SHELL.
    Shell(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Copy {
    /// ADD (local files and archives are treated as COPY; URLs are refused).
    pub add: bool,
    pub sources: Vec<String>,
    pub destination: String,
    pub from: Option<String>,
    pub chown: Option<String>,
    pub chmod: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Instruction {
    Arg(Arg),
    Env(Vec<(String, String)>),
    Label(Vec<(String, String)>),
    Workdir(String),
    User(String),
    Expose(Vec<String>),
    Copy(Copy),
    Entrypoint(Command),
    Cmd(Command),
    Shell(Vec<String>),
    StopSignal(String),
    Volume(Vec<String>),
    Healthcheck(Option<Healthcheck>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Healthcheck {
    pub test: Command,
    pub options: BTreeMap<String, String>,
}

/// Parses a Dockerfile; every problem is reported, not just the first.
pub fn parse(source: &SourceFile) -> Result<Dockerfile, Vec<Diagnostic>> {
    let mut errors = Vec::new();
    let escape = escape_char(&source.text);
    let mut dockerfile = Dockerfile {
        global_args: Vec::new(),
        stages: Vec::new(),
        first_run: None,
    };
    for (pos, keyword, rest) in logical_lines(&source.text, escape) {
        let keyword_upper = keyword.to_ascii_uppercase();
        let fail =
            |message: String, help: &str| source.error(pos, message).with_help(help.to_owned());
        if keyword_upper == "FROM" {
            match from(&rest) {
                Ok(stage) => dockerfile.stages.push(Stage { at: pos, ..stage }),
                Err(m) => errors.push(fail(m, "write FROM [--platform=PLATFORM] IMAGE [AS NAME]")),
            }
            continue;
        }
        if keyword_upper == "RUN" {
            dockerfile.first_run.get_or_insert(pos);
            continue;
        }
        let parsed = instruction(&keyword_upper, &rest, escape);
        match (parsed, dockerfile.stages.last_mut()) {
            (Err((m, help)), _) => errors.push(fail(m, &help)),
            (Ok(Instruction::Arg(arg)), None) => dockerfile.global_args.push(arg),
            (Ok(_), None) => errors.push(fail(
                format!("{keyword_upper} comes before the first FROM"),
                "only ARG may come before FROM; start the stage with FROM IMAGE (or FROM scratch)",
            )),
            (Ok(i), Some(stage)) => stage.instructions.push((pos, i)),
        }
    }
    if dockerfile.stages.is_empty() && errors.is_empty() {
        errors.push(
            source
                .error(Pos::START, "the Dockerfile has no FROM")
                .with_help("start with FROM IMAGE, or FROM scratch for an empty base"),
        );
    }
    if errors.is_empty() {
        Ok(dockerfile)
    } else {
        Err(errors)
    }
}

/// The `# escape=` parser directive (backslash by default).
fn escape_char(text: &str) -> char {
    for line in text.lines() {
        let Some(directive) = line.trim().strip_prefix('#') else {
            break;
        };
        let Some((key, value)) = directive.split_once('=') else {
            break;
        };
        if key.trim().eq_ignore_ascii_case("escape") {
            return value.trim().chars().next().unwrap_or('\\');
        }
    }
    '\\'
}

/// Instructions with their position: comments dropped, continuations joined.
fn logical_lines(text: &str, escape: char) -> Vec<(Pos, String, String)> {
    let mut out = Vec::new();
    let mut current: Option<(Pos, String)> = None;
    for (index, raw) in text.lines().enumerate() {
        let trimmed = raw.trim_start();
        // Comment lines end nothing: they are skipped even inside a continued instruction.
        if trimmed.starts_with('#') || (trimmed.is_empty() && current.is_none()) {
            continue;
        }
        let (pos, mut joined) = current.take().unwrap_or_else(|| {
            let column = raw.len() - trimmed.len() + 1;
            (
                Pos {
                    line: index + 1,
                    column,
                },
                String::new(),
            )
        });
        let body = raw.trim_end();
        match body.strip_suffix(escape) {
            Some(continued) => {
                joined.push_str(continued);
                current = Some((pos, joined));
            }
            None => {
                joined.push_str(body);
                let line = joined.trim().to_owned();
                let (keyword, rest) = line.split_once(char::is_whitespace).unwrap_or((&line, ""));
                out.push((pos, keyword.to_owned(), rest.trim().to_owned()));
            }
        }
    }
    if let Some((pos, joined)) = current {
        let line = joined.trim().to_owned();
        let (keyword, rest) = line.split_once(char::is_whitespace).unwrap_or((&line, ""));
        out.push((pos, keyword.to_owned(), rest.trim().to_owned()));
    }
    out
}

fn from(rest: &str) -> Result<Stage, String> {
    let (flags, words) = flags(rest)?;
    let platform = flags.get("platform").cloned();
    if let Some(unknown) = flags.keys().find(|k| *k != "platform") {
        return Err(format!("FROM does not take --{unknown}"));
    }
    let (base, alias) = match words.as_slice() {
        [image] => (image.clone(), None),
        [image, as_, name] if as_.eq_ignore_ascii_case("as") => {
            (image.clone(), Some(name.to_lowercase()))
        }
        [] => return Err("FROM needs an image".into()),
        _ => return Err(format!("cannot read `FROM {rest}`")),
    };
    Ok(Stage {
        base,
        platform,
        alias,
        at: Pos::START,
        instructions: Vec::new(),
    })
}

type Problem = (String, String);

fn instruction(keyword: &str, rest: &str, escape: char) -> Result<Instruction, Problem> {
    let needs = |what: &str| {
        (
            format!("{keyword} needs {what}"),
            format!("see the Dockerfile reference for {keyword}"),
        )
    };
    match keyword {
        "ARG" => {
            let words = split_words(rest, escape);
            let [word] = words.as_slice() else { return Err(needs("one NAME[=DEFAULT]")) };
            let (name, default) = match word.split_once('=') {
                Some((n, d)) => (n.to_owned(), Some(d.to_owned())),
                None => (word.clone(), None),
            };
            Ok(Instruction::Arg(Arg { name, default }))
        }
        "ENV" | "LABEL" => {
            let pairs = key_values(rest, escape, keyword == "ENV").ok_or_else(|| needs("KEY=VALUE pairs"))?;
            Ok(if keyword == "ENV" { Instruction::Env(pairs) } else { Instruction::Label(pairs) })
        }
        "MAINTAINER" => Ok(Instruction::Label(vec![("maintainer".into(), rest.to_owned())])),
        "WORKDIR" if !rest.is_empty() => Ok(Instruction::Workdir(rest.to_owned())),
        "USER" if !rest.is_empty() => Ok(Instruction::User(rest.to_owned())),
        "STOPSIGNAL" if !rest.is_empty() => Ok(Instruction::StopSignal(rest.to_owned())),
        "EXPOSE" if !rest.is_empty() => Ok(Instruction::Expose(split_words(rest, escape))),
        "VOLUME" if !rest.is_empty() => Ok(Instruction::Volume(match exec_form(rest) {
            Some(list) => list,
            None => split_words(rest, escape),
        })),
        "ENTRYPOINT" | "CMD" => {
            let command = command(rest);
            Ok(if keyword == "CMD" { Instruction::Cmd(command) } else { Instruction::Entrypoint(command) })
        }
        "SHELL" => exec_form(rest).filter(|l| !l.is_empty()).map(Instruction::Shell).ok_or_else(|| needs("the JSON form, e.g. SHELL [\"/bin/sh\", \"-c\"]")),
        "COPY" | "ADD" => copy(keyword == "ADD", rest, escape),
        "HEALTHCHECK" => healthcheck(rest),
        "ONBUILD" => Err(("ONBUILD is not supported by the daemonless builder".into(), "remove it, or build with docker buildx".into())),
        "WORKDIR" | "USER" | "STOPSIGNAL" | "EXPOSE" | "VOLUME" => Err(needs("an argument")),
        other => Err((format!("unknown instruction `{other}`"), "instructions are FROM, ARG, ENV, LABEL, WORKDIR, USER, EXPOSE, COPY, ADD, ENTRYPOINT, CMD, SHELL, STOPSIGNAL, VOLUME, HEALTHCHECK, RUN".into())),
    }
}

fn command(rest: &str) -> Command {
    // Docker falls back to the shell form when the JSON does not parse.
    exec_form(rest).map_or_else(|| Command::Shell(rest.to_owned()), Command::Exec)
}

fn exec_form(rest: &str) -> Option<Vec<String>> {
    rest.starts_with('[')
        .then(|| serde_json::from_str::<Vec<String>>(rest).ok())
        .flatten()
}

fn copy(add: bool, rest: &str, escape: char) -> Result<Instruction, Problem> {
    let keyword = if add { "ADD" } else { "COPY" };
    let (flags, words) = flags(rest).map_err(|m| {
        (
            m,
            format!(
                "{keyword} [--from=STAGE] [--chown=USER:GROUP] [--chmod=MODE] SOURCE… DESTINATION"
            ),
        )
    })?;
    for flag in flags.keys() {
        if !["from", "chown", "chmod", "link"].contains(&flag.as_str()) {
            return Err((
                format!("{keyword} does not take --{flag}"),
                format!("{keyword} takes --from, --chown, --chmod and --link"),
            ));
        }
    }
    let args = match exec_form(&words.join(" ")) {
        Some(list) => list,
        None => words.iter().flat_map(|w| split_words(w, escape)).collect(),
    };
    let Some((destination, sources)) = args.split_last().filter(|(_, s)| !s.is_empty()) else {
        return Err((
            format!("{keyword} needs a source and a destination"),
            format!("{keyword} SOURCE… DESTINATION"),
        ));
    };
    if add && let Some(url) = sources.iter().find(|s| s.contains("://")) {
        return Err((
            format!("ADD from a URL (`{url}`) is not supported by the daemonless builder"),
            "download it in CI before the build and COPY the file".into(),
        ));
    }
    Ok(Instruction::Copy(Copy {
        add,
        sources: sources.to_vec(),
        destination: destination.clone(),
        from: flags.get("from").cloned(),
        chown: flags.get("chown").cloned(),
        chmod: flags.get("chmod").cloned(),
    }))
}

fn healthcheck(rest: &str) -> Result<Instruction, Problem> {
    let (flags, words) = flags(rest).map_err(|m| {
        (
            m,
            "HEALTHCHECK [--interval=…] CMD command, or HEALTHCHECK NONE".into(),
        )
    })?;
    match words.split_first() {
        Some((none, [])) if none.eq_ignore_ascii_case("none") => Ok(Instruction::Healthcheck(None)),
        Some((cmd, command_words))
            if cmd.eq_ignore_ascii_case("cmd") && !command_words.is_empty() =>
        {
            Ok(Instruction::Healthcheck(Some(Healthcheck {
                test: command(&command_words.join(" ")),
                options: flags,
            })))
        }
        _ => Err((
            "HEALTHCHECK needs CMD and a command, or NONE".into(),
            "e.g. HEALTHCHECK --interval=30s CMD [\"/app\", \"health\"]".into(),
        )),
    }
}

/// Leading `--name=value` flags, then the remaining words (split on whitespace).
fn flags(rest: &str) -> Result<(BTreeMap<String, String>, Vec<String>), String> {
    let mut flags = BTreeMap::new();
    let mut words: Vec<String> = Vec::new();
    let mut tokens = rest.split_whitespace().peekable();
    while let Some(token) = tokens.peek() {
        let Some(flag) = token.strip_prefix("--") else {
            break;
        };
        let (name, value) = flag
            .split_once('=')
            .ok_or_else(|| format!("flag `{token}` needs a value (--{flag}=VALUE)"))?;
        flags.insert(name.to_lowercase(), value.to_owned());
        tokens.next();
    }
    words.extend(tokens.map(str::to_owned));
    Ok((flags, words))
}

/// Words as Docker splits them: whitespace separates, quotes group, the escape character escapes.
fn split_words(text: &str, escape: char) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quote: Option<char> = None;
    let mut in_word = false;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (_, c) if c == escape && quote != Some('\'') => {
                if let Some(next) = chars.next() {
                    word.push(next);
                }
                in_word = true;
            }
            (None, '"' | '\'') => {
                quote = Some(c);
                in_word = true;
            }
            (Some(q), c) if c == q => quote = None,
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            (_, c) => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(word);
    }
    words
}

/// `KEY=VALUE …` pairs; ENV also accepts the legacy `KEY VALUE` form.
fn key_values(rest: &str, escape: char, legacy_allowed: bool) -> Option<Vec<(String, String)>> {
    let words = split_words(rest, escape);
    if words.is_empty() {
        return None;
    }
    if legacy_allowed && !words[0].contains('=') {
        let (key, value) = rest.split_once(char::is_whitespace)?;
        return Some(vec![(key.to_owned(), value.trim().to_owned())]);
    }
    words
        .iter()
        .map(|w| {
            w.split_once('=')
                .filter(|(k, _)| !k.is_empty())
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
        })
        .collect()
}

/// Expands `$VAR`, `${VAR}`, `${VAR:-default}` and `${VAR:+alternative}` from `vars`; unset
/// variables expand to nothing, as in Docker; the escape character keeps a `$`.
pub fn expand(text: &str, vars: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '\\' if chars.get(i + 1) == Some(&'$') => {
                out.push('$');
                i += 2;
            }
            '$' if chars.get(i + 1) == Some(&'{') => {
                let Some(close) = chars[i..].iter().position(|&c| c == '}').map(|p| p + i) else {
                    out.extend(&chars[i..]);
                    break;
                };
                let inner: String = chars[i + 2..close].iter().collect();
                out.push_str(&expand_braced(&inner, vars));
                i = close + 1;
            }
            '$' if chars
                .get(i + 1)
                .is_some_and(|c| c.is_ascii_alphabetic() || *c == '_') =>
            {
                let end = chars[i + 1..]
                    .iter()
                    .position(|c| !(c.is_ascii_alphanumeric() || *c == '_'))
                    .map_or(chars.len(), |p| p + i + 1);
                let name: String = chars[i + 1..end].iter().collect();
                out.push_str(vars.get(&name).map(String::as_str).unwrap_or(""));
                i = end;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

fn expand_braced(inner: &str, vars: &BTreeMap<String, String>) -> String {
    let value = |name: &str| vars.get(name).filter(|v| !v.is_empty());
    if let Some((name, default)) = inner.split_once(":-") {
        return value(name)
            .cloned()
            .unwrap_or_else(|| expand(default, vars));
    }
    if let Some((name, alternative)) = inner.split_once(":+") {
        return value(name)
            .map(|_| expand(alternative, vars))
            .unwrap_or_default();
    }
    vars.get(inner).cloned().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_text(text: &str) -> Result<Dockerfile, Vec<Diagnostic>> {
        parse(&SourceFile::new("Dockerfile", text))
    }

    #[test]
    fn reads_the_supported_instructions() {
        let d = parse_text(
            "# syntax=docker/dockerfile:1\nARG VERSION=1.0\nFROM --platform=$BUILDPLATFORM alpine:3.20 AS base\n\nFROM scratch\nENV A=1 B=\"two words\"\nENV LEGACY some value\nLABEL org.opencontainers.image.title=\"shop\"\nCOPY --chown=10:10 --chmod=0755 \\\n    bin/app-${TARGETARCH} /app\nCOPY [\"a b.txt\", \"/data/\"]\nCOPY --from=base /etc/ssl /etc/ssl\nWORKDIR /srv\nUSER 10:10\nEXPOSE 8080/tcp 9090\nENTRYPOINT [\"/app\"]\nCMD --serve\nHEALTHCHECK --interval=5s CMD [\"/app\", \"health\"]\n",
        )
        .unwrap();
        assert_eq!(
            d.global_args,
            vec![Arg {
                name: "VERSION".into(),
                default: Some("1.0".into())
            }]
        );
        assert_eq!(d.stages.len(), 2);
        assert_eq!(
            (
                d.stages[0].alias.as_deref(),
                d.stages[0].platform.as_deref()
            ),
            (Some("base"), Some("$BUILDPLATFORM"))
        );
        let s = &d.stages[1];
        assert_eq!(s.at, Pos { line: 5, column: 1 });
        assert_eq!(
            s.instructions[0].1,
            Instruction::Env(vec![
                ("A".into(), "1".into()),
                ("B".into(), "two words".into())
            ])
        );
        assert_eq!(
            s.instructions[1].1,
            Instruction::Env(vec![("LEGACY".into(), "some value".into())])
        );
        let Instruction::Copy(c) = &s.instructions[3].1 else {
            panic!()
        };
        assert_eq!(
            (
                c.sources.clone(),
                c.destination.as_str(),
                c.chown.as_deref(),
                c.chmod.as_deref()
            ),
            (
                vec!["bin/app-${TARGETARCH}".to_owned()],
                "/app",
                Some("10:10"),
                Some("0755")
            )
        );
        assert_eq!(s.instructions[3].0, Pos { line: 9, column: 1 });
        let Instruction::Copy(c) = &s.instructions[4].1 else {
            panic!()
        };
        assert_eq!(c.sources, vec!["a b.txt"]);
        assert_eq!(
            s.instructions[8].1,
            Instruction::Expose(vec!["8080/tcp".into(), "9090".into()])
        );
        assert_eq!(
            s.instructions[10].1,
            Instruction::Cmd(Command::Shell("--serve".into()))
        );
        assert!(d.first_run.is_none());
    }

    #[test]
    fn reports_every_problem_at_its_line() {
        let errors = parse_text(
            "COPY a /b\nFROM scratch\nCOPY\nFROBNICATE x\nADD https://example.com/x /x\nRUN make\n",
        )
        .unwrap_err();
        let found: Vec<(usize, &str)> = errors
            .iter()
            .map(|e| (e.line, e.message.as_str()))
            .collect();
        assert_eq!(found.len(), 4, "{found:?}");
        assert!(found[0].0 == 1 && found[0].1.contains("before the first FROM"));
        assert!(found[1].0 == 3 && found[1].1.contains("needs a source and a destination"));
        assert!(found[2].0 == 4 && found[2].1.contains("unknown instruction `FROBNICATE`"));
        assert!(found[3].0 == 5 && found[3].1.contains("from a URL"));
    }

    #[test]
    fn remembers_the_first_run() {
        let d = parse_text("FROM alpine\nCOPY . /src\nRUN make \\\n  install\nRUN true\n").unwrap();
        assert_eq!(d.first_run, Some(Pos { line: 3, column: 1 }));
    }

    #[test]
    fn the_escape_directive_changes_continuations() {
        let d = parse_text("# escape=`\nFROM scratch\nCOPY a `\n  C:\\dir\\ /dst\n").unwrap();
        let Instruction::Copy(c) = &d.stages[0].instructions[0].1 else {
            panic!()
        };
        assert_eq!(c.sources, vec!["a", "C:\\dir\\"]);
    }

    #[test]
    fn expands_variables_like_docker() {
        let vars: BTreeMap<String, String> = [
            ("A".to_owned(), "x".to_owned()),
            ("EMPTY".to_owned(), String::new()),
        ]
        .into();
        assert_eq!(
            expand("$A-${A}-${B:-d}-${A:+alt}-${EMPTY:-e}-\\$A-$B.", &vars),
            "x-x-d-alt-e-$A-."
        );
    }
}
