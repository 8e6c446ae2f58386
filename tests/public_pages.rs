//! The public pages a phone opens from a tag, `/p/<token or serial>`, served by the real
//! cloud on a loopback port, on both stores, read as raw HTTP (so any path can be sent as
//! a hostile client would send it).

use chrono::NaiveDate;
use ed25519_dalek::SigningKey;
use marketday_cloud::wire::{ChangeBody, Event, KeyChange, PieceChange};
use marketday_provenance::{Certificate, Edition, KeyId, Serial, token_url};
use proptest::prelude::*;
use sha2::{Digest, Sha256};

#[path = "common/browser.rs"]
mod browser;
#[path = "common/cloud.rs"]
mod cloud;
#[path = "common/http.rs"]
mod http;
use cloud::{ATELIER, Backend, Server};

use http::{exchange, get, get_bytes, percent_encode, request};

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

fn key_change(k: &SigningKey, revoked: Option<&str>) -> ChangeBody {
    ChangeBody::Key(KeyChange {
        atelier: ATELIER.into(),
        public_key: data_encoding::HEXLOWER.encode(k.verifying_key().as_bytes()),
        valid_from: "2026-01-01".into(),
        valid_until: None,
        revoked_on: revoked.map(|_| "2026-11-20".into()),
        revoked_reason: revoked.map(str::to_owned),
    })
}

const ASSAY: &[u8] = b"assay report of the rose gold clasp";

fn certificate(k: &SigningKey, serial: &str, n: u32) -> Certificate {
    Certificate {
        key_id: KeyId::of(&k.verifying_key()),
        serial: Serial::parse(serial).unwrap(),
        edition: Edition::new(n, 24).unwrap(),
        drop_id: "rose-gold-clasp".into(),
        assay_hash: Some(Sha256::digest(ASSAY).into()),
        issued: day(2026, 11, 2),
    }
}

fn piece(serial: &str, n: u32, title: &str) -> ChangeBody {
    ChangeBody::Piece(PieceChange {
        serial: serial.into(),
        drop_id: Some("rose-gold-clasp".into()),
        edition_number: n,
        edition_size: 24,
        title: title.into(),
        maker: "Mara Thorne".into(),
        materials: "18k rose gold, 0.2 ct diamond".into(),
        origin_notes: "Recycled gold, cast in Brighton".into(),
        price_minor: 42_000,
        currency: "GBP".into(),
        assay_hash: None,
        certificate: None,
        photo: None,
    })
}

/// The path a phone opens for a token, from the URL printed in the QR code.
fn path_of(token: &str) -> String {
    let url = token_url("https://verify.example", token);
    url["HTTPS://VERIFY.EXAMPLE".len()..].to_owned()
}

/// A cloud with the atelier's key, three pieces and a stall: 07 on sale at Brighton, 08
/// sold online, 09 sold at the stall.
fn cloud_with_pieces(backend: &Backend) -> (Server, SigningKey) {
    let server = Server::start_on(backend);
    let k = key(1);
    let db = server.state.db();
    let now = 1_796_000_000_000;
    db.publish(
        ATELIER,
        None,
        &[
            key_change(&k, None),
            piece("RG-2026-0007", 7, "Rose gold clasp pendant"),
            piece("RG-2026-0008", 8, "Rose gold clasp pendant"),
            piece("RG-2026-0009", 9, "Rose gold clasp pendant"),
        ],
        now,
    )
    .unwrap();
    db.allocate(ATELIER, "Brighton Open Market", &["RG-2026-0007".into(), "RG-2026-0009".into()], now).unwrap();
    db.sell_online(ATELIER, "WEB-1042", &["RG-2026-0008".into()], now).unwrap();
    server.device("kiosk-1", "Brighton Open Market");
    let device = db.device_by_token(&server.device("kiosk-2", "Brighton Open Market")).unwrap().unwrap();
    let sale = Event {
        seq: 1,
        id: uuid::Uuid::now_v7(),
        kind: "sale.completed".into(),
        // 5 December 2026, 14:00 UTC.
        at: 1_796_479_200_000,
        payload: serde_json::json!({"id": "S-1", "lines": [{"serial": "RG-2026-0009"}],
            "buyer_email": "never-shown@example.com"}),
    };
    db.ingest(&device, &[sale], 0, now).unwrap();
    (server, k)
}

fn a_genuine_certificate_shows_the_piece_and_where_it_is(backend: Backend) {
    let (server, k) = cloud_with_pieces(&backend);
    let token = certificate(&k, "RG-2026-0007", 7).sign(&k).unwrap();
    for path in [path_of(&token), path_of(&token).to_lowercase(), format!("/p/{token}")] {
        let page = get(server.addr, &path, &[]);
        assert_eq!(page.status, 200, "{path}");
        assert_eq!(page.header("content-type"), Some("text/html; charset=utf-8"));
        let text = page.text();
        for said in [
            "Genuine",
            "Signed by Atelier Thorne. The certificate has not been altered.",
            "Edition 07 of 24",
            "Title Rose gold clasp pendant",
            "Maker Mara Thorne",
            "Materials 18k rose gold, 0.2 ct diamond",
            "Origin Recycled gold, cast in Brighton",
            "Serial RG-2026-0007",
            "Atelier Atelier Thorne",
            "Certificate issued 2 Nov 2026",
            &data_encoding::HEXLOWER.encode(&Sha256::digest(ASSAY)),
            "sha256sum",
            "For sale at Brighton Open Market.",
        ] {
            assert!(text.contains(said), "{said:?} is not on the page: {text}");
        }
        assert!(!text.contains("stolen"), "{text}");
    }
}

fn each_bad_certificate_gets_the_kiosk_s_verdict_and_no_facts(backend: Backend) {
    let (server, k) = cloud_with_pieces(&backend);
    let genuine = certificate(&k, "RG-2026-0007", 7).sign(&k).unwrap();
    // One byte changed: the edition's number, 7 → 3.
    let mut bytes = data_encoding::BASE32_NOPAD.decode(genuine.as_bytes()).unwrap();
    bytes[9] = 3;
    let altered = data_encoding::BASE32_NOPAD.encode(&bytes);
    let stranger = key(2);
    let unknown = certificate(&stranger, "RG-2026-0007", 7).sign(&stranger).unwrap();
    let truncated = genuine[..genuine.len() - 12].to_owned();
    for (token, headline, explanation) in [
        (&altered, "Not genuine", "its signature does not match"),
        (&unknown, "Unknown signer", "which this stall does not know"),
        (&truncated, "Tag unreadable", "The tag could not be read"),
    ] {
        let page = get(server.addr, &path_of(token), &[]);
        let text = page.text();
        assert_eq!(page.status, 200, "{text}");
        assert!(text.contains(headline) && text.contains(explanation), "{headline}: {text}");
        // A certificate that did not verify: its claims are said as claims, never as facts,
        // and nothing of the cloud's records is shown beside them.
        assert!(!text.contains("Title") && !text.contains("Where it is now"), "{headline}: {text}");
    }
    let text = get(server.addr, &path_of(&altered), &[]).text();
    assert!(text.contains("The tag claims: 03 of 24") && text.contains("Unconfirmed:"), "{text}");

    // Not a certificate at all: a page that says what to do, as a 404.
    for path in ["/p/hello%20world", "/P/..%2F..%2Fetc%2Fpasswd", "/p/%F0%9F%92%8E", "/p/"] {
        let page = get(server.addr, path, &[]);
        assert_eq!(page.status, 404, "{path}");
        assert!(page.text().contains("Not a certificate"), "{path}: {}", page.text());
        assert!(page.text().contains("Scan the QR code"), "{path}");
    }
}

fn a_withdrawn_key_stays_withdrawn(backend: Backend) {
    let (server, k) = cloud_with_pieces(&backend);
    let token = certificate(&k, "RG-2026-0007", 7).sign(&k).unwrap();
    let db = server.state.db();
    db.publish(ATELIER, None, &[key_change(&k, Some("key stolen"))], 1_796_000_000_001).unwrap();
    // Published again without its revocation, as an older file would: it stays withdrawn.
    db.publish(ATELIER, None, &[key_change(&k, None)], 1_796_000_000_002).unwrap();
    let text = get(server.addr, &path_of(&token), &[]).text();
    assert!(text.contains("Withdrawn key") && text.contains("key stolen"), "{text}");
    assert!(!text.contains("Title"), "{text}");
}

fn a_key_that_is_not_one_is_refused_and_nothing_of_its_batch_is_published(backend: Backend) {
    let server = Server::start_on(&backend);
    let db = server.state.db();
    let ChangeBody::Key(good) = key_change(&key(1), None) else { unreachable!() };
    let bad = KeyChange { public_key: good.public_key[..62].into(), ..good.clone() };
    let batch = [piece("RG-2026-0007", 7, "Rose gold clasp pendant"), ChangeBody::Key(bad)];
    let refused = db.publish(ATELIER, None, &batch, 1).unwrap_err().to_string();
    assert!(refused.contains("change 2") && refused.contains("64 hex digits"), "{refused}");
    let undated = KeyChange { valid_from: "1 Jan 2026".into(), ..good.clone() };
    assert!(db.publish(ATELIER, None, &[ChangeBody::Key(undated)], 2).is_err());
    assert!(db.keys_of(Some(ATELIER)).unwrap().is_empty());
    assert!(db.public_pieces("RG-2026-0007", None).unwrap().is_empty(), "the batch's piece was kept");
    db.publish(ATELIER, None, &[ChangeBody::Key(good)], 3).unwrap();
    assert_eq!(db.keys_of(Some(ATELIER)).unwrap().len(), 1);
}

fn a_serial_says_what_the_cloud_knows_and_that_nothing_was_checked(backend: Backend) {
    let (server, _) = cloud_with_pieces(&backend);
    let page = get(server.addr, "/p/rg-2026-0008", &[]);
    let text = page.text();
    assert_eq!(page.status, 200);
    assert!(text.contains("No certificate scanned") && text.contains("no signed certificate was checked"), "{text}");
    assert!(text.contains("Edition 08 of 24") && text.contains("Sold online on"), "{text}");
    assert!(!text.contains("Handed to the courier"), "{text}");
    // Once a kiosk hands it to a courier, the page says so: in transit.
    let kiosk = server.device("kiosk-5", "Brighton Open Market");
    hand_over(&server, &kiosk, &key(9), 1, false);
    let text = get(server.addr, "/p/rg-2026-0008", &[]).text();
    assert!(text.contains("Handed to the courier on 5 Dec 2026."), "{text}");
    // Sold at the stall: the day and the stall, never the buyer.
    let text = get(server.addr, "/P/RG-2026-0009", &[]).text();
    assert!(text.contains("Sold at Brighton Open Market on 5 Dec 2026."), "{text}");
    assert!(!page.body.contains("never-shown") && !text.contains("never-shown"), "{text}");
    // A serial nobody published.
    let page = get(server.addr, "/p/RG-2026-9999", &[]);
    assert_eq!(page.status, 404);
    assert!(page.text().contains("Unknown serial") && page.text().contains("ask the atelier"), "{}", page.text());
}

fn a_piece_reported_stolen_says_so_first_until_it_is_found(backend: Backend) {
    let (server, k) = cloud_with_pieces(&backend);
    let token = certificate(&k, "RG-2026-0007", 7).sign(&k).unwrap();
    let db = server.state.db();
    let before = get(server.addr, &path_of(&token), &[]);
    db.report_lost(ATELIER, "rg-2026-0007", true, 1_796_000_000_003).unwrap();
    let page = get(server.addr, &path_of(&token), &[]);
    let text = page.text();
    let alarm = text.find("Reported lost or stolen").unwrap_or_else(|| panic!("no alarm: {text}"));
    assert!(alarm < text.find("Genuine").unwrap(), "the alarm comes first: {text}");
    assert!(text.contains("do not buy it"), "{text}");
    assert!(page.body.contains("role=\"alert\""));
    // The page changed, so its ETag did: a phone that revalidates sees the report at once.
    assert_ne!(before.header("etag"), page.header("etag"));
    db.report_lost(ATELIER, "RG-2026-0007", false, 1_796_000_000_004).unwrap();
    assert!(!get(server.addr, &path_of(&token), &[]).text().contains("stolen"));
    assert!(db.report_lost(ATELIER, "RG-2026-4242", true, 1).is_err(), "an unknown piece cannot be reported");
}

fn pages_revalidate_by_etag_and_speak_the_browser_s_language(backend: Backend) {
    let (server, k) = cloud_with_pieces(&backend);
    let path = path_of(&certificate(&k, "RG-2026-0007", 7).sign(&k).unwrap());
    let page = get(server.addr, &path, &[]);
    assert_eq!(page.header("cache-control"), Some("no-cache"));
    assert_eq!(page.header("vary"), Some("Accept-Language"));
    let etag = page.header("etag").unwrap().to_owned();
    let again = get(server.addr, &path, &[("If-None-Match", &etag)]);
    assert_eq!(again.status, 304);
    assert!(again.body.is_empty());
    let french = get(server.addr, &path, &[("Accept-Language", "fr-CH, fr;q=0.9, en;q=0.8"), ("If-None-Match", &etag)]);
    assert_eq!(french.status, 200, "another language is another page");
    assert_eq!(french.header("content-language"), Some("fr"));
    let text = french.text();
    assert!(
        text.contains("Authentique")
            && text.contains("07 sur 24")
            && text.contains("En vente au stand Brighton Open Market."),
        "{text}"
    );
    assert!(get(server.addr, &format!("{path}?lang=de"), &[]).text().contains("Echt"));
    // A method the page does not take: a page, not the protocol's JSON.
    let post = request(server.addr, "POST", &path, &[("Content-Length", "0"), ("Accept-Language", "fr")]);
    assert_eq!(post.status, 405);
    assert!(post.header("content-type").unwrap().starts_with("text/html"), "{:?}", post.headers);
    assert_eq!(post.header("allow"), Some("GET,HEAD"));
    let text = post.text();
    assert!(
        text.contains("Ce lien ne s") && text.contains("pas ainsi") && !text.contains("Vérification impossible"),
        "{text}"
    );
}

on_both_stores!(
    a_genuine_certificate_shows_the_piece_and_where_it_is,
    each_bad_certificate_gets_the_kiosk_s_verdict_and_no_facts,
    a_withdrawn_key_stays_withdrawn,
    a_key_that_is_not_one_is_refused_and_nothing_of_its_batch_is_published,
    a_serial_says_what_the_cloud_knows_and_that_nothing_was_checked,
    a_piece_reported_stolen_says_so_first_until_it_is_found,
    pages_revalidate_by_etag_and_speak_the_browser_s_language,
    the_buyer_sees_the_hand_over_its_photo_and_the_kiosk_s_signature,
    a_changed_photo_is_never_served,
);

/// Every verdict and standing as a phone shows it (headless Chromium, 360x800): the words
/// are there, nothing is wider than the screen, and a PNG of each is kept
/// (`MARKETDAY_PAGE_SCREENSHOTS=docs/screenshots` writes the README's).
#[test]
fn in_a_phone_browser_every_page_reads_and_fits() {
    let Some(driver) = browser::available() else { return };
    let (server, k) = cloud_with_pieces(&Backend::Sqlite);
    let db = server.state.db();
    let (withdrawn, stranger) = (key(3), key(2));
    db.publish(
        ATELIER,
        None,
        &[key_change(&withdrawn, Some("key stolen")), piece("RG-2026-0010", 10, "Rose gold clasp pendant")],
        1_796_000_000_001,
    )
    .unwrap();
    db.report_lost(ATELIER, "RG-2026-0010", true, 1_796_000_000_002).unwrap();
    let token = |k: &SigningKey, serial: &str, n: u32| certificate(k, serial, n).sign(k).unwrap();
    let genuine = token(&k, "RG-2026-0007", 7);
    let mut bytes = data_encoding::BASE32_NOPAD.decode(genuine.as_bytes()).unwrap();
    bytes[9] = 3;
    let altered = data_encoding::BASE32_NOPAD.encode(&bytes);
    let kiosk = server.device("kiosk-9", "Brighton Open Market");
    let (dispatched, _) = hand_over(&server, &kiosk, &key(9), 1, true);
    let (tampered, mut jpeg) = hand_over(&server, &kiosk, &key(9), 2, true);
    let middle = jpeg.len() / 2;
    jpeg[middle] ^= 0x40;
    std::fs::write(stored_photo(&server, tampered.rsplit('/').next().unwrap()), &jpeg).unwrap();
    let cases: Vec<(&str, String, &[&str])> = vec![
        ("01-genuine", path_of(&genuine), &["Genuine", "07 of 24", "Rose gold clasp pendant", "For sale at"]),
        ("02-not-genuine", path_of(&altered), &["Not genuine", "The tag claims: 03 of 24"]),
        ("03-unknown-signer", path_of(&token(&stranger, "RG-2026-0007", 7)), &["Unknown signer"]),
        ("04-withdrawn-key", path_of(&token(&withdrawn, "RG-2026-0007", 7)), &["Withdrawn key", "key stolen"]),
        ("05-not-a-certificate", "/p/hello%20world".into(), &["Not a certificate", "Scan the QR code"]),
        ("06-unreadable", path_of(&genuine[..genuine.len() - 12]), &["Tag unreadable"]),
        ("07-serial-only", "/p/RG-2026-0008".into(), &["No certificate scanned", "Sold online on"]),
        (
            "08-sold",
            path_of(&token(&k, "RG-2026-0009", 9)),
            &["Genuine", "Sold at Brighton Open Market on 5 Dec 2026."],
        ),
        ("09-stolen", path_of(&token(&k, "RG-2026-0010", 10)), &["REPORTED LOST OR STOLEN", "do not buy it"]),
        ("10-unknown-serial", "/p/RG-2026-9999".into(), &["Unknown serial"]),
        ("11-genuine-fr", format!("{}?lang=fr", path_of(&genuine)), &["Authentique", "07 sur 24"]),
        ("12-dispatch", dispatched, &["Handed to the courier", "Tracking number", "JD0002 2345 6789"]),
        ("13-dispatch-photo-changed", tampered, &["Photo changed", "Ask the atelier"]),
    ];
    let keep = std::env::var_os("MARKETDAY_PAGE_SCREENSHOTS").map(std::path::PathBuf::from);
    let scratch = tempfile::tempdir().unwrap();
    let dir = keep.clone().unwrap_or_else(|| scratch.path().to_owned());
    std::fs::create_dir_all(&dir).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let phone = browser::Browser::phone(&driver, 360, 800).await;
        for (name, path, says) in &cases {
            phone.client.goto(&format!("{}{path}", server.url())).await.unwrap();
            let text = phone.text().await;
            for said in *says {
                assert!(text.contains(said), "{name}: {said:?} is not on the page: {text}");
            }
            if *name == "12-dispatch" {
                let shown = phone
                    .client
                    .execute("return document.querySelector('img.photo').naturalWidth", vec![])
                    .await
                    .unwrap();
                assert_eq!(shown.as_u64(), Some(480), "the photo loads and shows");
            }
            let wide = phone.client.execute("return document.documentElement.scrollWidth", vec![]).await.unwrap();
            assert!(wide.as_u64().is_some_and(|w| w <= 360), "{name} is wider than the phone: {wide}");
            let png = phone.screenshot().await;
            let decoder = png::Decoder::new(std::io::Cursor::new(&png));
            let info = decoder.read_info().unwrap().info().clone();
            assert_eq!((info.width, info.height), (360, 800), "{name}");
            std::fs::write(dir.join(format!("public-{name}.png")), &png).unwrap();
        }
        phone.client.clone().close().await.unwrap();
    });
}

/// A parcel as a kiosk photographs it: a real JPEG.
fn parcel_jpeg() -> Vec<u8> {
    let mut img = image::RgbImage::from_pixel(480, 360, image::Rgb([92, 96, 104]));
    for (x, y, px) in img.enumerate_pixels_mut() {
        if (120..360).contains(&x) && (90..280).contains(&y) {
            *px = if (235..245).contains(&x) { image::Rgb([205, 190, 150]) } else { image::Rgb([176, 132, 84]) };
        }
    }
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 80).encode_image(&img).unwrap();
    out
}

/// A hand-over of order WEB-1042 signed by `signer`, pushed by kiosk-1 at Brighton as its
/// event `seq`; its photo uploaded when `upload`. The page's path and the photo.
fn hand_over(server: &Server, token: &str, signer: &SigningKey, seq: i64, upload: bool) -> (String, Vec<u8>) {
    use marketday_provenance::dispatch::{Handover, sign};
    let db = server.state.db();
    let device = db.device_by_token(token).unwrap().unwrap();
    let mut jpeg = parcel_jpeg();
    // Each hand-over its own photo.
    jpeg.extend_from_slice(&[0, seq as u8]);
    let handover = Handover {
        order: "WEB-1042".into(),
        pieces: vec!["RG-2026-0008".into()],
        tracking_number: "JD0002 2345 6789".into(),
        courier: "Royal Mail Special Delivery".into(),
        courier_name: "Sam Okafor".into(),
    };
    let at = chrono::DateTime::from_timestamp_millis(1_796_486_400_000).unwrap();
    let record = sign(&handover.checked().unwrap(), &jpeg, at, "kiosk-1", signer);
    let event = Event {
        seq,
        id: uuid::Uuid::now_v7(),
        kind: "dispatch.recorded".into(),
        at: at.timestamp_millis(),
        payload: serde_json::json!({ "record": record }),
    };
    db.ingest(&device, &[event], 0, 1_796_486_400_100).unwrap();
    if upload {
        let length = jpeg.len().to_string();
        let raw = exchange(
            server.addr,
            "PATCH",
            &format!("{}/{}", marketday_cloud::wire::PHOTOS, record.photo_sha256),
            &[
                ("Authorization", &format!("Bearer {token}")),
                (marketday_cloud::wire::UPLOAD_OFFSET, "0"),
                (marketday_cloud::wire::UPLOAD_LENGTH, &length),
            ],
            &jpeg,
        );
        assert!(raw.starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&raw));
    }
    (format!("/d/WEB-1042/{}", record.photo_sha256), jpeg)
}

/// The photo's file in the cloud's store, to change behind its back.
fn stored_photo(server: &Server, sha256: &str) -> std::path::PathBuf {
    let name = format!("{sha256}.jpg");
    let mut dirs = vec![server.dir.path().join("photos")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.file_name().is_some_and(|n| n.to_string_lossy() == name) {
                return path;
            }
        }
    }
    panic!("{name} is not in the photo store");
}

fn the_buyer_sees_the_hand_over_its_photo_and_the_kiosk_s_signature(backend: Backend) {
    let server = Server::start_on(&backend);
    let token = server.device("kiosk-1", "Brighton Open Market");
    let kiosk = key(9);
    let (path, jpeg) = hand_over(&server, &token, &kiosk, 1, false);
    let page = get(server.addr, &path, &[]);
    let text = page.text();
    assert_eq!(page.status, 200, "{text}");
    for said in [
        "Handed to the courier",
        "Signed by the kiosk at Brighton Open Market",
        "Order WEB-1042",
        "Handed over 5 Dec, 16:00 UTC",
        "Courier Royal Mail Special Delivery",
        "Tracking number JD0002 2345 6789",
        "Pieces RG-2026-0008",
        "The photo is still on its way",
    ] {
        assert!(text.contains(said), "{said:?} is not on the page: {text}");
    }
    // No one's name, address, phone or email; not for search engines.
    assert!(!text.contains("Sam Okafor") && !text.contains('@'), "{text}");
    assert_eq!(page.header("x-robots-tag"), Some("noindex"));
    assert!(page.body.contains(r#"<meta name="robots" content="noindex">"#));

    let (path, jpeg2) = hand_over(&server, &token, &kiosk, 2, true);
    assert_ne!(jpeg, jpeg2);
    let page = get(server.addr, &path, &[]);
    assert!(page.body.contains("/photo.jpg\""), "{}", page.body);
    assert!(!page.text().contains("on its way"));
    assert_eq!(get_bytes(server.addr, &format!("{path}/photo.jpg")), (200, jpeg2.clone()));
    // Upper case, as a QR code's alphanumeric mode sends it.
    assert_eq!(get(server.addr, &path.to_uppercase(), &[]).status, 200);
    // A link that names nothing we hold: one page whatever is wrong with it.
    let sha = path.rsplit('/').next().unwrap();
    let other: String = sha.chars().rev().collect();
    for wrong in [format!("/d/WEB-1043/{sha}"), format!("/d/WEB-1042/{other}"), "/d/WEB-1042/abc".into(), "/d/".into()]
    {
        let page = get(server.addr, &wrong, &[]);
        assert_eq!(page.status, 404, "{wrong}");
        assert!(page.text().contains("No such dispatch"), "{wrong}: {}", page.text());
        assert_eq!(get_bytes(server.addr, &format!("{wrong}/photo.jpg")).0, 404);
    }

    // A record signed with another key than the one this kiosk signs with.
    let (path, _) = hand_over(&server, &token, &key(10), 3, true);
    let text = get(server.addr, &path, &[]).text();
    assert!(text.contains("Cannot confirm this hand-over") && text.contains("not the expected"), "{text}");
    assert!(!get(server.addr, &path, &[]).body.contains("<img"), "no photo beside a signature that fails");
}

fn a_changed_photo_is_never_served(backend: Backend) {
    let server = Server::start_on(&backend);
    let token = server.device("kiosk-1", "Brighton Open Market");
    let (path, mut jpeg) = hand_over(&server, &token, &key(9), 1, true);
    let sha = path.rsplit('/').next().unwrap();
    let file = stored_photo(&server, sha);
    let middle = jpeg.len() / 2;
    jpeg[middle] ^= 0x40;
    std::fs::write(&file, &jpeg).unwrap();
    let page = get(server.addr, &path, &[]);
    assert!(page.text().contains("Photo changed") && !page.body.contains("<img"), "{}", page.text());
    assert_eq!(get_bytes(server.addr, &format!("{path}/photo.jpg")).0, 404);
}

/// Waits for the static verifier's verdict; its headline and the page's text.
async fn verdict_of(phone: &browser::Browser) -> (String, String) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let shown = phone
            .client
            .execute("const v = document.getElementById('verdict'); return v.hidden ? null : v.querySelector('h1').innerText", vec![])
            .await
            .unwrap();
        if let Some(headline) = shown.as_str() {
            return (headline.trim().trim_start_matches(['✓', '✗', '!']).trim().to_owned(), phone.text().await);
        }
        assert!(std::time::Instant::now() < deadline, "no verdict: {}", phone.text().await);
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// The exported verifier, opened from disk with the cloud gone, gives the kiosk's verdict
/// (the very headline `marketday_provenance` gives) for every kind of tag, after the atelier
/// rotated its key and withdrew the old one; the cloud serves the same at `/verify`.
#[test]
fn the_static_verifier_answers_from_disk_as_the_kiosk_does() {
    let Some(driver) = browser::available() else { return };
    let server = Server::start();
    let (old, new, stranger) = (key(4), key(5), key(6));
    let keyed = |k: &SigningKey, from: &str, until: Option<&str>, revoked: Option<&str>| {
        ChangeBody::Key(KeyChange {
            atelier: ATELIER.into(),
            public_key: data_encoding::HEXLOWER.encode(k.verifying_key().as_bytes()),
            valid_from: from.into(),
            valid_until: until.map(str::to_owned),
            revoked_on: revoked.map(|_| "2026-11-20".into()),
            revoked_reason: revoked.map(str::to_owned),
        })
    };
    let db = server.state.db();
    db.publish(ATELIER, None, &[keyed(&old, "2026-01-01", Some("2026-06-30"), None)], 1).unwrap();
    // Rotation, then the old key withdrawn.
    db.publish(ATELIER, None, &[keyed(&new, "2026-07-01", None, None)], 2).unwrap();
    db.publish(ATELIER, None, &[keyed(&old, "2026-01-01", Some("2026-06-30"), Some("laptop stolen"))], 3).unwrap();
    let keys = db.keys_of(Some(ATELIER)).unwrap();
    let site = tempfile::tempdir().unwrap();
    marketday_cloud::verifier::export(&keys, site.path()).unwrap();
    let keyring: Vec<marketday_provenance::TrustedKey> = keys.iter().map(|(_, k)| k.trusted().unwrap()).collect();
    let dated = |k: &SigningKey, issued: NaiveDate| {
        let mut c = certificate(k, "RG-2026-0007", 7);
        c.key_id = KeyId::of(&k.verifying_key());
        c.issued = issued;
        c.sign(k).unwrap()
    };
    let genuine = dated(&new, day(2026, 11, 2));
    let mut cases: Vec<(String, String)> = vec![
        ("genuine".into(), token_url("https://verify.example", &genuine)),
        ("lower-case link".into(), token_url("https://verify.example", &genuine).to_lowercase()),
        ("withdrawn".into(), dated(&old, day(2026, 3, 1))),
        ("before the new key".into(), dated(&new, day(2026, 3, 1))),
        ("unknown".into(), dated(&stranger, day(2026, 11, 2))),
        ("not ours".into(), "https://example.com/menu".into()),
        ("truncated".into(), genuine[..genuine.len() - 12].to_owned()),
        ("garbled".into(), format!("{}A", &genuine[..genuine.len() - 1]).replace('A', "1")),
    ];
    // Every byte position changed once, so the script's parsing is held to the crate's.
    let bytes = data_encoding::BASE32_NOPAD.decode(genuine.as_bytes()).unwrap();
    for i in (0..bytes.len()).step_by(3) {
        let mut altered = bytes.clone();
        altered[i] ^= 0x21;
        cases.push((format!("byte {i} changed"), data_encoding::BASE32_NOPAD.encode(&altered)));
    }
    let index = site.path().join("index.html");
    let shots = std::env::var_os("MARKETDAY_PAGE_SCREENSHOTS").map(std::path::PathBuf::from);
    let served = format!("{}/verify?t={genuine}", server.url());
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let phone = runtime.block_on(async {
        let phone = browser::Browser::phone(&driver, 360, 800).await;
        // Served by the cloud, for a pasted token.
        phone.client.goto(&served).await.unwrap();
        let (headline, text) = verdict_of(&phone).await;
        assert_eq!(headline, "Genuine", "{text}");
        phone
    });
    // From here on there is no cloud: the copy on disk answers alone.
    drop(server);
    runtime.block_on(async {
        let mut timings = Vec::new();
        for (name, text) in &cases {
            let expected = marketday_provenance::verify(&marketday_provenance::read(text), &keyring);
            let url = format!("file://{}#{}", index.display(), percent_encode(text));
            // A new document each time: a changed #fragment alone would not reload it.
            phone.client.goto("about:blank").await.unwrap();
            let started = std::time::Instant::now();
            phone.client.goto(&url).await.unwrap();
            let (headline, page) = verdict_of(&phone).await;
            timings.push(started.elapsed());
            assert_eq!(headline, expected.headline(marketday_i18n::Language::En), "{name}: {page}");
            assert!(page.contains(&expected.explanation(marketday_i18n::Language::En)), "{name}: {page}");
            if expected.is_genuine() {
                assert!(page.contains("07 of 24") && page.contains("RG-2026-0007"), "{name}: {page}");
            }
            if let (Some(dir), "genuine") = (&shots, name.as_str()) {
                std::fs::write(dir.join("public-14-verifier.png"), phone.screenshot().await).unwrap();
            }
        }
        timings.sort();
        eprintln!(
            "static verifier from disk, opening to verdict: median {:?}, max {:?} ({} tags)",
            timings[timings.len() / 2],
            timings[timings.len() - 1],
            timings.len()
        );
        phone.client.goto(&format!("file://{}?lang=fr&t={genuine}", index.display())).await.unwrap();
        let (headline, text) = verdict_of(&phone).await;
        assert_eq!(headline, "Authentique", "{text}");
        assert!(text.contains("07 sur 24"), "{text}");
        phone.client.clone().close().await.unwrap();
    });
}

/// Path text a phone, a crawler or an attacker might send.
fn hostile_path() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        "[A-Za-z2-7]{0,120}",
        // What may stand in a path unencoded (RFC 3986 pchar and '/'); a browser encodes the
        // rest, and a request line with anything else is refused by HTTP itself.
        "[A-Za-z0-9._~!$&'()*+,;=:@/-]{0,80}",
        proptest::collection::vec(any::<u8>(), 0..64)
            .prop_map(|bytes| bytes.iter().map(|b| format!("%{b:02X}")).collect::<String>()),
        Just("..%2F..%2F".repeat(20)),
        Just("A".repeat(5000)),
        Just("%00".into()),
        Just("%F0%9F%92%8E".into()),
    ];
    let prefix = prop_oneof![Just("/p/"), Just("/P/"), Just("/p//"), Just("/d/"), Just("/D/WEB-1042/"), Just("/d/a/")];
    (prefix, piece).prop_map(|(prefix, piece)| format!("{prefix}{piece}"))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Any path gets a page (a verdict, or a 404 that says what to do), never a 500, never
    /// the protocol's JSON, and the server stays up for the next.
    #[test]
    fn any_path_gets_a_page_never_an_error(paths in proptest::collection::vec(hostile_path(), 8)) {
        let server = Server::start();
        for path in &paths {
            let page = get(server.addr, path, &[]);
            prop_assert!(page.status == 200 || page.status == 404, "{path}: {}", page.status);
            prop_assert!(page.header("content-type").is_some_and(|v| v.starts_with("text/html")), "{path}");
            prop_assert!(page.body.contains("</html>"), "{path}: {}", page.body);
        }
    }
}
