//! `scoreline render` as users run it: the official examples against the Kubernetes schemas,
//! resources (sharing, dependency order, cycles, service ports), secrets, workloads (images,
//! the policy), and the output folder (determinism, atomic replacement, JSON).

mod examples;
mod output;
mod resources;
mod secrets;
mod taint;
mod workloads;

use std::ffi::OsStr;
use std::path::Path;

use crate::support::Cli;

const SHOP: &str = "examples/shop/score.yaml";

/// `render --out OUT EXTRA… -f FILE…`.
fn render(out: &Path, files: &[impl AsRef<OsStr>], extra: &[&str]) -> Cli {
    let mut cli = Cli::new(["render"]).arg("--out").arg(out).args(extra);
    for f in files {
        cli = cli.arg("-f").arg(f);
    }
    cli
}

/// `render` in `dir`, which holds the given files.
fn render_in(dir: &Path, files: &[(&str, &str)]) -> Cli {
    crate::support::write_files(dir, files);
    Cli::new(["render"]).dir(dir)
}
