//! The Orders page: online orders a stall is to hand to a courier, asked for here or made by
//! a kiosk, and how each left: the courier, the tracking number, the kiosk's photo and
//! whether its signature holds, with the proof to download as `dispatch export` writes it
//! (`<order>.json`, `<order>.jpg`).

use std::sync::Arc;

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use marketday_provenance::dispatch::{self as proof, ProofProblem};
use marketday_provenance::{ReservationCode, Serial};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::clock::when;
use super::pages::{CsrfForm, Frame, Problems};
use super::stalls::serials;
use super::{SignedIn, html, notice, with_db};
use crate::api::AppState;
use crate::db::{Handed, NewOnline, OrderLine, ReservationLine, Reserved, Sent};
use crate::now_ms;

/// Orders on a page.
const PAGE: i64 = 50;

#[derive(Deserialize, Default)]
pub struct ShipForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    order: String,
    #[serde(default)]
    buyer: String,
    #[serde(default)]
    serials: String,
    #[serde(default)]
    stall: String,
}

#[derive(Deserialize, Default)]
pub struct ReserveForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    serial: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    contact: String,
    #[serde(default)]
    member: String,
    #[serde(default)]
    stall: String,
    #[serde(default)]
    days: String,
}

/// How long an online reservation may be kept, in days: the form's choices.
const DAYS: [i64; 4] = [1, 3, 7, 14];

#[derive(Deserialize, Default)]
pub struct OrdersAsked {
    #[serde(default)]
    page: String,
}

/// How an order left, checked.
struct Left {
    summary: String,
    /// The kiosk's signature and the photo, in words; `good` when both hold.
    check: String,
    good: bool,
    buyer_page: String,
    photo: Option<String>,
    proof: String,
    file: String,
}

struct Row {
    order: String,
    buyer: String,
    pieces: String,
    stall: String,
    since: String,
    left: Option<Left>,
}

struct ReservationRow {
    id: String,
    code: String,
    serial: String,
    customer: String,
    stall: String,
    until: String,
    state: String,
    open: bool,
}

fn reservation_row(r: ReservationLine, tz: chrono_tz::Tz) -> ReservationRow {
    let code = ReservationCode::parse(&r.code).map_or_else(|_| r.code.clone(), |c| c.to_string());
    let at = when(r.state_at, tz);
    let state = match r.state.as_str() {
        "sent" => format!("Sent to {}: its kiosk keeps it at its next sync", r.stall),
        "kept" => format!("Kept at {}", r.stall),
        "collected" => format!("Collected {at}"),
        "released" => format!("Let go at the stall {at}"),
        "expired" => format!("Expired {at}"),
        "refused" => "The stall could not keep it: see Conflicts".to_owned(),
        "cancelled" => format!("Cancelled {at}"),
        other => other.to_owned(),
    };
    ReservationRow {
        open: matches!(r.state.as_str(), "sent" | "kept"),
        customer: format!("{} · {}", r.customer_name, r.customer_contact),
        until: when(r.expires_at, tz),
        id: r.id,
        code,
        serial: r.serial,
        stall: r.stall,
        state,
    }
}

#[derive(Template)]
#[template(path = "office/orders.html")]
struct OrdersPage {
    frame: Frame,
    reservations: Vec<ReservationRow>,
    reserve: ReserveForm,
    reserve_problems: Problems,
    reserve_refused: Option<String>,
    days: [i64; 4],
    rows: Vec<Row>,
    stalls: Vec<String>,
    total: i64,
    previous: Option<String>,
    next: Option<String>,
    form: ShipForm,
    problems: Problems,
    refused: Vec<String>,
    said: Option<String>,
    code: Option<String>,
}

/// `order` as a file name, as the kiosk's `dispatch export` writes it.
fn file_name(order: &str) -> String {
    order.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).collect()
}

/// What to put in a link's path for `order`.
fn in_path(order: &str) -> String {
    const SEGMENT: &percent_encoding::AsciiSet =
        &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');
    percent_encoding::utf8_percent_encode(order, SEGMENT).to_string()
}

/// The record's signature against the key its kiosk registered, and the photo's bytes
/// against the hash it signed.
async fn checked(state: &AppState, atelier: &str, handed: &Handed) -> (String, bool, bool) {
    let record = &handed.record;
    let key = handed.registered_key.as_deref().and_then(|k| marketday_provenance::public_key(k).ok());
    let signature = match key {
        Some(key) => proof::verify_record(record, Some(&key)),
        None => Err(ProofProblem::BadKey),
    };
    let photo = state.photo(atelier, &record.photo_sha256).await;
    let intact = photo.map(|bytes| data_encoding::HEXLOWER.encode(&Sha256::digest(&bytes)) == record.photo_sha256);
    match (signature, intact) {
        (Err(problem), _) => (format!("Not confirmed: {problem}"), false, false),
        (Ok(()), Some(true)) => (format!("Signed by kiosk {}; photo intact", handed.device), true, true),
        (Ok(()), Some(false)) => ("Signed, but the photo kept here is not the one signed for".into(), false, false),
        (Ok(()), None) => ("Signed; the photo is still on its way from the stall".into(), true, false),
    }
}

async fn row(state: &AppState, atelier: &str, line: OrderLine, tz: chrono_tz::Tz) -> Row {
    let left = match &line.handed {
        None => None,
        Some(handed) => {
            let record = &handed.record;
            let (check, good, photo_ok) = checked(state, atelier, handed).await;
            let buyer_page = format!("/d/{}/{}", in_path(&record.order), record.photo_sha256);
            Some(Left {
                summary: format!(
                    "Handed to {} ({}) on {}, tracking {}",
                    record.courier,
                    record.courier_name,
                    when(record.captured_at.timestamp_millis(), tz),
                    record.tracking_number
                ),
                check,
                good,
                photo: photo_ok.then(|| format!("{buyer_page}/photo.jpg")),
                proof: format!("/office/orders/{}/proof.json", in_path(&line.order)),
                file: file_name(&record.order),
                buyer_page,
            })
        }
    };
    Row {
        pieces: line.pieces.join(", "),
        stall: line.stall.unwrap_or_else(|| "any stall".into()),
        since: when(line.created_at, tz),
        order: line.order,
        buyer: line.buyer,
        left,
    }
}

#[derive(Default)]
struct Shown {
    form: ShipForm,
    problems: Problems,
    refused: Vec<String>,
    said: Option<String>,
    /// A reservation's code to give the customer, after `said`.
    code: Option<String>,
    page: i64,
    reserve: ReserveForm,
    reserve_problems: Problems,
    reserve_refused: Option<String>,
}

async fn page(state: &Arc<AppState>, signed: &SignedIn, status: StatusCode, shown: Shown) -> Response {
    let (atelier, at) = (signed.atelier().to_owned(), shown.page);
    let found = with_db(state, move |db| {
        let (lines, total) = db.orders(&atelier, (at - 1) * PAGE, PAGE)?;
        let stalls = db.stalls(&atelier)?.into_iter().map(|s| s.name).collect::<Vec<_>>();
        let (reservations, _) = db.reservations(&atelier, 0, PAGE)?;
        Ok((lines, total, stalls, reservations))
    })
    .await;
    let (lines, total, stalls, reservations) = match found {
        Ok(found) => found,
        Err(page) => return page,
    };
    let mut rows = Vec::with_capacity(lines.len());
    for line in lines {
        rows.push(row(state, signed.atelier(), line, signed.zone()).await);
    }
    let link = |p: i64| format!("/office/orders?page={p}");
    let shown_page = OrdersPage {
        frame: Frame::of(signed, "orders"),
        reservations: reservations.into_iter().map(|r| reservation_row(r, signed.zone())).collect(),
        reserve: shown.reserve,
        reserve_problems: shown.reserve_problems,
        reserve_refused: shown.reserve_refused,
        days: DAYS,
        rows,
        stalls,
        total,
        previous: (at > 1).then(|| link(at - 1)),
        next: (at * PAGE < total).then(|| link(at + 1)),
        form: shown.form,
        problems: shown.problems,
        refused: shown.refused,
        said: shown.said,
        code: shown.code,
    };
    html(status, &shown_page)
}

pub async fn orders(
    State(state): State<Arc<AppState>>,
    signed: SignedIn,
    Query(asked): Query<OrdersAsked>,
) -> Response {
    let at = asked.page.trim().parse::<i64>().unwrap_or(1).clamp(1, 100_000);
    page(&state, &signed, StatusCode::OK, Shown { page: at, ..Shown::default() }).await
}

/// Asks a stall to ship an online order: its pieces are sold to the order, and the stall's
/// kiosks list it for the courier at their next pull.
pub async fn ship(State(state): State<Arc<AppState>>, signed: SignedIn, Form(form): Form<ShipForm>) -> Response {
    if let Err(refused) = signed.check_form(&form.csrf) {
        return refused.into_response();
    }
    let mut problems = Problems::default();
    let order = form.order.trim().to_ascii_uppercase();
    let fair = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    if order.is_empty() || order.len() > 40 || !order.chars().all(fair) {
        problems.add("order", "The shop's order number: 1 to 40 letters, digits, '-' or '_', such as WEB-1042.");
    }
    let buyer = form.buyer.trim().to_owned();
    if buyer.is_empty() || buyer.chars().count() > 120 {
        problems.add("buyer", "The buyer's name as the parcel is addressed (at most 120 characters).");
    }
    let stall = form.stall.trim().to_owned();
    if stall.is_empty() || stall.chars().count() > 80 {
        problems.add("stall", "Name the stall that hands the parcel to the courier.");
    }
    let chosen = match serials(&form.serials) {
        Ok(chosen) if chosen.is_empty() => {
            problems.add("serials", "Type or scan the serials of the pieces in the parcel.");
            chosen
        }
        Ok(chosen) => chosen,
        Err(why) => {
            problems.add("serials", why);
            Vec::new()
        }
    };
    let again = |form, problems, refused| Shown { form, problems, refused, page: 1, ..Shown::default() };
    if !problems.is_empty() {
        return page(&state, &signed, StatusCode::UNPROCESSABLE_ENTITY, again(form, problems, Vec::new())).await;
    }
    let (atelier, actor) = (signed.atelier().to_owned(), signed.email().to_owned());
    let (to, named, wanted) = (stall.clone(), order.clone(), buyer.clone());
    let asked =
        with_db(&state, move |db| db.ship_order(&atelier, &named, &wanted, &chosen, &to, &actor, now_ms())).await;
    match asked {
        Ok(Sent::Done { sent, .. }) => {
            let pieces = if sent == 1 { "1 piece".to_owned() } else { format!("{sent} pieces") };
            let said = format!("Order {order} ({pieces}) is on its way to {stall}'s kiosks, for the courier.");
            let shown = Shown { said: Some(said), ..again(ShipForm::default(), Problems::default(), Vec::new()) };
            page(&state, &signed, StatusCode::OK, shown).await
        }
        Ok(Sent::Refused(why)) => {
            let refused = why.iter().map(ToString::to_string).collect();
            page(&state, &signed, StatusCode::UNPROCESSABLE_ENTITY, again(form, Problems::default(), refused)).await
        }
        Err(page) => page,
    }
}

/// Reserves a piece online for a customer to collect at a stall: the piece goes to the
/// stall and is held there from now; its kiosks keep it at their next pull.
pub async fn reserve(State(state): State<Arc<AppState>>, signed: SignedIn, Form(form): Form<ReserveForm>) -> Response {
    if let Err(refused) = signed.check_form(&form.csrf) {
        return refused.into_response();
    }
    let mut problems = Problems::default();
    let serial = match Serial::parse(&form.serial) {
        Ok(serial) => serial.as_str().to_owned(),
        Err(e) => {
            problems.add("r_serial", e.to_string());
            String::new()
        }
    };
    let (name, contact) = (form.name.trim().to_owned(), form.contact.trim().to_owned());
    if name.is_empty() || name.chars().count() > 120 {
        problems.add("r_name", "The customer's name, as they will give it at the stall.");
    }
    if contact.is_empty() || contact.chars().count() > 120 {
        problems.add("r_contact", "A phone number or email to reach the customer.");
    }
    let stall = form.stall.trim().to_owned();
    if stall.is_empty() || stall.chars().count() > 80 {
        problems.add("r_stall", "Name the stall where the customer collects it.");
    }
    let days = form.days.trim().parse::<i64>().ok().filter(|d| DAYS.contains(d));
    if days.is_none() {
        problems.add("r_days", "Choose how long the stall keeps it.");
    }
    let member = Some(form.member.trim().to_owned()).filter(|m| !m.is_empty());
    let again = |reserve, reserve_problems, reserve_refused| Shown {
        page: 1,
        reserve,
        reserve_problems,
        reserve_refused,
        ..Shown::default()
    };
    if !problems.is_empty() {
        return page(&state, &signed, StatusCode::UNPROCESSABLE_ENTITY, again(form, problems, None)).await;
    }
    let now = now_ms();
    let new = NewOnline {
        serial,
        stall,
        customer_name: name,
        customer_contact: contact,
        member_id: member,
        expires_at: now + days.unwrap_or(7) * 86_400_000,
    };
    let (atelier, actor) = (signed.atelier().to_owned(), signed.email().to_owned());
    let made = with_db(&state, move |db| {
        let mut rng = rand::rng();
        db.reserve_online(&atelier, &new, &mut || ReservationCode::random(&mut rng), &actor, now)
    })
    .await;
    match made {
        Ok(Reserved::Done(r)) => {
            let code = ReservationCode::parse(&r.code).map_or(r.code.clone(), |c| c.to_string());
            let said = format!(
                "Reserved {} for {} at {} until {}: give them the code",
                r.serial,
                r.customer_name,
                r.stall,
                when(r.expires_at, signed.zone())
            );
            let shown = Shown { said: Some(said), code: Some(code), page: 1, ..Shown::default() };
            page(&state, &signed, StatusCode::OK, shown).await
        }
        Ok(Reserved::Refused(why)) => {
            let shown = again(form, Problems::default(), Some(why.to_string()));
            page(&state, &signed, StatusCode::UNPROCESSABLE_ENTITY, shown).await
        }
        Err(page) => page,
    }
}

pub async fn cancel_reservation(
    State(state): State<Arc<AppState>>,
    signed: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Err(refused) = signed.check_form(form.token()) {
        return refused.into_response();
    }
    let (atelier, actor) = (signed.atelier().to_owned(), signed.email().to_owned());
    match with_db(&state, move |db| db.cancel_reservation(&atelier, &id, &actor, now_ms())).await {
        Ok(()) => Redirect::to("/office/orders#reservations").into_response(),
        Err(page) => page,
    }
}

/// The signed record of an order's hand-over, as `dispatch export` writes it.
pub async fn proof_json(State(state): State<Arc<AppState>>, signed: SignedIn, Path(order): Path<String>) -> Response {
    let atelier = signed.atelier().to_owned();
    let asked = order.clone();
    let handed = match with_db(&state, move |db| db.order_proof(&atelier, &asked)).await {
        Ok(Some(handed)) => handed,
        Ok(None) => {
            return notice(
                StatusCode::NOT_FOUND,
                "No proof of dispatch",
                "No kiosk has sent a hand-over for this order.",
            );
        }
        Err(page) => return page,
    };
    let json = serde_json::to_string_pretty(&handed.record).expect("a record always serialises");
    let mut response = ([(header::CONTENT_TYPE, "application/json")], json).into_response();
    let disposition = format!("attachment; filename=\"{}.json\"", file_name(&handed.record.order));
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        response.headers_mut().insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_proof_s_file_is_named_as_dispatch_export_names_it() {
        assert_eq!(file_name("WEB-1042"), "WEB-1042");
        assert_eq!(file_name("WEB/10 42\"x"), "WEB_10_42_x");
    }
}
