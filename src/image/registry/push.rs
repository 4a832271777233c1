//! Pushing a built image to every tag: per repository, each blob is checked, mounted from the
//! base image's repository on the same registry, or uploaded — four at a time; then the
//! per-platform manifests by digest. Only when every repository has all of that are the tags put
//! (the top manifest or index under each), so a failure before leaves every tag where it was.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use futures::{StreamExt, TryStreamExt};
use oci_client::Reference;

use super::client::{Access, Registry, RegistryError};
use super::layer_source::{LayerSource, Origin};
use crate::image::blob::{Blob, hex_digest};
use crate::image::event::{Event, Sink, Transfer};

/// A blob the image needs: ours on disk, or a base layer.
pub enum Needed<'a> {
    Local(&'a Blob),
    Layer(&'a LayerSource),
}

impl Needed<'_> {
    fn digest(&self) -> &str {
        match self {
            Needed::Local(b) => &b.digest,
            Needed::Layer(l) => &l.descriptor.digest,
        }
    }

    fn size(&self) -> u64 {
        match self {
            Needed::Local(b) => b.size,
            Needed::Layer(l) => l.descriptor.size,
        }
    }
}

/// What to push: the blobs, manifests put by digest first, and the top manifest (or index)
/// bytes put under every tag.
pub struct Push<'a> {
    pub blobs: Vec<Needed<'a>>,
    pub children: Vec<(&'a [u8], &'static str)>,
    pub top: (&'a [u8], &'static str),
}

/// Pushes to every tag; returns how each blob got to each repository.
pub async fn push(
    what: &Push<'_>,
    tags: &[Reference],
    access: &Access,
    scratch: &Path,
    progress: Sink<'_>,
) -> Result<Vec<(String, String, Transfer)>, RegistryError> {
    let mut by_repository: BTreeMap<(String, String), Vec<&Reference>> = BTreeMap::new();
    for tag in tags {
        by_repository
            .entry((
                tag.resolve_registry().to_owned(),
                tag.repository().to_owned(),
            ))
            .or_default()
            .push(tag);
    }
    let mut report = Vec::new();
    let mut ready = Vec::new();
    for ((host, repository), tags) in by_repository {
        let registry = Registry::new(&host, access);
        let target = tags[0];
        registry.login(target, true).await?;
        let name = format!("{host}/{repository}");
        let transfers: Vec<(String, Transfer)> = futures::stream::iter(&what.blobs)
            .map(|needed| put(&registry, target, needed, scratch, progress, &name))
            .buffer_unordered(4)
            .try_collect()
            .await?;
        report.extend(
            transfers
                .into_iter()
                .map(|(digest, t)| (name.clone(), digest, t)),
        );
        for (bytes, media_type) in &what.children {
            let digest = hex_digest(sha2::Digest::new_with_prefix(*bytes));
            registry
                .put_manifest(&target.clone_with_digest(digest.clone()), bytes, media_type)
                .await?;
            progress(Event::Manifest {
                reference: format!("{name}@{digest}"),
            });
        }
        ready.push((registry, tags));
    }
    for (registry, tags) in &ready {
        for tag in tags {
            registry.put_manifest(tag, what.top.0, what.top.1).await?;
            progress(Event::Manifest {
                reference: tag.whole(),
            });
        }
    }
    Ok(report)
}

async fn put(
    registry: &Registry,
    target: &Reference,
    needed: &Needed<'_>,
    scratch: &Path,
    progress: Sink<'_>,
    name: &str,
) -> Result<(String, Transfer), RegistryError> {
    let digest = needed.digest().to_owned();
    let (size, report) = (needed.size(), |transfer| {
        progress(Event::Blob {
            repository: name.to_owned(),
            digest: digest.clone(),
            size: needed.size(),
            transfer,
        })
    });
    if registry.has_blob(target, &digest).await? {
        report(Transfer::Existed);
        return Ok((digest, Transfer::Existed));
    }
    let blob = match needed {
        Needed::Local(blob) => (*blob).clone(),
        Needed::Layer(layer) => {
            if let Origin::Remote {
                registry: source,
                repository,
                ..
            } = &layer.origin
                && source.host == registry.host
                && registry.mount(target, repository, &digest).await
            {
                report(Transfer::Mounted);
                return Ok((digest, Transfer::Mounted));
            }
            layer.local(scratch).await?
        }
    };
    // Progress needs 'static: it reports through a channel the caller's sink cannot be.
    let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel::<u64>();
    let sent: Arc<dyn Fn(u64) + Send + Sync> = Arc::new(move |n| {
        let _ = sender.send(n);
    });
    let upload = registry.upload(target, &blob, sent);
    tokio::pin!(upload);
    let result = loop {
        tokio::select! {
            result = &mut upload => break result,
            Some(n) = receiver.recv() => progress(Event::Sending { digest: digest.clone(), sent: n, size }),
        }
    };
    result?;
    report(Transfer::Uploaded);
    Ok((digest, Transfer::Uploaded))
}
