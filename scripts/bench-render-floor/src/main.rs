//! The floor of `scripts/bench-render`: the least any renderer of these inputs does. Parses
//! every input Score file and every rendered object with a YAML library (saphyr) and writes the
//! objects back out, one file each; nothing else.
//! Usage: bench-render-floor INPUT_DIR RENDERED_DIR OUT_DIR

use std::path::Path;

use saphyr::{LoadableYamlNode, Yaml, YamlEmitter};

fn yaml_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn parse<'a>(path: &Path, text: &'a str) -> Vec<Yaml<'a>> {
    Yaml::load_from_str(text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [inputs, rendered, out] = args.as_slice() else {
        eprintln!("usage: bench-render-floor INPUT_DIR RENDERED_DIR OUT_DIR");
        std::process::exit(2);
    };
    let mut documents = 0;
    for file in yaml_files(Path::new(inputs)) {
        documents += parse(&file, &read(&file)).len();
    }
    std::fs::create_dir_all(out).expect("the output folder");
    for file in yaml_files(Path::new(rendered)) {
        let input = read(&file);
        let mut text = String::new();
        for doc in parse(&file, &input) {
            YamlEmitter::new(&mut text).dump(&doc).expect("emits");
            text.push('\n');
            documents += 1;
        }
        let target = Path::new(out).join(file.file_name().expect("a file name"));
        std::fs::write(&target, text)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", target.display()));
    }
    eprintln!("{documents} documents");
}
