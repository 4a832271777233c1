//! Build progress where people see it: a bar per blob on a terminal; in CI (or any log), one
//! line per layer and per blob when it is done.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::Mutex;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use super::System;
use crate::image::Event;
use crate::image::registry::Transfer;

pub struct Progress {
    bars: Option<(MultiProgress, Mutex<HashMap<String, ProgressBar>>)>,
}

impl Progress {
    pub fn new(system: &System) -> Progress {
        let tty = !system.is_ci() && !generic_ci() && std::io::stderr().is_terminal();
        Progress {
            bars: tty.then(|| (MultiProgress::new(), Mutex::new(HashMap::new()))),
        }
    }

    pub fn event(&self, event: Event) {
        let line = match &event {
            Event::Stage { platform, stage } => {
                Some(format!("building stage {stage} for {platform}"))
            }
            Event::Layer {
                platform,
                digest,
                size,
            } => Some(format!(
                "layer {} ({}) for {platform}",
                short(digest),
                human(*size)
            )),
            Event::Blob {
                repository,
                digest,
                size,
                transfer,
            } => {
                let verb = match transfer {
                    Transfer::Existed => "exists ",
                    Transfer::Mounted => "mounted",
                    Transfer::Uploaded => "pushed ",
                };
                self.finish_bar(digest);
                Some(format!(
                    "{verb} {} ({}) in {repository}",
                    short(digest),
                    human(*size)
                ))
            }
            Event::Manifest { reference } => Some(format!("manifest {reference}")),
            Event::Delegating { builder } => {
                Some(format!("the Dockerfile has RUN: building with {builder}"))
            }
            Event::Sending { digest, sent, size } => {
                self.update_bar(digest, *sent, *size);
                None
            }
        };
        if let Some(line) = line {
            match &self.bars {
                Some((multi, _)) => {
                    let _ = multi.println(line);
                }
                None => eprintln!("{line}"),
            }
        }
    }

    fn update_bar(&self, digest: &str, sent: u64, size: u64) {
        let Some((multi, bars)) = &self.bars else {
            return;
        };
        let mut bars = bars.lock().expect("progress lock");
        let bar = bars.entry(digest.to_owned()).or_insert_with(|| {
            let bar = multi.add(ProgressBar::new(size));
            bar.set_style(
                ProgressStyle::with_template(
                    "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}",
                )
                .expect("static template")
                .progress_chars("=> "),
            );
            bar.set_message(short(digest).to_owned());
            bar
        });
        bar.set_position(sent);
    }

    fn finish_bar(&self, digest: &str) {
        if let Some((multi, bars)) = &self.bars
            && let Some(bar) = bars.lock().expect("progress lock").remove(digest)
        {
            bar.finish_and_clear();
            multi.remove(&bar);
        }
    }
}

/// CI systems without their own detection (Buildkite, CircleCI, Drone, Travis…) set `CI=true`,
/// some with a terminal attached: their logs keep every redraw, so plain lines there too.
fn generic_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

fn short(digest: &str) -> &str {
    &digest[..digest.len().min(19)]
}

/// 1234567 → "1.2 MiB".
pub fn human(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}
