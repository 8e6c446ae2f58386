//! The public pages a phone opens from a printed QR code: `/p/<token or serial>`, the
//! verdict on a piece's certificate by the kiosk's rules and in its words, the piece's
//! facts and where it stands now.
//!
//! Pages for people, not kiosks: HTML that works without JavaScript, in the language the
//! browser asks for (or `?lang=`), and errors as pages too. Nothing here needs a login, so
//! nothing here says more than a tag's holder may know: never who bought a piece.

use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, NaiveDate};
use marketday_i18n::{self as i18n, Language, Localized, t};
use marketday_provenance::{self as provenance, Reading, Serial, TrustedKey, Verdict};
use sha2::{Digest, Sha256};

use crate::api::AppState;
use crate::db::{Db, DbError, PublicDispatch, PublicPiece};
use crate::wire::KeyChange;

/// The public pages' routes. They sit outside the protocol's JSON error layer: their
/// errors are pages.
pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/p/{*rest}", get(piece))
        .route("/P/{*rest}", get(piece))
        .route("/p", get(piece))
        .route("/P", get(piece))
        .route("/p/", get(piece))
        .route("/P/", get(piece))
        .route("/d/{*rest}", get(dispatch))
        .route("/D/{*rest}", get(dispatch))
        .route("/d/", get(dispatch))
        .route("/D/", get(dispatch))
        .route("/verify", get(verifier_page))
        .route("/verify/", get(verifier_page))
        .route("/verify/verify.js", get(verifier_script))
        .route("/verify/keyring.js", get(verifier_keyring))
        .layer(axum::middleware::map_response(as_page))
}

/// Keeps a page out of search engines (the dispatch page's link is meant for its buyer).
const X_ROBOTS_TAG: HeaderName = HeaderName::from_static("x-robots-tag");

/// How a page looks at a glance: its colour and its sign (never colour alone).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tone {
    Good,
    Bad,
    Warn,
}

impl Tone {
    fn class(self) -> &'static str {
        match self {
            Tone::Good => "good",
            Tone::Bad => "bad",
            Tone::Warn => "warn",
        }
    }

    fn sign(self) -> &'static str {
        match self {
            Tone::Good => "✓",
            Tone::Bad => "✗",
            Tone::Warn => "!",
        }
    }
}

/// One fact about the piece: its label and what it is.
struct Fact {
    /// Where it goes in the list: what a person reads first comes first.
    order: Order,
    label: String,
    value: String,
    /// Set in a typewriter face, wrapped anywhere (hashes, serials).
    code: bool,
}

struct LanguageLink {
    code: &'static str,
    name: &'static str,
    current: bool,
}

#[derive(Template)]
#[template(path = "piece.html")]
struct PiecePage {
    lang: &'static str,
    page_title: String,
    /// "Reported lost or stolen", above everything else, when it is.
    alarm: Option<(String, String)>,
    tone: &'static str,
    sign: &'static str,
    headline: String,
    explanation: String,
    /// What a tag that did not verify claims, said as a claim.
    claim: Option<(String, String)>,
    piece_heading: String,
    facts: Vec<Fact>,
    assay_note: String,
    where_heading: String,
    standing: Vec<String>,
    languages: Vec<LanguageLink>,
    footer: String,
}

/// The language a page is in: `?lang=` (the page's own links), else the browser's.
fn language_of(uri: &Uri, headers: &HeaderMap) -> Language {
    let asked =
        uri.query().unwrap_or("").split('&').find_map(|pair| pair.strip_prefix("lang=")).and_then(Language::from_code);
    asked
        .or_else(|| {
            headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).and_then(Language::from_accept_language)
        })
        .unwrap_or_default()
}

/// What the path after `/p/` names.
enum Asked {
    /// A certificate token's text (it may still be damaged or forged).
    Token(String),
    Serial(Serial),
    /// Neither: not a Marketday address.
    Nothing,
}

/// Reads the path after `/p/`, percent-decoded. Upper or lower case alike: QR alphanumeric
/// mode upper-cases the whole URL, and some phones lower-case it again.
fn asked(path: &str) -> Asked {
    let rest = path.strip_prefix("/p").or_else(|| path.strip_prefix("/P")).unwrap_or("");
    let rest = rest.strip_prefix('/').unwrap_or(rest);
    let Ok(text) = percent_encoding::percent_decode_str(rest).decode_utf8() else { return Asked::Nothing };
    let text = text.trim().trim_end_matches('/');
    if text.len() > 2048 {
        return Asked::Nothing;
    }
    let upper = text.to_ascii_uppercase();
    // Certificates are base32 and long; serials are short, with dashes.
    if upper.len() >= 40 && upper.bytes().all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b)) {
        return Asked::Token(upper);
    }
    match Serial::parse(text) {
        Ok(serial) => Asked::Serial(serial),
        Err(_) => Asked::Nothing,
    }
}

/// An atelier key as published, as the verdict needs it, under the atelier's account name;
/// `None` for one that is not a key (`Db::publish` refuses those, so none is held).
fn trusted(atelier: &str, key: &KeyChange) -> Option<TrustedKey> {
    let mut trusted = key.trusted().ok()?;
    atelier.clone_into(&mut trusted.atelier);
    Some(trusted)
}

/// A day from ms since the epoch, UTC.
fn day_of(ms: i64) -> Option<NaiveDate> {
    DateTime::from_timestamp_millis(ms).map(|t| t.date_naive())
}

/// What the page needs from the store for one request.
struct Found {
    verdict: Option<Verdict>,
    /// The piece's record, for a genuine certificate or a serial.
    piece: Option<PublicPiece>,
    serial: Option<Serial>,
}

fn look_up(db: &Db, asked: Asked) -> Result<Found, DbError> {
    match asked {
        Asked::Token(token) => {
            let reading = provenance::read(&token);
            let keyring = match &reading {
                Reading::Certificate(signed) => db
                    .keys_by_id(&signed.certificate.key_id.to_string())?
                    .iter()
                    .filter_map(|(atelier, key)| trusted(atelier, key))
                    .collect(),
                _ => Vec::new(),
            };
            let verdict = provenance::verify(&reading, &keyring);
            let piece = match &verdict {
                Verdict::Genuine { certificate, atelier } => {
                    db.public_pieces(certificate.serial.as_str(), Some(atelier))?.into_iter().next()
                }
                _ => None,
            };
            Ok(Found { verdict: Some(verdict), piece, serial: None })
        }
        Asked::Serial(serial) => {
            let piece = db.public_pieces(serial.as_str(), None)?.into_iter().next();
            Ok(Found { verdict: None, piece, serial: Some(serial) })
        }
        Asked::Nothing => Ok(Found { verdict: Some(Verdict::NotMarketday), piece: None, serial: None }),
    }
}

async fn piece(State(state): State<Arc<AppState>>, uri: Uri, headers: HeaderMap) -> Response {
    let language = language_of(&uri, &headers);
    let asked = asked(uri.path());
    let found = tokio::task::spawn_blocking(move || look_up(state.db(), asked)).await;
    let (status, page) = match found {
        Ok(Ok(found)) => page_for(language, found),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "public page: the store did not answer");
            return trouble_page(language, StatusCode::SERVICE_UNAVAILABLE);
        }
        Err(e) => {
            tracing::error!(error = %e, "public page: the lookup failed");
            return trouble_page(language, StatusCode::INTERNAL_SERVER_ERROR);
        }
    };
    respond(status, language, &page, &headers)
}

/// The page for what was found, and its status: 404 where the address names nothing.
fn page_for(l: Language, found: Found) -> (StatusCode, PiecePage) {
    let mut page = PiecePage {
        lang: l.code(),
        page_title: t!(l, "Is it genuine?"),
        alarm: None,
        tone: Tone::Warn.class(),
        sign: Tone::Warn.sign(),
        headline: String::new(),
        explanation: String::new(),
        claim: None,
        piece_heading: t!(l, "The piece"),
        facts: Vec::new(),
        assay_note: String::new(),
        where_heading: t!(l, "Where it is now"),
        standing: Vec::new(),
        languages: Language::ALL
            .into_iter()
            .map(|x| LanguageLink { code: x.code(), name: x.own_name(), current: x == l })
            .collect(),
        footer: t!(l, "Checked by Marketday against the keys the atelier has published."),
    };
    let mut status = StatusCode::OK;
    let tone = match (&found.verdict, &found.serial) {
        (Some(verdict), _) => {
            page.headline = verdict.headline(l);
            page.explanation = verdict.explanation(l);
            if let Some(cert) = verdict.certificate() {
                if verdict.is_genuine() {
                    page.facts.push(fact(Order::Edition, t!(l, "Edition"), cert.edition.label(l), false));
                    page.facts.push(fact(Order::Serial, t!(l, "Serial"), cert.serial.to_string(), true));
                    if let Verdict::Genuine { atelier, .. } = verdict {
                        page.facts.push(fact(Order::Atelier, t!(l, "Atelier"), atelier.clone(), false));
                    }
                    page.facts.push(fact(
                        Order::Issued,
                        t!(l, "Certificate issued"),
                        i18n::date(l, cert.issued),
                        false,
                    ));
                    if let Some(hash) = cert.assay_hex() {
                        page.facts.push(fact(Order::Assay, t!(l, "Assay report SHA-256"), hash, true));
                        page.assay_note = assay_note(l);
                    }
                } else {
                    // What a tag that did not verify says is only what it says.
                    let facts = format!(
                        "{} {}",
                        t!(l, "Serial {serial}.", serial = cert.serial),
                        t!(l, "Issued {day}.", day = i18n::date(l, cert.issued))
                    );
                    page.claim = Some((
                        t!(l, "The tag claims: {edition}", edition = cert.edition.label(l)),
                        t!(l, "Unconfirmed: {facts}", facts = facts),
                    ));
                }
            }
            if matches!(verdict, Verdict::NotMarketday) {
                status = StatusCode::NOT_FOUND;
                page.explanation = t!(
                    l,
                    "This address is not a Marketday certificate or serial. Scan the QR code on the piece's own tag, or type the serial engraved on it."
                );
            }
            match verdict {
                Verdict::Genuine { .. } => Tone::Good,
                Verdict::Forged { .. } => Tone::Bad,
                _ => Tone::Warn,
            }
        }
        (None, Some(serial)) => match &found.piece {
            Some(piece) => {
                page.headline = t!(l, "No certificate scanned");
                page.explanation = t!(
                    l,
                    "This address names the serial {serial} only. Below is what {atelier} has recorded about it, but no signed certificate was checked: scan the QR code on the piece's tag to know it is genuine.",
                    serial = serial,
                    atelier = piece.atelier
                );
                page.facts.push(fact(Order::Serial, t!(l, "Serial"), serial.to_string(), true));
                page.facts.push(fact(Order::Atelier, t!(l, "Atelier"), piece.atelier.clone(), false));
                Tone::Warn
            }
            None => {
                status = StatusCode::NOT_FOUND;
                page.headline = t!(l, "Unknown serial");
                page.explanation = t!(
                    l,
                    "No atelier has published a piece {serial} here. Check the serial against the one engraved on the piece, or scan the QR code on its tag; if it still is not found, ask the atelier that sold it.",
                    serial = serial
                );
                Tone::Warn
            }
        },
        (None, None) => Tone::Warn,
    };
    page.tone = tone.class();
    page.sign = tone.sign();
    if let Some(piece) = &found.piece {
        let c = &piece.catalog;
        let mut more = vec![
            fact(Order::Title, t!(l, "Title"), c.title.clone(), false),
            fact(Order::Maker, t!(l, "Maker"), c.maker.clone(), false),
            fact(Order::Materials, t!(l, "Materials"), c.materials.clone(), false),
            fact(Order::Origin, t!(l, "Origin"), c.origin_notes.clone(), false),
        ];
        // A serial alone: the edition comes from the record, as nothing else says it.
        if let (None, Ok(edition)) =
            (&found.verdict, marketday_provenance::Edition::new(c.edition_number, c.edition_size))
        {
            more.push(fact(Order::Edition, t!(l, "Edition"), edition.label(l), false));
        }
        more.retain(|f| !f.value.trim().is_empty());
        page.facts.extend(more);
        page.facts.sort_by_key(|f| f.order);
        page.standing = standing(l, piece);
        if piece.lost_at.is_some() {
            page.alarm = Some((
                t!(l, "Reported lost or stolen"),
                t!(
                    l,
                    "{atelier} has reported this piece lost or stolen. If you are being offered it, do not buy it, and tell {atelier}.",
                    atelier = piece.atelier
                ),
            ));
        }
    }
    (status, page)
}

/// The facts' order on the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Order {
    Edition,
    Title,
    Maker,
    Materials,
    Origin,
    Serial,
    Atelier,
    Issued,
    Assay,
    /// A page whose facts stay in the order given (the dispatch page).
    Given,
}

fn fact(order: Order, label: String, value: String, code: bool) -> Fact {
    Fact { order, label, value, code }
}

fn assay_note(l: Language) -> String {
    t!(
        l,
        "To check an assay report against this, compute the SHA-256 of the report's file (on a computer: sha256sum report.pdf) and compare: every character must match."
    )
}

/// Where the piece stands, from the cloud's records: never who bought it.
fn standing(l: Language, piece: &PublicPiece) -> Vec<String> {
    let day = |ms: Option<i64>| ms.and_then(day_of).map(|d| i18n::date(l, d));
    let mut lines = Vec::new();
    let sold = piece.sold_by.is_some();
    match (&piece.sold_by, day(piece.sold_at)) {
        (Some(by), Some(on)) if by == "online" => lines.push(t!(l, "Sold online on {day}.", day = on)),
        (Some(by), Some(on)) => lines.push(t!(l, "Sold at {stall} on {day}.", stall = by, day = on)),
        (Some(_), None) => lines.push(t!(l, "Sold.")),
        (None, _) => {
            if let Some(on) = day(piece.returned_at) {
                lines.push(t!(l, "Returned on {day}; for sale again.", day = on));
            }
            match &piece.stall {
                Some(stall) => lines.push(t!(l, "For sale at {stall}.", stall = stall)),
                None => lines.push(t!(l, "With the atelier; not yet for sale at a stall.")),
            }
        }
    }
    if let (true, Some(on)) = (sold, day(piece.dispatched_at)) {
        lines.push(t!(l, "Handed to the courier on {day}.", day = on));
    }
    lines
}

/// The page's bytes with the headers a public page needs: revalidated on every view (a
/// piece reported stolen must say so at once) but cheaply, by its `ETag`.
fn respond(status: StatusCode, language: Language, page: &impl Template, request: &HeaderMap) -> Response {
    let html = match page.render() {
        Ok(html) => html,
        Err(e) => {
            tracing::error!(error = %e, "public page did not render");
            return trouble_page(language, StatusCode::INTERNAL_SERVER_ERROR);
        }
    };
    let digest = Sha256::digest(html.as_bytes());
    let etag = format!("\"{}\"", data_encoding::HEXLOWER.encode(&digest[..16]));
    let matches = request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|tag| tag.trim().trim_start_matches("W/") == etag || tag.trim() == "*"));
    let mut response = if matches && status == StatusCode::OK {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (status, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response()
    };
    let h = response.headers_mut();
    h.insert(header::ETAG, HeaderValue::from_str(&etag).expect("hex is a header value"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(header::VARY, HeaderValue::from_static("Accept-Language"));
    h.insert(header::CONTENT_LANGUAGE, HeaderValue::from_static(language.code()));
    secure(h);
    response
}

/// What every public page and error says to the browser: no scripts, no framing, no
/// sniffing, no referrer to other sites.
fn secure(h: &mut HeaderMap) {
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; frame-ancestors 'none'",
        ),
    );
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
}

/// What `/d/<order>/<sha256>[/photo.jpg]` names.
struct DispatchPath {
    order: String,
    sha256: String,
    photo: bool,
}

fn dispatch_path(path: &str) -> Option<DispatchPath> {
    let rest = path.get(3..)?;
    let text = percent_encoding::percent_decode_str(rest).decode_utf8().ok()?;
    // An order number may itself hold '/' (a shop's "WEB/3001", raw in a slip's QR code or
    // encoded in the office's link), so the parts are taken from the end: the hash is the
    // last segment, or the one before `photo.jpg`.
    let text = text.strip_suffix('/').unwrap_or(&text);
    let (text, photo) = match text.strip_suffix("/photo.jpg") {
        Some(text) => (text, true),
        None => (text, false),
    };
    let (order, sha256) = text.rsplit_once('/')?;
    let (order, sha256) = (order.trim().to_ascii_uppercase(), sha256.trim().to_ascii_lowercase());
    let order_ok = !order.is_empty()
        && order.len() <= 64
        && order.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'/');
    let sha_ok = sha256.len() == 64 && sha256.bytes().all(|b| b.is_ascii_hexdigit());
    (order_ok && sha_ok).then_some(DispatchPath { order, sha256, photo })
}

#[derive(Template)]
#[template(path = "dispatch.html")]
struct DispatchPage {
    lang: &'static str,
    tone: &'static str,
    sign: &'static str,
    headline: String,
    explanation: String,
    facts: Vec<Fact>,
    photo: Option<String>,
    photo_alt: String,
    photo_note: String,
    languages: Vec<LanguageLink>,
    footer: String,
}

/// The buyer's proof of dispatch: when and to which courier the parcel went, the photo the
/// kiosk took, and whether the kiosk's signature holds. Only someone with the link (the
/// photo's SHA-256 is in it) can open it, and it shows no address, phone or email.
async fn dispatch(State(state): State<Arc<AppState>>, uri: Uri, headers: HeaderMap) -> Response {
    let language = language_of(&uri, &headers);
    let Some(asked) = dispatch_path(uri.path()) else { return unknown_dispatch(language) };
    let lookup = {
        let state = state.clone();
        let (order, sha256) = (asked.order.clone(), asked.sha256.clone());
        tokio::task::spawn_blocking(move || state.db().public_dispatch(&order, &sha256)).await
    };
    let found = match lookup {
        Ok(Ok(Some(found))) => found,
        Ok(Ok(None)) => return unknown_dispatch(language),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "dispatch page: the store did not answer");
            return trouble_page(language, StatusCode::SERVICE_UNAVAILABLE);
        }
        Err(e) => {
            tracing::error!(error = %e, "dispatch page: the lookup failed");
            return trouble_page(language, StatusCode::INTERNAL_SERVER_ERROR);
        }
    };
    // Served only when its bytes still hash to the name in the link.
    let jpeg = state.photo(&found.atelier, &asked.sha256).await;
    let intact = jpeg.as_deref().map(|bytes| data_encoding::HEXLOWER.encode(&Sha256::digest(bytes)) == asked.sha256);
    if asked.photo {
        return match (jpeg, intact) {
            (Some(bytes), Some(true)) => {
                let mut response = ([(header::CONTENT_TYPE, "image/jpeg")], bytes).into_response();
                let h = response.headers_mut();
                // Named by its hash: it never changes.
                h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, max-age=31536000, immutable"));
                h.insert(X_ROBOTS_TAG, HeaderValue::from_static("noindex"));
                secure(h);
                response
            }
            _ => unknown_dispatch(language),
        };
    }
    let page = dispatch_page(language, &found, intact);
    let mut response = respond(StatusCode::OK, language, &page, &headers);
    response.headers_mut().insert(X_ROBOTS_TAG, HeaderValue::from_static("noindex"));
    response
}

fn dispatch_page(l: Language, found: &PublicDispatch, photo_intact: Option<bool>) -> DispatchPage {
    use marketday_provenance::dispatch::{self as proof, ProofProblem};
    let record = &found.record;
    let registered = found.registered_key.as_deref().and_then(|k| provenance::public_key(k).ok());
    // The record's signature and signer; the photo's bytes are checked against its name.
    let checked = match registered {
        Some(key) => proof::verify_record(record, Some(&key)),
        None => Err(ProofProblem::BadKey),
    };
    let (tone, headline, explanation) = match (&checked, photo_intact) {
        (Ok(()), Some(false)) => (
            Tone::Bad,
            t!(l, "Photo changed"),
            t!(
                l,
                "The photo kept here no longer matches the one the kiosk signed, so it is not shown. Ask the atelier."
            ),
        ),
        (Ok(()), _) => (
            Tone::Good,
            t!(l, "Handed to the courier"),
            t!(
                l,
                "Signed by the kiosk at {stall} when the photo was taken: these details and the photo are as it recorded them.",
                stall = found.stall
            ),
        ),
        (Err(problem), _) => (
            Tone::Bad,
            t!(l, "Cannot confirm this hand-over"),
            t!(l, "The kiosk's signature does not hold: {problem}. Ask the atelier.", problem = problem.localized(l)),
        ),
    };
    let captured = record.captured_at.naive_utc();
    let pieces = record.pieces.join(", ");
    let mut facts = vec![
        fact(Order::Given, t!(l, "Order"), record.order.clone(), true),
        fact(Order::Given, t!(l, "Handed over"), format!("{} UTC", i18n::day_time(l, captured)), false),
        fact(Order::Given, t!(l, "Courier"), record.courier.clone(), false),
        fact(Order::Given, t!(l, "Tracking number"), record.tracking_number.clone(), true),
        fact(Order::Given, t!(l, "Pieces"), pieces, true),
        fact(Order::Given, t!(l, "Stall"), found.stall.clone(), false),
        fact(Order::Given, t!(l, "Atelier"), found.atelier.clone(), false),
        fact(Order::Given, t!(l, "Photo SHA-256"), record.photo_sha256.clone(), true),
    ];
    facts.retain(|f| !f.value.trim().is_empty());
    let (photo, photo_note) = match (&checked, photo_intact) {
        (Ok(()), Some(true)) => (Some(format!("{}/photo.jpg", record.photo_sha256)), String::new()),
        (_, None) => (None, t!(l, "The photo is still on its way from the stall; look again later.")),
        _ => (None, String::new()),
    };
    DispatchPage {
        lang: l.code(),
        tone: tone.class(),
        sign: tone.sign(),
        headline,
        explanation,
        facts,
        photo,
        photo_alt: t!(l, "The parcel as the courier took it, photographed by the kiosk"),
        photo_note,
        languages: Language::ALL
            .into_iter()
            .map(|x| LanguageLink { code: x.code(), name: x.own_name(), current: x == l })
            .collect(),
        footer: t!(l, "Checked by Marketday against the key of the kiosk that sent it."),
    }
}

/// A link that names no dispatch we hold: the same page whatever the reason, so the link
/// space cannot be probed.
fn unknown_dispatch(l: Language) -> Response {
    notice(
        l,
        StatusCode::NOT_FOUND,
        t!(l, "No such dispatch"),
        t!(
            l,
            "This link names no parcel we hold. Check it against the dispatch slip, or ask the atelier you ordered from."
        ),
        "no-cache",
    )
}

/// A refusal as a person reads it: a headline and what to do, in the layout of every page.
fn notice(l: Language, status: StatusCode, headline: String, explanation: String, cache: &'static str) -> Response {
    let page = TroublePage { lang: l.code(), headline, explanation };
    let html = page.render().unwrap_or_else(|_| "<!doctype html><title>Error</title><p>Try again in a minute.".into());
    let mut response = (status, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response();
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    h.insert(X_ROBOTS_TAG, HeaderValue::from_static("noindex"));
    secure(h);
    response
}

#[derive(Template)]
#[template(path = "trouble.html")]
struct TroublePage {
    lang: &'static str,
    headline: String,
    explanation: String,
}

/// The static verifier, served: for a token pasted from anywhere, or a photo's text.
async fn verifier_page() -> Response {
    let mut response =
        ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], crate::verifier::page("/verify/")).into_response();
    verifier_headers(response.headers_mut(), "no-cache");
    response
}

async fn verifier_script() -> Response {
    let mut response =
        ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8")], crate::verifier::SCRIPT).into_response();
    verifier_headers(response.headers_mut(), "no-cache");
    response
}

/// Every atelier's keys, as of now.
async fn verifier_keyring(State(state): State<Arc<AppState>>) -> Response {
    let keys = tokio::task::spawn_blocking(move || state.db().keys_of(None)).await;
    let keys = match keys {
        Ok(Ok(keys)) => keys,
        _ => return trouble_page(Language::En, StatusCode::SERVICE_UNAVAILABLE),
    };
    let mut response =
        ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8")], crate::verifier::keyring_script(&keys))
            .into_response();
    verifier_headers(response.headers_mut(), "no-cache");
    response
}

/// The public pages' headers, with our own scripts allowed (and nothing else's).
fn verifier_headers(h: &mut HeaderMap, cache: &'static str) {
    secure(h);
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; img-src 'self'; frame-ancestors 'none'",
        ),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
}

/// A page for when the server cannot answer properly.
fn trouble_page(l: Language, status: StatusCode) -> Response {
    notice(
        l,
        status,
        t!(l, "Cannot check now"),
        t!(l, "This page could not be made just now. Try again in a minute."),
        "no-store",
    )
}

/// The framework's own refusals on these routes (a method they do not take) come as plain
/// text or empty: a browser gets a page instead, in its language.
async fn as_page(uri: Uri, headers: HeaderMap, response: Response) -> Response {
    let status = response.status();
    let is_html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if is_html || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let l = language_of(&uri, &headers);
    let mut page = if status.is_server_error() {
        trouble_page(l, status)
    } else {
        notice(
            l,
            status,
            t!(l, "This link cannot be opened this way"),
            t!(l, "Open it as it is, from the piece's QR code or from the dispatch slip."),
            "no-store",
        )
    };
    if let Some(allow) = response.headers().get(header::ALLOW) {
        page.headers_mut().insert(header::ALLOW, allow.clone());
    }
    page
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dispatch_link_is_read_from_its_end_so_an_order_may_hold_a_slash() {
        let sha = "ab".repeat(32);
        let read = |path: &str| dispatch_path(path).map(|d| (d.order, d.sha256, d.photo));
        assert_eq!(read(&format!("/d/web-1001/{sha}")), Some(("WEB-1001".into(), sha.clone(), false)));
        assert_eq!(read(&format!("/d/WEB/3001/{sha}")), Some(("WEB/3001".into(), sha.clone(), false)));
        assert_eq!(read(&format!("/d/WEB%2F3001/{sha}/")), Some(("WEB/3001".into(), sha.clone(), false)));
        assert_eq!(read(&format!("/d/WEB%2F3001/{sha}/photo.jpg")), Some(("WEB/3001".into(), sha.clone(), true)));
        assert_eq!(read(&format!("/d/{sha}")), None, "no order");
        assert_eq!(read(&format!("/d/WEB-1/{sha}/other.jpg")), None);
        assert_eq!(read("/d/WEB-1/not-a-hash"), None);
        assert_eq!(read(&format!("/d/WEB 1/{sha}")), None);
    }

    #[test]
    fn a_path_is_read_as_a_token_a_serial_or_nothing_in_either_case() {
        let token = "A".repeat(60);
        assert!(matches!(asked(&format!("/P/{token}")), Asked::Token(t) if t == token));
        assert!(matches!(asked(&format!("/p/{}", token.to_lowercase())), Asked::Token(t) if t == token));
        assert!(matches!(asked("/p/rg-2026-0007"), Asked::Serial(s) if s.as_str() == "RG-2026-0007"));
        assert!(matches!(asked("/P/RG-2026-0007/"), Asked::Serial(_)));
        for nothing in ["/p/", "/p", "/p/..%2F..%2Fetc", "/p/%00", "/p/%F0%9F%92%8E", "/p/%ff%fe", "/p/a b"] {
            assert!(matches!(asked(nothing), Asked::Nothing), "{nothing}");
        }
    }
}
