//! Drops: the list, adding one and changing its phases (opens, the members' hours, closes)
//! and its member limit. A drop is published like any catalog change; kiosks pull it.

use std::sync::Arc;

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::DateTime;
use chrono_tz::Tz;
use serde::Deserialize;

use super::clock::{field_time, parse_field_time};
use super::pages::{Frame, Problems};
use super::{SignedIn, html, notice, with_db};
use crate::api::AppState;
use crate::db::{CatalogEdit, DbError};
use crate::now_ms;
use crate::wire::DropChange;

/// A time as the list shows it, in the atelier's zone.
fn shown_time(ms: i64, tz: Tz) -> String {
    DateTime::from_timestamp_millis(ms)
        .map_or_else(|| "—".to_owned(), |t| t.with_timezone(&tz).format("%a %-d %b %Y, %H:%M").to_string())
}

/// A drop's fields as the form holds them.
#[derive(Deserialize, Default, Clone)]
pub struct DropFields {
    #[serde(default)]
    id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    opens: String,
    /// The end of the members' hours; empty for none.
    #[serde(default)]
    members_until: String,
    #[serde(default)]
    closes: String,
    #[serde(default)]
    member_limit: String,
}

impl DropFields {
    fn of(drop: &DropChange, tz: Tz) -> DropFields {
        DropFields {
            id: drop.id.clone(),
            name: drop.name.clone(),
            opens: field_time(drop.opens_at, tz),
            members_until: if drop.general_sale_at > drop.opens_at {
                field_time(drop.general_sale_at, tz)
            } else {
                String::new()
            },
            closes: field_time(drop.closes_at, tz),
            member_limit: drop.member_limit.to_string(),
        }
    }

    /// The drop, or every field's trouble noted in `problems`.
    fn check(&self, problems: &mut Problems, tz: Tz) -> Option<DropChange> {
        // "Spinel Ring" is meant as spinel-ring: say nothing of what is plain to read.
        let id = self.id.split_whitespace().collect::<Vec<_>>().join("-").to_ascii_lowercase();
        let fair = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-';
        if id.is_empty() || id.len() > marketday_provenance::MAX_DROP_ID || !id.chars().all(fair) {
            problems.add(
                "id",
                format!(
                    "A drop's id is 1 to {} lower-case letters, digits or '-', such as rose-gold-clasp.",
                    marketday_provenance::MAX_DROP_ID
                ),
            );
        }
        let name = self.name.trim().to_owned();
        if name.is_empty() || name.chars().count() > 80 {
            problems.add("name", "Give the drop a name (at most 80 characters).");
        }
        let time = |problems: &mut Problems, field: &'static str, text: &str| {
            let time = parse_field_time(text, tz);
            if time.is_none() {
                problems.add(field, "Give a date and time, such as 2026-12-12 10:00.");
            }
            time
        };
        let opens = time(problems, "opens", &self.opens);
        let members_until = match self.members_until.trim() {
            "" => opens,
            text => time(problems, "members_until", text),
        };
        let closes = time(problems, "closes", &self.closes);
        if let (Some(opens), Some(until)) = (opens, members_until)
            && until < opens
        {
            problems.add("members_until", "The members' hours end after the drop opens.");
        }
        if let (Some(until), Some(closes)) = (members_until, closes)
            && closes <= until
        {
            problems.add("closes", "The drop closes after it opens and after the members' hours.");
        }
        let member_limit = match self.member_limit.trim() {
            "" => Some(0),
            text => text.parse::<u32>().ok().filter(|n| *n <= 1_000),
        };
        if member_limit.is_none() {
            problems.add("member_limit", "A number of pieces from 0 (no limit) to 1000.");
        }
        if !problems.is_empty() {
            return None;
        }
        Some(DropChange {
            id,
            name,
            opens_at: opens?,
            general_sale_at: members_until?,
            closes_at: closes?,
            member_limit: member_limit?,
        })
    }
}

struct DropRow {
    opens_at: i64,
    id: String,
    name: String,
    opens: String,
    members: Option<String>,
    closes: String,
    member_limit: u32,
    pieces: i64,
    phase: &'static str,
}

#[derive(Template)]
#[template(path = "office/drops.html")]
struct DropsPage {
    frame: Frame,
    drops: Vec<DropRow>,
}

/// Where a drop stands at `now`, in words.
fn phase(drop: &DropChange, now: i64) -> &'static str {
    if now < drop.opens_at {
        "Not open yet"
    } else if now < drop.general_sale_at {
        "Members' hours"
    } else if now < drop.closes_at {
        "On sale to all"
    } else {
        "Closed"
    }
}

pub async fn drops(State(state): State<Arc<AppState>>, signed: SignedIn) -> Response {
    let atelier = signed.atelier().to_owned();
    let found = with_db(&state, move |db| Ok((db.published_drops(&atelier)?, db.drop_piece_counts(&atelier)?))).await;
    let (drops, counts) = match found {
        Ok(found) => found,
        Err(page) => return page,
    };
    let now = now_ms();
    let tz = signed.zone();
    let mut drops: Vec<DropRow> = drops
        .iter()
        .map(|d| DropRow {
            opens_at: d.opens_at,
            id: d.id.clone(),
            name: d.name.clone(),
            opens: shown_time(d.opens_at, tz),
            members: (d.general_sale_at > d.opens_at).then(|| shown_time(d.general_sale_at, tz)),
            closes: shown_time(d.closes_at, tz),
            member_limit: d.member_limit,
            pieces: counts.iter().find(|(id, _)| *id == d.id).map_or(0, |(_, n)| *n),
            phase: phase(d, now),
        })
        .collect();
    // Newest first: the one being prepared or on sale is what the atelier opens this for.
    drops.sort_by_key(|d| std::cmp::Reverse(d.opens_at));
    html(StatusCode::OK, &DropsPage { frame: Frame::of(&signed, "drops"), drops })
}

#[derive(Template)]
#[template(path = "office/drop.html")]
struct DropPage {
    frame: Frame,
    form: DropFields,
    problems: Problems,
    /// The id of the drop being changed; `None` when adding one.
    editing: Option<String>,
    saved: bool,
}

#[derive(Deserialize)]
pub struct DropForm {
    #[serde(default)]
    csrf: String,
    #[serde(flatten)]
    drop: DropFields,
}

fn drop_page(
    status: StatusCode,
    signed: &SignedIn,
    form: DropFields,
    problems: Problems,
    editing: Option<String>,
    saved: bool,
) -> Response {
    html(status, &DropPage { frame: Frame::of(signed, "drops"), form, problems, editing, saved })
}

pub async fn new_drop(signed: SignedIn) -> Response {
    let form = DropFields { member_limit: "1".into(), ..DropFields::default() };
    drop_page(StatusCode::OK, &signed, form, Problems::default(), None, false)
}

pub async fn add_drop(State(state): State<Arc<AppState>>, signed: SignedIn, Form(form): Form<DropForm>) -> Response {
    if let Err(refused) = signed.check_form(&form.csrf) {
        return refused.into_response();
    }
    let mut problems = Problems::default();
    let Some(drop) = form.drop.check(&mut problems, signed.zone()) else {
        return drop_page(StatusCode::UNPROCESSABLE_ENTITY, &signed, form.drop, problems, None, false);
    };
    let id = drop.id.clone();
    let (atelier, actor) = (signed.atelier().to_owned(), signed.email().to_owned());
    let published =
        with_db(&state, move |db| match db.publish_drop(&atelier, &drop, CatalogEdit::Add, &actor, now_ms()) {
            // The id is taken: by this very drop when a double click sent the form twice.
            Err(DbError::Invalid(why)) => {
                let same = db.published_drops(&atelier)?.contains(&drop);
                Ok((!same).then_some(why))
            }
            other => other.map(|()| None),
        })
        .await;
    match published {
        Ok(None) => Redirect::to(&format!("/office/drops/{id}?saved=added")).into_response(),
        Ok(Some(_)) => {
            problems.add("id", format!("The atelier already has a drop {id}: open it from the list to change it."));
            drop_page(StatusCode::UNPROCESSABLE_ENTITY, &signed, form.drop, problems, None, false)
        }
        Err(page) => page,
    }
}

/// The published drop `id`, or the page that says there is none.
async fn published(state: &Arc<AppState>, signed: &SignedIn, id: &str) -> Result<DropChange, Response> {
    let atelier = signed.atelier().to_owned();
    let drops = with_db(state, move |db| db.published_drops(&atelier)).await?;
    drops.into_iter().find(|d| d.id == id).ok_or_else(|| {
        notice(StatusCode::NOT_FOUND, "No such drop", "This atelier has no drop with that id. Choose one from Drops.")
    })
}

#[derive(Deserialize, Default)]
pub struct SavedQuery {
    #[serde(default)]
    saved: String,
}

pub async fn edit_drop(
    State(state): State<Arc<AppState>>,
    signed: SignedIn,
    Path(id): Path<String>,
    Query(query): Query<SavedQuery>,
) -> Response {
    match published(&state, &signed, &id).await {
        Ok(drop) => drop_page(
            StatusCode::OK,
            &signed,
            DropFields::of(&drop, signed.zone()),
            Problems::default(),
            Some(id),
            !query.saved.is_empty(),
        ),
        Err(page) => page,
    }
}

pub async fn save_drop(
    State(state): State<Arc<AppState>>,
    signed: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<DropForm>,
) -> Response {
    if let Err(refused) = signed.check_form(&form.csrf) {
        return refused.into_response();
    }
    if let Err(page) = published(&state, &signed, &id).await {
        return page;
    }
    // The id names the drop in pieces and certificates: it stays what the address says.
    let fields = DropFields { id: id.clone(), ..form.drop };
    let mut problems = Problems::default();
    let Some(drop) = fields.check(&mut problems, signed.zone()) else {
        return drop_page(StatusCode::UNPROCESSABLE_ENTITY, &signed, fields, problems, Some(id), false);
    };
    let (atelier, actor) = (signed.atelier().to_owned(), signed.email().to_owned());
    match with_db(&state, move |db| db.publish_drop(&atelier, &drop, CatalogEdit::Edit, &actor, now_ms())).await {
        Ok(()) => Redirect::to(&format!("/office/drops/{id}?saved=changed")).into_response(),
        Err(page) => page,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(opens: &str, members_until: &str, closes: &str, limit: &str) -> DropFields {
        DropFields {
            id: " Rose Gold-Clasp".into(),
            name: " Rose gold clasp ".into(),
            opens: opens.into(),
            members_until: members_until.into(),
            closes: closes.into(),
            member_limit: limit.into(),
        }
    }

    #[test]
    fn a_drop_s_phases_follow_each_other_as_a_kiosk_requires() {
        let mut problems = Problems::default();
        let drop = fields("2026-12-12T10:00", "2026-12-12 12:00", "2026-12-13T18:00", "2")
            .check(&mut problems, Tz::UTC)
            .unwrap();
        assert_eq!(
            (drop.id.as_str(), drop.name.as_str(), drop.member_limit),
            ("rose-gold-clasp", "Rose gold clasp", 2)
        );
        assert_eq!(drop.opens_at, parse_field_time("2026-12-12T10:00", Tz::UTC).unwrap());
        assert_eq!(drop.general_sale_at - drop.opens_at, 2 * 3_600_000);
        assert_eq!(DropFields::of(&drop, Tz::UTC).members_until, "2026-12-12T12:00");
        // No members' hours: on sale to all from the start.
        let open = fields("2026-12-12T10:00", "", "2026-12-13T18:00", "").check(&mut problems, Tz::UTC).unwrap();
        assert_eq!((open.general_sale_at, open.member_limit), (open.opens_at, 0));
        assert_eq!(DropFields::of(&open, Tz::UTC).members_until, "");
        for (bad, field) in [
            (fields("2026-12-12T10:00", "2026-12-12T09:00", "2026-12-13T18:00", "1"), "members_until"),
            (fields("2026-12-12T10:00", "", "2026-12-12T10:00", "1"), "closes"),
            (fields("12/12/2026", "", "2026-12-13T18:00", "1"), "opens"),
            (fields("2026-12-12T10:00", "", "2026-12-13T18:00", "-1"), "member_limit"),
            (DropFields { id: "rose/gold".into(), ..fields("2026-12-12T10:00", "", "2026-12-13T18:00", "1") }, "id"),
        ] {
            let mut problems = Problems::default();
            assert!(bad.check(&mut problems, Tz::UTC).is_none(), "{field}");
            assert!(!problems.of(field).is_empty(), "{field}: {}", problems.said());
        }
    }
}
