//! `marketday-cloud`: the sync server and its administration commands.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use marketday_cloud::AppState;

#[derive(Parser)]
#[command(version, about = "Marketday's sync server")]
struct Cli {
    /// Where the server keeps its database and photos.
    #[arg(long, env = "MARKETDAY_CLOUD_DATA", default_value = "marketday-cloud-data")]
    data: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serves the API (plain HTTP: put TLS in front, e.g. a reverse proxy).
    Serve {
        #[arg(long, default_value = "127.0.0.1:8787")]
        listen: String,
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
    let state = AppState::open(&cli.data).with_context(|| format!("cannot open {}", cli.data.display()))?;
    match cli.command {
        Command::Serve { listen } => {
            let runtime = tokio::runtime::Runtime::new()?;
            runtime.block_on(async {
                let listener = tokio::net::TcpListener::bind(&listen)
                    .await
                    .with_context(|| format!("cannot listen on {listen}"))?;
                tracing::info!(%listen, "serving");
                marketday_cloud::serve(listener, state).await?;
                anyhow::Ok(())
            })?;
        }
        Command::AddDevice { device, atelier, stall } => {
            let token = state.db().add_device(&device, &atelier, &stall)?;
            println!("{token}");
        }
        Command::Allocate { atelier, stall, serials } => {
            state.db().allocate(&atelier, &stall, &serials)?;
            println!("{} pieces allocated to {stall}", serials.len());
        }
    }
    Ok(())
}
