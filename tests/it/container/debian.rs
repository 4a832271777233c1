//! A minimal Debian root carrying glibc, CA certificates, git and a busybox shell, made from this
//! machine's Debian mirror (`apt-get download`, `dpkg-deb -x`, no maintainer scripts) and
//! imported as an image with umoci: the stand-in for the release image's base, whose registry is
//! out of reach here. Like distroless, it holds what runs and nothing that installs packages.

use std::collections::{BTreeSet, VecDeque};
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::registry::skopeo;
use crate::support::text;

/// What the base must carry: the runtime scoreline links against (libc6, libgcc-s1), git, the
/// CA bundle, and a shell with `cat` (GitLab runs job scripts with sh; Jenkins keeps its agent
/// container alive with cat).
const PACKAGES: [&str; 5] = ["libc6", "libgcc-s1", "git", "ca-certificates", "busybox"];

/// Dependencies an image never needs: git's Perl-scripted commands and manual, and the tools
/// that install packages or regenerate the CA bundle (done here once).
const LEFT_OUT: [&str; 9] = [
    "perl",
    "perl-base",
    "liberror-perl",
    "git-man",
    "debconf",
    "dpkg",
    "install-info",
    "openssl",
    "tar",
];

/// Documentation, translations and web front-ends: nothing a CI step runs.
const PRUNED: [&str; 7] = [
    "usr/share/doc",
    "usr/share/man",
    "usr/share/info",
    "usr/share/locale",
    "usr/share/lintian",
    "usr/share/bash-completion",
    "usr/share/gitweb",
];

/// The unprivileged account, as distroless and Chainguard images number it.
pub const NONROOT: u32 = 65532;

fn run(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{cmd:?}: {e} (is it installed?)"));
    assert!(out.status.success(), "{cmd:?}: {}", text(&out.stderr));
    text(&out.stdout)
}

/// The packages to extract: `PACKAGES` and their dependencies (first of each alternative,
/// virtual ones left to their providers), but for `LEFT_OUT`.
fn closure() -> Vec<String> {
    let mut seen = BTreeSet::new();
    let mut pending: VecDeque<String> = PACKAGES.iter().map(|p| p.to_string()).collect();
    while let Some(package) = pending.pop_front() {
        if LEFT_OUT.contains(&package.as_str()) || !seen.insert(package.clone()) {
            continue;
        }
        let depends = run(Command::new("apt-cache").args([
            "depends",
            "--no-recommends",
            "--no-suggests",
            "--no-conflicts",
            "--no-breaks",
            "--no-replaces",
            "--no-enhances",
            &package,
        ]));
        for line in depends.lines() {
            let Some((kind, name)) = line.trim().split_once(": ") else {
                continue;
            };
            if matches!(kind.trim_start_matches('|'), "Depends" | "PreDepends")
                && !name.starts_with('<')
            {
                pending.push_back(name.split(':').next().unwrap().to_owned());
            }
        }
    }
    seen.into_iter().collect()
}

/// Makes the root filesystem in `dir/rootfs`.
fn rootfs(dir: &Path) -> PathBuf {
    let debs = dir.join("debs");
    let root = dir.join("rootfs");
    std::fs::create_dir_all(&debs).unwrap();
    run(Command::new("apt-get")
        .args(["download", "-q", "-o", "APT::Sandbox::User=root"])
        .args(closure())
        .current_dir(&debs));
    for deb in std::fs::read_dir(&debs).unwrap() {
        run(Command::new("dpkg-deb")
            .arg("-x")
            .arg(deb.unwrap().path())
            .arg(&root));
    }
    for pruned in PRUNED {
        let _ = std::fs::remove_dir_all(root.join(pruned));
    }
    for applet in ["sh", "cat"] {
        symlink("busybox", root.join("bin").join(applet)).unwrap();
    }
    // What update-ca-certificates would write: the bundle of every certificate shipped.
    let mozilla = root.join("usr/share/ca-certificates/mozilla");
    let mut certificates: Vec<PathBuf> = std::fs::read_dir(&mozilla)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    certificates.sort();
    let bundle: Vec<u8> = certificates
        .iter()
        .flat_map(|c| std::fs::read(c).unwrap())
        .collect();
    std::fs::create_dir_all(root.join("etc/ssl/certs")).unwrap();
    std::fs::write(root.join("etc/ssl/certs/ca-certificates.crt"), bundle).unwrap();
    let home = "home/nonroot";
    std::fs::write(
        root.join("etc/passwd"),
        format!(
            "root:x:0:0:root:/root:/bin/sh\nnonroot:x:{NONROOT}:{NONROOT}:nonroot:/{home}:/bin/sh\n"
        ),
    )
    .unwrap();
    std::fs::write(
        root.join("etc/group"),
        format!("root:x:0:\nnonroot:x:{NONROOT}:\n"),
    )
    .unwrap();
    for (path, mode) in [("tmp", 0o1777), ("root", 0o700), (home, 0o700)] {
        std::fs::create_dir_all(root.join(path)).unwrap();
        std::fs::set_permissions(root.join(path), std::fs::Permissions::from_mode(mode)).unwrap();
    }
    std::os::unix::fs::chown(root.join(home), Some(NONROOT), Some(NONROOT)).unwrap();
    root
}

/// Makes the base in `dir` and pushes it to `reference` (an image of this machine's platform).
pub fn push_base(dir: &Path, reference: &str) {
    let root = rootfs(dir);
    let layout = dir.join("layout");
    let image = format!("{}:base", layout.display());
    run(Command::new("umoci")
        .arg("init")
        .arg("--layout")
        .arg(&layout));
    run(Command::new("umoci").args(["new", "--image", &image]));
    run(Command::new("umoci")
        .args(["insert", "--image", &image])
        .arg(&root)
        .arg("/"));
    run(Command::new("umoci").args([
        "config",
        "--image",
        &image,
        "--config.env",
        "PATH=/usr/local/bin:/usr/bin:/bin",
        "--config.user",
        &NONROOT.to_string(),
    ]));
    let copied = skopeo(&[
        "copy",
        "--dest-tls-verify=false",
        &format!("oci:{image}"),
        &format!("docker://{reference}"),
    ]);
    assert!(copied.status.success(), "{}", text(&copied.stderr));
}
