//! A registry, as the build talks to it: every call retried (bounded, jittered), blobs checked
//! before upload, base layers mounted across repositories when the registry allows it (with one
//! token for both repositories; any failure falls back to upload, and an upload session the
//! registry opened instead of mounting is cancelled), uploads streamed from disk in 4 MiB chunks
//! (GHCR refuses bigger request bodies), manifests pushed as the exact bytes their digest was
//! computed from. TLS is always verified, except for registries named insecure and loopback ones.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use futures::StreamExt;
use http::HeaderValue;
use http::header::{AUTHORIZATION, CONTENT_LENGTH, LOCATION};
use oci_client::RegistryOperation::{Pull, Push};
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::errors::OciDistributionError;
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};
use sha2::{Digest, Sha256};
use tokio::io::AsyncReadExt;

use super::auth::{self, Credentials};
use super::retry::retry;
use super::token::{self, Grant};
use crate::image::blob::{Blob, hex_digest};
use crate::image::oci::{self, Descriptor};

const CREDENTIALS_HELP: &str = "check the credentials and their rights on the repository: REGISTRY_USERNAME/REGISTRY_PASSWORD (used only for the registries pushed to, or the one REGISTRY names), CI_REGISTRY_USER/CI_REGISTRY_PASSWORD, GITHUB_TOKEN (ghcr.io) or `docker login` (DOCKER_CONFIG)";

/// Bytes read from disk at a time. The requests are oci-client's: it splits what the stream
/// yields into PATCH bodies of at most 4 MiB (its `push_chunk_size`), which GHCR needs.
const CHUNK: usize = 4 << 20;

pub struct Registry {
    client: Client,
    /// For the requests oci-client cannot make: a token for two repositories, and a mount that
    /// may answer with an upload session to cancel.
    http: reqwest::Client,
    /// `http://HOST` or `https://HOST`.
    base_url: String,
    auth: RegistryAuth,
    credentials: Credentials,
    /// Mount grants by (target, source) repository: one token request per pair, not per layer.
    mount_grants: tokio::sync::Mutex<HashMap<(String, String), Option<Grant>>>,
    pub host: String,
}

/// A failure talking to a registry (`host`), or making a blob for it on this machine (no host).
#[derive(Debug)]
pub struct RegistryError {
    pub host: String,
    pub message: String,
}

impl std::fmt::Display for RegistryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if !self.host.is_empty() {
            write!(f, "registry {}: ", self.host)?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for RegistryError {}

/// How the build reaches registries.
#[derive(Debug, Clone, Default)]
pub struct Access {
    /// Hosts reached over plain HTTP (loopback ones always are).
    pub insecure: Vec<String>,
    /// The hosts of the tags pushed to: the only ones REGISTRY_USERNAME/REGISTRY_PASSWORD go to
    /// (unless REGISTRY names one).
    pub pushed_to: Vec<String>,
}

impl Registry {
    pub fn new(host: &str, access: &Access) -> Registry {
        let mut plain: Vec<String> = access.insecure.clone();
        if is_loopback(host) {
            plain.push(host.to_owned());
        }
        let scheme = if plain.iter().any(|p| p == host) {
            "http"
        } else {
            "https"
        };
        let (connect_timeout, read_timeout) = (
            std::time::Duration::from_secs(15),
            std::time::Duration::from_secs(120),
        );
        let config = ClientConfig {
            protocol: ClientProtocol::HttpsExcept(plain),
            connect_timeout: Some(connect_timeout),
            read_timeout: Some(read_timeout),
            platform_resolver: None,
            ..ClientConfig::default()
        };
        // The same TLS verification as oci-client's own (rustls, the system's trust store).
        let http = reqwest::Client::builder()
            .connect_timeout(connect_timeout)
            .read_timeout(read_timeout)
            .build()
            .unwrap_or_default();
        let credentials = auth::for_registry(host, &access.pushed_to);
        Registry {
            client: Client::new(config),
            http,
            base_url: format!("{scheme}://{host}"),
            auth: credentials.to_registry_auth(),
            credentials,
            mount_grants: Default::default(),
            host: host.to_owned(),
        }
    }

    fn error(&self, e: OciDistributionError) -> RegistryError {
        // reqwest's message alone ("error sending request") hides the cause: add the chain.
        let mut message = e.to_string();
        let mut cause = std::error::Error::source(&e);
        while let Some(inner) = cause {
            let text = inner.to_string();
            if !message.contains(&text) {
                message = format!("{message}: {text}");
            }
            cause = inner.source();
        }
        if let Some(secret) = self.credentials.secret().filter(|s| !s.is_empty()) {
            message = message.replace(secret, "••••••");
        }
        let help = match &e {
            OciDistributionError::AuthenticationFailure(_)
            | OciDistributionError::UnauthorizedError { .. }
            | OciDistributionError::ServerError {
                code: 401 | 403, ..
            } => CREDENTIALS_HELP,
            OciDistributionError::RequestError(r)
                if r.status().is_some_and(|s| s == 401 || s == 403) =>
            {
                CREDENTIALS_HELP
            }
            OciDistributionError::RequestError(r)
                if r.is_connect() && message.contains("certificate") =>
            {
                "the registry's TLS certificate is not trusted here: add its CA to the system trust store, or point SSL_CERT_FILE at a PEM file holding it"
            }
            OciDistributionError::RequestError(r)
                if r.is_connect() && message.contains("corrupt message") =>
            {
                "the registry does not answer in TLS: if it serves plain HTTP, name it with --insecure-registry HOST:PORT"
            }
            OciDistributionError::RequestError(r) if r.is_connect() || r.is_timeout() => {
                "check that the registry host and port are right and reachable from this runner"
            }
            _ => "",
        };
        if !help.is_empty() {
            message = format!("{message}\n  help: {help}");
        }
        RegistryError {
            host: self.host.clone(),
            message,
        }
    }

    /// Authenticates for pushing to (and pulling from) a repository.
    pub async fn login(&self, repository: &Reference, push: bool) -> Result<(), RegistryError> {
        let operation = if push {
            oci_client::RegistryOperation::Push
        } else {
            oci_client::RegistryOperation::Pull
        };
        retry(|| self.client.auth(repository, &self.auth, operation))
            .await
            .map(|_| ())
            .map_err(|e| self.error(e))
    }

    /// Runs `op` with retries (`retry`). When the registry refuses its token (401: the token ran
    /// out, by the registry's clock, or was revoked, before oci-client's cache let it go), a
    /// new one is fetched once and `op` runs again: a long push outlives its first token.
    async fn call<T, F, Fut>(
        &self,
        repository: &Reference,
        operation: oci_client::RegistryOperation,
        mut op: F,
    ) -> Result<T, OciDistributionError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, OciDistributionError>>,
    {
        match retry(&mut op).await {
            Err(e) if unauthorized(&e) => {
                retry(|| self.client.auth(repository, &self.auth, operation)).await?;
                retry(op).await
            }
            done => done,
        }
    }

    /// Whether the repository has the blob.
    pub async fn has_blob(
        &self,
        repository: &Reference,
        digest: &str,
    ) -> Result<bool, RegistryError> {
        self.call(repository, Pull, || {
            self.client.blob_exists(repository, digest)
        })
        .await
        .map_err(|e| self.error(e))
    }

    /// Mounts a blob from another repository of this registry; false when the registry does not.
    pub async fn mount(&self, repository: &Reference, from: &Reference, digest: &str) -> bool {
        let Some(grant) = self.mount_grant(repository, from).await else {
            return false;
        };
        let url = format!(
            "{}/v2/{}/blobs/uploads/",
            self.base_url,
            repository.repository()
        );
        let request = self
            .http
            .post(url)
            .query(&[("mount", digest), ("from", from.repository())])
            .header(CONTENT_LENGTH, "0");
        let Ok(answer) = authorized(request, &grant).send().await else {
            return false;
        };
        match answer.status() {
            reqwest::StatusCode::CREATED => true,
            // A legal refusal (GHCR without pull rights on the source, a source without the
            // blob): the registry opened an upload session instead. The upload opens its own,
            // so this one is cancelled rather than left open until the registry expires it.
            reqwest::StatusCode::ACCEPTED => {
                self.cancel_upload(&answer, &grant).await;
                false
            }
            _ => false,
        }
    }

    /// Push on the target and pull on the source, in one grant (fetched once per pair).
    async fn mount_grant(&self, target: &Reference, source: &Reference) -> Option<Grant> {
        let pair = (
            target.repository().to_owned(),
            source.repository().to_owned(),
        );
        // Held while the token is fetched: layers mounted in parallel wait for one request.
        let mut grants = self.mount_grants.lock().await;
        if let Some(known) = grants.get(&pair)
            && known.as_ref().is_none_or(Grant::valid)
        {
            return known.clone();
        }
        let scopes = [
            format!("repository:{}:pull,push", pair.0),
            format!("repository:{}:pull", pair.1),
        ];
        let grant = token::grant(&self.http, &self.base_url, &self.credentials, &scopes).await;
        grants.insert(pair, grant.clone());
        grant
    }

    /// Cancels the upload session a 202 answer opened (DELETE on its Location), on this
    /// registry only: the grant is never sent elsewhere.
    async fn cancel_upload(&self, answer: &reqwest::Response, grant: &Grant) {
        let Some(location) = answer
            .headers()
            .get(LOCATION)
            .and_then(|l| l.to_str().ok())
            .and_then(|l| answer.url().join(l).ok())
            .filter(|l| l.origin() == answer.url().origin())
        else {
            return;
        };
        let _ = authorized(self.http.delete(location), grant).send().await;
    }

    /// Uploads a blob from disk, streamed in chunks; `sent` hears the bytes as they go.
    pub async fn upload(
        &self,
        repository: &Reference,
        blob: &Blob,
        sent: Arc<dyn Fn(u64) + Send + Sync>,
    ) -> Result<(), RegistryError> {
        self.call(repository, Push, || async {
            sent(0);
            let file = tokio::fs::File::open(&blob.path).await?;
            let progress = sent.clone();
            let stream = futures::stream::unfold((file, 0u64), move |(mut file, total)| {
                let progress = progress.clone();
                async move {
                    let mut buffer = vec![0u8; CHUNK];
                    let mut filled = 0;
                    while filled < CHUNK {
                        match file.read(&mut buffer[filled..]).await {
                            Ok(0) => break,
                            Ok(n) => filled += n,
                            Err(e) => {
                                return Some((
                                    Err(OciDistributionError::IoError(e)),
                                    (file, total),
                                ));
                            }
                        }
                    }
                    (filled > 0).then(|| {
                        buffer.truncate(filled);
                        let total = total + filled as u64;
                        progress(total);
                        (Ok(Bytes::from(buffer)), (file, total))
                    })
                }
            });
            self.client
                .push_blob_stream(repository, stream, &blob.digest, Some(blob.size))
                .await
        })
        .await
        .map(|_| ())
        .map_err(|e| self.error(e))
    }

    /// Puts manifest bytes under a tag or a digest; returns the digest the registry reports.
    pub async fn put_manifest(
        &self,
        reference: &Reference,
        bytes: &[u8],
        media_type: &str,
    ) -> Result<String, RegistryError> {
        let content_type =
            HeaderValue::from_str(media_type).expect("media types are header values");
        let body = Bytes::copy_from_slice(bytes);
        self.call(reference, Push, || {
            self.client
                .push_manifest_raw(reference, body.clone(), content_type.clone())
        })
        .await
        .map_err(|e| self.error(e))?;
        Ok(hex_digest(Sha256::new_with_prefix(bytes)))
    }

    /// A manifest or index, its bytes and digest.
    pub async fn manifest(
        &self,
        reference: &Reference,
    ) -> Result<(Vec<u8>, String), RegistryError> {
        let (bytes, digest) = self
            .call(reference, Pull, || {
                self.client
                    .pull_manifest_raw(reference, &self.auth, oci::ACCEPTED)
            })
            .await
            .map_err(|e| self.error(e))?;
        Ok((bytes.to_vec(), digest))
    }

    /// Downloads a blob into `dir`, checking its digest.
    pub async fn download(
        &self,
        repository: &Reference,
        descriptor: &Descriptor,
        dir: &Path,
    ) -> Result<Blob, RegistryError> {
        let layer = oci_client::manifest::OciDescriptor {
            media_type: descriptor.media_type.clone(),
            digest: descriptor.digest.clone(),
            size: descriptor.size as i64,
            ..Default::default()
        };
        self.call(repository, Pull, || async {
            let file = tempfile::Builder::new().prefix("base-").tempfile_in(dir)?;
            let (std_file, path) = file.keep().map_err(|e| e.error)?;
            let mut out = tokio::fs::File::from_std(std_file);
            let mut stream = self.client.pull_blob_stream(repository, &layer).await?;
            let mut hasher = Sha256::new();
            let mut size = 0u64;
            while let Some(chunk) = stream.next().await {
                let chunk = chunk?;
                hasher.update(&chunk);
                size += chunk.len() as u64;
                tokio::io::AsyncWriteExt::write_all(&mut out, &chunk).await?;
            }
            tokio::io::AsyncWriteExt::flush(&mut out).await?;
            let digest = hex_digest(hasher);
            if digest != descriptor.digest {
                return Err(OciDistributionError::GenericError(Some(format!(
                    "blob {} arrived as {digest}",
                    descriptor.digest
                ))));
            }
            Ok(Blob { path, digest, size })
        })
        .await
        .map_err(|e| self.error(e))
    }
}

/// A 401: the registry wants other (or fresh) credentials.
fn unauthorized(e: &OciDistributionError) -> bool {
    match e {
        OciDistributionError::UnauthorizedError { .. }
        | OciDistributionError::ServerError { code: 401, .. } => true,
        OciDistributionError::RequestError(r) => r.status().is_some_and(|s| s == 401),
        OciDistributionError::RegistryError { envelope, .. } => envelope
            .errors
            .iter()
            .any(|x| x.code == oci_client::errors::OciErrorCode::Unauthorized),
        _ => false,
    }
}

fn authorized(request: reqwest::RequestBuilder, grant: &Grant) -> reqwest::RequestBuilder {
    match &grant.header {
        Some(header) => request.header(AUTHORIZATION, header),
        None => request,
    }
}

/// Loopback registries are reached over plain HTTP, as every registry tool does.
pub fn is_loopback(host: &str) -> bool {
    let name = host.rsplit_once(':').map_or(host, |(h, port)| {
        if port.chars().all(|c| c.is_ascii_digit()) {
            h
        } else {
            host
        }
    });
    name == "localhost" || name.starts_with("127.") || name == "[::1]"
}
