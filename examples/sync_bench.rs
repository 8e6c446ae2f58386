//! Sync figures over loopback, with the real server (`cargo run --release --example sync_bench`):
//! 10,000 queued events and 100 photos of 1 MB (time and bytes on the wire), time to the
//! first completed sync after the network returns, and the server's ingestion rate with 20
//! kiosks pushing at once (on SQLite, and on PostgreSQL when `MARKETDAY_TEST_POSTGRES` names
//! a database), and a new kiosk pulling a 10,000-piece catalog. Figures, not assertions.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use chrono::Utc;
use marketday::dispatch::{Station, record_handover};
use marketday::domain::dispatch::Handover;
use marketday::store::{Shipment, Store};
use marketday::sync::{self, Client};
use marketday_cloud::AppState;
use marketday_cloud::wire::{ChangeBody, PieceChange};

#[path = "../tests/common/cloud.rs"]
mod cloud;
#[path = "../tests/common/mod.rs"]
mod common;
#[path = "../tests/common/fault_proxy.rs"]
#[allow(dead_code)]
mod fault_proxy;

fn main() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let state = AppState::open(&dir.path().join("cloud"), None)?;
    let server_rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let listener = server_rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
    let addr = listener.local_addr()?;
    server_rt.spawn(marketday_cloud::serve(listener, state.clone()));
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;

    // 1. 10,000 events and 100 photos of 1 MB through a counting (fault-free) proxy.
    let token = state.db().add_device("K1", "Atelier", "Stall")?;
    let proxy = fault_proxy::FaultProxy::start(addr, 1, 0);
    let mut store = Store::open(&dir.path().join("k1.sqlite"))?;
    store.seed_pending_events(10_000, Utc::now())?;
    let station = Station::open(&dir.path().join("k1"), "K1", "Stall", "https://verify.example")?;
    for i in 0..100u32 {
        let order = format!("WEB-{i:04}");
        let shipment = Shipment {
            id: order.clone(),
            sale_id: None,
            buyer: "Bench".into(),
            pieces: vec!["AT-1".into()],
            created_at: Utc::now(),
            dispatched_at: None,
        };
        store.add_shipment(&shipment)?;
        let photo: Vec<u8> = (0..1_000_000u32).map(|n| (n.wrapping_mul(2_654_435_761) >> 11) as u8 ^ i as u8).collect();
        let handover = Handover {
            order,
            pieces: vec!["AT-1".into()],
            tracking_number: "JD000223344GB".into(),
            courier: "Royal Mail".into(),
            courier_name: "Sam".into(),
        };
        record_handover(&mut store, &station, handover, &photo, Utc::now(), Utc::now())?;
    }
    let events = store.unsynced_count()?;
    let client = Client::new(&proxy.url(), &token, Duration::from_secs(60))?;
    let started = Instant::now();
    let events_done = rt.block_on(async {
        // Events first (timed on their own), then the photos.
        let done = sync::round(&mut store, &client, None).await?;
        let events_time = started.elapsed();
        println!(
            "events alone on the wire: {:.2} MB up, {:.2} MB down",
            proxy.bytes[0].load(Ordering::Relaxed) as f64 / 1e6,
            proxy.bytes[1].load(Ordering::Relaxed) as f64 / 1e6
        );
        let photos = sync::round(&mut store, &client, Some(&station.photos)).await?;
        anyhow::Ok((done, events_time, photos))
    })?;
    let total = started.elapsed();
    let (up, down) = (proxy.bytes[0].load(Ordering::Relaxed), proxy.bytes[1].load(Ordering::Relaxed));
    println!(
        "{events} events: {:.2} s; then 100 photos x 1 MB: {:.2} s; total {:.2} s; on the wire {:.1} MB up, {:.2} MB down",
        events_done.1.as_secs_f64(),
        (total - events_done.1).as_secs_f64(),
        total.as_secs_f64(),
        up as f64 / 1e6,
        down as f64 / 1e6
    );
    assert_eq!(events_done.0.delivered, events, "every event delivered");
    assert_eq!(events_done.2.photos, 100);

    // 2. Time to the first completed sync after the network returns (background worker).
    let token = state.db().add_device("K2", "Atelier", "Stall")?;
    let proxy = fault_proxy::FaultProxy::start(addr, 2, 0);
    proxy.set_down(true);
    let path = dir.path().join("k2.sqlite");
    let mut k2 = Store::open(&path)?;
    k2.seed_pending_events(100, Utc::now())?;
    let worker = sync::SyncWorker::start(
        &path,
        None,
        sync::SyncSettings { url: proxy.url(), token, ca: None, interval: Duration::from_secs(30) },
    )?;
    std::thread::sleep(Duration::from_secs(10));
    proxy.set_down(false);
    let back = Instant::now();
    while k2.unsynced_count()? > 0 {
        std::thread::sleep(Duration::from_millis(10));
    }
    println!(
        "after 10 s offline, first sync done {:.2} s after the network returned (backoff alone; a sale nudges it at once)",
        back.elapsed().as_secs_f64()
    );
    drop(worker);

    // 3. Ingestion with 20 kiosks pushing 2,000 events each, at once, on each store.
    ingestion(&state, addr, dir.path(), "SQLite, synchronous=FULL")?;
    match std::env::var(cloud::POSTGRES_ENV) {
        Ok(url) => {
            let pg = cloud::Server::start_on(&cloud::Backend::Postgres(url));
            ingestion(&pg.state, pg.addr, dir.path(), "PostgreSQL")?;
        }
        Err(_) => println!("PostgreSQL ingestion not measured: set {}", cloud::POSTGRES_ENV),
    }

    // 4. A new kiosk pulling a 10,000-piece catalog the atelier published.
    let pieces: Vec<ChangeBody> = (1..=10_000u32)
        .map(|n| {
            ChangeBody::Piece(PieceChange {
                serial: format!("AT-B-{n:05}"),
                drop_id: None,
                edition_number: n,
                edition_size: 10_000,
                title: "Bench pendant".into(),
                maker: "Atelier".into(),
                materials: "18ct gold".into(),
                origin_notes: String::new(),
                price_minor: 18_500,
                currency: "GBP".into(),
                assay_hash: None,
                certificate: None,
                photo: None,
            })
        })
        .collect();
    state.db().publish("Atelier", None, &pieces, 0)?;
    let token = state.db().add_device("K3", "Atelier", "Stall")?;
    let proxy = fault_proxy::FaultProxy::start(addr, 3, 0);
    let mut k3 = Store::open(&dir.path().join("k3.sqlite"))?;
    let client = Client::new(&proxy.url(), &token, Duration::from_secs(60))?;
    let started = Instant::now();
    let pulled = rt.block_on(sync::round(&mut k3, &client, None))?.pulled;
    println!(
        "a new kiosk pulling {pulled} published pieces: {:.2} s, {:.2} MB down ({} in its catalog)",
        started.elapsed().as_secs_f64(),
        proxy.bytes[1].load(Ordering::Relaxed) as f64 / 1e6,
        k3.piece_count()?
    );
    let _ = Arc::strong_count(&state);
    Ok(())
}

/// 20 kiosks of one atelier push 2,000 events each, all at once.
fn ingestion(state: &AppState, addr: std::net::SocketAddr, dir: &std::path::Path, store: &str) -> anyhow::Result<()> {
    let mut kiosks = Vec::new();
    for i in 0..20 {
        let id = format!("C{i:02}");
        let token = state.db().add_device(&id, "Atelier", &format!("Stall {i}"))?;
        let path = dir.join(format!("{id}-{}.sqlite", state.db().backend()));
        let mut store = Store::open(&path)?;
        store.seed_pending_events(2_000, Utc::now())?;
        kiosks.push((store, Client::new(&format!("http://{addr}"), &token, Duration::from_secs(60))?));
    }
    let started = Instant::now();
    let threads: Vec<_> = kiosks
        .into_iter()
        .map(|(mut store, client)| {
            std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
                rt.block_on(sync::round(&mut store, &client, None)).unwrap().delivered
            })
        })
        .collect();
    let delivered: u64 = threads.into_iter().map(|t| t.join().unwrap()).sum();
    let took = started.elapsed();
    println!(
        "20 kiosks x 2,000 events at once: {delivered} events in {:.2} s = {:.0} events/s ({store})",
        took.as_secs_f64(),
        delivered as f64 / took.as_secs_f64()
    );
    Ok(())
}
