//! The catalog as the back office edits it. An added or edited piece is published like
//! any other catalog change (`changes` for kiosks to pull, `catalog` for the public pages),
//! so a kiosk learns of it on its next pull.

use super::accounts::record;
use super::sql::vals;
use super::{Db, DbError, append_change};
use crate::wire::{ChangeBody, DropChange, KeyChange, PieceChange};

/// What the back office is publishing, for the audit and for the rule on serials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CatalogEdit {
    /// New pieces: a serial already in the catalog refuses the whole batch.
    Add,
    /// A correction to one piece already in the catalog.
    Edit,
    /// New certificates for pieces already in the catalog.
    Sign,
    /// A new photo for one piece already in the catalog, or its photo taken away.
    Photo,
}

impl Db {
    /// A piece's published catalog entry.
    pub fn catalog_entry(&self, atelier: &str, serial: &str) -> Result<Option<PieceChange>, DbError> {
        let serial = serial.trim().to_ascii_uppercase();
        let row = self.tx(|tx| {
            tx.query_opt("SELECT data FROM catalog WHERE atelier = $1 AND serial = $2", vals![atelier, &serial])
        })?;
        row.map(|row| serde_json::from_str(&row.text(0)?).map_err(|e| DbError::Invalid(e.to_string()))).transpose()
    }

    /// Which of `serials` the catalog already has.
    pub fn serials_in_catalog(&self, atelier: &str, serials: &[String]) -> Result<Vec<String>, DbError> {
        self.tx(|tx| {
            let mut found = Vec::new();
            for serial in serials {
                if tx
                    .query_opt("SELECT 1 FROM catalog WHERE atelier = $1 AND serial = $2", vals![atelier, serial])?
                    .is_some()
                {
                    found.push(serial.clone());
                }
            }
            Ok(found)
        })
    }

    /// The drops the atelier has published, by id: a piece may only name one of these, or
    /// a kiosk could not file it.
    pub fn published_drops(&self, atelier: &str) -> Result<Vec<DropChange>, DbError> {
        let rows = self.tx(|tx| {
            tx.query("SELECT data FROM changes WHERE atelier = $1 AND kind = 'drop' ORDER BY cursor", vals![atelier])
        })?;
        let mut drops: Vec<DropChange> = Vec::new();
        for row in &rows {
            let drop: DropChange = serde_json::from_str(&row.text(0)?).map_err(|e| DbError::Invalid(e.to_string()))?;
            // A drop published again replaces what was said of it before.
            drops.retain(|d| d.id != drop.id);
            drops.push(drop);
        }
        drops.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(drops)
    }

    /// The currency most of the atelier's pieces are priced in, if it has any.
    pub fn usual_currency(&self, atelier: &str) -> Result<Option<String>, DbError> {
        let rows = self.tx(|tx| tx.query("SELECT data FROM catalog WHERE atelier = $1", vals![atelier]))?;
        let mut counts: Vec<(String, usize)> = Vec::new();
        for row in &rows {
            let Ok(piece) = serde_json::from_str::<PieceChange>(&row.text(0)?) else { continue };
            match counts.iter_mut().find(|(c, _)| *c == piece.currency) {
                Some((_, n)) => *n += 1,
                None => counts.push((piece.currency, 1)),
            }
        }
        Ok(counts.into_iter().max_by_key(|(_, n)| *n).map(|(c, _)| c))
    }

    /// Publishes pieces from the back office in one transaction, in the audit as `actor`'s
    /// doing: all of them, or none. Adding refuses a serial the catalog already has;
    /// editing refuses one it does not.
    pub fn publish_pieces(
        &self,
        atelier: &str,
        pieces: &[PieceChange],
        edit: CatalogEdit,
        actor: &str,
        now: i64,
    ) -> Result<(), DbError> {
        self.publish_pieces_over(atelier, pieces, &[], edit, actor, now)
    }

    /// As [`Db::publish_pieces`], for pieces made from what a page read of them (`as_read`,
    /// one per piece): refused with [`DbError::Changed`] when a piece is no longer what was
    /// read, so a photo uploaded while a form is saved (or the other way round) is never
    /// quietly undone.
    pub fn publish_pieces_over(
        &self,
        atelier: &str,
        pieces: &[PieceChange],
        as_read: &[PieceChange],
        edit: CatalogEdit,
        actor: &str,
        now: i64,
    ) -> Result<(), DbError> {
        self.write(atelier, |tx| {
            for read in as_read {
                let held = tx.query_opt(
                    "SELECT data FROM catalog WHERE atelier = $1 AND serial = $2",
                    vals![atelier, &read.serial],
                )?;
                let held: Option<PieceChange> = held
                    .map(|row| serde_json::from_str(&row.text(0)?).map_err(|e| DbError::Invalid(e.to_string())))
                    .transpose()?;
                if held.as_ref() != Some(read) {
                    return Err(DbError::Changed(read.serial.clone()));
                }
            }
            for piece in pieces {
                let known = tx
                    .query_opt(
                        "SELECT 1 FROM catalog WHERE atelier = $1 AND serial = $2",
                        vals![atelier, &piece.serial],
                    )?
                    .is_some();
                match (edit, known) {
                    (CatalogEdit::Add, true) => {
                        return Err(DbError::Invalid(format!("{} is already in the catalog", piece.serial)));
                    }
                    (CatalogEdit::Edit | CatalogEdit::Sign | CatalogEdit::Photo, false) => {
                        return Err(DbError::Invalid(format!("{} is not in the catalog", piece.serial)));
                    }
                    _ => {}
                }
                append_change(tx, atelier, None, &ChangeBody::Piece(piece.clone()), now)?;
            }
            let (action, detail) = match (edit, pieces) {
                (CatalogEdit::Sign, [one]) => ("signed a certificate", format!("{} ({})", one.serial, one.title)),
                (CatalogEdit::Sign, many) => ("signed certificates", format!("{} pieces", many.len())),
                (CatalogEdit::Edit, [one]) => ("edited a piece", format!("{} ({})", one.serial, one.title)),
                (CatalogEdit::Photo, [one]) if one.photo.is_some() => {
                    ("changed a piece's photo", format!("{} ({})", one.serial, one.title))
                }
                (CatalogEdit::Photo, [one]) => ("took a piece's photo away", format!("{} ({})", one.serial, one.title)),
                (CatalogEdit::Add, [one]) => ("added a piece", format!("{} ({})", one.serial, one.title)),
                (_, many) => ("imported pieces", format!("{} pieces", many.len())),
            };
            record(tx, atelier, actor, action, &detail, now)
        })
    }

    /// Every piece in the atelier's catalog, or in one of its drops, by serial.
    pub fn catalog_pieces(&self, atelier: &str, drop_id: Option<&str>) -> Result<Vec<PieceChange>, DbError> {
        let rows = self.tx(|tx| {
            tx.query(
                "SELECT data FROM catalog WHERE atelier = $1 AND ($2 = '' OR drop_id = $2) ORDER BY serial",
                vals![atelier, drop_id.unwrap_or("")],
            )
        })?;
        rows.iter()
            .map(|row| serde_json::from_str(&row.text(0)?).map_err(|e| DbError::Invalid(e.to_string())))
            .collect()
    }

    /// Publishes keys made, retired or withdrawn in the back office, with the audit's line,
    /// in one transaction. A key that is not one refuses the batch, as in [`Db::publish`].
    /// With `in_use`, only while the key signing on that day is still the one given by id
    /// ("" for none): two requests that both read the same key in use (a double click) make
    /// one new key, not two. Answers whether it published.
    pub fn publish_keys(
        &self,
        atelier: &str,
        keys: &[KeyChange],
        in_use: Option<(&str, chrono::NaiveDate)>,
        (action, detail): (&str, &str),
        actor: &str,
        now: i64,
    ) -> Result<bool, DbError> {
        for key in keys {
            key.trusted().map_err(|e| DbError::Invalid(format!("the key {}: {e}", key.public_key)))?;
        }
        self.write(atelier, |tx| {
            if let Some((expected, day)) = in_use {
                let held = tx.query("SELECT data FROM atelier_keys WHERE atelier = $1", vals![atelier])?;
                let held = held
                    .iter()
                    .map(|r| {
                        serde_json::from_str::<KeyChange>(&r.text(0)?).map_err(|e| DbError::Invalid(e.to_string()))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                let now_in_use = crate::signing::key_in_use(&held, day).and_then(crate::signing::key_id);
                if now_in_use.map(|id| id.to_string()).unwrap_or_default() != expected {
                    return Ok(false);
                }
            }
            for key in keys {
                append_change(tx, atelier, None, &ChangeBody::Key(key.clone()), now)?;
            }
            record(tx, atelier, actor, action, detail, now)?;
            Ok(true)
        })
    }

    /// How many catalog pieces each drop has, by drop id.
    pub fn drop_piece_counts(&self, atelier: &str) -> Result<Vec<(String, i64)>, DbError> {
        let rows = self.tx(|tx| {
            tx.query(
                "SELECT drop_id, COUNT(*) FROM catalog WHERE atelier = $1 AND drop_id IS NOT NULL GROUP BY drop_id",
                vals![atelier],
            )
        })?;
        rows.iter().map(|r| Ok((r.text(0)?, r.int(1)?))).collect()
    }

    /// Publishes a drop from the back office, with its audit line: adding refuses an id the
    /// atelier has published, changing one refuses an id it has not.
    pub fn publish_drop(
        &self,
        atelier: &str,
        drop: &DropChange,
        edit: CatalogEdit,
        actor: &str,
        now: i64,
    ) -> Result<(), DbError> {
        self.write(atelier, |tx| {
            let published =
                tx.query("SELECT data FROM changes WHERE atelier = $1 AND kind = 'drop'", vals![atelier])?;
            let mut known = false;
            for row in &published {
                let was: DropChange =
                    serde_json::from_str(&row.text(0)?).map_err(|e| DbError::Invalid(e.to_string()))?;
                known |= was.id == drop.id;
            }
            match (edit, known) {
                (CatalogEdit::Add, true) => {
                    return Err(DbError::Invalid(format!("the atelier already has a drop {}", drop.id)));
                }
                (CatalogEdit::Edit | CatalogEdit::Sign | CatalogEdit::Photo, false) => {
                    return Err(DbError::Invalid(format!("the atelier has no drop {}", drop.id)));
                }
                _ => {}
            }
            append_change(tx, atelier, None, &ChangeBody::Drop(drop.clone()), now)?;
            let action = if edit == CatalogEdit::Add { "added a drop" } else { "changed a drop" };
            record(tx, atelier, actor, action, &format!("{} ({})", drop.id, drop.name), now)
        })
    }
}
