//! scoreline's integration tests, one binary: each module runs the real CLI for one command (or
//! one part of it) as users run it; `support` holds what they share (the `Cli` builder, the
//! fixtures' expectations, git, the helper servers and the real registry).

mod support;

mod baseline;
mod build;
mod canary;
mod ci;
mod cli;
mod container;
mod deploy;
mod drivers;
mod forge;
mod hardening;
mod leaks;
mod readme;
mod render;
mod robustness;
mod suite;
mod validate;
mod yaml;
