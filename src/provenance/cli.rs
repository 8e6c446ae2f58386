//! `marketday provenance ...` and `marketday verify`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use chrono::{NaiveDate, Utc};
use marketday_scan::{self as scan, Steps};

use super::{Check, check, import_keyring, keygen, read_signing_key, sign_pieces};
use crate::domain::Serial;
use crate::domain::provenance::{self, Verdict};
use crate::store::Store;

#[derive(clap::Subcommand, Debug)]
pub enum ProvenanceCommand {
    /// Create an atelier signing key: FILE (private, owner-only) and FILE.keyring.toml (public).
    Keygen {
        /// The atelier's name, as customers will see it on a verdict.
        #[arg(long)]
        atelier: String,
        #[arg(long)]
        out: PathBuf,
        /// First day the key signs (default: today).
        #[arg(long)]
        valid_from: Option<NaiveDate>,
    },
    /// Trust the keys in a keyring file on this kiosk (revocations in it are applied).
    Trust { file: PathBuf },
    /// List the keys this kiosk trusts.
    Keys,
    /// Sign certificates for catalogued pieces and store them for their stickers.
    Sign {
        /// The atelier's private key (from `provenance keygen`).
        #[arg(long)]
        key: PathBuf,
        /// One piece.
        #[arg(long, conflicts_with = "drop")]
        serial: Option<String>,
        /// Every piece of a drop.
        #[arg(long)]
        drop: Option<String>,
        /// Issue date printed in the certificate (default: today).
        #[arg(long)]
        issued: Option<NaiveDate>,
    },
}

pub fn run(command: &ProvenanceCommand, store: &mut Store, verify_url: &str) -> anyhow::Result<()> {
    let now = Utc::now();
    match command {
        ProvenanceCommand::Keygen { atelier, out, valid_from } => {
            let (key, public) = keygen(out, atelier, valid_from.unwrap_or_else(|| now.date_naive()))?;
            println!("Key {} for {} written to {} (keep it secret).", key.id, key.atelier, out.display());
            println!(
                "Public keyring entry: {} (give it to every kiosk: `marketday provenance trust`).",
                public.display()
            );
        }
        ProvenanceCommand::Trust { file } => {
            for key in import_keyring(store, file, now)? {
                let state = match &key.revoked {
                    Some(r) => format!("revoked on {}", r.on),
                    None => "trusted".into(),
                };
                println!("{}  {}  {state}", key.id, key.atelier);
            }
        }
        ProvenanceCommand::Keys => {
            let keys = store.keyring()?;
            if keys.is_empty() {
                println!("No trusted keys: import the atelier's keyring with `marketday provenance trust FILE`.");
            }
            for k in keys {
                let until = k.valid_until.map(|d| d.to_string()).unwrap_or_else(|| "open".into());
                let revoked = k.revoked.map(|r| format!("  REVOKED {} ({})", r.on, r.reason)).unwrap_or_default();
                println!("{}  {:<24} valid {} .. {until}{revoked}", k.id, k.atelier, k.valid_from);
            }
        }
        ProvenanceCommand::Sign { key, serial, drop, issued } => {
            let signing = read_signing_key(key)?;
            let pieces = match (serial, drop) {
                (Some(s), _) => {
                    let serial = Serial::parse(s)?;
                    vec![store.piece(&serial)?.with_context(|| format!("no piece {serial} in the catalog"))?]
                }
                (None, Some(d)) => {
                    let serials: Vec<Serial> = store.drop_pieces(d)?.into_iter().map(|t| t.serial).collect();
                    if serials.is_empty() {
                        bail!("drop {d} has no pieces in the catalog");
                    }
                    serials.iter().filter_map(|s| store.piece(s).transpose()).collect::<Result<_, _>>()?
                }
                (None, None) => bail!("say which pieces: --serial SERIAL or --drop DROP"),
            };
            let issued = issued.unwrap_or_else(|| now.date_naive());
            for (serial, token) in sign_pieces(store, &pieces, &signing, issued, now)? {
                let url = provenance::token_url(verify_url, &token);
                println!("{serial}  {url}  ({} characters, QR version {})", url.len(), qr_version(&url));
            }
        }
    }
    Ok(())
}

/// The QR version a URL needs at error correction M, as stickers print it.
pub fn qr_version(text: &str) -> String {
    match qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::M) {
        Ok(code) => match code.version() {
            qrcode::Version::Normal(v) => v.to_string(),
            qrcode::Version::Micro(v) => format!("M{v}"),
        },
        Err(e) => format!("none ({e})"),
    }
}

/// `marketday verify`: a token, a URL or an image file. Exit 0 only when every code
/// read is genuine.
pub fn verify(store: &Store, input: &str) -> anyhow::Result<ExitCode> {
    let path = Path::new(input);
    let texts: Vec<String> = if path.is_file() {
        let frame = marketday_hardware::read_image(path)?;
        let codes = scan::scan(&frame, Steps::default());
        if codes.is_empty() {
            println!("No QR code found in {input}. Hold the tag flat, fill more of the picture, and try again.");
            return Ok(ExitCode::FAILURE);
        }
        codes.into_iter().map(|c| c.text).collect()
    } else {
        vec![input.to_owned()]
    };
    let mut all_genuine = true;
    for text in texts {
        let result = check(store, &text)?;
        all_genuine &= result.verdict.is_genuine();
        print_check(&result);
    }
    Ok(if all_genuine { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

fn print_check(c: &Check) {
    println!("{}", c.verdict.word().to_uppercase());
    println!("  {}", c.verdict.explanation(crate::i18n::Language::En));
    if let Some(cert) = c.verdict.certificate() {
        println!("  serial   {}", cert.serial);
        println!("  edition  {}", cert.edition);
        if let Some(title) = c.title() {
            println!("  piece    {title}");
        }
        if !cert.drop_id.is_empty() {
            println!("  drop     {}", cert.drop_id);
        }
        if let Verdict::Genuine { atelier, .. }
        | Verdict::RevokedKey { atelier, .. }
        | Verdict::Forged { atelier, .. } = &c.verdict
        {
            println!("  atelier  {atelier}");
        }
        println!("  assay    {}", cert.assay_hex().unwrap_or_else(|| "none".into()));
        println!("  issued   {}", cert.issued);
        println!("  key      {}", cert.key_id);
    }
    if let Some(status) = c.status_line(crate::i18n::Language::En) {
        println!("  here     {status}");
    }
}
