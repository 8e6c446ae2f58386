//! The Stalls page: each stall's kiosks, pieces on sale and sold, and sending pieces to a
//! stall (typed or scanned serials, ranges, or a drop's pieces still in the workshop).

use std::sync::Arc;

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::clock::when;
use super::pages::{Frame, Problems};
use super::{SignedIn, html, with_db};
use crate::api::AppState;
use crate::db::{Sent, StallLine};
use crate::now_ms;

/// At most this many pieces go in one form: a drop is tens, a whole catalog a few thousand.
const MAX_PIECES: usize = 5_000;

/// The serials in `text`: separated by spaces, commas, semicolons or lines (a barcode
/// scanner types one per line), upper-cased, each once, in the order given. `A..B` is every
/// serial from A to B, where B is A's number or all of A with another number
/// (`RG-2026-0001..0024`, `RG-2026-0001..RG-2026-0024`).
pub fn serials(text: &str) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    // Refused at the first serial past the limit, before a form of ranges costs more.
    let too_many = || format!("at most {MAX_PIECES} pieces at a time");
    let mut add = |serial: String| -> Result<(), String> {
        if seen.insert(serial.clone()) {
            out.push(serial);
        }
        if out.len() > MAX_PIECES { Err(too_many()) } else { Ok(()) }
    };
    for word in text.split(|c: char| c.is_whitespace() || c == ',' || c == ';').filter(|w| !w.is_empty()) {
        let word = word.to_ascii_uppercase();
        let Some((from, to)) = word.split_once("..") else {
            add(word)?;
            continue;
        };
        let digits = from.len() - from.trim_end_matches(|c: char| c.is_ascii_digit()).len();
        let (prefix, first) = from.split_at(from.len() - digits);
        let last = to.strip_prefix(prefix).unwrap_or(to);
        let range = || format!("{word} is not a range: write it as {prefix}0001..{prefix}0024, or {prefix}0001..0024");
        if digits == 0 || last.is_empty() || !last.bytes().all(|b| b.is_ascii_digit()) {
            return Err(range());
        }
        let (Ok(a), Ok(b)) = (first.parse::<u64>(), last.parse::<u64>()) else { return Err(range()) };
        if a > b {
            return Err(format!("{word} runs backwards: put the lower number first"));
        }
        if b - a >= MAX_PIECES as u64 {
            return Err(format!("{word} is more than {MAX_PIECES} pieces"));
        }
        for n in a..=b {
            add(format!("{prefix}{n:0digits$}"))?;
        }
    }
    Ok(out)
}

struct StallRow {
    line: StallLine,
    last_contact: String,
    link: String,
}

#[derive(Template)]
#[template(path = "office/stalls.html")]
struct StallsPage {
    frame: Frame,
    stalls: Vec<StallRow>,
    drops: Vec<String>,
    shown: Shown,
}

/// The page's forms as sent, and what came of them.
#[derive(Default)]
struct Shown {
    form: SendForm,
    problems: Problems,
    refused: Vec<String>,
    online: OnlineForm,
    online_problems: Problems,
    online_refused: Vec<String>,
    said: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct OnlineForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    order: String,
    #[serde(default)]
    serials: String,
}

#[derive(Deserialize, Default)]
pub struct SendForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    stall: String,
    #[serde(default)]
    serials: String,
    #[serde(default)]
    drop: String,
}

async fn page(state: &Arc<AppState>, signed: &SignedIn, status: StatusCode, shown: Shown) -> Response {
    let atelier = signed.atelier().to_owned();
    let found = with_db(state, move |db| Ok((db.stalls(&atelier)?, db.drops_and_stalls(&atelier)?.0))).await;
    let (stalls, drops) = match found {
        Ok(found) => found,
        Err(page) => return page,
    };
    let stalls = stalls
        .into_iter()
        .map(|line| StallRow {
            last_contact: line.last_seen.map_or_else(|| "never".to_owned(), |ms| when(ms, signed.zone())),
            link: format!("/office/pieces?stall={}", percent_encoding::utf8_percent_encode(&line.name, QUERY)),
            line,
        })
        .collect();
    html(status, &StallsPage { frame: Frame::of(signed, "stalls"), stalls, drops, shown })
}

/// What a query value must escape.
const QUERY: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

pub async fn stalls(State(state): State<Arc<AppState>>, signed: SignedIn) -> Response {
    page(&state, &signed, StatusCode::OK, Shown::default()).await
}

pub async fn send(State(state): State<Arc<AppState>>, signed: SignedIn, Form(form): Form<SendForm>) -> Response {
    if let Err(refused) = signed.check_form(&form.csrf) {
        return axum::response::IntoResponse::into_response(refused);
    }
    let mut problems = Problems::default();
    let stall = form.stall.trim().to_owned();
    if stall.is_empty() || stall.chars().count() > 80 {
        problems.add("stall", "Name the stall the pieces go to (at most 80 characters).");
    }
    let mut chosen = match serials(&form.serials) {
        Ok(chosen) => chosen,
        Err(why) => {
            problems.add("serials", why);
            Vec::new()
        }
    };
    let drop = form.drop.trim().to_owned();
    if !drop.is_empty() && problems.of("serials").is_empty() {
        let (atelier, wanted) = (signed.atelier().to_owned(), drop.clone());
        match with_db(&state, move |db| db.in_workshop(&atelier, &wanted)).await {
            Ok(serials) if serials.is_empty() => {
                problems.add("drop", format!("No piece of {drop} is left in the workshop."));
            }
            Ok(serials) => {
                let typed: std::collections::HashSet<String> = chosen.iter().cloned().collect();
                chosen.extend(serials.into_iter().filter(|s| !typed.contains(s)));
            }
            Err(page) => return page,
        }
    }
    if chosen.is_empty() && problems.of("serials").is_empty() && problems.of("drop").is_empty() {
        problems.add("serials", "Type or scan the pieces' serials, or choose a drop.");
    }
    if !problems.is_empty() {
        return page(&state, &signed, StatusCode::UNPROCESSABLE_ENTITY, Shown { form, problems, ..Shown::default() })
            .await;
    }
    let (atelier, actor, to) = (signed.atelier().to_owned(), signed.email().to_owned(), stall.clone());
    let sent = with_db(&state, move |db| db.send_to_stall(&atelier, &to, &chosen, &actor, now_ms())).await;
    match sent {
        Ok(Sent::Done { sent, moved }) => {
            let pieces = if sent == 1 { "1 piece".to_owned() } else { format!("{sent} pieces") };
            let from = match moved {
                0 => String::new(),
                1 => " (1 of them from another stall)".to_owned(),
                n => format!(" ({n} of them from other stalls)"),
            };
            let said = format!("Sent {pieces} to {stall}{from}. Its kiosks pick them up at their next pull.");
            page(&state, &signed, StatusCode::OK, Shown { said: Some(said), ..Shown::default() }).await
        }
        Ok(Sent::Refused(why)) => {
            let refused = why.iter().map(ToString::to_string).collect();
            page(&state, &signed, StatusCode::UNPROCESSABLE_ENTITY, Shown { form, refused, ..Shown::default() }).await
        }
        Err(page) => page,
    }
}

/// Records a sale in the online shop: its pieces are sold, kiosks learn it at their next
/// pull, and a stall's later sale of them is refused.
pub async fn sell_online(
    State(state): State<Arc<AppState>>,
    signed: SignedIn,
    Form(form): Form<OnlineForm>,
) -> Response {
    if let Err(refused) = signed.check_form(&form.csrf) {
        return axum::response::IntoResponse::into_response(refused);
    }
    let mut problems = Problems::default();
    let order = form.order.trim().to_owned();
    let fair = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '#';
    if order.is_empty() || order.len() > 40 || !order.chars().all(fair) {
        problems.add("order", "The shop's order number: 1 to 40 letters, digits, '-', '_' or '#', such as WEB-1042.");
    }
    let chosen = match serials(&form.serials) {
        Ok(chosen) if chosen.is_empty() => {
            problems.add("online_serials", "Type or scan the serials of the pieces the order bought.");
            chosen
        }
        Ok(chosen) => chosen,
        Err(why) => {
            problems.add("online_serials", why);
            Vec::new()
        }
    };
    if !problems.is_empty() {
        let shown = Shown { online: form, online_problems: problems, ..Shown::default() };
        return page(&state, &signed, StatusCode::UNPROCESSABLE_ENTITY, shown).await;
    }
    let (atelier, actor, sold) = (signed.atelier().to_owned(), signed.email().to_owned(), order.clone());
    let recorded = with_db(&state, move |db| db.record_online_sale(&atelier, &sold, &chosen, &actor, now_ms())).await;
    match recorded {
        Ok(Sent::Done { sent, .. }) => {
            let pieces = if sent == 1 { "1 piece".to_owned() } else { format!("{sent} pieces") };
            let said = format!("Order {order}: {pieces} sold online. Kiosks learn it at their next pull.");
            page(&state, &signed, StatusCode::OK, Shown { said: Some(said), ..Shown::default() }).await
        }
        Ok(Sent::Refused(why)) => {
            let online_refused = why.iter().map(ToString::to_string).collect();
            let shown = Shown { online: form, online_refused, ..Shown::default() };
            page(&state, &signed, StatusCode::UNPROCESSABLE_ENTITY, shown).await
        }
        Err(page) => page,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serials_come_as_a_scanner_types_them_and_ranges_are_expanded() {
        assert_eq!(
            serials("rg-2026-0001\nRG-2026-0003, RG-2026-0001;ms-1").unwrap(),
            ["RG-2026-0001", "RG-2026-0003", "MS-1"]
        );
        assert_eq!(serials("RG-2026-0008..0010").unwrap(), ["RG-2026-0008", "RG-2026-0009", "RG-2026-0010"]);
        assert_eq!(serials("rg-2026-0099..RG-2026-0100").unwrap(), ["RG-2026-0099", "RG-2026-0100"]);
        assert!(serials("").unwrap().is_empty());
        assert!(serials("RG-2026-0010..0008").unwrap_err().contains("backwards"));
        assert!(serials("RG-2026-0001..X").unwrap_err().contains("is not a range"));
        assert!(serials("RING..0004").unwrap_err().contains("is not a range"));
        assert!(serials("RG-0..RG-99999").unwrap_err().contains("more than 5000"));
        // Many ranges, each under the limit, are stopped at the limit, not expanded whole.
        let many: Vec<String> = (0..400).map(|i| format!("R{i}-0..4999")).collect();
        assert!(serials(&many.join(" ")).unwrap_err().contains("at most 5000"));
    }
}
