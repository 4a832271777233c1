//! Where an app's manifests live in a delivery: the `path` template with `{env}` and `{app}`.

use std::path::Path;

use super::error::Error;
use super::record::RECORD_FILE;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    template: String,
}

impl Layout {
    pub fn new(template: &str) -> Result<Layout, Error> {
        let escapes =
            template.starts_with('/') || template.split('/').any(|s| s == ".." || s.is_empty());
        if escapes {
            return Err(Error::Layout(template.to_owned()));
        }
        Ok(Layout {
            template: template.to_owned(),
        })
    }

    /// The folder of one app in one environment.
    pub fn folder(&self, env: &str, app: &str) -> String {
        self.template.replace("{env}", env).replace("{app}", app)
    }

    /// Matches a folder against the template: the (env, app) it is for, if any. A missing
    /// placeholder matches anything.
    pub fn parse(&self, folder: &str) -> Option<(Option<String>, Option<String>)> {
        let (pattern, path): (Vec<&str>, Vec<&str>) = (
            self.template.split('/').collect(),
            folder.split('/').collect(),
        );
        if pattern.len() != path.len() {
            return None;
        }
        let (mut env, mut app) = (None, None);
        for (p, s) in pattern.iter().zip(&path) {
            let captures = capture(p, s)?;
            for (name, value) in captures {
                let slot = if name == "env" { &mut env } else { &mut app };
                if slot.as_ref().is_some_and(|v: &String| *v != value) {
                    return None;
                }
                *slot = Some(value);
            }
        }
        Some((env, app))
    }

    /// Every folder under `root` that matches the template and holds a record.
    pub fn find(&self, root: &Path) -> Vec<String> {
        let depth = self.template.split('/').count();
        let mut found = Vec::new();
        let mut pending = vec![(root.to_path_buf(), String::new(), 0)];
        while let Some((dir, rel, level)) = pending.pop() {
            if level == depth {
                if dir.join(RECORD_FILE).is_file() && self.parse(&rel).is_some() {
                    found.push(rel);
                }
                continue;
            }
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if name.starts_with('.')
                    && !self
                        .template
                        .split('/')
                        .nth(level)
                        .is_some_and(|p| p.starts_with('.'))
                {
                    continue;
                }
                if entry.path().is_dir() {
                    let child = if rel.is_empty() {
                        name
                    } else {
                        format!("{rel}/{name}")
                    };
                    pending.push((entry.path(), child, level + 1));
                }
            }
        }
        found.sort();
        found
    }
}

/// Matches one path segment against a template segment such as `{env}`, `apps-{app}` or `prod`.
fn capture(pattern: &str, segment: &str) -> Option<Vec<(String, String)>> {
    let Some(open) = pattern.find('{') else {
        return (pattern == segment).then(Vec::new);
    };
    let close = pattern[open..].find('}')? + open;
    let name = &pattern[open + 1..close];
    let (prefix, rest) = (&pattern[..open], &pattern[close + 1..]);
    let tail = segment.strip_prefix(prefix)?;
    // The placeholder takes the shortest value that lets the rest of the segment match.
    for end in (1..=tail.len()).filter(|e| tail.is_char_boundary(*e)) {
        if let Some(mut more) = capture(rest, &tail[end..]) {
            more.insert(0, (name.to_owned(), tail[..end].to_owned()));
            return Some(more);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_follow_the_template() {
        let layout = Layout::new("{env}/{app}").unwrap();
        assert_eq!(layout.folder("staging", "shop"), "staging/shop");
        assert_eq!(
            layout.parse("pr-7/shop"),
            Some((Some("pr-7".into()), Some("shop".into())))
        );
        assert_eq!(layout.parse("pr-7"), None);
        let nested = Layout::new("clusters/{env}/apps-{app}").unwrap();
        assert_eq!(
            nested.parse("clusters/prod/apps-web"),
            Some((Some("prod".into()), Some("web".into())))
        );
        assert_eq!(nested.parse("clusters/prod/web"), None);
        assert!(Layout::new("../{app}").is_err() && Layout::new("/srv/{app}").is_err());
    }
}
