//! Courier mode: staff pick the order (list, search or its slip's QR), the courier gives the
//! tracking number, company and name, the kiosk camera takes the parcel's photo at that
//! moment, and confirming signs and commits the proof (`dispatch::record_handover`).

use std::collections::HashMap;
use std::sync::mpsc::TryRecvError;

use chrono::{DateTime, Utc};
use marketday_hardware::Still;
use marketday_hardware::scanner::StillReply;

use super::Page;
use crate::app::present::{hm as local_time, model};
use crate::app::services::{Notice, Services, Severity};
use crate::dispatch::{self, DispatchError};
use crate::domain::dispatch::{Handover, ProofRecord};
use crate::i18n::{Language, Localized};
use crate::photos::PhotoError;
use crate::store::{DispatchedOrder, Shipment};
use crate::ui::{AppWindow, CourierField, CourierState};
use crate::{t, tn};
use slint::ComponentHandle;

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
pub struct CourierScreen {
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

impl CourierScreen {
    /// Showing the screen afresh: a finished hand-over gives way to the list.
    pub fn open(&mut self, svc: &mut Services) {
        self.notice = Notice::default();
        if self.step == Step::Done {
            *self = CourierScreen::default();
        }
        // Checked against their hashes every time the list opens.
        self.thumbs.clear();
        prune_photos(svc);
    }

    pub fn step(&self) -> Step {
        self.step
    }

    pub fn search(&mut self, query: &str) {
        self.query = query.trim().to_owned();
    }

    /// Orders waiting for a courier, matching the search.
    pub fn orders_awaiting(&self, svc: &Services) -> Result<Vec<Shipment>, crate::store::StoreError> {
        svc.store.shipments_awaiting(&self.query)
    }

    /// Orders handed over in the last day, newest first.
    pub fn recently_dispatched(svc: &Services) -> Vec<DispatchedOrder> {
        let since = svc.now() - chrono::Duration::hours(RECENT_HOURS);
        svc.store.dispatched_since(since, 20).unwrap_or_else(|e| {
            tracing::error!(error = %e, "cannot list dispatched orders");
            Vec::new()
        })
    }

    pub fn pick_order(&mut self, svc: &Services, id: &str) {
        let l = svc.language();
        let state = &mut *self;
        match svc.store.shipment(id) {
            Ok(Some(s)) if s.dispatched_at.is_none() => {
                state.order = Some(s);
                state.tracking.clear();
                state.courier_name.clear();
                // One company configured: nothing to choose.
                state.courier = match svc.config.dispatch.couriers.as_slice() {
                    [only] => only.clone(),
                    _ => String::new(),
                };
                state.taken = None;
                state.pending = None;
                state.notice = Notice::default();
                state.step = Step::Details;
            }
            Ok(Some(_)) => {
                state.notice = Notice::warning(t!(l, "Order {order} was already handed to a courier.", order = id))
            }
            Ok(None) => state.notice = Notice::error(t!(l, "No order {order} is waiting for a courier.", order = id)),
            Err(e) => state.notice = Notice::error(e.localized(l)),
        }
    }

    /// What the courier typed, field by field: 0 tracking number, 1 courier's name.
    pub fn edit_field(&mut self, field: CourierField, text: &str) {
        match field {
            // As the keys show it and the label prints it: tracking numbers are capitals.
            CourierField::Tracking => self.tracking = text.to_uppercase(),
            CourierField::CourierName => self.courier_name = text.to_owned(),
            // The search goes through its own callback; nothing is typed with the keyboard shut.
            CourierField::Search | CourierField::None => {}
        }
    }

    pub fn choose_courier(&mut self, svc: &Services, company: &str) {
        if svc.config.dispatch.couriers.iter().any(|c| c == company) {
            self.courier = company.to_owned();
        }
    }

    fn handover(&self) -> Option<Handover> {
        let order = self.order.as_ref()?;
        Some(Handover {
            order: order.id.clone(),
            pieces: order.pieces.clone(),
            tracking_number: self.tracking.clone(),
            courier: self.courier.clone(),
            courier_name: self.courier_name.clone(),
        })
    }

    /// Details complete: on to the photo. What is missing is said in the courier's words,
    /// in `language`.
    pub fn to_photo(&mut self, language: Language) {
        let Some(handover) = self.handover() else { return };
        match handover.checked() {
            Ok(tidy) => {
                self.tracking = tidy.tracking_number;
                self.courier_name = tidy.courier_name;
                self.notice = Notice::default();
                self.step = Step::Photo;
            }
            Err(e) => self.notice = Notice::warning(e.localized(language)),
        }
    }

    /// Asks the camera for a photo taken now; the answer arrives on the camera timer.
    pub fn capture_photo(&mut self, svc: &Services) {
        if self.step != Step::Photo || self.pending.is_some() {
            return;
        }
        let Some(feed) = &svc.camera else {
            self.notice =
                Notice::error(t!(svc.language(), "This kiosk has no camera, so no proof photo can be taken."));
            return;
        };
        self.notice = Notice::default();
        self.pending = Some((feed.request_still(), svc.now()));
    }

    pub fn capturing(&self) -> bool {
        self.pending.is_some()
    }

    /// Takes the camera's answer, if it has come: true when the screen must change. A
    /// failure is said in `language`.
    pub fn poll_capture(&mut self, language: Language) -> bool {
        let Some((reply, captured_at)) = &self.pending else { return false };
        let captured_at = *captured_at;
        let answer = match reply.try_recv() {
            Err(TryRecvError::Empty) => return false,
            Ok(answer) => answer,
            Err(TryRecvError::Disconnected) => Err(marketday_hardware::CameraError::NoCamera),
        };
        self.pending = None;
        match answer.map_err(|e| e.to_string()).and_then(|still| {
            let image = crate::photos::decode_fitting(&still.jpeg, REVIEW_SIZE)?;
            Ok((still, image))
        }) {
            Ok((still, image)) => {
                tracing::info!(width = still.width, height = still.height, bytes = still.jpeg.len(), "photo taken");
                let image = rgb_image(&image);
                self.taken = Some(Taken { still, captured_at, image });
                self.step = Step::Review;
            }
            Err(e) => {
                tracing::warn!(error = %e, "the camera did not take the photo");
                self.notice = Notice::error(t!(
                    language,
                    "The camera could not take the photo ({error}). Check the camera and try again.",
                    error = e
                ));
            }
        }
        true
    }

    pub fn retake_photo(&mut self) {
        self.taken = None;
        self.step = Step::Photo;
        self.notice = Notice::default();
    }

    /// The courier confirmed the photo: keep it, sign and commit the proof, queue the slip.
    /// The screen says "handed over" only once this has returned.
    pub fn confirm_dispatch(&mut self, svc: &mut Services) {
        let (Some(handover), Some(taken)) = (self.handover(), self.taken.as_ref()) else { return };
        let l = svc.language();
        let Some(station) = &svc.station else {
            self.notice = Notice::error(t!(l, "Proof of dispatch is off on this kiosk: its device key did not open."));
            return;
        };
        let now = svc.now();
        let result =
            dispatch::record_handover(&mut svc.store, station, handover, &taken.still.jpeg, taken.captured_at, now);
        match result {
            Ok(record) => {
                tracing::info!(order = %record.order, photo = %record.photo_sha256, "hand-over recorded");
                // The list's thumbnail comes from the photo just kept (checked, like any other).
                if let Err(e) = station.photos.thumbnail(&record.photo_sha256) {
                    tracing::warn!(error = %e, "no thumbnail for the new proof");
                }
                if let Some(queue) = &svc.printing {
                    queue.wake();
                }
                svc.sync_now();
                self.done = Some(record);
                self.taken = None;
                self.notice = Notice::default();
                self.step = Step::Done;
            }
            Err(e) => {
                if !matches!(e, DispatchError::Photo(PhotoError::Full)) {
                    tracing::error!(error = %e, "hand-over not recorded");
                }
                self.notice = Notice::error(t!(l, "Not recorded: {error}", error = e.localized(l)));
            }
        }
    }

    /// One step back; from the first step, the search is cleared.
    pub fn courier_back(&mut self) {
        let state = &mut *self;
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
                *state = CourierScreen::default();
                Step::Pick
            }
        };
    }

    /// A code read on the courier screen: an order's slip picks the order; on the details
    /// step, a parcel label's code fills the tracking number.
    pub fn scanned(&mut self, svc: &Services, text: &str) -> bool {
        let text = text.trim();
        match self.step {
            Step::Pick => {
                self.notice = match Self::order_for_code(svc, text) {
                    Ok(id) => {
                        self.pick_order(svc, &id);
                        return true;
                    }
                    Err(why) => why,
                };
                true
            }
            Step::Details if self.tracking.trim().is_empty() && crate::domain::dispatch::is_tracking_number(text) => {
                self.tracking = text.to_uppercase();
                true
            }
            _ => false,
        }
    }

    /// The order a scanned code stands for: a packing slip's QR (the order number, alone
    /// or ending a link), or a piece's tag (the order that piece goes out with).
    fn order_for_code(svc: &Services, text: &str) -> Result<String, Notice> {
        use crate::domain::provenance::{self, Reading};
        let l = svc.language();
        let awaiting = svc.store.shipments_awaiting("").map_err(|e| Notice::error(e.localized(l)))?;
        let serial = match provenance::read(text) {
            Reading::Certificate(c) => Some(c.certificate.serial.to_string()),
            _ => text.trim_end_matches('/').rsplit_once("/p/").map(|(_, s)| s.to_owned()),
        };
        if let Some(serial) = serial {
            return awaiting
                .iter()
                .find(|o| o.pieces.iter().any(|p| p.eq_ignore_ascii_case(&serial)))
                .map(|o| o.id.clone())
                .ok_or_else(|| {
                    Notice::warning(t!(l, "Piece {serial} is in no order waiting for a courier.", serial = serial))
                });
        }
        let id = text.trim_end_matches('/').rsplit('/').next().unwrap_or(text);
        match awaiting.iter().find(|o| o.id.eq_ignore_ascii_case(id)) {
            Some(o) => Ok(o.id.clone()),
            // Whatever else was read (long links, other QR codes) is not repeated in full.
            None if id.chars().count() <= 24 => {
                Err(Notice::warning(t!(l, "No order {order} is waiting for a courier.", order = id)))
            }
            None => Err(Notice::warning(t!(
                l,
                "That code is not a packing slip. Scan the slip's QR code, or tap the order."
            ))),
        }
    }

    /// The photo of a dispatched order for the list, hash-checked first.
    fn thumb(&mut self, svc: &Services, order: &DispatchedOrder) -> Thumb {
        let sha256 = &order.record.photo_sha256;
        if let Some(thumb) = self.thumbs.get(sha256) {
            return thumb.clone();
        }
        let l = svc.language();
        let thumb = match (&svc.station, order.photo_removed_at) {
            (_, Some(_)) => Thumb::Uploaded,
            (None, None) => Thumb::Problem(t!(l, "Proofs are off on this kiosk")),
            (Some(station), None) => match station.photos.thumbnail(sha256) {
                Ok(jpeg) => match crate::photos::decode_fitting(&jpeg, crate::photos::THUMB_SIZE) {
                    Ok(img) => Thumb::Shown(rgb_image(&img)),
                    Err(e) => Thumb::Problem(t!(l, "Thumbnail unreadable: {error}", error = e)),
                },
                Err(PhotoError::Changed { .. }) => {
                    tracing::error!(order = %order.shipment.id, "a dispatch photo no longer matches its hash");
                    Thumb::Problem(t!(
                        l,
                        "Photo changed since it was taken: not shown. Export the proof and tell the atelier."
                    ))
                }
                Err(PhotoError::Missing { .. }) => {
                    tracing::error!(order = %order.shipment.id, "a dispatch photo is missing");
                    Thumb::Problem(t!(l, "Photo missing from this kiosk. Tell the atelier."))
                }
                Err(e) => Thumb::Problem(e.localized(l)),
            },
        };
        self.thumbs.insert(sha256.clone(), thumb.clone());
        thumb
    }
}

/// Local copies of photos the cloud holds go after the configured days.
fn prune_photos(svc: &mut Services) {
    let Some(station) = &svc.station else { return };
    let now = svc.now();
    if let Err(e) =
        dispatch::prune_uploaded_photos(&mut svc.store, &station.photos, now, svc.config.dispatch.keep_photos_days)
    {
        tracing::error!(error = %e, "cannot remove uploaded photos");
    }
}

/// "1 piece: AT-2026-0007", "2 pieces: AT-2026-0007, AT-2026-0008", in `language`.
fn pieces_line(language: Language, pieces: &[String]) -> String {
    tn!(language, "{n} piece: {serials}", "{n} pieces: {serials}", pieces.len(), serials = pieces.join(", "))
}

fn rgb_image(img: &image::RgbImage) -> slint::Image {
    slint::Image::from_rgb8(slint::SharedPixelBuffer::clone_from_slice(img.as_raw(), img.width(), img.height()))
}

impl CourierScreen {
    /// The live preview shows on Verify, and on the courier's photo step.
    /// The live preview shows on the photo step.
    pub fn shows_preview(&self) -> bool {
        self.step == Step::Photo
    }

    /// The camera reads codes (slips, tags, parcel labels) and takes the photo on these steps.
    pub fn wants_camera(&self) -> bool {
        matches!(self.step, Step::Pick | Step::Details | Step::Photo)
    }

    pub fn present(&mut self, svc: &Services, ui: &AppWindow) {
        use crate::ui::{OrderRowData, ProofRowData};
        let l = svc.language();
        let state = &*self;
        ui.global::<CourierState>().set_step(state.step.index());
        // The search box is the page's while typing (a trailing space stays); once the search
        // is over here (Back, the next parcel) the box empties too.
        if state.query.is_empty() {
            ui.global::<CourierState>().set_query("".into());
        }
        ui.global::<CourierState>().set_notice(state.notice.text.clone().into());
        ui.global::<CourierState>().set_notice_severity(state.notice.severity);
        ui.global::<CourierState>()
            .set_couriers(model(svc.config.dispatch.couriers.iter().map(|c| c.into()).collect()));
        ui.global::<CourierState>().set_courier(state.courier.clone().into());
        ui.global::<CourierState>().set_tracking(state.tracking.clone().into());
        ui.global::<CourierState>().set_courier_name(state.courier_name.clone().into());
        ui.global::<CourierState>().set_capturing(state.pending.is_some());
        match &state.order {
            Some(o) => {
                ui.global::<CourierState>().set_order_title(format!("{} · {}", o.id, o.buyer).into());
                ui.global::<CourierState>().set_order_detail(pieces_line(l, &o.pieces).into());
            }
            None => {
                ui.global::<CourierState>().set_order_title("".into());
                ui.global::<CourierState>().set_order_detail("".into());
            }
        }
        ui.global::<CourierState>().set_handover_summary(
            t!(
                l,
                "{courier} · tracking {tracking} · collected by {name}",
                courier = state.courier,
                tracking = state.tracking,
                name = state.courier_name
            )
            .into(),
        );
        match &state.taken {
            Some(t) => {
                ui.global::<CourierState>().set_photo(t.image.clone());
                ui.global::<CourierState>().set_photo_detail(
                    t!(
                        l,
                        "Taken {time} · {width}×{height} · {size} kB",
                        time = t.captured_at.with_timezone(&chrono::Local).format("%H:%M:%S"),
                        width = t.still.width,
                        height = t.still.height,
                        size = t.still.jpeg.len().div_ceil(1000)
                    )
                    .into(),
                );
            }
            None => ui.global::<CourierState>().set_photo(slint::Image::default()),
        }
        if let Some(r) = &state.done {
            ui.global::<CourierState>()
                .set_done_title(t!(l, "{order} handed to {courier}", order = r.order, courier = r.courier).into());
            let slip = if svc.printing.is_some() {
                t!(l, "The dispatch slip is printing.")
            } else {
                t!(l, "No printer: no slip.")
            };
            ui.global::<CourierState>().set_done_detail(
                t!(
                    l,
                    "Tracking {tracking} · collected by {name} at {time}. The photo is signed by this kiosk and kept; it goes to the atelier with the next sync. {slip}",
                    tracking = r.tracking_number,
                    name = r.courier_name,
                    time = local_time(r.captured_at),
                    slip = slip
                )
                .into(),
            );
        }
        if state.step != Step::Pick {
            return;
        }
        let orders = match self.orders_awaiting(svc) {
            Ok(orders) => orders,
            Err(e) => {
                tracing::error!(error = %e, "cannot list orders awaiting a courier");
                Vec::new()
            }
        };
        ui.global::<CourierState>().set_orders(model(
            orders
                .iter()
                .map(|o| OrderRowData {
                    id: o.id.clone().into(),
                    title: o.buyer.clone().into(),
                    detail: format!("{} · {}", o.id, pieces_line(l, &o.pieces)).into(),
                })
                .collect(),
        ));
        let proofs = Self::recently_dispatched(svc)
            .iter()
            .map(|d| {
                let r = &d.record;
                let detail = format!("{} {}", r.courier, r.tracking_number);
                let detail2 = t!(
                    l,
                    "{name} · {time} · photo {hash}",
                    name = r.courier_name,
                    time = local_time(r.captured_at),
                    hash = crate::domain::dispatch::short_hash(&r.photo_sha256)
                );
                let (thumb, has_thumb, note, severity) = match self.thumb(svc, d) {
                    Thumb::Shown(image) => (image, true, String::new(), Severity::Ok),
                    Thumb::Uploaded => (slint::Image::default(), false, String::new(), Severity::Neutral),
                    Thumb::Problem(why) => (slint::Image::default(), false, why, Severity::Error),
                };
                ProofRowData {
                    order: r.order.clone().into(),
                    title: format!("{} · {}", d.shipment.buyer, d.shipment.id).into(),
                    detail: detail.into(),
                    detail2: if severity == Severity::Neutral {
                        t!(l, "{details} · in the cloud", details = detail2)
                    } else {
                        detail2
                    }
                    .into(),
                    thumb,
                    has_thumb,
                    note: note.into(),
                    severity,
                }
            })
            .collect();
        ui.global::<CourierState>().set_proofs(model(proofs));
    }
}

impl Page for CourierScreen {
    fn notice(&mut self) -> &mut Notice {
        &mut self.notice
    }
}
