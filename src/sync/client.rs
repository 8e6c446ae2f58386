//! The kiosk's side of the sync protocol (`marketday_cloud::wire`) over HTTP.

use std::time::Duration;

use marketday_cloud::wire::{self, ChangesPage, ErrorBody, Event, PushRequest, PushResponse};
use reqwest::StatusCode;

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("cannot reach the cloud ({0})")]
    Offline(String),
    /// The connection broke after the request went out: the cloud may have taken it. Sending
    /// again is safe (a repeat is answered as one), so this is retried like no answer.
    #[error("the connection broke before the cloud's answer arrived ({0}); what was sent goes again and counts once")]
    Interrupted(String),
    #[error("the cloud refused this kiosk's token: pair the kiosk again")]
    Unauthorized,
    #[error("the cloud answered {status}: {message}")]
    Server { status: u16, message: String },
    #[error("the answer was not the cloud's ({0}); a Wi-Fi sign-in page or proxy may be in the way")]
    NotTheCloud(String),
    #[error("the cloud's certificate was refused: {0}")]
    Tls(String),
    #[error("the cloud expects event {expected} next")]
    Gap { expected: i64 },
    /// The cloud holds other events under this kiosk's sequence numbers: this store went back
    /// in time (a restored backup, or a new store under the old token).
    #[error("{}", store_behind(.sent, .cloud_next, .acknowledged_here))]
    StoreBehind {
        /// The sequence number the cloud refused.
        sent: i64,
        /// What the cloud expects next from this device.
        cloud_next: i64,
        /// The last of this store's events the cloud ever acknowledged (0: none).
        acknowledged_here: i64,
    },
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error("the photo folder: {0}")]
    PhotoFolder(#[from] crate::photos::PhotoError),
    #[error("photo {sha256}: {why}")]
    Photo { sha256: String, why: String },
    #[error(transparent)]
    PiecePhoto(#[from] crate::piece_photos::PiecePhotoError),
}

impl crate::i18n::Localized for SyncError {
    fn localized(&self, language: crate::i18n::Language) -> String {
        use crate::t;
        match self {
            SyncError::Offline(_) => t!(language, "cannot reach the cloud"),
            SyncError::Unauthorized => t!(language, "the cloud refused this kiosk's token: pair the kiosk again"),
            SyncError::NotTheCloud(_) => {
                t!(language, "the answer was not the cloud's; a Wi-Fi sign-in page or proxy may be in the way")
            }
            SyncError::Store(e) => e.localized(language),
            SyncError::PhotoFolder(e) => e.localized(language),
            // Rarer faults for the person who set the kiosk up: the detail in the system's words.
            _ => t!(language, "sync failed: {detail}", detail = self),
        }
    }
}

impl SyncError {
    /// No answer came from the cloud (no network, or one that broke the exchange): nothing
    /// to judge the cloud by, and for staff the kiosk is offline.
    pub fn no_answer(&self) -> bool {
        matches!(self, SyncError::Offline(_) | SyncError::Interrupted(_))
    }
}

pub struct Client {
    http: reqwest::Client,
    base: String,
    token: String,
    /// How far this kiosk's clock is ahead of the cloud's (negative: behind), in seconds,
    /// from the last answer's `Date` header.
    skew: std::sync::Mutex<Option<i64>>,
}

/// The kiosk's clock minus the cloud's, from an answer's `Date` header (HTTP dates are
/// whole seconds; the answer's own travel time is under the resolution that matters).
/// `t` as an HTTP date (`Mon, 07 Dec 2026 18:11:20 GMT`).
pub fn http_date(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

pub fn clock_skew(date_header: &str, received: chrono::DateTime<chrono::Utc>) -> Option<i64> {
    let cloud = chrono::DateTime::parse_from_rfc2822(date_header).ok()?;
    Some((received - cloud.with_timezone(&chrono::Utc)).num_seconds())
}

/// Staff's words for a store the cloud is ahead of, telling a new store under an old token
/// from a restored backup.
fn store_behind(sent: &i64, cloud_next: &i64, acknowledged_here: &i64) -> String {
    let held = cloud_next - 1;
    if *acknowledged_here == 0 {
        format!(
            "this kiosk's store is new, but the cloud already holds {held} events from this kiosk: the store that \
             sent them was replaced. Put that store back, or register this kiosk anew (`marketday-cloud \
             add-device`) and set its new token; until then nothing more is sent (event {sent} was refused)"
        )
    } else {
        format!(
            "this kiosk's store is older than what the cloud holds: the cloud has {held} events from this kiosk, \
             this store had only {acknowledged_here} of them acknowledged (a restored backup?). Its own events \
             from {sent} on cannot be sent under numbers the cloud already holds: restore the newest backup, or \
             call the atelier before selling more; nothing here is deleted"
        )
    }
}

/// Photos go in pieces this size, so a dropped connection costs at most one piece.
const CHUNK: usize = 256 * 1024;

fn transport(e: reqwest::Error) -> SyncError {
    if let Some(problem) = tls_problem(&e) {
        return SyncError::Tls(problem);
    }
    if e.is_connect() {
        return SyncError::Offline(e.to_string());
    }
    if e.is_timeout() {
        return SyncError::Offline("no answer in time".into());
    }
    // Connected, and then the exchange broke: the request may have arrived.
    SyncError::Interrupted(e.to_string())
}

/// Reading an answer's body failed: the request did arrive, and may have been carried out.
fn cut_answer(e: reqwest::Error) -> SyncError {
    match transport(e) {
        SyncError::Offline(why) => SyncError::Interrupted(why),
        other => other,
    }
}

/// What staff can do about a refused certificate, if that is why a request failed. The
/// handshake's error sits inside I/O errors, whose `source()` skips what they wrap.
fn tls_problem(e: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut next = Some(e);
    while let Some(err) = next {
        if let Some(rustls) = err.downcast_ref::<rustls::Error>() {
            return Some(explain_tls(rustls));
        }
        next = match err.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref()) {
            Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
            None => err.source(),
        };
    }
    None
}

fn explain_tls(e: &rustls::Error) -> String {
    use rustls::CertificateError as C;
    match e {
        rustls::Error::InvalidCertificate(why) => match why {
            C::Expired | C::ExpiredContext { .. } | C::NotValidYet | C::NotValidYetContext { .. } => {
                "it is not valid at this kiosk's date and time; set the clock (a Pi keeps no time while off)".into()
            }
            C::UnknownIssuer => "it is not signed by an authority this kiosk trusts; a cloud with a certificate \
                                 of its own needs its authority in sync.ca_file"
                .into(),
            C::NotValidForName | C::NotValidForNameContext { .. } => "it is for another address; check sync.url".into(),
            other => format!("{other:?}"),
        },
        other => other.to_string(),
    }
}

/// The first characters of a body that was not what we asked for, printable.
fn snippet(body: &[u8]) -> String {
    let text: String =
        String::from_utf8_lossy(&body[..body.len().min(60)]).chars().filter(|c| !c.is_control()).collect();
    if text.is_empty() { "an empty answer".into() } else { format!("it began {text:?}") }
}

/// The certificates in a PEM bundle (`sync.ca_file`); `None` when it holds none.
pub fn authorities(pem: &[u8]) -> Option<Vec<reqwest::Certificate>> {
    reqwest::Certificate::from_pem_bundle(pem).ok().filter(|a| !a.is_empty())
}

impl Client {
    pub fn new(base: &str, token: &str, timeout: Duration) -> Result<Client, SyncError> {
        Client::trusting(base, token, timeout, None)
    }

    /// A client that also trusts the certificate authorities in `ca_pem` (the cloud's own).
    pub fn trusting(base: &str, token: &str, timeout: Duration, ca_pem: Option<&[u8]>) -> Result<Client, SyncError> {
        let mut builder = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10).min(timeout))
            .timeout(timeout)
            .user_agent(concat!("marketday/", env!("CARGO_PKG_VERSION")));
        if let Some(pem) = ca_pem {
            let authorities =
                authorities(pem).ok_or_else(|| SyncError::Tls("sync.ca_file holds no PEM certificate".into()))?;
            for authority in authorities {
                builder = builder.add_root_certificate(authority);
            }
        }
        let http = builder.build().map_err(|e| SyncError::Offline(e.to_string()))?;
        Ok(Client {
            http,
            base: base.trim_end_matches('/').to_owned(),
            token: token.to_owned(),
            skew: std::sync::Mutex::new(None),
        })
    }

    /// The clock difference seen in the last answer from the cloud, if any.
    pub fn clock_skew(&self) -> Option<i64> {
        *self.skew.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Reads an error answer: ours carry an [`ErrorBody`]; anything else is not the cloud.
    async fn failure(response: reqwest::Response) -> SyncError {
        let status = response.status();
        let body = response.bytes().await.unwrap_or_default();
        if status == StatusCode::UNAUTHORIZED {
            return SyncError::Unauthorized;
        }
        match serde_json::from_slice::<ErrorBody>(&body) {
            Ok(ErrorBody { error, expected_seq: Some(expected), .. }) if error == "sequence_gap" => {
                SyncError::Gap { expected }
            }
            // Filled in by the caller, which knows what it sent and what this store holds.
            Ok(ErrorBody { error, expected_seq: Some(expected), .. }) if error == "sequence_reused" => {
                SyncError::StoreBehind { sent: 0, cloud_next: expected, acknowledged_here: 0 }
            }
            Ok(e) => SyncError::Server { status: status.as_u16(), message: e.message },
            Err(_) if status.is_server_error() => {
                SyncError::Server { status: status.as_u16(), message: format!("server error; {}", snippet(&body)) }
            }
            Err(_) => SyncError::NotTheCloud(format!("status {status}, {}", snippet(&body))),
        }
    }

    /// Sends a request with the device token and reads a successful JSON answer; returns it
    /// with the answer's `Date` header.
    async fn json<T: serde::de::DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<(T, Option<String>), SyncError> {
        // The kiosk's own clock, for the Kiosks page's "clock ahead" (as the cloud's answer
        // tells the kiosk).
        let request = request.header(reqwest::header::DATE, http_date(chrono::Utc::now()));
        let response = request.bearer_auth(&self.token).send().await.map_err(transport)?;
        if !response.status().is_success() {
            return Err(Self::failure(response).await);
        }
        let date = date_of(&response);
        let body = response.bytes().await.map_err(cut_answer)?;
        let answer = serde_json::from_slice(&body).map_err(|_| SyncError::NotTheCloud(snippet(&body)))?;
        Ok((answer, date))
    }

    /// Asks the cloud for a pairing code to show, with the secret to poll by. Needs no token:
    /// a kiosk not yet paired has none (make the client with an empty one).
    pub async fn start_pairing(&self) -> Result<wire::PairingStarted, SyncError> {
        self.unauthenticated(self.http.post(self.url(wire::PAIRING))).await
    }

    /// Where a pairing stands: waiting for the owner to type the code, or paired with this
    /// kiosk's token (answered once; keep it at once).
    pub async fn poll_pairing(&self, secret: &str) -> Result<wire::PairingState, SyncError> {
        let poll = wire::PairingPoll { secret: secret.to_owned() };
        self.unauthenticated(self.http.post(self.url(wire::PAIRING_POLL)).json(&poll)).await
    }

    async fn unauthenticated<T: serde::de::DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<T, SyncError> {
        let response = request.send().await.map_err(transport)?;
        if !response.status().is_success() {
            return Err(Self::failure(response).await);
        }
        let body = response.bytes().await.map_err(cut_answer)?;
        serde_json::from_slice(&body).map_err(|_| SyncError::NotTheCloud(snippet(&body)))
    }

    pub async fn push(&self, events: &[Event], pending: u64) -> Result<PushResponse, SyncError> {
        let request = PushRequest { events: events.to_vec(), pending };
        let (answer, date): (PushResponse, _) =
            self.json(self.http.post(self.url(wire::EVENTS)).json(&request)).await?;
        // An answer that does not match the batch event for event acknowledges nothing.
        if answer.results.len() != events.len() || answer.results.iter().zip(events).any(|(r, e)| r.id != e.id) {
            return Err(SyncError::NotTheCloud("the answer does not match the events sent".into()));
        }
        self.observe_date(date.as_deref());
        Ok(answer)
    }

    /// The changes published after `since`.
    pub async fn changes(&self, since: i64, limit: u32) -> Result<ChangesPage, SyncError> {
        let query = [("since", since), ("limit", i64::from(limit))];
        let (page, date): (ChangesPage, _) = self.json(self.http.get(self.url(wire::CHANGES)).query(&query)).await?;
        self.observe_date(date.as_deref());
        Ok(page)
    }

    /// Notes the cloud's clock from an answer already known to be the cloud's: a captive
    /// portal's `Date` says nothing about it.
    fn observe_date(&self, date: Option<&str>) {
        if let Some(seen) = date.and_then(|d| clock_skew(d, chrono::Utc::now())) {
            *self.skew.lock().unwrap_or_else(|e| e.into_inner()) = Some(seen);
        }
    }

    /// How many bytes of a photo the cloud holds, and whether it is complete.
    async fn held(&self, sha256: &str) -> Result<(u64, bool), SyncError> {
        let response = self
            .http
            .head(self.url(&format!("{}/{sha256}", wire::PHOTOS)))
            .bearer_auth(&self.token)
            .send()
            .await
            .map_err(transport)?;
        match response.status() {
            StatusCode::NOT_FOUND => Ok((0, false)),
            s if s.is_success() => Ok(offset_of(&response)),
            _ => Err(Self::failure(response).await),
        }
    }

    /// Uploads a photo, continuing from whatever part the cloud already holds.
    pub async fn upload_photo(&self, sha256: &str, bytes: &[u8]) -> Result<(), SyncError> {
        let (mut offset, complete) = self.held(sha256).await?;
        if complete {
            return Ok(());
        }
        loop {
            if offset > bytes.len() as u64 {
                return Err(SyncError::Photo {
                    sha256: sha256.into(),
                    why: "the cloud holds more bytes than it has".into(),
                });
            }
            let end = (offset as usize + CHUNK).min(bytes.len());
            let response = self
                .http
                .patch(self.url(&format!("{}/{sha256}", wire::PHOTOS)))
                .bearer_auth(&self.token)
                .header(wire::UPLOAD_OFFSET, offset)
                .header(wire::UPLOAD_LENGTH, bytes.len())
                .body(bytes[offset as usize..end].to_vec())
                .send()
                .await
                .map_err(transport)?;
            match response.status() {
                s if s.is_success() => {
                    let (held, complete) = offset_of(&response);
                    if complete {
                        return Ok(());
                    }
                    if held <= offset {
                        return Err(SyncError::Photo {
                            sha256: sha256.into(),
                            why: "the upload does not advance".into(),
                        });
                    }
                    offset = held;
                }
                // Our idea of the offset was stale (an earlier piece did arrive): go on from theirs.
                StatusCode::CONFLICT if response.headers().contains_key(wire::UPLOAD_OFFSET) => {
                    offset = offset_of(&response).0;
                }
                _ => return Err(Self::failure(response).await),
            }
        }
    }
}

/// A piece photo on its way down: where the bytes start, and the answer to read them from.
pub struct Download {
    /// The byte of the photo the first chunk is: what was asked for, or 0 when the server
    /// sent the whole photo again.
    pub from: u64,
    response: reqwest::Response,
}

impl Download {
    /// The next bytes, or `None` at the end.
    pub async fn chunk(&mut self) -> Result<Option<Vec<u8>>, SyncError> {
        Ok(self.response.chunk().await.map_err(cut_answer)?.map(|b| b.to_vec()))
    }
}

impl Client {
    /// Starts fetching a piece's photo from byte `from`; `None` when the cloud has no such
    /// photo, or has fewer bytes of it than `from` (the partial here is not that photo's).
    pub async fn piece_photo(&self, sha256: &str, from: u64) -> Result<Option<Download>, SyncError> {
        let mut request = self.http.get(self.url(&format!("{}/{sha256}", wire::PIECE_PHOTOS))).bearer_auth(&self.token);
        if from > 0 {
            request = request.header(reqwest::header::RANGE, format!("bytes={from}-"));
        }
        let response = request.send().await.map_err(transport)?;
        match response.status() {
            StatusCode::OK => Ok(Some(Download { from: 0, response })),
            StatusCode::PARTIAL_CONTENT => Ok(Some(Download { from, response })),
            StatusCode::NOT_FOUND | StatusCode::RANGE_NOT_SATISFIABLE => Ok(None),
            _ => Err(Self::failure(response).await),
        }
    }
}

fn date_of(response: &reqwest::Response) -> Option<String> {
    response.headers().get(reqwest::header::DATE).and_then(|v| v.to_str().ok()).map(str::to_owned)
}

fn offset_of(response: &reqwest::Response) -> (u64, bool) {
    let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let offset = header(wire::UPLOAD_OFFSET).and_then(|v| v.parse().ok()).unwrap_or(0);
    (offset, header("upload-complete").as_deref() == Some("?1"))
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn clock_skew_reads_an_http_date() {
        let now = chrono::Utc.with_ymd_and_hms(2026, 11, 21, 9, 10, 0).unwrap();
        assert_eq!(clock_skew("Sat, 21 Nov 2026 09:00:00 GMT", now), Some(600));
        assert_eq!(clock_skew("Sat, 21 Nov 2026 09:10:30 GMT", now), Some(-30));
        assert_eq!(clock_skew("yesterday", now), None);
        assert_eq!(http_date(now), "Sat, 21 Nov 2026 09:10:00 GMT");
        assert_eq!(clock_skew(&http_date(now), now), Some(0));
    }
}
