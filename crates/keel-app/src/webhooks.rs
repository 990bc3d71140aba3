//! Outgoing webhooks: management by the product's PM and PO, and the worker that sends the
//! outbox. Deliveries are written by the database in the transaction of the change they
//! announce (migration 0007); the worker claims due ones, POSTs them signed, and records the
//! outcome, retrying with a doubling delay for a day.

use crate::{now, App, AppError, AppResult, ProductAccess};
use keel_domain::rights::Action;
use keel_domain::webhook::{self, Target};
use keel_domain::{Timestamp, ValidationError};
use keel_store::webhooks::{AttemptResult, Delivery, DeliveryJob, NewWebhook, Webhook, WebhookPatch};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use serde_json::json;
use sha2::{Digest, Sha256};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// How webhooks are delivered (from the configuration).
#[derive(Debug, Clone)]
pub struct WebhookSettings {
    /// Allow targets on loopback, link-local and private addresses (off by default: a guard
    /// against server-side request forgery).
    pub allow_private: bool,
    /// Delay after the first failed attempt; doubled after each further one.
    pub base_backoff_ms: i64,
    /// How long after its first attempt a delivery is retried before it is marked failed.
    pub retry_window_ms: i64,
    /// Time allowed for one attempt (connect, send, first response line).
    pub timeout_ms: u64,
    /// How often the worker looks for due deliveries.
    pub poll_ms: u64,
    /// Certificates (PEM) trusted for https targets beside the public roots: for a receiver
    /// with a private certificate authority, and for tests.
    pub extra_ca_pem: Option<String>,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        WebhookSettings {
            allow_private: false,
            base_backoff_ms: 30_000,
            retry_window_ms: 24 * 3600 * 1000,
            timeout_ms: 10_000,
            poll_ms: 1_000,
            extra_ca_pem: None,
        }
    }
}

/// Input for a new webhook or a change to one.
#[derive(Debug, Clone, Default)]
pub struct WebhookInput {
    /// Target URL.
    pub url: Option<String>,
    /// Event types.
    pub events: Option<Vec<String>>,
    /// Active.
    pub active: Option<bool>,
    /// Replace the secret with a new random one.
    pub rotate_secret: bool,
}

/// Most deliveries listed per webhook.
pub const DELIVERY_LOG: u32 = 100;

/// HMAC-SHA256 of `msg` with `key` (RFC 2104), hex.
pub fn hmac_sha256_hex(key: &[u8], msg: &[u8]) -> String {
    const BLOCK: usize = 64;
    let mut k = [0u8; BLOCK];
    if key.len() > BLOCK {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(k.map(|b| b ^ 0x36));
    inner.update(msg);
    let mut outer = Sha256::new();
    outer.update(k.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    outer.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// The `Keel-Signature` header: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">`.
pub fn signature(secret: &str, unix: i64, body: &[u8]) -> String {
    let mut msg = format!("{unix}.").into_bytes();
    msg.extend_from_slice(body);
    format!("t={unix},v1={}", hmac_sha256_hex(secret.as_bytes(), &msg))
}

/// Resolves `target` and checks every address; returns the addresses to connect to.
pub async fn resolve_target(target: &Target, allow_private: bool) -> Result<Vec<SocketAddr>, String> {
    let addrs: Vec<SocketAddr> = match target.host.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, target.port)],
        Err(_) => tokio::time::timeout(
            Duration::from_secs(5),
            tokio::net::lookup_host((target.host.as_str(), target.port)),
        )
        .await
        .map_err(|_| "the host name did not resolve in time".to_string())?
        .map_err(|_| "the host name does not resolve".to_string())?
        .collect(),
    };
    if addrs.is_empty() {
        return Err("the host name does not resolve".into());
    }
    if !allow_private {
        if let Some(a) = addrs.iter().find(|a| webhook::is_internal(a.ip())) {
            return Err(format!(
                "resolves to {}, a loopback, link-local or private address, which this server does not call",
                a.ip()
            ));
        }
    }
    Ok(addrs)
}

fn invalid(field: &str, msg: impl Into<String>) -> AppError {
    AppError::Invalid(ValidationError::new(field, msg))
}

impl App {
    /// The webhook settings.
    pub fn webhook_settings(&self) -> &WebhookSettings {
        &self.settings().webhooks
    }

    async fn checked_url(&self, url: &str) -> AppResult<String> {
        let target = webhook::parse_url(url).map_err(|m| invalid("url", m))?;
        resolve_target(&target, self.webhook_settings().allow_private)
            .await
            .map_err(|m| invalid("url", m))?;
        Ok(url.trim().to_string())
    }

    /// The product's webhooks (PM and PO: they include the secrets).
    pub async fn webhooks(&self, access: &ProductAccess) -> AppResult<Vec<Webhook>> {
        self.require(access, Action::ManageWebhooks)?;
        Ok(self.store().webhooks_of(access.product.id).await?)
    }

    /// A webhook and the caller's access to its product (404 when the caller cannot read it).
    pub async fn webhook(
        &self,
        user: &keel_domain::user::User,
        id: i64,
    ) -> AppResult<(Webhook, ProductAccess)> {
        let h = self.store().webhook(id).await?;
        let access = self.access_by_id(user, h.product_id).await?;
        self.require(&access, Action::ManageWebhooks)?;
        Ok((h, access))
    }

    /// Creates a webhook with a new random secret.
    pub async fn create_webhook(&self, access: &ProductAccess, input: WebhookInput) -> AppResult<Webhook> {
        self.require(access, Action::ManageWebhooks)?;
        let url = input.url.as_deref().ok_or_else(|| invalid("url", "is required"))?;
        let events =
            webhook::parse_events(&input.events.unwrap_or_default()).map_err(|m| invalid("events", m))?;
        let url = self.checked_url(url).await?;
        let hook = NewWebhook {
            product_id: access.product.id,
            url,
            secret: crate::auth::random_secret(),
            events,
            active: input.active.unwrap_or(true),
        };
        Ok(self.store().create_webhook(hook, &self.ctx(&access.user)).await?)
    }

    /// Changes a webhook.
    pub async fn update_webhook(
        &self,
        user: &keel_domain::user::User,
        id: i64,
        input: WebhookInput,
    ) -> AppResult<Webhook> {
        let (_, access) = self.webhook(user, id).await?;
        let events = match input.events {
            Some(e) => Some(webhook::parse_events(&e).map_err(|m| invalid("events", m))?),
            None => None,
        };
        let url = match input.url {
            Some(u) => Some(self.checked_url(&u).await?),
            None => None,
        };
        let patch = WebhookPatch {
            url,
            events,
            active: input.active,
            secret: input.rotate_secret.then(crate::auth::random_secret),
        };
        Ok(self.store().update_webhook(id, patch, &self.ctx(&access.user)).await?)
    }

    /// Deletes a webhook and its delivery log.
    pub async fn delete_webhook(&self, user: &keel_domain::user::User, id: i64) -> AppResult<()> {
        let (_, access) = self.webhook(user, id).await?;
        Ok(self.store().delete_webhook(id, &self.ctx(&access.user)).await?)
    }

    /// A webhook's latest deliveries, newest first.
    pub async fn deliveries(&self, user: &keel_domain::user::User, id: i64) -> AppResult<Vec<Delivery>> {
        self.webhook(user, id).await?;
        Ok(self.store().deliveries(id, DELIVERY_LOG).await?)
    }

    /// Sends a delivery again now (a failed or delivered one), with a fresh retry window.
    pub async fn retry_delivery(&self, user: &keel_domain::user::User, id: i64) -> AppResult<Delivery> {
        let d = self.store().delivery(id).await?;
        self.webhook(user, d.webhook_id).await?;
        Ok(self.store().retry_delivery(id, now()).await?)
    }

    /// Claims and sends the deliveries due now; returns how many were attempted.
    pub async fn send_due_deliveries(&self) -> AppResult<usize> {
        let s = self.webhook_settings().clone();
        // The lease outlasts one attempt comfortably, so a slow send is never taken twice;
        // after a crash the rows come free again when it ends.
        let lease = (s.timeout_ms as i64) * 3 + 30_000;
        let jobs = self.store().claim_deliveries(now(), lease, 20).await?;
        let n = jobs.len();
        let sends = jobs.into_iter().map(|job| {
            let s = s.clone();
            let store = self.store().clone();
            async move {
                let id = job.delivery.id;
                let result = attempt(&job, &s).await;
                if let Err(e) = store.finish_delivery(id, now(), result).await {
                    tracing::warn!(error = %e, delivery = id, "could not record a webhook delivery");
                }
            }
        });
        futures_join_all(sends).await;
        Ok(n)
    }

    /// Runs the delivery worker until the task is dropped.
    pub async fn run_webhook_worker(self) {
        let poll = Duration::from_millis(self.webhook_settings().poll_ms.max(10));
        loop {
            match self.send_due_deliveries().await {
                Ok(n) if n > 0 => continue,
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "webhook worker: could not claim deliveries"),
            }
            tokio::time::sleep(poll).await;
        }
    }
}

/// Runs the futures concurrently and waits for all.
async fn futures_join_all<F: std::future::Future<Output = ()> + Send + 'static>(fs: impl Iterator<Item = F>) {
    let handles: Vec<_> = fs.map(tokio::spawn).collect();
    for h in handles {
        let _ = h.await;
    }
}

/// The JSON body of a delivery.
pub fn delivery_body(job: &DeliveryJob) -> Vec<u8> {
    let at = job.event.get("at").and_then(|v| v.as_i64()).unwrap_or(job.delivery.created_at.0);
    json!({
        "id": job.delivery.id,
        "type": job.delivery.event_type,
        "product": job.product_key,
        "created_at": crate::webhooks::rfc3339(at),
        "data": {
            "event_id": job.delivery.event_id,
            "object": job.event["object"],
            "object_id": job.event["object_id"],
            "field": job.event["field"],
            "old": job.event["old"],
            "new": job.event["new"],
            "actor_id": job.event["actor_id"],
        },
    })
    .to_string()
    .into_bytes()
}

fn rfc3339(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil date from days since the epoch (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// One attempt at a delivery, and what to record.
async fn attempt(job: &DeliveryJob, s: &WebhookSettings) -> AttemptResult {
    let body = delivery_body(job);
    let out = tokio::time::timeout(Duration::from_millis(s.timeout_ms), post(job, &body, s)).await;
    let (code, error) = match out {
        Ok(Ok(code)) if (200..300).contains(&code) => return AttemptResult::Delivered { code },
        Ok(Ok(code)) => (Some(code), format!("the receiver answered {code}")),
        Ok(Err(e)) => (None, e),
        Err(_) => (None, format!("no answer within {} ms", s.timeout_ms)),
    };
    let attempts = (job.delivery.attempts + 1).max(1) as u32;
    let now = now().0;
    let retry_at =
        webhook::next_attempt(job.retry_from.0, now, attempts, s.base_backoff_ms, s.retry_window_ms)
            .map(Timestamp);
    AttemptResult::Failed { code, error, retry_at }
}

/// The certificates of a PEM text; an error names what is wrong with it.
pub fn parse_ca_pem(pem: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<_, _>>()
        .map_err(|e| format!("not a PEM certificate list: {e}"))?;
    if certs.is_empty() {
        return Err("holds no certificate".into());
    }
    let mut roots = rustls::RootCertStore::empty();
    for c in &certs {
        roots.add(c.clone()).map_err(|e| format!("a certificate is not usable as a trust anchor: {e}"))?;
    }
    Ok(certs)
}

/// The TLS client configuration: the public (Mozilla) roots and `extra` PEM certificates, with
/// the `ring` provider. Built once per distinct `extra` and kept.
fn tls_config(extra: Option<&str>) -> Result<Arc<rustls::ClientConfig>, String> {
    type Cached = Option<(Option<String>, Arc<rustls::ClientConfig>)>;
    static CACHE: Mutex<Cached> = Mutex::new(None);
    let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((k, c)) = cache.as_ref() {
        if k.as_deref() == extra {
            return Ok(c.clone());
        }
    }
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(pem) = extra {
        for c in parse_ca_pem(pem)? {
            roots.add(c).map_err(|e| format!("the extra certificate authority is not usable: {e}"))?;
        }
    }
    let config =
        rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS setup failed: {e}"))?
            .with_root_certificates(roots)
            .with_no_client_auth();
    let config = Arc::new(config);
    *cache = Some((extra.map(str::to_string), config.clone()));
    Ok(config)
}

/// A connection to the receiver: plain TCP, or TLS over it.
trait Conn: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send> Conn for T {}

/// POSTs the body and returns the response's status code. The address is checked again here,
/// and the connection goes to the checked address, so a name that re-resolves elsewhere after
/// the check cannot redirect it. An https target's certificate must be valid for its host name
/// (or address) and chain to a public root or to the configured extra authority.
async fn post(job: &DeliveryJob, body: &[u8], s: &WebhookSettings) -> Result<i32, String> {
    let target = webhook::parse_url(&job.url)?;
    let tls = match target.scheme.as_str() {
        "http" => None,
        "https" => {
            let name = ServerName::try_from(target.host.clone())
                .map_err(|_| format!("{} is not a name a certificate can be checked against", target.host))?;
            Some((tls_config(s.extra_ca_pem.as_deref())?, name))
        }
        other => return Err(format!("the scheme {other} is not supported")),
    };
    let addrs = resolve_target(&target, s.allow_private).await?;
    let mut tcp = None;
    let mut last = String::new();
    for a in addrs {
        match tokio::net::TcpStream::connect(a).await {
            Ok(s) => {
                tcp = Some(s);
                break;
            }
            Err(e) => last = format!("could not connect to {a}: {e}"),
        }
    }
    let tcp = tcp.ok_or(last)?;
    let mut stream: Box<dyn Conn> = match tls {
        None => Box::new(tcp),
        Some((config, name)) => Box::new(
            tokio_rustls::TlsConnector::from(config)
                .connect(name, tcp)
                .await
                .map_err(|e| format!("the TLS handshake failed: {e}"))?,
        ),
    };
    let unix = now().0.div_euclid(1000);
    let head = format!(
        "POST {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: Keel-Webhooks\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nKeel-Event: {}\r\nKeel-Delivery: {}\r\nKeel-Signature: {}\r\nConnection: close\r\n\r\n",
        target.path,
        target.host_header(),
        body.len(),
        job.delivery.event_type,
        job.delivery.id,
        signature(&job.secret, unix, body),
    );
    stream.write_all(head.as_bytes()).await.map_err(|e| format!("could not send: {e}"))?;
    stream.write_all(body).await.map_err(|e| format!("could not send: {e}"))?;
    stream.flush().await.map_err(|e| format!("could not send: {e}"))?;
    // Only the status line matters; read until it is complete.
    let mut buf = Vec::with_capacity(256);
    let mut chunk = [0u8; 256];
    while !buf.windows(2).any(|w| w == b"\r\n") {
        let n = stream.read(&mut chunk).await.map_err(|e| format!("could not read the answer: {e}"))?;
        if n == 0 || buf.len() > 8192 {
            return Err("the receiver closed the connection without an HTTP answer".into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let line = String::from_utf8_lossy(&buf);
    let code = line
        .strip_prefix("HTTP/1.")
        .and_then(|r| r.get(2..5))
        .and_then(|c| c.parse::<i32>().ok())
        .ok_or_else(|| "the receiver's answer is not HTTP".to_string())?;
    Ok(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231() {
        // Test case 2.
        assert_eq!(
            hmac_sha256_hex(b"Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        // Test case 6: a key longer than the block.
        assert_eq!(
            hmac_sha256_hex(&[0xaa; 131], b"Test Using Larger Than Block-Size Key - Hash Key First"),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn signature_header_format() {
        let s = signature("secret", 1_700_000_000, b"{\"a\":1}");
        let expected = hmac_sha256_hex(b"secret", b"1700000000.{\"a\":1}");
        assert_eq!(s, format!("t=1700000000,v1={expected}"));
        assert_eq!(expected.len(), 64);
    }

    #[test]
    fn rfc3339_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000_123), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339(951_782_400_000), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn extra_ca_pem_is_checked() {
        assert!(parse_ca_pem("").unwrap_err().contains("no certificate"));
        assert!(
            parse_ca_pem("-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n").is_err()
        );
        assert!(tls_config(None).is_ok(), "the public roots alone make a configuration");
    }

    #[tokio::test]
    async fn internal_targets_are_refused_unless_allowed() {
        let t = webhook::parse_url("http://127.0.0.1:9/x").unwrap();
        assert!(resolve_target(&t, false).await.unwrap_err().contains("127.0.0.1"));
        assert_eq!(resolve_target(&t, true).await.unwrap().len(), 1);
        let t = webhook::parse_url("http://[::ffff:10.0.0.1]/").unwrap();
        assert!(resolve_target(&t, false).await.is_err());
        let t = webhook::parse_url("http://localhost:9/").unwrap();
        assert!(resolve_target(&t, false).await.is_err());
        let t = webhook::parse_url("http://93.184.216.34/").unwrap();
        assert!(resolve_target(&t, false).await.is_ok());
    }
}
