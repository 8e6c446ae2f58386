//! The Certificates page (owners only): the atelier's signing keys, kept by this server
//! ([`crate::custody`]), made, rotated and withdrawn here; and signing pieces, one or a
//! drop at a time. Kiosks pull keys and certificates as any other change.

use std::sync::Arc;

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::NaiveDate;
use serde::Deserialize;

use super::pages::{Frame, Problems};
use super::{SignedIn, html, notice, with_db};
use crate::api::AppState;
use crate::db::CatalogEdit;
use crate::now_ms;
use crate::signing::{self, Need};
use crate::wire::{DropChange, KeyChange, PieceChange};

/// What a serial in a path must escape (a serial is letters, digits and '-').
const PATH: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.');

/// Today, in UTC: the day certificates are issued and keys change.
fn today() -> NaiveDate {
    chrono::DateTime::from_timestamp_millis(now_ms()).map_or(NaiveDate::MIN, |t| t.date_naive())
}

struct KeyRow {
    id: String,
    from: String,
    until: Option<String>,
    /// The day it was withdrawn, and why.
    withdrawn_on: Option<String>,
    withdrawn_why: String,
    in_use: bool,
    kept_here: bool,
}

/// What the pieces' certificates need, counted.
#[derive(Default)]
struct Counts {
    unsigned: usize,
    withdrawn: usize,
    not_genuine: usize,
}

impl Counts {
    fn of<'a>(needs: impl Iterator<Item = &'a Need>) -> Counts {
        let mut counts = Counts::default();
        for need in needs {
            match need {
                Need::Unsigned => counts.unsigned += 1,
                Need::WithdrawnKey => counts.withdrawn += 1,
                Need::NotGenuine => counts.not_genuine += 1,
            }
        }
        counts
    }

    fn total(&self) -> usize {
        self.unsigned + self.withdrawn + self.not_genuine
    }
}

struct DropRow {
    id: String,
    name: String,
    needing: usize,
}

#[derive(Template)]
#[template(path = "office/certificates.html")]
struct CertificatesPage {
    frame: Frame,
    keys: Vec<KeyRow>,
    /// The key in use's id, when this server keeps its secret.
    signer: Option<String>,
    /// The key in use's id, when it is kept elsewhere (signed offline).
    offline: Option<String>,
    pieces: usize,
    counts: Counts,
    drops: Vec<DropRow>,
    problems: Problems,
    said: Option<String>,
    refused: Vec<String>,
}

/// The atelier's keys and catalog, as the page and the actions need them.
struct Held {
    keys: Vec<KeyChange>,
    pieces: Vec<PieceChange>,
    /// What each of `pieces` needs, if anything: every certificate verified against the
    /// keys, off the async threads with the reading (an atelier of 100,000 signed pieces
    /// takes seconds of signature checks).
    needs: Vec<Option<Need>>,
    drops: Vec<DropChange>,
}

async fn held(state: &Arc<AppState>, atelier: &str) -> Result<Held, Response> {
    let atelier = atelier.to_owned();
    with_db(state, move |db| {
        let keys: Vec<KeyChange> = db.keys_of(Some(&atelier))?.into_iter().map(|(_, k)| k).collect();
        let pieces = db.catalog_pieces(&atelier, None)?;
        let keyring: Vec<_> = keys.iter().filter_map(|k| k.trusted().ok()).collect();
        let needs = pieces.iter().map(|p| signing::need(p, &keyring)).collect();
        Ok(Held { keys, pieces, needs, drops: db.published_drops(&atelier)? })
    })
    .await
}

impl Held {
    /// Each piece that needs a certificate, with why.
    fn needing(&self) -> Vec<(&PieceChange, Need)> {
        self.pieces.iter().zip(&self.needs).filter_map(|(p, n)| n.map(|n| (p, n))).collect()
    }
}

/// What a page shows after an action.
#[derive(Default)]
struct Outcome {
    problems: Problems,
    said: Option<String>,
    refused: Vec<String>,
}

async fn page(state: &Arc<AppState>, signed: &SignedIn, status: StatusCode, outcome: Outcome) -> Response {
    let held = match held(state, signed.atelier()).await {
        Ok(held) => held,
        Err(page) => return page,
    };
    let custody = state.custody();
    let atelier = signed.atelier();
    let in_use = signing::key_in_use(&held.keys, today()).and_then(signing::key_id);
    let mut keys: Vec<KeyRow> = held
        .keys
        .iter()
        .filter_map(|k| {
            let id = signing::key_id(k)?;
            Some(KeyRow {
                id: id.to_string(),
                from: k.valid_from.clone(),
                until: k.valid_until.clone(),
                withdrawn_on: k.revoked_on.clone(),
                withdrawn_why: k.revoked_reason.clone().unwrap_or_default(),
                in_use: in_use == Some(id),
                kept_here: custody.keeps(atelier, id),
            })
        })
        .collect();
    keys.sort_by(|a, b| b.from.cmp(&a.from).then(b.in_use.cmp(&a.in_use)));
    let kept = in_use.filter(|id| custody.keeps(atelier, *id));
    let needing = held.needing();
    let drops = held
        .drops
        .iter()
        .map(|d| DropRow {
            id: d.id.clone(),
            name: d.name.clone(),
            needing: needing.iter().filter(|(p, _)| p.drop_id.as_deref() == Some(d.id.as_str())).count(),
        })
        .collect();
    let page = CertificatesPage {
        frame: Frame::of(signed, "certificates"),
        keys,
        signer: kept.map(|id| id.to_string()),
        offline: in_use.filter(|id| kept != Some(*id)).map(|id| id.to_string()),
        pieces: held.pieces.len(),
        counts: Counts::of(needing.iter().map(|(_, n)| n)),
        drops,
        problems: outcome.problems,
        said: outcome.said,
        refused: outcome.refused,
    };
    html(status, &page)
}

pub async fn certificates(State(state): State<Arc<AppState>>, signed: SignedIn) -> Response {
    if let Err(refused) = signed.owner_only() {
        return refused.into_response();
    }
    page(&state, &signed, StatusCode::OK, Outcome::default()).await
}

#[derive(Deserialize)]
pub struct MakeKeyForm {
    #[serde(default)]
    csrf: String,
    /// The key in use when the page was shown ("" for none): a form sent twice makes one key.
    #[serde(default)]
    replacing: String,
}

/// Makes a signing key: the atelier's first, or a rotation that retires the one in use at
/// the end of today.
pub async fn make_key(State(state): State<Arc<AppState>>, signed: SignedIn, Form(form): Form<MakeKeyForm>) -> Response {
    if let Err(refused) = signed.check_form(&form.csrf).and_then(|()| signed.owner_only()) {
        return refused.into_response();
    }
    let held = match held(&state, signed.atelier()).await {
        Ok(held) => held,
        Err(page) => return page,
    };
    let today = today();
    let in_use = signing::key_in_use(&held.keys, today).and_then(signing::key_id);
    if in_use.map(|id| id.to_string()).unwrap_or_default() != form.replacing.trim() {
        let said = "That key was already made: the page now shows it.".to_owned();
        return page(&state, &signed, StatusCode::OK, Outcome { said: Some(said), ..Outcome::default() }).await;
    }
    let atelier = signed.atelier().to_owned();
    // The secret is on the disk before its public half is published.
    let key = match state.custody().make(&atelier) {
        Ok(key) => key,
        Err(e) => {
            tracing::error!(error = %e, "back office: a signing key could not be kept");
            return notice(
                StatusCode::SERVICE_UNAVAILABLE,
                "No key was made",
                "The server could not keep a new key in its data directory (is the disk full?). Nothing was published.",
            );
        }
    };
    let id = marketday_provenance::KeyId::of(&key.verifying_key()).to_string();
    let changes = signing::rotation(&held.keys, &atelier, &key, today);
    let (action, said) = match in_use {
        Some(old) => (
            "rotated the signing key",
            format!(
                "Key {id} now signs. Key {old} signs nothing after today; what it signed stays genuine. Kiosks learn both at their next pull."
            ),
        ),
        None => (
            "made a signing key",
            format!("Key {id} is made and kept on this server. Kiosks trust it from their next pull."),
        ),
    };
    let (actor, detail, who) = (signed.email().to_owned(), id.clone(), atelier.clone());
    let replacing = in_use.map(|id| id.to_string()).unwrap_or_default();
    let published = with_db(&state, move |db| {
        db.publish_keys(&who, &changes, Some((&replacing, today)), (action, &detail), &actor, now_ms())
    })
    .await;
    match published {
        Ok(true) => page(&state, &signed, StatusCode::OK, Outcome { said: Some(said), ..Outcome::default() }).await,
        Ok(false) => {
            // Another request (the same form sent twice at once) made a key first: this one
            // was never published, so it can go.
            let made = marketday_provenance::KeyId::of(&key.verifying_key());
            if let Err(e) = state.custody().discard(&atelier, made) {
                tracing::warn!(error = %e, key = %made, "back office: an unpublished key file stays");
            }
            let said = "That key was already made: the page now shows it.".to_owned();
            page(&state, &signed, StatusCode::OK, Outcome { said: Some(said), ..Outcome::default() }).await
        }
        Err(page) => page,
    }
}

#[derive(Deserialize)]
pub struct WithdrawForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    confirm: String,
}

/// Withdraws a key for good: every certificate it signed stops being genuine.
pub async fn withdraw_key(
    State(state): State<Arc<AppState>>,
    signed: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<WithdrawForm>,
) -> Response {
    if let Err(refused) = signed.check_form(&form.csrf).and_then(|()| signed.owner_only()) {
        return refused.into_response();
    }
    let held = match held(&state, signed.atelier()).await {
        Ok(held) => held,
        Err(page) => return page,
    };
    let Some(key) = held.keys.iter().find(|k| signing::key_id(k).is_some_and(|k| k.to_string() == id)) else {
        return notice(StatusCode::NOT_FOUND, "No such key", "Go back to Certificates and choose a key from the list.");
    };
    if key.revoked_on.is_some() {
        let said = format!("Key {id} was already withdrawn.");
        return page(&state, &signed, StatusCode::OK, Outcome { said: Some(said), ..Outcome::default() }).await;
    }
    let mut problems = Problems::default();
    let reason = form.reason.trim().to_owned();
    if reason.is_empty() || reason.chars().count() > 200 {
        problems.add("reason", "Say why the key is withdrawn (at most 200 characters): the public pages show it.");
    }
    if form.confirm != "yes" {
        problems.add("confirm", "Tick the box to say you know this cannot be undone.");
    }
    if !problems.is_empty() {
        return page(&state, &signed, StatusCode::UNPROCESSABLE_ENTITY, Outcome { problems, ..Outcome::default() })
            .await;
    }
    let withdrawn = signing::withdrawal(key, &reason, today());
    let (atelier, actor, detail) = (signed.atelier().to_owned(), signed.email().to_owned(), format!("{id}: {reason}"));
    let published = with_db(&state, move |db| {
        db.publish_keys(&atelier, &[withdrawn], None, ("withdrew a signing key", &detail), &actor, now_ms())
    })
    .await;
    if let Err(page) = published {
        return page;
    }
    let said = format!(
        "Key {id} is withdrawn: no certificate it signed is genuine any more, on kiosks after their next pull and on the public pages now. Sign those pieces again below and print new tags."
    );
    page(&state, &signed, StatusCode::OK, Outcome { said: Some(said), ..Outcome::default() }).await
}

#[derive(Deserialize)]
pub struct SignForm {
    #[serde(default)]
    csrf: String,
    /// One drop's pieces ("" for every drop).
    #[serde(default)]
    drop: String,
    /// One piece only, from its own page.
    #[serde(default)]
    serial: String,
}

/// Signs every piece of the selection that has no genuine certificate, with the key in use.
pub async fn sign(State(state): State<Arc<AppState>>, signed: SignedIn, Form(form): Form<SignForm>) -> Response {
    if let Err(refused) = signed.check_form(&form.csrf).and_then(|()| signed.owner_only()) {
        return refused.into_response();
    }
    let held = match held(&state, signed.atelier()).await {
        Ok(held) => held,
        Err(page) => return page,
    };
    let atelier = signed.atelier().to_owned();
    let today = today();
    let one = Some(form.serial.trim().to_ascii_uppercase()).filter(|s| !s.is_empty());
    let drop = Some(form.drop.trim()).filter(|d| !d.is_empty());
    let key = signing::key_in_use(&held.keys, today)
        .and_then(signing::key_id)
        .map(|id| state.custody().key(&atelier, id))
        .transpose();
    let key = match key {
        Ok(Some(Some(key))) => key,
        Ok(_) => {
            let mut problems = Problems::default();
            problems.add("key", "There is no key kept here to sign with: make one above first.");
            return page(&state, &signed, StatusCode::CONFLICT, Outcome { problems, ..Outcome::default() }).await;
        }
        Err(e) => {
            tracing::error!(error = %e, "back office: the signing key could not be read");
            return notice(
                StatusCode::SERVICE_UNAVAILABLE,
                "Nothing was signed",
                "The server could not read its signing key from its data directory; its log says why.",
            );
        }
    };
    let mut signed_pieces = Vec::new();
    let mut as_read = Vec::new();
    let mut refused = Vec::new();
    for (piece, _) in held.needing() {
        let chosen = match (&one, drop) {
            (Some(serial), _) => piece.serial == *serial,
            (None, Some(drop)) => piece.drop_id.as_deref() == Some(drop),
            (None, None) => true,
        };
        if !chosen {
            continue;
        }
        match signing::certify(piece, &key, today) {
            Ok(signed) => {
                signed_pieces.push(signed);
                as_read.push(piece.clone());
            }
            Err(why) => refused.push(format!("{}: {why}", piece.serial)),
        }
    }
    let (count, actor) = (signed_pieces.len(), signed.email().to_owned());
    if count > 0 {
        let published =
            // A piece corrected while this signed it keeps its correction: nothing is signed, and
            // the owner signs again what is now there.
            with_db(&state, move |db| {
                db.publish_pieces_over(&atelier, &signed_pieces, &as_read, CatalogEdit::Sign, &actor, now_ms())
            })
            .await;
        if let Err(page) = published {
            return page;
        }
    }
    if let Some(serial) = one.filter(|s| refused.is_empty() && held.pieces.iter().any(|p| p.serial == *s)) {
        // From the piece's own page: back to it, which now says it is certified.
        let path = percent_encoding::utf8_percent_encode(&serial, PATH);
        return Redirect::to(&format!("/office/pieces/{path}")).into_response();
    }
    let said = match count {
        0 if refused.is_empty() => "Nothing to sign: every piece chosen already has a genuine certificate.".to_owned(),
        0 => "Nothing was signed.".to_owned(),
        1 => "Signed 1 certificate. Kiosks pick it up at their next pull; print the piece's tag.".to_owned(),
        n => format!("Signed {n} certificates. Kiosks pick them up at their next pull; print the pieces' tags."),
    };
    page(&state, &signed, StatusCode::OK, Outcome { said: Some(said), refused, ..Outcome::default() }).await
}
