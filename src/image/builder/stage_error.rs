//! What can go wrong applying an instruction: a problem of the instruction itself (the caller
//! locates it at its line), or of the files it reads and writes.

#[derive(Debug, thiserror::Error)]
pub enum StageError {
    /// A problem of one instruction (the caller locates it).
    #[error("{message}")]
    Instruction { message: String, help: String },
    #[error("{0}")]
    Io(String),
}

pub fn wrong(message: impl Into<String>, help: impl Into<String>) -> StageError {
    StageError::Instruction {
        message: message.into(),
        help: help.into(),
    }
}
