//! A TCP proxy on loopback that breaks connections on purpose: cut mid-request, cut
//! mid-response, delayed, or (while "down") closed at once. Decisions come from a seeded
//! generator, so a failing run can be repeated.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common::Rng;

pub struct FaultProxy {
    pub addr: SocketAddr,
    down: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    /// Connections cut on purpose so far.
    pub cuts: Arc<AtomicU64>,
    /// Bytes carried: kiosk to server, server to kiosk.
    pub bytes: Arc<[AtomicU64; 2]>,
    /// When each connection was opened, in order.
    pub opened: Arc<Mutex<Vec<Instant>>>,
    /// Percent of connections a Wi-Fi sign-in page answers instead of the server.
    portal_percent: Arc<AtomicU64>,
}

/// What a captive portal answers any request with.
fn answer_as_portal(mut client: TcpStream) {
    let _ = client.set_read_timeout(Some(Duration::from_secs(2)));
    let mut buf = [0u8; 8192];
    let _ = client.read(&mut buf);
    let page = "<html><body>Sign in to Market Wi-Fi</body></html>";
    let answer = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{page}",
        page.len()
    );
    let _ = client.write_all(answer.as_bytes());
    let _ = client.shutdown(Shutdown::Both);
}

/// Copies `from` to `to`, cutting both connections after `budget` bytes.
fn pipe(
    mut from: TcpStream,
    mut to: TcpStream,
    budget: Option<u64>,
    cuts: Arc<AtomicU64>,
    carried: Arc<[AtomicU64; 2]>,
    way: usize,
) {
    let mut left = budget.unwrap_or(u64::MAX);
    let mut buf = [0u8; 8192];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let take = (n as u64).min(left) as usize;
        if to.write_all(&buf[..take]).is_err() {
            break;
        }
        carried[way].fetch_add(take as u64, Ordering::Relaxed);
        left -= take as u64;
        if left == 0 {
            cuts.fetch_add(1, Ordering::Relaxed);
            let _ = from.shutdown(Shutdown::Both);
            let _ = to.shutdown(Shutdown::Both);
            return;
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}

impl FaultProxy {
    /// Forwards to `upstream`; `fault_percent` of connections are cut somewhere.
    pub fn start(upstream: SocketAddr, seed: u64, fault_percent: u64) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let (down, stop, cuts) =
            (Arc::new(AtomicBool::new(false)), Arc::new(AtomicBool::new(false)), Arc::new(AtomicU64::new(0)));
        let rng = Arc::new(Mutex::new(Rng(seed | 1)));
        let bytes = Arc::new([AtomicU64::new(0), AtomicU64::new(0)]);
        let opened = Arc::new(Mutex::new(Vec::new()));
        let portal_percent = Arc::new(AtomicU64::new(0));
        let (d, s, c, b) = (down.clone(), stop.clone(), cuts.clone(), bytes.clone());
        let (o, p) = (opened.clone(), portal_percent.clone());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                if s.load(Ordering::Relaxed) {
                    return;
                }
                let Ok(client) = client else { continue };
                o.lock().unwrap().push(Instant::now());
                if d.load(Ordering::Relaxed) {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                }
                // Rolled only while a portal is set, so other tests' seeds keep their sequences.
                let portal = p.load(Ordering::Relaxed);
                if portal > 0 && rng.lock().unwrap().next() % 100 < portal {
                    std::thread::spawn(move || answer_as_portal(client));
                    continue;
                }
                let Ok(server) = TcpStream::connect(upstream) else { continue };
                // Forward each write at once, as the two ends would without us in between.
                let _ = (client.set_nodelay(true), server.set_nodelay(true));
                let (roll, at, life, delay) = {
                    let mut r = rng.lock().unwrap();
                    (r.next() % 100, 1 + r.next() % 3000, 5_000 + r.next() % 100_000, r.next() % 100)
                };
                // Half the faults cut the first request part-way, half the first response;
                // other connections are cut later, somewhere in a later exchange (clients
                // keep connections open, and a long-lived one must break too).
                let (up, down_budget) = match roll {
                    r if r < fault_percent / 2 => (Some(at), None),
                    r if r < fault_percent => (None, Some(at)),
                    _ if fault_percent == 0 => (None, None),
                    _ => (Some(life), Some(life)),
                };
                if delay < 10 {
                    std::thread::sleep(Duration::from_millis(delay * 3));
                }
                let (c1, c2, b1, b2) = (c.clone(), c.clone(), b.clone(), b.clone());
                let (client2, server2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                std::thread::spawn(move || pipe(client, server, up, c1, b1, 0));
                std::thread::spawn(move || pipe(server2, client2, down_budget, c2, b2, 1));
            }
        });
        FaultProxy { addr, down, stop, cuts, bytes, opened, portal_percent }
    }

    /// From now on, `percent` of connections are answered by a Wi-Fi sign-in page.
    pub fn set_portal_percent(&self, percent: u64) {
        self.portal_percent.store(percent, Ordering::Relaxed);
    }

    /// While down, every connection is closed as soon as it opens (no network).
    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::Relaxed);
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = TcpStream::connect(self.addr);
    }
}
