//! How the screens say things: amounts, times, countdowns and device states in words.
//! Shared by the screen modules so that one thing is always said one way.

use std::rc::Rc;

use chrono::{DateTime, Local, Utc};
use marketday_hardware::{CameraStatus, PrinterStatus};
use slint::{ModelRc, SharedString, VecModel};

use super::services::Severity;
use crate::domain::Money;

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

/// An amount as the pages show it ("£185.00").
pub fn fmt_money(m: Money) -> SharedString {
    m.to_string().into()
}

/// "2 d 4 h", "3 h 05 min", "12 min", "40 s".
pub fn countdown(from: DateTime<Utc>, to: DateTime<Utc>) -> String {
    let secs = (to - from).num_seconds().max(0);
    let (d, h, m) = (secs / 86_400, secs % 86_400 / 3_600, secs % 3_600 / 60);
    if d > 0 {
        format!("{d} d {h} h")
    } else if h > 0 {
        format!("{h} h {m:02} min")
    } else if m > 0 {
        format!("{m} min")
    } else {
        format!("{secs} s")
    }
}

/// "14:05" on the stall's clock.
pub fn hm(t: DateTime<Utc>) -> String {
    t.with_timezone(&Local).format("%H:%M").to_string()
}

/// "14:05" today, "4 Dec 14:05" on another day.
pub fn local_time(t: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let local = t.with_timezone(&Local);
    if local.date_naive() == now.with_timezone(&Local).date_naive() {
        local.format("%H:%M").to_string()
    } else {
        local.format("%-d %b %H:%M").to_string()
    }
}

/// The printer badge's word and severity.
pub fn printer_word(status: &PrinterStatus) -> (&'static str, Severity) {
    match status {
        PrinterStatus::Ready => ("Ready", Severity::Ok),
        PrinterStatus::PaperLow => ("Paper low", Severity::Warning),
        PrinterStatus::PaperOut => ("Paper out", Severity::Error),
        PrinterStatus::CoverOpen => ("Lid open", Severity::Error),
        PrinterStatus::NotResponding => ("Not answering", Severity::Error),
        PrinterStatus::Offline => ("Unplugged", Severity::Error),
        PrinterStatus::Unusable(_) => ("Wrong port", Severity::Error),
        PrinterStatus::Unknown => ("No status", Severity::Warning),
        PrinterStatus::Error(_) => ("Error", Severity::Error),
    }
}

/// The camera badge's word and severity.
pub fn camera_badge(status: Option<CameraStatus>) -> (&'static str, Severity) {
    match status {
        None | Some(CameraStatus::NoCamera) => ("None", Severity::Neutral),
        Some(CameraStatus::Ready) => ("Ready", Severity::Ok),
        Some(CameraStatus::Disconnected) => ("Unplugged", Severity::Error),
        Some(CameraStatus::Error(_)) => ("Error", Severity::Error),
    }
}

/// What the preview says to a customer instead of a picture, when there is no picture.
pub fn camera_message(status: Option<CameraStatus>, language: crate::i18n::Language) -> String {
    use crate::t;
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
pub fn camera_detail(status: Option<CameraStatus>) -> String {
    match status {
        None | Some(CameraStatus::NoCamera) => {
            "None configured: set [camera] in the config file to check tags and photograph parcels.".into()
        }
        Some(CameraStatus::Ready) => "Ready: it checks tags on Check a piece and takes the courier's photo.".into(),
        Some(CameraStatus::Disconnected) => {
            "Unplugged: plug it back in; the kiosk finds it again by itself within a few seconds.".into()
        }
        Some(CameraStatus::Error(e)) => format!("Not working ({e}): unplug it and plug it back in."),
    }
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
        assert_eq!(countdown(t, t + Duration::hours(50)), "2 d 2 h");
        assert_eq!(countdown(t, t + Duration::minutes(185)), "3 h 05 min");
        assert_eq!(countdown(t, t + Duration::minutes(12)), "12 min");
        assert_eq!(countdown(t, t - Duration::minutes(12)), "0 s");
    }
}
