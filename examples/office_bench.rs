//! Back-office figures on PostgreSQL (`MARKETDAY_TEST_POSTGRES=… cargo run --release --example
//! office_bench`): 100,000 pieces, 1,000,000 sales from 100 kiosks at 50 stalls over a year
//! (30 s apart, so today holds 2,880), then each page timed over loopback from the client's
//! first byte out to the last byte in, one request after another on a kept-alive connection,
//! signed in as the owner; and a CSV import of 10,000 pieces. Every sale is a real kiosk's
//! `sale.completed` payload (made by the kiosk's store) with its serial, id and receipt
//! changed. Figures, not assertions.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use marketday::domain::{Cart, Currency, Money, Tender, VatRate};
use marketday::store::Store;
use marketday_cloud::AppState;
use marketday_cloud::db::{NewUser, Role, token_hash};
use marketday_cloud::wire::{ChangeBody, PieceChange};

const PIECES: u32 = 100_000;
const SALES: i64 = 1_000_000;
const KIOSKS: i64 = 100;
const ATELIER: &str = "Atelier Bench";
const COOKIE: &str = "marketday_office=bench-session-token";

/// A page's path for its `i`th request.
type PathOf = dyn Fn(usize) -> String;

fn main() -> anyhow::Result<()> {
    let Some(url) = std::env::var("MARKETDAY_TEST_POSTGRES").ok().filter(|u| !u.is_empty()) else {
        println!("Not measured: set MARKETDAY_TEST_POSTGRES=postgres://… (the figures are PostgreSQL's)");
        return Ok(());
    };
    let dir = tempfile::tempdir()?;
    let name = format!("office_bench_{}", uuid::Uuid::now_v7().simple());
    let mut admin = postgres::Client::connect(&url, postgres::NoTls)?;
    admin.batch_execute(&format!("CREATE SCHEMA {name}"))?;
    let sep = if url.contains('?') { '&' } else { '?' };
    let in_schema = format!("{url}{sep}options=-csearch_path%3D{name}");
    let result = run(&dir.path().join("data"), &in_schema, dir.path());
    admin.batch_execute(&format!("DROP SCHEMA {name} CASCADE"))?;
    result
}

fn run(data: &std::path::Path, url: &str, dir: &std::path::Path) -> anyhow::Result<()> {
    let state = AppState::open(data, Some(url))?;
    let db = state.db();
    let started = Instant::now();
    let pieces: Vec<ChangeBody> =
        (1..=PIECES).map(|n| ChangeBody::Piece(piece(&format!("AB-2026-{n:06}"), n))).collect();
    for chunk in pieces.chunks(5_000) {
        db.publish(ATELIER, None, chunk, 1)?;
    }
    println!("{PIECES} pieces published in {:.1} s", started.elapsed().as_secs_f64());

    let started = Instant::now();
    for k in 0..KIOSKS {
        db.add_device(&format!("bench-{k:02}"), ATELIER, &format!("Stall {:02}", k / 2))?;
    }
    let template = sale_template(dir)?;
    let now = chrono::Utc::now().timestamp_millis();
    let mut client = postgres::Client::connect(url, postgres::NoTls)?;
    // Sale g: kiosk g % 100, its receipt g / 100 + 1, 30 s before sale g - 1.
    client.execute(
        "INSERT INTO events(device, atelier, seq, id, kind, at, payload, received_at, outcome)
         SELECT 'bench-' || lpad((g % 100)::text, 2, '0'), $1, g / 100 + 1, md5(g::text)::uuid::text,
                'sale.completed', $2 - g * 30000,
                replace(replace(replace(replace($3,
                    '\"__SEQ__\"', (g / 100 + 1)::text),
                    '__DEVICE__', 'bench-' || lpad((g % 100)::text, 2, '0')),
                    '__SALE__', md5(g::text)::uuid::text),
                    '__SERIAL__', 'AB-2026-' || lpad((g % 100000 + 1)::text, 6, '0')),
                $2, '{\"status\":\"accepted\"}'
         FROM generate_series(0::bigint, $4::bigint - 1) g",
        &[&ATELIER, &now, &template, &SALES],
    )?;
    client.execute("UPDATE devices SET next_seq = $1 WHERE atelier = $2", &[&(SALES / KIOSKS + 1), &ATELIER])?;
    println!(
        "{SALES} sales from {KIOSKS} kiosks at {} stalls written in {:.1} s",
        KIOSKS / 2,
        started.elapsed().as_secs_f64()
    );
    // Written past `ingest`, so their search keys are made as for a store from before them:
    // by the backfill a restarted server runs.
    client.batch_execute("INSERT INTO backfills(name) VALUES ('sale_keys')")?;
    drop(state);
    let started = Instant::now();
    let state = AppState::open(data, Some(url))?;
    let db = state.db();
    println!("Restarted, every sale's search keys made, in {:.1} s", started.elapsed().as_secs_f64());
    client.batch_execute("ANALYZE")?;

    let hashed = marketday_cloud::office::password::hash("bench-password-1")?;
    let owner = NewUser {
        atelier: ATELIER,
        email: "owner@bench.example",
        name: "Bench",
        role: Role::Owner,
        password_hash: &hashed,
    };
    let user = db.add_user(&owner, "bench", 1)?;
    let session = COOKIE.split_once('=').map(|(_, t)| t).unwrap_or_default();
    db.start_session(&user, &token_hash(session), "bench-csrf", now, now + 86_400_000)?;

    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
    let addr = listener.local_addr()?;
    runtime.spawn(marketday_cloud::serve(listener, state.clone()));
    let mut stream = BufReader::new(TcpStream::connect(addr)?);
    stream.get_ref().set_nodelay(true)?;

    let pages: [(&str, &PathOf, usize); 7] = [
        ("the pieces list, first page", &|_| "/office/pieces".into(), 200),
        (
            "the pieces list, search by part of a serial",
            &|i| format!("/office/pieces?q=AB-2026-{:05}", (i * 7_919) % 9_999),
            200,
        ),
        ("today's takings (today's sales so far at 50 stalls)", &|_| "/office/takings".into(), 100),
        ("today (home: takings, counts, conflicts)", &|_| "/office".into(), 100),
        ("the sales list, newest first", &|_| "/office/sales".into(), 100),
        ("the sales list, search by receipt", &|i| format!("/office/sales?q=bench-{:02}-{}", i % 100, 9_000 + i), 30),
        (
            "the sales list, search by serial",
            &|i| format!("/office/sales?q=AB-2026-{:06}", (i * 7_919) % 100_000 + 1),
            30,
        ),
    ];
    for (what, path, requests) in pages {
        let mut times = Vec::with_capacity(requests);
        for i in 0..requests + 5 {
            let t = Instant::now();
            let request = format!("GET {} HTTP/1.1\r\nHost: bench\r\nCookie: {COOKIE}\r\n\r\n", path(i));
            stream.get_mut().write_all(request.as_bytes())?;
            let (status, _) = response(&mut stream)?;
            anyhow::ensure!(status == 200, "{what}: status {status} for {}", path(i));
            if i >= 5 {
                times.push(t.elapsed());
            }
        }
        times.sort();
        let at = |q: f64| times[((times.len() as f64 * q) as usize).min(times.len() - 1)];
        println!("{what}: p50 {:.1} ms, p99 {:.1} ms ({requests} requests)", ms(at(0.50)), ms(at(0.99)));
    }

    for part in 0..3 {
        let mut csv = String::from("serial,title,edition_number,edition_size,price,currency\n");
        for n in 0..10_000 {
            csv.push_str(&format!("IM-{part}-{n:05},Imported ring {n},{},{},245.00,GBP\n", n % 24 + 1, 24));
        }
        let t = Instant::now();
        let status = import(&mut stream, csv.as_bytes())?;
        anyhow::ensure!(status == 200, "import: status {status}");
        println!("CSV import of 10,000 pieces ({} bytes): {:.2} s", csv.len(), t.elapsed().as_secs_f64());
    }
    Ok(())
}

fn piece(serial: &str, n: u32) -> PieceChange {
    PieceChange {
        serial: serial.into(),
        drop_id: None,
        edition_number: n % 24 + 1,
        edition_size: 24,
        title: format!("Pendant {n}"),
        maker: "Bench Maker".into(),
        materials: "Silver".into(),
        origin_notes: String::new(),
        price_minor: 12_000,
        currency: "GBP".into(),
        assay_hash: None,
        certificate: None,
        photo: None,
    }
}

/// A real kiosk's sale payload, made by its store, with its serial, id and receipt as
/// placeholders the SQL fills in.
fn sale_template(dir: &std::path::Path) -> anyhow::Result<String> {
    let now = chrono::Utc::now();
    let mut store = Store::open(&dir.join("kiosk.sqlite"))?;
    marketday::demo::seed(&mut store, "Stall 00", now)?;
    let free = (1..=24)
        .map(marketday::demo::serial)
        .find_map(|s| store.piece(&s).ok().flatten().filter(|p| p.status == marketday::domain::PieceStatus::Available))
        .ok_or_else(|| anyhow::anyhow!("the demo left no piece on sale"))?;
    let mut cart = Cart::new(Currency::GBP);
    cart.add(&free, None, now)?;
    let total = cart.totals(VatRate(2000))?.total.minor;
    let card = vec![Tender::Card { amount: Money::new(total, Currency::GBP), reference: "4242".into() }];
    let (sale, _) = cart.checkout(card, VatRate(2000), now, uuid::Uuid::now_v7())?;
    store.commit_sale(&sale, "K1")?;
    let event = store
        .pending_events(10_000)?
        .into_iter()
        .rfind(|e| e.kind == "sale.completed")
        .ok_or_else(|| anyhow::anyhow!("no sale in the outbox"))?;
    let mut payload = event.payload;
    payload["id"] = "__SALE__".into();
    payload["lines"][0]["serial"] = "__SERIAL__".into();
    payload["receipt"]["device"] = "__DEVICE__".into();
    payload["receipt"]["seq"] = "__SEQ__".into();
    Ok(payload.to_string())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Posts a CSV to the import form on the kept-alive connection; its status.
fn import(stream: &mut BufReader<TcpStream>, file: &[u8]) -> anyhow::Result<u16> {
    let boundary = "bench-boundary-5e2c";
    let mut body = Vec::new();
    for (name, value) in [("csrf", "bench-csrf"), ("currency", "GBP")] {
        body.extend(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").bytes(),
        );
    }
    body.extend(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"p.csv\"\r\nContent-Type: text/csv\r\n\r\n")
            .bytes(),
    );
    body.extend_from_slice(file);
    body.extend(format!("\r\n--{boundary}--\r\n").bytes());
    let head = format!(
        "POST /office/pieces/import HTTP/1.1\r\nHost: bench\r\nCookie: {COOKIE}\r\nContent-Type: multipart/form-data; \
         boundary={boundary}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let mut request = head.into_bytes();
    request.extend(body);
    stream.get_mut().write_all(&request)?;
    Ok(response(stream)?.0)
}

/// One HTTP/1.1 response with a Content-Length: its status and body.
fn response(stream: &mut BufReader<TcpStream>) -> anyhow::Result<(u16, String)> {
    let mut line = String::new();
    stream.read_line(&mut line)?;
    let status = line.split(' ').nth(1).unwrap_or("0").parse()?;
    let mut length = 0;
    loop {
        line.clear();
        stream.read_line(&mut line)?;
        if line == "\r\n" {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse()?;
        }
    }
    let mut body = vec![0; length];
    stream.read_exact(&mut body)?;
    Ok((status, String::from_utf8(body)?))
}
