//! The back office: the atelier's web app under `/office`, server-rendered HTML (askama
//! templates in `templates/office/`) for its owners and staff at a laptop or on a phone.
//!
//! A browser signs in with an email and password and holds a session cookie (`HttpOnly`,
//! `SameSite=Strict`, `Secure` under HTTPS); the store keeps only the SHA-256 of the
//! cookie's token. Every form carries the session's CSRF token and is refused without it
//! (the sign-in form, before there is a session, carries one from its own cookie). Kiosk
//! tokens open nothing here, and a session opens no kiosk route: the two are read by
//! different extractors from different headers.

mod catalog;
mod certificates;
mod clock;
mod conflicts;
mod drops;
mod members;
mod orders;
mod pages;
pub mod password;
mod sales;
mod stalls;
mod takings;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use crate::api::AppState;
use crate::db::{Db, DbError, Role, Session, token_hash};

/// The session cookie. Scoped to `/office`, so the public pages and the kiosk API never
/// receive it.
const SESSION_COOKIE: &str = "marketday_office";
/// The sign-in form's own CSRF token, before there is a session.
const SIGN_IN_COOKIE: &str = "marketday_office_sign_in";
/// A session ends after this long unused...
const IDLE_MS: i64 = 7 * 24 * 3_600_000;
/// ... and is extended at most once in this long, so reading pages rarely writes.
const EXTEND_EVERY_MS: i64 = 3_600_000;
/// ... and lasts at most this long from its sign-in, however used.
const MAX_MS: i64 = 30 * 24 * 3_600_000;

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/office", get(pages::home))
        .route("/office/", get(pages::home))
        .route("/office/sign-in", get(pages::sign_in_form).post(pages::sign_in))
        .route("/office/sign-out", post(pages::sign_out))
        .route("/office/sign-out-everywhere", post(pages::sign_out_everywhere))
        .route("/office/people", get(pages::people).post(pages::add_person))
        .route("/office/people/{id}/remove", post(pages::remove_person))
        .route("/office/audit", get(pages::audit))
        .route("/office/time-zone", get(pages::time_zone).post(pages::set_time_zone))
        .route("/office/pieces", get(pages::pieces))
        .route("/office/pieces/new", get(catalog::new_piece).post(catalog::add_piece))
        .route("/office/pieces/import", get(catalog::import_form).post(catalog::import))
        .route("/office/pieces/{serial}", get(catalog::edit_piece).post(catalog::save_piece))
        .route(
            "/office/pieces/{serial}/photo",
            post(catalog::save_photo)
                .layer(axum::extract::DefaultBodyLimit::max(crate::piece_photos::MAX_UPLOAD_BYTES + 64 * 1024)),
        )
        .route("/office/piece-photos/{sha256}", get(catalog::photo))
        .route("/office/takings", get(takings::takings))
        .route("/office/sales", get(sales::sales))
        .route("/office/takings.csv", get(takings::takings_csv))
        .route("/office/drops", get(drops::drops))
        .route("/office/drops/new", get(drops::new_drop).post(drops::add_drop))
        .route("/office/drops/{id}", get(drops::edit_drop).post(drops::save_drop))
        .route("/office/stalls", get(stalls::stalls))
        .route("/office/stalls/send", post(stalls::send))
        .route("/office/stalls/online", post(stalls::sell_online))
        .route("/office/certificates", get(certificates::certificates))
        .route("/office/certificates/key", post(certificates::make_key))
        .route("/office/certificates/sign", post(certificates::sign))
        .route("/office/certificates/{id}/withdraw", post(certificates::withdraw_key))
        .route("/office/members", get(members::members))
        .route("/office/members/import", post(members::import))
        .route("/office/members/{id}/pass", get(members::pass))
        .route("/office/orders", get(orders::orders).post(orders::ship))
        .route("/office/orders/reserve", post(orders::reserve))
        .route("/office/orders/reservations/{id}/cancel", post(orders::cancel_reservation))
        .route("/office/orders/{order}/proof.json", get(orders::proof_json))
        .route("/office/conflicts", get(conflicts::conflicts))
        .route("/office/conflicts/{id}/dealt", post(conflicts::deal_with))
        .route("/office/kiosks", get(pages::kiosks))
        .route("/office/kiosks/pair", post(pages::pair_kiosk))
        .route("/office/kiosks/{id}/revoke", post(pages::revoke_kiosk))
        // Not a fallback: the API's own is the router's one.
        .route("/office/{*rest}", get(not_found).post(not_found))
        .layer(axum::middleware::map_response(as_page))
}

async fn not_found() -> Response {
    notice(StatusCode::NOT_FOUND, "No such page", "Go back to the back office's home page.")
}

/// Set by the HTTPS server on every request it serves, so cookies are marked `Secure`.
#[derive(Debug, Clone, Copy)]
pub struct ServedOverHttps;

/// Is this request over HTTPS: served so by us, or by a TLS proxy in front that says so?
fn over_https(parts: &Parts) -> bool {
    parts.extensions.get::<ServedOverHttps>().is_some()
        || parts.headers.get("x-forwarded-proto").is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"https"))
}

/// Where a request came from, for throttling sign-ins per address. Behind a proxy every
/// request comes from the proxy, which the limit per account still covers.
pub struct ClientAddress(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let ip = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
        Ok(ClientAddress(ip.map_or_else(|| "unknown".to_owned(), |ip: IpAddr| ip.to_string())))
    }
}

/// What a request carries that the pages need before their own fields.
pub struct Browser {
    pub https: bool,
    cookies: Vec<(String, String)>,
}

impl Browser {
    fn cookie(&self, name: &str) -> Option<&str> {
        self.cookies.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Browser {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Browser { https: over_https(parts), cookies: cookies(&parts.headers) })
    }
}

/// Every `name=value` in the request's `Cookie` headers.
fn cookies(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect()
}

/// A `Set-Cookie` value for the back office's path; `max_age` 0 deletes the cookie.
fn set_cookie(name: &str, value: &str, max_age_s: i64, https: bool) -> HeaderValue {
    let secure = if https { "; Secure" } else { "" };
    let text = format!("{name}={value}; Path=/office; HttpOnly; SameSite=Strict; Max-Age={max_age_s}{secure}");
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// A fresh random token: 32 bytes, hex.
fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    data_encoding::HEXLOWER.encode(&bytes)
}

/// Compares two tokens in time that does not depend on where they first differ.
fn same_token(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Why a signed-in browser may not do what it asked; answered as a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    FormExpired,
    OwnersOnly,
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        match self {
            Refused::FormExpired => notice(
                StatusCode::FORBIDDEN,
                "This form has expired",
                "It was opened in a session that has ended, or sent from another site. Go back, reload the page and send it again.",
            ),
            Refused::OwnersOnly => notice(
                StatusCode::FORBIDDEN,
                "Owners only",
                "Only the atelier's owners manage people, keys and kiosks. Ask an owner to do this.",
            ),
        }
    }
}

/// A signed-in browser. A request without a live session is sent to the sign-in page.
pub struct SignedIn {
    pub session: Session,
    token_sha256: String,
    pub https: bool,
}

impl SignedIn {
    /// Refuses a form that does not carry this session's CSRF token.
    pub fn check_form(&self, csrf: &str) -> Result<(), Refused> {
        if same_token(csrf, &self.session.csrf) { Ok(()) } else { Err(Refused::FormExpired) }
    }

    /// Refuses staff what only owners may do (people, keys, kiosks).
    pub fn owner_only(&self) -> Result<(), Refused> {
        match self.session.user.role {
            Role::Owner => Ok(()),
            Role::Staff => Err(Refused::OwnersOnly),
        }
    }

    pub fn atelier(&self) -> &str {
        &self.session.user.atelier
    }

    /// The atelier's clock, by which its days are counted and its times shown.
    pub fn zone(&self) -> chrono_tz::Tz {
        clock::zone(&self.session.time_zone)
    }

    pub fn email(&self) -> &str {
        &self.session.user.email
    }
}

impl FromRequestParts<Arc<AppState>> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<AppState>) -> Result<Self, Self::Rejection> {
        let https = over_https(parts);
        let Some(token) = cookies(&parts.headers).into_iter().find(|(n, _)| n == SESSION_COOKIE).map(|(_, v)| v) else {
            return Err(Redirect::to("/office/sign-in").into_response());
        };
        let token_sha256 = token_hash(&token);
        let hash = token_sha256.clone();
        let now = crate::now_ms();
        let session = with_db(state, move |db| {
            let Some(session) = db.session(&hash, now)? else { return Ok(None) };
            // Sliding, but bounded by the sign-in's own age.
            let wanted = (now + IDLE_MS).min(session.created_at + MAX_MS);
            if wanted - session.expires_at > EXTEND_EVERY_MS {
                db.extend_session(&hash, wanted)?;
            }
            Ok(Some(session))
        })
        .await?;
        match session {
            Some(session) => Ok(SignedIn { session, token_sha256, https }),
            None => {
                let mut response = Redirect::to("/office/sign-in").into_response();
                response.headers_mut().append(header::SET_COOKIE, set_cookie(SESSION_COOKIE, "", 0, https));
                Err(response)
            }
        }
    }
}

/// Runs `f` on the store off the async threads; a store that fails is a page that says so.
pub async fn with_db<T: Send + 'static>(
    state: &Arc<AppState>,
    f: impl FnOnce(&Db) -> Result<T, DbError> + Send + 'static,
) -> Result<T, Response> {
    let state = state.clone();
    match tokio::task::spawn_blocking(move || f(state.db())).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(DbError::Invalid(why))) => Err(notice(StatusCode::BAD_REQUEST, "That cannot be done", &why)),
        Ok(Err(DbError::Changed(serial))) => Err(notice(
            StatusCode::CONFLICT,
            "Changed at the same moment",
            &format!(
                "Someone else changed {serial} while this was saved, so nothing was saved. Open it again to see it as it is now, and make your change again."
            ),
        )),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "back office: the store failed");
            Err(unavailable())
        }
        Err(e) => {
            tracing::error!(error = %e, "back office: a task failed");
            Err(unavailable())
        }
    }
}

fn unavailable() -> Response {
    notice(
        StatusCode::SERVICE_UNAVAILABLE,
        "The back office cannot reach its records",
        "Nothing was changed. Try again in a minute; if it goes on, the server's log says why.",
    )
}

/// A rendered page with the headers every back-office page carries: never cached (it shows
/// one person's data), never framed, no referrer to other sites.
pub fn html(status: StatusCode, page: &impl Template) -> Response {
    let body = match page.render() {
        Ok(body) => body,
        Err(e) => {
            tracing::error!(error = %e, "back office: a template failed");
            return (StatusCode::INTERNAL_SERVER_ERROR, "the page could not be made").into_response();
        }
    };
    let mut response = (status, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response();
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; frame-ancestors 'none'",
        ),
    );
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

#[derive(Template)]
#[template(path = "office/notice.html")]
struct NoticePage<'a> {
    headline: &'a str,
    explanation: &'a str,
}

/// A refusal or a failure as a page: what happened and what to do.
pub fn notice(status: StatusCode, headline: &str, explanation: &str) -> Response {
    html(status, &NoticePage { headline, explanation })
}

/// The framework's own refusals here (a form that does not parse, a method a page does not
/// take, a body too large) come as plain text: a browser gets a page instead.
async fn as_page(uri: Uri, response: Response) -> Response {
    let status = response.status();
    let is_html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if is_html || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    tracing::debug!(%uri, %status, "back office: the framework refused a request");
    let mut page = match status {
        StatusCode::METHOD_NOT_ALLOWED => {
            notice(status, "This page does not take that", "Open it from the back office's menu.")
        }
        StatusCode::PAYLOAD_TOO_LARGE => notice(status, "Too large", "What was sent is larger than this page takes."),
        s if s.is_server_error() => {
            notice(status, "Something went wrong", "Nothing was changed. Try again in a minute.")
        }
        _ => notice(
            status,
            "That form could not be read",
            "Nothing was changed. Go back, check every field and send it again.",
        ),
    };
    if let Some(allow) = response.headers().get(header::ALLOW) {
        page.headers_mut().insert(header::ALLOW, allow.clone());
    }
    page
}
