//! What scoreline writes reads back identically in a YAML 1.1 parser (PyYAML, as Kubernetes
//! tooling parses: `on` is a boolean there, `012` octal, `1:30` sexagesimal), not only in the
//! YAML 1.2 parser scoreline reads with.

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::{Map, Value, json};

use crate::support::lib::yaml_to_string;

/// A small deterministic generator (xorshift), so a failure reproduces exactly.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn text(&mut self) -> String {
        const PIECES: &[&str] = &[
            "yes",
            "No",
            "on",
            "OFF",
            "y",
            "n",
            "true",
            "null",
            "~",
            "012",
            "0x1F",
            "0o7",
            "1_000",
            "1:30",
            "12:30:45",
            "2024-01-31",
            "2024-01-31T10:00:00Z",
            "1e3",
            "1.5",
            ".5",
            "-.inf",
            ".NaN",
            "+1",
            "-",
            "- x",
            "? x",
            ": x",
            "a: b",
            "a #b",
            "#c",
            "&a",
            "*a",
            "!t",
            "%p",
            "@x",
            "`x",
            "|",
            ">",
            "'",
            "\"",
            "{a}",
            "[1]",
            ",",
            "=",
            "<<",
            " ",
            "  ",
            "\t",
            "\n",
            "\r\n",
            "\u{0}",
            "\u{7f}",
            "\u{85}",
            "\u{90}",
            "\u{a0}",
            "\u{2028}",
            "\u{feff}",
            "é",
            "日本",
            "😀",
            "nginx",
            "app.kubernetes.io/name",
            "${resources.db.host}",
            "$(VAR)",
            "/etc/app.conf",
            "hello world",
            "-listen",
            ":8080",
        ];
        // Half the strings are one piece alone: the traps are words on their own.
        let pieces = if self.below(2) == 0 {
            1
        } else {
            2 + self.below(2)
        };
        (0..pieces)
            .map(|_| PIECES[self.below(PIECES.len())])
            .collect()
    }

    fn value(&mut self, depth: usize) -> Value {
        match self.below(if depth > 3 { 6 } else { 8 }) {
            0 => Value::Null,
            1 => json!(self.below(2) == 0),
            2 => json!(self.next() as i64 >> self.below(60)),
            3 => json!((self.next() % 100_000) as f64 / 64.0),
            4 | 5 => Value::String(self.text()),
            6 => Value::Array((0..self.below(4)).map(|_| self.value(depth + 1)).collect()),
            _ => {
                let mut map = Map::new();
                for _ in 0..self.below(4) {
                    let key = self.text();
                    let value = self.value(depth + 1);
                    map.insert(key, value);
                }
                Value::Object(map)
            }
        }
    }
}

#[test]
fn yaml_1_1_readers_get_back_exactly_what_was_written() {
    let mut generator = Gen(0x5c0e_11fe);
    let values: Vec<Value> = (0..1000).map(|_| generator.value(0)).collect();
    let stream: String = values
        .iter()
        .map(|v| format!("---\n{}", yaml_to_string(v)))
        .collect();
    let mut python = Command::new("python3")
        .args([
            "-c",
            "import json, sys, yaml; print(json.dumps(list(yaml.safe_load_all(sys.stdin.read()))))",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    python
        .stdin
        .take()
        .unwrap()
        .write_all(stream.as_bytes())
        .unwrap();
    let out = python.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "PyYAML (pip install pyyaml; .ci/run installs it) failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let read: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(read.len(), values.len());
    for (i, (wrote, got)) in values.iter().zip(&read).enumerate() {
        assert_eq!(
            wrote,
            got,
            "value {i} differs; written as:\n{}",
            yaml_to_string(wrote)
        );
    }
}
