//! Pull: what the atelier published since this kiosk's cursor, page by page. Each change is
//! read and checked here (the cloud is trusted to be the cloud, not to be right), then the
//! store applies the page and its cursor in one transaction.

use chrono::Utc;
use marketday_cloud::wire::{Change, ChangeBody, DropChange, KeyChange, PieceChange, ReservationChange};

use super::{Client, SyncError};
use crate::domain::piece::valid_assay_hash;
use crate::domain::reservation::{Customer, Source};
use crate::domain::{Currency, Drop, Edition, Member, Money, ReservationCode, ReservationKind, Serial};
use crate::store::{NewPiece, NewReservation, PullReport, Pulled, Shipment, Store, from_ms};

/// Changes per request.
pub const PAGE: u32 = 500;

/// Pulls and applies every page waiting. Returns what was applied, in all.
pub async fn pull(store: &mut Store, client: &Client) -> Result<PullReport, SyncError> {
    let mut total = PullReport::default();
    loop {
        let since = store.pull_cursor()?;
        let page = client.changes(since, PAGE).await?;
        if page.changes.iter().any(|c| c.cursor <= since) || page.next < since {
            return Err(SyncError::NotTheCloud("the changes do not follow the kiosk's cursor".into()));
        }
        let mut pulled = Vec::with_capacity(page.changes.len());
        for change in &page.changes {
            match read(change) {
                Ok(Some(p)) => pulled.push(p),
                Ok(None) => tracing::debug!(kind = %change.kind, "a change of a kind this version does not know"),
                Err(why) => {
                    tracing::warn!(cursor = change.cursor, kind = %change.kind, %why, "unreadable change skipped");
                    total.skipped.push(format!("{} {}: {why}", change.kind, change.cursor));
                }
            }
        }
        let report = store.apply_pulled(&page.stall, &pulled, page.next, Utc::now())?;
        total.applied += report.applied;
        total.refused += report.refused;
        total.skipped.extend(report.skipped);
        if !page.more || page.changes.is_empty() {
            return Ok(total);
        }
    }
}

/// A change as this kiosk's types, checked; `Ok(None)` for a kind it does not know.
pub fn read(change: &Change) -> Result<Option<Pulled>, String> {
    let body = ChangeBody::read(change).map_err(|e| e.to_string())?;
    let Some(body) = body else { return Ok(None) };
    let serial = |s: &str| Serial::parse(s).map_err(|e| e.to_string());
    Ok(Some(match body {
        ChangeBody::Drop(d) => Pulled::Drop(drop_of(d)?),
        ChangeBody::Piece(p) => piece_of(p)?,
        ChangeBody::PieceState(s) => {
            Pulled::PieceState { serial: serial(&s.serial)?, allocated_to: s.allocated_to, sold_by: s.sold_by }
        }
        ChangeBody::Member(m) => {
            if m.id.trim().is_empty() || m.name.trim().is_empty() {
                return Err("a member needs an id and a name".into());
            }
            Pulled::Member(Member { id: m.id, name: m.name, email: m.email, drops: m.waitlist })
        }
        ChangeBody::Reservation(r) => reservation_of(r)?,
        ChangeBody::Shipment(s) => {
            if s.id.trim().is_empty() || s.pieces.is_empty() {
                return Err("an order needs a number and pieces".into());
            }
            let created_at = from_ms(s.created_at);
            let pieces = s.pieces.iter().map(|p| serial(p).map(|s| s.as_str().to_owned())).collect::<Result<_, _>>()?;
            Pulled::Shipment(Shipment {
                id: s.id,
                sale_id: None,
                buyer: s.buyer,
                pieces,
                created_at,
                dispatched_at: None,
            })
        }
        ChangeBody::Key(k) => Pulled::Key(key_of(k)?),
        ChangeBody::ConflictDealt(c) => Pulled::ConflictDealt(c.event_id),
    }))
}

fn drop_of(d: DropChange) -> Result<Drop, String> {
    let drop = Drop {
        id: d.id,
        name: d.name,
        opens_at: from_ms(d.opens_at),
        general_sale_at: from_ms(d.general_sale_at),
        closes_at: from_ms(d.closes_at),
        member_limit: d.member_limit,
    };
    if drop.id.trim().is_empty() || !(drop.opens_at <= drop.general_sale_at && drop.general_sale_at <= drop.closes_at) {
        return Err(format!("drop '{}': needs an id and opens ≤ general sale ≤ closes", drop.id));
    }
    Ok(drop)
}

fn piece_of(p: PieceChange) -> Result<Pulled, String> {
    let serial = Serial::parse(&p.serial).map_err(|e| e.to_string())?;
    let edition = Edition::new(p.edition_number, p.edition_size).map_err(|e| format!("{serial}: {e}"))?;
    let currency = Currency::parse(&p.currency).map_err(|e| format!("{serial}: {e}"))?;
    if p.price_minor < 0 || p.title.trim().is_empty() {
        return Err(format!("{serial}: needs a title and a price of zero or more"));
    }
    if let Some(hash) = &p.assay_hash
        && !valid_assay_hash(hash)
    {
        return Err(format!("{serial}: assay hash {hash:?} is not a SHA-256 in hex"));
    }
    // Lower-case hex and nothing else: it names a file in the kiosk's photo folder.
    if let Some(photo) = &p.photo
        && !crate::piece_photos::valid_name(photo)
    {
        return Err(format!("{serial}: photo {photo:?} is not a SHA-256 in hex"));
    }
    let piece = NewPiece {
        serial,
        drop_id: p.drop_id,
        edition,
        title: p.title,
        maker: p.maker,
        materials: p.materials,
        origin_notes: p.origin_notes,
        price: Money::new(p.price_minor, currency),
        assay_hash: p.assay_hash,
    };
    Ok(Pulled::Piece { piece, certificate: p.certificate, photo: p.photo })
}

fn reservation_of(r: ReservationChange) -> Result<Pulled, String> {
    let code = ReservationCode::parse(&r.code).map_err(|e| format!("code {:?}: {e}", r.code))?;
    let customer = Customer::new(&r.customer_name, &r.customer_contact).map_err(|e| format!("{code}: {e}"))?;
    let new = NewReservation {
        id: r.id,
        kind: ReservationKind::Reservation,
        source: Source::Online,
        serial: Serial::parse(&r.serial).map_err(|e| format!("{code}: {e}"))?,
        customer,
        member_id: r.member_id,
        expires_at: from_ms(r.expires_at),
    };
    Ok(Pulled::Reservation { new, code, cancelled: r.cancelled })
}

fn key_of(k: KeyChange) -> Result<crate::domain::provenance::TrustedKey, String> {
    k.trusted().map_err(|e| format!("key of {}: {e}", k.atelier))
}
