//! Bounded, jittered retries for registry calls: oci-client has none, and registries do answer
//! 5xx, 429 and reset connections now and then.

use std::future::Future;
use std::time::Duration;

use oci_client::errors::OciDistributionError;

pub const ATTEMPTS: u32 = 6;

/// Runs `op` until it succeeds, fails for good, or has failed `ATTEMPTS` times.
pub async fn retry<T, F, Fut>(mut op: F) -> Result<T, OciDistributionError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, OciDistributionError>>,
{
    let mut attempt = 0;
    loop {
        match op().await {
            Ok(value) => return Ok(value),
            Err(e) if attempt + 1 < ATTEMPTS && transient(&e) => {
                tokio::time::sleep(backoff(attempt, &e)).await;
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Server errors, throttling, timeouts and broken connections are worth another try; a refusal
/// (401, 403, 404, a malformed request) is not.
pub fn transient(e: &OciDistributionError) -> bool {
    match e {
        OciDistributionError::ServerError { code, .. } => {
            *code >= 500 || *code == 429 || *code == 408
        }
        OciDistributionError::RequestError(r) => {
            !tls_refused(r)
                && (r.is_timeout()
                    || r.is_connect()
                    || r.is_request()
                    || r.is_body()
                    || r.status()
                        .is_some_and(|s| s.is_server_error() || s.as_u16() == 429))
        }
        OciDistributionError::IoError(_)
        | OciDistributionError::RegistryNoLocationError
        | OciDistributionError::RegistryNoDigestError => true,
        OciDistributionError::RegistryError { envelope, .. } => envelope.errors.iter().any(|x| {
            x.code == oci_client::errors::OciErrorCode::Toomanyrequests
                || x.code == oci_client::errors::OciErrorCode::BlobUploadUnknown
        }),
        _ => false,
    }
}

/// A TLS handshake that failed for good: an untrusted certificate, or plain HTTP answering.
fn tls_refused(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(e);
    while let Some(inner) = cause {
        let text = inner.to_string();
        if text.contains("certificate") || text.contains("corrupt message") {
            return true;
        }
        cause = inner.source();
    }
    false
}

/// 200 ms doubling to 6.4 s, ±50% jitter; throttling waits five times longer.
fn backoff(attempt: u32, e: &OciDistributionError) -> Duration {
    let throttled = matches!(e, OciDistributionError::ServerError { code: 429, .. });
    let scale = if throttled { 5 } else { 1 };
    crate::backoff::backoff(
        Duration::from_millis(200) * scale,
        attempt,
        Duration::from_millis(6400) * scale,
    )
}
