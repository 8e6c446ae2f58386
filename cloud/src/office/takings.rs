//! Takings: one day's sales per stall and kiosk, summed from what the kiosks pushed by the
//! rules of their own Z report ([`crate::takings`]), on a page and as CSV.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use chrono_tz::Tz;
use marketday_money::{Currency, Money};
use serde::Deserialize;

use super::clock;
use super::pages::Frame;
use super::{SignedIn, html, notice, with_db};
use crate::api::AppState;
use crate::now_ms;
use crate::takings::{self, Takings};

#[derive(Deserialize, Default)]
pub struct DayQuery {
    #[serde(default)]
    day: String,
}

/// The day asked for (today when none), in the atelier's zone, and its bounds in ms.
fn day_of(query: &DayQuery, tz: Tz) -> Option<(NaiveDate, i64, i64)> {
    let day = match query.day.trim() {
        "" => clock::day_of(now_ms(), tz)?,
        text => NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?,
    };
    let (from, to) = clock::day_bounds(day, tz)?;
    Some((day, from, to))
}

fn no_such_day() -> Response {
    notice(StatusCode::BAD_REQUEST, "No such day", "Choose a day as 2026-12-05, or open Takings for today's.")
}

async fn summed(
    state: &Arc<AppState>,
    signed: &SignedIn,
    from: i64,
    to: i64,
) -> Result<(Vec<Takings>, usize), Response> {
    let atelier = signed.atelier().to_owned();
    let events = with_db(state, move |db| db.sales_events(&atelier, from, to)).await?;
    Ok(takings::sum(&events, from, to))
}

/// One row as the page shows it.
struct Row {
    stall: String,
    device: String,
    sales: u32,
    pieces: u32,
    cash: String,
    card: String,
    gross: String,
    vat: String,
    voids: u32,
    returns: u32,
    refunded: String,
}

impl Row {
    fn of(t: &Takings) -> Row {
        let m = |minor: i64| Money::new(minor, t.currency).to_string();
        Row {
            stall: t.stall.clone(),
            device: t.device.clone(),
            sales: t.sales,
            pieces: t.pieces,
            cash: m(t.cash),
            card: m(t.card),
            gross: m(t.gross),
            vat: m(t.vat),
            voids: t.voids,
            returns: t.returns,
            refunded: m(t.refunded),
        }
    }
}

/// Every kiosk's sums in one currency added up.
fn total(rows: &[Takings], currency: Currency) -> Takings {
    let mut all = Takings::empty("All stalls", "", currency);
    for t in rows.iter().filter(|t| t.currency == currency) {
        all.sales = all.sales.saturating_add(t.sales);
        all.pieces = all.pieces.saturating_add(t.pieces);
        all.gross = all.gross.saturating_add(t.gross);
        all.vat = all.vat.saturating_add(t.vat);
        all.cash = all.cash.saturating_add(t.cash);
        all.card = all.card.saturating_add(t.card);
        all.voids = all.voids.saturating_add(t.voids);
        all.returns = all.returns.saturating_add(t.returns);
        all.refunded = all.refunded.saturating_add(t.refunded);
    }
    all
}

#[derive(Template)]
#[template(path = "office/takings.html")]
struct TakingsPage {
    frame: Frame,
    day: String,
    heading: String,
    before: String,
    after: Option<String>,
    rows: Vec<Row>,
    totals: Vec<Row>,
    unreadable: usize,
}

pub async fn takings(State(state): State<Arc<AppState>>, signed: SignedIn, Query(query): Query<DayQuery>) -> Response {
    let Some((day, from, to)) = day_of(&query, signed.zone()) else { return no_such_day() };
    let (sums, unreadable) = match summed(&state, &signed, from, to).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let mut currencies: Vec<Currency> = sums.iter().map(|t| t.currency).collect();
    currencies.sort_by(|a, b| a.code().cmp(b.code()));
    currencies.dedup();
    let totals =
        if sums.len() > 1 { currencies.iter().map(|c| Row::of(&total(&sums, *c))).collect() } else { Vec::new() };
    let today = clock::day_of(now_ms(), signed.zone());
    let page = TakingsPage {
        frame: Frame::of(&signed, "takings"),
        day: day.format("%Y-%m-%d").to_string(),
        heading: if Some(day) == today { "Today".to_owned() } else { day.format("%A %-d %B %Y").to_string() },
        before: day.pred_opt().map_or_else(String::new, |d| d.format("%Y-%m-%d").to_string()),
        after: day.succ_opt().filter(|d| Some(*d) <= today).map(|d| d.format("%Y-%m-%d").to_string()),
        rows: sums.iter().map(Row::of).collect(),
        totals,
        unreadable,
    };
    html(StatusCode::OK, &page)
}

/// An amount as a spreadsheet reads it: "1234.50", no symbol, no grouping.
fn plain(minor: i64, currency: Currency) -> String {
    let exp = currency.exponent();
    if exp == 0 {
        return minor.to_string();
    }
    let scale = 10_i64.pow(exp);
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    format!("{sign}{}.{:0width$}", abs / scale as u64, abs % scale as u64, width = exp as usize)
}

/// The day's takings as CSV, a row per stall and kiosk, for a spreadsheet or the accountant.
pub async fn takings_csv(
    State(state): State<Arc<AppState>>,
    signed: SignedIn,
    Query(query): Query<DayQuery>,
) -> Response {
    let Some((day, from, to)) = day_of(&query, signed.zone()) else { return no_such_day() };
    let (sums, _) = match summed(&state, &signed, from, to).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let mut out = csv::Writer::from_writer(Vec::new());
    let day_text = day.format("%Y-%m-%d").to_string();
    let mut rows = vec![
        [
            "day", "stall", "kiosk", "currency", "sales", "pieces", "takings", "vat", "cash", "card", "voids",
            "returns", "refunded",
        ]
        .map(str::to_owned),
    ];
    for t in &sums {
        let m = |minor| plain(minor, t.currency);
        rows.push([
            day_text.clone(),
            t.stall.clone(),
            t.device.clone(),
            t.currency.code().to_owned(),
            t.sales.to_string(),
            t.pieces.to_string(),
            m(t.gross),
            m(t.vat),
            m(t.cash),
            m(t.card),
            t.voids.to_string(),
            t.returns.to_string(),
            m(t.refunded),
        ]);
    }
    for row in &rows {
        if let Err(e) = out.write_record(row) {
            tracing::error!(error = %e, "back office: the takings CSV could not be written");
            return notice(StatusCode::INTERNAL_SERVER_ERROR, "No file was made", "Try again in a minute.");
        }
    }
    let Ok(bytes) = out.into_inner() else {
        return notice(StatusCode::INTERNAL_SERVER_ERROR, "No file was made", "Try again in a minute.");
    };
    let mut response = (StatusCode::OK, bytes).into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"takings-{day_text}.csv\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spreadsheet_gets_plain_amounts() {
        assert_eq!(plain(123_450, Currency::GBP), "1234.50");
        assert_eq!(plain(-5, Currency::GBP), "-0.05");
        assert_eq!(plain(1200, Currency::parse("JPY").unwrap()), "1200");
    }
}
