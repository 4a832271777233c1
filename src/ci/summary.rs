//! Job summaries: a small Markdown document each command writes where the CI shows it — appended
//! to `$GITHUB_STEP_SUMMARY` under GitHub Actions, and to a file (`--summary FILE`; under GitLab
//! CI `scoreline-summary.md` in the working folder by default, for `artifacts:`). The same
//! document, with a smaller limit, is the body of a pull request comment. Every block is redacted
//! before it is measured, and a document over its limit is cut at a block (a code block at a
//! line) and ends with a note saying so. Text is always redacted before it is escaped: an
//! escaped secret (`&amp;`, `\|`, `<br>`) no longer reads as itself.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::System;
use crate::diagnostic::Diagnostic;
use crate::secret;

/// GitHub's step summary limit is 1 MiB per step; every sink here keeps under it.
pub const SUMMARY_LIMIT: usize = 1024 * 1024 - 1;

/// The GitLab default for the summary file, relative to the working folder.
pub const GITLAB_FILE: &str = "scoreline-summary.md";

/// A Markdown document built block by block.
#[derive(Debug, Clone, Default)]
pub struct Markdown {
    blocks: Vec<Block>,
}

#[derive(Debug, Clone)]
enum Block {
    Text(String),
    /// A table of plain-text cells, kept raw until rendered (redacted, then escaped).
    Table {
        headers: Vec<String>,
        rows: Vec<Vec<String>>,
    },
    /// A code block, collapsed under `summary` (`<details>`): cut at a line when it must be.
    Details {
        summary: String,
        lang: &'static str,
        body: String,
    },
}

impl Markdown {
    pub fn new() -> Markdown {
        Markdown::default()
    }

    pub fn is_empty(&self) -> bool {
        self.blocks.is_empty()
    }

    /// A heading; `text` is Markdown (escape what came from input with `cell`).
    pub fn heading(&mut self, level: usize, text: &str) {
        self.blocks
            .push(Block::Text(format!("{} {text}\n", "#".repeat(level))));
    }

    /// A paragraph of Markdown.
    pub fn paragraph(&mut self, text: &str) {
        self.blocks.push(Block::Text(format!("{text}\n")));
    }

    /// A table of plain-text cells (redacted and escaped when rendered).
    pub fn table(&mut self, headers: &[&str], rows: &[Vec<String>]) {
        if rows.is_empty() {
            return;
        }
        self.blocks.push(Block::Table {
            headers: headers.iter().map(|h| (*h).to_owned()).collect(),
            rows: rows.to_vec(),
        });
    }

    /// A collapsed code block (`<details>`), e.g. a diff.
    pub fn details(&mut self, summary: &str, lang: &'static str, body: &str) {
        self.blocks.push(Block::Details {
            summary: summary.to_owned(),
            lang,
            body: body.to_owned(),
        });
    }

    /// Located problems as a table: where (file:line:column), severity, message and help.
    pub fn problems(&mut self, diagnostics: &[Diagnostic]) {
        let rows: Vec<Vec<String>> = diagnostics
            .iter()
            .map(|d| {
                let at = if d.has_location() {
                    format!("{}:{}:{}", d.file, d.line, d.column)
                } else {
                    d.file.clone()
                };
                let mut message = d.message.clone();
                if let Some(help) = &d.help {
                    message.push_str(&format!(" (help: {help})"));
                }
                vec![at, format!("{:?}", d.severity).to_lowercase(), message]
            })
            .collect();
        self.table(&["where", "severity", "problem"], &rows);
    }

    /// The document in at most `limit` bytes, redacted; when it does not fit, cut at a block
    /// (or a code block at a line) and ended by `note` (Markdown, e.g. a link to the job).
    pub fn render(&self, limit: usize, note: &str) -> String {
        let note = format!(
            "\n> **Truncated**: this summary was cut to fit {limit} bytes. {}\n",
            secret::redact(note)
        );
        let blocks: Vec<String> = self.blocks.iter().map(|b| b.render(None)).collect();
        let whole: usize = blocks.iter().map(|b| b.len() + 1).sum();
        if whole <= limit {
            return blocks.join("\n");
        }
        let room = limit.saturating_sub(note.len());
        let mut out = String::new();
        for (block, text) in self.blocks.iter().zip(&blocks) {
            if out.len() + text.len() < room {
                out.push_str(text);
                out.push('\n');
                continue;
            }
            // A code block is cut at a line; any other block is left out whole.
            if let Block::Details { .. } = block {
                let left = room.saturating_sub(out.len() + 1);
                if let Some(cut) = block.render_within(left) {
                    out.push_str(&cut);
                    out.push('\n');
                }
            }
            break;
        }
        out.push_str(&note);
        out
    }
}

impl Block {
    /// The block as Markdown, redacted; a code body cut to `lines` lines when given.
    fn render(&self, lines: Option<usize>) -> String {
        match self {
            Block::Text(text) => secret::redact(text).into_owned(),
            Block::Table { headers, rows } => {
                let mut text = format!("| {} |\n", headers.join(" | "));
                text.push_str(&format!("|{}\n", "---|".repeat(headers.len())));
                for row in rows {
                    let cells: Vec<String> = row.iter().map(|c| cell(c)).collect();
                    text.push_str(&format!("| {} |\n", cells.join(" | ")));
                }
                text
            }
            Block::Details {
                summary,
                lang,
                body,
            } => {
                let body = secret::redact(body);
                let kept: Vec<&str> = body.lines().collect();
                let (shown, cut) = match lines {
                    Some(n) if n < kept.len() => (&kept[..n], kept.len() - n),
                    _ => (&kept[..], 0),
                };
                let mut text = shown.join("\n");
                if cut > 0 {
                    text.push_str(&format!("\n… {cut} more lines"));
                }
                let fence = fence(&text);
                format!(
                    "<details><summary>{}</summary>\n\n{fence}{lang}\n{text}\n{fence}\n\n</details>\n",
                    html(&secret::redact(summary))
                )
            }
        }
    }

    /// The most lines of a code block that fit in `room` bytes (none when not even one does).
    fn render_within(&self, room: usize) -> Option<String> {
        let Block::Details { body, .. } = self else {
            return None;
        };
        let total = secret::redact(body).lines().count();
        // Longest prefix that fits, by bisection: the wrapping costs the same for every cut.
        let (mut low, mut high) = (0usize, total);
        while low < high {
            let mid = (low + high).div_ceil(2);
            if self.render(Some(mid)).len() <= room {
                low = mid;
            } else {
                high = mid - 1;
            }
        }
        (low > 0).then(|| self.render(Some(low)))
    }
}

/// A fence longer than any run of backticks in `text`.
fn fence(text: &str) -> String {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    "`".repeat(longest.max(2) + 1)
}

/// Text for inside HTML (a `<summary>`).
fn html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Plain text as one Markdown table cell (or inline text), redacted: no secrets, no HTML, no
/// column breaks, no line breaks.
pub fn cell(text: &str) -> String {
    html(&secret::redact(text))
        .replace('|', "\\|")
        .replace("\r\n", "<br>")
        .replace(['\n', '\r'], "<br>")
}

/// The line that ends a cut document: where the whole of it is.
pub fn job_note(run_url: Option<&str>) -> String {
    match run_url {
        Some(url) => format!("The whole output is in [the job's log]({url})."),
        None => "The whole output is in the job's log.".to_owned(),
    }
}

/// Where this run's summaries go: `$GITHUB_STEP_SUMMARY` under GitHub Actions, and the file
/// `--summary` names (under GitLab CI, `scoreline-summary.md` unless named).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sinks {
    files: Vec<PathBuf>,
}

impl Sinks {
    pub fn new(system: &System, file: Option<&Path>) -> Sinks {
        let mut files = Vec::new();
        if matches!(system, System::GitHub { .. })
            && let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|p| !p.is_empty())
        {
            files.push(PathBuf::from(path));
        }
        match (file, system) {
            (Some(file), _) => files.push(file.to_path_buf()),
            (None, System::GitLab) => files.push(PathBuf::from(GITLAB_FILE)),
            _ => {}
        }
        Sinks { files }
    }

    /// Appends the document to every sink, each kept under `SUMMARY_LIMIT` as a whole (a sink
    /// already full gets nothing more). `note` ends a cut document.
    pub fn publish(&self, markdown: &Markdown, note: &str) -> std::io::Result<()> {
        if markdown.is_empty() {
            return Ok(());
        }
        for path in &self.files {
            let used = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0) as usize;
            // Room for a cut document's note at least, or nothing at all.
            let room = SUMMARY_LIMIT.saturating_sub(used);
            if room < 512 {
                continue;
            }
            let text = markdown.render(room - 1, note);
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)?
                .write_all(format!("{text}\n").as_bytes())?;
        }
        Ok(())
    }
}

/// GitLab's collapsible log sections: the lines that open and close one (`name` is made of
/// `[a-z0-9_.-]`); `header` is what the collapsed section shows.
pub fn gitlab_section(name: &str, header: &str) -> (String, String) {
    let name: String = name
        .to_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    (
        format!("\x1b[0Ksection_start:{now}:{name}[collapsed=true]\r\x1b[0K{header}"),
        format!("\x1b[0Ksection_end:{now}:{name}\r\x1b[0K"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_cannot_break_a_table_or_open_html() {
        assert_eq!(cell("a|b\n<c>"), "a\\|b<br>&lt;c&gt;");
    }

    #[test]
    fn cells_are_redacted_before_they_are_escaped() {
        let token = "summary&cell<secret>|value\nline";
        secret::register(token, "test");
        assert_eq!(
            cell(&format!("got {token}")),
            format!("got {}", secret::MASK)
        );
        let mut doc = Markdown::new();
        doc.table(&["a"], &[vec![token.into()]]);
        assert_eq!(
            doc.render(10_000, ""),
            format!("| a |\n|---|\n| {} |\n", secret::MASK)
        );
    }

    #[test]
    fn a_long_document_is_cut_at_a_line_with_a_note() {
        let mut doc = Markdown::new();
        doc.heading(2, "plan");
        doc.table(&["a"], &[vec!["x".into()]]);
        let diff: String = (0..5000).map(|i| format!("+line {i}\n")).collect();
        doc.details("diff", "diff", &diff);
        doc.paragraph("after");
        let whole = doc.render(usize::MAX, "see the job");
        assert!(whole.contains("+line 4999") && whole.contains("after"));
        let cut = doc.render(4000, "see [the job](https://ci/1)");
        assert!(cut.len() <= 4000, "{}", cut.len());
        assert!(cut.contains("| x |") && cut.contains("+line 0\n"));
        assert!(cut.contains("more lines\n```\n\n</details>"), "{cut}");
        assert!(cut.ends_with("see [the job](https://ci/1)\n"), "{cut}");
        assert!(!cut.contains("after"));
    }

    #[test]
    fn fences_outgrow_backticks_in_the_body() {
        let mut doc = Markdown::new();
        doc.details("x", "yaml", "a: ```\n");
        assert!(doc.render(10_000, "").contains("````yaml\na: ```\n````"));
    }

    #[test]
    fn sections_open_and_close_as_gitlab_reads_them() {
        let (start, end) = gitlab_section("Plan staging", "plan for staging");
        assert!(start.starts_with("\x1b[0Ksection_start:"));
        assert!(start.ends_with(":plan_staging[collapsed=true]\r\x1b[0Kplan for staging"));
        assert!(end.starts_with("\x1b[0Ksection_end:") && end.ends_with(":plan_staging\r\x1b[0K"));
    }
}
