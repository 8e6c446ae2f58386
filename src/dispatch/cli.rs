//! `marketday dispatch ...`: check a proof, export one for an insurer, show the device key.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use chrono::Utc;

use super::{device_key, export, photo_dir};
use crate::domain::dispatch::{self, ProofRecord, short_hash};
use crate::domain::provenance::{self, KeyId, hex};
use crate::photos::PhotoStore;
use crate::store::{Shipment, Store};

#[derive(clap::Subcommand, Debug)]
pub enum DispatchCommand {
    /// Check a proof of dispatch: the photo against its hash, the record against its
    /// signature. Exit status 0 only when both hold.
    Verify {
        record: PathBuf,
        photo: PathBuf,
        /// The device's public key (hex), to also check which kiosk signed.
        #[arg(long)]
        device_key: Option<String>,
    },
    /// Write ORDER's proof (JSON + JPEG) into DIR, after checking it.
    Export { order: String, dir: PathBuf },
    /// Print this kiosk's public device key (created on first use).
    DeviceKey,
    /// Add an order to hand to a courier (online orders arrive by sync).
    AddOrder {
        #[arg(long)]
        id: String,
        #[arg(long)]
        buyer: String,
        /// A piece in the parcel; repeat for each.
        #[arg(long = "serial", required = true)]
        serials: Vec<String>,
    },
    /// List orders waiting for a courier.
    Awaiting,
}

pub fn run(command: &DispatchCommand, store: &mut Store, data_dir: &std::path::Path) -> anyhow::Result<ExitCode> {
    match command {
        DispatchCommand::Verify { record, photo, device_key } => {
            let text = std::fs::read_to_string(record).with_context(|| format!("cannot read {}", record.display()))?;
            let parsed: ProofRecord = serde_json::from_str(&text)
                .with_context(|| format!("{} is not a Marketday dispatch record", record.display()))?;
            let jpeg = std::fs::read(photo).with_context(|| format!("cannot read {}", photo.display()))?;
            let expected = device_key
                .as_deref()
                .map(|k| provenance::public_key(k).with_context(|| format!("--device-key {k:?}")))
                .transpose()?;
            print_record(&parsed);
            match dispatch::verify(&parsed, &jpeg, expected.as_ref()) {
                Ok(()) => {
                    let who = if expected.is_some() { "by the expected device" } else { "by the key in the record" };
                    println!("\nVALID: the photo is the one recorded and the record is signed {who}.");
                    Ok(ExitCode::SUCCESS)
                }
                Err(problem) => {
                    println!("\nNOT VALID: {problem}.");
                    Ok(ExitCode::FAILURE)
                }
            }
        }
        DispatchCommand::Export { order, dir } => {
            let photos = PhotoStore::open(&photo_dir(data_dir))?;
            let (json, jpeg) = export(store, &photos, order, dir)?;
            println!("{}\n{}", json.display(), jpeg.display());
            Ok(ExitCode::SUCCESS)
        }
        DispatchCommand::DeviceKey => {
            let key = device_key(data_dir)?.verifying_key();
            println!("{}  (key id {})", hex(key.as_bytes()), KeyId::of(&key));
            Ok(ExitCode::SUCCESS)
        }
        DispatchCommand::AddOrder { id, buyer, serials } => {
            let shipment = Shipment {
                id: id.clone(),
                sale_id: None,
                buyer: buyer.clone(),
                pieces: serials.clone(),
                created_at: Utc::now(),
                dispatched_at: None,
            };
            store.add_shipment(&shipment)?;
            println!("Order {id} for {buyer} waits for a courier ({} piece(s)).", serials.len());
            Ok(ExitCode::SUCCESS)
        }
        DispatchCommand::Awaiting => {
            for s in store.shipments_awaiting("")? {
                println!("{:<14} {:<24} {}", s.id, s.buyer, s.pieces.join(", "));
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn print_record(r: &ProofRecord) {
    println!("Order:        {}", r.order);
    println!("Pieces:       {}", r.pieces.join(", "));
    println!("Tracking:     {} ({})", r.tracking_number, r.courier);
    println!("Collected by: {}", r.courier_name);
    println!("Photo taken:  {}", r.captured_at.format("%Y-%m-%d %H:%M:%S UTC"));
    println!(
        "Photo:        SHA-256 {} ({} bytes), short {}",
        r.photo_sha256,
        r.photo_bytes,
        short_hash(&r.photo_sha256)
    );
    println!("Device:       {} (key {})", r.device_id, r.device_key);
}
