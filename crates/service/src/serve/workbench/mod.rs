//! The workbench: web pages where people try tickets, read the policy as a
//! table, review a change and browse decisions.
//!
//! The pages are one HTML shell, a script and a style sheet built into the
//! binary (nothing is fetched from another host). They hold no data and
//! are served to anyone; everything they show comes from the read-only
//! `/v1/workbench/` routes, behind the API's bearer token when one is set
//! (the page asks for it, and keeps it for the browser tab only). The pages
//! name nothing of a policy: the form, the tables and the explanation are
//! built from the bundle's catalog and the engine's answers.

mod api;
mod decisions;

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use super::routes::Listed;

const SHELL: &str = include_str!("../../../assets/workbench.html");
const SCRIPT: &str = include_str!("../../../assets/workbench.js");
const STYLE: &str = include_str!("../../../assets/workbench.css");

/// The pages, open to anyone (they hold no data), added to `open`.
pub(super) fn pages(open: Listed) -> Listed {
    let shell = || get(|| async { asset("text/html; charset=utf-8", SHELL) });
    open.route("get", "/", shell())
        .route("get", "/try", shell())
        .route("get", "/policy", shell())
        .route("get", "/review", shell())
        .route("get", "/decisions", shell())
        .route(
            "get",
            "/workbench.js",
            get(|| async { asset("text/javascript; charset=utf-8", SCRIPT) }),
        )
        .route(
            "get",
            "/workbench.css",
            get(|| async { asset("text/css; charset=utf-8", STYLE) }),
        )
}

/// The read-only API the pages read, added to `guarded` (the `/v1/`
/// routes, behind their guard).
pub(super) fn api(guarded: Listed) -> Listed {
    guarded
        .route("get", "/v1/workbench/catalog", get(api::catalog))
        .route("get", "/v1/workbench/status", get(api::status))
        .route("post", "/v1/workbench/decide", post(api::decide))
        .route("get", "/v1/workbench/table", get(api::table))
        .route("get", "/v1/workbench/suites", get(api::suites))
        .route("get", "/v1/workbench/plan", get(api::plan))
        .route("get", "/v1/workbench/decisions", get(decisions::search))
        .route(
            "get",
            "/v1/workbench/decisions/{seq}",
            get(decisions::record),
        )
}

/// A built-in asset. The policy forbids every other origin: the pages work
/// offline and cannot be made to load anything from elsewhere.
fn asset(kind: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(kind)),
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(
                    "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
                ),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        body,
    )
        .into_response()
}
