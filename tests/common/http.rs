//! HTTP/1.1 by hand, for tests that must send exactly what a hostile or unusual client
//! would (any path, any header), and read every header of the answer.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};

/// A response as the phone gets it.
pub struct Page {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Page {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The page's text without its markup, for asserting what a reader sees.
    pub fn text(&self) -> String {
        let mut out = String::new();
        let mut in_tag = false;
        let body = self.body.split("</style>").last().unwrap_or("");
        for c in body.chars() {
            match c {
                '<' => in_tag = true,
                '>' => {
                    in_tag = false;
                    out.push(' ');
                }
                c if !in_tag => out.push(c),
                _ => {}
            }
        }
        out.split_whitespace().collect::<Vec<_>>().join(" ").replace("&#39;", "'").replace("&quot;", "\"")
    }
}

/// One GET, exactly as written, with extra header lines.
pub fn get(addr: SocketAddr, path: &str, extra: &[(&str, &str)]) -> Page {
    request(addr, "GET", path, extra)
}

pub fn request(addr: SocketAddr, method: &str, path: &str, extra: &[(&str, &str)]) -> Page {
    send(addr, method, path, extra, &[])
}

/// One request with a body, and its response.
pub fn send(addr: SocketAddr, method: &str, path: &str, extra: &[(&str, &str)], body: &[u8]) -> Page {
    let raw = exchange(addr, method, path, extra, body);
    // A picture's bytes are read as text too: the tests look for words in it, not pixels.
    let raw = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = raw.split_once("\r\n\r\n").expect("a response head");
    let mut lines = head.lines();
    let status = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
    let headers = lines.filter_map(|l| l.split_once(": ")).map(|(n, v)| (n.to_owned(), v.to_owned())).collect();
    Page { status, headers, body: body.to_owned() }
}

/// One request and the whole raw response.
pub fn exchange(addr: SocketAddr, method: &str, path: &str, extra: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut stream = TcpStream::connect(addr).unwrap();
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: verify.example\r\nConnection: close\r\n");
    for (name, value) in extra {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if !body.is_empty() {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    raw
}

/// The body of a GET, as bytes (a photo).
pub fn get_bytes(addr: SocketAddr, path: &str) -> (u16, Vec<u8>) {
    let raw = exchange(addr, "GET", path, &[], &[]);
    let at = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("a response head");
    let status = String::from_utf8_lossy(&raw[9..12]).parse().unwrap();
    (status, raw[at + 4..].to_vec())
}

/// Every byte but the unreserved ones as `%XX`: for paths and form fields.
pub fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
