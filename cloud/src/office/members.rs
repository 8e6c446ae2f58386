//! The Members page: waitlist members, imported from the atelier's mailing-list spreadsheet
//! (all rows or none), published to every kiosk for the drops' members' hours; and each
//! member's pass, a QR code the kiosk's Sell screen checks them in by.

use std::collections::HashSet;
use std::sync::Arc;

use askama::Template;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::catalog::{open_csv, read_upload};
use super::pages::{Frame, Problems};
use super::{SignedIn, html, notice, with_db};
use crate::api::AppState;
use crate::now_ms;
use crate::wire::MemberChange;

/// Members on a page.
const PAGE: i64 = 50;
/// At most this many rows in one file: a mailing list, imported in parts if larger.
const MAX_ROWS: usize = 10_000;
/// What a pass's QR code says before the member's id: the kiosk's Sell screen reads it.
pub const PASS_PREFIX: &str = "MEMBER:";

#[derive(Deserialize, Default)]
pub struct MembersAsked {
    #[serde(default)]
    q: String,
    #[serde(default)]
    page: String,
}

/// A spreadsheet row: text, not yet checked.
#[derive(Debug, Default, Deserialize)]
struct MemberFields {
    #[serde(default)]
    id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    waitlist: String,
}

/// A member's id when the spreadsheet gives none: from their email, so importing the same
/// list again names them the same.
fn id_from_email(email: &str) -> String {
    let digest = Sha256::digest(email.trim().to_lowercase().as_bytes());
    format!("M-{}", &data_encoding::HEXUPPER.encode(&digest)[..10])
}

impl MemberFields {
    fn check(self, drops: &[String], problems: &mut Problems) -> Option<MemberChange> {
        let name = self.name.trim().to_owned();
        if name.is_empty() || name.chars().count() > 120 {
            problems.add("name", "give the member's name (at most 120 characters)");
        }
        let email = self.email.trim().to_owned();
        let fair_email = email.len() <= 254
            && email.split_once('@').is_some_and(|(user, host)| !user.is_empty() && host.contains('.'))
            && !email.contains(char::is_whitespace);
        if !fair_email {
            problems.add("email", format!("not an email address: {email}"));
        }
        let id = match self.id.trim() {
            "" if fair_email => id_from_email(&email),
            "" => String::new(),
            id => id.to_owned(),
        };
        if !id.is_empty() && (id.len() > 40 || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')) {
            problems.add("id", "1 to 40 letters, digits, '-' or '_' (or leave it empty)");
        }
        let mut waitlist = Vec::new();
        for drop in self.waitlist.split(|c: char| c.is_whitespace() || c == ';' || c == '|').filter(|d| !d.is_empty()) {
            if !drops.iter().any(|d| d == drop) {
                problems.add("waitlist", format!("there is no drop {drop}"));
            } else if !waitlist.iter().any(|d| d == drop) {
                waitlist.push(drop.to_owned());
            }
        }
        problems.is_empty().then_some(MemberChange { id, name, email, waitlist })
    }
}

/// Every row checked: the members, or each bad row with its number and what is wrong; the
/// outer error is the file's own trouble.
fn read_rows(file: &[u8], drops: &[String]) -> Result<Result<Vec<MemberChange>, Vec<String>>, String> {
    let (mut reader, headers) = open_csv(file, &["name", "email"])?;
    let (mut members, mut bad) = (Vec::new(), Vec::new());
    let (mut ids, mut emails) = (HashSet::new(), HashSet::new());
    for (i, record) in reader.records().enumerate() {
        let row = i + 2;
        if i >= MAX_ROWS {
            return Err(format!("The file has more than {MAX_ROWS} members: import it in parts."));
        }
        let fields: MemberFields = match record.and_then(|r| r.deserialize(Some(&headers))) {
            Ok(fields) => fields,
            Err(e) => {
                bad.push(format!("Row {row}: {e}"));
                continue;
            }
        };
        let mut problems = Problems::default();
        let label = fields.email.trim().to_owned();
        if let Some(m) = fields.check(drops, &mut problems) {
            if !emails.insert(m.email.to_lowercase()) {
                problems.add("email", format!("{} is in the file twice", m.email));
            } else if !ids.insert(m.id.clone()) {
                problems.add("id", format!("the id {} is in the file twice", m.id));
            } else {
                members.push(m);
                continue;
            }
        }
        let label = if label.is_empty() { String::new() } else { format!(" ({label})") };
        bad.push(format!("Row {row}{label}: {}", problems.said()));
    }
    if members.is_empty() && bad.is_empty() {
        return Err("The file has a header row and no members.".to_owned());
    }
    Ok(if bad.is_empty() { Ok(members) } else { Err(bad) })
}

struct Row {
    member: MemberChange,
    pass: String,
}

#[derive(Template)]
#[template(path = "office/members.html")]
struct MembersPage {
    frame: Frame,
    q: String,
    rows: Vec<Row>,
    total: i64,
    previous: Option<String>,
    next: Option<String>,
    problem: Option<String>,
    bad_rows: Vec<String>,
    imported: Option<usize>,
}

struct Listed {
    q: String,
    page: i64,
    problem: Option<String>,
    bad_rows: Vec<String>,
    imported: Option<usize>,
}

async fn page(state: &Arc<AppState>, signed: &SignedIn, status: StatusCode, listed: Listed) -> Response {
    let (atelier, text, at) = (signed.atelier().to_owned(), listed.q.clone(), listed.page);
    let (members, total) = match with_db(state, move |db| db.members(&atelier, &text, (at - 1) * PAGE, PAGE)).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let link = |p: i64| {
        let q = percent_encoding::utf8_percent_encode(&listed.q, percent_encoding::NON_ALPHANUMERIC);
        format!("/office/members?q={q}&page={p}")
    };
    let rows = members
        .into_iter()
        .map(|member| Row {
            pass: format!(
                "/office/members/{}/pass",
                percent_encoding::utf8_percent_encode(&member.id, percent_encoding::NON_ALPHANUMERIC)
            ),
            member,
        })
        .collect();
    let shown = MembersPage {
        frame: Frame::of(signed, "members"),
        rows,
        total,
        previous: (at > 1).then(|| link(at - 1)),
        next: (at * PAGE < total).then(|| link(at + 1)),
        q: listed.q,
        problem: listed.problem,
        bad_rows: listed.bad_rows,
        imported: listed.imported,
    };
    html(status, &shown)
}

pub async fn members(
    State(state): State<Arc<AppState>>,
    signed: SignedIn,
    Query(asked): Query<MembersAsked>,
) -> Response {
    let at = asked.page.trim().parse::<i64>().unwrap_or(1).clamp(1, 100_000);
    let listed = Listed { q: asked.q.trim().to_owned(), page: at, problem: None, bad_rows: Vec::new(), imported: None };
    page(&state, &signed, StatusCode::OK, listed).await
}

pub async fn import(State(state): State<Arc<AppState>>, signed: SignedIn, multipart: Multipart) -> Response {
    let refused = |problem: Option<String>, bad_rows: Vec<String>| Listed {
        q: String::new(),
        page: 1,
        problem,
        bad_rows,
        imported: None,
    };
    let upload = match read_upload(multipart).await {
        Ok(upload) => upload,
        Err(why) => return page(&state, &signed, StatusCode::BAD_REQUEST, refused(Some(why), Vec::new())).await,
    };
    if let Err(refusal) = signed.check_form(&upload.csrf) {
        return refusal.into_response();
    }
    let atelier = signed.atelier().to_owned();
    let drops = match with_db(&state, move |db| db.published_drops(&atelier)).await {
        Ok(drops) => drops.into_iter().map(|d| d.id).collect::<Vec<_>>(),
        Err(page) => return page,
    };
    let members = match read_rows(&upload.file, &drops) {
        Ok(Ok(members)) => members,
        Ok(Err(rows)) => return page(&state, &signed, StatusCode::UNPROCESSABLE_ENTITY, refused(None, rows)).await,
        Err(why) => {
            return page(&state, &signed, StatusCode::UNPROCESSABLE_ENTITY, refused(Some(why), Vec::new())).await;
        }
    };
    let (atelier, actor, count) = (signed.atelier().to_owned(), signed.email().to_owned(), members.len());
    match with_db(&state, move |db| db.import_members(&atelier, &members, &actor, now_ms())).await {
        Ok(()) => {
            let listed = Listed { imported: Some(count), ..refused(None, Vec::new()) };
            page(&state, &signed, StatusCode::OK, listed).await
        }
        Err(page) => page,
    }
}

#[derive(Template)]
#[template(path = "office/pass.html")]
struct PassPage {
    atelier: String,
    member: MemberChange,
    /// The QR code as SVG, drawn here from the encoder's modules (nothing from the member
    /// goes into it but through the encoder).
    qr: String,
}

/// A member's pass, to print or to send: the QR code the kiosk checks them in by.
pub async fn pass(State(state): State<Arc<AppState>>, signed: SignedIn, Path(id): Path<String>) -> Response {
    let atelier = signed.atelier().to_owned();
    let member = match with_db(&state, move |db| db.member(&atelier, &id)).await {
        Ok(Some(member)) => member,
        Ok(None) => return notice(StatusCode::NOT_FOUND, "No such member", "No waitlist member has this id."),
        Err(page) => return page,
    };
    let Some(qr) = qr_svg(&format!("{PASS_PREFIX}{}", member.id)) else {
        return notice(StatusCode::UNPROCESSABLE_ENTITY, "No pass for this member", "Their id is too long for a code.");
    };
    html(StatusCode::OK, &PassPage { atelier: signed.atelier().to_owned(), member, qr })
}

/// `text` as a QR code in SVG, one path of dark modules with a four-module quiet zone.
fn qr_svg(text: &str) -> Option<String> {
    let code = qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::M).ok()?;
    let width = code.width();
    let size = width + 8;
    let mut path = String::new();
    for (i, color) in code.to_colors().into_iter().enumerate() {
        if color == qrcode::Color::Dark {
            path.push_str(&format!("M{} {}h1v1h-1z", i % width + 4, i / width + 4));
        }
    }
    Some(format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {size} {size}\" shape-rendering=\"crispEdges\" \
         role=\"img\" aria-label=\"Member pass code\"><rect width=\"{size}\" height=\"{size}\" fill=\"#fff\"/>\
         <path d=\"{path}\" fill=\"#000\"/></svg>"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(csv: &str) -> Result<Result<Vec<MemberChange>, Vec<String>>, String> {
        read_rows(csv.as_bytes(), &["spinel".to_owned(), "moonstone".to_owned()])
    }

    #[test]
    fn a_mailing_list_is_read_whole_or_each_bad_row_said() {
        let good = read("\u{feff}name,email,waitlist\nAda Lin,ada@example.com,spinel moonstone\nBo,bo@example.com,\n");
        let members = good.unwrap().unwrap();
        assert_eq!(members.len(), 2);
        assert_eq!(members[0].waitlist, ["spinel", "moonstone"]);
        assert_eq!(members[0].id, id_from_email("ADA@example.com "), "the same id from the same address");
        assert!(members[0].id.starts_with("M-") && members[0].id != members[1].id);

        let bad = read(
            "id,name,email,waitlist\nM1,Ada,ada@example.com,spinel\nM2,,not-an-address,\nM3,Cy,cy@example.com,opal\n\
             M4,Di,ADA@example.com,\nM1,Ed,ed@example.com,\n",
        )
        .unwrap()
        .unwrap_err();
        assert_eq!(bad.len(), 4, "{bad:?}");
        assert!(bad[0].starts_with("Row 3 (not-an-address)") && bad[0].contains("name: Give the member's name"));
        assert!(bad[0].contains("Not an email address: not-an-address"), "{bad:?}");
        assert!(bad[1].starts_with("Row 4 (cy@example.com)") && bad[1].contains("no drop opal"), "{bad:?}");
        assert!(bad[2].starts_with("Row 5") && bad[2].contains("ADA@example.com is in the file twice"), "{bad:?}");
        assert!(bad[3].starts_with("Row 6") && bad[3].contains("id M1 is in the file twice"), "{bad:?}");
        assert!(read("name;mail\nA;a@b.c\n").unwrap_err().contains("it has no email"));
        assert!(read("name,email\n").unwrap_err().contains("no members"));
    }

    #[test]
    fn a_pass_is_drawn_from_the_encoder_s_modules() {
        let svg = qr_svg("MEMBER:M-1").unwrap();
        let code = qrcode::QrCode::with_error_correction_level(b"MEMBER:M-1", qrcode::EcLevel::M).unwrap();
        let dark = code.to_colors().into_iter().filter(|c| *c == qrcode::Color::Dark).count();
        assert_eq!(svg.matches("h1v1h-1z").count(), dark);
        assert!(svg.contains(&format!("viewBox=\"0 0 {0} {0}\"", code.width() + 8)));
    }
}
