//! Progress where people see it: a bar per transfer on a terminal; in CI (or any log), only the
//! lines, since a log keeps every redraw. What the lines say is the command's business.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::Mutex;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use super::System;

pub struct Progress {
    bars: Option<(MultiProgress, Mutex<HashMap<String, ProgressBar>>)>,
}

impl Progress {
    pub fn new(system: &System) -> Progress {
        let tty = !system.is_ci() && !super::generic_ci() && std::io::stderr().is_terminal();
        // indicatif draws nothing, lines included, on a terminal whose TERM is unset or `dumb`:
        // plain lines there.
        let bars = tty
            .then(MultiProgress::new)
            .filter(|multi| !multi.is_hidden());
        Progress {
            bars: bars.map(|multi| (multi, Mutex::new(HashMap::new()))),
        }
    }

    /// A line on stderr (above the bars, on a terminal).
    pub fn line(&self, line: String) {
        match &self.bars {
            Some((multi, _)) => {
                let _ = multi.println(line);
            }
            None => eprintln!("{line}"),
        }
    }

    /// How far the transfer `key` has got, on its bar (labelled `label`); nothing in a log.
    pub fn advance(&self, key: &str, label: &str, done: u64, total: u64) {
        let Some((multi, bars)) = &self.bars else {
            return;
        };
        let mut bars = bars.lock().expect("progress lock");
        let bar = bars.entry(key.to_owned()).or_insert_with(|| {
            let bar = multi.add(ProgressBar::new(total));
            bar.set_style(
                ProgressStyle::with_template(
                    "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}",
                )
                .expect("static template")
                .progress_chars("=> "),
            );
            bar.set_message(label.to_owned());
            bar
        });
        bar.set_position(done);
    }

    /// The transfer `key` is over: its bar goes.
    pub fn finish(&self, key: &str) {
        if let Some((multi, bars)) = &self.bars
            && let Some(bar) = bars.lock().expect("progress lock").remove(key)
        {
            bar.finish_and_clear();
            multi.remove(&bar);
        }
    }
}
