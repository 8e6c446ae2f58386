//! The camera in the kiosk: customers verify a piece's certificate (no PIN), staff scan
//! tags, reservation slips and member passes on the Sell screen instead of typing.

use std::time::{Duration, Instant};

use marketday_hardware::CameraStatus;
use marketday_hardware::scanner::ScanEvent;

use super::kiosk::{Kiosk, Notice};
use crate::domain::provenance::{self, Reading, Verdict};
use crate::provenance::{Check, check};
use crate::ui::Screen;

/// How long a message a worker caused is kept from being replaced by a scan's.
const WORKER_MESSAGE_KEPT: Duration = Duration::from_secs(5);

/// What the verdict card shows.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VerdictCard {
    /// 0 genuine, 1 cannot vouch (unknown signer, revoked, damaged, not ours), 2 forged.
    pub severity: i32,
    pub verdict: String,
    pub headline: String,
    pub details: String,
    pub explanation: String,
    pub status: String,
}

impl VerdictCard {
    pub fn of(c: &Check) -> VerdictCard {
        let severity = match &c.verdict {
            Verdict::Genuine { .. } => 0,
            Verdict::Forged { .. } => 2,
            _ => 1,
        };
        let verdict = match &c.verdict {
            Verdict::Genuine { .. } => "Genuine",
            Verdict::Forged { .. } => "Not genuine",
            Verdict::UnknownSigner { .. } => "Unknown signer",
            Verdict::RevokedKey { .. } => "Withdrawn key",
            Verdict::NotMarketday => "Not a certificate",
            Verdict::Damaged { .. } => "Tag unreadable",
        };
        let (headline, details) = match c.verdict.certificate() {
            Some(cert) => {
                let title = c.title().map(|t| format!(", {t}")).unwrap_or_default();
                let by = match &c.verdict {
                    Verdict::Genuine { atelier, .. } | Verdict::RevokedKey { atelier, .. } => format!("By {atelier}. "),
                    _ => String::new(),
                };
                let assay = cert.assay_hex().map(|h| format!("Assay {}… ", &h[..12])).unwrap_or_default();
                let facts = format!("{by}Serial {}. {assay}Issued {}.", cert.serial, cert.issued.format("%-d %b %Y"));
                if c.verdict.is_genuine() {
                    (format!("{}{title}", cert.edition), facts)
                } else {
                    // What a tag that did not verify says is only what it says.
                    (format!("The tag claims: {}{title}", cert.edition), format!("Unconfirmed: {facts}"))
                }
            }
            None => (String::new(), String::new()),
        };
        VerdictCard {
            severity,
            verdict: verdict.into(),
            headline,
            details,
            explanation: c.verdict.explanation(),
            status: if c.verdict.is_genuine() { c.status_line().unwrap_or_default() } else { String::new() },
        }
    }
}

/// The Verify screen's state.
#[derive(Default)]
pub struct VerifyState {
    pub card: Option<VerdictCard>,
    /// The text the card is about, and when it was checked: the card goes once that code
    /// has been out of view for a moment.
    pub code: Option<(String, Instant)>,
    /// From the frame reaching the scanner to the verdict being ready to draw.
    pub last_latency: Option<Duration>,
    /// Preview frames already sent to the window, and the outline drawn.
    pub shown_frames: u64,
    pub shown_outline: String,
}

impl Kiosk {
    pub fn show_verify(&mut self) {
        self.screen = Screen::Verify;
        self.verify = VerifyState::default();
        self.touch();
        self.update_camera_activity();
    }

    pub fn close_verify(&mut self) {
        self.verify = VerifyState::default();
        self.screen = Screen::Idle;
        self.update_camera_activity();
    }

    /// Frames are taken only on screens that scan: the camera rests otherwise.
    pub(super) fn update_camera_activity(&self) {
        if let Some(feed) = &self.scanner {
            // A code still in view when the screen changes is read afresh for the new screen.
            let context = (self.screen, self.courier.step);
            if self.scan_context.replace(Some(context)) != Some(context) {
                feed.forget_seen();
            }
            let courier = self.screen == Screen::Dispatch
                && matches!(
                    self.courier.step,
                    super::courier::Step::Pick | super::courier::Step::Details | super::courier::Step::Photo
                );
            feed.set_active(courier || matches!(self.screen, Screen::Verify | Screen::Sell));
        }
    }

    /// Checks a scanned (or typed) text and shows the verdict.
    pub fn verify_text(&mut self, text: &str) {
        let card = match check(&self.store, text) {
            Ok(c) => {
                tracing::info!(verdict = c.verdict.word(), "certificate checked");
                VerdictCard::of(&c)
            }
            Err(e) => VerdictCard {
                severity: 1,
                verdict: "Cannot check now".into(),
                explanation: format!("The kiosk could not read its records ({e}). Ask staff."),
                ..VerdictCard::default()
            },
        };
        self.verify.card = Some(card);
        self.verify.code = Some((text.to_owned(), Instant::now()));
    }

    /// A code read on the Sell screen: a piece's tag adds it, a slip collects, a member
    /// pass checks the member in. A tag whose certificate fails is refused, loudly.
    pub fn scanned_on_sell(&mut self, text: &str) {
        match provenance::read(text) {
            Reading::Certificate(_) => match check(&self.store, text) {
                Ok(Check { verdict: Verdict::Genuine { certificate, .. }, .. }) => {
                    self.add_typed(certificate.serial.as_str())
                }
                Ok(c) => {
                    // Short enough for the banner's two lines; the Verify screen explains more.
                    self.sell_notice = Notice::error(format!(
                        "This tag did not verify ({}): check the piece on Verify before selling it.",
                        c.verdict.word()
                    ))
                }
                Err(e) => self.sell_notice = Notice::error(e.to_string()),
            },
            // Stickers printed before certificates, and reservation slips, carry a path.
            _ => match text.trim().rsplit_once("/p/").or_else(|| text.trim().rsplit_once("/r/")) {
                Some((_, tail)) => self.add_typed(tail),
                None => self.add_typed(text),
            },
        }
    }

    /// Codes newly seen by the scanner, handled for the screen showing; true when the
    /// screen needs presenting again.
    pub fn handle_scan(&mut self, event: ScanEvent) -> bool {
        let Some(code) = event.codes.into_iter().next() else { return false };
        match self.screen {
            Screen::Verify => {
                self.verify_text(&code.text);
                self.verify.last_latency = Some(event.frame_at.elapsed());
                tracing::debug!(
                    latency_ms = event.frame_at.elapsed().as_secs_f64() * 1e3,
                    decode_ms = event.decode.as_secs_f64() * 1e3,
                    "verdict ready"
                );
                true
            }
            Screen::Sell => {
                let theirs = self.worker_notice(&self.sell_notice);
                self.last_activity = Instant::now();
                self.scanned_on_sell(&code.text);
                if let Some(theirs) = theirs {
                    tracing::info!(camera = %self.sell_notice.text, "a scan's message waits: the worker's stays up");
                    self.sell_notice = theirs;
                }
                true
            }
            Screen::Dispatch => {
                let theirs = self.worker_notice(&self.courier.notice);
                self.last_activity = Instant::now();
                let changed = self.scanned_on_dispatch(&code.text);
                if let Some(theirs) = theirs {
                    tracing::info!(camera = %self.courier.notice.text, "a scan's message waits: the worker's stays up");
                    self.courier.notice = theirs;
                }
                changed
            }
            _ => false,
        }
    }

    /// The message showing, if a worker's tap caused it moments ago: a code the camera
    /// happens to read (a tag lying in view) must not replace it before it can be read.
    fn worker_notice(&self, notice: &Notice) -> Option<Notice> {
        (!notice.text.is_empty() && self.last_tap.elapsed() < WORKER_MESSAGE_KEPT).then(|| notice.clone())
    }

    /// The Verify screen goes back to idle after a quiet spell with nobody touching it: a
    /// camera that keeps seeing tags (a stall's display, the demo's loop) does not keep it up.
    pub fn verify_timeout_due(&self) -> bool {
        self.screen == Screen::Verify && self.last_activity.elapsed() >= self.options.verify_quiet
    }

    /// Whether the verdict shown is about a tag that has left the camera's view (or was
    /// typed) long enough ago that it belongs to the last customer, not this one.
    pub fn verdict_stale(&self) -> bool {
        let Some((code, checked)) = &self.verify.code else { return false };
        let read = self.scanner.as_ref().and_then(|f| f.preview().last_read.get(code).copied());
        let last = read.map_or(*checked, |r| r.max(*checked));
        self.screen == Screen::Verify && last.elapsed() >= self.options.verdict_clears_after
    }

    /// Back to "hold a tag to the camera", on the same screen.
    pub fn clear_verdict(&mut self) {
        self.verify.card = None;
        self.verify.code = None;
    }

    /// From the last verdict's frame reaching the scanner to the verdict being ready.
    pub fn verify_latency(&self) -> Option<Duration> {
        self.verify.last_latency
    }

    pub fn camera_status(&self) -> Option<CameraStatus> {
        self.scanner.as_ref().map(|f| f.status())
    }

    /// What the preview says instead of a picture, when there is no picture.
    pub fn camera_message(&self) -> String {
        match self.camera_status() {
            None | Some(CameraStatus::NoCamera) => {
                "No camera on this kiosk. Ask staff: they can check the serial for you.".into()
            }
            Some(CameraStatus::Disconnected) => "The camera is unplugged. Ask staff to plug it back in.".into(),
            Some(CameraStatus::Error(e)) => format!("The camera is not working ({e}). Ask staff."),
            Some(CameraStatus::Ready) => String::new(),
        }
    }

    /// The camera's state for staff, with what to do about it (the Printer tab's camera line).
    pub fn camera_detail(&self) -> String {
        match self.camera_status() {
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
}
