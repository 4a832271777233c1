use clap::CommandFactory;

use super::{Cli, help};
use crate::error::Error;

/// Print a shell completion script (to stdout), generated from scoreline's own commands.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Load it in the current shell, or install it where your shell looks for completions.",
    help_template = help::template(
        "  source <(scoreline completions bash)
  scoreline completions bash > ~/.local/share/bash-completion/completions/scoreline
  scoreline completions zsh > ~/.zfunc/_scoreline    # with fpath+=(~/.zfunc) in ~/.zshrc
  scoreline completions fish > ~/.config/fish/completions/scoreline.fish
  scoreline completions powershell >> $PROFILE",
        &[help::SUCCESS, (2, "an unknown shell")],
    )
)]
pub struct Args {
    /// The shell.
    #[arg(value_enum, value_name = "SHELL")]
    shell: clap_complete::Shell,
}

pub fn run(args: Args) -> Result<(), Error> {
    let mut command = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "scoreline", &mut script);
    use std::io::Write;
    std::io::stdout()
        .write_all(&script)
        .map_err(|e| Error::Runtime(format!("writing the completion script: {e}")))
}
