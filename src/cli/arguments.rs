//! Arguments as CI systems pass them. A GitHub Docker action or a GitLab component gives every
//! input to the command line, set or not, and has no way to repeat a flag per list item: an
//! empty argument or a `--flag=` with nothing after `=` is an input nobody set (left out), and
//! `--flag=` with several lines, for a flag that may be repeated, is one value per line.

use std::ffi::OsString;

use clap::{ArgAction, Command};

/// `args` (the program name first) as clap should see them, for the command `cli`.
pub fn normalize(cli: &Command, args: impl IntoIterator<Item = OsString>) -> Vec<OsString> {
    let mut out = Vec::new();
    for arg in args {
        if arg.is_empty() {
            continue;
        }
        let Some((flag, value)) = arg
            .to_str()
            .filter(|a| a.starts_with("--"))
            .and_then(|a| a.split_once('='))
        else {
            out.push(arg);
            continue;
        };
        if value.is_empty() {
            continue;
        }
        if value.contains('\n') && repeatable(cli, &flag[2..]) {
            out.extend(
                value
                    .lines()
                    .map(str::trim)
                    .filter(|line| !line.is_empty())
                    .map(|line| OsString::from(format!("{flag}={line}"))),
            );
        } else {
            out.push(arg);
        }
    }
    out
}

/// Whether some command takes `--long` more than once (a list: `--image`, `--tag`, …).
fn repeatable(command: &Command, long: &str) -> bool {
    command
        .get_arguments()
        .any(|a| a.get_long() == Some(long) && matches!(a.get_action(), ArgAction::Append))
        || command.get_subcommands().any(|c| repeatable(c, long))
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    fn normalized(args: &[&str]) -> Vec<String> {
        normalize(
            &super::super::Cli::command(),
            args.iter().map(OsString::from),
        )
        .into_iter()
        .map(|a| a.into_string().unwrap())
        .collect()
    }

    #[test]
    fn unset_inputs_are_left_out_and_lists_become_repeated_flags() {
        assert_eq!(
            normalized(&[
                "scoreline",
                "deploy",
                "",
                "--app=",
                "--env=staging",
                "--image=web=a@sha256:1\r\n\n  worker=b:2  \n",
                "--message=line one\nline two",
                "-f",
                "score.yaml",
            ]),
            [
                "scoreline",
                "deploy",
                "--env=staging",
                "--image=web=a@sha256:1",
                "--image=worker=b:2",
                "--message=line one\nline two",
                "-f",
                "score.yaml",
            ]
        );
    }
}
