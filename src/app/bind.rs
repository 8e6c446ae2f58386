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
use crate::i18n::Language;
use crate::ui::{
    AppWindow, CourierField, CourierState, DoneState, IdleState, KeypadLogic, Languages, PinState, PrinterState,
    ReservationsState, SalesState, SellState, SyncState, TenderMode, TenderState, TextKeys, TodayState, VerifyState,
};

/// Connects `ui` to `kiosk` and starts the one-second status timer. Keep the returned
/// timer alive as long as the window.
pub fn attach(ui: &AppWindow, kiosk: Rc<RefCell<Kiosk>>) -> (Timer, Timer) {
    ui.global::<TextKeys>().on_apply(|value, key, capitalize, max_len| {
        apply_text_key(&value, &key, capitalize, max_len.max(0) as usize).into()
    });
    // The option lists and limits are the domain's, set once: a page only shows them.
    // (The option lists' words are set with the language, in `present::option_words`.)
    ui.global::<PinState>().set_min_length(*PIN_LENGTH.start() as i32);
    ui.global::<PinState>().set_max_length(*PIN_LENGTH.end() as i32);
    ui.global::<KeypadLogic>().on_apply_key(|value, key, allow_point, max_len| {
        apply_key(&value, &key, allow_point, max_len.max(0) as usize).into()
    });
    let currency = kiosk.borrow().currency();
    ui.global::<KeypadLogic>().on_show_amount(move |typed, percent, language| {
        show_amount(Language::from_code(&language).unwrap_or_default(), currency, &typed, percent).into()
    });

    // Every callback is a touch on the screen: it counts as activity (staff screens stay
    // unlocked, a message it causes is the worker's), runs its operation, then re-presents
    // once. With `on_success`, the operation returns whether it was accepted, and only then
    // are UI-owned entry fields reset.
    // The first argument names where the callback is declared: a page's global, or
    // `AppWindow` for navigation (the rail, the status bar, Lock).
    macro_rules! on {
        ($g:ident, $setter:ident, |$k:ident $(, $arg:ident : $ty:ty)*| $body:expr) => {
            on!($g, $setter, |$k $(, $arg: $ty)*| { $body; false }, on_success |_ui| ())
        };
        (AppWindow, $setter:ident, $($rest:tt)*) => { on!(@wire (ui), $setter, $($rest)*) };
        ($g:ident, $setter:ident, $($rest:tt)*) => { on!(@wire (ui.global::<$g>()), $setter, $($rest)*) };
        (@wire ($($at:tt)*), $setter:ident, |$k:ident $(, $arg:ident : $ty:ty)*| $body:expr, on_success |$ui:ident| $reset:expr) => {{
            let weak = ui.as_weak();
            let kiosk = kiosk.clone();
            $($at)*.$setter(move |$($arg: $ty),*| {
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
    ui.global::<Languages>().set_names(model(Language::ALL.iter().map(|l| l.own_name().into()).collect()));
    on!(Languages, on_choose, |k, i: i32| k.choose_language(i));
    on!(IdleState, on_staff, |k| k.show_pin_pad());
    on!(IdleState, on_verify, |k| k.show_verify());
    on!(VerifyState, on_done, |k| k.close_verify());
    on!(PinState, on_submit, |k, pin: Text| k.unlock(&pin));
    on!(AppWindow, on_lock, |k| k.lock());
    on!(PinState, on_cancel, |k| k.lock());
    on!(SellState, on_add_serial, |k, s: Text| k.add_typed(&s));
    on!(SellState, on_tap_piece, |k, s: Text| k.tap_piece(&s));
    on!(SellState, on_remove_line, |k, s: Text| k.remove_line(&s));
    on!(SellState, on_open_discount, |k, s: Text| k.open_discount(&s));
    on!(SellState, on_apply_discount, |k, s: Text, a: Text, p: bool, r: Text| { k.apply_discount(&s, &a, p, &r) });
    on!(SellState, on_charge, |k| k.charge());
    on!(TenderState, on_add_cash, |k, a: Text| k.add_cash(&a));
    on!(TenderState, on_remove_tender, |k, i: i32| k.remove_tender(i.max(0) as usize));
    on!(TenderState, on_complete, |k| k.complete_sale());
    on!(TenderState, on_back, |k| k.back_to_cart());
    on!(DoneState, on_new_sale, |k| k.new_sale());
    on!(SellState, on_close_discount, |k| k.close_discount());
    on!(AppWindow, on_show_sell, |k| k.show_sell());
    on!(AppWindow, on_show_sales, |k| k.show_sales());
    on!(
        SalesState,
        on_select,
        |k, id: Text| {
            k.select_sale(&id);
            true
        },
        on_success | ui | { ui.global::<SalesState>().set_method("".into()) }
    );
    on!(SalesState, on_search, |k, q: Text| k.search_sales(&q));
    on!(
        AppWindow,
        on_show_today,
        |k| {
            k.show_today();
            true
        },
        on_success | ui | {
            ui.global::<TodayState>().set_amount("".into());
            ui.global::<TodayState>().set_reason("".into())
        }
    );
    on!(
        TodayState,
        on_entry,
        |k, kind: Text| {
            k.cash_entry(&kind);
            true
        },
        on_success | ui | {
            ui.global::<TodayState>().set_amount("".into());
            ui.global::<TodayState>().set_reason("".into())
        }
    );
    on!(TodayState, on_cancel, |k| k.cash_cancel());
    on!(
        TodayState,
        on_record,
        |k, amount: Text, reason: Text| k.cash_record(&amount, &reason),
        on_success | ui | {
            ui.global::<TodayState>().set_amount("".into());
            ui.global::<TodayState>().set_reason("".into())
        }
    );
    // Every page's notice closes the same way: the router dismisses what is on show.
    on!(SellState, on_dismiss_error, |k| k.dismiss_notices());
    on!(TenderState, on_dismiss_error, |k| k.dismiss_notices());
    on!(SalesState, on_dismiss_notice, |k| k.dismiss_notices());
    on!(ReservationsState, on_dismiss_notice, |k| k.dismiss_notices());
    on!(CourierState, on_dismiss_notice, |k| k.dismiss_notices());
    on!(PrinterState, on_dismiss_notice, |k| k.dismiss_notices());
    on!(TodayState, on_dismiss_notice, |k| k.dismiss_notices());
    on!(SyncState, on_dismiss_notice, |k| k.dismiss_notices());
    on!(SalesState, on_reprint, |k, id: Text| k.reprint_receipt(&id));
    on!(AppWindow, on_show_printer, |k| k.show_printer());
    on!(AppWindow, on_show_sync, |k| k.show_sync());
    on!(SyncState, on_sync_now, |k| k.sync_now_tapped());
    on!(SyncState, on_resolve, |k, id: Text| k.resolve_conflict(&id));
    on!(PrinterState, on_test_page, |k| k.print_test_page());
    on!(PrinterState, on_stickers, |k| k.print_drop_stickers());
    on!(PrinterState, on_z_report, |k| k.print_z_report());
    on!(TodayState, on_z_report, |k| k.print_z_report());
    on!(PrinterState, on_retry, |k| k.retry_printing());
    on!(DoneState, on_retry_print, |k| k.retry_printing());
    on!(PrinterState, on_print_later, |k| k.print_later());
    on!(DoneState, on_print_later, |k| k.print_later());
    on!(PrinterState, on_job_action, |k, id: i32| k.print_job_again(i64::from(id)));
    on!(SellState, on_open_hold, |k, s: Text| k.open_hold(&s));
    on!(SellState, on_close_hold, |k| k.close_hold());
    on!(SellState, on_create_hold, |k, s: Text, name: Text, contact: Text, pick: i32| k
        .create_hold(&s, &name, &contact, pick));
    on!(SellState, on_open_members, |k| k.open_members());
    on!(SellState, on_close_members, |k| k.close_members());
    on!(SellState, on_search_members, |k, q: Text| k.search_members(&q));
    on!(SellState, on_check_in, |k, id: Text| k.check_in(&id));
    on!(SellState, on_check_out_member, |k| k.check_out_member());
    on!(
        DoneState,
        on_ship,
        |k, buyer: Text| k.ship_last_sale(&buyer),
        on_success | ui | { ui.global::<DoneState>().set_ship_name("".into()) }
    );
    on!(AppWindow, on_show_dispatch, |k| k.show_dispatch());
    on!(CourierState, on_search, |k, q: Text| k.search_orders(&q));
    on!(CourierState, on_pick, |k, id: Text| k.pick_order(&id));
    on!(CourierState, on_edit, |k, field: CourierField, text: Text| k.edit_courier_field(field, &text));
    on!(CourierState, on_choose, |k, c: Text| k.choose_courier(&c));
    on!(CourierState, on_next, |k| k.to_photo());
    on!(CourierState, on_capture, |k| k.capture_photo());
    on!(CourierState, on_retake, |k| k.retake_photo());
    on!(CourierState, on_confirm, |k| k.confirm_dispatch());
    on!(CourierState, on_back, |k| k.courier_back());
    on!(AppWindow, on_show_reservations, |k| k.show_reservations());
    on!(ReservationsState, on_search, |k, q: Text| k.search_reservations(&q));
    on!(ReservationsState, on_collect, |k, id: Text| k.collect(&id));
    on!(
        ReservationsState,
        on_extend,
        |k, id: Text, reason: Text| k.extend_reservation(&id, &reason),
        on_success | ui | { ui.global::<ReservationsState>().set_reason("".into()) }
    );
    on!(
        ReservationsState,
        on_release,
        |k, id: Text, reason: Text| k.release_reservation(&id, &reason),
        on_success | ui | { ui.global::<ReservationsState>().set_reason("".into()) }
    );

    on!(
        TenderState,
        on_add_card,
        |k, amount: Text, reference: Text| k.add_card(&amount, &reference),
        on_success | ui | {
            ui.global::<TenderState>().set_amount("".into());
            ui.global::<TenderState>().set_card_reference("".into());
            ui.global::<TenderState>().set_mode(TenderMode::Cash);
        }
    );
    // A return or void clears the chosen reason, so the next undo needs a new one.
    on!(
        SalesState,
        on_return_piece,
        |k, id: Text, serial: Text, reason: Text, method: Text| k.return_piece(&id, &serial, &reason, &method),
        on_success | ui | { ui.global::<SalesState>().set_reason("".into()) }
    );
    on!(
        SalesState,
        on_void_sale,
        |k, id: Text, reason: Text| k.void_sale(&id, &reason),
        on_success | ui | { ui.global::<SalesState>().set_reason("".into()) }
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
