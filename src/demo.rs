//! The demo stall: what `marketday` shows when it has no configuration.
//!
//! One atelier, one live drop of 24 serialized pendants, a few waitlist members, a couple
//! of sales already made and one piece held, so every tile state can be seen.

use chrono::{DateTime, Duration, Utc};
use sha2::Digest;
use uuid::Uuid;

use crate::app::auth;
use crate::domain::provenance::TrustedKey;
use crate::domain::reservation::{Customer, Source};
use crate::domain::{Cart, Currency, Drop, Edition, Member, Money, Serial, Tender, VatRate};
use crate::domain::{ReservationCode, ReservationKind};
use crate::store::{NewPiece, NewReservation, Shipment, Store, StoreError};

/// The demo atelier's logo, printed at the top of demo receipts.
pub const LOGO_PNG: &[u8] = include_bytes!("../assets/demo-logo.png");

pub const DEMO_PIN: &str = "1234";
pub const DEMO_DROP: &str = "winter-clasp-26";
pub const MAKER: &str = "Atelier Thorne";

const STONES: [(&str, i64); 6] = [
    ("garnet", 18_500),
    ("moonstone", 19_500),
    ("peridot", 18_500),
    ("London blue topaz", 21_000),
    ("amethyst", 18_500),
    ("rose quartz", 17_500),
];
/// Each stone's colour in the demo's photos, in `STONES`' order.
const STONE_COLOURS: [[f32; 3]; 6] = [
    [128.0, 18.0, 36.0],
    [214.0, 222.0, 230.0],
    [150.0, 190.0, 40.0],
    [30.0, 70.0, 140.0],
    [120.0, 60.0, 160.0],
    [235.0, 170.0, 185.0],
];

/// A photo of a clasp pendant set with a stone of `colour`, drawn rather than shipped: a
/// rose-gold bezel on a chain, on linen, as the atelier might photograph it.
fn pendant_photo(colour: [f32; 3]) -> Vec<u8> {
    const SIDE: u32 = 400;
    let (cx, cy) = (200.0f32, 235.0f32);
    let picture = image::RgbImage::from_fn(SIDE, SIDE, |x, y| {
        let (x, y) = (x as f32, y as f32);
        // Linen, lighter at the top; a soft shadow under the pendant.
        let mut c = [239.0 - y * 0.03, 230.0 - y * 0.035, 218.0 - y * 0.04];
        let shadow = ((x - cx - 8.0).powi(2) + (y - cy - 12.0).powi(2)).sqrt();
        let dim = 1.0 - 0.18 * (1.0 - ((shadow - 112.0) / 36.0).clamp(0.0, 1.0));
        c = c.map(|v| v * dim);
        // The chain: two strands from the top meeting at the bail.
        for top in [120.0f32, 280.0] {
            let (dx, dy) = (cx - top, cy - 118.0);
            let t = ((x - top) * dx + y * dy) / (dx * dx + dy * dy);
            if (0.0..=1.0).contains(&t) {
                let d = ((x - top - t * dx).powi(2) + (y - t * dy).powi(2)).sqrt();
                if d < 2.2 {
                    c = [196.0, 150.0, 120.0];
                }
            }
        }
        let r = ((x - cx).powi(2) + (y - cy).powi(2)).sqrt();
        // The bezel, lit from the top left.
        if r < 118.0 {
            let light = 0.75 + 0.35 * ((cx - x) + (cy - y)) / (r.max(1.0) * 1.414);
            c = [222.0 * light, 160.0 * light, 130.0 * light];
        }
        // The stone, with a highlight.
        if r < 88.0 {
            let h = ((x - cx + 30.0).powi(2) + (y - cy + 30.0).powi(2)).sqrt();
            let glint = (1.0 - h / 56.0).clamp(0.0, 1.0) * 0.6;
            let depth = 0.8 + 0.2 * (1.0 - r / 88.0);
            c = colour.map(|v| v * depth + (255.0 - v * depth) * glint);
        }
        image::Rgb(c.map(|v| v.clamp(0.0, 255.0) as u8))
    });
    let mut jpeg = Vec::new();
    let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 85);
    // Encoding pixels held in memory cannot fail short of memory itself.
    image::DynamicImage::ImageRgb8(picture).write_with_encoder(encoder).expect("a JPEG in memory");
    jpeg
}

/// The demo's piece photos, as a kiosk would have fetched them from the cloud: one a stone,
/// in the folder beside the store, named on each piece.
fn seed_photos(store: &mut Store) -> Result<(), StoreError> {
    let dir = crate::piece_photos::dir_for(store.path());
    let photos = crate::piece_photos::PiecePhotos::open(&dir).map_err(|e| StoreError::Invalid(e.to_string()))?;
    let mut names = Vec::new();
    for colour in STONE_COLOURS {
        let name = photos.keep(&pendant_photo(colour)).map_err(|e| StoreError::Invalid(e.to_string()))?;
        names.push(name);
    }
    for n in 1..=24u32 {
        store.set_piece_photo(&serial(n), Some(&names[(n as usize - 1) % names.len()]))?;
    }
    Ok(())
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}

pub fn serial(n: u32) -> Serial {
    Serial::parse(&format!("AT-2026-{n:04}")).expect("demo serials are valid")
}

fn demo_drop(now: DateTime<Utc>) -> Drop {
    Drop {
        id: DEMO_DROP.into(),
        name: "Winter Clasp".into(),
        opens_at: now - Duration::hours(50),
        general_sale_at: now - Duration::hours(2),
        closes_at: now + Duration::hours(46),
        member_limit: 1,
    }
}

/// The demo atelier's signing key. Derived from a public phrase, so it proves nothing
/// outside the demo; a real atelier makes its key with `marketday provenance keygen`.
pub fn demo_signing_key() -> ed25519_dalek::SigningKey {
    ed25519_dalek::SigningKey::from_bytes(&sha2::Sha256::digest(b"marketday demo atelier key, not secret").into())
}

/// Trusts the demo key and signs a certificate for every demo piece, as an atelier would
/// before the pieces reach the stall.
fn sign_demo_pieces(store: &mut Store, now: DateTime<Utc>) -> Result<(), StoreError> {
    let key = demo_signing_key();
    let since = (now - Duration::days(60)).date_naive();
    store.trust_key(&TrustedKey::new(MAKER, key.verifying_key(), since), now)?;
    let pieces: Vec<_> = (1..=24).filter_map(|n| store.piece(&serial(n)).transpose()).collect::<Result<_, _>>()?;
    let issued = (now - Duration::days(7)).date_naive();
    crate::provenance::sign_pieces(store, &pieces, &key, issued, now).map_err(|e| match e {
        crate::provenance::ProvenanceError::Store(e) => e,
        other => StoreError::Invalid(other.to_string()),
    })?;
    Ok(())
}

/// What the demo camera plays: an empty stall, a genuine tag, empty, a sold piece's tag,
/// empty, and a tag whose certificate was tampered with.
pub fn camera_frames(store: &Store, verify_url: &str) -> Vec<marketday_hardware::Frame> {
    use marketday_scan::synth::tag_frame;
    let url = |n: u32| {
        store.certificate(&serial(n)).ok().flatten().map(|t| crate::domain::provenance::token_url(verify_url, &t))
    };
    let forged = url(12).map(|u| {
        // One character of the signed part changed: the signature no longer matches.
        let mut chars: Vec<char> = u.chars().collect();
        let i = chars.len() - 120;
        chars[i] = if chars[i] == 'A' { 'B' } else { 'A' };
        chars.into_iter().collect::<String>()
    });
    let mut frames = Vec::new();
    for (i, text) in [url(7), url(3), forged].into_iter().flatten().enumerate() {
        frames.push(tag_frame(None, 10 + i as u64));
        // Each tag held two ways: the certificates' bytes change with their issue date, and
        // a rare frame of them does not read; two poses make sure each shows every day.
        frames.push(tag_frame(Some(&text), 20 + i as u64));
        frames.push(tag_frame(Some(&text), 30 + i as u64));
    }
    frames
}

/// Keeps a demo store from an earlier day on sale: moves the demo drop's times so it is in
/// general sale now. Sales made in the demo are kept.
pub fn refresh(store: &mut Store, now: DateTime<Utc>) -> Result<(), StoreError> {
    match store.drop_by_id(DEMO_DROP)? {
        Some(d) if d.phase(now) == crate::domain::DropPhase::GeneralSale => Ok(()),
        Some(_) => store.add_drop(&demo_drop(now), now),
        None => Ok(()),
    }
}

/// Seeds an empty store. `now` fixes the drop's phase: general sale for two more days.
pub fn seed(store: &mut Store, stall_name: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
    store.set_setting("stall_name", stall_name)?;
    store.set_setting("atelier", MAKER)?;
    store.add_drop(&demo_drop(now), now)?;
    let pieces: Vec<NewPiece> = (1..=24)
        .map(|n| {
            let (stone, price) = STONES[(n as usize - 1) % STONES.len()];
            NewPiece {
                serial: serial(n),
                drop_id: Some(DEMO_DROP.into()),
                edition: Edition { number: n, size: 24 },
                title: format!("{} clasp pendant", capitalise(stone)),
                maker: MAKER.into(),
                materials: format!("18ct rose gold, {stone}"),
                origin_notes: "Cast and set in Hatton Garden, London".into(),
                price: Money::new(price, Currency::GBP),
                // Stands in for the SHA-256 of the lab's assay report PDF.
                assay_hash: Some(crate::domain::provenance::hex(&sha2::Sha256::digest(
                    format!("demo assay report {n}").as_bytes(),
                ))),
            }
        })
        .collect();
    store.add_pieces(&pieces, now)?;
    sign_demo_pieces(store, now)?;
    seed_photos(store)?;
    let members = [
        ("m-001", "Priya Shah", "priya@example.com"),
        ("m-002", "Tom Okafor", "tom@example.com"),
        ("m-003", "Hana Sato", "hana@example.com"),
        ("m-004", "Ellis Byrne", "ellis@example.com"),
    ];
    for (id, name, email) in members {
        store.add_member(&Member {
            id: id.into(),
            name: name.into(),
            email: email.into(),
            drops: vec![DEMO_DROP.into()],
        })?;
    }
    // Two pieces sold earlier today, through the same path as any sale; the second one is
    // to be posted to its buyer.
    for (n, hours_ago) in [(3, 2), (11, 1)] {
        let at = now - Duration::hours(hours_ago);
        let piece = store.piece(&serial(n))?.expect("just seeded");
        let mut cart = Cart::new(Currency::GBP);
        cart.add(&piece, None, at).map_err(StoreError::Sell)?;
        let tender = Tender::Card { amount: piece.price, reference: format!("DEMO{n:02}") };
        let (sale, _) = cart
            .checkout(vec![tender], VatRate::UK_STANDARD, at, Uuid::now_v7())
            .map_err(|e| StoreError::Invalid(e.to_string()))?;
        let receipt = store.commit_sale(&sale, "K1")?;
        if n == 11 {
            store.add_shipment(&Shipment {
                id: receipt.to_string(),
                sale_id: Some(sale.id.to_string()),
                buyer: "Ellis Byrne".into(),
                pieces: vec![serial(n).to_string()],
                created_at: at,
                dispatched_at: None,
            })?;
        }
    }
    // Orders from the online shop waiting at the stall for a courier.
    for (id, buyer, pieces, hours_ago) in [
        ("WEB-1041", "Hana Sato", &["AT-2025-0104"][..], 20),
        ("WEB-1042", "Priya Shah", &["AT-2025-0112", "AT-2025-0117"][..], 5),
    ] {
        store.add_shipment(&Shipment {
            id: id.into(),
            sale_id: None,
            buyer: buyer.into(),
            pieces: pieces.iter().map(|p| p.to_string()).collect(),
            created_at: now - Duration::hours(hours_ago),
            dispatched_at: None,
        })?;
    }
    let hold = NewReservation {
        id: Uuid::now_v7(),
        kind: ReservationKind::Hold,
        source: Source::Stall,
        serial: serial(7),
        customer: Customer { name: "Priya Shah".into(), contact: "07700 900123".into() },
        member_id: None,
        expires_at: now + Duration::hours(3),
    };
    store.create_reservation(&hold, now, || ReservationCode::random(&mut rand::rng()), |_| None)?;
    // An online reservation waiting to be collected at the stall.
    let online = NewReservation {
        id: Uuid::now_v7(),
        kind: ReservationKind::Reservation,
        source: Source::Online,
        serial: serial(16),
        customer: Customer { name: "Tom Okafor".into(), contact: "tom@example.com".into() },
        member_id: None,
        expires_at: now + Duration::hours(30),
    };
    store.create_reservation(&online, now, || ReservationCode::random(&mut rand::rng()), |_| None)?;
    store.set_pin_hash(&auth::hash_pin(DEMO_PIN).map_err(|e| StoreError::Invalid(e.to_string()))?)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::DropPhase;

    #[test]
    fn a_demo_store_from_an_earlier_week_is_back_on_sale_and_keeps_its_sales() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("demo.sqlite")).unwrap();
        let then = Utc::now() - Duration::days(9);
        seed(&mut store, "Demo", then).unwrap();
        let now = Utc::now();
        assert_eq!(store.drop_by_id(DEMO_DROP).unwrap().unwrap().phase(now), DropPhase::Closed);
        refresh(&mut store, now).unwrap();
        assert_eq!(store.drop_by_id(DEMO_DROP).unwrap().unwrap().phase(now), DropPhase::GeneralSale);
        assert_eq!(store.recent_sales(10).unwrap().len(), 2);
        assert_eq!(store.piece(&serial(7)).unwrap().unwrap().held_for.as_deref(), Some("Priya Shah"));
    }
}
