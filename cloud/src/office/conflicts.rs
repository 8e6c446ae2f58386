//! The Conflicts page: what the cloud refused from any kiosk, or a kiosk could not carry out
//! for the cloud, said for the atelier's owner with what to do; "dealt with" here reaches
//! the kiosk at its next pull, and a kiosk's own "Dealt with" shows here.

use std::sync::Arc;

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use super::clock::when;
use super::pages::{CsrfForm, Frame};
use super::{SignedIn, html, with_db};
use crate::api::AppState;
use crate::db::ConflictLine;
use crate::now_ms;

/// A conflict in the owner's words: what happened, and what to do about it.
#[derive(Debug, PartialEq, Eq)]
pub struct Explained {
    pub title: String,
    pub advice: &'static str,
}

/// Explains a conflict from its event's kind and the reason code, naming the stall.
pub fn explain(kind: &str, reason: &str, stall: &str) -> Explained {
    let what = match kind {
        "sale.completed" => format!("A sale at {stall}"),
        "sale.voided" => format!("A void at {stall}"),
        "sale.returned" => format!("A return at {stall}"),
        "reservation.refused" => format!("An online reservation for {stall}"),
        "dispatch.recorded" => format!("A hand-over to a courier at {stall}"),
        _ => format!("A change from {stall}"),
    };
    let (title, advice) = match (kind, reason) {
        (_, "piece_sold_elsewhere") => (
            format!("{what} was refused: the piece had been sold elsewhere first"),
            "Two buyers paid for one piece. Decide who keeps it, then refund the other buyer (the stall can \
             return the sale on its kiosk) or offer them another piece.",
        ),
        (_, "piece_allocated_elsewhere") => (
            format!("{what} was refused: the piece was sent to another stall"),
            "The cloud still lists the piece for sale at the other stall. Find out where the piece really is: \
             if this buyer has it, take it off sale there on the Stalls page; if not, contact this buyer.",
        ),
        ("reservation.refused", _) => (
            format!("{what} could not be kept there"),
            "The piece was no longer free at the stall. Contact the customer: offer another piece or refund \
             their deposit.",
        ),
        (_, "event_changed") => (
            format!("{what} arrived twice with different content"),
            "The first version stands; the other is kept aside. Check the stall's receipts for this time and \
             call the stall if they differ from the sales list.",
        ),
        (_, "malformed") => (
            format!("{what} could not be read by the cloud"),
            "The kiosk's software may be out of date: update it. If this keeps happening, send the details \
             below to support.",
        ),
        _ => (format!("{what} was refused by the cloud"), "Call the stall and go through the details below."),
    };
    Explained { title, advice }
}

struct Row {
    event_id: String,
    explained: Explained,
    message: String,
    kiosk: String,
    when: String,
    dealt: Option<String>,
}

#[derive(Template)]
#[template(path = "office/conflicts.html")]
struct ConflictsPage {
    frame: Frame,
    open: Vec<Row>,
    dealt: Vec<Row>,
}

fn row(c: ConflictLine, tz: chrono_tz::Tz) -> Row {
    Row {
        explained: explain(&c.kind, &c.reason, &c.stall),
        kiosk: format!("{} at {}", c.device, c.stall),
        when: when(c.at, tz),
        dealt: c.dealt.map(|d| format!("Dealt with by {} on {}", d.by, when(d.at, tz))),
        event_id: c.event_id,
        message: c.message,
    }
}

pub async fn conflicts(State(state): State<Arc<AppState>>, signed: SignedIn) -> Response {
    let atelier = signed.atelier().to_owned();
    let lines = match with_db(&state, move |db| db.conflicts(&atelier)).await {
        Ok(lines) => lines,
        Err(page) => return page,
    };
    let (dealt, open): (Vec<Row>, Vec<Row>) =
        lines.into_iter().map(|c| row(c, signed.zone())).partition(|r| r.dealt.is_some());
    html(StatusCode::OK, &ConflictsPage { frame: Frame::of(&signed, "conflicts"), open, dealt })
}

/// Staff and owners alike: dealing with the day's trouble is the day's work.
pub async fn deal_with(
    State(state): State<Arc<AppState>>,
    signed: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Err(refused) = signed.check_form(form.token()) {
        return refused.into_response();
    }
    let (atelier, actor) = (signed.atelier().to_owned(), signed.email().to_owned());
    match with_db(&state, move |db| db.deal_with_conflict(&atelier, &id, &actor, now_ms())).await {
        Ok(()) => Redirect::to("/office/conflicts").into_response(),
        Err(page) => page,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_the_cloud_gives_has_its_own_words() {
        use crate::wire::Reason;
        let reasons =
            [Reason::PieceSoldElsewhere, Reason::PieceAllocatedElsewhere, Reason::Malformed, Reason::EventChanged];
        let fallback = explain("sale.completed", "something_new", "Lewes");
        for reason in reasons {
            let said = explain("sale.completed", reason.as_str(), "Lewes");
            assert!(said.title.starts_with("A sale at Lewes"), "{said:?}");
            assert_ne!(said.advice, fallback.advice, "{reason:?} falls back to the general words");
        }
        let online = explain("reservation.refused", "piece_unavailable", "Lewes");
        assert!(online.advice.contains("Contact the customer"), "{online:?}");
        assert!(fallback.title.contains("refused by the cloud"));
    }
}
