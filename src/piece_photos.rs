//! Piece photos on the kiosk: the pictures the back office published, fetched by the sync
//! worker into `piece-photos/` beside the database, named by their SHA-256.
//!
//! A download grows a partial file, so one cut off on a stall's hotspot goes on from its
//! last byte; only bytes that hash to the photo's name are renamed into place (after a
//! flush of the file and of the folder). So a photo under its name is always the one the
//! catalog names, whole, and the screens show nothing else.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::domain::dispatch::photo_hash;

/// Where the piece photos of the store at `store_path` live.
pub fn dir_for(store_path: &Path) -> PathBuf {
    store_path.parent().unwrap_or(Path::new(".")).join("piece-photos")
}

/// Whether `name` can be a photo's name: a SHA-256 in lower-case hex, and so nothing a path
/// could be tricked with.
pub fn valid_name(name: &str) -> bool {
    name.len() == 64 && name.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[derive(Debug, thiserror::Error)]
pub enum PiecePhotoError {
    #[error("piece photo folder {dir}: {source}")]
    Folder {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0:?} is not a photo's name")]
    BadName(String),
    #[error("the bytes fetched for photo {sha256} hash to {actual}: fetched again from the start next time")]
    Mismatch { sha256: String, actual: String },
}

/// The folder of piece photos.
#[derive(Debug, Clone)]
pub struct PiecePhotos {
    dir: PathBuf,
}

impl PiecePhotos {
    pub fn open(dir: &Path) -> Result<PiecePhotos, PiecePhotoError> {
        fs::create_dir_all(dir.join("partial"))
            .map_err(|source| PiecePhotoError::Folder { dir: dir.to_owned(), source })?;
        Ok(PiecePhotos { dir: dir.to_owned() })
    }

    /// The folder at `dir` for reading, made by nobody: the screens look, the sync worker
    /// writes.
    pub fn at(dir: &Path) -> PiecePhotos {
        PiecePhotos { dir: dir.to_owned() }
    }

    fn folder_error(&self, source: std::io::Error) -> PiecePhotoError {
        PiecePhotoError::Folder { dir: self.dir.clone(), source }
    }

    /// Where a whole photo is kept.
    pub fn path(&self, sha256: &str) -> PathBuf {
        self.dir.join(format!("{sha256}.jpg"))
    }

    fn partial(&self, sha256: &str) -> PathBuf {
        self.dir.join("partial").join(sha256)
    }

    pub fn has(&self, sha256: &str) -> bool {
        valid_name(sha256) && self.path(sha256).exists()
    }

    /// Keeps `bytes` whole under their hash, which it returns: written to a file of this
    /// call's own, flushed, renamed into place and the folder flushed, so writers sharing the
    /// folder (the demo seeding several stores beside each other) never mix their bytes.
    pub fn keep(&self, bytes: &[u8]) -> Result<String, PiecePhotoError> {
        let sha256 = photo_hash(bytes);
        if self.has(&sha256) {
            return Ok(sha256);
        }
        let own = self.dir.join("partial").join(format!("{sha256}.{}", uuid::Uuid::now_v7()));
        let written = File::create(&own).and_then(|mut f| {
            f.write_all(bytes)?;
            f.sync_all()
        });
        written
            .and_then(|()| fs::rename(&own, self.path(&sha256)))
            .and_then(|()| File::open(&self.dir)?.sync_all())
            .map_err(|e| {
                let _ = fs::remove_file(&own);
                self.folder_error(e)
            })?;
        Ok(sha256)
    }

    /// How many bytes of `sha256` an earlier download left: where the next one starts.
    pub fn fetched(&self, sha256: &str) -> Result<u64, PiecePhotoError> {
        if !valid_name(sha256) {
            return Err(PiecePhotoError::BadName(sha256.to_owned()));
        }
        match fs::metadata(self.partial(sha256)) {
            Ok(m) => Ok(m.len()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
            Err(e) => Err(self.folder_error(e)),
        }
    }

    /// A download of `sha256` in progress, continuing at byte `from` (0 starts afresh).
    pub fn writer(&self, sha256: &str, from: u64) -> Result<Partial, PiecePhotoError> {
        if !valid_name(sha256) {
            return Err(PiecePhotoError::BadName(sha256.to_owned()));
        }
        let path = self.partial(sha256);
        let file = OpenOptions::new().create(true).append(true).open(&path).map_err(|e| self.folder_error(e))?;
        // Whatever lies past `from` was not confirmed by the server: it goes.
        file.set_len(from).map_err(|e| self.folder_error(e))?;
        Ok(Partial { photos: self.clone(), sha256: sha256.to_owned(), file })
    }

    /// A whole photo's bytes, hashed again: `None` when it is not here or does not match
    /// its name (a damaged card; the copy goes, for the sync worker to fetch again), so
    /// nothing but the catalog's photo is ever shown.
    pub fn read_verified(&self, sha256: &str) -> Option<Vec<u8>> {
        if !valid_name(sha256) {
            return None;
        }
        let bytes = fs::read(self.path(sha256)).ok()?;
        if photo_hash(&bytes) == sha256 {
            Some(bytes)
        } else {
            // Only a copy of the cloud's: removed, so the next sync round fetches it whole.
            tracing::warn!(photo = sha256, "a piece photo no longer matches its hash: not shown, fetched again");
            let _ = fs::remove_file(self.path(sha256));
            None
        }
    }
}

/// A photo being fetched.
pub struct Partial {
    photos: PiecePhotos,
    sha256: String,
    file: File,
}

impl Partial {
    pub fn append(&mut self, bytes: &[u8]) -> Result<(), PiecePhotoError> {
        self.file.write_all(bytes).map_err(|e| self.photos.folder_error(e))
    }

    /// Flushes what arrived so far, so a download cut off here resumes after it.
    pub fn flush(&mut self) -> Result<(), PiecePhotoError> {
        self.file.sync_data().map_err(|e| self.photos.folder_error(e))
    }

    /// The download is over: the bytes are kept under their name if they hash to it, and
    /// thrown away (for a fresh start) if not.
    pub fn finish(mut self) -> Result<(), PiecePhotoError> {
        self.flush()?;
        let partial = self.photos.partial(&self.sha256);
        let bytes = fs::read(&partial).map_err(|e| self.photos.folder_error(e))?;
        let actual = photo_hash(&bytes);
        if actual != self.sha256 {
            let _ = fs::remove_file(&partial);
            return Err(PiecePhotoError::Mismatch { sha256: self.sha256, actual });
        }
        fs::rename(&partial, self.photos.path(&self.sha256)).map_err(|e| self.photos.folder_error(e))?;
        File::open(&self.photos.dir).and_then(|d| d.sync_all()).map_err(|e| self.photos.folder_error(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_bytes_that_hash_to_the_name_are_kept_and_a_cut_download_resumes() {
        let dir = tempfile::tempdir().unwrap();
        let photos = PiecePhotos::open(dir.path()).unwrap();
        let bytes: Vec<u8> = (0..10_000u32).map(|i| (i * 7) as u8).collect();
        let name = photo_hash(&bytes);
        let mut first = photos.writer(&name, 0).unwrap();
        first.append(&bytes[..4_000]).unwrap();
        first.flush().unwrap();
        drop(first);
        assert_eq!(photos.fetched(&name).unwrap(), 4_000);
        assert!(!photos.has(&name) && photos.read_verified(&name).is_none(), "half a photo is not a photo");
        // The server confirmed 3,000 of them: the rest is cut before going on.
        let mut rest = photos.writer(&name, 3_000).unwrap();
        rest.append(&bytes[3_000..]).unwrap();
        rest.finish().unwrap();
        assert_eq!(photos.read_verified(&name).unwrap(), bytes);
        assert_eq!(photos.fetched(&name).unwrap(), 0, "nothing partial is left");

        let other = photo_hash(b"another photo");
        let mut wrong = photos.writer(&other, 0).unwrap();
        wrong.append(b"not that photo").unwrap();
        assert!(matches!(wrong.finish(), Err(PiecePhotoError::Mismatch { .. })));
        assert!(!photos.has(&other) && photos.fetched(&other).unwrap() == 0, "wrong bytes are not kept");

        // A kept photo changed on the card is not shown.
        fs::write(photos.path(&name), b"changed").unwrap();
        assert!(photos.read_verified(&name).is_none());
        assert!(!photos.has(&name), "a damaged copy goes, to be fetched again");
        for hostile in ["../x", "", "ABCDEF", &"g".repeat(64)] {
            assert!(photos.writer(hostile, 0).is_err(), "{hostile:?}");
        }
    }
}
