//! The sales list: every sale kiosks pushed, newest first, with what was taken back of it;
//! found by receipt number or by any of its text (a serial, a title, a card reference).

use std::sync::Arc;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::clock::when;
use super::pages::Frame;
use super::{SignedIn, html, with_db};
use crate::api::AppState;
use crate::takings;

/// Sales on a page.
const PAGE: i64 = 50;

#[derive(Deserialize, Default)]
pub struct SalesAsked {
    #[serde(default)]
    q: String,
    #[serde(default)]
    page: String,
}

struct SaleRow {
    receipt: String,
    when: String,
    stall: String,
    pieces: String,
    total: String,
    paid: String,
    state: Option<String>,
    voided: bool,
}

#[derive(Template)]
#[template(path = "office/sales.html")]
struct SalesPage {
    frame: Frame,
    q: String,
    rows: Vec<SaleRow>,
    total: i64,
    /// More sales match than `total`, the most counted.
    more: bool,
    first: i64,
    last: i64,
    previous: Option<String>,
    next: Option<String>,
    unreadable: usize,
}

pub async fn sales(State(state): State<Arc<AppState>>, signed: SignedIn, Query(asked): Query<SalesAsked>) -> Response {
    let page = asked.page.trim().parse::<i64>().unwrap_or(1).clamp(1, 100_000);
    let (atelier, text) = (signed.atelier().to_owned(), asked.q.trim().to_owned());
    let found = with_db(&state, move |db| {
        let (sales, total) = db.sales(&atelier, &text, (page - 1) * PAGE, PAGE)?;
        // Taken back after the oldest sale shown: nothing older can be about these.
        let since = sales.iter().map(|s| s.at).min().unwrap_or(i64::MAX);
        Ok((sales, total, db.reversals_since(&atelier, since)?))
    })
    .await;
    let (sales, total, reversals) = match found {
        Ok(found) => found,
        Err(page) => return page,
    };
    let mut unreadable = 0;
    let rows = sales
        .iter()
        .filter_map(|sale| {
            let listed = takings::listed(sale, &reversals);
            unreadable += usize::from(listed.is_none());
            listed
        })
        .map(|s| {
            let mut paid: Vec<String> = s
                .tenders
                .iter()
                .map(|(kind, amount)| format!("{} {amount}", if *kind == "cash" { "Cash" } else { "Card" }))
                .collect();
            if s.change.minor > 0 {
                paid.push(format!("change {}", s.change));
            }
            let state = if s.voided {
                Some("Voided".to_owned())
            } else if !s.returned.is_empty() {
                let back = s.refunded.map(|m| format!(", {m} back")).unwrap_or_default();
                Some(format!("Returned: {}{back}", s.returned.join(", ")))
            } else {
                None
            };
            SaleRow {
                receipt: s.receipt,
                when: when(s.at, signed.zone()),
                stall: s.stall,
                pieces: s.serials.join(", "),
                total: s.total.to_string(),
                paid: paid.join(" · "),
                state,
                voided: s.voided,
            }
        })
        .collect();
    let link = |p: i64| {
        let q = percent_encoding::utf8_percent_encode(asked.q.trim(), percent_encoding::NON_ALPHANUMERIC);
        format!("/office/sales?q={q}&page={p}")
    };
    let first = if total == 0 { 0 } else { (page - 1) * PAGE + 1 };
    let more = total > crate::db::sales::COUNT_CAP;
    let total = total.min(crate::db::sales::COUNT_CAP);
    let shown = SalesPage {
        more,
        frame: Frame::of(&signed, "sales"),
        q: asked.q.trim().to_owned(),
        rows,
        total,
        first,
        last: (page * PAGE).min(total),
        previous: (page > 1).then(|| link(page - 1)),
        next: (page * PAGE < total).then(|| link(page + 1)),
        unreadable,
    };
    html(StatusCode::OK, &shown)
}
