//! Where something is in a text file: its own module, so that files (`source`) and the problems
//! located in them (`diagnostic`) can both name a place without needing each other.

/// A 1-based line and column (columns count characters, as editors and CI annotations do).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Pos {
    pub line: usize,
    pub column: usize,
}

impl Pos {
    pub const START: Pos = Pos { line: 1, column: 1 };
}
