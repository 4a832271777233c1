//! JUnit XML reports (`--junit FILE`) for Jenkins' `junit` step and GitLab's
//! `artifacts:reports:junit`: one test suite per command, one test case per file or check, a
//! failure per case with errors (the message is the first diagnostic, the text all of them).
//! Redacted, escaped for XML (characters XML cannot hold are dropped), written atomically.

use std::path::Path;

use crate::diagnostic::Diagnostic;
use crate::folder::{FolderError, write_file};
use crate::secret;

/// One command's report.
#[derive(Debug, Clone)]
pub struct Suite {
    /// `scoreline validate`.
    name: String,
    cases: Vec<Case>,
}

#[derive(Debug, Clone)]
struct Case {
    name: String,
    failure: Option<(String, String)>,
}

impl Suite {
    pub fn new(command: &str) -> Suite {
        Suite {
            name: format!("scoreline {command}"),
            cases: Vec::new(),
        }
    }

    /// A check that passed.
    pub fn pass(&mut self, name: &str) {
        self.cases.push(Case {
            name: name.to_owned(),
            failure: None,
        });
    }

    /// A check that failed: `message` in short, `text` in full.
    pub fn fail(&mut self, name: &str, message: &str, text: &str) {
        self.cases.push(Case {
            name: name.to_owned(),
            failure: Some((message.to_owned(), text.to_owned())),
        });
    }

    /// A case per file of `files`, failed by the errors located in it; errors located in
    /// other files (a template a file reads) or in none get a case of their own.
    pub fn files(&mut self, files: &[String], diagnostics: &[Diagnostic]) {
        let mut names: Vec<String> = files.to_vec();
        for d in diagnostics.iter().filter(|d| d.is_error()) {
            let name = case_name(d);
            if !names.contains(&name) {
                names.push(name);
            }
        }
        for name in names {
            let errors: Vec<&Diagnostic> = diagnostics
                .iter()
                .filter(|d| d.is_error() && case_name(d) == name)
                .collect();
            self.check(&name, &errors);
        }
    }

    /// A case failed by `errors`, or passed when there are none.
    pub fn check(&mut self, name: &str, errors: &[&Diagnostic]) {
        match errors.first() {
            None => self.pass(name),
            Some(first) => {
                let message = match first.has_location() {
                    true => format!(
                        "{}:{}:{}: {}",
                        first.file, first.line, first.column, first.message
                    ),
                    false => first.message.clone(),
                };
                let text: Vec<String> = errors.iter().map(|d| d.to_string()).collect();
                self.fail(name, &message, &text.join("\n"));
            }
        }
    }

    /// The report as JUnit XML.
    pub fn to_xml(&self) -> String {
        let failures = self.cases.iter().filter(|c| c.failure.is_some()).count();
        let tests = self.cases.len();
        let suite = xml(&self.name);
        let mut out = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"{suite}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\">\n  <testsuite name=\"{suite}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" skipped=\"0\">\n"
        );
        let classname = xml(&self.name.replace(' ', "."));
        for case in &self.cases {
            let name = xml(&case.name);
            match &case.failure {
                None => out.push_str(&format!(
                    "    <testcase name=\"{name}\" classname=\"{classname}\"/>\n"
                )),
                Some((message, text)) => out.push_str(&format!(
                    "    <testcase name=\"{name}\" classname=\"{classname}\">\n      <failure message=\"{}\" type=\"error\">{}</failure>\n    </testcase>\n",
                    xml(message),
                    xml(text)
                )),
            }
        }
        out.push_str("  </testsuite>\n</testsuites>\n");
        out
    }

    /// Writes the report atomically.
    pub fn write(&self, path: &Path) -> Result<(), FolderError> {
        write_file(path, self.to_xml().as_bytes())
    }
}

fn case_name(d: &Diagnostic) -> String {
    if d.has_location() {
        d.file.clone()
    } else {
        "(no file)".to_owned()
    }
}

/// Text for XML attributes and content: redacted, escaped, and without the characters XML 1.0
/// cannot hold (control characters other than tab and line breaks, e.g. a terminal escape).
fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in secret::redact(text).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push('\t'),
            c if (c as u32) < 0x20 || matches!(c, '\u{FFFE}' | '\u{FFFF}') => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_what_xml_cannot_hold() {
        assert_eq!(
            xml("a<b>&\"c\" 'd'\x1b[31m\n"),
            "a&lt;b&gt;&amp;&quot;c&quot; &apos;d&apos;[31m&#10;"
        );
    }

    #[test]
    fn counts_cases_and_failures() {
        let mut suite = Suite::new("validate");
        suite.pass("a.yaml");
        suite.fail("b.yaml", "b.yaml:1:2: bad", "all of it");
        let text = suite.to_xml();
        assert!(text.contains("<testsuite name=\"scoreline validate\" tests=\"2\" failures=\"1\""));
        assert!(
            text.contains(
                "<failure message=\"b.yaml:1:2: bad\" type=\"error\">all of it</failure>"
            )
        );
    }
}
