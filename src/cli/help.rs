//! How every command's `--help` ends: its examples and its exit statuses, laid out as written.
//!
//! clap wraps `about`, argument help and `after_help` to the terminal's width (the `wrap_help`
//! feature), which breaks a long example in two so that a copied example no longer runs; and it
//! reads `{n}` in those texts as a line break, so `pr-{n}` would lose its `{n}`. The literal
//! text of a help *template* is written as it is: examples and exit statuses go there, after
//! clap's own sections (the default template's), and `literal` keeps a `{n}` in other texts.

use clap::builder::StyledStr;

/// clap's default help template, then `examples` (each line a command, indented by two
/// spaces, a comment after it allowed) and the exit statuses, neither wrapped.
pub fn template(examples: &str, exits: &[(u8, &str)]) -> StyledStr {
    let mut text = String::from(
        "{before-help}{about-with-newline}\n{usage-heading} {usage}\n\n{all-args}{after-help}",
    );
    text.push_str("\n\nExamples:\n");
    text.push_str(examples.trim_end());
    text.push_str("\n\nExit status:\n");
    for (code, meaning) in exits {
        text.push_str(&format!("  {code}  {meaning}\n"));
    }
    // clap reads `{word}` in a template as a section: none may stand in the literal text.
    debug_assert!(
        !examples.contains('{') && exits.iter().all(|(_, m)| !m.contains('{')),
        "a help template's literal text holds no braces"
    );
    text.trim_end().to_owned().into()
}

/// A help text in which clap's `{n}` stays `{n}`: an empty style reset is put between `{` and
/// `n`, which clap removes (with all styling) when the output is not a colour terminal and
/// which shows as nothing on one.
pub fn literal(text: &str) -> StyledStr {
    text.replace("{n}", "{\x1b[0mn}").into()
}

/// The exit statuses most commands share (DESIGN.md, Conventions).
pub const SUCCESS: (u8, &str) = (0, "success");
pub const RUNTIME: (u8, &str) = (
    1,
    "runtime failure (network, registry, git, a driver program)",
);
pub const INVALID: (u8, &str) = (
    2,
    "invalid input or usage (located problems, an unknown environment, a wrong flag)",
);
pub const REFUSED: (u8, &str) = (3, "refused by policy (e.g. a secret outside Secret data)");
