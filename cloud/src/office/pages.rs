//! The back office's pages so far: signing in and out, the home page, people, the audit and
//! the pieces list.

use std::sync::Arc;

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::clock::{day_bounds, day_of, typed_zone, when};
use super::{
    Browser, ClientAddress, MAX_MS, SESSION_COOKIE, SIGN_IN_COOKIE, SignedIn, html, notice, password, random_token,
    same_token, set_cookie, with_db,
};
use crate::api::AppState;
use crate::db::{
    AuditEntry, DbError, NewUser, PieceQuery, Role, Standing, Summary, Throttle, User, normal_email, token_hash,
};
use crate::now_ms;

/// Failed sign-ins are counted over this long...
const THROTTLE_WINDOW_MS: i64 = 15 * 60_000;
/// ... and after this many for one account, it takes no more tries until the window passes
/// (a guesser gets 480 a day, a forgetful owner a quarter of an hour's pause)...
const ACCOUNT_LIMIT: i64 = 5;
/// ... nor does an address after this many, over any accounts (one address may be a
/// whole market's Wi-Fi).
const ADDRESS_LIMIT: i64 = 30;

/// What every signed-in page shows around its own part: who, where, and the menu.
pub(super) struct Frame {
    pub atelier: String,
    pub name: String,
    pub email: String,
    pub owner: bool,
    pub csrf: String,
    /// The menu entry of this page.
    pub here: &'static str,
    /// The atelier's time zone, which the office's days and times are in.
    pub zone: &'static str,
}

impl Frame {
    pub(super) fn of(signed: &SignedIn, here: &'static str) -> Frame {
        let user = &signed.session.user;
        Frame {
            atelier: user.atelier.clone(),
            name: user.name.clone(),
            email: user.email.clone(),
            owner: user.role == Role::Owner,
            csrf: signed.session.csrf.clone(),
            here,
            zone: signed.zone().name(),
        }
    }
}

#[derive(Template)]
#[template(path = "office/sign_in.html")]
struct SignInPage {
    csrf: String,
    email: String,
    problem: Option<String>,
}

/// The sign-in form, with a fresh token in its own cookie for the form to match.
fn sign_in_page(status: StatusCode, browser: &Browser, email: String, problem: Option<String>) -> Response {
    let csrf = random_token();
    let mut response = html(status, &SignInPage { csrf: csrf.clone(), email, problem });
    response.headers_mut().append(header::SET_COOKIE, set_cookie(SIGN_IN_COOKIE, &csrf, 3600, browser.https));
    response
}

pub async fn sign_in_form(browser: Browser) -> Response {
    sign_in_page(StatusCode::OK, &browser, String::new(), None)
}

#[derive(Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
}

pub async fn sign_in(
    State(state): State<Arc<AppState>>,
    ClientAddress(address): ClientAddress,
    browser: Browser,
    Form(form): Form<SignInForm>,
) -> Response {
    let email = normal_email(&form.email);
    if !browser.cookie(SIGN_IN_COOKIE).is_some_and(|expected| same_token(expected, &form.csrf)) {
        // A form from another site, or one left open past its cookie: a fresh one.
        let why = "The sign-in form had expired. Please sign in again.".to_owned();
        return sign_in_page(StatusCode::FORBIDDEN, &browser, email, Some(why));
    }
    let now = now_ms();
    let since = now - THROTTLE_WINDOW_MS;
    let (account, addr) = (email.clone(), address.clone());
    let failures = with_db(&state, move |db| {
        Ok((
            db.login_failures(Throttle::Account, &account, since)?,
            db.login_failures(Throttle::Address, &addr, since)?,
        ))
    })
    .await;
    let (by_account, by_address) = match failures {
        Ok(counts) => counts,
        Err(page) => return page,
    };
    if by_account >= ACCOUNT_LIMIT || by_address >= ADDRESS_LIMIT {
        let why = format!(
            "Too many failed sign-ins {}. Wait 15 minutes, then try again; an owner can set a new password meanwhile.",
            if by_account >= ACCOUNT_LIMIT { "for this account" } else { "from this network" }
        );
        return sign_in_page(StatusCode::TOO_MANY_REQUESTS, &browser, email, Some(why));
    }
    let (account, given) = (email.clone(), form.password);
    let found = with_db(&state, move |db| {
        let found = db.user_by_email(&account)?;
        // Argon2 is slow on purpose: it runs here, off the async threads.
        Ok(match found {
            Some((user, stored)) => password::verify(&stored, &given).then_some(user),
            None => {
                password::verify_nothing(&given);
                None
            }
        })
    })
    .await;
    let user = match found {
        Ok(Some(user)) => user,
        Ok(None) => {
            let (account, addr) = (email.clone(), address);
            if let Err(page) =
                with_db(&state, move |db| db.record_login_failure(&account, &addr, now, now - THROTTLE_WINDOW_MS)).await
            {
                return page;
            }
            let why = "That email and password do not match an account. Check both and try again.".to_owned();
            return sign_in_page(StatusCode::UNAUTHORIZED, &browser, email, Some(why));
        }
        Err(page) => return page,
    };
    let (token, csrf) = (random_token(), random_token());
    let token_sha256 = token_hash(&token);
    let started = with_db(&state, move |db| {
        db.clear_login_failures(&user.email)?;
        db.start_session(&user, &token_sha256, &csrf, now, now + super::IDLE_MS)
    })
    .await;
    if let Err(page) = started {
        return page;
    }
    let mut response = Redirect::to("/office").into_response();
    let h = response.headers_mut();
    h.append(header::SET_COOKIE, set_cookie(SESSION_COOKIE, &token, MAX_MS / 1000, browser.https));
    h.append(header::SET_COOKIE, set_cookie(SIGN_IN_COOKIE, "", 0, browser.https));
    response
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

impl CsrfForm {
    pub(super) fn token(&self) -> &str {
        &self.csrf
    }
}

/// Back to the sign-in page, the session's cookie deleted.
fn signed_out(https: bool) -> Response {
    let mut response = Redirect::to("/office/sign-in").into_response();
    response.headers_mut().append(header::SET_COOKIE, set_cookie(SESSION_COOKIE, "", 0, https));
    response
}

pub async fn sign_out(State(state): State<Arc<AppState>>, signed: SignedIn, Form(form): Form<CsrfForm>) -> Response {
    if let Err(refused) = signed.check_form(&form.csrf) {
        return refused.into_response();
    }
    let hash = signed.token_sha256.clone();
    match with_db(&state, move |db| db.end_session(&hash)).await {
        Ok(()) => signed_out(signed.https),
        Err(page) => page,
    }
}

pub async fn sign_out_everywhere(
    State(state): State<Arc<AppState>>,
    signed: SignedIn,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Err(refused) = signed.check_form(&form.csrf) {
        return refused.into_response();
    }
    let user = signed.session.user.clone();
    match with_db(&state, move |db| db.end_sessions_of(&user, now_ms())).await {
        Ok(_) => signed_out(signed.https),
        Err(page) => page,
    }
}

#[derive(Template)]
#[template(path = "office/home.html")]
struct HomePage {
    frame: Frame,
    summary: Summary,
    /// Today's takings in each currency sold in, with the number of sales.
    takings: Vec<(String, u32)>,
    /// Conflicts nobody has dealt with yet.
    conflicts: usize,
}

pub async fn home(State(state): State<Arc<AppState>>, signed: SignedIn) -> Response {
    let atelier = signed.atelier().to_owned();
    let tz = signed.zone();
    let Some((from, to)) = day_of(now_ms(), tz).and_then(|d| day_bounds(d, tz)) else {
        return notice(StatusCode::INTERNAL_SERVER_ERROR, "No clock", "This server's clock reads no day. Try again.");
    };
    let found = with_db(&state, move |db| {
        let open = db.conflicts(&atelier)?.iter().filter(|c| c.dealt.is_none()).count();
        Ok((db.summary(&atelier)?, db.sales_events(&atelier, from, to)?, open))
    })
    .await;
    let (summary, events, conflicts) = match found {
        Ok(found) => found,
        Err(page) => return page,
    };
    let mut takings: Vec<(marketday_money::Currency, i64, u32)> = Vec::new();
    for t in crate::takings::sum(&events, from, to).0 {
        match takings.iter_mut().find(|(c, _, _)| *c == t.currency) {
            Some((_, gross, sales)) => {
                *gross += t.gross;
                *sales += t.sales;
            }
            None => takings.push((t.currency, t.gross, t.sales)),
        }
    }
    let takings = takings
        .into_iter()
        .map(|(currency, gross, sales)| (marketday_money::Money::new(gross, currency).to_string(), sales))
        .collect();
    html(StatusCode::OK, &HomePage { frame: Frame::of(&signed, "home"), summary, takings, conflicts })
}

#[derive(Template)]
#[template(path = "office/time_zone.html")]
struct TimeZonePage {
    frame: Frame,
    /// The field: the atelier's zone, or what was typed.
    time_zone: String,
    problems: Problems,
    /// Every zone's name, for the field's suggestions.
    zones: Vec<&'static str>,
}

/// The time zone form as sent.
#[derive(Deserialize, Default)]
pub struct ZoneForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    time_zone: String,
}

fn time_zone_page(signed: &SignedIn, status: StatusCode, time_zone: String, problems: Problems) -> Response {
    let zones = chrono_tz::TZ_VARIANTS.iter().map(|z| z.name()).filter(|n| n.contains('/')).collect();
    html(status, &TimeZonePage { frame: Frame::of(signed, "home"), time_zone, problems, zones })
}

pub async fn time_zone(signed: SignedIn) -> Response {
    if let Err(refused) = signed.owner_only() {
        return refused.into_response();
    }
    let kept = signed.zone().name().to_owned();
    time_zone_page(&signed, StatusCode::OK, kept, Problems::default())
}

/// Sets the atelier's time zone (owners only): its days and times are counted in it from
/// the next page on.
pub async fn set_time_zone(
    State(state): State<Arc<AppState>>,
    signed: SignedIn,
    Form(form): Form<ZoneForm>,
) -> Response {
    if let Err(refused) = signed.check_form(&form.csrf).and_then(|()| signed.owner_only()) {
        return refused.into_response();
    }
    let Some(zone) = typed_zone(&form.time_zone) else {
        let mut problems = Problems::default();
        problems.add(
            "time_zone",
            format!(
                "{:?} is not a time zone we know. Type it as Region/City, such as Europe/Paris.",
                form.time_zone.trim()
            ),
        );
        return time_zone_page(&signed, StatusCode::UNPROCESSABLE_ENTITY, form.time_zone, problems);
    };
    let (atelier, actor) = (signed.atelier().to_owned(), signed.email().to_owned());
    match with_db(&state, move |db| db.set_time_zone(&atelier, zone.name(), &actor, now_ms())).await {
        Ok(()) => Redirect::to("/office").into_response(),
        Err(page) => page,
    }
}

#[derive(Template)]
#[template(path = "office/people.html")]
struct PeoplePage {
    frame: Frame,
    people: Vec<User>,
    me: i64,
    /// The add form as sent, with what is wrong by field.
    form: PersonForm,
    problems: Problems,
    added: Option<String>,
}

/// What is wrong with a form, by field name.
#[derive(Default)]
pub(super) struct Problems(Vec<(&'static str, String)>);

impl Problems {
    /// Notes what is wrong with `field`, as a sentence (the shared crates' errors start in
    /// lower case, to be put after a field's name).
    pub(super) fn add(&mut self, field: &'static str, why: impl Into<String>) {
        let why = why.into();
        let mut chars = why.chars();
        let mut sentence: String = chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default();
        if !sentence.ends_with(['.', '?', '!']) {
            sentence.push('.');
        }
        self.0.push((field, sentence));
    }

    /// The problem with `field`, for the template (empty when none).
    pub(super) fn of(&self, field: &str) -> &str {
        self.0.iter().find(|(f, _)| *f == field).map_or("", |(_, why)| why.as_str())
    }

    pub(super) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Every problem as "field: why", one after the other (a spreadsheet row's line).
    pub(super) fn said(&self) -> String {
        self.0.iter().map(|(field, why)| format!("{field}: {why}")).collect::<Vec<_>>().join(" ")
    }
}

#[derive(Deserialize, Default)]
pub struct PersonForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    password: String,
}

async fn people_page(
    state: &Arc<AppState>,
    signed: &SignedIn,
    status: StatusCode,
    form: PersonForm,
    problems: Problems,
    added: Option<String>,
) -> Response {
    let atelier = signed.atelier().to_owned();
    match with_db(state, move |db| db.users_of(&atelier)).await {
        Ok(people) => {
            let page = PeoplePage {
                frame: Frame::of(signed, "people"),
                people,
                me: signed.session.user.id,
                form: PersonForm { password: String::new(), ..form },
                problems,
                added,
            };
            html(status, &page)
        }
        Err(page) => page,
    }
}

pub async fn people(State(state): State<Arc<AppState>>, signed: SignedIn) -> Response {
    if let Err(refused) = signed.owner_only() {
        return refused.into_response();
    }
    let form = PersonForm { role: "staff".into(), ..PersonForm::default() };
    people_page(&state, &signed, StatusCode::OK, form, Problems::default(), None).await
}

pub async fn add_person(
    State(state): State<Arc<AppState>>,
    signed: SignedIn,
    Form(form): Form<PersonForm>,
) -> Response {
    if let Err(refused) = signed.check_form(&form.csrf).and_then(|()| signed.owner_only()) {
        return refused.into_response();
    }
    let mut problems = Problems::default();
    let name = form.name.trim().to_owned();
    if name.is_empty() {
        problems.add("name", "Give the person's name, as the atelier knows them.");
    } else if name.chars().count() > 100 {
        problems.add("name", "A name has at most 100 characters.");
    }
    let email = normal_email(&form.email);
    let plausible = email.len() <= 254
        && !email.contains(char::is_whitespace)
        && email.split_once('@').is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'));
    if !plausible {
        problems.add("email", "An email address looks like name@example.com.");
    }
    let role = match form.role.as_str() {
        "owner" => Some(Role::Owner),
        "staff" => Some(Role::Staff),
        _ => {
            problems.add("role", "Choose staff or owner.");
            None
        }
    };
    let hashed = match password::hash(&form.password) {
        Ok(hashed) => Some(hashed),
        Err(e) => {
            problems.add("password", e.to_string());
            None
        }
    };
    let (Some(role), Some(hashed), true) = (role, hashed, problems.is_empty()) else {
        return people_page(&state, &signed, StatusCode::UNPROCESSABLE_ENTITY, form, problems, None).await;
    };
    let (atelier, actor, person) = (signed.atelier().to_owned(), signed.email().to_owned(), name.clone());
    let added = with_db(&state, move |db| {
        match db.add_user(
            &NewUser { atelier: &atelier, email: &email, name: &person, role, password_hash: &hashed },
            &actor,
            now_ms(),
        ) {
            // The one refusal the store makes here: the address is taken.
            Err(DbError::Invalid(_)) => Ok(None),
            other => other.map(Some),
        }
    })
    .await;
    match added {
        Ok(Some(user)) => {
            let said = format!("{} can now sign in as {} with the password you chose.", user.name, user.email);
            let form = PersonForm { role: "staff".into(), ..PersonForm::default() };
            people_page(&state, &signed, StatusCode::OK, form, Problems::default(), Some(said)).await
        }
        Ok(None) => {
            problems.add("email", "This address already has an account.");
            people_page(&state, &signed, StatusCode::UNPROCESSABLE_ENTITY, form, problems, None).await
        }
        Err(page) => page,
    }
}

pub async fn remove_person(
    State(state): State<Arc<AppState>>,
    signed: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Err(refused) = signed.check_form(&form.csrf).and_then(|()| signed.owner_only()) {
        return refused.into_response();
    }
    let Ok(id) = id.parse::<i64>() else {
        return super::notice(StatusCode::NOT_FOUND, "No such account", "Go back to People and choose from the list.");
    };
    if id == signed.session.user.id {
        return super::notice(
            StatusCode::UNPROCESSABLE_ENTITY,
            "You cannot remove yourself",
            "Ask another owner to remove your account, or sign out.",
        );
    }
    let (atelier, actor) = (signed.atelier().to_owned(), signed.email().to_owned());
    match with_db(&state, move |db| db.remove_user(&atelier, id, &actor, now_ms())).await {
        Ok(_) => Redirect::to("/office/people").into_response(),
        Err(page) => page,
    }
}

#[derive(Template)]
#[template(path = "office/audit.html")]
struct AuditPage {
    frame: Frame,
    entries: Vec<(String, AuditEntry)>,
}

/// How many lines the audit page shows: the latest changes.
const AUDIT_LINES: i64 = 500;

pub async fn audit(State(state): State<Arc<AppState>>, signed: SignedIn) -> Response {
    if let Err(refused) = signed.owner_only() {
        return refused.into_response();
    }
    let atelier = signed.atelier().to_owned();
    match with_db(&state, move |db| db.audit_of(&atelier, AUDIT_LINES)).await {
        Ok(entries) => {
            let tz = signed.zone();
            let entries = entries.into_iter().map(|e| (when(e.at, tz), e)).collect();
            html(StatusCode::OK, &AuditPage { frame: Frame::of(&signed, "audit"), entries })
        }
        Err(page) => page,
    }
}

/// An amount as the office shows it, as the kiosk writes it in English ("£1,234.50").
fn money(minor: i64, currency: &str) -> String {
    match marketday_money::Currency::parse(currency) {
        Ok(currency) => marketday_money::Money::new(minor, currency).to_string(),
        // Not a currency code: the store took what a kiosk sent; show it as it is.
        Err(_) => format!("{minor} {currency}"),
    }
}

/// The pieces list's filters as the browser sends them (a plain GET form).
#[derive(Deserialize, Default)]
pub struct PiecesAsked {
    #[serde(default)]
    q: String,
    #[serde(default)]
    drop: String,
    #[serde(default)]
    stall: String,
    #[serde(default)]
    standing: String,
    #[serde(default)]
    page: String,
}

/// One line of the list, as shown.
struct PieceRow {
    serial: String,
    title: String,
    edition: String,
    price: String,
    /// Where the piece stands, in words.
    standing: String,
    lost: bool,
}

#[derive(Template)]
#[template(path = "office/pieces.html")]
struct PiecesPage {
    frame: Frame,
    asked: PiecesAsked,
    drops: Vec<String>,
    stalls: Vec<String>,
    standings: Vec<(&'static str, &'static str)>,
    rows: Vec<PieceRow>,
    total: i64,
    first: i64,
    last: i64,
    previous: Option<String>,
    next: Option<String>,
}

const PIECES_PER_PAGE: i64 = 50;

pub async fn pieces(
    State(state): State<Arc<AppState>>,
    signed: SignedIn,
    axum::extract::Query(asked): axum::extract::Query<PiecesAsked>,
) -> Response {
    let page = asked.page.trim().parse::<i64>().unwrap_or(1).clamp(1, 1_000_000);
    let query = PieceQuery {
        text: asked.q.chars().take(100).collect(),
        drop_id: Some(asked.drop.clone()).filter(|d| !d.is_empty()),
        stall: Some(asked.stall.clone()).filter(|s| !s.is_empty()),
        standing: Standing::from_code(&asked.standing),
        offset: (page - 1) * PIECES_PER_PAGE,
        limit: PIECES_PER_PAGE,
    };
    let atelier = signed.atelier().to_owned();
    let found = with_db(&state, move |db| Ok((db.pieces(&atelier, &query)?, db.drops_and_stalls(&atelier)?))).await;
    let (found, (drops, stalls)) = match found {
        Ok(found) => found,
        Err(page) => return page,
    };
    let tz = signed.zone();
    let rows = found
        .lines
        .into_iter()
        .map(|line| {
            let standing = match (&line.sold_by, &line.stall) {
                (Some(by), _) if by == "online" => format!("Sold online{}", on_day(line.sold_at, tz)),
                (Some(by), _) => format!("Sold at {by}{}", on_day(line.sold_at, tz)),
                (None, Some(stall)) => format!("At {stall}"),
                (None, None) => "In stock".to_owned(),
            };
            PieceRow {
                edition: marketday_provenance::Edition::new(line.edition_number, line.edition_size)
                    .map(|e| e.label(marketday_i18n::Language::En))
                    .unwrap_or_else(|_| format!("{} of {}", line.edition_number, line.edition_size)),
                price: money(line.price_minor, &line.currency),
                standing,
                lost: line.lost_at.is_some(),
                serial: line.serial,
                title: line.title,
            }
        })
        .collect();
    let first = ((page - 1) * PIECES_PER_PAGE + 1).min(found.total);
    let last = (page * PIECES_PER_PAGE).min(found.total);
    let link = |page: i64| {
        let pairs = [("q", &asked.q), ("drop", &asked.drop), ("stall", &asked.stall), ("standing", &asked.standing)];
        let mut url = String::from("/office/pieces?");
        for (name, value) in pairs.iter().filter(|(_, v)| !v.is_empty()) {
            url.push_str(&format!(
                "{name}={}&",
                percent_encoding::utf8_percent_encode(value, percent_encoding::NON_ALPHANUMERIC)
            ));
        }
        url.push_str(&format!("page={page}"));
        url
    };
    let page = PiecesPage {
        previous: (page > 1).then(|| link(page - 1)),
        next: (last < found.total).then(|| link(page + 1)),
        frame: Frame::of(&signed, "pieces"),
        drops,
        stalls,
        standings: Standing::ALL.iter().map(|s| (s.code(), s.label())).collect(),
        rows,
        total: found.total,
        first,
        last,
        asked,
    };
    html(StatusCode::OK, &page)
}

/// " on 5 Dec 2026", or nothing without a day.
fn on_day(ms: Option<i64>, tz: chrono_tz::Tz) -> String {
    ms.and_then(|ms| day_of(ms, tz)).map_or_else(String::new, |d| d.format(" on %-d %b %Y").to_string())
}

#[derive(Template)]
#[template(path = "office/kiosks.html")]
struct KiosksPage {
    frame: Frame,
    kiosks: Vec<KioskRow>,
    stalls: Vec<String>,
    form: PairForm,
    problems: Problems,
    paired: Option<String>,
}

struct KioskRow {
    id: String,
    stall: String,
    last_contact: String,
    pending: i64,
    received: i64,
    revoked: Option<String>,
    version: String,
    clock: String,
}

/// A kiosk's clock against the cloud's, in words: receipts, holds and drops' hours follow it.
fn clock_words(skew_s: Option<i64>) -> String {
    match skew_s {
        None => "not known yet".to_owned(),
        Some(s) if s.abs() <= 60 => "right".to_owned(),
        Some(s) => {
            let minutes = (s.abs() + 30) / 60;
            let amount = if minutes < 120 { format!("{minutes} min") } else { format!("{} h", (minutes + 30) / 60) };
            format!("{amount} {}", if s > 0 { "ahead" } else { "behind" })
        }
    }
}

#[derive(Deserialize, Default)]
pub struct PairForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    stall: String,
    #[serde(default)]
    device: String,
}

/// Wrong pairing codes one account may type in the throttle's window.
const PAIRING_TRIES: i64 = 5;

async fn kiosks_page(
    state: &Arc<AppState>,
    signed: &SignedIn,
    status: StatusCode,
    form: PairForm,
    problems: Problems,
    paired: Option<String>,
) -> Response {
    let atelier = signed.atelier().to_owned();
    let found = with_db(state, move |db| Ok((db.kiosks_of(&atelier)?, db.drops_and_stalls(&atelier)?.1))).await;
    let (kiosks, stalls) = match found {
        Ok(found) => found,
        Err(page) => return page,
    };
    let tz = signed.zone();
    let kiosks = kiosks
        .into_iter()
        .map(|k| KioskRow {
            last_contact: k.last_seen.map_or_else(|| "never".to_owned(), |ms| when(ms, tz)),
            revoked: k.revoked_at.map(|ms| when(ms, tz)),
            id: k.id,
            stall: k.stall,
            pending: k.pending,
            received: k.received,
            version: k.version.unwrap_or_else(|| "not known yet".to_owned()),
            clock: clock_words(k.clock_skew_s),
        })
        .collect();
    let page = KiosksPage { frame: Frame::of(signed, "kiosks"), kiosks, stalls, form, problems, paired };
    html(status, &page)
}

pub async fn kiosks(State(state): State<Arc<AppState>>, signed: SignedIn) -> Response {
    if let Err(refused) = signed.owner_only() {
        return refused.into_response();
    }
    kiosks_page(&state, &signed, StatusCode::OK, PairForm::default(), Problems::default(), None).await
}

pub async fn pair_kiosk(State(state): State<Arc<AppState>>, signed: SignedIn, Form(form): Form<PairForm>) -> Response {
    if let Err(refused) = signed.check_form(&form.csrf).and_then(|()| signed.owner_only()) {
        return refused.into_response();
    }
    let mut problems = Problems::default();
    let code = crate::db::normal_code(&form.code);
    if code.len() != 8 {
        problems.add("code", "A pairing code has 8 letters and digits, as the kiosk's screen shows it.");
    }
    let stall = form.stall.trim().to_owned();
    if stall.is_empty() || stall.chars().count() > 80 {
        problems.add("stall", "Name the stall the kiosk is for (at most 80 characters).");
    }
    let device = form.device.trim().to_owned();
    let fair = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    if device.is_empty() || device.len() > 40 || !device.chars().all(fair) {
        problems.add("device", "A kiosk's name is 1 to 40 letters, digits, '-' or '_', such as brighton-1.");
    }
    if !problems.is_empty() {
        return kiosks_page(&state, &signed, StatusCode::UNPROCESSABLE_ENTITY, form, problems, None).await;
    }
    let now = now_ms();
    let email = signed.email().to_owned();
    let since = now - THROTTLE_WINDOW_MS;
    let wrong = match with_db(&state, move |db| db.login_failures(Throttle::Pairing, &email, since)).await {
        Ok(wrong) => wrong,
        Err(page) => return page,
    };
    if wrong >= PAIRING_TRIES {
        problems.add("code", "Too many wrong codes. Wait 15 minutes, then start pairing again on the kiosk.");
        return kiosks_page(&state, &signed, StatusCode::TOO_MANY_REQUESTS, form, problems, None).await;
    }
    let (atelier, actor, at, named) =
        (signed.atelier().to_owned(), signed.email().to_owned(), stall.clone(), device.clone());
    let claimed = with_db(&state, move |db| {
        let claimed = db.claim_pairing(&atelier, &code, &at, &named, &actor, now);
        if claimed == Err(crate::db::ClaimError::UnknownCode) {
            db.record_failure(Throttle::Pairing, &actor, now)?;
        }
        Ok(claimed)
    })
    .await;
    match claimed {
        Ok(Ok(())) => {
            let said = format!(
                "Paired: {device} at {stall}. The kiosk picks this up within a few seconds and then pulls the catalog."
            );
            kiosks_page(&state, &signed, StatusCode::OK, PairForm::default(), Problems::default(), Some(said)).await
        }
        Ok(Err(crate::db::ClaimError::Store(why))) => {
            tracing::error!(%why, "back office: pairing failed in the store");
            super::notice(
                StatusCode::SERVICE_UNAVAILABLE,
                "Pairing failed",
                "Nothing was changed. Try again in a minute.",
            )
        }
        Ok(Err(refused)) => {
            let field = if matches!(refused, crate::db::ClaimError::DeviceTaken(_)) { "device" } else { "code" };
            problems.add(field, refused.to_string());
            kiosks_page(&state, &signed, StatusCode::UNPROCESSABLE_ENTITY, form, problems, None).await
        }
        Err(page) => page,
    }
}

pub async fn revoke_kiosk(
    State(state): State<Arc<AppState>>,
    signed: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Err(refused) = signed.check_form(&form.csrf).and_then(|()| signed.owner_only()) {
        return refused.into_response();
    }
    let (atelier, actor) = (signed.atelier().to_owned(), signed.email().to_owned());
    match with_db(&state, move |db| db.revoke_device(&atelier, &id, &actor, now_ms())).await {
        Ok(()) => Redirect::to("/office/kiosks").into_response(),
        Err(page) => page,
    }
}

#[cfg(test)]
mod tests {
    use super::clock_words;

    #[test]
    fn a_kiosk_s_clock_is_said_in_minutes_or_hours() {
        assert_eq!(clock_words(None), "not known yet");
        assert_eq!(clock_words(Some(-59)), "right");
        assert_eq!(clock_words(Some(181)), "3 min ahead");
        assert_eq!(clock_words(Some(-7_200)), "2 h behind");
    }
}
