//! The template language of `template` definitions: minijinja with YAML-friendly whitespace
//! (`trim_blocks`, `lstrip_blocks`), strict undefined values and bounded execution. Defined once
//! so that checking a baseline and running its templates agree.

use minijinja::syntax::SyntaxConfig;
use minijinja::{Environment, UndefinedBehavior};

/// Instructions a single template may execute: generous for real templates, fatal for loops
/// over `range(10**9)`.
const FUEL: u64 = 5_000_000;

/// A template engine configured for definitions, without scoreline's functions (the resolver
/// adds those).
pub fn engine<'s>() -> Environment<'s> {
    let mut env = Environment::new();
    env.set_syntax(
        SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .build()
            .expect("static syntax config is valid"),
    );
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    // Python's string and dict methods (`.startswith`, `.split`, `.items`), as Jinja users expect.
    env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
    env.set_fuel(Some(FUEL));
    env.set_recursion_limit(64);
    env
}

/// A template error's character offset in the template text (for locating it in the file).
pub fn error_offset(text: &str, error: &minijinja::Error) -> usize {
    let byte = match (error.range(), error.line()) {
        (Some(range), _) => range.start,
        (None, Some(line)) => text
            .split_inclusive('\n')
            .take(line.saturating_sub(1))
            .map(str::len)
            .sum(),
        (None, None) => 0,
    };
    text.get(..byte.min(text.len()))
        .map_or(0, |p| p.chars().count())
}

/// The error's message without minijinja's location suffix (the diagnostic has the location).
pub fn error_message(error: &minijinja::Error) -> String {
    match error.detail() {
        Some(detail) => format!("{}: {detail}", error.kind()),
        None => error.kind().to_string(),
    }
}
