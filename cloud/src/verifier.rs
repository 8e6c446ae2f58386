//! The static certificate verifier: a folder of HTML, one script of ours and the atelier's
//! keyring, which checks a certificate in the browser (WebCrypto's Ed25519) by the rules and
//! in the words of `marketday-provenance`. Exported by `export-verifier` for any static host
//! or a `file://` copy, so a tag can still be checked when this server is gone; served at
//! `/verify` too.

use std::path::Path;

use askama::Template;
use marketday_i18n::{Language, msg, tr};
use serde::Serialize;

use crate::db::key_id_of;
use crate::wire::KeyChange;

/// The verifier's own code (`cloud/verifier/verify.js`): the same rules as
/// `marketday_provenance::{read, verify}`, line for line.
pub const SCRIPT: &str = include_str!("../verifier/verify.js");

/// Every message the script shows, so each language's words go with it.
const WORDS: &[&str] = &[
    msg!("Is it genuine?"),
    msg!("Check"),
    msg!("Paste the link or the code"),
    msg!("The piece"),
    msg!("Edition"),
    msg!("Serial"),
    msg!("Atelier"),
    msg!("Certificate issued"),
    msg!("Assay report SHA-256"),
    msg!(
        "To check an assay report against this, compute the SHA-256 of the report's file (on a computer: sha256sum report.pdf) and compare: every character must match."
    ),
    msg!("Checked in this browser with the keys the atelier published; nothing is sent anywhere."),
    msg!("Genuine"),
    msg!("Not genuine"),
    msg!("Unknown signer"),
    msg!("Withdrawn key"),
    msg!("Not a certificate"),
    msg!("Tag unreadable"),
    msg!("Cannot check now"),
    msg!("This browser cannot check Ed25519 signatures. Open this page in a current browser."),
    msg!("Signed by {atelier}. The certificate has not been altered."),
    msg!("This certificate claims to come from {atelier}, but its signature does not match. Do not rely on it."),
    msg!("Signed with key {key}, which this stall does not know. It may be genuine elsewhere; ask the atelier."),
    msg!("Dated {day}, when the atelier was not using this key. Ask the atelier."),
    msg!("{atelier} withdrew this signing key on {day} ({reason}). Ask staff to check the piece."),
    msg!("This QR code is not a Marketday certificate. Hold the piece's own tag to the camera."),
    msg!("The tag could not be read: {why}. Try again, or ask staff."),
    msg!("The tag claims: {edition}"),
    msg!("Unconfirmed: {facts}"),
    msg!("Serial {serial}."),
    msg!("Issued {day}."),
    msg!("{number} of {size}"),
    msg!("the code is cut short"),
    msg!("the certificate is in a newer format than this kiosk reads: update the kiosk"),
    msg!("the certificate has fields this kiosk does not know"),
    msg!("the certificate's drop is unreadable"),
    msg!("the certificate's serial is unreadable"),
    msg!("the code has extra data after the signature"),
    msg!("the certificate's edition is impossible"),
    msg!("the code is far too long to be a certificate"),
    msg!("the code's text is garbled"),
];

#[derive(Serialize)]
struct Key<'a> {
    atelier: &'a str,
    key_id: String,
    public_key: String,
    valid_from: &'a str,
    valid_until: Option<&'a str>,
    revoked_on: Option<&'a str>,
    revoked_reason: Option<&'a str>,
}

/// `keyring.js`: the keys (with their revocations) and every language's words, as a script
/// (a `file://` page may load scripts but not fetch JSON).
pub fn keyring_script(keys: &[(String, KeyChange)]) -> String {
    let keys: Vec<Key> = keys
        .iter()
        .filter_map(|(atelier, k)| {
            Some(Key {
                atelier,
                key_id: key_id_of(&k.public_key)?,
                public_key: k.public_key.trim().to_ascii_lowercase(),
                valid_from: &k.valid_from,
                valid_until: k.valid_until.as_deref(),
                revoked_on: k.revoked_on.as_deref(),
                revoked_reason: k.revoked_reason.as_deref(),
            })
        })
        .collect();
    let words: serde_json::Map<String, serde_json::Value> = Language::ALL
        .into_iter()
        .map(|l| {
            let said: serde_json::Map<String, serde_json::Value> =
                WORDS.iter().map(|id| ((*id).to_owned(), tr(l, id).into())).collect();
            (l.code().to_owned(), said.into())
        })
        .collect();
    let data = serde_json::json!({ "keys": keys, "words": words });
    // `</` never appears in JSON we write as a script, so nothing can close it early.
    format!("window.MARKETDAY_VERIFIER = {};\n", data.to_string().replace("</", "<\\/"))
}

#[derive(Template)]
#[template(path = "verifier.html")]
struct Page<'a> {
    /// English until the script has read the browser's languages.
    lang: &'a str,
    /// Where the scripts are, relative to the page ("" beside it, "/" at the site's root).
    base: &'a str,
    assay_note: &'a str,
    footer: &'a str,
}

/// The verifier's page, its scripts under `base`.
pub fn page(base: &str) -> String {
    Page {
        lang: "en",
        base,
        assay_note: WORDS[9],
        footer: "Checked in this browser with the keys the atelier published; nothing is sent anywhere.",
    }
    .render()
    .expect("the verifier's page renders")
}

/// Writes the verifier for these keys into `dir`: `index.html` (scripts beside it, so it
/// works from any folder and from `file://`), `404.html` (scripts at the site's root, for a
/// static host that answers unknown paths such as `/P/<TOKEN>` with it), `verify.js`,
/// `keyring.js` and `README.txt`.
pub fn export(keys: &[(String, KeyChange)], dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let files = [
        ("index.html", page("")),
        ("404.html", page("/")),
        ("verify.js", SCRIPT.to_owned()),
        ("keyring.js", keyring_script(keys)),
        ("README.txt", README.to_owned()),
    ];
    for (name, text) in files {
        // Whole files only: written aside, then renamed over the old one.
        let path = dir.join(name);
        let partial = dir.join(format!(".{name}.partial"));
        std::fs::write(&partial, text)?;
        std::fs::rename(&partial, &path)?;
    }
    Ok(())
}

const README: &str = "Marketday certificate verifier

Open index.html in a browser (a file:// copy works too): paste a tag's link or its code,
or open index.html?t=<TOKEN> or index.html#<TOKEN>. Checks run in the browser (WebCrypto
Ed25519); nothing is sent anywhere.

To answer the links printed on tags (https://<host>/P/<TOKEN>) put this folder at the root
of the verify host on any static host and have it answer unknown paths with 404.html (GitHub
Pages and Netlify do so by default; nginx: `error_page 404 /404.html;`, or
`try_files $uri /404.html;`). 404.html reads the token from the path.

keyring.js holds the atelier's public keys and their revocations as of the export. Export
again after rotating or revoking a key.
";
