//! `marketday catalog import FILE.csv`: pieces from the atelier's spreadsheet.
//!
//! All or nothing: every row is checked first and each bad row reported with its number
//! and what to fix; only a file with no bad rows is imported, in one transaction.

use std::collections::HashSet;
use std::path::Path;

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::domain::piece::valid_assay_hash;
use crate::domain::{Currency, Edition, Money, Serial};
use crate::store::{NewPiece, Store, StoreError};

/// The columns, in any order; the optional ones may be left out of the header.
#[derive(Debug, Deserialize)]
struct Row {
    serial: String,
    title: String,
    edition_number: String,
    edition_size: String,
    price: String,
    #[serde(default)]
    drop_id: String,
    #[serde(default)]
    maker: String,
    #[serde(default)]
    materials: String,
    #[serde(default)]
    origin_notes: String,
    #[serde(default)]
    assay_hash: String,
}

#[derive(Debug, Default)]
pub struct ImportReport {
    pub imported: usize,
    /// "row 4 (AT-2026-0042): price 'abc' is not an amount", in file order.
    pub errors: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Header(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub fn import_file(
    store: &mut Store,
    path: &Path,
    currency: Currency,
    now: DateTime<Utc>,
) -> Result<ImportReport, ImportError> {
    let text = std::fs::read_to_string(path)
        .map_err(|source| ImportError::Read { path: path.display().to_string(), source })?;
    import_csv(store, &text, currency, now)
}

pub fn import_csv(
    store: &mut Store,
    text: &str,
    currency: Currency,
    now: DateTime<Utc>,
) -> Result<ImportReport, ImportError> {
    let mut reader = csv::ReaderBuilder::new().trim(csv::Trim::All).from_reader(text.as_bytes());
    let headers =
        reader.headers().map_err(|e| ImportError::Header(format!("cannot read the header row: {e}")))?.clone();
    for required in ["serial", "title", "edition_number", "edition_size", "price"] {
        if !headers.iter().any(|h| h == required) {
            return Err(ImportError::Header(format!(
                "the header row has no `{required}` column (found: {})",
                headers.iter().collect::<Vec<_>>().join(", ")
            )));
        }
    }
    let mut report = ImportReport::default();
    let mut pieces = Vec::new();
    let mut seen = HashSet::new();
    for (i, record) in reader.records().enumerate() {
        // Row 1 is the header, so the first data row is row 2, as a spreadsheet numbers it.
        let row_no = i + 2;
        let row: Row = match record.and_then(|r| r.deserialize(Some(&headers))) {
            Ok(row) => row,
            Err(e) => {
                report.errors.push(format!("row {row_no}: {e}"));
                continue;
            }
        };
        match check_row(store, &row, currency, &mut seen) {
            Ok(piece) => pieces.push(piece),
            Err(problems) => {
                let label = if row.serial.is_empty() { String::new() } else { format!(" ({})", row.serial) };
                report.errors.push(format!("row {row_no}{label}: {}", problems.join("; ")));
            }
        }
    }
    if !report.errors.is_empty() {
        return Ok(report);
    }
    store.add_pieces(&pieces, now)?;
    report.imported = pieces.len();
    Ok(report)
}

fn check_row(
    store: &Store,
    row: &Row,
    currency: Currency,
    seen: &mut HashSet<Serial>,
) -> Result<NewPiece, Vec<String>> {
    let mut problems = Vec::new();
    let serial = Serial::parse(&row.serial).map_err(|e| problems.push(e.to_string())).ok();
    if let Some(s) = &serial {
        if !seen.insert(s.clone()) {
            problems.push(format!("serial {s} appears twice in the file"));
        } else if matches!(store.piece(s), Ok(Some(_))) {
            problems.push(format!("serial {s} is already in the catalog"));
        }
    }
    let number = row.edition_number.parse::<u32>();
    let size = row.edition_size.parse::<u32>();
    let edition = match (number, size) {
        (Ok(n), Ok(s)) => Edition::new(n, s).map_err(|e| problems.push(e.to_string())).ok(),
        _ => {
            problems.push(format!(
                "edition_number '{}' and edition_size '{}' must be whole numbers",
                row.edition_number, row.edition_size
            ));
            None
        }
    };
    let price = Money::parse(&row.price, currency).map_err(|e| problems.push(format!("price: {e}"))).ok();
    if row.title.is_empty() {
        problems.push("title is empty".into());
    }
    let assay_hash = (!row.assay_hash.is_empty()).then(|| row.assay_hash.to_ascii_lowercase());
    if assay_hash.as_deref().is_some_and(|h| !valid_assay_hash(h)) {
        problems.push("assay_hash must be 64 hex digits (a SHA-256)".into());
    }
    let drop_id = (!row.drop_id.is_empty()).then(|| row.drop_id.clone());
    if let Some(d) = &drop_id
        && !matches!(store.drop_by_id(d), Ok(Some(_)))
    {
        problems.push(format!("drop '{d}' does not exist: add it first with `marketday catalog add-drop`"));
    }
    match (serial, edition, price, problems.is_empty()) {
        (Some(serial), Some(edition), Some(price), true) => Ok(NewPiece {
            serial,
            drop_id,
            edition,
            title: row.title.clone(),
            maker: row.maker.clone(),
            materials: row.materials.clone(),
            origin_notes: row.origin_notes.clone(),
            price,
            assay_hash,
        }),
        _ => Err(problems),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_rows_are_each_reported_and_nothing_is_imported() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.sqlite")).unwrap();
        let csv = "serial,title,edition_number,edition_size,price,drop_id\n\
                   AT-1,Ring,1,10,120.00,\n\
                   AT-2,Ring,11,10,120.00,\n\
                   AT-3,Ring,2,10,twelve,\n\
                   AT-1,Ring,3,10,1.00,\n\
                   AT-4,Ring,4,10,1.00,nowhere\n";
        let report = import_csv(&mut store, csv, Currency::GBP, Utc::now()).unwrap();
        assert_eq!(report.imported, 0);
        assert_eq!(report.errors.len(), 4, "{:#?}", report.errors);
        assert!(report.errors[0].starts_with("row 3 (AT-2): edition 11 of 10"));
        assert!(report.errors[1].starts_with("row 4 (AT-3): price"));
        assert!(report.errors[2].contains("appears twice"));
        assert!(report.errors[3].contains("drop 'nowhere' does not exist"));
        assert_eq!(store.piece_count().unwrap(), 0);
    }

    #[test]
    fn a_clean_file_is_imported_whole() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.sqlite")).unwrap();
        let csv = "title,serial,price,edition_number,edition_size,maker\n\
                   \"Ring, brushed\",AT-1,\"1,200.00\",1,2,Atelier\n\
                   Ring,AT-2,1200,2,2,Atelier\n";
        let report = import_csv(&mut store, csv, Currency::GBP, Utc::now()).unwrap();
        assert_eq!((report.imported, report.errors.len()), (2, 0));
        let p = store.piece(&Serial::parse("AT-1").unwrap()).unwrap().unwrap();
        assert_eq!((p.title.as_str(), p.price.minor), ("Ring, brushed", 120_000));
    }

    #[test]
    fn missing_column_names_the_column() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.sqlite")).unwrap();
        let err = import_csv(&mut store, "serial,title\nAT-1,Ring\n", Currency::GBP, Utc::now()).unwrap_err();
        assert!(err.to_string().contains("`edition_number`"), "{err}");
    }
}
