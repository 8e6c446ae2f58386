//! The catalog pages: add a piece, correct one, and import a spreadsheet of them.
//!
//! A piece is checked here by the same rules as the kiosk's `marketday catalog import`
//! (the serial, edition, price and drop types are the shared crates'), and published as a
//! catalog change, which kiosks pull. An import is all or nothing: every bad row is listed
//! with its number and what to fix, and nothing is published until there are none.

use std::collections::HashSet;
use std::sync::Arc;

use askama::Template;
use axum::Form;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use marketday_money::{Currency, Money};
use marketday_provenance::{Edition, Serial};
use serde::Deserialize;

use super::pages::{Frame, Problems};
use super::{SignedIn, html, notice, with_db};
use crate::api::AppState;
use crate::db::{CatalogEdit, DbError};
use crate::wire::{DropChange, PieceChange};
use crate::{now_ms, piece_photos};

/// The most rows one import takes: a season's catalog, not a warehouse.
const MAX_ROWS: usize = 10_000;
/// The columns every row must have; the others may be left out of the header.
const REQUIRED: [&str; 5] = ["serial", "title", "edition_number", "edition_size", "price"];

/// A piece as typed into the form or read from a spreadsheet row: text, not yet checked.
/// The CSV columns are these names (the kiosk's, plus an optional `currency`).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PieceFields {
    #[serde(default)]
    serial: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    edition_number: String,
    #[serde(default)]
    edition_size: String,
    #[serde(default)]
    price: String,
    #[serde(default)]
    currency: String,
    #[serde(default)]
    drop_id: String,
    #[serde(default)]
    maker: String,
    #[serde(default)]
    materials: String,
    #[serde(default)]
    origin_notes: String,
    #[serde(default)]
    assay_hash: String,
}

impl PieceFields {
    fn of(piece: &PieceChange) -> PieceFields {
        let price = Currency::parse(&piece.currency)
            .map_or_else(|_| piece.price_minor.to_string(), |c| Money::new(piece.price_minor, c).plain());
        PieceFields {
            serial: piece.serial.clone(),
            title: piece.title.clone(),
            edition_number: piece.edition_number.to_string(),
            edition_size: piece.edition_size.to_string(),
            price,
            currency: piece.currency.clone(),
            drop_id: piece.drop_id.clone().unwrap_or_default(),
            maker: piece.maker.clone(),
            materials: piece.materials.clone(),
            origin_notes: piece.origin_notes.clone(),
            assay_hash: piece.assay_hash.clone().unwrap_or_default(),
        }
    }

    /// The piece these fields describe, or what is wrong with them, by field. `drops` are
    /// the atelier's published drops: a piece naming another could not be filed by a kiosk.
    fn check(&self, drops: &[DropChange], problems: &mut Problems) -> Option<PieceChange> {
        let serial = Serial::parse(&self.serial).map_err(|e| problems.add("serial", e.to_string())).ok();
        let title = self.title.trim();
        if title.is_empty() {
            problems.add("title", "Give the piece a title, as its tag and receipt show it.");
        } else if title.chars().count() > 120 {
            problems.add("title", "A title has at most 120 characters.");
        }
        let edition = match (self.edition_number.trim().parse(), self.edition_size.trim().parse()) {
            (Ok(number), Ok(size)) => {
                Edition::new(number, size).map_err(|e| problems.add("edition_number", e.to_string())).ok()
            }
            _ => {
                let why = format!(
                    "'{}' of '{}' is not an edition: two whole numbers, such as 7 of 24.",
                    self.edition_number.trim(),
                    self.edition_size.trim()
                );
                problems.add("edition_number", why);
                None
            }
        };
        let currency = Currency::parse(self.currency.trim())
            .map_err(|_| problems.add("currency", "A currency is three capital letters, such as GBP or EUR."))
            .ok();
        let price =
            currency.and_then(|c| Money::parse(&self.price, c).map_err(|e| problems.add("price", e.to_string())).ok());
        let drop_id = Some(self.drop_id.trim().to_owned()).filter(|d| !d.is_empty());
        if let Some(d) = &drop_id
            && !drops.iter().any(|known| known.id == *d)
        {
            problems.add("drop_id", format!("'{d}' is not one of the atelier's drops: publish the drop first."));
        }
        let assay_hash = Some(self.assay_hash.trim().to_ascii_lowercase()).filter(|h| !h.is_empty());
        if assay_hash.as_ref().is_some_and(|h| h.len() != 64 || !h.bytes().all(|b| b.is_ascii_hexdigit())) {
            problems.add("assay_hash", "An assay hash is a SHA-256: 64 digits and letters a to f.");
        }
        for (field, text) in
            [("maker", &self.maker), ("materials", &self.materials), ("origin_notes", &self.origin_notes)]
        {
            if text.trim().chars().count() > 500 {
                problems.add(field, "At most 500 characters.");
            }
        }
        let (Some(serial), Some(edition), Some(price)) = (serial, edition, price) else { return None };
        problems.is_empty().then(|| PieceChange {
            serial: serial.as_str().to_owned(),
            drop_id,
            edition_number: edition.number,
            edition_size: edition.size,
            title: title.to_owned(),
            maker: self.maker.trim().to_owned(),
            materials: self.materials.trim().to_owned(),
            origin_notes: self.origin_notes.trim().to_owned(),
            price_minor: price.minor,
            currency: price.currency.code().to_owned(),
            assay_hash,
            certificate: None,
            photo: None,
        })
    }
}

#[derive(Template)]
#[template(path = "office/piece.html")]
struct PiecePage {
    frame: Frame,
    form: PieceFields,
    drops: Vec<DropChange>,
    problems: Problems,
    /// The serial being corrected; `None` when adding.
    editing: Option<String>,
    /// The piece carries a signed certificate: what it signs cannot change here.
    certified: bool,
    saved: bool,
    /// The SHA-256 of the piece's photo, when it has one.
    photo: Option<String>,
}

#[derive(Deserialize)]
pub struct PieceForm {
    #[serde(default)]
    csrf: String,
    #[serde(flatten)]
    piece: PieceFields,
}

#[derive(Deserialize, Default)]
pub struct Saved {
    #[serde(default)]
    saved: String,
}

/// What a piece form needs besides the piece: the drops, and the usual currency.
async fn drops_and_currency(state: &Arc<AppState>, signed: &SignedIn) -> Result<(Vec<DropChange>, String), Response> {
    let atelier = signed.atelier().to_owned();
    with_db(state, move |db| {
        let currency = db.usual_currency(&atelier)?.unwrap_or_else(|| "GBP".to_owned());
        Ok((db.published_drops(&atelier)?, currency))
    })
    .await
}

fn piece_page(status: StatusCode, signed: &SignedIn, page: PiecePageParts) -> Response {
    let PiecePageParts { form, drops, problems, editing, certified, saved, photo } = page;
    let frame = Frame::of(signed, "pieces");
    html(status, &PiecePage { frame, form, drops, problems, editing, certified, saved, photo })
}

#[derive(Default)]
struct PiecePageParts {
    form: PieceFields,
    drops: Vec<DropChange>,
    problems: Problems,
    editing: Option<String>,
    certified: bool,
    saved: bool,
    photo: Option<String>,
}

pub async fn new_piece(State(state): State<Arc<AppState>>, signed: SignedIn) -> Response {
    let (drops, currency) = match drops_and_currency(&state, &signed).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let form = PieceFields { currency, ..PieceFields::default() };
    piece_page(StatusCode::OK, &signed, PiecePageParts { form, drops, ..PiecePageParts::default() })
}

pub async fn add_piece(State(state): State<Arc<AppState>>, signed: SignedIn, Form(form): Form<PieceForm>) -> Response {
    if let Err(refused) = signed.check_form(&form.csrf) {
        return refused.into_response();
    }
    let (drops, _) = match drops_and_currency(&state, &signed).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let mut problems = Problems::default();
    let checked = form.piece.check(&drops, &mut problems);
    let Some(piece) = checked else {
        let parts = PiecePageParts { form: form.piece, drops, problems, ..PiecePageParts::default() };
        return piece_page(StatusCode::UNPROCESSABLE_ENTITY, &signed, parts);
    };
    let serial = piece.serial.clone();
    let (atelier, actor) = (signed.atelier().to_owned(), signed.email().to_owned());
    let published = with_db(&state, move |db| {
        match db.publish_pieces(&atelier, std::slice::from_ref(&piece), CatalogEdit::Add, &actor, now_ms()) {
            // The one refusal the store makes here: the serial is taken. By this very
            // piece, when a double click sent the form twice: that is what was asked.
            Err(DbError::Invalid(why)) => {
                let same = db.catalog_entry(&atelier, &piece.serial)?.is_some_and(|known| known == piece);
                Ok((!same).then_some(why))
            }
            other => other.map(|()| None),
        }
    })
    .await;
    match published {
        Ok(None) => Redirect::to(&format!("/office/pieces/{serial}?saved=added")).into_response(),
        Ok(Some(_)) => {
            problems.add("serial", format!("{serial} is already in the catalog: open it from the list to correct it."));
            let parts = PiecePageParts { form: form.piece, drops, problems, ..PiecePageParts::default() };
            piece_page(StatusCode::UNPROCESSABLE_ENTITY, &signed, parts)
        }
        Err(page) => page,
    }
}

/// The piece at `serial`, or the page that says there is none.
async fn entry(state: &Arc<AppState>, signed: &SignedIn, serial: String) -> Result<PieceChange, Response> {
    let atelier = signed.atelier().to_owned();
    match with_db(state, move |db| db.catalog_entry(&atelier, &serial)).await? {
        Some(piece) => Ok(piece),
        None => Err(notice(
            StatusCode::NOT_FOUND,
            "No such piece",
            "This atelier's catalog has no piece with that serial. Find it from the Pieces list.",
        )),
    }
}

pub async fn edit_piece(
    State(state): State<Arc<AppState>>,
    signed: SignedIn,
    Path(serial): Path<String>,
    Query(saved): Query<Saved>,
) -> Response {
    let piece = match entry(&state, &signed, serial).await {
        Ok(piece) => piece,
        Err(page) => return page,
    };
    let (drops, _) = match drops_and_currency(&state, &signed).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let parts = PiecePageParts {
        form: PieceFields::of(&piece),
        drops,
        problems: Problems::default(),
        editing: Some(piece.serial.clone()),
        certified: piece.certificate.is_some(),
        saved: !saved.saved.is_empty(),
        photo: piece.photo.clone(),
    };
    piece_page(StatusCode::OK, &signed, parts)
}

pub async fn save_piece(
    State(state): State<Arc<AppState>>,
    signed: SignedIn,
    Path(serial): Path<String>,
    Form(mut form): Form<PieceForm>,
) -> Response {
    if let Err(refused) = signed.check_form(&form.csrf) {
        return refused.into_response();
    }
    let was = match entry(&state, &signed, serial).await {
        Ok(piece) => piece,
        Err(page) => return page,
    };
    let (drops, _) = match drops_and_currency(&state, &signed).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    // The serial names the piece: it is corrected by adding the right one, not here.
    form.piece.serial = was.serial.clone();
    let mut problems = Problems::default();
    let checked = form.piece.check(&drops, &mut problems);
    let certified = was.certificate.is_some();
    if let Some(piece) = &checked
        && certified
    {
        let signed_facts =
            |p: &PieceChange| (p.edition_number, p.edition_size, p.drop_id.clone(), p.assay_hash.clone());
        if signed_facts(piece) != signed_facts(&was) {
            problems.add(
                "edition_number",
                "The certificate on its tag signs the edition, drop and assay hash: they stay as they are.",
            );
        }
    }
    let editing = Some(was.serial.clone());
    let piece = match checked {
        Some(piece) if problems.is_empty() => {
            PieceChange { certificate: was.certificate.clone(), photo: was.photo.clone(), ..piece }
        }
        _ => {
            let photo = was.photo.clone();
            let parts = PiecePageParts { form: form.piece, drops, problems, editing, certified, saved: false, photo };
            return piece_page(StatusCode::UNPROCESSABLE_ENTITY, &signed, parts);
        }
    };
    let (atelier, actor, serial) = (signed.atelier().to_owned(), signed.email().to_owned(), piece.serial.clone());
    let published = move |db: &crate::db::Db| {
        db.publish_pieces_over(&atelier, &[piece], &[was], CatalogEdit::Edit, &actor, now_ms())
    };
    match with_db(&state, published).await {
        Ok(()) => Redirect::to(&format!("/office/pieces/{serial}?saved=edited")).into_response(),
        Err(page) => page,
    }
}

/// The parts of a photo form, read from its multipart body.
#[derive(Default)]
struct PhotoUpload {
    csrf: String,
    file: Vec<u8>,
    /// "Take the photo away" was pressed rather than "Upload".
    remove: bool,
}

async fn read_photo_form(mut multipart: Multipart) -> Result<PhotoUpload, String> {
    let mut upload = PhotoUpload::default();
    let unreadable = |e: axum::extract::multipart::MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            piece_photos::Refused::TooLarge.to_string()
        } else {
            format!("The form did not arrive whole ({e}). Choose the photo and send it again.")
        }
    };
    while let Some(field) = multipart.next_field().await.map_err(unreadable)? {
        match field.name().unwrap_or_default() {
            "csrf" => upload.csrf = field.text().await.map_err(unreadable)?,
            "remove" => upload.remove = true,
            "photo" => upload.file = field.bytes().await.map_err(unreadable)?.to_vec(),
            _ => {}
        }
    }
    Ok(upload)
}

/// A new photo for a piece, or its photo taken away. The upload is made fit for kiosks
/// (`piece_photos::prepare`), kept under its hash before the catalog names it, and the
/// piece published again: kiosks fetch the photo after their next pull.
pub async fn save_photo(
    State(state): State<Arc<AppState>>,
    signed: SignedIn,
    Path(serial): Path<String>,
    multipart: Multipart,
) -> Response {
    let form = read_photo_form(multipart).await;
    if let Ok(form) = &form
        && let Err(refused) = signed.check_form(&form.csrf)
    {
        return refused.into_response();
    }
    let was = match entry(&state, &signed, serial).await {
        Ok(piece) => piece,
        Err(page) => return page,
    };
    let refused = |why: String, drops: Vec<DropChange>| {
        let mut problems = Problems::default();
        problems.add("photo", why);
        let parts = PiecePageParts {
            form: PieceFields::of(&was),
            drops,
            problems,
            editing: Some(was.serial.clone()),
            certified: was.certificate.is_some(),
            saved: false,
            photo: was.photo.clone(),
        };
        piece_page(StatusCode::UNPROCESSABLE_ENTITY, &signed, parts)
    };
    let (drops, _) = match drops_and_currency(&state, &signed).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let form = match form {
        Ok(form) => form,
        Err(why) => return refused(why, drops),
    };
    let photo = if form.remove {
        None
    } else {
        let prepared = tokio::task::spawn_blocking(move || piece_photos::prepare(&form.file)).await;
        let bytes = match prepared {
            Ok(Ok(bytes)) => bytes,
            Ok(Err(why)) => return refused(why.to_string(), drops),
            Err(e) => return refused(format!("The photo could not be made ready ({e}). Upload it again."), drops),
        };
        let kept = match state.piece_photos(signed.atelier()) {
            Ok(dir) => dir.put(bytes).await.map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        match kept {
            Ok(sha256) => Some(sha256),
            Err(e) => {
                tracing::error!(error = %e, "a piece photo could not be kept");
                return refused(format!("The server could not keep the photo ({e}). Try again in a moment."), drops);
            }
        }
    };
    let (atelier, actor, serial) = (signed.atelier().to_owned(), signed.email().to_owned(), was.serial.clone());
    let done = Redirect::to(&format!("/office/pieces/{serial}?saved=photo")).into_response();
    // The photo is the only field this changes: a piece saved from its form while the photo
    // was being made ready is read again and the photo laid on what it now is.
    let publish = move |db: &crate::db::Db| {
        let mut was = was;
        for _ in 0..PUBLISH_TRIES {
            if photo == was.photo {
                return Ok(());
            }
            let piece = PieceChange { photo: photo.clone(), ..was.clone() };
            match db.publish_pieces_over(&atelier, &[piece], &[was], CatalogEdit::Photo, &actor, now_ms()) {
                Err(DbError::Changed(_)) => {}
                other => return other,
            }
            was = db
                .catalog_entry(&atelier, &serial)?
                .ok_or_else(|| DbError::Invalid(format!("{serial} is not in the catalog")))?;
        }
        Err(DbError::Changed(serial))
    };
    match with_db(&state, publish).await {
        Ok(()) => done,
        Err(page) => page,
    }
}

/// How often a photo is laid again on a piece others keep changing before the owner is
/// asked to try again.
const PUBLISH_TRIES: usize = 5;

/// A piece photo of the signed-in atelier, for its own pages. Named by hash: the bytes at
/// this address never change, so the browser keeps them.
pub async fn photo(State(state): State<Arc<AppState>>, signed: SignedIn, Path(sha256): Path<String>) -> Response {
    let sha256 = sha256.trim_end_matches(".jpg").to_owned();
    let read = match state.piece_photos(signed.atelier()) {
        Ok(dir) => dir.read(&sha256).await.ok(),
        Err(_) => None,
    };
    match read {
        Some(bytes) => (
            [
                (axum::http::header::CONTENT_TYPE, "image/jpeg"),
                (axum::http::header::CACHE_CONTROL, "private, max-age=31536000, immutable"),
            ],
            bytes,
        )
            .into_response(),
        None => notice(StatusCode::NOT_FOUND, "No such photo", "Open the piece from the Pieces list to see its photo."),
    }
}

#[derive(Template)]
#[template(path = "office/import.html")]
struct ImportPage {
    frame: Frame,
    currency: String,
    /// The file's own trouble (not CSV, no header, too many rows), if any.
    problem: Option<String>,
    /// "Row 4 (RG-2026-0042): price: ...", in file order.
    rows: Vec<String>,
    imported: Option<usize>,
}

pub async fn import_form(State(state): State<Arc<AppState>>, signed: SignedIn) -> Response {
    let currency = match drops_and_currency(&state, &signed).await {
        Ok((_, currency)) => currency,
        Err(page) => return page,
    };
    let page =
        ImportPage { frame: Frame::of(&signed, "pieces"), currency, problem: None, rows: Vec::new(), imported: None };
    html(StatusCode::OK, &page)
}

/// The parts of the import form, read from its multipart body.
#[derive(Default)]
pub(super) struct Upload {
    pub(super) csrf: String,
    currency: String,
    pub(super) file: Vec<u8>,
}

pub(super) async fn read_upload(mut multipart: Multipart) -> Result<Upload, String> {
    let mut upload = Upload::default();
    let unreadable = |e: axum::extract::multipart::MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            "The file is larger than 2 MB: split it, or leave out columns the catalog does not use.".to_owned()
        } else {
            format!("The form did not arrive whole ({e}). Choose the file and send it again.")
        }
    };
    while let Some(field) = multipart.next_field().await.map_err(unreadable)? {
        match field.name().unwrap_or_default() {
            "csrf" => upload.csrf = field.text().await.map_err(unreadable)?,
            "currency" => upload.currency = field.text().await.map_err(unreadable)?,
            "file" => upload.file = field.bytes().await.map_err(unreadable)?.to_vec(),
            _ => {}
        }
    }
    Ok(upload)
}

pub async fn import(State(state): State<Arc<AppState>>, signed: SignedIn, multipart: Multipart) -> Response {
    let mut page = ImportPage {
        frame: Frame::of(&signed, "pieces"),
        currency: String::new(),
        problem: None,
        rows: Vec::new(),
        imported: None,
    };
    let upload = match read_upload(multipart).await {
        Ok(upload) => upload,
        Err(why) => {
            page.problem = Some(why);
            return html(StatusCode::BAD_REQUEST, &page);
        }
    };
    if let Err(refused) = signed.check_form(&upload.csrf) {
        return refused.into_response();
    }
    page.currency = upload.currency.trim().to_owned();
    let (drops, _) = match drops_and_currency(&state, &signed).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let pieces = match read_rows(&upload.file, &page.currency, &drops) {
        Ok(Ok(pieces)) => pieces,
        Ok(Err(rows)) => {
            page.rows = rows;
            return html(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
        Err(why) => {
            page.problem = Some(why);
            return html(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    let (atelier, actor) = (signed.atelier().to_owned(), signed.email().to_owned());
    let serials: Vec<String> = pieces.iter().map(|p| p.serial.clone()).collect();
    let count = pieces.len();
    let published = with_db(&state, move |db| {
        let taken = db.serials_in_catalog(&atelier, &serials)?;
        if !taken.is_empty() {
            // The same file sent twice (a double click, a reload): every piece is already
            // there as the file says, so the import is done, once.
            let mut same = true;
            for piece in &pieces {
                same &= db.catalog_entry(&atelier, &piece.serial)?.is_some_and(|known| known == *piece);
            }
            return Ok(if same { Vec::new() } else { taken });
        }
        match db.publish_pieces(&atelier, &pieces, CatalogEdit::Add, &actor, now_ms()) {
            // Added by someone else between the look and the write: say which, as above.
            Err(DbError::Invalid(_)) => db.serials_in_catalog(&atelier, &serials),
            other => other.map(|()| Vec::new()),
        }
    })
    .await;
    match published {
        Ok(taken) if taken.is_empty() => {
            page.imported = Some(count);
            html(StatusCode::OK, &page)
        }
        Ok(taken) => {
            page.rows = taken
                .iter()
                .filter_map(|serial| {
                    let row = serials_row(&upload.file, serial)?;
                    Some(format!("Row {row} ({serial}): already in the catalog; open it from the list to correct it."))
                })
                .collect();
            html(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
        Err(page) => page,
    }
}

/// The file as text: UTF-8, with or without the byte-order mark spreadsheets write.
fn as_text(file: &[u8]) -> Result<&str, String> {
    let text = std::str::from_utf8(file)
        .map_err(|_| "The file is not UTF-8 text. In your spreadsheet, save it as CSV UTF-8.".to_owned())?;
    Ok(text.strip_prefix('\u{feff}').unwrap_or(text))
}

/// A CSV reader for `text`: comma-separated, or semicolon-separated as spreadsheets in
/// countries with a decimal comma write it.
fn reader(text: &str) -> csv::Reader<&[u8]> {
    let header = text.lines().next().unwrap_or_default();
    let delimiter = if !header.contains(',') && header.contains(';') { b';' } else { b',' };
    csv::ReaderBuilder::new().delimiter(delimiter).trim(csv::Trim::All).flexible(false).from_reader(text.as_bytes())
}

/// A spreadsheet's reader and its header row (lower case), once the file is text and the
/// header names every `required` column; what is wrong with the file, if not.
pub(super) fn open_csv<'a>(
    file: &'a [u8],
    required: &[&str],
) -> Result<(csv::Reader<&'a [u8]>, csv::StringRecord), String> {
    if file.is_empty() {
        return Err("Choose a CSV file to import.".to_owned());
    }
    let text = as_text(file)?;
    let mut reader = reader(text);
    let headers = reader.headers().map_err(|e| format!("The first row cannot be read as CSV: {e}"))?.clone();
    let headers = csv::StringRecord::from(headers.iter().map(|h| h.to_ascii_lowercase()).collect::<Vec<_>>());
    let missing: Vec<&str> = required.iter().copied().filter(|r| !headers.iter().any(|h| h == *r)).collect();
    if !missing.is_empty() {
        return Err(format!(
            "The first row must name the columns; it has no {}. It has: {}.",
            missing.join(", "),
            headers.iter().collect::<Vec<_>>().join(", ")
        ));
    }
    Ok((reader, headers))
}

/// Every row checked: the pieces, or each bad row with its number and what is wrong; the
/// outer error is the file's own trouble.
fn read_rows(
    file: &[u8],
    currency: &str,
    drops: &[DropChange],
) -> Result<Result<Vec<PieceChange>, Vec<String>>, String> {
    let (mut reader, headers) = open_csv(file, &REQUIRED)?;
    let mut pieces = Vec::new();
    let mut bad = Vec::new();
    let mut seen = HashSet::new();
    for (i, record) in reader.records().enumerate() {
        // Row 1 is the header: the first piece is row 2, as the spreadsheet numbers it.
        let row = i + 2;
        if i >= MAX_ROWS {
            return Err(format!("The file has more than {MAX_ROWS} pieces: import it in parts."));
        }
        let mut fields: PieceFields = match record.and_then(|r| r.deserialize(Some(&headers))) {
            Ok(fields) => fields,
            Err(e) => {
                bad.push(format!("Row {row}: {e}"));
                continue;
            }
        };
        if fields.currency.trim().is_empty() {
            fields.currency = currency.to_owned();
        }
        let mut problems = Problems::default();
        let piece = fields.check(drops, &mut problems);
        if let Some(piece) = &piece
            && !seen.insert(piece.serial.clone())
        {
            problems.add("serial", format!("{} is in the file twice.", piece.serial));
        }
        match piece {
            Some(piece) if problems.is_empty() => pieces.push(piece),
            _ => {
                let label = Serial::parse(&fields.serial).map(|s| format!(" ({s})")).unwrap_or_default();
                bad.push(format!("Row {row}{label}: {}", problems.said()));
            }
        }
    }
    if pieces.is_empty() && bad.is_empty() {
        return Err("The file has a header row and no pieces.".to_owned());
    }
    Ok(if bad.is_empty() { Ok(pieces) } else { Err(bad) })
}

/// The row number of `serial` in the file, for a refusal the store made.
fn serials_row(file: &[u8], serial: &str) -> Option<usize> {
    let text = as_text(file).ok()?;
    let mut reader = reader(text);
    let headers = reader.headers().ok()?.clone();
    let column = headers.iter().position(|h| h.eq_ignore_ascii_case("serial"))?;
    reader.records().enumerate().find_map(|(i, record)| {
        let record = record.ok()?;
        Serial::parse(record.get(column)?).ok().filter(|s| s.as_str() == serial).map(|_| i + 2)
    })
}
