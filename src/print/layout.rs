//! Printouts laid out for one printer profile: receipts, stickers, the Z report and the
//! test page, as [`Ticket`]s of fixed-width lines.
//!
//! Widths are counted in the bytes the codepage will send, not in chars: a '€' that falls
//! back to "EUR" on a PC437 printer takes three columns and the right edge still lines up.

use chrono::{DateTime, Local, Utc};
use marketday_hardware::raster::qr_code;
use marketday_hardware::{Align, Bitmap, Block, DOTS_PER_MM, PrinterProfile, Style, Ticket};

use crate::domain::cash::describe_difference;
use crate::domain::printout::{DispatchSlipDoc, Printout, ReceiptDoc, RefundSlipDoc, SlipDoc, StickerDoc, ZReport};
use crate::domain::{Edition, Money, Tender};
use crate::i18n::{self, Language};
use crate::{t, tn};

/// Label stock for stickers, in millimetres.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LabelSize {
    pub width_mm: u16,
    pub height_mm: u16,
}

impl Default for LabelSize {
    fn default() -> Self {
        LabelSize { width_mm: 40, height_mm: 30 }
    }
}

/// Everything about a print that is not the printout itself.
#[derive(Debug, Clone, Default)]
pub struct LayoutOptions {
    pub logo: Option<Bitmap>,
    /// Pulse the cash drawer after a receipt paid (partly) in cash.
    pub cash_drawer: bool,
    pub label: LabelSize,
    /// Printed on the receipt under the QR.
    pub footer: String,
    /// The stall's language: every word, amount and date on the paper.
    pub language: Language,
}

/// Lays out `printout`; `reprint` marks the paper as a copy.
pub fn layout(printout: &Printout, profile: &PrinterProfile, options: &LayoutOptions, reprint: bool) -> Ticket {
    let mut t = Ticket::new();
    let w = Width { profile, cols: usize::from(profile.columns), lang: options.language };
    match printout {
        Printout::Receipt(r) => receipt(&mut t, &w, r, options, reprint),
        Printout::Sticker(s) => sticker(&mut t, profile, s, options, reprint),
        Printout::ZReport(z) => z_report(&mut t, &w, z, reprint),
        Printout::Slip(s) => slip(&mut t, &w, s, reprint),
        Printout::DispatchSlip(d) => dispatch_slip(&mut t, &w, d, reprint),
        Printout::RefundSlip(r) => refund_slip(&mut t, &w, r, reprint),
        Printout::Test { stall, at } => test_page(&mut t, &w, stall, *at),
    }
    t
}

struct Width<'a> {
    profile: &'a PrinterProfile,
    cols: usize,
    lang: Language,
}

impl Width<'_> {
    fn len(&self, s: &str) -> usize {
        self.profile.codepage.encode(s).len()
    }

    /// `text` fitted to `cols` columns: whole if it fits, else cut at a word boundary where
    /// one is near, and marked with an ellipsis so nobody takes it for the whole title.
    fn shorten(&self, text: &str, cols: usize) -> String {
        if self.len(text) <= cols {
            return text.to_owned();
        }
        let mark = "…";
        let room = cols.saturating_sub(self.len(mark));
        let mut cut = String::new();
        for c in text.chars() {
            if self.len(&cut) + self.len(c.encode_utf8(&mut [0; 4])) > room {
                break;
            }
            cut.push(c);
        }
        // Back to the last space if that keeps most of the line; drop a dangling comma.
        if let Some(space) = cut.rfind(' ').filter(|&i| i * 2 >= room) {
            cut.truncate(space);
        }
        let cut = cut.trim_end_matches([' ', ',', ';', ':', '-']);
        format!("{cut}{mark}")
    }

    /// `left` and `right` on one line of `cols` columns; `left` is shortened, with a mark,
    /// if both do not fit.
    fn row(&self, left: &str, right: &str, cols: usize) -> String {
        let room = cols.saturating_sub(self.len(right) + 1);
        let l = self.shorten(left, room);
        let pad = cols.saturating_sub(self.len(&l) + self.len(right));
        format!("{l}{}{right}", " ".repeat(pad))
    }

    /// Centred prose: every wrapped line of `text` as its own line.
    fn centred(&self, t: &mut Ticket, text: &str) {
        for line in self.wrap(text, self.cols) {
            t.text(line, CENTER);
        }
    }

    /// Words wrapped to `cols`; a word longer than a line is split.
    fn wrap(&self, text: &str, cols: usize) -> Vec<String> {
        let mut lines = vec![String::new()];
        for word in text.split_whitespace() {
            let current = lines.last_mut().expect("never empty");
            let sep = usize::from(!current.is_empty());
            if self.len(current) + sep + self.len(word) <= cols {
                if sep == 1 {
                    current.push(' ');
                }
                current.push_str(word);
            } else {
                let mut piece = String::new();
                for c in word.chars() {
                    if self.len(&piece) + self.len(c.encode_utf8(&mut [0; 4])) > cols && !piece.is_empty() {
                        lines.push(std::mem::take(&mut piece));
                    }
                    piece.push(c);
                }
                lines.push(piece);
            }
        }
        lines.retain(|l| !l.is_empty());
        lines
    }

    fn rule(&self) -> String {
        "-".repeat(self.cols)
    }
}

/// `text` wrapped beside a right-aligned `amount` on its last line, indented by `indent`.
fn priced(t: &mut Ticket, w: &Width, text: &str, amount: &str, indent: usize) {
    let room = w.cols.saturating_sub(w.len(amount) + 1 + indent).max(8);
    let lines = w.wrap(text, room);
    for (i, part) in lines.iter().enumerate() {
        let right = if i + 1 == lines.len() { amount } else { "" };
        t.line(w.row(&format!("{}{part}", " ".repeat(indent)), right, w.cols));
    }
}

const BOLD: Style = Style { align: Align::Left, bold: true, large: false };
const CENTER: Style = Style { align: Align::Center, bold: false, large: false };
const HEADING: Style = Style { align: Align::Center, bold: true, large: true };

/// "14:05" on the stall's clock.
fn time(at: DateTime<Utc>) -> String {
    at.with_timezone(&Local).format("%H:%M").to_string()
}

/// "5 Dec 2026", "5 déc. 2026" on the stall's calendar.
fn day(lang: Language, at: DateTime<Utc>) -> String {
    i18n::date(lang, at.with_timezone(&Local))
}

/// "5 Dec 2026 14:05".
fn day_time(lang: Language, at: DateTime<Utc>) -> String {
    format!("{} {}", day(lang, at), time(at))
}

fn money(w: &Width, m: Money) -> String {
    i18n::money(w.lang, m)
}

fn reprint_banner(t: &mut Ticket, lang: Language) {
    t.text(t!(lang, "** REPRINT **"), HEADING);
    t.push(Block::Feed(1));
}

fn receipt(t: &mut Ticket, w: &Width, r: &ReceiptDoc, options: &LayoutOptions, reprint: bool) {
    let (cols, lang) = (w.cols, w.lang);
    if reprint {
        reprint_banner(t, lang);
    }
    if let Some(logo) = &options.logo {
        t.push(Block::Image(logo.clone())).push(Block::Feed(1));
    }
    for line in w.wrap(&r.stall, cols / 2) {
        t.text(line, HEADING);
    }
    t.push(Block::Feed(1));
    t.line(w.row(&day_time(lang, r.at), &t!(lang, "No. {receipt}", receipt = r.number), cols));
    t.line(w.rule());
    for line in &r.lines {
        t.text(w.row(line.serial.as_str(), &Edition::relabel(&line.edition, w.lang), cols), BOLD);
        priced(t, w, &line.title, &money(w, line.unit_price), 0);
        if !line.discount.is_zero() {
            let reason = match line.discount_reason.as_deref() {
                // Kept as the English id when picked from the list; typed ones as typed.
                Some(reason) => i18n::tr(lang, reason),
                None => t!(lang, "Discount"),
            };
            priced(t, w, &reason, &format!("-{}", money(w, line.discount)), 2);
        }
    }
    t.line(w.rule());
    if !r.totals.discount.is_zero() {
        t.line(w.row(&t!(lang, "Subtotal"), &money(w, r.totals.subtotal), cols));
        t.line(w.row(&t!(lang, "Discounts"), &format!("-{}", money(w, r.totals.discount)), cols));
    }
    t.text(
        w.row(&t!(lang, "TOTAL"), &money(w, r.totals.total), cols / 2),
        Style { large: true, bold: true, ..Style::default() },
    );
    // The wording a receipt uses for VAT in the stall's language: "incl. VAT 20%",
    // "dont TVA 20 %", "inkl. 20 % MwSt.".
    let vat = t!(lang, "  incl. VAT {rate}", rate = r.vat_rate);
    t.line(w.row(&vat, &money(w, r.totals.vat), cols));
    for tender in &r.tenders {
        let label = match tender {
            Tender::Cash { .. } => t!(lang, "Cash"),
            Tender::Card { reference, .. } => t!(lang, "Card (ref {reference})", reference = reference),
        };
        t.line(w.row(&label, &money(w, tender.amount()), cols));
    }
    if !r.change.is_zero() {
        t.text(w.row(&t!(lang, "Change"), &money(w, r.change), cols), BOLD);
    }
    t.line(w.rule());
    let returns = t!(lang, "Returns and verification at the stall until {day}", day = day(lang, r.returns_until));
    for line in w.wrap(&returns, cols) {
        t.text(line, CENTER);
    }
    // A raster QR costs its area in serial bytes: half-millimetre modules still scan.
    let module = if w.profile.native_qr { qr_module(&r.qr, usize::from(w.profile.width_dots) / 2) } else { 4 };
    t.push(Block::Qr { payload: r.qr.clone(), module_dots: module });
    t.push(Block::Feed(1));
    let scan =
        if r.lines.len() == 1 { t!(lang, "Scan to verify your piece") } else { t!(lang, "Scan to see your order") };
    for line in w.wrap(&scan, cols) {
        t.text(line, CENTER);
    }
    if !options.footer.is_empty() {
        for line in w.wrap(&options.footer, cols) {
            t.text(line, CENTER);
        }
    }
    if reprint {
        t.push(Block::Feed(1));
        t.text(t!(lang, "REPRINT - not a new sale"), CENTER);
    }
    t.push(Block::Cut);
    if options.cash_drawer && r.paid_cash() && !reprint {
        t.push(Block::DrawerPulse);
    }
}

/// Dots per QR module: as large as fits `max_dots` (4 modules of quiet zone included), at
/// least 3 (0.375 mm, still read by phones) and at most 8 (1 mm).
fn qr_module(payload: &str, max_dots: usize) -> u8 {
    let modules = qr_code(payload).map(|c| c.width()).unwrap_or(33) + 8;
    (max_dots / modules).clamp(3, 8) as u8
}

fn sticker(t: &mut Ticket, profile: &PrinterProfile, s: &StickerDoc, options: &LayoutOptions, reprint: bool) {
    let (label, lang) = (options.label, options.language);
    let dots_per_mm = usize::from(DOTS_PER_MM);
    let width = (usize::from(label.width_mm) * dots_per_mm).min(usize::from(profile.width_dots));
    let height = usize::from(label.height_mm) * dots_per_mm;
    let w = Width { profile, cols: width / 12, lang };
    t.push(Block::PrintWidth(width as u16));
    // Three text lines of 30 dots; the QR and its quiet zone take what is left of the
    // height. A signed certificate (version 9) does not fit a 30 mm label beside three
    // lines at 3 dots a module, the least a camera reads: it gets one line instead.
    let modules = qr_code(&s.qr).map(|c| c.width()).unwrap_or(33);
    let room_for = |lines: usize| height.saturating_sub(lines * 30 + 4);
    let compact = room_for(3 + usize::from(reprint)).min(width) / (modules + 8) < 3;
    let text_lines = if compact { 1 } else { 3 } + usize::from(reprint);
    let module = (room_for(text_lines).min(width) / (modules + 8)).clamp(3, 8);
    t.push(Block::Qr { payload: s.qr.clone(), module_dots: module as u8 });
    if compact {
        let left = format!("{} {}", s.serial, s.edition.replace(" of ", "/"));
        t.text(w.row(&left, &money(&w, s.price), w.cols), BOLD);
    } else {
        t.text(w.row(&s.serial, &money(&w, s.price), w.cols), BOLD);
        t.line(Edition::relabel(&s.edition, w.lang));
        t.line(w.shorten(&s.title, w.cols));
    }
    if reprint {
        t.text(w.shorten(&t!(lang, "REPRINT"), w.cols), CENTER);
    }
    // Fill the rest of the label so the next sticker starts on the next label.
    let used = (modules + 8) * module + text_lines * 30;
    let mut rest = height.saturating_sub(used);
    while rest > 0 {
        let step = rest.min(255);
        t.push(Block::FeedDots(step as u8));
        rest -= step;
    }
}

fn slip(t: &mut Ticket, w: &Width, s: &SlipDoc, reprint: bool) {
    let (cols, lang) = (w.cols, w.lang);
    if reprint {
        reprint_banner(t, w.lang);
    }
    t.text(if s.hold { t!(lang, "ON HOLD") } else { t!(lang, "RESERVED") }, HEADING);
    w.centred(t, &s.stall);
    t.line(w.rule());
    t.text(w.row(&s.serial, &money(w, s.price), cols), BOLD);
    t.line(w.row(&t!(lang, "For"), &s.customer, cols));
    t.line(w.row(&t!(lang, "Until"), &day_time(lang, s.expires_at), cols));
    t.line(w.rule());
    t.text(t!(lang, "Your code"), CENTER);
    t.text(s.code.clone(), HEADING);
    t.push(Block::Qr { payload: s.qr.clone(), module_dots: qr_module(&s.qr, usize::from(w.profile.width_dots) / 2) });
    for line in w.wrap(&t!(lang, "Show this code at the stall to collect your piece."), cols) {
        t.text(line, CENTER);
    }
    t.push(Block::Cut);
}

fn dispatch_slip(t: &mut Ticket, w: &Width, d: &DispatchSlipDoc, reprint: bool) {
    let (cols, lang) = (w.cols, w.lang);
    if reprint {
        reprint_banner(t, w.lang);
    }
    t.text(t!(lang, "DISPATCHED"), HEADING);
    w.centred(t, &d.stall);
    t.line(w.rule());
    t.text(w.row(&t!(lang, "Order"), &d.order, cols), BOLD);
    t.line(w.row(&t!(lang, "For"), &d.buyer, cols));
    for serial in &d.pieces {
        t.line(w.row(&t!(lang, "Piece"), serial, cols));
    }
    t.line(w.rule());
    t.text(w.row(&t!(lang, "Tracking"), &d.tracking_number, cols), BOLD);
    // Company names run long ("Royal Mail Special Delivery"): wrapped, never cut.
    for line in w.wrap(&t!(lang, "Courier: {courier}", courier = d.courier), cols) {
        t.line(line);
    }
    t.line(w.row(&t!(lang, "Collected by"), &d.courier_name, cols));
    t.line(w.row(&t!(lang, "Photo taken"), &day_time(lang, d.captured_at), cols));
    t.line(w.row(&t!(lang, "Photo hash"), &d.photo_short, cols));
    t.push(Block::Qr { payload: d.qr.clone(), module_dots: qr_module(&d.qr, usize::from(w.profile.width_dots) / 2) });
    for line in w.wrap(&t!(lang, "The photo and this record are signed by the kiosk: scan to see the proof."), cols) {
        t.text(line, CENTER);
    }
    t.push(Block::Cut);
}

fn z_report(t: &mut Ticket, w: &Width, z: &ZReport, reprint: bool) {
    let (cols, lang) = (w.cols, w.lang);
    if reprint {
        reprint_banner(t, w.lang);
    }
    t.text(t!(lang, "END OF DAY"), HEADING);
    // One line where it fits (80 mm); on 58 mm the stall and the day each get their own.
    let day = i18n::date(lang, z.day);
    let header = format!("{} - {day}", z.stall);
    if w.len(&header) <= cols {
        t.text(header, CENTER);
    } else {
        w.centred(t, &z.stall);
        t.text(day, CENTER);
    }
    let device = t!(lang, "Device {device} - printed {time}", device = z.device, time = time(z.generated_at));
    w.centred(t, &device);
    t.line(w.rule());
    t.line(w.row(&t!(lang, "Sales"), &z.sales.to_string(), cols));
    t.line(w.row(&t!(lang, "Pieces sold"), &z.pieces.to_string(), cols));
    t.text(w.row(&t!(lang, "Takings"), &money(w, z.gross), cols), BOLD);
    t.line(w.row(&t!(lang, "  of which VAT"), &money(w, z.vat), cols));
    t.line(w.rule());
    t.text(t!(lang, "By tender"), BOLD);
    for (kind, count, amount) in &z.by_tender {
        t.line(w.row(&format!("{} ({count})", i18n::tr(lang, kind)), &money(w, *amount), cols));
    }
    t.text(t!(lang, "By drop"), BOLD);
    for (name, pieces, amount) in &z.by_drop {
        t.line(w.row(&format!("{name} ({pieces})"), &money(w, *amount), cols));
    }
    t.line(w.rule());
    t.line(w.row(&t!(lang, "Voids"), &z.voids.to_string(), cols));
    t.line(w.row(&t!(lang, "Returns"), &z.returns.to_string(), cols));
    t.line(w.row(&t!(lang, "Refunded"), &money_or_zero(w, z.refunded), cols));
    if let Some(card) = z.refunded_to_card.filter(|m| !m.is_zero()) {
        t.line(w.row(&t!(lang, "  of which to cards"), &money(w, card), cols));
    }
    t.line(w.rule());
    match &z.drawer {
        Some(d) => {
            t.text(t!(lang, "Cash drawer"), BOLD);
            t.line(w.row(&t!(lang, "Opening float"), &money(w, d.float), cols));
            t.line(w.row(&t!(lang, "Cash from sales"), &money(w, d.cash_sales), cols));
            t.line(w.row(&t!(lang, "Cash refunds"), &money_or_zero(w, d.cash_refunds), cols));
            t.line(w.row(&t!(lang, "Cash in"), &money(w, d.paid_in), cols));
            t.line(w.row(&t!(lang, "Cash out"), &money_or_zero(w, d.paid_out), cols));
            t.text(w.row(&t!(lang, "Expected"), &money(w, d.expected()), cols), BOLD);
            match (d.counted, d.difference()) {
                (Some(counted), Some(diff)) => {
                    let when = match d.counted_at {
                        Some(at) => t!(lang, "Counted {time}", time = time(at)),
                        None => t!(lang, "Counted"),
                    };
                    t.text(w.row(&when, &money(w, counted), cols), BOLD);
                    t.text(w.shorten(&describe_difference(lang, diff), cols), BOLD);
                }
                _ => {
                    t.line(w.row(&t!(lang, "Counted"), &t!(lang, "not counted"), cols));
                }
            }
        }
        None => {
            t.text(w.row(&t!(lang, "Cash expected"), &money(w, z.cash_expected), cols), BOLD);
        }
    }
    t.line(w.rule());
    let sync = match z.unsynced_changes {
        0 => t!(lang, "All changes synced"),
        n => tn!(lang, "{n} change not yet synced", "{n} changes not yet synced", n),
    };
    for line in w.wrap(&sync, cols) {
        t.text(line, CENTER);
    }
    t.push(Block::Cut);
}

fn refund_slip(t: &mut Ticket, w: &Width, r: &RefundSlipDoc, reprint: bool) {
    let (cols, lang) = (w.cols, w.lang);
    if reprint {
        reprint_banner(t, w.lang);
    }
    t.text(t!(lang, "REFUND"), HEADING);
    w.centred(t, &r.stall);
    t.line(w.row(&day_time(lang, r.at), &t!(lang, "Sale {receipt}", receipt = r.receipt), cols));
    t.line(w.rule());
    t.text(if r.void { t!(lang, "Sale cancelled") } else { t!(lang, "Returned") }, BOLD);
    for line in &r.lines {
        t.text(w.row(line.serial.as_str(), &Edition::relabel(&line.edition, w.lang), cols), BOLD);
        priced(t, w, &line.title, &money(w, line.net), 0);
    }
    t.line(w.rule());
    let large = Style { large: true, bold: true, ..Style::default() };
    // The heading says REFUND; the large row is the amount, under the word receipts use.
    t.text(w.row(&t!(lang, "TOTAL"), &money(w, r.amount), cols / 2), large);
    if !r.split.cash.is_zero() {
        t.line(w.row(&t!(lang, "In cash"), &money(w, r.split.cash), cols));
    }
    if !r.split.card.is_zero() {
        let label = match r.split.card_reference.as_deref() {
            Some(reference) if !reference.is_empty() => t!(lang, "To card (ref {reference})", reference = reference),
            _ => t!(lang, "To card"),
        };
        t.line(w.row(&label, &money(w, r.split.card), cols));
    }
    for line in w.wrap(&t!(lang, "Reason: {reason}", reason = i18n::tr(lang, &r.reason)), cols) {
        t.line(line);
    }
    t.line(w.rule());
    let note = if r.split.card.is_zero() {
        t!(lang, "Keep this slip with your receipt.")
    } else {
        t!(lang, "A card refund can take a few days to reach your account. Keep this slip with your receipt.")
    };
    for line in w.wrap(&note, cols) {
        t.text(line, CENTER);
    }
    t.push(Block::Cut);
}

/// An amount taken out: "-£3.00", or "£0.00" when nothing was.
fn money_or_zero(w: &Width, m: Money) -> String {
    if m.is_zero() { money(w, Money::zero(m.currency)) } else { format!("-{}", money(w, m)) }
}

fn test_page(t: &mut Ticket, w: &Width, stall: &str, at: DateTime<Utc>) {
    let (p, lang) = (w.profile, w.lang);
    t.text(t!(lang, "TEST PAGE"), HEADING);
    w.centred(t, stall);
    t.text(day_time(lang, at), CENTER);
    t.line(w.rule());
    let qr = if p.native_qr { t!(lang, "native") } else { t!(lang, "raster") };
    let cutter = if p.cut { t!(lang, "yes") } else { t!(lang, "no") };
    // Prose, wrapped here: a 58 mm printer left to break lines itself splits numbers.
    let facts = [
        t!(lang, "Profile {name}", name = p.name),
        t!(lang, "{mm} mm paper, {dots} dots", mm = p.paper_mm(), dots = p.width_dots),
        t!(lang, "{columns} columns, codepage {codepage}", columns = p.columns, codepage = format!("{:?}", p.codepage)),
        t!(lang, "QR: {qr}  Cutter: {cutter}", qr = qr, cutter = cutter),
    ];
    for line in facts.iter().flat_map(|f| w.wrap(f, w.cols)) {
        t.line(line);
    }
    let ruler: String = (1..=w.cols).map(|i| char::from(b'0' + (i % 10) as u8)).collect();
    t.line(ruler);
    // Every letter the three languages print, so a wrong codepage shows at once.
    t.line("£ € é è à ç ô œ ä ö ü ß «»„“");
    t.text(w.row(&t!(lang, "Large"), "£1.00", w.cols / 2), Style { large: true, ..Style::default() });
    t.push(Block::Qr { payload: "https://marketday.example/test".into(), module_dots: 4 });
    t.push(Block::Feed(1));
    for line in w.wrap(&t!(lang, "If you can read every line, the printer is ready."), w.cols) {
        t.text(line, CENTER);
    }
    t.push(Block::Cut);
}

#[cfg(test)]
mod tests {
    use marketday_hardware::{Preview, encode};

    use super::*;
    use crate::print::samples;

    fn scan(preview: &Preview) -> Vec<String> {
        let (w, h, luma) = preview.to_luma();
        let mut img = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| luma[y * w + x]);
        img.detect_grids().into_iter().filter_map(|g| g.decode().ok()).map(|(_, text)| text).collect()
    }

    fn render(doc: &Printout, profile: &PrinterProfile, options: &LayoutOptions, reprint: bool) -> Preview {
        let bytes = encode(&layout(doc, profile, options, reprint), profile).unwrap();
        Preview::render(&bytes, profile).unwrap()
    }

    #[test]
    fn a_dispatch_slip_shows_the_handover_and_its_qr_leads_to_the_proof() {
        let slip = samples::dispatch_slip(chrono::Utc::now());
        for name in ["generic-58", "generic-80"] {
            let profile = PrinterProfile::builtin(name).unwrap();
            let doc = Printout::DispatchSlip(slip.clone());
            let ticket = layout(&doc, &profile, &LayoutOptions::default(), false);
            let text: String = format!("{ticket:?}");
            for fact in [&slip.order, &slip.tracking_number, &slip.courier_name, &slip.photo_short, &slip.pieces[1]] {
                assert!(text.contains(fact.as_str()), "{name}: {fact} missing");
            }
            // Wrapped, never cut: every word of a long courier name is there.
            for word in slip.courier.split(' ') {
                assert!(text.contains(word), "{name}: {word} of the courier missing");
            }
            assert_eq!(
                scan(&render(&doc, &profile, &LayoutOptions::default(), false)),
                vec![slip.qr.clone()],
                "{name}"
            );
        }
    }

    #[test]
    fn a_sticker_fills_its_label_exactly_and_its_qr_scans() {
        let profile = PrinterProfile::builtin("generic-58").unwrap();
        let sticker = samples::sticker();
        for (width_mm, height_mm) in [(40, 30), (50, 30)] {
            let options = LayoutOptions { label: LabelSize { width_mm, height_mm }, ..Default::default() };
            let paper = render(&Printout::Sticker(sticker.clone()), &profile, &options, false);
            assert_eq!(paper.height, usize::from(height_mm) * 8, "{width_mm}x{height_mm}");
            let label_w = usize::from(width_mm) * 8;
            assert!((0..paper.height).all(|y| (label_w..paper.width).all(|x| !paper.get(x, y))), "ink off the label");
            assert_eq!(scan(&paper), vec![sticker.qr.clone()]);
            // Serial left, price right, across the label (a 50 mm label is clipped to 48 mm of head).
            let cols = label_w.min(paper.width) / 12;
            let first = &paper.lines[0];
            assert!(first.starts_with("AT-2026-0007") && first.ends_with("£210.00"), "{first}");
            assert_eq!(first.chars().count(), cols);
        }
    }

    #[test]
    fn a_signed_certificate_fits_a_30mm_label_and_scans() {
        let profile = PrinterProfile::builtin("generic-58").unwrap();
        let key = crate::demo::demo_signing_key();
        let piece_cert = crate::domain::provenance::Certificate {
            key_id: crate::domain::provenance::KeyId::of(&key.verifying_key()),
            serial: crate::domain::Serial::parse("AT-2026-0007").unwrap(),
            edition: crate::domain::Edition::new(7, 24).unwrap(),
            drop_id: "winter-clasp-26".into(),
            assay_hash: Some([0xab; 32]),
            issued: chrono::NaiveDate::from_ymd_opt(2026, 11, 14).unwrap(),
        };
        let url = crate::domain::provenance::token_url(samples::VERIFY, &piece_cert.sign(&key).unwrap());
        let sticker = StickerDoc { qr: url.clone(), ..samples::sticker() };
        let options = LayoutOptions { label: LabelSize { width_mm: 40, height_mm: 30 }, ..Default::default() };
        let paper = render(&Printout::Sticker(sticker), &profile, &options, false);
        assert_eq!(paper.height, 30 * 8, "the sticker stays on its label");
        assert_eq!(scan(&paper), vec![url]);
        assert!(paper.lines[0].starts_with("AT-2026-0007 07/24") && paper.lines[0].ends_with("£210.00"));
    }

    #[test]
    fn no_line_of_any_printout_is_left_for_the_printer_to_break() {
        let at = chrono::Utc::now();
        let long_stall = "Atelier Thorne & Daughters · Old Spitalfields Market, London E1".to_owned();
        let docs = [
            Printout::Receipt(samples::receipt(at)),
            Printout::Receipt(ReceiptDoc { stall: long_stall.clone(), ..samples::receipt(at) }),
            Printout::Sticker(samples::sticker()),
            Printout::ZReport(samples::z_report(at)),
            Printout::ZReport(ZReport { stall: long_stall.clone(), ..samples::z_report(at) }),
            Printout::Slip(SlipDoc { stall: long_stall.clone(), ..samples::slip(at) }),
            Printout::DispatchSlip(DispatchSlipDoc { stall: long_stall.clone(), ..samples::dispatch_slip(at) }),
            Printout::RefundSlip(RefundSlipDoc { stall: long_stall.clone(), ..samples::refund_slip(at) }),
            Printout::Test { stall: long_stall, at },
        ];
        let label_cols = usize::from(LabelSize::default().width_mm) * usize::from(DOTS_PER_MM) / 12;
        for name in PrinterProfile::BUILTIN {
            let profile = PrinterProfile::builtin(name).unwrap();
            for (doc, language) in docs.iter().flat_map(|d| Language::ALL.map(|l| (d, l))) {
                for reprint in [false, true] {
                    let cols = match doc {
                        Printout::Sticker(_) => label_cols.min(usize::from(profile.columns)),
                        _ => usize::from(profile.columns),
                    };
                    for block in layout(doc, &profile, &samples::layout_options(language), reprint).blocks {
                        if let Block::Text { text, style } = block {
                            let limit = if style.large { cols / 2 } else { cols };
                            let len = profile.codepage.encode(&text).len();
                            assert!(len <= limit, "{name} {language:?}: {text:?} is {len} columns, wider than {limit}");
                        }
                    }
                }
            }
            // The printer never wrapped a line on its own: every printed line is a layout line.
            let paper = render(&docs[0], &profile, &samples::layout_options(Language::En), false);
            assert!(paper.lines.iter().any(|l| l.starts_with("TOTAL") && l.ends_with("£390.00")), "{name}");
        }
    }

    #[test]
    fn a_sticker_title_too_long_for_the_label_is_shortened_with_a_mark() {
        let profile = PrinterProfile::builtin("generic-58").unwrap();
        let ticket = layout(&Printout::Sticker(samples::sticker()), &profile, &LayoutOptions::default(), false);
        let lines: Vec<String> = ticket
            .blocks
            .into_iter()
            .filter_map(|b| if let Block::Text { text, .. } = b { Some(text) } else { None })
            .collect();
        // "Clasp pendant, London blue topaz" is 32 columns; a 40 mm label has 26.
        assert!(lines.contains(&"Clasp pendant, London…".to_owned()), "{lines:?}");
        let paper = render(&Printout::Sticker(samples::sticker()), &profile, &LayoutOptions::default(), false);
        assert!(paper.lines.iter().any(|l| l == "Clasp pendant, London..."), "{:?}", paper.lines);
    }

    #[test]
    fn wrapped_text_fits_even_when_the_codepage_spells_characters_out() {
        let profile = PrinterProfile::builtin("panel-58").unwrap();
        let w = Width { profile: &profile, cols: 10, lang: Language::En };
        // PC437 has no €: each one prints as "EUR", three columns.
        for line in w.wrap("€€€€€€€€€€ x", 10) {
            assert!(profile.codepage.encode(&line).len() <= 10, "{line}");
        }
        assert_eq!(w.wrap("a bb ccc", 5), vec!["a bb", "ccc"]);
    }

    #[test]
    fn reprints_are_marked_and_never_open_the_drawer() {
        let profile = PrinterProfile::builtin("generic-80").unwrap();
        let receipt = Printout::Receipt(samples::receipt(chrono::Utc::now()));
        let options = samples::layout_options(Language::En);
        assert!(options.cash_drawer);
        let original = render(&receipt, &profile, &options, false);
        let copy = render(&receipt, &profile, &options, true);
        assert_eq!((original.drawer_pulses, copy.drawer_pulses), (1, 0));
        assert!(!original.lines.iter().any(|l| l.contains("REPRINT")));
        assert_eq!(copy.lines[0], "** REPRINT **");
        assert_eq!(original.cuts.len(), 1);
        // The QR on the receipt links to the order (two pieces) and scans.
        assert_eq!(scan(&original), vec!["https://verify.marketday.example/o/K1-000042".to_owned()]);
    }

    /// A receipt in euros at a stall in Paris or Berlin.
    fn euro_receipt(at: DateTime<Utc>) -> ReceiptDoc {
        let mut r = samples::receipt(at);
        let eur = |m: Money| Money::new(m.minor, crate::domain::Currency::EUR);
        for line in &mut r.lines {
            line.unit_price = eur(line.unit_price);
            line.discount = eur(line.discount);
            line.net = eur(line.net);
        }
        r.totals.subtotal = eur(r.totals.subtotal);
        r.totals.discount = eur(r.totals.discount);
        r.totals.vat = eur(r.totals.vat);
        r.totals.total = eur(r.totals.total);
        r.change = eur(r.change);
        r.tenders = r
            .tenders
            .iter()
            .map(|t| match t {
                Tender::Cash { tendered } => Tender::Cash { tendered: eur(*tendered) },
                Tender::Card { amount, reference } => {
                    Tender::Card { amount: eur(*amount), reference: reference.clone() }
                }
            })
            .collect();
        r
    }

    #[test]
    fn a_receipt_prints_in_the_stall_s_language_with_its_letters_and_euro_sign() {
        let at = chrono::Utc::now();
        let profile = PrinterProfile::builtin("generic-80").unwrap();
        let receipt = Printout::Receipt(euro_receipt(at));
        for language in [Language::Fr, Language::De] {
            let options = samples::layout_options(language);
            let bytes = encode(&layout(&receipt, &profile, &options, false), &profile).unwrap();
            let paper = Preview::render(&bytes, &profile).unwrap();
            // The words are the catalogue's, not English.
            let total = crate::t!(language, "TOTAL");
            let change = crate::t!(language, "Change");
            let subtotal = crate::t!(language, "Subtotal");
            assert_ne!(subtotal, "Subtotal", "{language:?} has no word for Subtotal");
            assert!(paper.lines.iter().any(|l| l.starts_with(&subtotal)), "{language:?}: {subtotal:?}");
            let amount = i18n::money(language, Money::new(39_000, crate::domain::Currency::EUR));
            assert!(
                paper.lines.iter().any(|l| l.starts_with(&total) && l.ends_with(&amount)),
                "{language:?}: no {total:?} line ending {amount:?} in {:#?}",
                paper.lines
            );
            assert!(paper.lines.iter().any(|l| l.starts_with(&change)), "{language:?}: {change:?}");
            // The sale line stored "07 of 24"; the receipt says it in the stall's words.
            let edition = crate::domain::Edition::new(7, 24).unwrap().label(language);
            assert!(paper.lines.iter().any(|l| l.ends_with(&edition)), "{language:?}: {edition:?}");
            // PC858 bytes: € is 0xD5 and the no-break space before it 0xFF, never "EUR" or '?'.
            assert!(bytes.windows(2).any(|w| w == [0xFF, 0xD5]), "{language:?}: no \"\u{a0}€\" in the bytes");
            assert!(!paper.lines.iter().any(|l| l.contains('?') || l.contains("EUR")), "{:#?}", paper.lines);
            assert_eq!(scan(&paper), vec!["https://verify.marketday.example/o/K1-000042".to_owned()]);
        }
        // The letters each language needs are in the codepage as themselves.
        let cp = profile.codepage;
        assert_eq!(cp.encode("é è à ç"), b"\x82 \x8a \x85 \x87");
        assert_eq!(cp.encode("ä ö ü ß"), b"\x84 \x94 \x81 \xe1");
        assert_eq!(cp.encode("€"), b"\xd5");
    }

    #[test]
    fn every_printout_in_every_language_scans_and_keeps_its_words() {
        let at = chrono::Utc::now();
        let profile = PrinterProfile::builtin("generic-58").unwrap();
        for language in Language::ALL {
            let options = samples::layout_options(language);
            let docs = [
                (Printout::Receipt(samples::receipt(at)), "Scan to see your order"),
                (Printout::Slip(samples::slip(at)), "Your code"),
                (Printout::DispatchSlip(samples::dispatch_slip(at)), "DISPATCHED"),
                (Printout::ZReport(samples::z_report(at)), "END OF DAY"),
                (Printout::RefundSlip(samples::refund_slip(at)), "REFUND"),
            ];
            for (doc, word) in docs {
                let paper = render(&doc, &profile, &options, false);
                let want = i18n::tr(language, word);
                assert!(
                    paper.lines.iter().any(|l| l.contains(&want)),
                    "{language:?}: {want:?} not on {:#?}",
                    paper.lines
                );
                if !matches!(doc, Printout::ZReport(_) | Printout::RefundSlip(_)) {
                    assert_eq!(scan(&paper).len(), 1, "{language:?}: the QR of {word:?} does not scan");
                }
            }
        }
    }
}
