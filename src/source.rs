//! A text file read for parsing, with the guards every input file passes through.

use std::io::Read;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::diagnostic::Diagnostic;
use crate::position::Pos;

/// Input files larger than this are refused: real Score and baseline files are kilobytes,
/// and a cap keeps a hostile or mistaken input from exhausting memory.
pub const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// Lines longer than this (in characters) are shown cut around the column an error points at.
const SHOWN_LINE: usize = 160;
/// Of a cut line: how many characters before the column are shown (the rest after it).
const SHOWN_BEFORE: usize = 60;
/// In a line longer than `SHOWN_LINE` bytes, the byte offset of every this many characters is
/// kept, so a column's place is found without scanning the line.
const CHECKPOINT: usize = 64;

/// The text of one input file, as the user named it (`path` is shown in diagnostics unchanged).
/// Finding a line, a column in it, or the place of a character offset costs the same however
/// long the file and however many errors it has.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub path: PathBuf,
    pub text: String,
    /// Byte offset where each line starts.
    line_starts: Vec<usize>,
    /// Character offset where each line starts.
    line_chars: Vec<usize>,
    /// For each line longer than `SHOWN_LINE` bytes (by index): the byte offset, within the
    /// line, of every `CHECKPOINT`th character.
    long_lines: std::collections::HashMap<usize, Vec<usize>>,
}

impl SourceFile {
    pub fn new(path: impl Into<PathBuf>, text: impl Into<String>) -> Self {
        let text = text.into();
        let line_starts: Vec<usize> = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        let mut line_chars = Vec::with_capacity(line_starts.len());
        let mut long_lines = std::collections::HashMap::new();
        let mut chars = 0;
        for (index, &start) in line_starts.iter().enumerate() {
            line_chars.push(chars);
            let end = line_starts.get(index + 1).copied().unwrap_or(text.len());
            let line = &text[start..end];
            if line.len() > SHOWN_LINE {
                long_lines.insert(
                    index,
                    line.char_indices()
                        .step_by(CHECKPOINT)
                        .map(|(byte, _)| byte)
                        .collect(),
                );
            }
            chars += if line.is_ascii() {
                line.len()
            } else {
                line.chars().count()
            };
        }
        SourceFile {
            path: path.into(),
            text,
            line_starts,
            line_chars,
            long_lines,
        }
    }

    /// Reads a file, refusing what no YAML file should be: oversized, NUL bytes, not UTF-8.
    pub fn read(path: &Path) -> Result<SourceFile, Diagnostic> {
        let at_start = |message: String, help: &str| {
            Diagnostic::error(path, Pos::START, message).with_help(help)
        };
        let cannot_read = |e: std::io::Error| {
            at_start(
                format!("cannot read file: {}", io_reason(&e)),
                "check the path; relative paths are resolved from the current directory",
            )
        };
        // Only a regular file (symbolic links followed) is read: a FIFO would block the open
        // forever, a device never end, a folder is no file. Checked before opening (opening a
        // device can act on it), and again on what was opened, without blocking, in case the
        // path was swapped in between.
        let not_regular = |kind: &str| {
            at_start(
                format!("cannot read file: it is {kind}, not a regular file"),
                "name a regular file (or a symbolic link to one)",
            )
        };
        let metadata = std::fs::metadata(path).map_err(cannot_read)?;
        if !metadata.is_file() {
            return Err(not_regular(file_kind(&metadata.file_type())));
        }
        let file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(path)
            .map_err(cannot_read)?;
        let opened = file.metadata().map_err(cannot_read)?;
        if !opened.is_file() {
            return Err(not_regular(file_kind(&opened.file_type())));
        }
        let mut bytes = Vec::new();
        file.take(MAX_FILE_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| {
                at_start(
                    format!("cannot read file: {}", io_reason(&e)),
                    "name a regular, readable file",
                )
            })?;
        if bytes.len() as u64 > MAX_FILE_BYTES {
            return Err(at_start(
                format!(
                    "file is larger than the {} MiB limit for input files",
                    MAX_FILE_BYTES / (1024 * 1024)
                ),
                "Score and baseline files are small YAML documents; split large content into separate files",
            ));
        }
        Self::from_bytes(path, bytes)
    }

    /// Checks raw bytes for NUL and invalid UTF-8, pointing at the first offending byte.
    pub fn from_bytes(path: &Path, mut bytes: Vec<u8>) -> Result<SourceFile, Diagnostic> {
        if bytes.starts_with(b"\xEF\xBB\xBF") {
            bytes.drain(..3);
        }
        if let Some(at) = bytes.iter().position(|&b| b == 0) {
            return Err(Diagnostic::error(
                path,
                pos_of_byte(&bytes, at),
                "file contains a NUL byte: it is binary, not YAML",
            )
            .with_help("name the Score file (YAML text), not a binary file"));
        }
        match String::from_utf8(bytes) {
            Ok(text) => Ok(SourceFile::new(path, text)),
            Err(e) => {
                let at = e.utf8_error().valid_up_to();
                Err(Diagnostic::error(
                    path,
                    pos_of_byte(e.as_bytes(), at),
                    "file is not valid UTF-8",
                )
                .with_help("save the file as UTF-8; YAML files must be Unicode text"))
            }
        }
    }

    /// Where character `offset` of the whole text sits.
    pub fn position(&self, offset: usize) -> Pos {
        let index = self.line_chars.partition_point(|&start| start <= offset) - 1;
        Pos {
            line: index + 1,
            column: offset - self.line_chars[index] + 1,
        }
    }

    /// The line of `pos` as shown under a message, and the column of `pos` in what is shown:
    /// the whole line, or for a long one the part around the column, cut with `…`.
    pub fn excerpt(&self, pos: Pos) -> Option<(String, usize)> {
        let line = self.line(pos.line)?;
        let Some(checkpoints) = self.long_lines.get(&(pos.line - 1)) else {
            return Some((line.to_owned(), pos.column));
        };
        // The byte offset of the `n`th character (0-based) of the line, or its end.
        let byte_of = |n: usize| {
            let Some(&from) = checkpoints.get(n / CHECKPOINT) else {
                return line.len();
            };
            line[from.min(line.len())..]
                .char_indices()
                .nth(n % CHECKPOINT)
                .map_or(line.len(), |(b, _)| from + b)
        };
        let at = pos.column.saturating_sub(1);
        let first = at.saturating_sub(SHOWN_BEFORE);
        let (start, end) = (byte_of(first), byte_of(first + SHOWN_LINE));
        let (before, after) = (
            if start > 0 { "…" } else { "" },
            if end < line.len() { "…" } else { "" },
        );
        Some((
            format!("{before}{}{after}", &line[start..end]),
            at - first + 1 + usize::from(start > 0),
        ))
    }

    /// The text of a 1-based line, without its line break.
    pub fn line(&self, line: usize) -> Option<&str> {
        let start = *self.line_starts.get(line.checked_sub(1)?)?;
        let end = self
            .line_starts
            .get(line)
            .map_or(self.text.len(), |next| next - 1);
        // Like `str::lines`: nothing after a final line break is no line.
        if start >= self.text.len() {
            return None;
        }
        let text = &self.text[start..end];
        Some(text.strip_suffix('\r').unwrap_or(text))
    }

    /// An error located in this file, carrying the source line for display.
    pub fn error(&self, pos: Pos, message: impl Into<String>) -> Diagnostic {
        self.attach(Diagnostic::error(&self.path, pos, message))
    }

    /// A warning located in this file, carrying the source line for display.
    pub fn warning(&self, pos: Pos, message: impl Into<String>) -> Diagnostic {
        self.attach(Diagnostic::warning(&self.path, pos, message))
    }

    fn attach(&self, diagnostic: Diagnostic) -> Diagnostic {
        let pos = Pos {
            line: diagnostic.line,
            column: diagnostic.column,
        };
        match self.excerpt(pos) {
            Some((text, caret)) => diagnostic.with_source_line(text, caret),
            None => diagnostic,
        }
    }
}

/// The line and column of a byte offset, counting characters of the valid prefix.
fn pos_of_byte(bytes: &[u8], at: usize) -> Pos {
    end_of(&String::from_utf8_lossy(&bytes[..at]))
}

/// The position just after `prefix`.
fn end_of(prefix: &str) -> Pos {
    Pos {
        line: prefix.matches('\n').count() + 1,
        column: prefix.rsplit('\n').next().unwrap_or("").chars().count() + 1,
    }
}

/// What a file that is not a regular file is, for messages.
fn file_kind(kind: &std::fs::FileType) -> &'static str {
    if kind.is_dir() {
        "a directory"
    } else if kind.is_fifo() {
        "a named pipe (FIFO)"
    } else if kind.is_char_device() || kind.is_block_device() {
        "a device"
    } else if kind.is_socket() {
        "a socket"
    } else {
        "a special file"
    }
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".to_owned(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        std::io::ErrorKind::IsADirectory => "it is a directory".to_owned(),
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_byte_is_located() {
        let err = SourceFile::from_bytes(Path::new("x.yaml"), b"a: 1\nb: \0".to_vec()).unwrap_err();
        assert_eq!((err.line, err.column), (2, 4));
        assert!(err.message.contains("NUL"));
    }

    #[test]
    fn invalid_utf8_is_located() {
        let err = SourceFile::from_bytes(Path::new("x.yaml"), b"a: 1\nbb: \xff\xfe".to_vec())
            .unwrap_err();
        assert_eq!((err.line, err.column), (2, 5));
        assert!(err.message.contains("UTF-8"));
    }

    #[test]
    fn lines_are_found_as_str_lines_finds_them() {
        for text in ["", "a", "a\n", "a\r\nb", "a\n\nb\n", "\n", "x\ny\r\n"] {
            let file = SourceFile::new("x", text);
            for n in 1..6 {
                assert_eq!(file.line(n), text.lines().nth(n - 1), "{text:?} line {n}");
            }
        }
    }

    #[test]
    fn positions_of_character_offsets() {
        let text = "ab\nçd\n\nxyz";
        let file = SourceFile::new("x", text);
        for offset in 0..=text.chars().count() {
            let prefix: String = text.chars().take(offset).collect();
            assert_eq!(file.position(offset), end_of(&prefix), "offset {offset}");
        }
    }

    #[test]
    fn long_lines_are_shown_around_the_column() {
        let line: String = (0..1000).map(|i| format!("é{i:04} ")).collect();
        let file = SourceFile::new("x", format!("short\n{line}\n"));
        assert_eq!(
            file.excerpt(Pos { line: 1, column: 3 }),
            Some(("short".to_owned(), 3))
        );
        let (shown, caret) = file
            .excerpt(Pos {
                line: 2,
                column: 3001,
            })
            .unwrap();
        assert!(shown.starts_with('…') && shown.ends_with('…'), "{shown}");
        assert_eq!(shown.chars().count(), SHOWN_LINE + 2);
        assert_eq!(shown.chars().nth(caret - 1), line.chars().nth(3000));
        let (start, caret) = file.excerpt(Pos { line: 2, column: 2 }).unwrap();
        assert!(!start.starts_with('…') && start.ends_with('…'));
        assert_eq!(start.chars().nth(caret - 1), Some('0'));
        let (end, _) = file
            .excerpt(Pos {
                line: 2,
                column: 6000,
            })
            .unwrap();
        assert!(end.starts_with('…') && !end.ends_with('…'), "{end}");
    }

    #[test]
    fn bom_is_stripped() {
        let file =
            SourceFile::from_bytes(Path::new("x.yaml"), b"\xEF\xBB\xBFa: 1".to_vec()).unwrap();
        assert_eq!(file.text, "a: 1");
    }
}
