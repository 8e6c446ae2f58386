//! How the screens say things: amounts, times, countdowns and device states in words.
//! Shared by the screen modules so that one thing is always said one way.

use std::rc::Rc;

use chrono::{DateTime, Local, Utc};
use marketday_hardware::{CameraStatus, PrinterStatus};
use slint::{ModelRc, SharedString, VecModel};

use super::services::Severity;
use crate::domain::Money;
use crate::i18n::Language;
use crate::t;

pub fn model<T: Clone + 'static>(rows: Vec<T>) -> ModelRc<T> {
    ModelRc::from(Rc::new(VecModel::from(rows)))
}

/// Makes `model` hold `rows`, changing only the rows that differ: a page's repeater then
/// redraws those rows alone instead of building every element again.
pub fn update_rows<T: Clone + PartialEq + 'static>(model: &VecModel<T>, rows: Vec<T>) {
    use slint::Model;
    let old = model.row_count();
    for (i, row) in rows.iter().enumerate().take(old) {
        if model.row_data(i).as_ref() != Some(row) {
            model.set_row_data(i, row.clone());
        }
    }
    if rows.len() < old {
        for i in (rows.len()..old).rev() {
            model.remove(i);
        }
    } else {
        model.extend(rows.into_iter().skip(old));
    }
}

/// An amount as the pages show it: "£185.00", "185,00 €".
pub fn fmt_money(language: Language, m: Money) -> SharedString {
    crate::i18n::money(language, m).into()
}

/// "2 d 4 h", "3 h 05 min", "12 min", "40 s", with the units `language` abbreviates.
pub fn countdown(language: Language, from: DateTime<Utc>, to: DateTime<Utc>) -> String {
    let l = language;
    let secs = (to - from).num_seconds().max(0);
    let (d, h, m) = (secs / 86_400, secs % 86_400 / 3_600, secs % 3_600 / 60);
    if d > 0 {
        t!(l, "{days} d {hours} h", days = d, hours = h)
    } else if h > 0 {
        t!(l, "{hours} h {minutes} min", hours = h, minutes = format!("{m:02}"))
    } else if m > 0 {
        t!(l, "{minutes} min", minutes = m)
    } else {
        t!(l, "{seconds} s", seconds = secs)
    }
}

/// "14:05" on the stall's clock (digits only: the same in every language).
pub fn hm(t: DateTime<Utc>) -> String {
    t.with_timezone(&Local).format("%H:%M").to_string()
}

/// "14:05" today, "4 Dec 14:05" on another day, the month as `language` shortens it.
pub fn local_time(language: Language, t: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let local = t.with_timezone(&Local);
    if local.date_naive() == now.with_timezone(&Local).date_naive() {
        crate::i18n::time(language, local)
    } else {
        crate::i18n::day_time(language, local.naive_local())
    }
}

/// The printer badge's word and severity, in `language`.
pub fn printer_word(language: Language, status: &PrinterStatus) -> (String, Severity) {
    let l = language;
    match status {
        PrinterStatus::Ready => (t!(l, "Ready"), Severity::Ok),
        PrinterStatus::PaperLow => (t!(l, "Paper low"), Severity::Warning),
        PrinterStatus::PaperOut => (t!(l, "Paper out"), Severity::Error),
        PrinterStatus::CoverOpen => (t!(l, "Lid open"), Severity::Error),
        PrinterStatus::NotResponding => (t!(l, "Not answering"), Severity::Error),
        PrinterStatus::Offline => (t!(l, "Unplugged"), Severity::Error),
        PrinterStatus::Unusable(_) => (t!(l, "Wrong port"), Severity::Error),
        PrinterStatus::Unknown => (t!(l, "No status"), Severity::Warning),
        PrinterStatus::Error(_) => (t!(l, "Error"), Severity::Error),
    }
}

/// The camera badge's word and severity, in `language`.
pub fn camera_badge(language: Language, status: Option<CameraStatus>) -> (String, Severity) {
    let l = language;
    match status {
        None | Some(CameraStatus::NoCamera) => (t!(l, "None"), Severity::Neutral),
        Some(CameraStatus::Ready) => (t!(l, "Ready"), Severity::Ok),
        Some(CameraStatus::Disconnected) => (t!(l, "Unplugged"), Severity::Error),
        Some(CameraStatus::Error(_)) => (t!(l, "Error"), Severity::Error),
    }
}

/// What the preview says to a customer instead of a picture, when there is no picture.
pub fn camera_message(status: Option<CameraStatus>, language: crate::i18n::Language) -> String {
    let l = language;
    match status {
        None | Some(CameraStatus::NoCamera) => {
            t!(l, "No camera on this kiosk. Ask staff: they can check the serial for you.")
        }
        Some(CameraStatus::Disconnected) => t!(l, "The camera is unplugged. Ask staff to plug it back in."),
        Some(CameraStatus::Error(e)) => t!(l, "The camera is not working ({error}). Ask staff.", error = e),
        Some(CameraStatus::Ready) => String::new(),
    }
}

/// The camera's state for staff, with what to do about it (the Printer tab's camera line).
pub fn camera_detail(language: Language, status: Option<CameraStatus>) -> String {
    let l = language;
    match status {
        None | Some(CameraStatus::NoCamera) => {
            t!(l, "None configured: set [camera] in the config file to check tags and photograph parcels.")
        }
        Some(CameraStatus::Ready) => t!(l, "Ready: it checks tags on Check a piece and takes the courier's photo."),
        Some(CameraStatus::Disconnected) => {
            t!(l, "Unplugged: plug it back in; the kiosk finds it again by itself within a few seconds.")
        }
        Some(CameraStatus::Error(e)) => t!(l, "Not working ({error}): unplug it and plug it back in.", error = e),
    }
}

/// The option lists the domain offers (hold lengths, reasons), in `language`. Set again
/// whenever the window's language changes; a pick comes back as an index or, for reasons,
/// is turned back into its English id by [`reason_id`].
pub fn option_words(ui: &crate::ui::AppWindow, language: Language) {
    use crate::domain::{DISCOUNT_REASONS, HoldLength, RELEASE_REASONS, RETURN_REASONS};
    use crate::ui::{ReservationsState, SalesState, SellState};
    use slint::ComponentHandle;
    let words = |list: &[&str]| model(list.iter().map(|w| SharedString::from(crate::i18n::tr(language, w))).collect());
    ui.global::<SellState>()
        .set_hold_lengths(model(HoldLength::ALL.iter().map(|l| l.label(language).into()).collect()));
    ui.global::<ReservationsState>().set_extend_label(format!("+{}", HoldLength::EXTENSION.label(language)).into());
    ui.global::<SellState>().set_discount_reasons(words(&DISCOUNT_REASONS));
    ui.global::<SalesState>().set_reasons(words(&RETURN_REASONS));
    ui.global::<ReservationsState>().set_reasons(words(&RELEASE_REASONS));
    let keypad = ui.global::<crate::ui::KeypadLogic>();
    keypad.set_language(language.code().into());
    keypad.set_point(crate::i18n::decimal_point(language).to_string().into());
}

/// A reason as the records keep it: the English id of the listed reason `shown` translates,
/// or `shown` itself when staff typed their own. Receipts and screens translate it back.
pub fn reason_id(language: Language, list: &[&str], shown: &str) -> String {
    list.iter()
        .find(|id| crate::i18n::tr(language, id) == shown)
        .map_or_else(|| shown.to_owned(), |id| (*id).to_owned())
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;

    #[test]
    fn updating_rows_changes_only_what_differs() {
        use slint::Model;
        let model = VecModel::from(vec![1, 2, 3]);
        update_rows(&model, vec![1, 5, 3, 4]);
        assert_eq!(model.iter().collect::<Vec<_>>(), [1, 5, 3, 4]);
        update_rows(&model, vec![7]);
        assert_eq!(model.iter().collect::<Vec<_>>(), [7]);
        update_rows(&model, Vec::new());
        assert_eq!(model.row_count(), 0);
    }

    #[test]
    fn countdown_reads_naturally() {
        let t = Utc::now();
        let en = Language::En;
        assert_eq!(countdown(en, t, t + Duration::hours(50)), "2 d 2 h");
        assert_eq!(countdown(en, t, t + Duration::minutes(185)), "3 h 05 min");
        assert_eq!(countdown(en, t, t + Duration::minutes(12)), "12 min");
        assert_eq!(countdown(en, t, t - Duration::minutes(12)), "0 s");
    }
}
