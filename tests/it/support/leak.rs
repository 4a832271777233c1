//! Looking for secrets where a run may show them: any piece of FRAGMENT characters of a secret,
//! in every reading a viewer has of a place (as written; with JSON, Markdown/HTML/XML or
//! workflow-command escapes undone). The canary and the per-surface leak tests share it.

/// Pieces this long or longer of a secret must show nowhere (shorter ones match ordinary text
/// by chance).
pub const FRAGMENT: usize = 10;

/// A stream as the runner shows it: without the `::add-mask::` lines (they are how the runner
/// learns what to hide, and never show).
pub fn visible(stream: &str) -> String {
    stream
        .lines()
        .filter(|l| !l.starts_with("::add-mask::"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Text with GitHub workflow-command escapes undone, as the runner shows an annotation.
pub fn workflow_unescaped(text: &str) -> String {
    text.replace("%0D", "\r")
        .replace("%0A", "\n")
        .replace("%3A", ":")
        .replace("%2C", ",")
        .replace("%25", "%")
}

/// Text with JSON (and YAML double-quoted) string escapes undone.
fn json_unescaped(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('t') => out.push('\t'),
            Some('u') => {
                let hex: String = chars.by_ref().take(4).collect();
                match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                    Some(decoded) => out.push(decoded),
                    None => out.push_str(&format!("\\u{hex}")),
                }
            }
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

/// Text with Markdown table, HTML and XML escapes undone.
fn markup_unescaped(text: &str) -> String {
    text.replace("<br>", "\n")
        .replace("\\|", "|")
        .replace("&#10;", "\n")
        .replace("&#13;", "\r")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

/// Every reading of a place's text: (name, text).
fn readings(text: &str) -> [(&'static str, String); 4] {
    [
        ("as written", text.to_owned()),
        ("JSON-unescaped", json_unescaped(text)),
        ("Markdown/HTML/XML-unescaped", markup_unescaped(text)),
        ("annotation-unescaped", workflow_unescaped(text)),
    ]
}

/// The first piece of `secret` (FRAGMENT characters, or all of a shorter one) that `text`
/// shows in some reading: (reading, piece).
pub fn fragment_shown(secret: &str, text: &str) -> Option<(&'static str, String)> {
    let chars: Vec<char> = secret.chars().collect();
    let pieces: Vec<String> = chars
        .windows(FRAGMENT.min(chars.len()))
        .map(|w| w.iter().collect())
        .collect();
    readings(text).into_iter().find_map(|(reading, shown)| {
        pieces
            .iter()
            .find(|p| shown.contains(p.as_str()))
            .map(|p| (reading, p.clone()))
    })
}

/// Every place (name, text) that shows a piece of `secret`, said as "PLACE (READING) shows `PIECE`".
pub fn fragments_shown(secret: &str, places: &[(String, String)]) -> Vec<String> {
    places
        .iter()
        .filter_map(|(place, text)| {
            fragment_shown(secret, text)
                .map(|(reading, p)| format!("{place} ({reading}) shows `{p}`"))
        })
        .collect()
}
