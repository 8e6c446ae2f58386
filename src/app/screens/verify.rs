//! Check a piece: a customer holds a tag to the camera (no PIN) and reads whether its
//! certificate is genuine, what it says and where the piece stands. The card goes when the
//! tag has left the camera's view for a moment, and the screen goes back to idle when
//! nobody has touched it for a while.

use std::time::{Duration, Instant};

use marketday_hardware::scanner::ScanEvent;

use crate::app::services::{Services, Severity};
use crate::domain::provenance::Verdict;
use crate::i18n::{self, Language, Localized};
use crate::provenance::{Check, check};
use crate::t;
use crate::ui::{AppWindow, VerifyState};
use slint::ComponentHandle;

/// What the verdict card shows.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct VerdictCard {
    /// Ok: genuine; warning: cannot vouch (unknown signer, revoked, damaged, not ours); error: forged.
    pub severity: Severity,
    pub verdict: String,
    pub headline: String,
    pub details: String,
    pub explanation: String,
    pub status: String,
}

impl VerdictCard {
    /// The card for a check, worded in `language` (the customer's, on this screen).
    pub fn of(c: &Check, language: Language) -> VerdictCard {
        let l = language;
        let severity = match &c.verdict {
            Verdict::Genuine { .. } => Severity::Ok,
            Verdict::Forged { .. } => Severity::Error,
            _ => Severity::Warning,
        };
        let verdict = c.verdict.headline(l);
        let (headline, details) = match c.verdict.certificate() {
            Some(cert) => {
                let title = c.title().map(|t| format!(", {t}")).unwrap_or_default();
                let by = match &c.verdict {
                    Verdict::Genuine { atelier, .. } | Verdict::RevokedKey { atelier, .. } => {
                        format!("{} ", t!(l, "By {atelier}.", atelier = atelier))
                    }
                    _ => String::new(),
                };
                let assay = cert
                    .assay_hex()
                    .map(|h| format!("{} ", t!(l, "Assay {hash}…", hash = &h[..12])))
                    .unwrap_or_default();
                let facts = format!(
                    "{by}{} {assay}{}",
                    t!(l, "Serial {serial}.", serial = cert.serial),
                    t!(l, "Issued {day}.", day = i18n::date(l, cert.issued))
                );
                let edition = cert.edition.label(l);
                if c.verdict.is_genuine() {
                    (format!("{edition}{title}"), facts)
                } else {
                    // What a tag that did not verify says is only what it says.
                    (
                        t!(l, "The tag claims: {edition}", edition = format!("{edition}{title}")),
                        t!(l, "Unconfirmed: {facts}", facts = facts),
                    )
                }
            }
            None => (String::new(), String::new()),
        };
        VerdictCard {
            severity,
            verdict,
            headline,
            details,
            explanation: c.verdict.explanation(l),
            status: if c.verdict.is_genuine() { c.status_line(l).unwrap_or_default() } else { String::new() },
        }
    }
}

/// The Verify screen's state.
pub struct VerifyScreen {
    card: Option<VerdictCard>,
    /// The text the card is about, and when it was checked: the card goes once that code
    /// has been out of view for a moment.
    code: Option<(String, Instant)>,
    /// From the frame reaching the scanner to the verdict being ready to draw.
    last_latency: Option<Duration>,
    /// A verdict goes once its tag has been out of the camera's view this long.
    clears_after: Duration,
    /// The piece's photo, shown with a genuine verdict only: a forged tag must not borrow
    /// the real piece's picture.
    photo: Option<slint::Image>,
}

impl VerifyScreen {
    pub fn new(clears_after: Duration) -> VerifyScreen {
        VerifyScreen { card: None, code: None, last_latency: None, clears_after, photo: None }
    }

    /// Opening or leaving the screen: no verdict of the last customer's stays.
    pub fn clear(&mut self) {
        self.card = None;
        self.code = None;
        self.last_latency = None;
        self.photo = None;
    }

    /// Checks a scanned (or typed) text and shows the verdict.
    pub fn check(&mut self, svc: &Services, text: &str) {
        self.photo = None;
        let card = match check(&svc.store, text) {
            Ok(c) => {
                tracing::info!(verdict = c.verdict.word(), "certificate checked");
                if c.verdict.is_genuine()
                    && let Some(cert) = c.verdict.certificate()
                {
                    let sha = svc.store.piece_photo(&cert.serial).ok().flatten();
                    self.photo = sha.and_then(|sha| svc.pictures.of(&sha, crate::app::pictures::CARD));
                }
                VerdictCard::of(&c, svc.language())
            }
            Err(e) => VerdictCard {
                severity: Severity::Warning,
                verdict: t!(svc.language(), "Cannot check now"),
                explanation: t!(
                    svc.language(),
                    "The kiosk could not read its records ({error}). Ask staff.",
                    error = e.localized(svc.language())
                ),
                ..VerdictCard::default()
            },
        };
        self.card = Some(card);
        self.code = Some((text.to_owned(), Instant::now()));
    }

    /// A code the camera read while this screen shows.
    pub fn scanned(&mut self, svc: &Services, text: &str, event: &ScanEvent) {
        self.check(svc, text);
        self.last_latency = Some(event.frame_at.elapsed());
        tracing::debug!(
            latency_ms = event.frame_at.elapsed().as_secs_f64() * 1e3,
            decode_ms = event.decode.as_secs_f64() * 1e3,
            "verdict ready"
        );
    }

    /// Whether the verdict shown is about a tag that has left the camera's view (or was
    /// typed) long enough ago that it belongs to the last customer, not this one.
    pub fn verdict_stale(&self, svc: &Services) -> bool {
        let Some((code, checked)) = &self.code else { return false };
        let read = svc.camera.as_ref().and_then(|f| f.preview().last_read.get(code).copied());
        let last = read.map_or(*checked, |r| r.max(*checked));
        last.elapsed() >= self.clears_after
    }

    /// From the last verdict's frame reaching the scanner to the verdict being ready.
    pub fn latency(&self) -> Option<Duration> {
        self.last_latency
    }

    pub fn present(&self, ui: &AppWindow) {
        ui.global::<VerifyState>().set_shown(self.card.is_some());
        let card = self.card.clone().unwrap_or_default();
        ui.global::<VerifyState>().set_severity(card.severity);
        ui.global::<VerifyState>().set_verdict(card.verdict.into());
        ui.global::<VerifyState>().set_headline(card.headline.into());
        ui.global::<VerifyState>().set_details(card.details.into());
        ui.global::<VerifyState>().set_explanation(card.explanation.into());
        ui.global::<VerifyState>().set_piece_status(card.status.into());
        ui.global::<VerifyState>().set_has_photo(self.photo.is_some());
        ui.global::<VerifyState>().set_photo(self.photo.clone().unwrap_or_default());
    }
}
