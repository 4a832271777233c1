//! `--image` overrides: `[WORKLOAD.]CONTAINER=REF` for one container, or a bare `REF` for every
//! container whose Score image is `.` (the image this repository builds). Each REF follows the
//! OCI distribution reference grammar (github.com/distribution/reference), with sha256 digests.

use crate::score::LoadedWorkload;

#[derive(Debug, Clone, Default)]
pub struct Images {
    overrides: Vec<Override>,
    /// For every `image: .` container.
    built: Option<String>,
}

/// The image one container runs, as the render chose it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerImage {
    pub workload: String,
    pub container: String,
    pub reference: String,
}

#[derive(Debug, Clone)]
struct Override {
    workload: Option<String>,
    container: String,
    reference: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImageError {
    #[error("--image `{0}`: {1}")]
    Malformed(String, String),
    #[error("--image names container `{0}`, which no workload has (containers: {1})")]
    NoSuchContainer(String, String),
    #[error(
        "--image `{0}=…` is ambiguous: workloads {1} all have a container `{0}`; write WORKLOAD.{0}=REF"
    )]
    Ambiguous(String, String),
    #[error(
        "container `{container}` of workload `{workload}` has `image: .` (the image this repository builds), and no --image gives it"
    )]
    Missing { workload: String, container: String },
}

impl Images {
    pub fn parse(values: &[String]) -> Result<Images, ImageError> {
        let mut images = Images::default();
        for value in values {
            let malformed = |why: &str| ImageError::Malformed(value.clone(), why.to_owned());
            if value.trim().is_empty() || value.contains(char::is_whitespace) {
                return Err(malformed("an image reference has no spaces"));
            }
            // `=` separates a target from the reference; references themselves never hold `=`.
            match value.split_once('=') {
                None => {
                    check_reference(value).map_err(|why| malformed(&why))?;
                    if images.built.replace(value.clone()).is_some() {
                        return Err(malformed(
                            "only one bare --image REF (for `image: .` containers) may be given",
                        ));
                    }
                }
                Some((target, reference)) => {
                    if reference.is_empty() || target.is_empty() {
                        return Err(malformed("write CONTAINER=REF or WORKLOAD.CONTAINER=REF"));
                    }
                    check_reference(reference).map_err(|why| malformed(&why))?;
                    let (workload, container) = match target.split_once('.') {
                        Some((w, c)) => (Some(w.to_owned()), c.to_owned()),
                        None => (None, target.to_owned()),
                    };
                    images.overrides.push(Override {
                        workload,
                        container,
                        reference: reference.to_owned(),
                    });
                }
            }
        }
        Ok(images)
    }

    /// Checks every override names exactly one container of these workloads.
    pub fn check(&self, workloads: &[LoadedWorkload]) -> Result<(), ImageError> {
        let containers: Vec<(&str, &str)> = workloads
            .iter()
            .flat_map(|w| {
                w.workload
                    .containers
                    .keys()
                    .map(move |c| (w.workload.metadata.name.as_str(), c.as_str()))
            })
            .collect();
        for o in &self.overrides {
            let matching: Vec<&str> = containers
                .iter()
                .filter(|(w, c)| {
                    *c == o.container && o.workload.as_deref().is_none_or(|ow| ow == *w)
                })
                .map(|(w, _)| *w)
                .collect();
            match matching.len() {
                0 => {
                    let all: Vec<String> =
                        containers.iter().map(|(w, c)| format!("{w}.{c}")).collect();
                    let target = o
                        .workload
                        .as_ref()
                        .map_or(o.container.clone(), |w| format!("{w}.{}", o.container));
                    return Err(ImageError::NoSuchContainer(target, all.join(", ")));
                }
                1 => {}
                _ => {
                    return Err(ImageError::Ambiguous(
                        o.container.clone(),
                        matching.join(", "),
                    ));
                }
            }
        }
        Ok(())
    }

    /// The image a container runs: an override, else its Score image (`.` needs an override).
    pub fn for_container(
        &self,
        workload: &str,
        container: &str,
        score_image: &str,
    ) -> Result<String, ImageError> {
        // `WORKLOAD.CONTAINER=` beats `CONTAINER=`, whatever their order on the command line.
        let named = self
            .overrides
            .iter()
            .filter(|o| {
                o.container == container && o.workload.as_deref().is_none_or(|w| w == workload)
            })
            .max_by_key(|o| o.workload.is_some());
        match (named, score_image) {
            (Some(o), _) => Ok(o.reference.clone()),
            (None, crate::score::BUILT_IMAGE) => {
                self.built.clone().ok_or_else(|| ImageError::Missing {
                    workload: workload.to_owned(),
                    container: container.to_owned(),
                })
            }
            (None, image) => Ok(image.to_owned()),
        }
    }
}

/// Whether an image reference is pinned: it is well-formed and names its image by a sha256
/// digest (64 lowercase hex digits), so the image cannot change under it.
pub fn is_pinned(reference: &str) -> bool {
    reference.contains('@') && check_reference(reference).is_ok()
}

/// Checks `NAME[:TAG][@DIGEST]` against the OCI distribution grammar: NAME is
/// `[DOMAIN/]PATH`, DOMAIN a host (or `[IPv6]`) with an optional `:PORT`, PATH components of
/// lowercase letters and digits separated by `.`, `_`, `__` or dashes; TAG
/// `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`; DIGEST `sha256:` and 64 lowercase hex digits (the
/// grammar allows other algorithms; registries and scoreline pin by sha256). What is wrong,
/// and what to write instead, if anything.
pub fn check_reference(reference: &str) -> Result<(), String> {
    let (name_and_tag, digest) = match reference.split_once('@') {
        Some((name, digest)) => (name, Some(digest)),
        None => (reference, None),
    };
    // A tag follows the last `/`: a `:` before it belongs to a registry's port.
    let last = name_and_tag.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match name_and_tag[last..].find(':') {
        Some(i) => (
            &name_and_tag[..last + i],
            Some(&name_and_tag[last + i + 1..]),
        ),
        None => (name_and_tag, None),
    };
    check_name(name)?;
    if let Some(tag) = tag {
        check_tag(tag)?;
    }
    if let Some(digest) = digest {
        check_digest(digest)?;
    }
    Ok(())
}

const FORM: &str =
    "write [REGISTRY/]REPOSITORY[:TAG][@sha256:DIGEST], e.g. ghcr.io/acme/shop:1.4.2";

fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err(format!("it names no repository; {FORM}"));
    }
    if name.len() > 255 {
        return Err(format!(
            "the name has {} characters, at most 255 are allowed",
            name.len()
        ));
    }
    // As docker reads it: the first component is a registry if it looks like a host.
    let (domain, path) = match name.split_once('/') {
        Some((first, rest))
            if first.contains(['.', ':'])
                || first == "localhost"
                || first.chars().any(|c| c.is_ascii_uppercase()) =>
        {
            (Some(first), rest)
        }
        _ => (None, name),
    };
    if let Some(domain) = domain
        && !is_domain(domain)
    {
        return Err(format!(
            "registry `{domain}` is not a host name (or [IPv6 address]) with an optional :PORT"
        ));
    }
    if path.chars().any(|c| c.is_ascii_uppercase()) {
        let lower = path.to_ascii_lowercase();
        return Err(format!(
            "repository names must be lowercase: `{path}` (write `{lower}`)"
        ));
    }
    for component in path.split('/') {
        if !is_path_component(component) {
            return Err(format!(
                "path component `{component}` of `{path}` is not lowercase letters and digits separated by `.`, `_`, `__` or dashes; {FORM}"
            ));
        }
    }
    Ok(())
}

/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`
fn is_path_component(component: &str) -> bool {
    let bytes = component.as_bytes();
    let alphanumeric = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let mut i = 0;
    loop {
        let start = i;
        while i < bytes.len() && alphanumeric(bytes[i]) {
            i += 1;
        }
        if i == start {
            return false;
        }
        if i == bytes.len() {
            return true;
        }
        match bytes[i] {
            b'.' => i += 1,
            b'_' if bytes.get(i + 1) == Some(&b'_') => i += 2,
            b'_' => i += 1,
            b'-' => {
                while bytes.get(i) == Some(&b'-') {
                    i += 1;
                }
            }
            _ => return false,
        }
    }
}

/// `host[:port]`: host names of `[A-Za-z0-9]` labels with inner dashes, dot-separated, or a
/// bracketed IPv6 address.
fn is_domain(domain: &str) -> bool {
    let (host, port) = if let Some(rest) = domain.strip_prefix('[') {
        let Some((address, after)) = rest.split_once(']') else {
            return false;
        };
        if address.is_empty() || !address.chars().all(|c| c.is_ascii_hexdigit() || c == ':') {
            return false;
        }
        match after {
            "" => return true,
            _ => ("", after.strip_prefix(':').unwrap_or("!")),
        }
    } else {
        match domain.split_once(':') {
            Some((host, port)) => (host, port),
            None => (domain, "0"),
        }
    };
    let label = |l: &str| {
        !l.is_empty()
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    (domain.starts_with('[') || host.split('.').all(label))
        && !port.is_empty()
        && port.chars().all(|c| c.is_ascii_digit())
}

fn check_tag(tag: &str) -> Result<(), String> {
    if tag.is_empty() {
        return Err("it has an empty tag after `:`: write NAME:TAG, or leave out the `:`".into());
    }
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let ok = tag.len() <= 128
        && tag.starts_with(word)
        && tag.chars().all(|c| word(c) || c == '.' || c == '-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "tag `{tag}` is not 1 to 128 letters, digits, `_`, `.` and `-` (not starting with `.` or `-`)"
        ))
    }
}

fn check_digest(digest: &str) -> Result<(), String> {
    let Some((algorithm, hex)) = digest.split_once(':') else {
        return Err(format!(
            "digest `{digest}` has no algorithm: write @sha256: and the 64 hex digits"
        ));
    };
    if algorithm != "sha256" {
        return Err(format!(
            "digest algorithm `{algorithm}` is not supported: images are pinned by sha256 (@sha256: and 64 hex digits)"
        ));
    }
    if !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err("a sha256 digest has 64 hex digits (0-9, a-f), and nothing else".into());
    }
    if hex.chars().any(|c| c.is_ascii_uppercase()) {
        return Err("the digest's hex digits must be lowercase".into());
    }
    if hex.len() != 64 {
        return Err(format!(
            "a sha256 digest has 64 hex digits, this one has {}",
            hex.len()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn references_follow_the_distribution_grammar() {
        for good in [
            "shop",
            "shop:1.4.2",
            "library/shop:latest",
            "ghcr.io/acme/shop",
            "localhost:5000/shop:v1",
            "[::1]:5000/shop",
            "GHCR.io/acme/shop:1",
            "registry.example/a/b/c_d__e-f--g.h:Tag_1.x-y",
            &format!("shop@{DIGEST}"),
            &format!("ghcr.io/acme/shop:1@{DIGEST}"),
        ] {
            assert_eq!(check_reference(good), Ok(()), "{good}");
        }
        for (bad, why) in [
            ("shop@sha256:abc", "64 hex digits, this one has 3"),
            ("@sha256:abc", "no repository"),
            ("shop:bad:tag", "tag `bad:tag`"),
            ("shop:", "empty tag"),
            ("shop:-x", "tag `-x`"),
            (
                "GHCR.io/Acme/Shop:1",
                "must be lowercase: `Acme/Shop` (write `acme/shop`)",
            ),
            ("Shop", "must be lowercase"),
            ("shop@md5:x", "algorithm `md5`"),
            ("shop@sha256", "no algorithm"),
            ("a//b", "path component ``"),
            ("a/-b", "path component `-b`"),
            ("a/b_", "path component `b_`"),
            ("a/b___c", "path component `b___c`"),
            ("exa_mple.com/shop", "registry `exa_mple.com`"),
            ("host:port/shop", "registry `host:port`"),
        ] {
            let error = check_reference(bad).unwrap_err();
            assert!(error.contains(why), "{bad}: {error}");
        }
        let upper = format!("shop@{}", DIGEST.replace('e', "E"));
        assert!(check_reference(&upper).unwrap_err().contains("lowercase"));
        assert!(is_pinned(&format!("ghcr.io/acme/shop@{DIGEST}")));
        assert!(!is_pinned("ghcr.io/acme/shop:1"));
        assert!(!is_pinned("ghcr.io/acme/shop@sha256:abc"));
        assert!(!is_pinned(&upper));
    }

    #[test]
    fn overrides_pick_containers() {
        let images = Images::parse(&[
            format!("web=ghcr.io/acme/web@{DIGEST}"),
            "worker.main=w:1".into(),
            "reg/x:2".into(),
        ])
        .unwrap();
        assert_eq!(
            images.for_container("shop", "web", "nginx").unwrap(),
            format!("ghcr.io/acme/web@{DIGEST}")
        );
        assert_eq!(images.for_container("worker", "main", ".").unwrap(), "w:1");
        assert_eq!(
            images.for_container("shop", "main", ".").unwrap(),
            "reg/x:2"
        );
        assert_eq!(
            images.for_container("shop", "side", "busybox").unwrap(),
            "busybox"
        );
        assert!(Images::parse(&["a b".into()]).is_err());
        assert!(Images::parse(&["=x".into()]).is_err());
        assert!(Images::parse(&["x".into(), "y".into()]).is_err());
        assert!(matches!(
            Images::default().for_container("w", "c", "."),
            Err(ImageError::Missing { .. })
        ));
    }
}
