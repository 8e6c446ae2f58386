//! Holds and reservations against a real SQLite file: random sequences of hold, extend,
//! release, collect, sell, expiry sweeps and clock jumps (backwards too), checked step by
//! step against a model of what must happen.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use marketday::domain::reservation::{Customer, Source};
use marketday::domain::{
    Cart, Currency, Edition, Money, PieceStatus, ReservationCode, ReservationKind, Serial, Tender, VatRate,
};
use marketday::store::{NewPiece, NewReservation, Store};
use proptest::prelude::*;
use uuid::Uuid;

const PIECES: u32 = 4;

#[derive(Debug, Clone)]
enum Op {
    Hold(u32, i64),
    Extend(u32, i64),
    Release(u32),
    Collect(u32),
    Sell(u32),
    Sweep,
    Jump(i64),
}

fn op() -> impl Strategy<Value = Op> {
    let piece = 1..=PIECES;
    prop_oneof![
        (piece.clone(), 1i64..120).prop_map(|(p, m)| Op::Hold(p, m)),
        (piece.clone(), -30i64..120).prop_map(|(p, m)| Op::Extend(p, m)),
        piece.clone().prop_map(Op::Release),
        piece.clone().prop_map(Op::Collect),
        piece.prop_map(Op::Sell),
        Just(Op::Sweep),
        (-90i64..150).prop_map(Op::Jump),
    ]
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Model {
    Available,
    Kept { expires: DateTime<Utc> },
    Sold,
}

fn serial(n: u32) -> Serial {
    Serial::parse(&format!("AT-{n}")).unwrap()
}

fn setup() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("r.sqlite")).unwrap();
    for i in 1..=PIECES {
        let piece = NewPiece {
            serial: serial(i),
            drop_id: None,
            edition: Edition::new(i, PIECES).unwrap(),
            title: "Pendant".into(),
            maker: "Atelier".into(),
            materials: String::new(),
            origin_notes: String::new(),
            price: Money::new(10_000, Currency::GBP),
            assay_hash: None,
        };
        store.add_piece(&piece, Utc::now()).unwrap();
    }
    (dir, store)
}

fn hold(store: &mut Store, n: u32, expires: DateTime<Utc>, now: DateTime<Utc>) -> Result<Uuid, String> {
    let new = NewReservation {
        id: Uuid::now_v7(),
        kind: ReservationKind::Hold,
        source: Source::Stall,
        serial: serial(n),
        customer: Customer::new("Ana", "07700 900000").unwrap(),
        member_id: None,
        expires_at: expires,
    };
    let mut rng = rand::rng();
    store
        .create_reservation(&new, now, || ReservationCode::random(&mut rng), |_| None)
        .map(|r| r.id)
        .map_err(|e| e.to_string())
}

/// Collects through the Sell flow: the reserved piece into a cart, paid, committed.
fn collect(store: &mut Store, id: Uuid, now: DateTime<Utc>) -> Result<(), String> {
    let r = store.reservation(id).unwrap().unwrap();
    let piece = store.piece(&r.serial).unwrap().unwrap();
    let mut cart = Cart::new(Currency::GBP);
    cart.add_reserved(&piece, &r, now).map_err(|e| e.to_string())?;
    let (sale, _) =
        cart.checkout(vec![Tender::Cash { tendered: r.price }], VatRate(2000), now, Uuid::now_v7()).unwrap();
    store.commit_sale(&sale, "K1").map(drop).map_err(|e| e.to_string())
}

fn sell(store: &mut Store, n: u32, now: DateTime<Utc>) -> Result<(), String> {
    let piece = store.piece(&serial(n)).unwrap().unwrap();
    let mut cart = Cart::new(Currency::GBP);
    cart.add(&piece, None, now).map_err(|e| e.to_string())?;
    let (sale, _) =
        cart.checkout(vec![Tender::Cash { tendered: piece.price }], VatRate(2000), now, Uuid::now_v7()).unwrap();
    store.commit_sale(&sale, "K1").map(drop).map_err(|e| e.to_string())
}

fn run(ops: Vec<Op>) {
    let (_dir, mut store) = setup();
    let mut now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
    let mut model: HashMap<u32, Model> = (1..=PIECES).map(|i| (i, Model::Available)).collect();
    let mut kept_by: HashMap<u32, Uuid> = HashMap::new();
    for op in ops {
        match op {
            Op::Hold(n, minutes) => {
                let expires = now + Duration::minutes(minutes);
                let got = hold(&mut store, n, expires, now);
                let expect = model[&n] == Model::Available;
                assert_eq!(got.is_ok(), expect, "{op:?} at {now}: {got:?}");
                if let Ok(id) = got {
                    model.insert(n, Model::Kept { expires });
                    kept_by.insert(n, id);
                }
            }
            Op::Extend(n, minutes) => {
                let Some(&id) = kept_by.get(&n) else { continue };
                let until = now + Duration::minutes(minutes);
                let got = store.extend_reservation(id, until, "Customer asked", now);
                let alive = matches!(model[&n], Model::Kept { expires } if now < expires);
                assert_eq!(got.is_ok(), alive && until > now, "{op:?}: {got:?}");
                if got.is_ok() {
                    model.insert(n, Model::Kept { expires: until });
                }
            }
            Op::Release(n) => {
                let Some(&id) = kept_by.get(&n) else { continue };
                let got = store.release_reservation(id, "Changed mind", now);
                let alive = matches!(model[&n], Model::Kept { expires } if now < expires);
                assert_eq!(got.is_ok(), alive, "{op:?}: {got:?}");
                if got.is_ok() {
                    model.insert(n, Model::Available);
                    kept_by.remove(&n);
                }
            }
            Op::Collect(n) => {
                let Some(&id) = kept_by.get(&n) else { continue };
                let got = collect(&mut store, id, now);
                let alive = matches!(model[&n], Model::Kept { expires } if now < expires);
                assert_eq!(got.is_ok(), alive, "{op:?} at {now}: {got:?}");
                if got.is_ok() {
                    model.insert(n, Model::Sold);
                    kept_by.remove(&n);
                }
            }
            Op::Sell(n) => {
                let got = sell(&mut store, n, now);
                assert_eq!(got.is_ok(), model[&n] == Model::Available, "{op:?}: {got:?}");
                if got.is_ok() {
                    model.insert(n, Model::Sold);
                }
            }
            Op::Sweep => {
                let expired = store.expire_reservations(now).unwrap();
                let due: Vec<u32> =
                    (1..=PIECES).filter(|n| matches!(model[n], Model::Kept { expires } if expires <= now)).collect();
                assert_eq!(expired.len(), due.len(), "sweep at {now}");
                for n in due {
                    model.insert(n, Model::Available);
                    kept_by.remove(&n);
                }
            }
            Op::Jump(minutes) => now += Duration::minutes(minutes),
        }
        // The store agrees with the model on every piece, and its own records agree.
        for n in 1..=PIECES {
            let piece = store.piece(&serial(n)).unwrap().unwrap();
            let expected = match model[&n] {
                Model::Available => PieceStatus::Available,
                Model::Kept { .. } => PieceStatus::Held,
                Model::Sold => PieceStatus::Sold,
            };
            assert_eq!(piece.status, expected, "piece {n}");
            let far_past = now - Duration::days(3650);
            let kept = store.reservation_for_piece(&serial(n), far_past).unwrap();
            assert_eq!(kept.is_some(), matches!(model[&n], Model::Kept { .. }), "piece {n} reservation record");
        }
        let left = (1..=PIECES).filter(|n| model[n] == Model::Available).count();
        let available = (1..=PIECES)
            .filter(|n| store.piece(&serial(*n)).unwrap().unwrap().status == PieceStatus::Available)
            .count();
        assert_eq!(available, left);
    }
    // Finally, time passes and the sweep runs: every hold still open ends and frees its piece.
    now += Duration::days(2);
    store.expire_reservations(now).unwrap();
    for n in 1..=PIECES {
        let status = store.piece(&serial(n)).unwrap().unwrap().status;
        assert!(matches!(status, PieceStatus::Available | PieceStatus::Sold), "piece {n} still {status:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
    #[test]
    fn reservations_never_double_book_lose_or_outlive_their_expiry(ops in prop::collection::vec(op(), 1..40)) {
        run(ops);
    }
}

#[test]
fn expiry_and_collection_at_the_same_instant_expiry_wins() {
    let (_dir, mut store) = setup();
    let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
    let expires = now + Duration::minutes(30);
    let id = hold(&mut store, 1, expires, now).unwrap();
    // A collection one millisecond before expiry goes through...
    let early = hold(&mut store, 2, expires, now).unwrap();
    collect(&mut store, early, expires - Duration::milliseconds(1)).unwrap();
    // ...at the expiry instant it does not, whether or not the sweep has run yet.
    let err = collect(&mut store, id, expires).unwrap_err();
    assert!(err.contains("expired"), "{err}");
    assert_eq!(store.expire_reservations(expires).unwrap().len(), 1);
    assert_eq!(store.piece(&serial(1)).unwrap().unwrap().status, PieceStatus::Available);
    assert_eq!(store.piece(&serial(2)).unwrap().unwrap().status, PieceStatus::Sold);
    // And nothing can be collected twice.
    let err = collect(&mut store, early, expires - Duration::milliseconds(1)).unwrap_err();
    assert!(err.contains("already collected") || err.contains("in the cart"), "{err}");
}

#[test]
fn reservations_are_found_by_code_serial_or_the_start_of_a_name() {
    let (_dir, mut store) = setup();
    let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
    let id = hold(&mut store, 2, now + Duration::hours(1), now).unwrap();
    let code = store.reservation(id).unwrap().unwrap().code;
    let since = now - Duration::days(1);
    let find =
        |q: &str| store.search_reservations(q, since, now, 10).unwrap().into_iter().map(|r| r.id).collect::<Vec<_>>();
    assert_eq!(find(&code.to_string()), vec![id]);
    assert_eq!(find(&code.as_str().to_lowercase()), vec![id], "codes in any case, with or without the dash");
    assert_eq!(find("AT-2"), vec![id]);
    assert_eq!(find("an"), vec![id], "name prefix, any case");
    assert_eq!(find(""), vec![id]);
    assert!(find("Bo").is_empty());
    assert!(find("%").is_empty(), "a typed % matches literally");
}

#[test]
fn live_holds_are_listed_before_the_days_ended_ones() {
    let (_dir, mut store) = setup();
    let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
    // The morning's holds ended (one collected, one released) though they would have
    // expired before the live ones: their expiry must not put them first.
    let collected = hold(&mut store, 1, now + Duration::minutes(10), now).unwrap();
    collect(&mut store, collected, now + Duration::minutes(1)).unwrap();
    let released = hold(&mut store, 2, now + Duration::minutes(20), now).unwrap();
    store.release_reservation(released, "Changed mind", now + Duration::minutes(2)).unwrap();
    let later = hold(&mut store, 3, now + Duration::minutes(60), now).unwrap();
    let sooner = hold(&mut store, 4, now + Duration::minutes(45), now).unwrap();

    let at = now + Duration::minutes(3);
    let list = |q: &str, limit| {
        store.search_reservations(q, now - Duration::hours(1), at, limit).unwrap().into_iter().map(|r| r.id).collect()
    };
    let all: Vec<Uuid> = list("", 10);
    assert_eq!(all, [sooner, later, released, collected], "live by expiry, then ended, latest first");
    let first_two: Vec<Uuid> = list("", 2);
    assert_eq!(first_two, [sooner, later], "a full list keeps the live holds");
    let by_name: Vec<Uuid> = list("ana", 10);
    assert_eq!(by_name, all, "a search orders the same way");
}
