//! Courier mode: staff pick the order (list, search or its slip's QR), the courier gives the
//! tracking number, company and name, the kiosk camera takes the parcel's photo at that
//! moment, and confirming signs and commits the proof (`dispatch::record_handover`).

use std::collections::HashMap;
use std::sync::mpsc::TryRecvError;

use chrono::{DateTime, Utc};
use marketday_hardware::Still;
use marketday_hardware::scanner::StillReply;

use super::kiosk::{Kiosk, Notice};
use crate::dispatch::{self, DispatchError};
use crate::domain::dispatch::{Handover, ProofRecord};
use crate::photos::PhotoError;
use crate::store::{DispatchedOrder, Shipment};
use crate::ui::Screen;

/// Where the courier is in the hand-over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Step {
    #[default]
    Pick,
    Details,
    Photo,
    Review,
    Done,
}

impl Step {
    /// The page's step number (0 pick … 4 done).
    pub fn index(self) -> i32 {
        self as i32
    }
}

/// A photo taken and waiting for the courier's confirm or retake.
pub struct Taken {
    pub still: Still,
    pub captured_at: DateTime<Utc>,
    /// What the review shows: decoded once, scaled to the screen.
    pub image: slint::Image,
}

/// A dispatched order's photo as the list shows it.
#[derive(Clone)]
pub enum Thumb {
    Shown(slint::Image),
    /// The cloud has the photo; the kiosk's copy went after the retention time.
    Uploaded,
    /// Missing or changed on disk: said, never shown.
    Problem(String),
}

#[derive(Default)]
pub struct CourierState {
    pub step: Step,
    pub query: String,
    pub order: Option<Shipment>,
    pub tracking: String,
    pub courier: String,
    pub courier_name: String,
    /// A photo asked of the camera and when the courier tapped Capture.
    pub pending: Option<(StillReply, DateTime<Utc>)>,
    pub taken: Option<Taken>,
    pub notice: Notice,
    pub done: Option<ProofRecord>,
    /// Thumbnails by photo hash, checked against the hash each time the screen opens.
    pub thumbs: HashMap<String, Thumb>,
}

/// The longest side of the photo shown for confirm/retake.
const REVIEW_SIZE: u32 = 960;

/// Orders handed over in this many hours are listed with their photos.
const RECENT_HOURS: i64 = 24;

impl Kiosk {
    pub fn show_dispatch(&mut self) {
        self.screen = Screen::Dispatch;
        self.courier.notice = Notice::default();
        if self.courier.step == Step::Done {
            self.courier = CourierState::default();
        }
        // Checked against their hashes every time the list opens.
        self.courier.thumbs.clear();
        self.prune_photos();
    }

    pub fn dispatch_step(&self) -> Step {
        self.courier.step
    }

    pub fn search_orders(&mut self, query: &str) {
        self.courier.query = query.trim().to_owned();
    }

    /// Orders waiting for a courier, matching the search.
    pub fn orders_awaiting(&self) -> Result<Vec<Shipment>, crate::store::StoreError> {
        self.store.shipments_awaiting(&self.courier.query)
    }

    /// Orders handed over in the last day, newest first.
    pub fn recently_dispatched(&self) -> Vec<DispatchedOrder> {
        let since = self.now() - chrono::Duration::hours(RECENT_HOURS);
        self.store.dispatched_since(since, 20).unwrap_or_else(|e| {
            tracing::error!(error = %e, "cannot list dispatched orders");
            Vec::new()
        })
    }

    pub fn pick_order(&mut self, id: &str) {
        let state = &mut self.courier;
        match self.store.shipment(id) {
            Ok(Some(s)) if s.dispatched_at.is_none() => {
                state.order = Some(s);
                state.tracking.clear();
                state.courier_name.clear();
                // One company configured: nothing to choose.
                state.courier = match self.config.dispatch.couriers.as_slice() {
                    [only] => only.clone(),
                    _ => String::new(),
                };
                state.taken = None;
                state.pending = None;
                state.notice = Notice::default();
                state.step = Step::Details;
            }
            Ok(Some(_)) => state.notice = Notice::warning(format!("Order {id} was already handed to a courier.")),
            Ok(None) => state.notice = Notice::error(format!("No order {id} is waiting for a courier.")),
            Err(e) => state.notice = Notice::error(e.to_string()),
        }
    }

    /// What the courier typed, field by field: 0 tracking number, 1 courier's name.
    pub fn edit_courier_field(&mut self, field: i32, text: &str) {
        match field {
            // As the keys show it and the label prints it: tracking numbers are capitals.
            0 => self.courier.tracking = text.to_uppercase(),
            _ => self.courier.courier_name = text.to_owned(),
        }
    }

    pub fn choose_courier(&mut self, company: &str) {
        if self.config.dispatch.couriers.iter().any(|c| c == company) {
            self.courier.courier = company.to_owned();
        }
    }

    fn handover(&self) -> Option<Handover> {
        let order = self.courier.order.as_ref()?;
        Some(Handover {
            order: order.id.clone(),
            pieces: order.pieces.clone(),
            tracking_number: self.courier.tracking.clone(),
            courier: self.courier.courier.clone(),
            courier_name: self.courier.courier_name.clone(),
        })
    }

    /// Details complete: on to the photo. What is missing is said in the courier's words.
    pub fn to_photo(&mut self) {
        let Some(handover) = self.handover() else { return };
        match handover.checked() {
            Ok(tidy) => {
                self.courier.tracking = tidy.tracking_number;
                self.courier.courier_name = tidy.courier_name;
                self.courier.notice = Notice::default();
                self.courier.step = Step::Photo;
            }
            Err(e) => self.courier.notice = Notice::warning(e.to_string()),
        }
    }

    /// Asks the camera for a photo taken now; the answer arrives on the camera timer.
    pub fn capture_photo(&mut self) {
        if self.courier.step != Step::Photo || self.courier.pending.is_some() {
            return;
        }
        let Some(feed) = &self.scanner else {
            self.courier.notice = Notice::error("This kiosk has no camera, so no proof photo can be taken.");
            return;
        };
        self.courier.notice = Notice::default();
        self.courier.pending = Some((feed.request_still(), self.now()));
    }

    pub fn capturing(&self) -> bool {
        self.courier.pending.is_some()
    }

    /// Takes the camera's answer, if it has come: true when the screen must change.
    pub fn poll_capture(&mut self) -> bool {
        let Some((reply, captured_at)) = &self.courier.pending else { return false };
        let captured_at = *captured_at;
        let answer = match reply.try_recv() {
            Err(TryRecvError::Empty) => return false,
            Ok(answer) => answer,
            Err(TryRecvError::Disconnected) => Err(marketday_hardware::CameraError::NoCamera),
        };
        self.courier.pending = None;
        match answer.map_err(|e| e.to_string()).and_then(|still| {
            let image = crate::photos::decode_fitting(&still.jpeg, REVIEW_SIZE)?;
            Ok((still, image))
        }) {
            Ok((still, image)) => {
                tracing::info!(width = still.width, height = still.height, bytes = still.jpeg.len(), "photo taken");
                let image = rgb_image(&image);
                self.courier.taken = Some(Taken { still, captured_at, image });
                self.courier.step = Step::Review;
            }
            Err(e) => {
                tracing::warn!(error = %e, "the camera did not take the photo");
                self.courier.notice = Notice::error(format!(
                    "The camera could not take the photo ({e}). Check the camera and try again."
                ));
            }
        }
        true
    }

    pub fn retake_photo(&mut self) {
        self.courier.taken = None;
        self.courier.step = Step::Photo;
        self.courier.notice = Notice::default();
    }

    /// The courier confirmed the photo: keep it, sign and commit the proof, queue the slip.
    /// The screen says "handed over" only once this has returned.
    pub fn confirm_dispatch(&mut self) {
        let (Some(handover), Some(taken)) = (self.handover(), self.courier.taken.as_ref()) else { return };
        let Some(station) = &self.station else {
            self.courier.notice = Notice::error("Proof of dispatch is off on this kiosk: its device key did not open.");
            return;
        };
        let now = self.now();
        let result =
            dispatch::record_handover(&mut self.store, station, handover, &taken.still.jpeg, taken.captured_at, now);
        match result {
            Ok(record) => {
                tracing::info!(order = %record.order, photo = %record.photo_sha256, "hand-over recorded");
                // The list's thumbnail comes from the photo just kept (checked, like any other).
                if let Err(e) = station.photos.thumbnail(&record.photo_sha256) {
                    tracing::warn!(error = %e, "no thumbnail for the new proof");
                }
                if let Some(queue) = &self.printing {
                    queue.wake();
                }
                self.sync_now();
                self.courier.done = Some(record);
                self.courier.taken = None;
                self.courier.notice = Notice::default();
                self.courier.step = Step::Done;
            }
            Err(e) => {
                if !matches!(e, DispatchError::Photo(PhotoError::Full)) {
                    tracing::error!(error = %e, "hand-over not recorded");
                }
                self.courier.notice = Notice::error(format!("Not recorded: {e}"));
            }
        }
    }

    /// The sale just completed is to be posted to its buyer: it joins the orders waiting
    /// for a courier, under its receipt number. True when added.
    pub fn ship_last_sale(&mut self, buyer: &str) -> bool {
        let Some((sale_id, receipt)) = self.last_done.as_ref().map(|d| (d.sale_id, d.receipt.to_string())) else {
            return false;
        };
        let buyer = buyer.trim();
        if buyer.is_empty() {
            self.ship_notice = Notice::error("Enter the buyer's name.");
            return false;
        }
        let now = self.now();
        let result = self.store.sale(sale_id).and_then(|sale| {
            let sale = sale.ok_or_else(|| crate::store::StoreError::NotFound(format!("sale {receipt}")))?;
            let pieces = sale
                .lines
                .iter()
                .zip(&sale.active)
                .filter(|(_, active)| **active)
                .map(|(line, _)| line.serial.to_string())
                .collect();
            self.store.add_shipment(&Shipment {
                id: receipt.clone(),
                sale_id: Some(sale_id.to_string()),
                buyer: buyer.to_owned(),
                pieces,
                created_at: now,
                dispatched_at: None,
            })
        });
        match result {
            Ok(()) => {
                self.ship_notice =
                    Notice { text: format!("{receipt} is on the courier list, to post to {buyer}."), severity: 0 };
                true
            }
            Err(e) => {
                let already = self.store.shipment(&receipt).ok().flatten().is_some();
                self.ship_notice = Notice::error(if already {
                    format!("{receipt} is already on the courier list.")
                } else {
                    format!("Not added to the courier list: {e}")
                });
                false
            }
        }
    }

    /// One step back; from the first step, the search is cleared.
    pub fn courier_back(&mut self) {
        let state = &mut self.courier;
        state.notice = Notice::default();
        state.pending = None;
        state.step = match state.step {
            Step::Pick => {
                state.query.clear();
                Step::Pick
            }
            Step::Details => {
                state.order = None;
                Step::Pick
            }
            Step::Photo => Step::Details,
            Step::Review => {
                state.taken = None;
                Step::Photo
            }
            Step::Done => {
                *state = CourierState::default();
                Step::Pick
            }
        };
    }

    /// A code read on the courier screen: an order's slip picks the order; on the details
    /// step, a parcel label's code fills the tracking number.
    pub fn scanned_on_dispatch(&mut self, text: &str) -> bool {
        let text = text.trim();
        match self.courier.step {
            Step::Pick => {
                self.courier.notice = match self.order_for_code(text) {
                    Ok(id) => {
                        self.pick_order(&id);
                        return true;
                    }
                    Err(why) => why,
                };
                true
            }
            Step::Details
                if self.courier.tracking.trim().is_empty() && crate::domain::dispatch::is_tracking_number(text) =>
            {
                self.courier.tracking = text.to_uppercase();
                true
            }
            _ => false,
        }
    }

    /// The order a scanned code stands for: a packing slip's QR (the order number, alone
    /// or ending a link), or a piece's tag (the order that piece goes out with).
    fn order_for_code(&self, text: &str) -> Result<String, Notice> {
        use crate::domain::provenance::{self, Reading};
        let awaiting = self.store.shipments_awaiting("").map_err(|e| Notice::error(e.to_string()))?;
        let serial = match provenance::read(text) {
            Reading::Certificate(c) => Some(c.certificate.serial.to_string()),
            _ => text.trim_end_matches('/').rsplit_once("/p/").map(|(_, s)| s.to_owned()),
        };
        if let Some(serial) = serial {
            return awaiting
                .iter()
                .find(|o| o.pieces.iter().any(|p| p.eq_ignore_ascii_case(&serial)))
                .map(|o| o.id.clone())
                .ok_or_else(|| Notice::warning(format!("Piece {serial} is in no order waiting for a courier.")));
        }
        let id = text.trim_end_matches('/').rsplit('/').next().unwrap_or(text);
        match awaiting.iter().find(|o| o.id.eq_ignore_ascii_case(id)) {
            Some(o) => Ok(o.id.clone()),
            // Whatever else was read (long links, other QR codes) is not repeated in full.
            None if id.chars().count() <= 24 => {
                Err(Notice::warning(format!("No order {id} is waiting for a courier.")))
            }
            None => Err(Notice::warning("That code is not a packing slip. Scan the slip's QR code, or tap the order.")),
        }
    }

    /// The photo of a dispatched order for the list, hash-checked first.
    pub fn thumb(&mut self, order: &DispatchedOrder) -> Thumb {
        let sha256 = &order.record.photo_sha256;
        if let Some(t) = self.courier.thumbs.get(sha256) {
            return t.clone();
        }
        let thumb = match (&self.station, order.photo_removed_at) {
            (_, Some(_)) => Thumb::Uploaded,
            (None, None) => Thumb::Problem("Proofs are off on this kiosk".into()),
            (Some(station), None) => match station.photos.thumbnail(sha256) {
                Ok(jpeg) => match crate::photos::decode_fitting(&jpeg, crate::photos::THUMB_SIZE) {
                    Ok(img) => Thumb::Shown(rgb_image(&img)),
                    Err(e) => Thumb::Problem(format!("Thumbnail unreadable: {e}")),
                },
                Err(PhotoError::Changed { .. }) => {
                    tracing::error!(order = %order.shipment.id, "a dispatch photo no longer matches its hash");
                    Thumb::Problem(
                        "Photo changed since it was taken: not shown. Export the proof and tell the atelier.".into(),
                    )
                }
                Err(PhotoError::Missing { .. }) => {
                    tracing::error!(order = %order.shipment.id, "a dispatch photo is missing");
                    Thumb::Problem("Photo missing from this kiosk. Tell the atelier.".into())
                }
                Err(e) => Thumb::Problem(e.to_string()),
            },
        };
        self.courier.thumbs.insert(sha256.clone(), thumb.clone());
        thumb
    }

    /// Local copies of photos the cloud holds go after the configured days.
    pub(super) fn prune_photos(&mut self) {
        let Some(station) = &self.station else { return };
        let now = self.now();
        if let Err(e) = dispatch::prune_uploaded_photos(
            &mut self.store,
            &station.photos,
            now,
            self.config.dispatch.keep_photos_days,
        ) {
            tracing::error!(error = %e, "cannot remove uploaded photos");
        }
    }
}

fn local_time(t: DateTime<Utc>) -> String {
    t.with_timezone(&chrono::Local).format("%H:%M").to_string()
}

fn pieces_line(pieces: &[String]) -> String {
    match pieces {
        [one] => format!("1 piece: {one}"),
        many => format!("{} pieces: {}", many.len(), many.join(", ")),
    }
}

fn rgb_image(img: &image::RgbImage) -> slint::Image {
    slint::Image::from_rgb8(slint::SharedPixelBuffer::clone_from_slice(img.as_raw(), img.width(), img.height()))
}

impl Kiosk {
    /// The live preview shows on Verify, and on the courier's photo step.
    pub(super) fn preview_shown(&self) -> bool {
        self.screen == Screen::Verify || (self.screen == Screen::Dispatch && self.courier.step == Step::Photo)
    }

    pub(super) fn present_courier(&mut self, ui: &crate::ui::AppWindow) {
        use super::view::model;
        use crate::ui::{OrderRowData, ProofRowData};
        let state = &self.courier;
        ui.set_courier_step(state.step.index());
        ui.set_courier_notice(state.notice.text.clone().into());
        ui.set_courier_notice_severity(state.notice.severity);
        ui.set_couriers(model(self.config.dispatch.couriers.iter().map(|c| c.into()).collect()));
        ui.set_courier_company(state.courier.clone().into());
        ui.set_courier_tracking(state.tracking.clone().into());
        ui.set_courier_person(state.courier_name.clone().into());
        ui.set_courier_capturing(state.pending.is_some());
        match &state.order {
            Some(o) => {
                ui.set_courier_order_title(format!("{} · {}", o.id, o.buyer).into());
                ui.set_courier_order_detail(pieces_line(&o.pieces).into());
            }
            None => {
                ui.set_courier_order_title("".into());
                ui.set_courier_order_detail("".into());
            }
        }
        ui.set_courier_summary(
            format!("{} · tracking {} · collected by {}", state.courier, state.tracking, state.courier_name).into(),
        );
        match &state.taken {
            Some(t) => {
                ui.set_courier_photo(t.image.clone());
                ui.set_courier_photo_detail(
                    format!(
                        "Taken {} · {}×{} · {} kB",
                        t.captured_at.with_timezone(&chrono::Local).format("%H:%M:%S"),
                        t.still.width,
                        t.still.height,
                        t.still.jpeg.len().div_ceil(1000)
                    )
                    .into(),
                );
            }
            None => ui.set_courier_photo(slint::Image::default()),
        }
        if let Some(r) = &state.done {
            ui.set_courier_done_title(format!("{} handed to {}", r.order, r.courier).into());
            let slip = if self.printing.is_some() { "The dispatch slip is printing." } else { "No printer: no slip." };
            ui.set_courier_done_detail(
                format!(
                    "Tracking {} · collected by {} at {}. The photo is signed by this kiosk and kept; it goes to the atelier with the next sync. {slip}",
                    r.tracking_number,
                    r.courier_name,
                    local_time(r.captured_at),
                )
                .into(),
            );
        }
        if state.step != Step::Pick {
            return;
        }
        let orders = match self.orders_awaiting() {
            Ok(orders) => orders,
            Err(e) => {
                tracing::error!(error = %e, "cannot list orders awaiting a courier");
                Vec::new()
            }
        };
        ui.set_courier_orders(model(
            orders
                .iter()
                .map(|o| OrderRowData {
                    id: o.id.clone().into(),
                    title: o.buyer.clone().into(),
                    detail: format!("{} · {}", o.id, pieces_line(&o.pieces)).into(),
                })
                .collect(),
        ));
        let proofs = self
            .recently_dispatched()
            .iter()
            .map(|d| {
                let r = &d.record;
                let detail = format!("{} {}", r.courier, r.tracking_number);
                let detail2 = format!(
                    "{} · {} · photo {}",
                    r.courier_name,
                    local_time(r.captured_at),
                    crate::domain::dispatch::short_hash(&r.photo_sha256)
                );
                let (thumb, has_thumb, note, severity) = match self.thumb(d) {
                    Thumb::Shown(image) => (image, true, String::new(), 0),
                    Thumb::Uploaded => (slint::Image::default(), false, String::new(), 1),
                    Thumb::Problem(why) => (slint::Image::default(), false, why, 2),
                };
                ProofRowData {
                    order: r.order.clone().into(),
                    title: format!("{} · {}", d.shipment.buyer, d.shipment.id).into(),
                    detail: detail.into(),
                    detail2: if severity == 1 { format!("{detail2} · in the cloud") } else { detail2 }.into(),
                    thumb,
                    has_thumb,
                    note: note.into(),
                    severity,
                }
            })
            .collect();
        ui.set_courier_proofs(model(proofs));
    }
}
