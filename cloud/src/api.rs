//! The HTTP API (see `wire` for the routes and their meaning).

use std::path::Path;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path as UrlPath, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::custody::Custody;
use crate::db::{Db, DbError, Device};
use crate::photos::{Held, Photos, UploadError};
use crate::wire::{self, ErrorBody, PushRequest, PushResponse};

pub struct AppState {
    db: Db,
    photos: Photos,
    /// Pieces' photos, by atelier and hash, as the back office kept them.
    piece_photos: Photos,
    custody: Custody,
}

impl AppState {
    /// The server's data directory holds `photos/` (dispatch proofs), `piece-photos/`, the signing keys it keeps (`keys/`, see
    /// [`Custody`]) and, unless `postgres` names a PostgreSQL database to use instead, the
    /// SQLite store `cloud.sqlite`.
    pub fn open(data_dir: &Path, postgres: Option<&str>) -> anyhow::Result<Arc<AppState>> {
        std::fs::create_dir_all(data_dir)?;
        let db = match postgres {
            Some(url) => Db::open_postgres(url)?,
            None => Db::open(&data_dir.join("cloud.sqlite"))?,
        };
        let photos = Photos::open(&data_dir.join("photos"))?;
        let adopted = photos.adopt_shared(|sha256| db.atelier_of_photo(sha256).ok().flatten())?;
        if adopted > 0 {
            tracing::info!(adopted, "photos from an older server moved to their ateliers' folders");
        }
        let piece_photos = Photos::open(&data_dir.join("piece-photos"))?;
        let custody = Custody::open(&data_dir.join("keys"))?;
        Ok(Arc::new(AppState { db, photos, piece_photos, custody }))
    }

    /// Runs `f` on the database off the async threads.
    async fn with_db<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&Db) -> Result<T, DbError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let state = self.clone();
        tokio::task::spawn_blocking(move || f(&state.db))
            .await
            .map_err(|e| ApiError::internal(e.to_string()))?
            .map_err(ApiError::from)
    }
}

/// Claims `data_dir` for one serving process, for as long as the returned file is kept.
///
/// Two servers on one data directory would each keep their own idea of what is stored
/// (photos half-written by the other, SQLite writers queuing), so the second refuses to
/// start and says which directory and what to do. The lock is the OS's: it goes with the
/// process, however that ends. Administration commands do not take it.
pub fn hold_data_dir(data_dir: &Path) -> anyhow::Result<std::fs::File> {
    std::fs::create_dir_all(data_dir)?;
    let path = data_dir.join("serve.lock");
    let file = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&path)?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => anyhow::bail!(
            "another marketday-cloud is already serving {}: stop it first, or give this one its own \
             --data directory (servers sharing one PostgreSQL store each need their own)",
            data_dir.display()
        ),
        Err(std::fs::TryLockError::Error(e)) => Err(anyhow::anyhow!("cannot lock {}: {e}", path.display())),
    }
}

pub struct ApiError {
    status: StatusCode,
    body: ErrorBody,
}

impl ApiError {
    fn new(status: StatusCode, error: &str, message: impl Into<String>) -> ApiError {
        ApiError { status, body: ErrorBody { error: error.into(), message: message.into(), expected_seq: None } }
    }
    fn internal(message: String) -> ApiError {
        tracing::error!(%message, "internal error");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
    }
}

impl From<DbError> for ApiError {
    fn from(e: DbError) -> ApiError {
        match e {
            DbError::Gap { expected, .. } => ApiError {
                status: StatusCode::CONFLICT,
                body: ErrorBody { error: "sequence_gap".into(), message: e.to_string(), expected_seq: Some(expected) },
            },
            DbError::SeqReused { held, .. } => ApiError {
                status: StatusCode::CONFLICT,
                body: ErrorBody {
                    error: "sequence_reused".into(),
                    message: e.to_string(),
                    expected_seq: Some(held + 1),
                },
            },
            DbError::IdReused(_) => ApiError::new(StatusCode::CONFLICT, "event_id_reused", e.to_string()),
            DbError::Invalid(m) => ApiError::new(StatusCode::BAD_REQUEST, "bad_request", m),
            DbError::Changed(_) => ApiError::new(StatusCode::CONFLICT, "changed_meanwhile", e.to_string()),
            DbError::Sqlite(_) | DbError::Postgres(_) | DbError::Storage(_) => ApiError::internal(e.to_string()),
        }
    }
}

impl From<std::io::Error> for ApiError {
    fn from(e: std::io::Error) -> ApiError {
        ApiError::internal(format!("photo storage: {e}"))
    }
}

impl From<UploadError> for ApiError {
    fn from(e: UploadError) -> ApiError {
        match e {
            UploadError::Offset { held, .. } => {
                ApiError::new(StatusCode::CONFLICT, "offset_mismatch", format!("{e}; continue from {held}"))
            }
            UploadError::HashMismatch(_) => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "photo_hash_mismatch", e.to_string())
            }
            UploadError::TooLong => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "too_large", e.to_string()),
            UploadError::TooLarge(_) => ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", e.to_string()),
            UploadError::LengthChanged { .. } => ApiError::new(StatusCode::CONFLICT, "length_mismatch", e.to_string()),
            UploadError::BadName => ApiError::new(StatusCode::BAD_REQUEST, "bad_request", e.to_string()),
            UploadError::Io(e) => ApiError::internal(e.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, axum::Json(self.body)).into_response()
    }
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// The device a request's bearer token belongs to.
async fn device(state: &Arc<AppState>, headers: &HeaderMap) -> Result<Device, ApiError> {
    let token = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned);
    let unauthorized = || ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", "unknown or missing device token");
    let token = token.ok_or_else(unauthorized)?;
    state.with_db(move |db| db.device_by_token(&token)).await?.ok_or_else(unauthorized)
}

async fn push(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Bytes) -> Result<Response, ApiError> {
    let device = device(&state, &headers).await?;
    let request: PushRequest = serde_json::from_slice(&body)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "bad_request", format!("not a push request: {e}")))?;
    if request.events.len() > wire::MAX_PUSH_EVENTS {
        let message =
            format!("{} events in one push; at most {} are taken", request.events.len(), wire::MAX_PUSH_EVENTS);
        return Err(ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", message));
    }
    let said = said(&headers);
    let (results, next_seq) = state
        .with_db(move |db| {
            let ingested = db.ingest(&device, &request.events, request.pending, now_ms())?;
            db.seen(&device, &said, now_ms())?;
            Ok(ingested)
        })
        .await?;
    Ok(axum::Json(PushResponse { results, next_seq }).into_response())
}

/// What a kiosk's request says of the kiosk, for the Kiosks page.
fn said(headers: &HeaderMap) -> crate::db::Said {
    let text = |name| headers.get(name).and_then(|v: &HeaderValue| v.to_str().ok());
    crate::db::Said::of(text(header::USER_AGENT), text(header::DATE), now_ms())
}

fn offset_headers(held: Held) -> HeaderMap {
    let mut h = HeaderMap::new();
    let (offset, complete) = match held {
        Held::Nothing => (0, false),
        Held::Partial(n) => (n, false),
        Held::Complete(n) => (n, true),
    };
    h.insert(wire::UPLOAD_OFFSET, HeaderValue::from(offset));
    h.insert("upload-complete", HeaderValue::from_static(if complete { "?1" } else { "?0" }));
    h
}

async fn photo_head(
    State(state): State<Arc<AppState>>,
    UrlPath(sha256): UrlPath<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let device = device(&state, &headers).await?;
    let held = state.photos.of(&device.atelier)?.held(&sha256).await?;
    state.with_db(move |db| db.touch(&device, now_ms())).await?;
    let status = if held == Held::Nothing { StatusCode::NOT_FOUND } else { StatusCode::OK };
    Ok((status, offset_headers(held)).into_response())
}

async fn photo_patch(
    State(state): State<Arc<AppState>>,
    UrlPath(sha256): UrlPath<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let device = device(&state, &headers).await?;
    let number = |name: &str| -> Result<u64, ApiError> {
        let bad = |m: String| ApiError::new(StatusCode::BAD_REQUEST, "bad_request", m);
        let value = headers.get(name).ok_or_else(|| bad(format!("missing header {name}")))?;
        let text = String::from_utf8_lossy(value.as_bytes());
        text.trim().parse().map_err(|_| bad(format!("header {name} must be a whole number of bytes, not {text:?}")))
    };
    let (offset, length) = (number(wire::UPLOAD_OFFSET)?, number(wire::UPLOAD_LENGTH)?);
    let held = match state.photos.of(&device.atelier)?.append(&sha256, offset, length, &body).await {
        Err(UploadError::Offset { held, offered }) => {
            let mut response = ApiError::from(UploadError::Offset { held, offered }).into_response();
            response.headers_mut().insert(wire::UPLOAD_OFFSET, HeaderValue::from(held));
            return Ok(response);
        }
        other => other?,
    };
    if let Held::Complete(size) = held {
        let sha = sha256.clone();
        state.with_db(move |db| db.record_photo(&device, &sha, size, now_ms())).await?;
    }
    Ok((StatusCode::OK, offset_headers(held)).into_response())
}

/// A piece's photo for a kiosk, whole or from the byte its `Range: bytes=N-` names, so a
/// download cut off on a stall's hotspot goes on where it stopped.
async fn piece_photo(
    State(state): State<Arc<AppState>>,
    UrlPath(sha256): UrlPath<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let device = device(&state, &headers).await?;
    let bytes = match state.piece_photos.of(&device.atelier)?.read(&sha256).await {
        Ok(bytes) => bytes,
        Err(UploadError::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => {
            let message = format!("the atelier has no piece photo {sha256}");
            return Err(ApiError::new(StatusCode::NOT_FOUND, "not_found", message));
        }
        Err(e) => return Err(e.into()),
    };
    let total = bytes.len() as u64;
    let from = match headers.get(header::RANGE) {
        None => None,
        Some(range) => Some(range_start(range.as_bytes()).ok_or_else(|| {
            let said = String::from_utf8_lossy(range.as_bytes()).into_owned();
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "bad_request",
                format!("only `bytes=N-` ranges are served, not {said:?}"),
            )
        })?),
    };
    let mut answer = HeaderMap::new();
    answer.insert(header::CONTENT_TYPE, HeaderValue::from_static("image/jpeg"));
    answer.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    // Named by its hash: the bytes behind this address never change.
    answer.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, max-age=31536000, immutable"));
    match from {
        None => Ok((StatusCode::OK, answer, bytes).into_response()),
        Some(from) if from < total => {
            let range = format!("bytes {from}-{}/{total}", total - 1);
            answer.insert(
                header::CONTENT_RANGE,
                HeaderValue::from_str(&range).map_err(|e| ApiError::internal(e.to_string()))?,
            );
            Ok((StatusCode::PARTIAL_CONTENT, answer, bytes[from as usize..].to_vec()).into_response())
        }
        Some(from) => {
            let message = format!("the photo is {total} bytes long: there is nothing from byte {from}");
            let mut refused =
                ApiError::new(StatusCode::RANGE_NOT_SATISFIABLE, "range_not_satisfiable", message).into_response();
            let unsatisfied =
                HeaderValue::from_str(&format!("bytes */{total}")).map_err(|e| ApiError::internal(e.to_string()))?;
            refused.headers_mut().insert(header::CONTENT_RANGE, unsatisfied);
            Ok(refused)
        }
    }
}

/// N of a `bytes=N-` range: the one form a download that resumes asks for.
fn range_start(range: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(range).ok()?.trim();
    let start = text.strip_prefix("bytes=")?.strip_suffix('-')?;
    if start.is_empty() || !start.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    start.parse().ok()
}

#[derive(serde::Deserialize)]
struct ChangesQuery {
    #[serde(default)]
    since: i64,
    #[serde(default = "default_page")]
    limit: u32,
}

fn default_page() -> u32 {
    500
}

async fn changes(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(query): Query<ChangesQuery>,
) -> Result<Response, ApiError> {
    let device = device(&state, &headers).await?;
    let said = said(&headers);
    let page = state
        .with_db(move |db| {
            db.seen(&device, &said, now_ms())?;
            db.changes_since(&device, query.since, query.limit)
        })
        .await?;
    Ok(axum::Json(page).into_response())
}

async fn status(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Result<Response, ApiError> {
    let device = device(&state, &headers).await?;
    Ok(axum::Json(state.with_db(move |db| db.stall_status(&device)).await?).into_response())
}

async fn start_pairing(
    State(state): State<Arc<AppState>>,
    crate::office::ClientAddress(address): crate::office::ClientAddress,
) -> Result<Response, ApiError> {
    let now = now_ms();
    let window = wire::PAIRING_MINUTES * 60_000;
    let from = address.clone();
    let asked = state.with_db(move |db| db.pairings_from(&from, now - window)).await?;
    if asked >= wire::PAIRING_STARTS {
        let message = format!(
            "{asked} pairing codes asked from this address in {} minutes: wait, then start again",
            wire::PAIRING_MINUTES
        );
        return Err(ApiError::new(StatusCode::TOO_MANY_REQUESTS, "too_many", message));
    }
    // 8 characters of 31: 39 bits, and a code lives 10 minutes; typing is throttled.
    for _ in 0..8 {
        let letters = wire::PAIRING_ALPHABET.as_bytes();
        let code: String = (0..8).map(|_| letters[rand::random_range(0..letters.len())] as char).collect();
        let mut secret = [0u8; 32];
        rand::fill(&mut secret);
        let secret = data_encoding::HEXLOWER.encode(&secret);
        let (c, s, a) = (code.clone(), secret.clone(), address.clone());
        let expires_at = now + window;
        if state.with_db(move |db| db.start_pairing(&c, &s, &a, now, expires_at)).await? {
            return Ok(axum::Json(wire::PairingStarted { code, secret, expires_at }).into_response());
        }
    }
    Err(ApiError::internal("no free pairing code".into()))
}

async fn poll_pairing(State(state): State<Arc<AppState>>, body: Bytes) -> Result<Response, ApiError> {
    let poll: wire::PairingPoll = serde_json::from_slice(&body)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "bad_request", format!("not a pairing poll: {e}")))?;
    let answer = match state.with_db(move |db| db.collect_pairing(&poll.secret, now_ms())).await? {
        crate::db::Collected::Waiting { code, expires_at } => wire::PairingState::Waiting { code, expires_at },
        crate::db::Collected::Paired { token, device, atelier, stall } => {
            tracing::info!(%device, %atelier, %stall, "kiosk paired");
            wire::PairingState::Paired { token, device, atelier, stall }
        }
        crate::db::Collected::Gone => {
            let message = "this pairing expired or was already used: start pairing again for a new code";
            return Err(ApiError::new(StatusCode::NOT_FOUND, "pairing_gone", message));
        }
    };
    Ok(axum::Json(answer).into_response())
}

pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route(wire::PAIRING, post(start_pairing))
        .route(wire::PAIRING_POLL, post(poll_pairing))
        .route(wire::EVENTS, post(push))
        .route(&format!("{}/{{sha256}}", wire::PHOTOS), axum::routing::head(photo_head).patch(photo_patch))
        .route(&format!("{}/{{sha256}}", wire::PIECE_PHOTOS), get(piece_photo))
        .route(wire::STATUS, get(status))
        .route(wire::CHANGES, get(changes))
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such route in protocol v1") })
        .layer(DefaultBodyLimit::max(wire::MAX_BODY_BYTES))
        .layer(axum::middleware::map_response(as_error_body))
        // After the protocol's layers, so its JSON errors stay the protocol's: a public
        // page's errors are pages.
        .merge(crate::public::router())
        .merge(crate::office::router())
        .with_state(state)
}

/// The framework's own refusals (a body over the limit, a query that does not parse, a
/// method a route does not take) come as plain text or empty: the protocol promises an
/// [`ErrorBody`] for every error, so they are rewritten as one, their words kept.
async fn as_error_body(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 64 * 1024).await.unwrap_or_default();
    let text = String::from_utf8_lossy(&text).trim().to_owned();
    let error = match status {
        StatusCode::PAYLOAD_TOO_LARGE => "too_large",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::UNSUPPORTED_MEDIA_TYPE | StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY => {
            "bad_request"
        }
        s if s.is_server_error() => "internal",
        _ => "bad_request",
    };
    let message = if text.is_empty() { status.canonical_reason().unwrap_or("error").to_owned() } else { text };
    let mut rewritten = ApiError::new(status, error, message).into_response();
    // Keep what the refusal said in its headers (Allow, Upload-Offset), minus its length and type.
    for (name, value) in parts.headers.iter() {
        if name != axum::http::header::CONTENT_LENGTH && name != axum::http::header::CONTENT_TYPE {
            rewritten.headers_mut().insert(name.clone(), value.clone());
        }
    }
    rewritten
}

/// Serves until the listener fails.
pub async fn serve(listener: tokio::net::TcpListener, state: Arc<AppState>) -> std::io::Result<()> {
    use axum::serve::ListenerExt;
    // Without it, an answer written in two parts could wait for the client's delayed ACK of
    // the first (up to 40 ms on Linux).
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "TCP_NODELAY not set");
        }
    });
    // The peer's address reaches the back office, which throttles sign-ins by it.
    axum::serve(listener, router(state).into_make_service_with_connect_info::<std::net::SocketAddr>()).await
}

impl AppState {
    /// The signing keys this server keeps.
    pub fn custody(&self) -> &Custody {
        &self.custody
    }

    /// The database, for the command line and tests.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The folder of `atelier`'s piece photos.
    pub fn piece_photos(&self, atelier: &str) -> std::io::Result<crate::photos::PhotoDir> {
        self.piece_photos.of(atelier)
    }

    /// A photo as kept for `atelier` (complete uploads only).
    pub async fn photo(&self, atelier: &str, sha256: &str) -> Option<Vec<u8>> {
        self.photos.of(atelier).ok()?.read(sha256).await.ok()
    }
}

/// The server's certificate and key, for serving HTTPS itself.
pub struct Tls(axum_server::tls_rustls::RustlsConfig);

impl Tls {
    /// Reads a PEM certificate chain (the server's first) and its PEM private key.
    pub fn from_pem_files(cert: &Path, key: &Path) -> anyhow::Result<Tls> {
        use anyhow::Context;
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};

        let chain = CertificateDer::pem_file_iter(cert)
            .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
            .with_context(|| format!("{}: not a PEM certificate chain", cert.display()))?;
        anyhow::ensure!(!chain.is_empty(), "{}: holds no certificate", cert.display());
        let key =
            PrivateKeyDer::from_pem_file(key).with_context(|| format!("{}: not a PEM private key", key.display()))?;
        let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .context("the certificate and the key do not go together")?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Tls(axum_server::tls_rustls::RustlsConfig::from_config(Arc::new(config))))
    }
}

/// Serves HTTPS until the listener fails.
pub async fn serve_tls(listener: std::net::TcpListener, state: Arc<AppState>, tls: Tls) -> std::io::Result<()> {
    listener.set_nonblocking(true)?;
    // TCP_NODELAY as for plain HTTP (see `serve`).
    let acceptor = axum_server::tls_rustls::RustlsAcceptor::new(tls.0).acceptor(axum_server::accept::NoDelayAcceptor);
    // Marked as HTTPS for the back office's cookies, which then travel only encrypted.
    let app = router(state).layer(axum::Extension(crate::office::ServedOverHttps));
    axum_server::from_tcp(listener)
        .acceptor(acceptor)
        .serve(app.into_make_service_with_connect_info::<std::net::SocketAddr>())
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_server_on_one_data_directory_is_refused_until_the_first_stops() {
        let dir = tempfile::tempdir().unwrap();
        let first = hold_data_dir(dir.path()).unwrap();
        let second = hold_data_dir(dir.path()).unwrap_err().to_string();
        assert!(second.contains("already serving") && second.contains(&dir.path().display().to_string()), "{second}");
        drop(first);
        hold_data_dir(dir.path()).expect("free again once the first has stopped");
    }
}
