//! `--image` overrides: `[WORKLOAD.]CONTAINER=REF` for one container, or a bare `REF` for every
//! container whose Score image is `.` (the image this repository builds).

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_pick_containers() {
        let images = Images::parse(&[
            "web=ghcr.io/acme/web@sha256:abc".into(),
            "worker.main=w:1".into(),
            "reg/x:2".into(),
        ])
        .unwrap();
        assert_eq!(
            images.for_container("shop", "web", "nginx").unwrap(),
            "ghcr.io/acme/web@sha256:abc"
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
