//! Security headers on every response: a Content-Security-Policy without inline scripts,
//! framing refused, no MIME sniffing, a strict referrer policy.

use axum::extract::Request;
use axum::http::header::{self, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; \
                   form-action 'self'; frame-ancestors 'none'";

/// Adds the security headers.
pub async fn headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    res
}

#[cfg(test)]
mod tests {
    use super::CSP;

    fn directive(name: &str) -> Option<&'static str> {
        CSP.split(';').map(str::trim).find(|d| d.split_whitespace().next() == Some(name))
    }

    #[test]
    fn scripts_come_only_from_our_own_files() {
        let scripts = directive("script-src").expect("a script-src directive");
        assert_eq!(scripts, "script-src 'self'");
        for loose in ["'unsafe-inline'", "'unsafe-eval'", "data:", "*", "'strict-dynamic'"] {
            assert!(!CSP.contains(&format!(" {loose}")) || loose == "data:", "{loose} in {CSP}");
        }
        // Images may be data: URLs (charts); nothing else may.
        assert_eq!(directive("img-src"), Some("img-src 'self' data:"));
        assert_eq!(directive("object-src"), Some("object-src 'none'"));
        assert_eq!(directive("frame-ancestors"), Some("frame-ancestors 'none'"));
        assert_eq!(directive("base-uri"), Some("base-uri 'none'"));
    }
}
