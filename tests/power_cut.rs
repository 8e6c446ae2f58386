//! A sale the kiosk reported as committed survives the process being killed at any
//! moment, and no half-written sale or receipt-number gap is ever left behind.

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::Utc;
use common::Rng;
use marketday::domain::{Currency, Edition, Money, Serial};
use marketday::store::{NewPiece, Store};

const ROUNDS: u64 = 300;
// Enough that 300 rounds never sell out (here each sold about 40 pieces): a writer with nothing left to
// sell prints nothing, and every later round waited out its 30 s start-up allowance (this
// once made the whole test take over an hour).
const PIECES: u32 = 40_000;

#[derive(Debug)]
struct Reported {
    seq: i64,
    lines: i64,
    total: i64,
}

#[test]
fn sales_survive_sigkill_at_random_points() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("kiosk.sqlite");
    {
        let mut store = Store::open(&db).unwrap();
        let pieces: Vec<NewPiece> = (1..=PIECES)
            .map(|i| NewPiece {
                serial: Serial::parse(&format!("TS-{i:06}")).unwrap(),
                drop_id: None,
                edition: Edition::new(1, 1).unwrap(),
                title: "Torture ring".into(),
                maker: "Test".into(),
                materials: String::new(),
                origin_notes: String::new(),
                price: Money::new(1_000 + i as i64, Currency::GBP),
                assay_hash: None,
            })
            .collect();
        store.add_pieces(&pieces, Utc::now()).unwrap();
    }

    let seed = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64 | 1;
    eprintln!("kill-timing seed: {seed}");
    let mut rng = Rng(seed);
    let mut reported: HashMap<String, Reported> = HashMap::new();
    let mut killed_mid_stream = 0;
    for round in 0..ROUNDS {
        let mut child = Command::new(env!("CARGO_BIN_EXE_marketday"))
            .arg("torture-sales")
            .arg(&db)
            .args(["--seed", &round.to_string()])
            .env("RUST_LOG", "off")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (first_tx, first_rx) = std::sync::mpsc::channel();
        let reader = std::thread::spawn(move || {
            let mut lines = Vec::new();
            let mut r = BufReader::new(stdout);
            let mut buf = String::new();
            // Only whole lines count: a line cut by the kill was never "reported".
            while r.read_line(&mut buf).unwrap_or(0) > 0 {
                if buf.ends_with('\n') {
                    if lines.is_empty() {
                        let _ = first_tx.send(());
                    }
                    lines.push(buf.trim_end().to_owned());
                }
                buf.clear();
            }
            lines
        });
        // The kill timer starts once the writer is committing: a cold start of a debug binary
        // on a loaded CI machine can outlast the whole window, and killing a process that has
        // not begun proves nothing.
        let _ = first_rx.recv_timeout(Duration::from_secs(30));
        std::thread::sleep(Duration::from_micros(rng.next() % 40_000));
        child.kill().unwrap(); // SIGKILL: no destructors, no flush, no goodbye.
        let status = child.wait().unwrap();
        if status.code().is_none() {
            killed_mid_stream += 1;
        }
        for line in reader.join().unwrap() {
            let parts: Vec<&str> = line.split(' ').collect();
            assert_eq!(parts[0], "COMMITTED", "unexpected output: {line}");
            let r = Reported {
                seq: parts[1].parse().unwrap(),
                lines: parts[3].parse().unwrap(),
                total: parts[4].parse().unwrap(),
            };
            assert!(reported.insert(parts[2].to_owned(), r).is_none(), "sale reported twice: {line}");
        }
    }
    assert!(killed_mid_stream > ROUNDS / 2, "the writer must actually be killed, not finish: {killed_mid_stream}");
    assert!(reported.len() as u64 > ROUNDS, "too few sales to prove anything: {}", reported.len());

    let store = Store::open(&db).unwrap();
    assert_eq!(store.integrity_check().unwrap(), "ok");
    drop(store);
    let conn = rusqlite::Connection::open(&db).unwrap();

    // Every sale the process reported is present and whole.
    for (id, r) in &reported {
        let (seq, line_count, total): (i64, i64, i64) = conn
            .query_row("SELECT seq, line_count, total_minor FROM sales WHERE id = ?1", [id], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?))
            })
            .unwrap_or_else(|e| panic!("reported sale {id} is missing: {e}"));
        assert_eq!((seq, line_count, total), (r.seq, r.lines, r.total), "sale {id} changed");
    }

    // No half-sale: every stored sale has all its lines, tenders that pay it, its pieces
    // sold, and its outbox event.
    let half: i64 = conn
        .query_row(
            "SELECT count(*) FROM sales s WHERE
                 s.line_count != (SELECT count(*) FROM sale_lines l WHERE l.sale_id = s.id)
              OR s.total_minor + s.change_minor != (SELECT coalesce(sum(amount_minor), 0) FROM tenders t WHERE t.sale_id = s.id)
              OR EXISTS (SELECT 1 FROM sale_lines l JOIN pieces p ON p.id = l.piece_id
                         WHERE l.sale_id = s.id AND p.status != 'sold')
              OR NOT EXISTS (SELECT 1 FROM outbox o WHERE o.kind = 'sale.completed'
                             AND json_extract(o.payload, '$.id') = s.id)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(half, 0, "half-written sales found");
    let orphan_sold: i64 = conn
        .query_row(
            "SELECT count(*) FROM pieces p WHERE p.status = 'sold'
             AND NOT EXISTS (SELECT 1 FROM sale_lines l WHERE l.piece_id = p.id AND l.active = 1)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(orphan_sold, 0, "pieces marked sold without a sale");

    // Receipt numbers run 1..=n with no gap, and the counter agrees.
    let seqs: Vec<i64> = conn
        .prepare("SELECT seq FROM sales WHERE device = 'K1' ORDER BY seq")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(seqs.len() >= reported.len());
    assert!(seqs.iter().enumerate().all(|(i, s)| *s == i as i64 + 1), "receipt numbers have gaps");
    let last: i64 =
        conn.query_row("SELECT last_seq FROM receipt_counter WHERE device = 'K1'", [], |r| r.get(0)).unwrap();
    assert_eq!(last, seqs.len() as i64);
    eprintln!("{} rounds, {} sales reported, {} stored", ROUNDS, reported.len(), seqs.len());
}
