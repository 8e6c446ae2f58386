//! The back office (`/office` on the real cloud, on both stores): accounts, sessions, CSRF,
//! throttled sign-ins, owners and staff, the audit, and ateliers kept apart. Read as raw
//! HTTP, so every cookie attribute and header is seen as a browser gets it; then in
//! headless Chromium, which signs in by typing and is photographed.

use std::net::SocketAddr;

use marketday_cloud::db::{NewUser, Role};
use marketday_cloud::office::password;
use marketday_cloud::wire::{self, ChangeBody, DropChange, PieceChange};

#[path = "common/browser.rs"]
mod browser;
#[path = "common/cloud.rs"]
mod cloud;
#[path = "common/http.rs"]
mod http;
use cloud::{ATELIER, Backend, Server};
use http::{Page, get, percent_encode, send};

const OWNER: &str = "rose@atelier-rose.example";
const STAFF: &str = "sam@atelier-rose.example";
const PASSWORD: &str = "pendant-07-of-24";

fn with_people(backend: &Backend) -> Server {
    let server = Server::start_on(backend);
    let db = server.state.db();
    let hashed = password::hash(PASSWORD).unwrap();
    db.add_user(
        &NewUser { atelier: ATELIER, email: OWNER, name: "Rose Thorne", role: Role::Owner, password_hash: &hashed },
        "command line",
        1,
    )
    .unwrap();
    db.add_user(
        &NewUser { atelier: ATELIER, email: STAFF, name: "Sam Reed", role: Role::Staff, password_hash: &hashed },
        "command line",
        2,
    )
    .unwrap();
    server
}

/// The value a `Set-Cookie` header gives `name`, with the header's whole text.
fn set_cookie<'a>(page: &'a Page, name: &str) -> Option<(&'a str, &'a str)> {
    page.headers.iter().filter(|(n, _)| n.eq_ignore_ascii_case("set-cookie")).find_map(|(_, v)| {
        v.strip_prefix(&format!("{name}=")).map(|rest| (rest.split(';').next().unwrap(), v.as_str()))
    })
}

/// The value of the first hidden `csrf` field on the page.
fn csrf_of(page: &Page) -> String {
    let at = page.body.find("name=\"csrf\" value=\"").expect("a form with a CSRF token") + 19;
    page.body[at..].split('"').next().unwrap().to_owned()
}

fn form(fields: &[(&str, &str)]) -> Vec<u8> {
    fields.iter().map(|(n, v)| format!("{n}={}", percent_encode(v))).collect::<Vec<_>>().join("&").into_bytes()
}

/// Posts a form with the given cookies.
fn post(addr: SocketAddr, path: &str, cookie: &str, fields: &[(&str, &str)]) -> Page {
    let headers = [("Cookie", cookie), ("Content-Type", "application/x-www-form-urlencoded")];
    send(addr, "POST", path, &headers, &form(fields))
}

/// Signs in as a browser does: the form (and its cookie), then the post. Answers the
/// response to the post.
fn try_sign_in(addr: SocketAddr, email: &str, password: &str, extra: &[(&str, &str)]) -> Page {
    let page = get(addr, "/office/sign-in", extra);
    assert_eq!(page.status, 200);
    let (token, _) = set_cookie(&page, "marketday_office_sign_in").expect("the sign-in form's cookie");
    let cookie = format!("marketday_office_sign_in={token}");
    let mut headers = vec![("Cookie", cookie.as_str()), ("Content-Type", "application/x-www-form-urlencoded")];
    headers.extend_from_slice(extra);
    let body = form(&[("email", email), ("password", password), ("csrf", &csrf_of(&page))]);
    send(addr, "POST", "/office/sign-in", &headers, &body)
}

/// A signed-in browser's session cookie (`name=value`).
fn sign_in(addr: SocketAddr, email: &str) -> String {
    let answer = try_sign_in(addr, email, PASSWORD, &[]);
    assert_eq!(answer.status, 303, "{}", answer.text());
    let (token, _) = set_cookie(&answer, "marketday_office").expect("a session cookie");
    format!("marketday_office={token}")
}

fn signing_in_opens_the_office_with_a_strict_http_only_cookie(backend: Backend) {
    let server = with_people(&backend);
    let addr = server.addr;
    let away = get(addr, "/office", &[]);
    assert_eq!((away.status, away.header("location")), (303, Some("/office/sign-in")));
    let answer = try_sign_in(addr, "  Rose@Atelier-Rose.example ", PASSWORD, &[]);
    assert_eq!((answer.status, answer.header("location")), (303, Some("/office")), "{}", answer.text());
    let (token, header) = set_cookie(&answer, "marketday_office").unwrap();
    assert_eq!(token.len(), 64);
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/office"] {
        assert!(header.contains(attribute), "{header}");
    }
    assert!(!header.contains("Secure"), "plain HTTP on loopback cannot keep a Secure cookie: {header}");
    let home = get(addr, "/office", &[("Cookie", &format!("marketday_office={token}"))]);
    assert_eq!(home.status, 200);
    let text = home.text();
    assert!(text.contains(&format!("{ATELIER} today")) && text.contains("Rose Thorne"), "{text}");
    assert_eq!(home.header("cache-control"), Some("no-store"));
    assert_eq!(home.header("x-frame-options"), Some("DENY"));
    // Behind a TLS proxy that says so, the cookie travels only encrypted.
    let proxied = try_sign_in(addr, OWNER, PASSWORD, &[("X-Forwarded-Proto", "https")]);
    assert!(set_cookie(&proxied, "marketday_office").unwrap().1.contains("; Secure"));
    // A wrong password: the form again, saying so, and no session.
    let wrong = try_sign_in(addr, OWNER, "pendant-08-of-24", &[]);
    assert_eq!(wrong.status, 401);
    assert!(wrong.text().contains("do not match an account"), "{}", wrong.text());
    assert!(set_cookie(&wrong, "marketday_office").is_none());
}

fn a_form_without_its_token_changes_nothing(backend: Backend) {
    let server = with_people(&backend);
    let cookie = sign_in(server.addr, OWNER);
    let fields = |csrf| {
        [
            ("csrf", csrf),
            ("name", "Mallory"),
            ("email", "mallory@example.com"),
            ("role", "owner"),
            ("password", PASSWORD),
        ]
    };
    let long = "a".repeat(64);
    for csrf in ["", "0000", long.as_str()] {
        let refused = post(server.addr, "/office/people", &cookie, &fields(csrf));
        assert_eq!(refused.status, 403, "{csrf:?}");
        assert!(refused.text().contains("This form has expired"), "{}", refused.text());
    }
    assert!(server.state.db().user_by_email("mallory@example.com").unwrap().is_none());
    // The same form with the session's own token goes through.
    let csrf = csrf_of(&get(server.addr, "/office/people", &[("Cookie", &cookie)]));
    assert_eq!(post(server.addr, "/office/people", &cookie, &fields(&csrf)).status, 200);
    assert!(server.state.db().user_by_email("mallory@example.com").unwrap().is_some());
    // Signing in needs the token from the sign-in form's own cookie.
    let body = form(&[("email", OWNER), ("password", PASSWORD), ("csrf", "forged")]);
    let headers = [("Content-Type", "application/x-www-form-urlencoded"), ("Cookie", "marketday_office_sign_in=other")];
    let forged = send(server.addr, "POST", "/office/sign-in", &headers, &body);
    assert_eq!(forged.status, 403);
    assert!(set_cookie(&forged, "marketday_office").is_none());
}

fn wrong_passwords_lock_the_account_for_a_while_and_nobody_else(backend: Backend) {
    let server = with_people(&backend);
    for n in 0..5 {
        assert_eq!(try_sign_in(server.addr, OWNER, &format!("guess number {n}"), &[]).status, 401);
    }
    let locked = try_sign_in(server.addr, OWNER, PASSWORD, &[]);
    assert_eq!(locked.status, 429, "even the right password waits");
    assert!(locked.text().contains("Too many failed sign-ins for this account"), "{}", locked.text());
    assert!(set_cookie(&locked, "marketday_office").is_none());
    assert_eq!(try_sign_in(server.addr, STAFF, PASSWORD, &[]).status, 303, "another account is not locked");
    // An address making many tries over many accounts is stopped too.
    for n in 0..30 {
        try_sign_in(server.addr, &format!("nobody{n}@example.com"), "no such password", &[]);
    }
    let from_here = try_sign_in(server.addr, STAFF, PASSWORD, &[]);
    assert_eq!(from_here.status, 429);
    assert!(from_here.text().contains("from this network"), "{}", from_here.text());
}

fn staff_cannot_manage_people_or_read_the_audit(backend: Backend) {
    let server = with_people(&backend);
    let cookie = sign_in(server.addr, STAFF);
    let home = get(server.addr, "/office", &[("Cookie", &cookie)]);
    assert_eq!(home.status, 200);
    assert!(!home.body.contains("/office/people"), "staff are not shown what they cannot open");
    for path in ["/office/people", "/office/audit", "/office/kiosks"] {
        let page = get(server.addr, path, &[("Cookie", &cookie)]);
        assert_eq!(page.status, 403, "{path}");
        assert!(page.text().contains("Owners only"), "{path}: {}", page.text());
    }
    let csrf = csrf_of(&home);
    let owner_id = server.state.db().user_by_email(OWNER).unwrap().unwrap().0.id;
    let removed = post(server.addr, &format!("/office/people/{owner_id}/remove"), &cookie, &[("csrf", &csrf)]);
    assert_eq!(removed.status, 403);
    assert!(server.state.db().user_by_email(OWNER).unwrap().is_some());
}

fn an_owner_adds_and_removes_people_and_the_audit_says_who(backend: Backend) {
    let server = with_people(&backend);
    let cookie = sign_in(server.addr, OWNER);
    let people = get(server.addr, "/office/people", &[("Cookie", &cookie)]);
    let csrf = csrf_of(&people);
    // Every bad field is named; nobody is added.
    let bad = post(
        server.addr,
        "/office/people",
        &cookie,
        &[("csrf", &csrf), ("name", " "), ("email", "not an address"), ("role", "boss"), ("password", "short")],
    );
    assert_eq!(bad.status, 422);
    let text = bad.text();
    for said in ["Give the person's name", "looks like name@example.com", "Choose staff or owner", "at least 10"] {
        assert!(text.contains(said), "{said}: {text}");
    }
    let taken = post(
        server.addr,
        "/office/people",
        &cookie,
        &[("csrf", &csrf), ("name", "Sam again"), ("email", STAFF), ("role", "staff"), ("password", PASSWORD)],
    );
    assert_eq!(taken.status, 422);
    assert!(taken.text().contains("already has an account"));
    let added = post(
        server.addr,
        "/office/people",
        &cookie,
        &[
            ("csrf", &csrf),
            ("name", "Ada Lin"),
            ("email", "ada@atelier-rose.example"),
            ("role", "staff"),
            ("password", PASSWORD),
        ],
    );
    assert_eq!(added.status, 200);
    assert!(added.text().contains("Ada Lin can now sign in as ada@atelier-rose.example"), "{}", added.text());
    let ada = sign_in(server.addr, "ada@atelier-rose.example");
    let ada_id = server.state.db().user_by_email("ada@atelier-rose.example").unwrap().unwrap().0.id;
    let removed = post(server.addr, &format!("/office/people/{ada_id}/remove"), &cookie, &[("csrf", &csrf)]);
    assert_eq!((removed.status, removed.header("location")), (303, Some("/office/people")));
    assert_eq!(get(server.addr, "/office", &[("Cookie", &ada)]).status, 303, "her session ended with her account");
    assert_eq!(try_sign_in(server.addr, "ada@atelier-rose.example", PASSWORD, &[]).status, 401);
    let me = server.state.db().user_by_email(OWNER).unwrap().unwrap().0.id;
    let myself = post(server.addr, &format!("/office/people/{me}/remove"), &cookie, &[("csrf", &csrf)]);
    assert_eq!(myself.status, 422);
    let audit = get(server.addr, "/office/audit", &[("Cookie", &cookie)]).text();
    for said in [
        "rose@atelier-rose.example removed an account: ada@atelier-rose.example",
        "rose@atelier-rose.example added an account: ada@atelier-rose.example (staff)",
        "command line added an account: rose@atelier-rose.example (owner)",
    ] {
        assert!(audit.contains(said), "{said}: {audit}");
    }
}

fn signing_out_everywhere_ends_every_session(backend: Backend) {
    let server = with_people(&backend);
    let (laptop, phone) = (sign_in(server.addr, OWNER), sign_in(server.addr, OWNER));
    let staff = sign_in(server.addr, STAFF);
    let csrf = csrf_of(&get(server.addr, "/office", &[("Cookie", &phone)]));
    let out = post(server.addr, "/office/sign-out-everywhere", &phone, &[("csrf", &csrf)]);
    assert_eq!((out.status, out.header("location")), (303, Some("/office/sign-in")));
    assert!(set_cookie(&out, "marketday_office").unwrap().1.contains("Max-Age=0"));
    for cookie in [&laptop, &phone] {
        assert_eq!(get(server.addr, "/office", &[("Cookie", cookie)]).status, 303);
    }
    assert_eq!(get(server.addr, "/office", &[("Cookie", &staff)]).status, 200, "other people stay signed in");
    // Signing out on one browser ends that session only.
    let again = sign_in(server.addr, OWNER);
    let csrf = csrf_of(&get(server.addr, "/office", &[("Cookie", &staff)]));
    assert_eq!(post(server.addr, "/office/sign-out", &staff, &[("csrf", &csrf)]).status, 303);
    assert_eq!(get(server.addr, "/office", &[("Cookie", &staff)]).status, 303);
    assert_eq!(get(server.addr, "/office", &[("Cookie", &again)]).status, 200);
}

fn ateliers_and_kiosks_are_kept_apart(backend: Backend) {
    let server = with_people(&backend);
    let db = server.state.db();
    let hashed = password::hash(PASSWORD).unwrap();
    db.add_user(
        &NewUser {
            atelier: "Atelier Other",
            email: "owner@other.example",
            name: "Olga",
            role: Role::Owner,
            password_hash: &hashed,
        },
        "command line",
        3,
    )
    .unwrap();
    let other = sign_in(server.addr, "owner@other.example");
    let people = get(server.addr, "/office/people", &[("Cookie", &other)]).text();
    assert!(people.contains("owner@other.example") && !people.contains(OWNER), "{people}");
    assert!(!get(server.addr, "/office/audit", &[("Cookie", &other)]).text().contains("rose@"));
    let csrf = csrf_of(&get(server.addr, "/office/people", &[("Cookie", &other)]));
    let staff_id = db.user_by_email(STAFF).unwrap().unwrap().0.id;
    let reach = post(server.addr, &format!("/office/people/{staff_id}/remove"), &other, &[("csrf", &csrf)]);
    assert_eq!(reach.status, 400);
    assert!(reach.text().contains("no such account"), "{}", reach.text());
    assert!(db.user_by_email(STAFF).unwrap().is_some(), "another atelier's account is untouched");
    server.device("rose-kiosk", "Brighton Open Market");
    let reach = post(server.addr, "/office/kiosks/rose-kiosk/revoke", &other, &[("csrf", &csrf)]);
    assert_eq!(reach.status, 400);
    assert!(!get(server.addr, "/office/kiosks", &[("Cookie", &other)]).text().contains("rose-kiosk"));
    // A kiosk's token is no session, and a session is no kiosk.
    let kiosk = server.device("kiosk-1", "Brighton Open Market");
    let bearer = format!("Bearer {kiosk}");
    assert_eq!(get(server.addr, "/office", &[("Authorization", &bearer)]).status, 303);
    assert_eq!(get(server.addr, "/office", &[("Cookie", &format!("marketday_office={kiosk}"))]).status, 303);
    let rose = sign_in(server.addr, OWNER);
    let status = get(server.addr, marketday_cloud::wire::STATUS, &[("Cookie", &rose)]);
    assert_eq!(status.status, 401);
    assert!(status.header("content-type").unwrap().starts_with("application/json"));
}

fn whatever_is_sent_gets_a_page(backend: Backend) {
    let server = with_people(&backend);
    let cookie = sign_in(server.addr, OWNER);
    type Case<'a> = (&'a str, &'a str, Vec<(&'a str, &'a str)>, &'a [u8], u16);
    let cases: [Case; 4] = [
        ("GET", "/office/no-such-page", vec![("Cookie", &cookie)], b"", 404),
        ("DELETE", "/office/people", vec![("Cookie", &cookie)], b"", 405),
        ("POST", "/office/people", vec![("Cookie", &cookie), ("Content-Type", "text/plain")], b"name=x", 415),
        (
            "POST",
            "/office/sign-in",
            vec![("Content-Type", "application/x-www-form-urlencoded")],
            b"email=a&email=b",
            422,
        ),
    ];
    for (method, path, headers, body, status) in cases {
        let page = send(server.addr, method, path, &headers, body);
        assert_eq!(page.status, status, "{method} {path}: {}", page.body);
        assert!(page.header("content-type").unwrap().starts_with("text/html"), "{method} {path}");
        assert!(page.body.contains("</html>"), "{method} {path}");
    }
}

fn piece(serial: &str, drop_id: &str, title: &str, n: u32) -> ChangeBody {
    ChangeBody::Piece(PieceChange {
        serial: serial.into(),
        drop_id: Some(drop_id.into()),
        edition_number: n,
        edition_size: 24,
        title: title.into(),
        maker: "Mara Thorne".into(),
        materials: "18k rose gold".into(),
        origin_notes: String::new(),
        price_minor: 123_450,
        currency: "GBP".into(),
        assay_hash: None,
        certificate: None,
        photo: None,
    })
}

/// Two people at one piece: a write made from what was read before another's change is
/// refused whole, so a photo upload never undoes a form's correction (or the other way round).
fn a_piece_changed_meanwhile_is_never_undone(backend: Backend) {
    use marketday_cloud::db::{CatalogEdit, DbError};

    let server = with_catalog(&backend);
    let db = server.state.db();
    let read = db.catalog_entry(ATELIER, "RG-2026-0001").unwrap().unwrap();
    let corrected = PieceChange { title: "Rose gold clasp pendant, corrected".into(), ..read.clone() };
    db.publish_pieces(ATELIER, &[corrected], CatalogEdit::Edit, STAFF, 10).unwrap();
    let photo = Some("ab".repeat(32));
    let late = PieceChange { photo: photo.clone(), ..read.clone() };
    let refused = db.publish_pieces_over(ATELIER, &[late], &[read], CatalogEdit::Photo, OWNER, 11);
    assert!(matches!(&refused, Err(DbError::Changed(s)) if s == "RG-2026-0001"), "{refused:?}");
    let now = db.catalog_entry(ATELIER, "RG-2026-0001").unwrap().unwrap();
    assert_eq!((now.title.as_str(), &now.photo), ("Rose gold clasp pendant, corrected", &None), "nothing undone");
    // Laid on the piece as it now is, it is taken.
    let again = PieceChange { photo: photo.clone(), ..now.clone() };
    db.publish_pieces_over(ATELIER, &[again], &[now], CatalogEdit::Photo, OWNER, 12).unwrap();
    let kept = db.catalog_entry(ATELIER, "RG-2026-0001").unwrap().unwrap();
    assert_eq!((kept.title.as_str(), kept.photo), ("Rose gold clasp pendant, corrected", photo));
}

/// A catalog of 60 pieces in two drops: 0001-0050 "Rose gold clasp", 0051-0060 "Moonstone 100% drop".
fn with_catalog(backend: &Backend) -> Server {
    let server = with_people(backend);
    let db = server.state.db();
    let drop = |id: &str, name: &str| {
        ChangeBody::Drop(DropChange {
            id: id.into(),
            name: name.into(),
            opens_at: 0,
            general_sale_at: 0,
            closes_at: i64::MAX / 2,
            member_limit: 1,
        })
    };
    let mut changes = vec![drop("rose-gold-clasp", "Rose gold clasp"), drop("moonstone", "Moonstone")];
    changes.extend(
        (1..=50).map(|n| piece(&format!("RG-2026-{n:04}"), "rose-gold-clasp", "Rose gold clasp pendant", n % 24 + 1)),
    );
    changes.extend((51..=60).map(|n| piece(&format!("MS-2026-{n:04}"), "moonstone", "Moonstone 100% drop", n - 50)));
    db.publish(ATELIER, None, &changes, 1).unwrap();
    db.allocate(ATELIER, "Brighton Open Market", &["RG-2026-0007".into(), "RG-2026-0008".into()], 2).unwrap();
    db.sell_online(ATELIER, "WEB-1042", &["RG-2026-0009".into()], 3).unwrap();
    db.report_lost(ATELIER, "RG-2026-0008", true, 4).unwrap();
    db.publish("Atelier Other", None, &[piece("RG-2026-0001", "other", "Not ours", 1)], 5).unwrap();
    server
}

/// The serials a pieces page lists, in order.
fn serials(page: &Page) -> Vec<String> {
    // Each serial links to its piece: the text of that link.
    let cells = page.body.split("<td class=\"code\" data-label=\"Serial\"><a href=").skip(1);
    cells.map(|rest| rest.split('>').nth(1).unwrap().split('<').next().unwrap().to_owned()).collect()
}

fn the_pieces_list_finds_filters_and_pages(backend: Backend) {
    let server = with_catalog(&backend);
    let cookie = sign_in(server.addr, STAFF);
    let list = |query: &str| {
        let page = get(server.addr, &format!("/office/pieces{query}"), &[("Cookie", &cookie)]);
        assert_eq!(page.status, 200, "{query}");
        page
    };
    let all = list("");
    assert!(all.text().contains("Showing 1–50 of 60"), "{}", all.text());
    assert_eq!(serials(&all).len(), 50);
    assert_eq!(serials(&all)[0], "MS-2026-0051", "by serial");
    assert!(!all.body.contains("Not ours"), "another atelier's piece is never listed");
    let next = list("?page=2");
    assert_eq!(serials(&next), (41..=50).map(|n| format!("RG-2026-{n:04}")).collect::<Vec<_>>());
    assert!(next.body.contains("href=\"/office/pieces?page=1\""), "a link back");
    // Part of a serial in any case, or of a title.
    assert_eq!(serials(&list("?q=rg-2026-000")), (1..=9).map(|n| format!("RG-2026-{n:04}")).collect::<Vec<_>>());
    assert_eq!(serials(&list("?q=MOONSTONE")).len(), 10);
    // '%' and '_' are looked for as themselves, not as patterns.
    assert_eq!(serials(&list("?q=100%25")).len(), 10);
    assert!(serials(&list("?q=%25%25%25")).is_empty());
    assert!(serials(&list("?q=RG_2026")).is_empty());
    assert_eq!(serials(&list("?drop=moonstone")).len(), 10);
    assert_eq!(serials(&list("?stall=Brighton+Open+Market")), ["RG-2026-0007", "RG-2026-0008"]);
    let at_stall = list("?standing=at-stall");
    assert_eq!(serials(&at_stall), ["RG-2026-0007", "RG-2026-0008"]);
    assert!(at_stall.text().contains("At Brighton Open Market"));
    let sold = list("?standing=sold");
    assert_eq!(serials(&sold), ["RG-2026-0009"]);
    assert!(sold.text().contains("Sold online on"), "{}", sold.text());
    let lost = list("?standing=lost");
    assert_eq!(serials(&lost), ["RG-2026-0008"]);
    assert!(lost.text().contains("Reported lost"));
    let in_stock = list("?standing=in-stock");
    assert!(in_stock.text().contains("Showing 1–50 of 57"), "{}", in_stock.text());
    let combined = list("?q=clasp&drop=rose-gold-clasp&standing=at-stall&stall=Brighton+Open+Market");
    assert_eq!(serials(&combined).len(), 2);
    assert!(list("?q=RG-2026-0007").text().contains("£1,234.50"));
    // Nonsense filters are no error: nothing matches, or they are ignored.
    assert!(list("?q=nothing-like-it").text().contains("No piece matches"));
    assert_eq!(serials(&list("?standing=stolen-goods&page=-4")).len(), 50);
}

fn start_pairing(addr: SocketAddr) -> (u16, serde_json::Value) {
    let answer = send(addr, "POST", wire::PAIRING, &[("Content-Length", "0")], b"");
    assert!(answer.header("content-type").unwrap().starts_with("application/json"), "{}", answer.body);
    (answer.status, serde_json::from_str(&answer.body).unwrap())
}

fn poll(addr: SocketAddr, secret: &str) -> (u16, serde_json::Value) {
    let body = serde_json::to_vec(&wire::PairingPoll { secret: secret.into() }).unwrap();
    let answer = send(addr, "POST", wire::PAIRING_POLL, &[("Content-Type", "application/json")], &body);
    (answer.status, serde_json::from_str(&answer.body).unwrap())
}

fn a_kiosk_pairs_by_code_once_and_a_revoked_one_is_refused(backend: Backend) {
    let server = with_people(&backend);
    let addr = server.addr;
    let (status, started) = start_pairing(addr);
    assert_eq!(status, 200);
    let started: wire::PairingStarted = serde_json::from_value(started).unwrap();
    assert!(started.code.len() == 8 && started.code.chars().all(|c| wire::PAIRING_ALPHABET.contains(c)));
    let (status, waiting) = poll(addr, &started.secret);
    assert_eq!((status, waiting["status"].as_str()), (200, Some("waiting")));
    assert_eq!(poll(addr, "not the secret").0, 404);
    let cookie = sign_in(addr, OWNER);
    let csrf = csrf_of(&get(addr, "/office/kiosks", &[("Cookie", &cookie)]));
    // Typed as a person types it off a screen: lower case, with the dash.
    let typed = format!("{}-{}", &started.code[..4], &started.code[4..]).to_lowercase();
    let pair = |code: &str, device: &str| {
        let fields = [("csrf", csrf.as_str()), ("code", code), ("stall", "Brighton Open Market"), ("device", device)];
        post(addr, "/office/kiosks/pair", &cookie, &fields)
    };
    let paired = pair(&typed, "brighton-2");
    assert_eq!(paired.status, 200, "{}", paired.text());
    assert!(paired.text().contains("Paired: brighton-2 at Brighton Open Market"), "{}", paired.text());
    let (status, collected) = poll(addr, &started.secret);
    assert_eq!(status, 200);
    let wire::PairingState::Paired { token, device, atelier, stall } = serde_json::from_value(collected).unwrap()
    else {
        panic!("not paired")
    };
    assert_eq!((device.as_str(), atelier.as_str(), stall.as_str()), ("brighton-2", ATELIER, "Brighton Open Market"));
    let (status, gone) = poll(addr, &started.secret);
    assert_eq!((status, gone["error"].as_str()), (404, Some("pairing_gone")), "the token is given once");
    let bearer = format!("Bearer {token}");
    assert_eq!(get(addr, wire::STATUS, &[("Authorization", &bearer)]).status, 200);
    assert!(pair(&started.code, "brighton-3").text().contains("already paired a kiosk"));
    // Revoked: its next sync is refused, and the page says when.
    let revoked = post(addr, "/office/kiosks/brighton-2/revoke", &cookie, &[("csrf", &csrf)]);
    assert_eq!((revoked.status, revoked.header("location")), (303, Some("/office/kiosks")));
    assert_eq!(get(addr, wire::STATUS, &[("Authorization", &bearer)]).status, 401);
    let listed = get(addr, "/office/kiosks", &[("Cookie", &cookie)]).text();
    assert!(listed.contains("brighton-2") && listed.contains("Revoked"), "{listed}");
    assert!(get(addr, "/office/audit", &[("Cookie", &cookie)]).text().contains("revoked a kiosk: brighton-2"));
    // A code past its ten minutes pairs nothing.
    let (_, late) = start_pairing(addr);
    server.execute_sql("UPDATE pairings SET expires_at = 0 WHERE delivered_at IS NULL");
    let late_code = late["code"].as_str().unwrap();
    assert!(pair(late_code, "brighton-4").text().contains("No kiosk is waiting with this code"));
    assert_eq!(poll(addr, late["secret"].as_str().unwrap()).0, 404);
    // Wrong codes: after five, even a right one waits.
    for wrong in ["AAAA-AAA2", "AAAA-AAA3", "AAAA-AAA4", "AAAA-AAA5"] {
        assert_eq!(pair(wrong, "brighton-5").status, 422);
    }
    let (_, fresh) = start_pairing(addr);
    let fresh_code = fresh["code"].as_str().unwrap();
    let refused = pair(fresh_code, "brighton-5");
    assert_eq!(refused.status, 429, "{}", refused.text());
    assert!(refused.text().contains("Too many wrong codes"));
    assert_eq!(poll(addr, fresh["secret"].as_str().unwrap()).1["status"].as_str(), Some("waiting"));
    // One address asking for code after code is stopped.
    let asked: Vec<u16> = (0..wire::PAIRING_STARTS).map(|_| start_pairing(addr).0).collect();
    assert_eq!(asked.last(), Some(&429), "{asked:?}");
    let (_, flood) = start_pairing(addr);
    assert_eq!(flood["error"].as_str(), Some("too_many"));
}

/// What a kiosk of the atelier pulls: every piece change it is sent, by serial.
fn pulled_pieces(addr: SocketAddr, token: &str) -> Vec<PieceChange> {
    let auth = format!("Bearer {token}");
    let page = get(addr, &format!("{}?since=0&limit=500", wire::CHANGES), &[("Authorization", &auth)]);
    assert_eq!(page.status, 200, "{}", page.body);
    let changes: wire::ChangesPage = serde_json::from_str(&page.body).unwrap();
    changes.changes.into_iter().filter(|c| c.kind == "piece").map(|c| serde_json::from_value(c.data).unwrap()).collect()
}

fn a_piece_is_added_and_corrected_and_kiosks_pull_it(backend: Backend) {
    let server = with_catalog(&backend);
    let token = server.device("kiosk-1", "Brighton Open Market");
    let addr = server.addr;
    // Staff run the catalog.
    let cookie = sign_in(addr, STAFF);
    let new = get(addr, "/office/pieces/new", &[("Cookie", &cookie)]);
    assert_eq!(new.status, 200);
    assert!(new.body.contains("value=\"GBP\""), "the atelier's usual currency is filled in");
    let csrf = csrf_of(&new);
    let typed = |serial: &str, number: &str, price: &str, drop: &str| {
        vec![
            ("csrf", csrf.clone()),
            ("serial", serial.to_owned()),
            ("title", "Moonstone ear studs".to_owned()),
            ("edition_number", number.to_owned()),
            ("edition_size", "12".to_owned()),
            ("price", price.to_owned()),
            ("currency", "GBP".to_owned()),
            ("drop_id", drop.to_owned()),
            ("maker", "Mara Thorne".to_owned()),
            ("materials", "Silver, moonstone".to_owned()),
            ("origin_notes", String::new()),
            ("assay_hash", String::new()),
        ]
    };
    let post_piece = |path: &str, fields: &[(&str, String)]| {
        let fields: Vec<(&str, &str)> = fields.iter().map(|(n, v)| (*n, v.as_str())).collect();
        post(addr, path, &cookie, &fields)
    };
    let before = pulled_pieces(addr, &token).len();
    // Every field's trouble is said at once, and nothing is published.
    let refused = post_piece("/office/pieces/new", &typed("MS 2026/0099!", "13", "12,50", "no-such-drop"));
    assert_eq!(refused.status, 422, "{}", refused.text());
    let text = refused.text();
    // "12,50" is a decimal comma, not twelve hundred and fifty.
    for said in ["Nothing was saved", "'12,50' is not an amount", "no-such-drop' is not one of the atelier's drops"] {
        assert!(text.contains(said), "{said}: {text}");
    }
    assert!(refused.body.contains("id=\"serial\" name=\"serial\" value=\"MS 2026/0099!\""), "what was typed stays");
    assert!(refused.body.contains("aria-invalid=\"true\""));
    // A serial already in the catalog is refused, as the form says.
    let taken = post_piece("/office/pieces/new", &typed("rg-2026-0001", "3", "45.00", ""));
    assert_eq!(taken.status, 422);
    assert!(taken.text().contains("RG-2026-0001 is already in the catalog"), "{}", taken.text());
    assert_eq!(pulled_pieces(addr, &token).len(), before, "nothing refused reaches a kiosk");
    // A good one: published, and the page after it says so.
    let added = post_piece("/office/pieces/new", &typed(" ms-2026-0099 ", "3", "1,045.5", "moonstone"));
    assert_eq!((added.status, added.header("location")), (303, Some("/office/pieces/MS-2026-0099?saved=added")));
    // A double click posts the same form again: the same piece, taken as done.
    let twice = post_piece("/office/pieces/new", &typed(" ms-2026-0099 ", "3", "1,045.5", "moonstone"));
    assert_eq!((twice.status, twice.header("location")), (303, Some("/office/pieces/MS-2026-0099?saved=added")));
    let shown = get(addr, "/office/pieces/MS-2026-0099?saved=added", &[("Cookie", &cookie)]);
    assert!(shown.text().contains("Saved. Kiosks pick it up at their next pull."), "{}", shown.text());
    assert!(shown.body.contains("value=\"1045.50\""), "the price as typed back");
    let pulled = pulled_pieces(addr, &token);
    let piece = pulled.iter().rfind(|p| p.serial == "MS-2026-0099").expect("the kiosk pulls the new piece");
    assert_eq!((piece.price_minor, piece.edition_number, piece.drop_id.as_deref()), (104_550, 3, Some("moonstone")));
    // A correction: a new price and title reach the kiosk; the serial in the form is ignored.
    let mut fields = typed("RG-2026-0001", "3", "999", "moonstone");
    fields[2].1 = "Moonstone ear studs, pair".into();
    let saved = post_piece("/office/pieces/MS-2026-0099", &fields);
    assert_eq!(saved.status, 303, "{}", saved.text());
    let last = pulled_pieces(addr, &token).into_iter().rfind(|p| p.serial == "MS-2026-0099").unwrap();
    assert_eq!((last.title.as_str(), last.price_minor), ("Moonstone ear studs, pair", 99_900));
    assert_eq!(
        server.state.db().catalog_entry(ATELIER, "RG-2026-0001").unwrap().unwrap().title,
        "Rose gold clasp pendant"
    );
    assert_eq!(get(addr, "/office/pieces/NO-SUCH-1", &[("Cookie", &cookie)]).status, 404);
    // The audit says who did it.
    let owner = sign_in(addr, OWNER);
    let audit = get(addr, "/office/audit", &[("Cookie", &owner)]).text();
    assert!(audit.contains("added a piece: MS-2026-0099") && audit.contains("edited a piece: MS-2026-0099"), "{audit}");
}

fn a_certified_piece_keeps_what_its_certificate_signs(backend: Backend) {
    let server = with_catalog(&backend);
    let mut certified = match piece("RG-2026-0100", "rose-gold-clasp", "Rose gold clasp pendant", 5) {
        ChangeBody::Piece(p) => p,
        _ => unreachable!(),
    };
    certified.certificate = Some("HTTPS://VERIFY.EXAMPLE/P/SIGNED".into());
    server.state.db().publish(ATELIER, None, &[ChangeBody::Piece(certified)], 9).unwrap();
    let cookie = sign_in(server.addr, STAFF);
    let page = get(server.addr, "/office/pieces/RG-2026-0100", &[("Cookie", &cookie)]);
    assert!(page.text().contains("Its tag carries a signed certificate"), "{}", page.text());
    assert!(page.body.contains(
        "id=\"edition_number\" name=\"edition_number\" value=\"5\" autocomplete=\"off\" inputmode=\"numeric\" readonly"
    ));
    let csrf = csrf_of(&page);
    let send_with = |number: &str, title: &str| {
        post(
            server.addr,
            "/office/pieces/RG-2026-0100",
            &cookie,
            &[
                ("csrf", &csrf),
                ("title", title),
                ("edition_number", number),
                ("edition_size", "24"),
                ("price", "1500"),
                ("currency", "GBP"),
                ("drop_id", "rose-gold-clasp"),
            ],
        )
    };
    // A readonly field is still a field a hand-made request can change: the server holds.
    let refused = send_with("6", "Rose gold clasp pendant");
    assert_eq!(refused.status, 422);
    assert!(refused.text().contains("The certificate on its tag signs the edition"), "{}", refused.text());
    assert_eq!(send_with("5", "Rose gold clasp pendant, polished").status, 303);
    let now = server.state.db().catalog_entry(ATELIER, "RG-2026-0100").unwrap().unwrap();
    assert_eq!(now.title, "Rose gold clasp pendant, polished");
    assert_eq!(
        now.certificate.as_deref(),
        Some("HTTPS://VERIFY.EXAMPLE/P/SIGNED"),
        "a correction keeps the certificate"
    );
}

/// Sends the import form as a browser does: multipart, with the file.
fn upload(addr: SocketAddr, cookie: &str, csrf: &str, file: &[u8]) -> Page {
    upload_to(addr, "/office/pieces/import", cookie, csrf, file)
}

fn upload_to(addr: SocketAddr, path: &str, cookie: &str, csrf: &str, file: &[u8]) -> Page {
    let boundary = "marketday-test-boundary-7f3a";
    let mut body = Vec::new();
    for (name, value) in [("csrf", csrf), ("currency", "GBP")] {
        body.extend(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").bytes(),
        );
    }
    body.extend(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"pieces.csv\"\r\nContent-Type: text/csv\r\n\r\n"
        )
        .bytes(),
    );
    body.extend_from_slice(file);
    body.extend(format!("\r\n--{boundary}--\r\n").bytes());
    let kind = format!("multipart/form-data; boundary={boundary}");
    send(addr, "POST", path, &[("Cookie", cookie), ("Content-Type", &kind)], &body)
}

/// Like [`upload`], for a body the server refuses before reading it: written from another
/// thread while this one reads the answer, which comes before the server stops listening.
fn upload_while_reading(addr: SocketAddr, cookie: &str, csrf: &str, file: Vec<u8>) -> String {
    use std::io::{Read, Write};
    let boundary = "marketday-test-boundary-7f3a";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.csv\"\r\n\r\n"
    )
    .into_bytes();
    body.extend(file);
    body.extend(format!("\r\n--{boundary}--\r\n").bytes());
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    let head = format!(
        "POST /office/pieces/import HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\nConnection: close\r\n\
         Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    let mut writer = stream.try_clone().unwrap();
    // The server may stop reading at any point: a failed write is the expected end.
    let sending = std::thread::spawn(move || writer.write_all(&body).is_ok());
    let mut answer = Vec::new();
    let mut buffer = [0; 16 * 1024];
    while let Ok(n) = stream.read(&mut buffer) {
        if n == 0 {
            break;
        }
        answer.extend_from_slice(&buffer[..n]);
    }
    let _ = stream.shutdown(std::net::Shutdown::Both);
    let _ = sending.join();
    String::from_utf8_lossy(&answer).into_owned()
}

fn a_spreadsheet_is_imported_whole_or_not_at_all(backend: Backend) {
    let server = with_catalog(&backend);
    let token = server.device("kiosk-1", "Brighton Open Market");
    let addr = server.addr;
    let cookie = sign_in(addr, STAFF);
    let csrf = csrf_of(&get(addr, "/office/pieces/import", &[("Cookie", &cookie)]));
    let before = pulled_pieces(addr, &token).len();
    // Four bad rows among good ones: each named, by the spreadsheet's row number.
    let bad = "serial,title,edition_number,edition_size,price,drop_id\n\
               SP-2026-0001,Spinel ring,1,8,450.00,\n\
               SP-2026-0002,Spinel ring,9,8,450.00,\n\
               SP-2026-0003,,3,8,4x0,\n\
               SP-2026-0001,Spinel ring,4,8,450.00,\n\
               RG-2026-0005,Spinel ring,5,8,450.00,\n\
               SP-2026-0006,Spinel ring,6,8,450.00,spinel\n";
    let refused = upload(addr, &cookie, &csrf, bad.as_bytes());
    assert_eq!(refused.status, 422, "{}", refused.text());
    let text = refused.text();
    for said in [
        "Nothing was imported: 4 rows need fixing",
        "Row 3 (SP-2026-0002): edition_number:",
        "Row 4 (SP-2026-0003): title: Give the piece a title",
        "Give the piece a title, as its tag and receipt show it. price: '4x0' is not an amount",
        "Row 5 (SP-2026-0001): serial: SP-2026-0001 is in the file twice.",
        "Row 7 (SP-2026-0006): drop_id: 'spinel' is not one of the atelier's drops",
    ] {
        assert!(text.contains(said), "{said}: {text}");
    }
    assert!(!text.contains("Row 2 "), "a good row is not listed: {text}");
    assert!(server.state.db().catalog_entry(ATELIER, "SP-2026-0001").unwrap().is_none(), "all or nothing");
    // A serial already in the catalog is found by the store and named with its row.
    let taken = upload(
        addr,
        &cookie,
        &csrf,
        b"serial,title,edition_number,edition_size,price\nSP-2026-0001,Ring,1,8,4\nRG-2026-0005,Ring,2,8,4\n",
    );
    assert_eq!(taken.status, 422);
    assert!(taken.text().contains("Row 3 (RG-2026-0005): already in the catalog"), "{}", taken.text());
    // The file's own trouble is said plainly.
    for (file, said) in [
        (&b"title,price\nRing,4\n"[..], "it has no serial, edition_number, edition_size"),
        (&b"serial,title,edition_number,edition_size,price\n"[..], "a header row and no pieces"),
        (&b"serial,title,edition_number,edition_size,price\nSP-1,Bague \xe9t\xe9,1,2,3\n"[..], "save it as CSV UTF-8"),
        (&b""[..], "Choose a CSV file"),
    ] {
        let page = upload(addr, &cookie, &csrf, file);
        assert_eq!(page.status, 422, "{said}");
        assert!(page.text().contains(said), "{said}: {}", page.text());
    }
    assert_eq!(pulled_pieces(addr, &token).len(), before, "nothing refused reaches a kiosk");
    // As a European spreadsheet saves it: a byte-order mark, semicolons, columns in any
    // order and case, a decimal comma's thousands left out.
    let good = "\u{feff}Title;SERIAL;price;edition_size;edition_number;maker\r\n\
                Spinel ring;sp-2026-0001;450.00;8;1;Mara Thorne\r\n\
                Spinel ring;SP-2026-0002;1250;8;2;\r\n";
    let imported = upload(addr, &cookie, &csrf, good.as_bytes());
    assert_eq!(imported.status, 200, "{}", imported.text());
    assert!(imported.text().contains("Imported 2 pieces"), "{}", imported.text());
    // Sent again (a double click): done once, as the page said.
    let again = upload(addr, &cookie, &csrf, good.as_bytes());
    assert_eq!(again.status, 200, "{}", again.text());
    let pulled = pulled_pieces(addr, &token);
    assert_eq!(pulled.len(), before + 2);
    let ring = pulled.iter().find(|p| p.serial == "SP-2026-0002").unwrap();
    assert_eq!((ring.price_minor, ring.currency.as_str(), ring.edition_number), (125_000, "GBP", 2));
    // A 50 MB upload is refused in words, and nothing is imported.
    let mut huge = b"serial,title,edition_number,edition_size,price\n".to_vec();
    while huge.len() < 50 << 20 {
        huge.extend_from_slice(b"SP-2026-9999,A very long spreadsheet,1,8,4.00\n");
    }
    let refused = upload_while_reading(addr, &cookie, &csrf, huge);
    assert!(refused.starts_with("HTTP/1.1 400"), "{refused}");
    assert!(refused.contains("larger than 2 MB"), "{refused}");
    assert!(server.state.db().catalog_entry(ATELIER, "SP-2026-9999").unwrap().is_none());
    // Without the session's token, nothing.
    let forged =
        upload(addr, &cookie, "forged", b"serial,title,edition_number,edition_size,price\nSP-2026-0009,Ring,1,8,4\n");
    assert_eq!(forged.status, 403);
    assert!(server.state.db().catalog_entry(ATELIER, "SP-2026-0009").unwrap().is_none());
}

/// What a kiosk of the atelier trusts after a pull: every key change it is sent, the last
/// word on each key kept (as the kiosk's store does).
fn pulled_keyring(addr: SocketAddr, token: &str) -> Vec<marketday_provenance::TrustedKey> {
    let auth = format!("Bearer {token}");
    let page = get(addr, &format!("{}?since=0&limit=500", wire::CHANGES), &[("Authorization", &auth)]);
    let changes: wire::ChangesPage = serde_json::from_str(&page.body).unwrap();
    let mut ring: Vec<marketday_provenance::TrustedKey> = Vec::new();
    for change in changes.changes.into_iter().filter(|c| c.kind == "key") {
        let key: wire::KeyChange = serde_json::from_value(change.data).unwrap();
        let trusted = key.trusted().unwrap();
        ring.retain(|k| k.id != trusted.id);
        ring.push(trusted);
    }
    ring
}

/// The kiosk's verdict on each pulled piece's certificate, by serial ("none" without one).
fn verdicts(addr: SocketAddr, token: &str) -> Vec<(String, &'static str)> {
    let ring = pulled_keyring(addr, token);
    let mut latest: Vec<PieceChange> = Vec::new();
    for piece in pulled_pieces(addr, token) {
        latest.retain(|p| p.serial != piece.serial);
        latest.push(piece);
    }
    latest.sort_by(|a, b| a.serial.cmp(&b.serial));
    latest
        .into_iter()
        .map(|p| {
            let word = p
                .certificate
                .as_deref()
                .map_or("none", |t| marketday_provenance::verify(&marketday_provenance::read(t), &ring).word());
            (p.serial, word)
        })
        .collect()
}

fn certificates_page(addr: SocketAddr, cookie: &str) -> (Page, String) {
    let page = get(addr, "/office/certificates", &[("Cookie", cookie)]);
    assert_eq!(page.status, 200, "{}", page.text());
    let csrf = csrf_of(&page);
    (page, csrf)
}

/// Every file under `dir`, with its path.
fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() { out.extend(files_under(&path)) } else { out.push(path) }
    }
    out
}

fn an_owner_makes_a_key_here_signs_pieces_and_kiosks_pull_both(backend: Backend) {
    let server = with_catalog(&backend);
    let token = server.device("kiosk-1", "Brighton Open Market");
    let addr = server.addr;
    // Staff run the catalog, not the keys.
    let staff = sign_in(addr, STAFF);
    assert_eq!(get(addr, "/office/certificates", &[("Cookie", &staff)]).status, 403);
    let staff_piece = get(addr, "/office/pieces/RG-2026-0001", &[("Cookie", &staff)]);
    assert!(!staff_piece.text().contains("Sign its certificate"));
    let staff_csrf = csrf_of(&staff_piece);
    let refused = post(addr, "/office/certificates/key", &staff, &[("csrf", &staff_csrf), ("replacing", "")]);
    assert_eq!(refused.status, 403);
    assert!(server.state.db().keys_of(Some(ATELIER)).unwrap().is_empty());

    let cookie = sign_in(addr, OWNER);
    let (page, csrf) = certificates_page(addr, &cookie);
    let text = page.text();
    assert!(text.contains("No key signs the atelier's certificates yet") && text.contains("60 of 60 pieces"), "{text}");
    let early = post(addr, "/office/certificates/sign", &cookie, &[("csrf", &csrf), ("drop", "")]);
    assert_eq!(early.status, 409);
    assert!(early.text().contains("no key kept here to sign with"), "{}", early.text());

    // A double click: the same form twice at once makes one key, and keeps one file.
    let barrier = std::sync::Barrier::new(2);
    let answers: Vec<String> = std::thread::scope(|scope| {
        let send = || {
            barrier.wait();
            post(addr, "/office/certificates/key", &cookie, &[("csrf", &csrf), ("replacing", "")]).text()
        };
        let (a, b) = (scope.spawn(send), scope.spawn(send));
        vec![a.join().unwrap(), b.join().unwrap()]
    });
    assert_eq!(answers.iter().filter(|a| a.contains("is made and kept on this server")).count(), 1, "{answers:?}");
    assert_eq!(answers.iter().filter(|a| a.contains("already made")).count(), 1, "{answers:?}");
    // And sent again later.
    let again = post(addr, "/office/certificates/key", &cookie, &[("csrf", &csrf), ("replacing", "")]);
    assert!(again.text().contains("already made"), "{}", again.text());
    let keys = server.state.db().keys_of(Some(ATELIER)).unwrap();
    assert_eq!(keys.len(), 1);
    let public = marketday_provenance::public_key(&keys[0].1.public_key).unwrap();
    let id = marketday_provenance::KeyId::of(&public);
    let secret = server.state.custody().key(ATELIER, id).unwrap().expect("the server keeps it").to_bytes();
    // Kept in one file only the server's user reads, and nowhere else: not in the store's
    // files, not in what kiosks pull.
    let kept: Vec<_> =
        files_under(server.dir.path()).into_iter().filter(|p| p.to_string_lossy().contains("/keys/")).collect();
    assert_eq!(kept.len(), 1, "{kept:?}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&kept[0]).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let secret_hex = data_encoding::HEXLOWER.encode(&secret);
    for file in files_under(server.dir.path()).into_iter().filter(|p| !p.to_string_lossy().contains("/keys/")) {
        let bytes = std::fs::read(&file).unwrap();
        assert!(!bytes.windows(32).any(|w| w == secret), "the secret key is in {}", file.display());
        assert!(!String::from_utf8_lossy(&bytes).contains(&secret_hex), "{}", file.display());
    }
    let auth = format!("Bearer {token}");
    let pulled = get(addr, &format!("{}?since=0&limit=500", wire::CHANGES), &[("Authorization", &auth)]);
    assert!(pulled.body.contains(&keys[0].1.public_key) && !pulled.body.contains(&secret_hex));

    // One piece from its own page, then a drop, then the rest.
    let piece_page = get(addr, "/office/pieces/RG-2026-0001", &[("Cookie", &cookie)]);
    assert!(piece_page.text().contains("Sign its certificate"), "{}", piece_page.text());
    let one = post(addr, "/office/certificates/sign", &cookie, &[("csrf", &csrf), ("serial", "rg-2026-0001")]);
    assert_eq!((one.status, one.header("location")), (303, Some("/office/pieces/RG-2026-0001")), "{}", one.text());
    let piece_page = get(addr, "/office/pieces/RG-2026-0001", &[("Cookie", &cookie)]);
    assert!(piece_page.text().contains("Its tag carries a signed certificate"), "{}", piece_page.text());
    let drop = post(addr, "/office/certificates/sign", &cookie, &[("csrf", &csrf), ("drop", "moonstone")]);
    assert!(drop.text().contains("Signed 10 certificates"), "{}", drop.text());
    let seen = verdicts(addr, &token);
    let genuine: Vec<&str> = seen.iter().filter(|(_, v)| *v == "genuine").map(|(s, _)| s.as_str()).collect();
    assert_eq!(genuine.len(), 11, "{seen:?}");
    assert!(genuine.contains(&"RG-2026-0001") && genuine.iter().filter(|s| s.starts_with("MS-")).count() == 10);
    let rest = post(addr, "/office/certificates/sign", &cookie, &[("csrf", &csrf), ("drop", "")]);
    assert!(rest.text().contains("Signed 49 certificates"), "{}", rest.text());
    assert!(verdicts(addr, &token).iter().all(|(_, v)| *v == "genuine"));
    let twice = post(addr, "/office/certificates/sign", &cookie, &[("csrf", &csrf), ("drop", "")]);
    assert!(twice.text().contains("Nothing to sign"), "{}", twice.text());
    // The customer's phone says what the kiosk says.
    let certificate = server.state.db().catalog_entry(ATELIER, "MS-2026-0051").unwrap().unwrap().certificate.unwrap();
    let public_page = get(addr, &format!("/P/{certificate}"), &[]);
    assert!(public_page.text().contains("Genuine"), "{}", public_page.text());
    let audit = get(addr, "/office/audit", &[("Cookie", &cookie)]).text();
    assert!(audit.contains("made a signing key") && audit.contains("signed certificates"), "{audit}");
}

fn a_rotated_key_s_certificates_stay_genuine_and_a_withdrawn_key_s_are_signed_again(backend: Backend) {
    let server = with_catalog(&backend);
    let token = server.device("kiosk-1", "Brighton Open Market");
    let addr = server.addr;
    let cookie = sign_in(addr, OWNER);
    let (_, csrf) = certificates_page(addr, &cookie);
    post(addr, "/office/certificates/key", &cookie, &[("csrf", &csrf), ("replacing", "")]);
    post(addr, "/office/certificates/sign", &cookie, &[("csrf", &csrf), ("drop", "")]);
    let first = server.state.db().catalog_entry(ATELIER, "RG-2026-0007").unwrap().unwrap().certificate.unwrap();
    let old = server.state.db().keys_of(Some(ATELIER)).unwrap()[0].1.clone();
    let old_id =
        marketday_provenance::KeyId::of(&marketday_provenance::public_key(&old.public_key).unwrap()).to_string();

    let rotated = post(addr, "/office/certificates/key", &cookie, &[("csrf", &csrf), ("replacing", &old_id)]);
    assert!(rotated.text().contains(&format!("Key {old_id} signs nothing after today")), "{}", rotated.text());
    let today = chrono::Utc::now().date_naive().format("%Y-%m-%d").to_string();
    let keys = server.state.db().keys_of(Some(ATELIER)).unwrap();
    assert_eq!(keys.len(), 2);
    let retired = keys.iter().find(|(_, k)| k.public_key == old.public_key).unwrap();
    assert_eq!(retired.1.valid_until.as_deref(), Some(today.as_str()));
    // A stale form (opened before the rotation) makes no third key.
    let stale = post(addr, "/office/certificates/key", &cookie, &[("csrf", &csrf), ("replacing", &old_id)]);
    assert!(stale.text().contains("already made"));
    assert_eq!(server.state.db().keys_of(Some(ATELIER)).unwrap().len(), 2);
    let (page, _) = certificates_page(addr, &cookie);
    assert!(page.text().contains("Every one of the 60 pieces has a genuine certificate"), "{}", page.text());
    assert!(verdicts(addr, &token).iter().all(|(_, v)| *v == "genuine"));

    // Withdrawing needs a reason and the box ticked.
    let path = format!("/office/certificates/{old_id}/withdraw");
    let unticked = post(addr, &path, &cookie, &[("csrf", &csrf), ("reason", "laptop stolen")]);
    assert_eq!(unticked.status, 422);
    assert!(unticked.text().contains("Nothing was withdrawn") && unticked.text().contains("Tick the box"));
    assert!(server.state.db().keys_of(Some(ATELIER)).unwrap().iter().all(|(_, k)| k.revoked_on.is_none()));
    let withdrawn = post(addr, &path, &cookie, &[("csrf", &csrf), ("reason", "laptop stolen"), ("confirm", "yes")]);
    assert_eq!(withdrawn.status, 200);
    let text = withdrawn.text();
    assert!(
        text.contains(&format!("Key {old_id} is withdrawn")) && text.contains("60 signed by a withdrawn key"),
        "{text}"
    );
    assert!(verdicts(addr, &token).iter().all(|(_, v)| *v == "revoked key"));
    let public_page = get(addr, &format!("/P/{first}"), &[]).text();
    assert!(public_page.contains("Withdrawn key") && public_page.contains("laptop stolen"), "{public_page}");

    let again = post(addr, "/office/certificates/sign", &cookie, &[("csrf", &csrf), ("drop", "")]);
    assert!(again.text().contains("Signed 60 certificates"), "{}", again.text());
    assert!(verdicts(addr, &token).iter().all(|(_, v)| *v == "genuine"));
    let second = server.state.db().catalog_entry(ATELIER, "RG-2026-0007").unwrap().unwrap().certificate.unwrap();
    assert_ne!(first, second);
    assert!(get(addr, &format!("/P/{second}"), &[]).text().contains("Genuine"));
    // Withdrawn is for good: the page offers no way back, and sending the form again changes nothing.
    let twice = post(addr, &path, &cookie, &[("csrf", &csrf), ("reason", "found it"), ("confirm", "yes")]);
    assert!(twice.text().contains("already withdrawn"), "{}", twice.text());
    let keys = server.state.db().keys_of(Some(ATELIER)).unwrap();
    let held = keys.iter().find(|(_, k)| k.public_key == old.public_key).unwrap();
    assert_eq!(held.1.revoked_reason.as_deref(), Some("laptop stolen"));
}

/// Where a kiosk is told each piece stands: the last allocation pulled, by serial.
fn pulled_allocations(addr: SocketAddr, token: &str) -> Vec<(String, Option<String>)> {
    let auth = format!("Bearer {token}");
    let page = get(addr, &format!("{}?since=0&limit=500", wire::CHANGES), &[("Authorization", &auth)]);
    let changes: wire::ChangesPage = serde_json::from_str(&page.body).unwrap();
    let mut out: Vec<(String, Option<String>)> = Vec::new();
    for change in changes.changes.into_iter().filter(|c| c.kind == "piece_state") {
        let state: wire::PieceStateChange = serde_json::from_value(change.data).unwrap();
        out.retain(|(s, _)| *s != state.serial);
        out.push((state.serial, state.allocated_to));
    }
    out
}

fn pieces_go_to_a_stall_all_of_them_or_none(backend: Backend) {
    let server = with_catalog(&backend);
    let token = server.device("kiosk-2", "Lewes Market");
    let addr = server.addr;
    // Sending pieces out is the day's work: staff do it.
    let cookie = sign_in(addr, STAFF);
    let page = get(addr, "/office/stalls", &[("Cookie", &cookie)]);
    assert_eq!(page.status, 200);
    let text = page.text();
    assert!(text.contains("Brighton Open Market") && text.contains("Lewes Market"), "{text}");
    let csrf = csrf_of(&page);
    let send = |serials: &str, drop: &str| {
        post(
            addr,
            "/office/stalls/send",
            &cookie,
            &[("csrf", &csrf), ("stall", "Lewes Market"), ("serials", serials), ("drop", drop)],
        )
    };
    let refused = send("rg-2026-0001..0003 RG-2026-0009\nRG-2026-0008, RG-2026-9999", "");
    assert_eq!(refused.status, 422);
    let text = refused.text();
    for why in ["RG-2026-0009 is sold", "RG-2026-0008 is reported lost or stolen", "RG-2026-9999 is not in the catalog"]
    {
        assert!(text.contains(why), "{why}: {text}");
    }
    assert!(text.contains("No piece was sent"), "{text}");
    assert!(!pulled_allocations(addr, &token).iter().any(|(s, _)| s == "RG-2026-0001"), "nothing went");
    let backwards = send("RG-2026-0003..0001", "");
    assert_eq!(backwards.status, 422);
    assert!(backwards.text().contains("runs backwards"), "{}", backwards.text());

    let sent = send("rg-2026-0001..0003, RG-2026-0007", "moonstone");
    assert_eq!(sent.status, 200, "{}", sent.text());
    let text = sent.text();
    assert!(text.contains("Sent 14 pieces to Lewes Market (1 of them from another stall)"), "{text}");
    let pulled = pulled_allocations(addr, &token);
    for serial in ["RG-2026-0001", "RG-2026-0003", "RG-2026-0007", "MS-2026-0051", "MS-2026-0060"] {
        let at = pulled.iter().find(|(s, _)| s == serial).map(|(_, at)| at.as_deref());
        assert_eq!(at, Some(Some("Lewes Market")), "{serial}");
    }
    // The list now says where they are; the drop has nothing left to send.
    let stalls = server.state.db().stalls(ATELIER).unwrap();
    let on_sale = |name: &str| stalls.iter().find(|s| s.name == name).map(|s| (s.on_sale, s.kiosks));
    assert_eq!(on_sale("Lewes Market"), Some((14, 1)));
    assert_eq!(on_sale("Brighton Open Market"), Some((0, 0)), "0007 left it and 0008 is reported lost");
    let page = get(addr, "/office/stalls", &[("Cookie", &cookie)]).body;
    assert!(page.contains("<td data-label=\"On sale\">14</td>"), "{page}");
    let empty = send("", "moonstone");
    assert_eq!(empty.status, 422);
    assert!(empty.text().contains("No piece of moonstone is left in the workshop"), "{}", empty.text());
    let nothing = send("  ", "");
    assert!(nothing.text().contains("Type or scan the pieces' serials"), "{}", nothing.text());
    let owner = sign_in(addr, OWNER);
    let audit = get(addr, "/office/audit", &[("Cookie", &owner)]).text();
    assert!(audit.contains("sent pieces to a stall") && audit.contains("14 pieces to Lewes Market"), "{audit}");
}

/// Every drop change a kiosk of the atelier pulls, in order.
fn pulled_drops(addr: SocketAddr, token: &str) -> Vec<DropChange> {
    let auth = format!("Bearer {token}");
    let page = get(addr, &format!("{}?since=0&limit=500", wire::CHANGES), &[("Authorization", &auth)]);
    let changes: wire::ChangesPage = serde_json::from_str(&page.body).unwrap();
    changes.changes.into_iter().filter(|c| c.kind == "drop").map(|c| serde_json::from_value(c.data).unwrap()).collect()
}

fn a_drop_is_added_with_its_phases_and_kiosks_pull_it(backend: Backend) {
    let server = with_catalog(&backend);
    let token = server.device("kiosk-1", "Brighton Open Market");
    let addr = server.addr;
    let cookie = sign_in(addr, STAFF);
    let list = get(addr, "/office/drops", &[("Cookie", &cookie)]);
    assert_eq!(list.status, 200);
    assert!(list.body.contains("href=\"/office/pieces?drop=rose-gold-clasp\">50</a>"), "{}", list.body);
    let new = get(addr, "/office/drops/new", &[("Cookie", &cookie)]);
    let csrf = csrf_of(&new);
    let send = |path: &str, id: &str, name: &str, times: [&str; 3], limit: &str| {
        let fields = [
            ("csrf", csrf.as_str()),
            ("id", id),
            ("name", name),
            ("opens", times[0]),
            ("members_until", times[1]),
            ("closes", times[2]),
            ("member_limit", limit),
        ];
        post(addr, path, &cookie, &fields)
    };
    let refused = send(
        "/office/drops/new",
        "Spinel Ring!",
        " ",
        ["2026-12-12T10:00", "2026-12-12T09:00", "2026-12-12T08:00"],
        "x",
    );
    assert_eq!(refused.status, 422);
    let text = refused.text();
    for why in [
        "lower-case letters, digits or '-'",
        "Give the drop a name",
        "The members' hours end after the drop opens",
        "The drop closes after it opens",
        "from 0 (no limit) to 1000",
    ] {
        assert!(text.contains(why), "{why}: {text}");
    }
    let week = ["2026-12-12T10:00", "2026-12-12T12:00", "2026-12-20T18:00"];
    let added = send("/office/drops/new", "spinel", "Spinel ring", week, "2");
    assert_eq!((added.status, added.header("location")), (303, Some("/office/drops/spinel?saved=added")));
    // Sent twice (a double click): taken once.
    assert_eq!(send("/office/drops/new", "spinel", "Spinel ring", week, "2").status, 303);
    let at = |text: &str| {
        chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M").unwrap().and_utc().timestamp_millis()
    };
    let pulled: Vec<DropChange> = pulled_drops(addr, &token).into_iter().filter(|d| d.id == "spinel").collect();
    assert_eq!(pulled.len(), 1, "{pulled:?}");
    assert_eq!(
        (pulled[0].opens_at, pulled[0].general_sale_at, pulled[0].closes_at, pulled[0].member_limit),
        (at(week[0]), at(week[1]), at(week[2]), 2)
    );
    let taken = send("/office/drops/new", "moonstone", "Moonstone again", week, "1");
    assert_eq!(taken.status, 422);
    assert!(taken.text().contains("already has a drop moonstone"), "{}", taken.text());
    // Changed: no members' hours, a day longer; the id stays what the address says.
    let longer = ["2026-12-12T10:00", "", "2026-12-21T18:00"];
    let changed = send("/office/drops/spinel", "other", "Spinel ring", longer, "0");
    assert_eq!((changed.status, changed.header("location")), (303, Some("/office/drops/spinel?saved=changed")));
    let last = pulled_drops(addr, &token).into_iter().rfind(|d| d.id == "spinel").unwrap();
    assert_eq!((last.general_sale_at, last.closes_at, last.member_limit), (at(longer[0]), at(longer[2]), 0));
    assert!(!pulled_drops(addr, &token).iter().any(|d| d.id == "other"));
    let page = get(addr, "/office/drops/spinel?saved=changed", &[("Cookie", &cookie)]);
    assert!(page.body.contains("value=\"2026-12-21T18:00\"") && page.text().contains("Saved"), "{}", page.body);
    assert_eq!(get(addr, "/office/drops/nope", &[("Cookie", &cookie)]).status, 404);
    // The command line's publish holds drops to the same order.
    let backwards = DropChange { closes_at: last.opens_at - 1, ..last.clone() };
    let refused = server.state.db().publish(ATELIER, None, &[ChangeBody::Drop(backwards)], 9).unwrap_err();
    assert!(refused.to_string().contains("opens ≤ general sale ≤ closes"), "{refused}");
    // Its pieces can name it now.
    let csrf_piece = csrf_of(&get(addr, "/office/pieces/new", &[("Cookie", &cookie)]));
    let piece = [
        ("csrf", csrf_piece.as_str()),
        ("serial", "SP-2026-0001"),
        ("title", "Spinel ring"),
        ("edition_number", "1"),
        ("edition_size", "8"),
        ("price", "450.00"),
        ("currency", "GBP"),
        ("drop_id", "spinel"),
    ];
    assert_eq!(post(addr, "/office/pieces/new", &cookie, &piece).status, 303);
    let owner = sign_in(addr, OWNER);
    let audit = get(addr, "/office/audit", &[("Cookie", &owner)]).text();
    assert!(audit.contains("added a drop") && audit.contains("changed a drop"), "{audit}");
}

/// A spreadsheet's amount ("1234.50") in minor units.
fn minor(text: &str) -> i64 {
    let (whole, frac) = text.split_once('.').unwrap_or((text, "00"));
    let sign = if whole.starts_with('-') { -1 } else { 1 };
    sign * (whole.trim_start_matches('-').parse::<i64>().unwrap() * 100 + frac.parse::<i64>().unwrap())
}

/// A stall's day on a real kiosk store, synced to `server` as kiosk `device` at `stall`: the
/// demo's two card sales from the morning, then every way money moves at a stall (cash with
/// change, a split tender, a card sale voided, a return paid in cash). Answers the store (in
/// `dir`) and the day's noon, UTC.
fn a_stall_s_day(
    server: &Server,
    device: &str,
    stall: &str,
    dir: &std::path::Path,
) -> (marketday::store::Store, chrono::DateTime<chrono::Utc>) {
    use marketday::domain::cash::RefundMethod;
    use marketday::domain::{Cart, Currency, Money, ReturnsWindow, Tender, VatRate};
    use marketday::store::Store;

    let token = server.device(device, stall);
    let mut store = Store::open(&dir.join(format!("{device}.sqlite"))).unwrap();
    let noon = chrono::Utc::now().date_naive().and_hms_opt(12, 0, 0).unwrap().and_utc();
    marketday::demo::seed(&mut store, stall, noon).unwrap();
    let gbp = |m| Money::new(m, Currency::GBP);
    let at = |minutes: i64| noon + chrono::Duration::minutes(minutes);
    let sell = |store: &mut Store, ns: &[u32], tenders: &dyn Fn(i64) -> Vec<Tender>, when| {
        let mut cart = Cart::new(Currency::GBP);
        for n in ns {
            cart.add(&store.piece(&marketday::demo::serial(*n)).unwrap().unwrap(), None, when).unwrap();
        }
        let total = cart.totals(VatRate(2000)).unwrap().total.minor;
        let (sale, _) = cart.checkout(tenders(total), VatRate(2000), when, uuid::Uuid::now_v7()).unwrap();
        store.commit_sale(&sale, device).unwrap();
        sale.id
    };
    // Pieces the demo left on sale (it sold, held and reserved some).
    let free: Vec<u32> = (1..=24)
        .filter(|n| {
            let piece = store.piece(&marketday::demo::serial(*n)).unwrap();
            piece.is_some_and(|p| p.status == marketday::domain::PieceStatus::Available)
        })
        .collect();
    assert!(free.len() >= 6, "{free:?}");
    let card = |t: i64| vec![Tender::Card { amount: gbp(t), reference: "4242".into() }];
    let split = |t: i64| {
        vec![Tender::Cash { tendered: gbp(5_000) }, Tender::Card { amount: gbp(t - 5_000), reference: "77".into() }]
    };
    sell(&mut store, &free[0..1], &|t| vec![Tender::Cash { tendered: gbp(t + 1_000) }], at(5));
    sell(&mut store, &free[1..3], &split, at(10));
    let voided = sell(&mut store, &free[3..4], &card, at(20));
    let returned = sell(&mut store, &free[4..6], &|t| vec![Tender::Cash { tendered: gbp(t) }], at(30));
    let window = ReturnsWindow::default();
    store.void_sale(voided, "Keyed in error", at(40), window).unwrap();
    let back = [marketday::demo::serial(free[5])];
    store.return_pieces(returned, &back, "Changed mind", RefundMethod::Cash, at(50), window).unwrap();

    let client = marketday::sync::Client::new(&server.url(), &token, std::time::Duration::from_secs(5)).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(marketday::sync::round(&mut store, &client, None)).unwrap();
    assert_eq!(store.unsynced_count().unwrap(), 0);
    (store, noon)
}

fn a_day_s_takings_are_each_kiosk_s_z_report(backend: Backend) {
    use marketday::domain::Currency;
    use marketday::store::Day;

    let server = with_people(&backend);
    let dir = tempfile::tempdir().unwrap();
    let (store, noon) = a_stall_s_day(&server, "K1", "Spitalfields", dir.path());
    let at = |minutes: i64| noon + chrono::Duration::minutes(minutes);

    let date = noon.date_naive();
    let from = date.and_hms_opt(0, 0, 0).unwrap().and_utc();
    let day = Day { date, from, to: from + chrono::Duration::days(1) };
    let z = store.z_report("Spitalfields", "K1", Currency::GBP, day, at(60)).unwrap();
    let tender = |label: &str| z.by_tender.iter().find(|(l, _, _)| l == label).map_or(0, |(_, _, m)| m.minor);
    assert_eq!((z.sales, z.voids, z.returns), (5, 1, 1), "the morning's two, three of ours; one voided, one returned");

    let cookie = sign_in(server.addr, OWNER);
    let csv = get(server.addr, &format!("/office/takings.csv?day={date}"), &[("Cookie", &cookie)]);
    assert_eq!(csv.status, 200, "{}", csv.body);
    assert_eq!(csv.header("content-type"), Some("text/csv; charset=utf-8"));
    let mut reader = csv::Reader::from_reader(csv.body.as_bytes());
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 1, "{}", csv.body);
    let row = &rows[0];
    assert_eq!((&row[1], &row[2], &row[3]), ("Spitalfields", "K1", "GBP"));
    let count = |i: usize| row[i].parse::<u32>().unwrap();
    assert_eq!((count(4), count(5)), (z.sales, z.pieces), "sales and pieces");
    assert_eq!((minor(&row[6]), minor(&row[7])), (z.gross.minor, z.vat.minor), "takings and VAT");
    assert_eq!((minor(&row[8]), minor(&row[9])), (tender("Cash"), tender("Card")), "cash kept and card");
    assert_eq!((count(10), count(11), minor(&row[12])), (z.voids, z.returns, z.refunded.minor), "voids and returns");
    // The page says the same, in money.
    let page = get(server.addr, &format!("/office/takings?day={date}"), &[("Cookie", &cookie)]).text();
    assert!(page.contains(&z.gross.to_string()) && page.contains("Spitalfields"), "{page}");
    // The day before had nothing; a day that is not one is refused in words.
    let before = get(server.addr, &format!("/office/takings?day={}", date.pred_opt().unwrap()), &[("Cookie", &cookie)]);
    assert!(before.text().contains("No sale reached the back office for this day"), "{}", before.text());
    let nonsense = get(server.addr, "/office/takings?day=31-31-2026", &[("Cookie", &cookie)]);
    assert_eq!(nonsense.status, 400);
}

/// An atelier on the far side of the world counts its days in its own zone: the same
/// kiosk's sales fall on the day they fall on there, page, CSV and drop times alike.
fn an_atelier_s_days_and_times_are_in_its_own_time_zone(backend: Backend) {
    use chrono::TimeZone;
    use chrono_tz::Pacific::Auckland;
    use marketday::domain::Currency;
    use marketday::store::Day;

    let server = with_people(&backend);
    let addr = server.addr;
    let cookie = sign_in(addr, OWNER);
    let home = get(addr, "/office", &[("Cookie", &cookie)]).text();
    assert!(home.contains("Days and times here are in UTC"), "{home}");
    // Staff may not change it; a zone that is not one is refused by its field.
    let staff = sign_in(addr, STAFF);
    let staff_csrf = csrf_of(&get(addr, "/office", &[("Cookie", &staff)]));
    let by_staff = post(addr, "/office/time-zone", &staff, &[("csrf", &staff_csrf), ("time_zone", "Europe/Paris")]);
    assert_eq!(by_staff.status, 403, "{}", by_staff.text());
    let form = get(addr, "/office/time-zone", &[("Cookie", &cookie)]);
    assert_eq!(form.status, 200);
    assert!(form.body.contains("<option value=\"Pacific/Auckland\">"), "the zones are offered");
    let csrf = csrf_of(&form);
    let wrong = post(addr, "/office/time-zone", &cookie, &[("csrf", &csrf), ("time_zone", "Mars/Olympus_Mons")]);
    assert_eq!(wrong.status, 422);
    assert!(wrong.text().contains("is not a time zone we know"), "{}", wrong.text());
    assert!(get(addr, "/office", &[("Cookie", &cookie)]).text().contains("in UTC"), "unchanged");
    let set = post(addr, "/office/time-zone", &cookie, &[("csrf", &csrf), ("time_zone", " pacific/auckland ")]);
    assert_eq!(set.status, 303, "{}", set.text());
    assert!(get(addr, "/office", &[("Cookie", &cookie)]).text().contains("in Pacific/Auckland"));
    let audit = get(addr, "/office/audit", &[("Cookie", &cookie)]).text();
    assert!(audit.contains("set the time zone") && audit.contains("UTC to Pacific/Auckland"), "{audit}");

    // The stall's day, kept by the kiosk at noon UTC: past midnight in Auckland.
    let dir = tempfile::tempdir().unwrap();
    let (store, noon) = a_stall_s_day(&server, "K1", "Spitalfields", dir.path());
    let there = noon.with_timezone(&Auckland).date_naive();
    assert_eq!(there, noon.date_naive().succ_opt().unwrap());
    let midnight = |d: chrono::NaiveDate| {
        Auckland.from_local_datetime(&d.and_hms_opt(0, 0, 0).unwrap()).earliest().unwrap().with_timezone(&chrono::Utc)
    };
    let day = Day { date: there, from: midnight(there), to: midnight(there.succ_opt().unwrap()) };
    let z = store.z_report("Spitalfields", "K1", Currency::GBP, day, noon + chrono::Duration::hours(1)).unwrap();
    // Counted by UTC the day holds more: the demo's 10:00 UTC sale was 23:00 the day before there.
    let utc_from = noon.date_naive().and_hms_opt(0, 0, 0).unwrap().and_utc();
    let utc_day = Day { date: noon.date_naive(), from: utc_from, to: utc_from + chrono::Duration::days(1) };
    let by_utc =
        store.z_report("Spitalfields", "K1", Currency::GBP, utc_day, noon + chrono::Duration::hours(1)).unwrap();
    assert_ne!((z.sales, z.gross), (by_utc.sales, by_utc.gross), "the zone changes the day's takings");
    let csv = get(addr, &format!("/office/takings.csv?day={there}"), &[("Cookie", &cookie)]);
    let mut reader = csv::Reader::from_reader(csv.body.as_bytes());
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 1, "{}", csv.body);
    let count = |i: usize| rows[0][i].parse::<u32>().unwrap();
    assert_eq!((count(4), count(5), minor(&rows[0][6])), (z.sales, z.pieces, z.gross.minor), "{}", csv.body);
    assert_eq!(count(10), z.voids);
    let page = get(addr, &format!("/office/takings?day={there}"), &[("Cookie", &cookie)]).text();
    assert!(page.contains(&z.gross.to_string()) && page.contains("midnight to midnight in Pacific/Auckland"), "{page}");
    // The sales list says when in Auckland's words (NZDT or NZST, by the season of the run).
    let first = (noon + chrono::Duration::minutes(5)).with_timezone(&Auckland);
    assert_eq!(first.date_naive(), there);
    let sales = get(addr, "/office/sales", &[("Cookie", &cookie)]).text();
    assert!(sales.contains(&first.format("%Y-%m-%d %H:%M %Z").to_string()), "{sales}");

    // A drop's times are typed and shown in the zone, and kiosks get the instant meant.
    let token = server.device("K2", "Spitalfields");
    let new = get(addr, "/office/drops/new", &[("Cookie", &cookie)]);
    assert!(new.text().contains("Times are in Pacific/Auckland"), "{}", new.text());
    let fields = [
        ("csrf", csrf.as_str()),
        ("id", "kauri"),
        ("name", "Kauri gum pendants"),
        ("opens", "2026-12-12T10:00"),
        ("members_until", ""),
        ("closes", "2026-12-13T18:00"),
        ("member_limit", "0"),
    ];
    assert_eq!(post(addr, "/office/drops/new", &cookie, &fields).status, 303);
    let pulled = pulled_drops(addr, &token).into_iter().find(|d| d.id == "kauri").unwrap();
    let opens = chrono::DateTime::parse_from_rfc3339("2026-12-11T21:00:00Z").unwrap().timestamp_millis();
    assert_eq!(pulled.opens_at, opens, "10:00 in Auckland is 21:00 UTC the day before");
    let edit = get(addr, "/office/drops/kauri", &[("Cookie", &cookie)]).body;
    assert!(edit.contains("value=\"2026-12-12T10:00\""), "{edit}");
}

fn an_online_sale_is_recorded_once_and_kiosks_learn_the_pieces_are_sold(backend: Backend) {
    let server = with_catalog(&backend);
    let token = server.device("kiosk-1", "Brighton Open Market");
    let addr = server.addr;
    let cookie = sign_in(addr, STAFF);
    let csrf = csrf_of(&get(addr, "/office/stalls", &[("Cookie", &cookie)]));
    let sell = |order: &str, serials: &str| {
        post(addr, "/office/stalls/online", &cookie, &[("csrf", &csrf), ("order", order), ("serials", serials)])
    };
    let refused = sell("WEB-2001", "RG-2026-0009 RG-2026-0020\nRG-2026-0008 RG-2026-9999");
    assert_eq!(refused.status, 422);
    let text = refused.text();
    for why in ["RG-2026-0009 is sold", "RG-2026-0008 is reported lost or stolen", "RG-2026-9999 is not in the catalog"]
    {
        assert!(text.contains(why), "{why}: {text}");
    }
    assert!(text.contains("Nothing was recorded"), "{text}");
    let unnamed = sell("WEB 2001", "RG-2026-0020");
    assert_eq!(unnamed.status, 422);
    assert!(unnamed.text().contains("The shop's order number"), "{}", unnamed.text());
    let db = server.state.db();
    let sold_by = |serial: &str| {
        let page = db
            .pieces(ATELIER, &marketday_cloud::db::PieceQuery { text: serial.into(), limit: 5, ..Default::default() });
        page.unwrap().lines.into_iter().find(|l| l.serial == serial).and_then(|l| l.sold_by)
    };
    assert_eq!(sold_by("RG-2026-0020"), None, "nothing of the refused order was recorded");

    let done = sell("WEB-2001", "rg-2026-0020, RG-2026-0021");
    assert_eq!(done.status, 200, "{}", done.text());
    assert!(done.text().contains("Order WEB-2001: 2 pieces sold online"), "{}", done.text());
    assert!(sell("WEB-2001", "RG-2026-0020 RG-2026-0021").text().contains("sold online"), "a double click is done");
    assert_eq!(sold_by("RG-2026-0021").as_deref(), Some("online"));
    // Kiosks learn it; a stall cannot take the piece now.
    let auth = format!("Bearer {token}");
    let page = get(addr, &format!("{}?since=0&limit=500", wire::CHANGES), &[("Authorization", &auth)]);
    let changes: wire::ChangesPage = serde_json::from_str(&page.body).unwrap();
    let last = changes
        .changes
        .into_iter()
        .filter(|c| c.kind == "piece_state")
        .map(|c| serde_json::from_value::<wire::PieceStateChange>(c.data).unwrap())
        .rfind(|s| s.serial == "RG-2026-0020")
        .unwrap();
    assert_eq!(last.sold_by.as_deref(), Some("online"));
    let moved = post(
        addr,
        "/office/stalls/send",
        &cookie,
        &[("csrf", &csrf), ("stall", "Lewes Market"), ("serials", "RG-2026-0020"), ("drop", "")],
    );
    assert!(moved.text().contains("RG-2026-0020 is sold"), "{}", moved.text());
    let owner = sign_in(addr, OWNER);
    let audit = get(addr, "/office/audit", &[("Cookie", &owner)]).text();
    assert_eq!(audit.matches("recorded an online sale").count(), 1, "{audit}");
}

fn the_sales_list_finds_a_receipt_or_a_serial_and_says_what_was_taken_back(backend: Backend) {
    let server = with_people(&backend);
    let dir = tempfile::tempdir().unwrap();
    a_stall_s_day(&server, "K1", "Spitalfields", dir.path());
    let cookie = sign_in(server.addr, STAFF);
    let list = |q: &str| get(server.addr, &format!("/office/sales?q={}", percent_encode(q)), &[("Cookie", &cookie)]);
    let all = list("");
    assert_eq!(all.status, 200);
    let text = all.text();
    assert!(text.contains("Showing 1–6 of 6"), "the demo's two and the day's four: {text}");
    assert_eq!(text.matches("Voided").count(), 1, "{text}");
    assert_eq!(text.matches("Returned: ").count(), 1, "{text}");
    // What the list is made from, to search for.
    let db = server.state.db();
    let (sales, _) = db.sales(ATELIER, "", 0, 50).unwrap();
    let reversals = db.reversals_since(ATELIER, 0).unwrap();
    let listed: Vec<_> = sales.iter().map(|s| marketday_cloud::takings::listed(s, &reversals).unwrap()).collect();
    let returned = listed.iter().find(|s| !s.returned.is_empty()).unwrap();
    let by_receipt = list(&returned.receipt).text();
    assert!(by_receipt.contains("Showing 1–1 of 1") && by_receipt.contains(&returned.receipt), "{by_receipt}");
    assert!(by_receipt.contains(&format!("Returned: {}", returned.returned[0])), "{by_receipt}");
    let by_serial = list(&returned.returned[0].to_lowercase()).text();
    assert!(by_serial.contains("Showing 1–1 of 1") && by_serial.contains(&returned.receipt), "{by_serial}");
    let voided = listed.iter().find(|s| s.voided).unwrap();
    assert!(list(&voided.receipt).text().contains("Voided"));
    // Every sale here has a serial AT-2026-...: as wildcards these would match them all.
    for wild in ["AT_2026", "AT%2026"] {
        assert!(list(wild).text().contains("No sale matches"), "{wild}: % and _ are taken literally");
    }
    assert!(list(&returned.receipt.to_lowercase()).text().contains("Showing 1–1 of 1"), "a receipt in any case");
    let past = get(server.addr, "/office/sales?page=9", &[("Cookie", &cookie)]).text();
    assert!(past.contains("No sale on this page: there are 6"), "{past}");
}

/// Two stalls sell the same pieces while apart: the second stall's sales are refused, and
/// its kiosk holds two conflicts. One is dealt with in the back office (the kiosk learns it
/// at its next pull, without echoing anything back); the other on the kiosk (the office
/// learns it from the kiosk's event).
fn a_refused_sale_is_explained_and_dealt_with_here_or_on_the_kiosk(backend: Backend) {
    use marketday::domain::{Cart, Currency, Money, Tender, VatRate};
    use marketday::store::Store;

    let server = with_catalog(&backend);
    let addr = server.addr;
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let kiosk = |device: &str, stall: &str| {
        let token = server.device(device, stall);
        let store = Store::open(&dir.path().join(format!("{device}.sqlite"))).unwrap();
        let client = marketday::sync::Client::new(&server.url(), &token, std::time::Duration::from_secs(5)).unwrap();
        (store, client)
    };
    let round = |store: &mut Store, client: &marketday::sync::Client| {
        rt.block_on(marketday::sync::round(store, client, None)).unwrap();
    };
    let sell = |store: &mut Store, device: &str, serial: &str| {
        let now = chrono::Utc::now();
        let mut cart = Cart::new(Currency::GBP);
        let serial = marketday::domain::Serial::parse(serial).unwrap();
        cart.add(&store.piece(&serial).unwrap().unwrap(), None, now).unwrap();
        let total = cart.totals(VatRate(2000)).unwrap().total.minor;
        let card = vec![Tender::Card { amount: Money::new(total, Currency::GBP), reference: "4242".into() }];
        let (sale, _) = cart.checkout(card, VatRate(2000), now, uuid::Uuid::now_v7()).unwrap();
        store.commit_sale(&sale, device).unwrap();
    };
    let (mut k1, c1) = kiosk("K1", "Spitalfields");
    let (mut k2, c2) = kiosk("K2", "Lewes Market");
    round(&mut k1, &c1);
    round(&mut k2, &c2);
    for serial in ["RG-2026-0011", "RG-2026-0012"] {
        sell(&mut k1, "K1", serial);
        sell(&mut k2, "K2", serial);
    }
    round(&mut k1, &c1);
    round(&mut k2, &c2);
    assert!(k1.open_conflicts().unwrap().is_empty());
    let held = k2.open_conflicts().unwrap();
    assert_eq!(held.len(), 2, "{held:?}");
    let of = |serial: &str| held.iter().find(|c| c.message.contains(serial)).unwrap().event_id;
    let (first, second) = (of("RG-2026-0011"), of("RG-2026-0012"));

    let cookie = sign_in(addr, STAFF);
    let home = get(addr, "/office", &[("Cookie", &cookie)]).text();
    assert!(home.contains("2 conflicts wait for you"), "{home}");
    let page = get(addr, "/office/conflicts", &[("Cookie", &cookie)]);
    assert_eq!(page.status, 200);
    let text = page.text();
    assert_eq!(
        text.matches("A sale at Lewes Market was refused: the piece had been sold elsewhere first").count(),
        2,
        "{text}"
    );
    assert!(text.contains("Two buyers paid for one piece") && text.contains("K2 at Lewes Market"), "{text}");
    assert!(text.contains("RG-2026-0011") && text.contains(&first.to_string()), "{text}");
    let csrf = csrf_of(&page);
    let dealt = |id: &str| post(addr, &format!("/office/conflicts/{id}/dealt"), &cookie, &[("csrf", &csrf)]);
    assert_eq!(dealt(&first.to_string()).status, 303);
    assert_eq!(dealt(&first.to_string()).status, 303, "a double click is no error");
    for stranger in [uuid::Uuid::nil().to_string(), "not-an-id".into()] {
        let refused = dealt(&stranger);
        assert_eq!(refused.status, 400, "{stranger}: {}", refused.text());
    }
    assert_eq!(post(addr, &format!("/office/conflicts/{first}/dealt"), &cookie, &[]).status, 403, "no token");

    // The kiosk learns it, and sends nothing back for it.
    round(&mut k2, &c2);
    let left = k2.open_conflicts().unwrap();
    assert_eq!(left.iter().map(|c| c.event_id).collect::<Vec<_>>(), [second], "{left:?}");
    assert_eq!(k2.unsynced_count().unwrap(), 0);
    // K1 sold those pieces: it holds no such conflict and nothing changes there.
    round(&mut k1, &c1);
    assert!(k1.open_conflicts().unwrap().is_empty());

    k2.resolve_conflict(second, chrono::Utc::now()).unwrap();
    round(&mut k2, &c2);
    let text = get(addr, "/office/conflicts", &[("Cookie", &cookie)]).text();
    assert!(text.contains("Nothing to deal with"), "{text}");
    assert!(text.contains(&format!("Dealt with by {STAFF}")), "{text}");
    assert!(text.contains("Dealt with by the kiosk K2"), "{text}");
    assert!(!get(addr, "/office", &[("Cookie", &cookie)]).text().contains("wait for you"));
    let owner = sign_in(addr, OWNER);
    let audit = get(addr, "/office/audit", &[("Cookie", &owner)]).text();
    assert_eq!(audit.matches("dealt with a conflict").count(), 1, "{audit}");
}

/// An online order asked of a stall from the Orders page reaches its real kiosk, is handed
/// to a courier there with a photo, and comes back as a checked proof that downloads as the
/// kiosk's own `dispatch export` writes it. A kiosk's own order is listed too.
fn an_order_shipped_from_a_stall_comes_back_with_its_checked_proof(backend: Backend) {
    use marketday::dispatch::{self, Station};
    use marketday::store::{Shipment, Store};

    let server = with_catalog(&backend);
    let addr = server.addr;
    let dir = tempfile::tempdir().unwrap();
    let token = server.device("K1", "Lewes Market");
    let mut store = Store::open(&dir.path().join("K1.sqlite")).unwrap();
    let station = Station::open(dir.path(), "K1", "Lewes Market", &server.url()).unwrap();
    let client = marketday::sync::Client::new(&server.url(), &token, std::time::Duration::from_secs(5)).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let round = |store: &mut Store| {
        rt.block_on(marketday::sync::round(store, &client, Some(&station.photos))).unwrap();
    };

    let cookie = sign_in(addr, STAFF);
    let page = get(addr, "/office/orders", &[("Cookie", &cookie)]);
    assert_eq!(page.status, 200);
    assert!(page.text().contains("No order to ship yet"), "{}", page.text());
    let csrf = csrf_of(&page);
    let ship = |order: &str, serials: &str, stall: &str| {
        let fields = [
            ("csrf", csrf.as_str()),
            ("order", order),
            ("buyer", "Ada Lovelace"),
            ("serials", serials),
            ("stall", stall),
        ];
        post(addr, "/office/orders", &cookie, &fields)
    };
    let refused = ship("web-3001", "RG-2026-0021 RG-2026-0009", "Lewes Market");
    assert_eq!(refused.status, 422);
    assert!(refused.text().contains("RG-2026-0009 is sold") && refused.text().contains("Nothing was sent"));
    let unnamed = ship("WEB 3001", "", "");
    assert_eq!(unnamed.status, 422);
    for why in ["The shop's order number", "Type or scan the serials", "Name the stall"] {
        assert!(unnamed.text().contains(why), "{why}: {}", unnamed.text());
    }
    let done = ship("web-3001", "RG-2026-0021 RG-2026-0022", "Lewes Market");
    assert_eq!(done.status, 200, "{}", done.text());
    assert!(done.text().contains("Order WEB-3001 (2 pieces) is on its way to Lewes Market"), "{}", done.text());
    assert_eq!(ship("WEB-3001", "RG-2026-0021 RG-2026-0022", "Lewes Market").status, 200, "a double click is done");
    let elsewhere = ship("WEB-3001", "RG-2026-0021 RG-2026-0022", "Spitalfields");
    assert_eq!(elsewhere.status, 400);
    assert!(elsewhere.text().contains("already to be shipped from Lewes Market"), "{}", elsewhere.text());
    let changed = ship("WEB-3001", "RG-2026-0021", "Lewes Market");
    assert_eq!(changed.status, 400, "the same number with other pieces is not the same order");
    assert!(changed.text().contains("with other pieces or another buyer"), "{}", changed.text());
    // A stall hands over what it has: RG-2026-0007 is at Brighton.
    let away = ship("WEB-3002", "RG-2026-0007", "Lewes Market");
    assert_eq!(away.status, 422);
    assert!(away.text().contains("RG-2026-0007 is at Brighton Open Market"), "{}", away.text());

    // The kiosk lists it; the stall makes one of its own; the courier takes the first.
    round(&mut store);
    let waiting = store.shipments_awaiting("").unwrap();
    assert_eq!(waiting.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(), ["WEB-3001"], "{waiting:?}");
    assert_eq!(waiting[0].pieces, ["RG-2026-0021", "RG-2026-0022"]);
    let now = chrono::Utc::now();
    let own = Shipment {
        id: "STALL-7".into(),
        sale_id: None,
        buyer: "Grace Hopper".into(),
        pieces: vec!["RG-2026-0023".into()],
        created_at: now,
        dispatched_at: None,
    };
    store.add_shipment(&own).unwrap();
    let page = get(addr, "/office/orders", &[("Cookie", &cookie)]).text();
    assert!(page.contains("Waiting at the stall since") && !page.contains("STALL-7"), "{page}");
    let jpeg = b"\xFF\xD8 a parcel in brown paper \xFF\xD9".to_vec();
    let handover = marketday_provenance::dispatch::Handover {
        order: "WEB-3001".into(),
        pieces: vec!["RG-2026-0021".into(), "RG-2026-0022".into()],
        tracking_number: "JD000223344GB".into(),
        courier: "Royal Mail".into(),
        courier_name: "Sam".into(),
    };
    let record = dispatch::record_handover(&mut store, &station, handover, &jpeg, now, now).unwrap();
    round(&mut store);
    assert_eq!(store.unsynced_count().unwrap(), 0);

    let page = get(addr, "/office/orders", &[("Cookie", &cookie)]);
    let text = page.text();
    assert!(text.contains("2 orders, newest first") && text.contains("STALL-7"), "{text}");
    assert!(text.contains("Handed to Royal Mail (Sam)") && text.contains("tracking JD000223344GB"), "{text}");
    assert!(text.contains("Signed by kiosk K1; photo intact"), "{text}");
    // What the kiosk's export writes, the office downloads.
    let exported = tempfile::tempdir().unwrap();
    let (json_path, photo_path) = dispatch::export(&store, &station.photos, "WEB-3001", exported.path()).unwrap();
    let json = get(addr, "/office/orders/WEB-3001/proof.json", &[("Cookie", &cookie)]);
    assert_eq!(json.status, 200);
    assert_eq!(json.header("content-disposition"), Some("attachment; filename=\"WEB-3001.json\""));
    assert_eq!(json.body, std::fs::read_to_string(&json_path).unwrap());
    let photo_link = format!("/d/WEB-3001/{}/photo.jpg", record.photo_sha256);
    assert!(page.body.contains(&photo_link), "{}", page.body);
    assert_eq!(http::get_bytes(addr, &photo_link), (200, std::fs::read(&photo_path).unwrap()));
    assert_eq!(get(addr, "/office/orders/STALL-7/proof.json", &[("Cookie", &cookie)]).status, 404);
    let taken = ship("STALL-7", "RG-2026-0024", "Lewes Market");
    assert_eq!(taken.status, 400, "a kiosk's own order number");
    assert!(taken.text().contains("STALL-7 is already an order the kiosk at Lewes Market made"), "{}", taken.text());
    let audit = get(addr, "/office/audit", &[("Cookie", &sign_in(addr, OWNER))]).text();
    assert_eq!(audit.matches("asked a stall to ship an order").count(), 1, "{audit}");
}

/// A waitlist is imported whole or not at all; kiosks pull its members with their drops, and
/// each member has a pass the Sell screen checks them in by.
fn a_waitlist_is_imported_whole_and_kiosks_pull_its_members(backend: Backend) {
    use marketday::store::Store;

    let server = with_catalog(&backend);
    let addr = server.addr;
    let cookie = sign_in(addr, STAFF);
    let page = get(addr, "/office/members", &[("Cookie", &cookie)]);
    assert_eq!(page.status, 200);
    assert!(page.text().contains("No member yet"), "{}", page.text());
    let csrf = csrf_of(&page);
    let import = |csv: &str| upload_to(addr, "/office/members/import", &cookie, &csrf, csv.as_bytes());
    let bad = import("name;email;waitlist\nAda Lin;ada@example.com;moonstone\nBo;bo at example;spinel\n");
    assert_eq!(bad.status, 422);
    let text = bad.text();
    assert!(text.contains("Nothing was imported: 1 row needs fixing"), "{text}");
    assert!(text.contains("Row 3 (bo at example)") && text.contains("There is no drop spinel"), "{text}");
    assert!(get(addr, "/office/members", &[("Cookie", &cookie)]).text().contains("No member yet"), "none kept");
    let good = import("\u{feff}name;email;waitlist\nAda Lin;ada@example.com;moonstone\nBo Wren;bo@example.com;\n");
    assert_eq!(good.status, 200, "{}", good.text());
    assert!(good.text().contains("Imported 2 members"), "{}", good.text());
    let found = get(addr, "/office/members?q=WREN", &[("Cookie", &cookie)]).text();
    assert!(found.contains("1 member") && found.contains("bo@example.com") && !found.contains("Ada Lin"), "{found}");

    // A kiosk pulls them: Ada may buy in the moonstone drop's members' hours, Bo in none.
    let token = server.device("K1", "Lewes Market");
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("K1.sqlite")).unwrap();
    let client = marketday::sync::Client::new(&server.url(), &token, std::time::Duration::from_secs(5)).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(marketday::sync::round(&mut store, &client, None)).unwrap();
    let db = server.state.db();
    let (members, _) = db.members(ATELIER, "ada@", 0, 5).unwrap();
    let ada = store.member(&members[0].id).unwrap().expect("the kiosk holds Ada");
    assert!(ada.on_waitlist_for("moonstone") && !ada.on_waitlist_for("rose-gold-clasp"), "{ada:?}");
    // Importing the list again names Ada the same: one member, not two.
    assert_eq!(import("name,email\nAda Lin,ADA@example.com\n").status, 200);
    assert_eq!(db.members(ATELIER, "", 0, 50).unwrap().1, 2);
    let pass = get(addr, &format!("/office/members/{}/pass", members[0].id), &[("Cookie", &cookie)]);
    assert_eq!(pass.status, 200);
    assert!(pass.body.contains("<svg") && pass.body.contains("Ada Lin"), "{}", pass.body);
    assert_eq!(get(addr, "/office/members/NOBODY/pass", &[("Cookie", &cookie)]).status, 404);
    let audit = get(addr, "/office/audit", &[("Cookie", &sign_in(addr, OWNER))]).text();
    assert_eq!(audit.matches("imported waitlist members").count(), 2, "{audit}");
}

/// A piece a stall holds for a customer stays there: not sent to another stall, not sold
/// online, until the hold ends on the kiosk. And each kiosk says its version and its clock.
fn a_piece_held_at_a_stall_stays_there_and_a_kiosk_says_its_version_and_clock(backend: Backend) {
    use marketday::domain::reservation::{Customer, Source};
    use marketday::domain::{ReservationCode, ReservationKind, Serial};
    use marketday::store::Store;

    let server = with_catalog(&backend);
    let addr = server.addr;
    let dir = tempfile::tempdir().unwrap();
    let token = server.device("K2", "Lewes Market");
    let mut k2 = Store::open(&dir.path().join("K2.sqlite")).unwrap();
    let c2 = marketday::sync::Client::new(&server.url(), &token, std::time::Duration::from_secs(5)).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let round = |store: &mut Store, client: &marketday::sync::Client| {
        rt.block_on(marketday::sync::round(store, client, None)).unwrap();
    };
    round(&mut k2, &c2);
    let cookie = sign_in(addr, STAFF);
    let owner = sign_in(addr, OWNER);
    server.device("K9", "Lewes Market");
    let now = chrono::Utc::now();
    let hold = marketday::store::NewReservation {
        id: uuid::Uuid::now_v7(),
        kind: ReservationKind::Hold,
        source: Source::Stall,
        serial: Serial::parse("RG-2026-0013").unwrap(),
        customer: Customer::new("Ana", "07700 900000").unwrap(),
        member_id: None,
        expires_at: now + chrono::Duration::hours(2),
    };
    let mut rng = rand::rng();
    k2.create_reservation(&hold, now, || ReservationCode::random(&mut rng), |_| None).unwrap();
    round(&mut k2, &c2);
    let csrf = csrf_of(&get(addr, "/office/stalls", &[("Cookie", &cookie)]));
    let send = |serials: &str| {
        let fields = [("csrf", csrf.as_str()), ("stall", "Spitalfields"), ("serials", serials), ("drop", "")];
        post(addr, "/office/stalls/send", &cookie, &fields)
    };
    let refused = send("RG-2026-0013 RG-2026-0014");
    assert_eq!(refused.status, 422);
    assert!(refused.text().contains("RG-2026-0013 is held for a customer at Lewes Market until"), "{}", refused.text());
    let online = post(
        addr,
        "/office/stalls/online",
        &cookie,
        &[("csrf", &csrf), ("order", "WEB-9"), ("serials", "RG-2026-0013")],
    );
    assert!(online.text().contains("RG-2026-0013 is held for a customer at Lewes Market"), "{}", online.text());
    k2.release_reservation(hold.id, "Customer changed mind", chrono::Utc::now()).unwrap();
    round(&mut k2, &c2);
    assert!(send("RG-2026-0013 RG-2026-0014").text().contains("Sent 2 pieces to Spitalfields"));

    // The real client's `User-Agent` and `Date`; a kiosk paired but never heard from says neither.
    let row = |page: &str, id: &str| page.split("<tr>").find(|r| r.contains(&format!(">{id}<"))).unwrap().to_owned();
    let kiosks = get(addr, "/office/kiosks", &[("Cookie", &owner)]).body;
    assert!(row(&kiosks, "K9").contains("data-label=\"Version\">not known yet<"), "{kiosks}");
    let k2_row = row(&kiosks, "K2");
    assert!(k2_row.contains(&format!("data-label=\"Version\">{}<", env!("CARGO_PKG_VERSION"))), "{k2_row}");
    assert!(k2_row.contains("data-label=\"Clock\">right<"), "{k2_row}");
}

/// An online reservation made on the Orders page holds its piece at the stall from then,
/// is kept by the stall's real kiosk at its next pull under the code the page gave, and the
/// page follows it: kept, let go at the stall, or cancelled here (the kiosk lets it go).
fn an_online_reservation_is_kept_at_its_stall_and_followed(backend: Backend) {
    use marketday::domain::ReservationCode;
    use marketday::store::Store;

    let server = with_catalog(&backend);
    let addr = server.addr;
    let dir = tempfile::tempdir().unwrap();
    let token = server.device("K1", "Lewes Market");
    let mut store = Store::open(&dir.path().join("K1.sqlite")).unwrap();
    let client = marketday::sync::Client::new(&server.url(), &token, std::time::Duration::from_secs(5)).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let round = |store: &mut Store| {
        rt.block_on(marketday::sync::round(store, &client, None)).unwrap();
    };
    let cookie = sign_in(addr, STAFF);
    let page = get(addr, "/office/orders", &[("Cookie", &cookie)]);
    assert!(page.text().contains("No online reservation yet"), "{}", page.text());
    let csrf = csrf_of(&page);
    let reserve = |serial: &str, member: &str| {
        let fields = [
            ("csrf", csrf.as_str()),
            ("serial", serial),
            ("name", "Ana Costa"),
            ("contact", "07700 900123"),
            ("member", member),
            ("stall", "Lewes Market"),
            ("days", "3"),
        ];
        post(addr, "/office/orders/reserve", &cookie, &fields)
    };
    let sold = reserve("RG-2026-0009", "");
    assert_eq!(sold.status, 422);
    assert!(sold.text().contains("Nothing was reserved: RG-2026-0009 is sold"), "{}", sold.text());
    assert_eq!(reserve("RG-2026-0024", "M-NOBODY").status, 400, "an unknown member");
    let blank = post(addr, "/office/orders/reserve", &cookie, &[("csrf", &csrf), ("serial", "rg 24")]);
    assert_eq!(blank.status, 422);
    for why in ["The customer's name", "A phone number or email", "Name the stall", "Choose how long"] {
        assert!(blank.text().contains(why), "{why}: {}", blank.text());
    }
    let done = reserve("rg-2026-0024", "");
    assert_eq!(done.status, 200, "{}", done.text());
    let text = done.text();
    assert!(text.contains("Reserved RG-2026-0024 for Ana Costa at Lewes Market until"), "{text}");
    let code = text.split("give them the code ").nth(1).unwrap()[..8].to_owned();
    assert!(done.body.contains(&format!("<span class=\"code big\">{code}</span>")), "{}", done.body);
    let code = ReservationCode::parse(&code).unwrap();
    assert!(text.contains("its kiosk keeps it at its next sync"), "{text}");
    // Held from now: not sent elsewhere.
    let moved = post(
        addr,
        "/office/stalls/send",
        &cookie,
        &[("csrf", &csrf), ("stall", "Spitalfields"), ("serials", "RG-2026-0024"), ("drop", "")],
    );
    assert!(moved.text().contains("RG-2026-0024 is held for a customer at Lewes Market"), "{}", moved.text());

    round(&mut store);
    let kept = store.reservation_by_code(&code).unwrap().expect("the kiosk keeps it under the page's code");
    assert_eq!((kept.serial.as_str(), kept.customer.name.as_str()), ("RG-2026-0024", "Ana Costa"));
    round(&mut store);
    let text = get(addr, "/office/orders", &[("Cookie", &cookie)]).text();
    assert!(text.contains("Kept at Lewes Market") && text.contains(&code.to_string()), "{text}");
    store.release_reservation(kept.id, "No show", chrono::Utc::now()).unwrap();
    round(&mut store);
    assert!(get(addr, "/office/orders", &[("Cookie", &cookie)]).text().contains("Let go at the stall"));

    // Cancelled here: the kiosk lets it go at its next pull.
    assert_eq!(reserve("RG-2026-0025", "").status, 200);
    round(&mut store);
    let (lines, _) = server.state.db().reservations(ATELIER, 0, 5).unwrap();
    let second = lines.iter().find(|l| l.serial == "RG-2026-0025").unwrap().clone();
    let cancel =
        |id: &str| post(addr, &format!("/office/orders/reservations/{id}/cancel"), &cookie, &[("csrf", &csrf)]);
    assert_eq!(cancel(&second.id).status, 303);
    assert_eq!(cancel(&second.id).status, 303, "a double click is no error");
    let first = lines.iter().find(|l| l.serial == "RG-2026-0024").unwrap();
    assert_eq!(cancel(&first.id).status, 400, "one let go at the stall cannot be cancelled");
    round(&mut store);
    let code = ReservationCode::parse(&second.code).unwrap();
    let mine = store.reservation_by_code(&code).unwrap().unwrap();
    assert!(matches!(mine.state, marketday::domain::ReservationState::Released { .. }), "{mine:?}");
    let text = get(addr, "/office/orders", &[("Cookie", &cookie)]).text();
    assert!(text.contains("Cancelled"), "{text}");
    let audit = get(addr, "/office/audit", &[("Cookie", &sign_in(addr, OWNER))]).text();
    assert_eq!(audit.matches("cancelled an online reservation").count(), 1, "{audit}");
    assert_eq!(audit.matches("reserved a piece online").count(), 2, "{audit}");
}

/// In Chromium: a real kiosk sync client asks for a pairing code, the owner types it on the
/// Kiosks page, and the kiosk's next poll gets its token; it pulls the catalog, its sale
/// shows in today's takings and their CSV, and once revoked from the page its next sync is
/// refused.
fn in_a_browser_a_kiosk_is_paired_by_code_sells_and_is_revoked(backend: Backend) {
    use fantoccini::Locator;
    use marketday::domain::{Cart, Currency, Money, Serial, Tender, VatRate};
    use marketday::store::Store;
    use marketday::sync::{Client, SyncError};

    let Some(driver) = browser::available() else { return };
    let server = with_catalog(&backend);
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("kiosk.sqlite")).unwrap();
    let timeout = std::time::Duration::from_secs(5);
    let unpaired = Client::new(&server.url(), "", timeout).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let started = unpaired.start_pairing().await.unwrap();
        let waiting = unpaired.poll_pairing(&started.secret).await.unwrap();
        assert!(matches!(waiting, wire::PairingState::Waiting { .. }), "{waiting:?}");

        let b = browser::Browser::phone(&driver, 1280, 800).await;
        b.client.goto(&format!("{}/office/sign-in", server.url())).await.unwrap();
        b.client.find(Locator::Id("email")).await.unwrap().send_keys(OWNER).await.unwrap();
        b.client.find(Locator::Id("password")).await.unwrap().send_keys(PASSWORD).await.unwrap();
        b.client.find(Locator::Css("button[type=submit]")).await.unwrap().click().await.unwrap();
        assert!(b.text_with("today").await.contains(&format!("{ATELIER} today")));
        b.client.find(Locator::LinkText("Kiosks")).await.unwrap().click().await.unwrap();
        // As the kiosk's screen shows it.
        let shown = format!("{}-{}", &started.code[..4], &started.code[4..]);
        b.client.find(Locator::Id("code")).await.unwrap().send_keys(&shown).await.unwrap();
        b.client.find(Locator::Id("stall")).await.unwrap().send_keys("Hove Lawns").await.unwrap();
        b.client.find(Locator::Id("device")).await.unwrap().send_keys("hove-1").await.unwrap();
        b.client.find(Locator::Css("form.card button[type=submit]")).await.unwrap().click().await.unwrap();
        let text = b.text_with("Paired: hove-1").await;
        assert!(text.contains("Paired: hove-1 at Hove Lawns"), "{text}");

        let paired = unpaired.poll_pairing(&started.secret).await.unwrap();
        let wire::PairingState::Paired { token, device, stall, .. } = paired else { panic!("{paired:?}") };
        assert_eq!((device.as_str(), stall.as_str()), ("hove-1", "Hove Lawns"));
        let kiosk = Client::new(&server.url(), &token, timeout).unwrap();
        marketday::sync::round(&mut store, &kiosk, None).await.unwrap();
        let serial = Serial::parse("RG-2026-0012").unwrap();
        let piece = store.piece(&serial).unwrap().expect("the catalog pulled");
        let now = chrono::Utc::now();
        let mut cart = Cart::new(Currency::GBP);
        cart.add(&piece, None, now).unwrap();
        let total = cart.totals(VatRate(2000)).unwrap().total;
        let cash = vec![Tender::Cash { tendered: Money::new(total.minor, Currency::GBP) }];
        let (sale, _) = cart.checkout(cash, VatRate(2000), now, uuid::Uuid::now_v7()).unwrap();
        store.commit_sale(&sale, "hove-1").unwrap();
        marketday::sync::round(&mut store, &kiosk, None).await.unwrap();

        b.client.find(Locator::LinkText("Takings")).await.unwrap().click().await.unwrap();
        let text = b.text_with("Hove Lawns").await;
        assert!(text.contains("Hove Lawns") && text.contains(&total.to_string()), "{text}");
        let cookie = sign_in(server.addr, OWNER);
        let csv = get(server.addr, "/office/takings.csv", &[("Cookie", &cookie)]).body;
        let row = csv.lines().find(|l| l.contains("hove-1")).unwrap_or_else(|| panic!("{csv}"));
        assert!(
            row.contains("Hove Lawns") && row.contains(&format!("{}.{:02}", total.minor / 100, total.minor % 100)),
            "{row}"
        );

        b.client.find(Locator::LinkText("Kiosks")).await.unwrap().click().await.unwrap();
        b.client.find(Locator::Css("button[aria-label='Revoke hove-1']")).await.unwrap().click().await.unwrap();
        assert!(b.text_with("Revoked").await.contains("Revoked"));
        let refused = marketday::sync::round(&mut store, &kiosk, None).await;
        assert!(matches!(refused, Err(SyncError::Unauthorized)), "{refused:?}");
        b.client.clone().close().await.unwrap();
    });
}

/// Both kiosks of a stall keep an online reservation; the first to end it says how it ended,
/// and the other's later word (its expiry) neither changes that nor holds the piece again.
fn an_online_reservation_ends_once_whatever_a_second_kiosk_says(backend: Backend) {
    use marketday::domain::ReservationCode;
    use marketday::store::Store;

    let server = with_catalog(&backend);
    let addr = server.addr;
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let kiosk = |device: &str| {
        let token = server.device(device, "Lewes Market");
        let store = Store::open(&dir.path().join(format!("{device}.sqlite"))).unwrap();
        let client = marketday::sync::Client::new(&server.url(), &token, std::time::Duration::from_secs(5)).unwrap();
        (store, client)
    };
    let round = |store: &mut Store, client: &marketday::sync::Client| {
        rt.block_on(marketday::sync::round(store, client, None)).unwrap();
    };
    let (mut k1, c1) = kiosk("K1");
    let (mut k2, c2) = kiosk("K2");
    let cookie = sign_in(addr, STAFF);
    let csrf = csrf_of(&get(addr, "/office/orders", &[("Cookie", &cookie)]));
    let fields = [
        ("csrf", csrf.as_str()),
        ("serial", "RG-2026-0026"),
        ("name", "Ana Costa"),
        ("contact", "07700 900123"),
        ("member", ""),
        ("stall", "Lewes Market"),
        ("days", "3"),
    ];
    assert_eq!(post(addr, "/office/orders/reserve", &cookie, &fields).status, 200);
    // A round pushes, then pulls: the second sends what the first kept.
    for _ in 0..2 {
        round(&mut k1, &c1);
        round(&mut k2, &c2);
    }
    let (lines, _) = server.state.db().reservations(ATELIER, 0, 5).unwrap();
    let code = ReservationCode::parse(&lines[0].code).unwrap();
    assert_eq!(lines[0].state, "kept");
    let id = k1.reservation_by_code(&code).unwrap().unwrap().id;
    k1.release_reservation(id, "No show", chrono::Utc::now()).unwrap();
    round(&mut k1, &c1);
    let later = chrono::Utc::now() + chrono::Duration::days(4);
    assert_eq!(k2.expire_reservations(later).unwrap(), std::slice::from_ref(&code), "K2 still held it");
    round(&mut k2, &c2);
    let (lines, _) = server.state.db().reservations(ATELIER, 0, 5).unwrap();
    assert_eq!(lines[0].state, "released", "{lines:?}");
    let send = [("csrf", csrf.as_str()), ("stall", "Spitalfields"), ("serials", "RG-2026-0026"), ("drop", "")];
    let sent = post(addr, "/office/stalls/send", &cookie, &send);
    assert!(sent.text().contains("Sent 1 piece to Spitalfields"), "{}", sent.text());
}

/// A JPEG from a phone: a picture lying on its side (EXIF orientation 6) with a maker's note
/// naming where it was taken and by which phone.
fn phone_photo() -> Vec<u8> {
    let picture = image::RgbImage::from_fn(1200, 900, |x, y| image::Rgb([(x / 5) as u8, (y / 4) as u8, 120]));
    let mut plain = Vec::new();
    image::DynamicImage::ImageRgb8(picture)
        .write_with_encoder(image::codecs::jpeg::JpegEncoder::new_with_quality(&mut plain, 90))
        .unwrap();
    let note = b"GPS 50.8225N 0.1372W phone SN-99812\0";
    let mut tiff = b"II*\0".to_vec();
    tiff.extend_from_slice(&8u32.to_le_bytes());
    tiff.extend_from_slice(&2u16.to_le_bytes());
    for (tag, kind, count, value) in [(0x0112u16, 3u16, 1u32, 6u32), (0x010E, 2, note.len() as u32, 8 + 2 + 24 + 4)] {
        tiff.extend_from_slice(&tag.to_le_bytes());
        tiff.extend_from_slice(&kind.to_le_bytes());
        tiff.extend_from_slice(&count.to_le_bytes());
        tiff.extend_from_slice(&value.to_le_bytes());
    }
    tiff.extend_from_slice(&0u32.to_le_bytes());
    tiff.extend_from_slice(note);
    let mut out = plain[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&((tiff.len() + 8) as u16).to_be_bytes());
    out.extend_from_slice(b"Exif\0\0");
    out.extend_from_slice(&tiff);
    out.extend_from_slice(&plain[2..]);
    out
}

fn upload_photo(addr: SocketAddr, serial: &str, cookie: &str, csrf: &str, photo: &[u8], remove: bool) -> Page {
    let boundary = "marketday-test-boundary-7f3a";
    let mut body =
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n").into_bytes();
    if remove {
        body.extend(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"remove\"\r\n\r\n1\r\n").bytes());
    }
    body.extend(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"IMG_2041.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n"
        )
        .bytes(),
    );
    body.extend_from_slice(photo);
    body.extend(format!("\r\n--{boundary}--\r\n").bytes());
    let kind = format!("multipart/form-data; boundary={boundary}");
    let path = format!("/office/pieces/{serial}/photo");
    send(addr, "POST", &path, &[("Cookie", cookie), ("Content-Type", &kind)], &body)
}

/// A photo uploaded here is kept upright, smaller and without its metadata; a kiosk pulls
/// the piece naming it, fetches it (going on from where a cut-off download stopped) and
/// keeps only bytes that hash to its name; a photo taken away goes from the kiosk's tile.
fn a_piece_photo_is_uploaded_here_and_kiosks_fetch_it_resumably(backend: Backend) {
    use marketday::piece_photos::{PiecePhotos, dir_for};
    use marketday::store::Store;

    let server = with_catalog(&backend);
    let addr = server.addr;
    let cookie = sign_in(addr, STAFF);
    let page = get(addr, "/office/pieces/RG-2026-0001", &[("Cookie", &cookie)]);
    assert!(page.text().contains("No photo yet"), "{}", page.text());
    let csrf = csrf_of(&page);
    // What is not a photo is said so, and nothing changes.
    let refused = upload_photo(addr, "RG-2026-0001", &cookie, &csrf, b"serial,title\n", false);
    assert_eq!(refused.status, 422);
    assert!(
        refused.text().contains("The photo was not changed. This is not a JPEG or PNG picture"),
        "{}",
        refused.text()
    );
    assert_eq!(upload_photo(addr, "RG-2026-0001", &cookie, "stale", &phone_photo(), false).status, 403);
    assert!(server.state.db().catalog_entry(ATELIER, "RG-2026-0001").unwrap().unwrap().photo.is_none());

    let sent = upload_photo(addr, "RG-2026-0001", &cookie, &csrf, &phone_photo(), false);
    assert_eq!((sent.status, sent.header("location")), (303, Some("/office/pieces/RG-2026-0001?saved=photo")));
    let sha = server.state.db().catalog_entry(ATELIER, "RG-2026-0001").unwrap().unwrap().photo.expect("published");
    let page = get(addr, "/office/pieces/RG-2026-0001", &[("Cookie", &cookie)]);
    assert!(page.body.contains(&format!("src=\"/office/piece-photos/{sha}.jpg\"")), "{}", page.body);
    let shown = get(addr, &format!("/office/piece-photos/{sha}.jpg"), &[("Cookie", &cookie)]);
    assert_eq!((shown.status, shown.header("content-type")), (200, Some("image/jpeg")));
    assert!(!shown.body.contains("SN-99812") && !shown.body.contains("Exif"), "the phone's metadata is gone");
    assert_eq!(get(addr, &format!("/office/piece-photos/{sha}.jpg"), &[]).status, 303, "signed in only");

    // A kiosk pulls the piece naming the photo, and fetches it.
    let token = server.device("K1", "Lewes Market");
    let dir = tempfile::tempdir().unwrap();
    let store_path = dir.path().join("K1.sqlite");
    let mut store = Store::open(&store_path).unwrap();
    let client = marketday::sync::Client::new(&server.url(), &token, std::time::Duration::from_secs(5)).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(marketday::sync::round(&mut store, &client, None)).unwrap();
    let serial = marketday::domain::Serial::parse("RG-2026-0001").unwrap();
    assert_eq!(store.piece_photo(&serial).unwrap().as_deref(), Some(sha.as_str()));
    let photos = PiecePhotos::open(&dir_for(&store_path)).unwrap();
    let fetch = || rt.block_on(marketday::sync::fetch_piece_photos(&store, &client, &photos)).unwrap();

    // A download cut off earlier left bytes that are not the photo's start: the kiosk goes
    // on after them (it does not fetch them again), so the whole does not hash to the name
    // and is thrown away; the next round fetches it afresh.
    let mut cut = photos.writer(&sha, 0).unwrap();
    cut.append(&[0u8; 1_000]).unwrap();
    drop(cut);
    assert_eq!(fetch(), 0);
    assert!(!photos.has(&sha) && photos.fetched(&sha).unwrap() == 0, "a mismatch is not kept");
    // Left longer than the photo: the cloud has nothing from there, and the kiosk starts again.
    let mut long = photos.writer(&sha, 0).unwrap();
    long.append(&vec![0u8; 300_000]).unwrap();
    drop(long);
    assert_eq!(fetch(), 0);
    assert_eq!(fetch(), 1);
    let kept = photos.read_verified(&sha).expect("kept whole, under its hash");
    let picture = image::load_from_memory(&kept).unwrap();
    assert_eq!((picture.width(), picture.height()), (600, 800), "upright, 800 on its longer side");
    assert_eq!(fetch(), 0, "nothing to fetch twice");

    // Another atelier's kiosk cannot read it; a hash that is not one is refused in JSON.
    let stranger = server.state.db().add_device("X1", "Atelier Other", "Elsewhere").unwrap();
    let auth = format!("Bearer {stranger}");
    let other = get(addr, &format!("{}/{sha}", wire::PIECE_PHOTOS), &[("Authorization", &auth)]);
    assert_eq!(other.status, 404, "{}", other.body);
    let auth = format!("Bearer {token}");
    let bad = get(addr, &format!("{}/..%2Fcloud.sqlite", wire::PIECE_PHOTOS), &[("Authorization", &auth)]);
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert!(bad.body.contains("\"error\":\"bad_request\""), "{}", bad.body);
    let ranged =
        get(addr, &format!("{}/{sha}", wire::PIECE_PHOTOS), &[("Authorization", &auth), ("Range", "bytes=100-")]);
    assert_eq!(ranged.status, 206);
    assert_eq!(ranged.header("content-range"), Some(format!("bytes 100-{}/{}", kept.len() - 1, kept.len()).as_str()));

    // Taken away: the kiosk's piece no longer names a photo.
    let page = get(addr, "/office/pieces/RG-2026-0001", &[("Cookie", &cookie)]);
    let removed = upload_photo(addr, "RG-2026-0001", &cookie, &csrf_of(&page), b"", true);
    assert_eq!(removed.status, 303, "{}", removed.text());
    rt.block_on(marketday::sync::round(&mut store, &client, None)).unwrap();
    assert_eq!(store.piece_photo(&serial).unwrap(), None);
    let audit = get(addr, "/office/audit", &[("Cookie", &sign_in(addr, OWNER))]).text();
    assert!(
        audit.contains("changed a piece's photo: RG-2026-0001") && audit.contains("took a piece's photo away"),
        "{audit}"
    );
}

on_both_stores!(
    a_piece_photo_is_uploaded_here_and_kiosks_fetch_it_resumably,
    an_online_reservation_ends_once_whatever_a_second_kiosk_says,
    in_a_browser_a_kiosk_is_paired_by_code_sells_and_is_revoked,
    an_online_reservation_is_kept_at_its_stall_and_followed,
    a_piece_held_at_a_stall_stays_there_and_a_kiosk_says_its_version_and_clock,
    a_waitlist_is_imported_whole_and_kiosks_pull_its_members,
    an_order_shipped_from_a_stall_comes_back_with_its_checked_proof,
    a_refused_sale_is_explained_and_dealt_with_here_or_on_the_kiosk,
    the_sales_list_finds_a_receipt_or_a_serial_and_says_what_was_taken_back,
    an_online_sale_is_recorded_once_and_kiosks_learn_the_pieces_are_sold,
    a_day_s_takings_are_each_kiosk_s_z_report,
    an_atelier_s_days_and_times_are_in_its_own_time_zone,
    a_piece_changed_meanwhile_is_never_undone,
    a_drop_is_added_with_its_phases_and_kiosks_pull_it,
    pieces_go_to_a_stall_all_of_them_or_none,
    an_owner_makes_a_key_here_signs_pieces_and_kiosks_pull_both,
    a_rotated_key_s_certificates_stay_genuine_and_a_withdrawn_key_s_are_signed_again,
    a_piece_is_added_and_corrected_and_kiosks_pull_it,
    a_certified_piece_keeps_what_its_certificate_signs,
    a_spreadsheet_is_imported_whole_or_not_at_all,
    a_kiosk_pairs_by_code_once_and_a_revoked_one_is_refused,
    the_pieces_list_finds_filters_and_pages,
    signing_in_opens_the_office_with_a_strict_http_only_cookie,
    a_form_without_its_token_changes_nothing,
    wrong_passwords_lock_the_account_for_a_while_and_nobody_else,
    staff_cannot_manage_people_or_read_the_audit,
    an_owner_adds_and_removes_people_and_the_audit_says_who,
    signing_out_everywhere_ends_every_session,
    ateliers_and_kiosks_are_kept_apart,
    whatever_is_sent_gets_a_page,
);

/// The QR codes in a screenshot, as the kiosk's decoder reads them.
fn scanned(png: &[u8]) -> Vec<String> {
    let mut reader = png::Decoder::new(std::io::Cursor::new(png)).read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut pixels).unwrap();
    let channels = info.color_type.samples();
    let (w, h) = (info.width as usize, info.height as usize);
    let mut image = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| pixels[(y * w + x) * channels]);
    image.detect_grids().into_iter().filter_map(|g| g.decode().ok().map(|(_, text)| text)).collect()
}

/// Signing in by typing, in headless Chromium, on a laptop's screen and a phone's; a PNG of
/// every page (`MARKETDAY_PAGE_SCREENSHOTS=docs/screenshots` writes the README's).
#[test]
fn in_a_browser_an_owner_signs_in_and_every_page_fits() {
    use fantoccini::Locator;
    let Some(driver) = browser::available() else { return };
    let server = with_catalog(&Backend::Sqlite);
    server.device("kiosk-1", "Brighton Open Market");
    let kiosks = tempfile::tempdir().unwrap();
    a_stall_s_day(&server, "brighton-2", "Brighton Open Market", kiosks.path());
    a_stall_s_day(&server, "lewes-1", "Lewes Market", kiosks.path());
    let waitlist = |name: &str, email: &str| wire::MemberChange {
        id: format!("M-{}", name.split(' ').next().unwrap().to_uppercase()),
        name: name.into(),
        email: email.into(),
        waitlist: vec!["moonstone".into()],
    };
    let members = [waitlist("Ada Lin", "ada@example.com"), waitlist("Bo Wren", "bo@example.com")];
    server.state.db().import_members(ATELIER, &members, OWNER, 1).unwrap();
    let ada = members[0].id.clone();
    let photo_dir = tempfile::tempdir().unwrap();
    let photo_file = photo_dir.path().join("IMG_2041.jpg");
    std::fs::write(&photo_file, phone_photo()).unwrap();
    let keep = std::env::var_os("MARKETDAY_PAGE_SCREENSHOTS").map(std::path::PathBuf::from);
    let scratch = tempfile::tempdir().unwrap();
    let dir = keep.unwrap_or_else(|| scratch.path().to_owned());
    std::fs::create_dir_all(&dir).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        for (screen, width, height) in [("laptop", 1280, 800), ("phone", 390, 844)] {
            let b = browser::Browser::phone(&driver, width, height).await;
            let shoot = |name: &str, png: Vec<u8>| {
                let info = png::Decoder::new(std::io::Cursor::new(&png)).read_info().unwrap().info().clone();
                assert_eq!((info.width, info.height), (width, height), "{name}");
                std::fs::write(dir.join(format!("office-{screen}-{name}.png")), png).unwrap();
            };
            let fits = async |name: &str| {
                let wide = b.client.execute("return document.documentElement.scrollWidth", vec![]).await.unwrap();
                assert!(wide.as_u64().is_some_and(|w| w <= u64::from(width)), "{screen} {name}: {wide}");
            };
            b.client.goto(&format!("{}/office", server.url())).await.unwrap();
            assert!(b.client.current_url().await.unwrap().path().ends_with("/office/sign-in"));
            b.client.find(Locator::Id("email")).await.unwrap().send_keys(OWNER).await.unwrap();
            b.client.find(Locator::Id("password")).await.unwrap().send_keys("not the password").await.unwrap();
            b.client.find(Locator::Css("button[type=submit]")).await.unwrap().click().await.unwrap();
            assert!(b.text_with("do not match an account").await.contains("do not match an account"));
            fits("sign-in-refused").await;
            shoot("01-sign-in-refused", b.screenshot().await);
            b.client.find(Locator::Id("password")).await.unwrap().send_keys(PASSWORD).await.unwrap();
            b.client.find(Locator::Css("button[type=submit]")).await.unwrap().click().await.unwrap();
            let text = b.text_with("today").await;
            assert!(text.contains(&format!("{ATELIER} today")) && text.contains("kiosks"), "{text}");
            fits("home").await;
            shoot("02-home", b.screenshot().await);
            // The atelier's zone, typed with the browser's suggestions (London keeps UTC's
            // days in December, so the pages after read as before).
            b.client.find(Locator::LinkText("Change the time zone")).await.unwrap().click().await.unwrap();
            let zone = b.client.find(Locator::Id("time_zone")).await.unwrap();
            zone.clear().await.unwrap();
            zone.send_keys("Europe/London").await.unwrap();
            fits("time-zone").await;
            shoot("22-time-zone", b.screenshot().await);
            b.client.find(Locator::Css("form.card button[type=submit]")).await.unwrap().click().await.unwrap();
            let text = b.text_with("Days and times here").await;
            assert!(text.contains("Days and times here are in Europe/London"), "{text}");
            b.client.find(Locator::LinkText("Takings")).await.unwrap().click().await.unwrap();
            let text = b.text_with("All stalls").await;
            assert!(text.contains("Lewes Market") && text.contains("Takings: Today"), "{text}");
            fits("takings").await;
            shoot("15-takings", b.screenshot().await);
            b.client.find(Locator::LinkText("Sales")).await.unwrap().click().await.unwrap();
            let text = b.text_with("newest first").await;
            assert!(text.contains("Showing 1–12 of 12") && text.contains("Voided"), "{text}");
            fits("sales").await;
            shoot("16-sales", b.screenshot().await);
            // Both stalls' kiosks sold the demo's pieces: Lewes's sales of them were refused.
            b.client.find(Locator::LinkText("Conflicts")).await.unwrap().click().await.unwrap();
            let text = b.text_with("To deal with").await;
            assert!(text.contains("A sale at Lewes Market was refused"), "{text}");
            fits("conflicts").await;
            shoot("17-conflicts", b.screenshot().await);
            b.client.find(Locator::LinkText("Orders")).await.unwrap().click().await.unwrap();
            b.client.find(Locator::Id("order")).await.unwrap().send_keys("web-3001").await.unwrap();
            b.client.find(Locator::Id("buyer")).await.unwrap().send_keys("Ada Lovelace").await.unwrap();
            b.client.find(Locator::Id("serials")).await.unwrap().send_keys("RG-2026-0030").await.unwrap();
            b.client.find(Locator::Id("stall")).await.unwrap().send_keys("Lewes Market").await.unwrap();
            b.client.find(Locator::Css("form.card button[type=submit]")).await.unwrap().click().await.unwrap();
            let text = b.text_with("on its way").await;
            assert!(text.contains("Order WEB-3001 (1 piece) is on its way to Lewes Market"), "{text}");
            let reserved = if width > 400 { "RG-2026-0031" } else { "RG-2026-0032" };
            b.client.find(Locator::Id("r_serial")).await.unwrap().send_keys(reserved).await.unwrap();
            b.client.find(Locator::Id("r_name")).await.unwrap().send_keys("Ana Costa").await.unwrap();
            b.client.find(Locator::Id("r_contact")).await.unwrap().send_keys("ana@example.com").await.unwrap();
            b.client.find(Locator::Id("r_stall")).await.unwrap().send_keys("Lewes Market").await.unwrap();
            let reserve = "form[action='/office/orders/reserve'] button";
            b.client.find(Locator::Css(reserve)).await.unwrap().click().await.unwrap();
            let text = b.text_with("give them the code").await;
            assert!(text.contains(&format!("Reserved {reserved} for Ana Costa at Lewes Market")), "{text}");
            fits("orders").await;
            shoot("18-orders", b.screenshot().await);
            b.client.find(Locator::LinkText("Members")).await.unwrap().click().await.unwrap();
            assert!(b.text_with("2 members").await.contains("Ada Lin"));
            fits("members").await;
            shoot("19-members", b.screenshot().await);
            // The pass as the browser draws it scans back to what the kiosk checks in by.
            b.client.find(Locator::LinkText("Pass")).await.unwrap().click().await.unwrap();
            assert!(b.text_with("Waitlist member's pass").await.contains("Ada Lin"));
            fits("pass").await;
            let png = b.screenshot().await;
            assert_eq!(scanned(&png), [format!("MEMBER:{ada}")], "{screen}");
            shoot("20-pass", png);
            b.client.find(Locator::LinkText("← Members")).await.unwrap().click().await.unwrap();
            b.client.find(Locator::LinkText("People")).await.unwrap().click().await.unwrap();
            b.client.find(Locator::Id("name")).await.unwrap().send_keys("Ada Lin").await.unwrap();
            b.client.find(Locator::Id("email")).await.unwrap().send_keys("ada at the atelier").await.unwrap();
            b.client.find(Locator::Css("form.card button[type=submit]")).await.unwrap().click().await.unwrap();
            // The browser's own check stops an address without '@' before it is sent.
            let invalid = b.client.execute("return document.querySelector('#email:invalid') !== null", vec![]).await;
            assert_eq!(invalid.unwrap().as_bool(), Some(true));
            let email = b.client.find(Locator::Id("email")).await.unwrap();
            email.clear().await.unwrap();
            email.send_keys(&format!("ada{width}@atelier-rose.example")).await.unwrap();
            b.client.find(Locator::Css("form.card button[type=submit]")).await.unwrap().click().await.unwrap();
            let text = b.text_with("Nobody was added").await;
            assert!(text.contains("needs at least 10 characters") && text.contains("Nobody was added"), "{text}");
            fits("people-refused").await;
            shoot("03-people-refused", b.screenshot().await);
            b.client.find(Locator::Id("password")).await.unwrap().send_keys(PASSWORD).await.unwrap();
            b.client.find(Locator::Css("form.card button[type=submit]")).await.unwrap().click().await.unwrap();
            assert!(b.text_with("can now sign in").await.contains("Ada Lin can now sign in"));
            fits("people").await;
            shoot("04-people", b.screenshot().await);
            b.client.find(Locator::LinkText("Pieces")).await.unwrap().click().await.unwrap();
            b.client.find(Locator::Id("q")).await.unwrap().send_keys("rg-2026-000").await.unwrap();
            b.client.find(Locator::Css("form.filters button")).await.unwrap().click().await.unwrap();
            let text = b.text_with("of 9").await;
            assert!(text.contains("Showing 1–9 of 9") && text.contains("Reported lost"), "{text}");
            fits("pieces").await;
            shoot("05-pieces", b.screenshot().await);
            // A piece typed in with mistakes, then a spreadsheet with some.
            b.client.find(Locator::LinkText("Add a piece")).await.unwrap().click().await.unwrap();
            b.client.find(Locator::Id("serial")).await.unwrap().send_keys("MS-2026-0100").await.unwrap();
            b.client.find(Locator::Id("edition_number")).await.unwrap().send_keys("13").await.unwrap();
            b.client.find(Locator::Id("edition_size")).await.unwrap().send_keys("12").await.unwrap();
            b.client.find(Locator::Id("price")).await.unwrap().send_keys("12,50").await.unwrap();
            b.client.find(Locator::Css("form.card button[type=submit]")).await.unwrap().click().await.unwrap();
            let text = b.text_with("Nothing was saved").await;
            assert!(text.contains("Give the piece a title"), "{text}");
            fits("piece-refused").await;
            shoot("06-piece-refused", b.screenshot().await);
            // A phone's photo chosen and uploaded: shown upright on the piece's page.
            b.client.goto(&format!("{}/office/pieces/RG-2026-0002", server.url())).await.unwrap();
            b.client.find(Locator::Id("photo")).await.unwrap().send_keys(&photo_file.to_string_lossy()).await.unwrap();
            b.client.find(Locator::Css("form.photo button[type=submit]")).await.unwrap().click().await.unwrap();
            assert!(b.text_with("Saved.").await.contains("Saved."));
            let drawn = "let i = document.querySelector('form.photo img'); return i && i.complete ? [i.naturalWidth, i.naturalHeight] : null";
            let size = b.client.execute(drawn, vec![]).await.unwrap();
            assert_eq!(size, serde_json::json!([600, 800]), "the photo is drawn, upright");
            fits("piece-photo").await;
            b.client.execute("document.querySelector('form.photo').scrollIntoView()", vec![]).await.unwrap();
            shoot("21-piece-photo", b.screenshot().await);
            b.client.find(Locator::LinkText("← Pieces")).await.unwrap().click().await.unwrap();
            b.client.find(Locator::LinkText("Import from a spreadsheet")).await.unwrap().click().await.unwrap();
            let csv = dir.join(format!("import-{width}.csv"));
            std::fs::write(
                &csv,
                "serial,title,edition_number,edition_size,price,drop_id\n\
                 SP-2026-0001,Spinel ring,1,8,450.00,\n\
                 SP-2026-0002,Spinel ring,9,8,450.00,\n\
                 SP-2026-0003,,3,8,4x0,moonstone\n\
                 SP-2026-0004,Spinel ring,4,8,450.00,spinel\n",
            )
            .unwrap();
            let chooser = b.client.find(Locator::Id("file")).await.unwrap();
            chooser.send_keys(csv.to_str().unwrap()).await.unwrap();
            b.client.find(Locator::Css("form.card button[type=submit]")).await.unwrap().click().await.unwrap();
            let text = b.text_with("rows need fixing").await;
            assert!(text.contains("Row 5 (SP-2026-0004)"), "{text}");
            std::fs::remove_file(&csv).unwrap();
            fits("import-refused").await;
            shoot("07-import-refused", b.screenshot().await);
            // A kiosk shows its code; the owner types it as read off the screen.
            let (_, started) = start_pairing(server.addr);
            let code = started["code"].as_str().unwrap().to_lowercase();
            b.client.find(Locator::LinkText("Kiosks")).await.unwrap().click().await.unwrap();
            b.client.find(Locator::Id("code")).await.unwrap().send_keys(&code).await.unwrap();
            b.client.find(Locator::Id("stall")).await.unwrap().send_keys("Brighton Open Market").await.unwrap();
            b.client.find(Locator::Id("device")).await.unwrap().send_keys(&format!("brighton-{width}")).await.unwrap();
            b.client.find(Locator::Css("form.card button[type=submit]")).await.unwrap().click().await.unwrap();
            let text = b.text_with("Paired:").await;
            assert!(text.contains(&format!("Paired: brighton-{width} at Brighton Open Market")), "{text}");
            fits("kiosks").await;
            shoot("08-kiosks", b.screenshot().await);
            b.client.find(Locator::LinkText("Audit")).await.unwrap().click().await.unwrap();
            assert!(b.text_with("added an account").await.contains("added an account"));
            fits("audit").await;
            shoot("09-audit", b.screenshot().await);
            // A key made (on the phone: a rotation), a drop signed, the withdraw form opened.
            let (made, drop, signed) = if width == 1280 {
                ("is made and kept", "moonstone", "Signed 10 certificates")
            } else {
                ("now signs", "rose-gold-clasp", "Signed 50 certificates")
            };
            b.client.find(Locator::LinkText("Certificates")).await.unwrap().click().await.unwrap();
            let key_button = "form[action='/office/certificates/key'] button";
            b.client.find(Locator::Css(key_button)).await.unwrap().click().await.unwrap();
            assert!(b.text_with(made).await.contains(made));
            let choice = b.client.find(Locator::Id("drop")).await.unwrap();
            choice.select_by_value(drop).await.unwrap();
            let sign_button = "form[action='/office/certificates/sign'] button";
            b.client.find(Locator::Css(sign_button)).await.unwrap().click().await.unwrap();
            assert!(b.text_with(signed).await.contains(signed));
            fits("certificates").await;
            shoot("10-certificates", b.screenshot().await);
            b.client.find(Locator::Css("td.act summary")).await.unwrap().click().await.unwrap();
            let open = "document.querySelector('td.act details').scrollIntoView({block: 'center'})";
            b.client.execute(open, vec![]).await.unwrap();
            fits("withdraw").await;
            shoot("11-withdraw", b.screenshot().await);
            b.client.find(Locator::LinkText("Stalls")).await.unwrap().click().await.unwrap();
            b.client.find(Locator::Id("stall")).await.unwrap().send_keys("Lewes Market").await.unwrap();
            b.client.find(Locator::Id("serials")).await.unwrap().send_keys("rg-2026-0010..0012").await.unwrap();
            b.client.find(Locator::Css("form.card button[type=submit]")).await.unwrap().click().await.unwrap();
            let text = b.text_with("Sent 3 pieces").await;
            assert!(text.contains("Sent 3 pieces to Lewes Market"), "{text}");
            fits("stalls").await;
            shoot("12-stalls", b.screenshot().await);
            b.client.find(Locator::LinkText("Drops")).await.unwrap().click().await.unwrap();
            assert!(b.text_with("Moonstone").await.contains("Rose gold clasp"));
            fits("drops").await;
            shoot("13-drops", b.screenshot().await);
            b.client.find(Locator::LinkText("Add a drop")).await.unwrap().click().await.unwrap();
            b.client.find(Locator::Id("id")).await.unwrap().send_keys("Spinel Ring").await.unwrap();
            b.client.find(Locator::Css("form.card button[type=submit]")).await.unwrap().click().await.unwrap();
            let text = b.text_with("Nothing was saved").await;
            assert!(text.contains("Give a date and time"), "{text}");
            fits("drop-refused").await;
            shoot("14-drop-refused", b.screenshot().await);
            b.client.find(Locator::Css("header form button")).await.unwrap().click().await.unwrap();
            assert!(b.text_with("Sign in to your atelier").await.contains("Sign in to your atelier"));
            assert!(b.client.current_url().await.unwrap().path().ends_with("/office/sign-in"));
            b.client.clone().close().await.unwrap();
        }
    });
}
