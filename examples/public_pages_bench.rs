//! Public page figures over loopback, with the real server (`cargo run --release --example
//! public_pages_bench`): `/p/<token>` with 100,000 pieces published, on SQLite and on
//! PostgreSQL when `MARKETDAY_TEST_POSTGRES` names a database; the page's weight. Each
//! request is timed from the client's first byte out to the last byte in, one at a time on a
//! kept-alive connection: the server's own time plus a loopback round trip. Figures, not
//! assertions.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use ed25519_dalek::SigningKey;
use marketday_cloud::AppState;
use marketday_cloud::wire::{ChangeBody, KeyChange, PieceChange};
use marketday_provenance::{Certificate, Edition, KeyId, Serial};

const PIECES: u32 = 100_000;
const REQUESTS: usize = 2_000;

fn main() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    run("SQLite", AppState::open(&dir.path().join("sqlite"), None)?)?;
    match std::env::var("MARKETDAY_TEST_POSTGRES") {
        Ok(url) if !url.is_empty() => {
            let name = format!("bench_{}", uuid::Uuid::now_v7().simple());
            let mut client = postgres::Client::connect(&url, postgres::NoTls)?;
            client.batch_execute(&format!("CREATE SCHEMA {name}"))?;
            let sep = if url.contains('?') { '&' } else { '?' };
            let in_schema = format!("{url}{sep}options=-csearch_path%3D{name}");
            let result = AppState::open(&dir.path().join("pg"), Some(&in_schema)).and_then(|s| run("PostgreSQL", s));
            client.batch_execute(&format!("DROP SCHEMA {name} CASCADE"))?;
            result?;
        }
        _ => println!("PostgreSQL not measured: set MARKETDAY_TEST_POSTGRES=postgres://…"),
    }
    Ok(())
}

fn run(store: &str, state: std::sync::Arc<AppState>) -> anyhow::Result<()> {
    let key = SigningKey::from_bytes(&[7; 32]);
    let atelier = "Atelier Bench";
    let started = Instant::now();
    let mut changes = vec![ChangeBody::Key(KeyChange {
        atelier: atelier.into(),
        public_key: data_encoding::HEXLOWER.encode(key.verifying_key().as_bytes()),
        valid_from: "2026-01-01".into(),
        valid_until: None,
        revoked_on: None,
        revoked_reason: None,
    })];
    let mut tokens = Vec::with_capacity(PIECES as usize);
    for n in 1..=PIECES {
        let serial = format!("AB-2026-{n:06}");
        changes.push(ChangeBody::Piece(PieceChange {
            serial: serial.clone(),
            drop_id: Some(format!("drop-{}", n / 24)),
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
        }));
        let certificate = Certificate {
            key_id: KeyId::of(&key.verifying_key()),
            serial: Serial::parse(&serial)?,
            edition: Edition::new(n % 24 + 1, 24)?,
            drop_id: format!("drop-{}", n / 24),
            assay_hash: None,
            issued: NaiveDate::from_ymd_opt(2026, 11, 2).expect("a date"),
        };
        tokens.push(certificate.sign(&key)?);
    }
    for chunk in changes.chunks(5_000) {
        state.db().publish(atelier, None, chunk, 1)?;
    }
    let serials: Vec<String> = (1..=PIECES).step_by(2).map(|n| format!("AB-2026-{n:06}")).collect();
    state.db().allocate(atelier, "Bench Stall", &serials, 2)?;
    println!("{store}: {PIECES} pieces published and signed in {:.1} s", started.elapsed().as_secs_f64());

    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
    let addr = listener.local_addr()?;
    runtime.spawn(marketday_cloud::serve(listener, state.clone()));
    let mut stream = BufReader::new(TcpStream::connect(addr)?);
    stream.get_ref().set_nodelay(true)?;
    let mut times = Vec::with_capacity(REQUESTS);
    let mut weight = 0;
    for i in 0..REQUESTS + 100 {
        // Spread over the whole catalog, every piece a different page.
        let token = &tokens[(i * 7_919) % tokens.len()];
        let t = Instant::now();
        // One write: `write!` would send the request in pieces, and Nagle hold the last.
        stream.get_mut().write_all(format!("GET /P/{token} HTTP/1.1\r\nHost: bench\r\n\r\n").as_bytes())?;
        let (status, body) = response(&mut stream)?;
        let elapsed = t.elapsed();
        anyhow::ensure!(status == 200 && body.contains("Genuine"), "unexpected answer {status}");
        // The first hundred warm the caches and the connection.
        if i >= 100 {
            times.push(elapsed);
            weight = weight.max(body.len());
        }
    }
    times.sort();
    let at = |q: f64| times[((times.len() as f64 * q) as usize).min(times.len() - 1)];
    println!(
        "{store}: GET /P/<token>, {REQUESTS} pieces one after another: p50 {:.2} ms, p99 {:.2} ms; page {weight} bytes",
        ms(at(0.50)),
        ms(at(0.99))
    );
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
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
