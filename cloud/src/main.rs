//! `marketday-cloud`: the sync server and its administration commands.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use marketday_cloud::wire::ChangeBody;
use marketday_cloud::{AppState, Tls, now_ms};

#[derive(Parser)]
#[command(version, about = "Marketday's sync server")]
struct Cli {
    /// Where the server keeps its database and photos.
    #[arg(long, env = "MARKETDAY_CLOUD_DATA", default_value = "marketday-cloud-data")]
    data: PathBuf,
    /// A PostgreSQL database to keep the store in instead of SQLite in the data directory
    /// (`postgres://user:password@host/database`); photos stay in the data directory.
    #[arg(long, env = "MARKETDAY_CLOUD_POSTGRES")]
    postgres: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serves the API: HTTPS with --tls-cert and --tls-key, else plain HTTP for a TLS
    /// proxy in front (kiosks only speak HTTPS to anything but their own machine).
    Serve {
        #[arg(long, default_value = "127.0.0.1:8787")]
        listen: String,
        /// The server's certificate chain (PEM).
        #[arg(long, requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// The certificate's private key (PEM).
        #[arg(long, requires = "tls_cert")]
        tls_key: Option<PathBuf>,
    },
    /// Registers a kiosk and prints its token (shown once; only its hash is kept).
    AddDevice {
        #[arg(long)]
        device: String,
        #[arg(long)]
        atelier: String,
        #[arg(long)]
        stall: String,
    },
    /// Allocates pieces to a stall: other stalls' sales of them are refused.
    Allocate {
        #[arg(long)]
        atelier: String,
        #[arg(long)]
        stall: String,
        serials: Vec<String>,
    },
    /// Records a sale in the online shop: kiosks learn the pieces are sold, and a stall's
    /// later sale of them is refused.
    SellOnline {
        #[arg(long)]
        atelier: String,
        #[arg(long)]
        order: String,
        serials: Vec<String>,
    },
    /// Publishes changes for the atelier's kiosks from a file of JSON lines, each
    /// `{"kind": "piece", "data": {...}}` (kinds: drop, piece, member, reservation,
    /// shipment, key). All lines are checked before any is published.
    Publish {
        #[arg(long)]
        atelier: String,
        /// Only this stall's kiosks receive them (online reservations, orders to ship).
        #[arg(long)]
        stall: Option<String>,
        file: PathBuf,
    },
    /// Writes the static certificate verifier for the atelier's keys into DIR: a folder for
    /// any static host, or to open from disk, that checks tags when this server is gone.
    ExportVerifier {
        #[arg(long)]
        atelier: String,
        dir: PathBuf,
    },
    /// Adds a back-office account (`--owner` for the atelier's first owner; owners add the
    /// rest on the People page). The password is read from the standard input's first line.
    AddUser {
        #[arg(long)]
        atelier: String,
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// An owner: manages people, keys and kiosks as well as the catalog and the day.
        #[arg(long)]
        owner: bool,
    },
    /// Reports a piece lost or stolen: its public page says so, above everything else.
    /// `--found` withdraws the report.
    ReportLost {
        #[arg(long)]
        atelier: String,
        serial: String,
        #[arg(long)]
        found: bool,
    },
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "marketday_cloud=info,warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    // Taken before the store is opened, so a second server never touches it.
    let _serving = match cli.command {
        Command::Serve { .. } => Some(marketday_cloud::hold_data_dir(&cli.data)?),
        _ => None,
    };
    let state = AppState::open(&cli.data, cli.postgres.as_deref()).with_context(|| match &cli.postgres {
        Some(_) => "cannot open the PostgreSQL store".to_owned(),
        None => format!("cannot open the store in {}", cli.data.display()),
    })?;
    match cli.command {
        Command::Serve { listen, tls_cert, tls_key } => {
            let tls = match (tls_cert, tls_key) {
                (Some(cert), Some(key)) => Some(Tls::from_pem_files(&cert, &key)?),
                _ => None,
            };
            let listener =
                std::net::TcpListener::bind(&listen).with_context(|| format!("cannot listen on {listen}"))?;
            let runtime = tokio::runtime::Runtime::new()?;
            runtime.block_on(async {
                tracing::info!(%listen, https = tls.is_some(), store = state.db().backend(), "serving");
                match tls {
                    Some(tls) => marketday_cloud::serve_tls(listener, state, tls).await?,
                    None => {
                        listener.set_nonblocking(true)?;
                        marketday_cloud::serve(tokio::net::TcpListener::from_std(listener)?, state).await?
                    }
                }
                anyhow::Ok(())
            })?;
        }
        Command::AddDevice { device, atelier, stall } => {
            let token = state.db().add_device(&device, &atelier, &stall)?;
            println!("{token}");
        }
        Command::Allocate { atelier, stall, serials } => {
            state.db().allocate(&atelier, &stall, &serials, now_ms())?;
            println!("{} pieces allocated to {stall}", serials.len());
        }
        Command::SellOnline { atelier, order, serials } => {
            state.db().sell_online(&atelier, &order, &serials, now_ms())?;
            println!("{} pieces sold online in {order}", serials.len());
        }
        Command::Publish { atelier, stall, file } => {
            let text = std::fs::read_to_string(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let mut changes = Vec::new();
            for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
                let change: ChangeBody = serde_json::from_str(line)
                    .with_context(|| format!("{} line {}: not a change", file.display(), n + 1))?;
                changes.push(change);
            }
            state
                .db()
                .publish(&atelier, stall.as_deref(), &changes, now_ms())
                .with_context(|| format!("{}: nothing published", file.display()))?;
            println!("{} changes published", changes.len());
        }
        Command::AddUser { atelier, email, name, owner } => {
            use std::io::{BufRead, IsTerminal};
            if std::io::stdin().is_terminal() {
                eprint!(
                    "Password for {email} (at least {} characters; it shows as you type): ",
                    marketday_cloud::office::password::MIN_CHARS
                );
            }
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line).context("cannot read the password from the standard input")?;
            let password = line.trim_end_matches(['\r', '\n']);
            let hashed = marketday_cloud::office::password::hash(password)?;
            let role = if owner { marketday_cloud::db::Role::Owner } else { marketday_cloud::db::Role::Staff };
            let user = {
                let new = marketday_cloud::db::NewUser {
                    atelier: &atelier,
                    email: &email,
                    name: &name,
                    role,
                    password_hash: &hashed,
                };
                state.db().add_user(&new, "command line", now_ms())?
            };
            println!("{} ({}) can sign in to {atelier}'s back office at /office", user.email, role.as_str());
        }
        Command::ExportVerifier { atelier, dir } => {
            let keys = state.db().keys_of(Some(&atelier))?;
            anyhow::ensure!(!keys.is_empty(), "{atelier} has published no keys: publish its key first");
            marketday_cloud::verifier::export(&keys, &dir)
                .with_context(|| format!("cannot write the verifier into {}", dir.display()))?;
            println!(
                "verifier for {atelier} ({} keys) written to {}; open {}",
                keys.len(),
                dir.display(),
                dir.join("index.html").display()
            );
        }
        Command::ReportLost { atelier, serial, found } => {
            state.db().report_lost(&atelier, &serial, !found, now_ms())?;
            match found {
                true => println!("{serial}: found again; its page no longer says lost or stolen"),
                false => println!("{serial}: reported lost or stolen; its page says so"),
            }
        }
    }
    Ok(())
}
