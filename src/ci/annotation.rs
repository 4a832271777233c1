//! GitHub workflow commands (`::error file=…::message`), which annotate the pull request.

use std::path::Path;

use crate::diagnostic::{Diagnostic, Severity};

/// The workflow command for one diagnostic. Paths are made relative to the workspace so the
/// annotation lands on the file in the pull request's diff.
pub fn github_command(d: &Diagnostic, workspace: Option<&Path>) -> String {
    let level = match d.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    let file = relative_file(&d.file, workspace);
    let mut message = d.message.clone();
    if let Some(help) = &d.help {
        message.push_str("\nhelp: ");
        message.push_str(help);
    }
    // Masked before escaping: a secret with `%` or a line break is no longer itself once escaped,
    // and the runner shows the annotation unescaped.
    let message = crate::secret::redact(&message);
    if !d.has_location() {
        return format!("::{level} title=scoreline::{}", escape_data(&message));
    }
    format!(
        "::{level} file={},line={},col={},title=scoreline::{}",
        escape_property(&file),
        d.line,
        d.column,
        escape_data(&message)
    )
}

/// `::add-mask::` for a secret value (multi-line values escaped, so every line is masked).
pub fn mask_command(secret: &str) -> String {
    format!("::add-mask::{}", escape_data(secret))
}

fn relative_file(file: &str, workspace: Option<&Path>) -> String {
    let path = Path::new(file);
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    workspace
        .and_then(|w| absolute.strip_prefix(w).ok())
        .map_or_else(|| file.to_owned(), |rel| rel.display().to_string())
}

fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::position::Pos;

    #[test]
    fn escapes_like_the_actions_toolkit() {
        let d = Diagnostic::error(
            Path::new("/w/app/a,b:c.yaml"),
            Pos { line: 3, column: 7 },
            "100% bad\nreally",
        )
        .with_help("fix it");
        assert_eq!(
            github_command(&d, Some(Path::new("/w"))),
            "::error file=app/a%2Cb%3Ac.yaml,line=3,col=7,title=scoreline::100%25 bad%0Areally%0Ahelp: fix it"
        );
    }
}
