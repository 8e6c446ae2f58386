//! Wires the window's callbacks to the kiosk. Each callback does one operation and then
//! re-presents the state, so the screen can never show something the kiosk is not.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use slint::{ComponentHandle, Timer, TimerMode};

use super::keys::{apply_key, apply_text_key, show_amount};
use super::kiosk::Kiosk;
use super::present::model;
use crate::domain::lockout::PIN_LENGTH;
use crate::domain::{DISCOUNT_REASONS, HoldLength, RELEASE_REASONS, RETURN_REASONS};
use crate::ui::{AppWindow, CourierField, KeypadLogic, TenderMode, TextKeys};

/// Connects `ui` to `kiosk` and starts the one-second status timer. Keep the returned
/// timer alive as long as the window.
pub fn attach(ui: &AppWindow, kiosk: Rc<RefCell<Kiosk>>) -> (Timer, Timer) {
    ui.global::<TextKeys>().on_apply(|value, key, capitalize, max_len| {
        apply_text_key(&value, &key, capitalize, max_len.max(0) as usize).into()
    });
    // The option lists and limits are the domain's, set once: a page only shows them.
    let words = |list: &[&str]| model(list.iter().map(|w| slint::SharedString::from(*w)).collect());
    ui.set_hold_lengths(model(HoldLength::ALL.iter().map(|l| l.label().into()).collect()));
    ui.set_extend_label(format!("+{}", HoldLength::EXTENSION.label()).into());
    ui.set_discount_reasons(words(&DISCOUNT_REASONS));
    ui.set_return_reasons(words(&RETURN_REASONS));
    ui.set_release_reasons(words(&RELEASE_REASONS));
    ui.set_pin_min_length(*PIN_LENGTH.start() as i32);
    ui.set_pin_max_length(*PIN_LENGTH.end() as i32);
    ui.global::<KeypadLogic>().on_apply_key(|value, key, allow_point, max_len| {
        apply_key(&value, &key, allow_point, max_len.max(0) as usize).into()
    });
    let currency = kiosk.borrow().currency();
    ui.global::<KeypadLogic>().on_show_amount(move |typed, percent| show_amount(currency, &typed, percent).into());

    // Every callback is a touch on the screen: it counts as activity (staff screens stay
    // unlocked, a message it causes is the worker's), runs its operation, then re-presents
    // once. With `on_success`, the operation returns whether it was accepted, and only then
    // are UI-owned entry fields reset.
    macro_rules! on {
        ($setter:ident, |$k:ident $(, $arg:ident : $ty:ty)*| $body:expr) => {
            on!($setter, |$k $(, $arg: $ty)*| { $body; false }, on_success |_ui| ())
        };
        ($setter:ident, |$k:ident $(, $arg:ident : $ty:ty)*| $body:expr, on_success |$ui:ident| $reset:expr) => {{
            let weak = ui.as_weak();
            let kiosk = kiosk.clone();
            ui.$setter(move |$($arg: $ty),*| {
                let Some(window) = weak.upgrade() else { return };
                let mut guard = kiosk.borrow_mut();
                let $k = &mut *guard;
                $k.touch();
                if $body {
                    let $ui = &window;
                    $reset;
                }
                $k.present(&window);
            });
        }};
    }

    type Text = slint::SharedString;
    on!(on_staff_requested, |k| k.show_pin_pad());
    on!(on_verify_requested, |k| k.show_verify());
    on!(on_verify_done, |k| k.close_verify());
    on!(on_pin_submitted, |k, pin: Text| k.unlock(&pin));
    on!(on_lock, |k| k.lock());
    on!(on_add_serial, |k, s: Text| k.add_typed(&s));
    on!(on_tap_piece, |k, s: Text| k.tap_piece(&s));
    on!(on_remove_line, |k, s: Text| k.remove_line(&s));
    on!(on_open_discount, |k, s: Text| k.open_discount(&s));
    on!(on_apply_discount, |k, s: Text, a: Text, p: bool, r: Text| { k.apply_discount(&s, &a, p, &r) });
    on!(on_charge, |k| k.charge());
    on!(on_add_cash, |k, a: Text| k.add_cash(&a));
    on!(on_remove_tender, |k, i: i32| k.remove_tender(i.max(0) as usize));
    on!(on_complete_sale, |k| k.complete_sale());
    on!(on_back_to_cart, |k| k.back_to_cart());
    on!(on_new_sale, |k| k.new_sale());
    on!(on_close_discount, |k| k.close_discount());
    on!(on_show_sell, |k| k.show_sell());
    on!(on_show_sales, |k| k.show_sales());
    on!(
        on_select_sale,
        |k, id: Text| {
            k.select_sale(&id);
            true
        },
        on_success | ui | { ui.set_refund_method("".into()) }
    );
    on!(on_search_sales, |k, q: Text| k.search_sales(&q));
    on!(
        on_show_today,
        |k| {
            k.show_today();
            true
        },
        on_success | ui | {
            ui.set_cash_amount("".into());
            ui.set_cash_reason("".into())
        }
    );
    on!(
        on_cash_entry,
        |k, kind: Text| {
            k.cash_entry(&kind);
            true
        },
        on_success | ui | {
            ui.set_cash_amount("".into());
            ui.set_cash_reason("".into())
        }
    );
    on!(on_cash_cancel, |k| k.cash_cancel());
    on!(
        on_cash_record,
        |k, amount: Text, reason: Text| k.cash_record(&amount, &reason),
        on_success | ui | {
            ui.set_cash_amount("".into());
            ui.set_cash_reason("".into())
        }
    );
    on!(on_dismiss_notice, |k| k.dismiss_notices());
    on!(on_reprint_receipt, |k, id: Text| k.reprint_receipt(&id));
    on!(on_show_printer, |k| k.show_printer());
    on!(on_show_sync, |k| k.show_sync());
    on!(on_sync_now, |k| k.sync_now_tapped());
    on!(on_resolve_conflict, |k, id: Text| k.resolve_conflict(&id));
    on!(on_print_test_page, |k| k.print_test_page());
    on!(on_print_stickers, |k| k.print_drop_stickers());
    on!(on_print_z_report, |k| k.print_z_report());
    on!(on_retry_print, |k| k.retry_printing());
    on!(on_print_later, |k| k.print_later());
    on!(on_print_job_action, |k, id: i32| k.print_job_again(i64::from(id)));
    on!(on_open_hold, |k, s: Text| k.open_hold(&s));
    on!(on_close_hold, |k| k.close_hold());
    on!(on_create_hold, |k, s: Text, name: Text, contact: Text, pick: i32| k.create_hold(&s, &name, &contact, pick));
    on!(on_open_members, |k| k.open_members());
    on!(on_close_members, |k| k.close_members());
    on!(on_search_members, |k, q: Text| k.search_members(&q));
    on!(on_check_in, |k, id: Text| k.check_in(&id));
    on!(on_check_out_member, |k| k.check_out_member());
    on!(on_ship_sale, |k, buyer: Text| k.ship_last_sale(&buyer), on_success | ui | { ui.set_ship_name("".into()) });
    on!(on_show_dispatch, |k| k.show_dispatch());
    on!(on_search_orders, |k, q: Text| k.search_orders(&q));
    on!(on_pick_order, |k, id: Text| k.pick_order(&id));
    on!(on_courier_edit, |k, field: CourierField, text: Text| k.edit_courier_field(field, &text));
    on!(on_choose_courier, |k, c: Text| k.choose_courier(&c));
    on!(on_courier_next, |k| k.to_photo());
    on!(on_capture_photo, |k| k.capture_photo());
    on!(on_retake_photo, |k| k.retake_photo());
    on!(on_confirm_dispatch, |k| k.confirm_dispatch());
    on!(on_courier_back, |k| k.courier_back());
    on!(on_show_reservations, |k| k.show_reservations());
    on!(on_search_reservations, |k, q: Text| k.search_reservations(&q));
    on!(on_collect, |k, id: Text| k.collect(&id));
    on!(
        on_extend_reservation,
        |k, id: Text, reason: Text| k.extend_reservation(&id, &reason),
        on_success | ui | { ui.set_reservation_reason("".into()) }
    );
    on!(
        on_release_reservation,
        |k, id: Text, reason: Text| k.release_reservation(&id, &reason),
        on_success | ui | { ui.set_reservation_reason("".into()) }
    );

    on!(
        on_add_card,
        |k, amount: Text, reference: Text| k.add_card(&amount, &reference),
        on_success | ui | {
            ui.set_tender_amount("".into());
            ui.set_card_reference("".into());
            ui.set_tender_mode(TenderMode::Cash);
        }
    );
    // A return or void clears the chosen reason, so the next undo needs a new one.
    on!(
        on_return_piece,
        |k, id: Text, serial: Text, reason: Text, method: Text| k.return_piece(&id, &serial, &reason, &method),
        on_success | ui | { ui.set_undo_reason("".into()) }
    );
    on!(
        on_void_sale,
        |k, id: Text, reason: Text| k.void_sale(&id, &reason),
        on_success | ui | { ui.set_undo_reason("".into()) }
    );

    kiosk.borrow_mut().present(ui);

    // The camera: preview frames and scanned codes, at about the camera's own rate.
    let camera_timer = Timer::default();
    let weak = ui.as_weak();
    let camera_kiosk = kiosk.clone();
    camera_timer.start(TimerMode::Repeated, Duration::from_millis(33), move || {
        let Some(ui) = weak.upgrade() else { return };
        camera_kiosk.borrow_mut().poll_camera(&ui);
    });

    let timer = Timer::default();
    let weak = ui.as_weak();
    timer.start(TimerMode::Repeated, Duration::from_secs(1), move || {
        let Some(ui) = weak.upgrade() else { return };
        kiosk.borrow_mut().every_second(&ui);
    });
    (timer, camera_timer)
}
