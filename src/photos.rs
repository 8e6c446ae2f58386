//! Dispatch photos on disk, named by their SHA-256.
//!
//! A photo is written to a temporary file, flushed to the disk, renamed to its hash and
//! the directory flushed, all before the record that points to it commits. So after a
//! power cut there is either a complete photo (perhaps with no record yet: an orphan,
//! removed at start-up) or nothing, never a record whose photo is half-written.

use std::collections::HashSet;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::domain::dispatch::photo_hash;

#[derive(Debug, thiserror::Error)]
pub enum PhotoError {
    #[error(
        "The kiosk's storage is full, so the photo was not kept. Free space (old photos are removed once synced) and capture again."
    )]
    Full,
    #[error("cannot write the photo in {dir}: {source}")]
    Write {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("photo {sha256} is missing from {dir}")]
    Missing { sha256: String, dir: PathBuf },
    #[error("photo {sha256} has changed on disk (its SHA-256 is now {actual}): it is not shown as proof")]
    Changed { sha256: String, actual: String },
    #[error("cannot read photo {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

pub struct PhotoStore {
    dir: PathBuf,
}

const TEMP_PREFIX: &str = ".incoming-";

impl PhotoStore {
    pub fn open(dir: &Path) -> Result<PhotoStore, PhotoError> {
        fs::create_dir_all(dir).map_err(|source| write_error(dir, source))?;
        Ok(PhotoStore { dir: dir.to_owned() })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn path_of(&self, sha256: &str) -> PathBuf {
        self.dir.join(format!("{sha256}.jpg"))
    }

    /// Keeps a JPEG durably and returns its SHA-256. Keeping the same photo twice is a no-op.
    pub fn put(&self, jpeg: &[u8]) -> Result<String, PhotoError> {
        let sha256 = photo_hash(jpeg);
        let path = self.path_of(&sha256);
        if fs::read(&path).is_ok_and(|existing| existing == jpeg) {
            return Ok(sha256);
        }
        let temp = self.dir.join(format!("{TEMP_PREFIX}{sha256}"));
        let written = File::create(&temp).and_then(|mut f| {
            f.write_all(jpeg)?;
            f.sync_all()
        });
        if let Err(source) = written {
            let _ = fs::remove_file(&temp);
            return Err(write_error(&self.dir, source));
        }
        fs::rename(&temp, &path).map_err(|source| write_error(&self.dir, source))?;
        // The rename itself must reach the disk before the record can point at it.
        File::open(&self.dir).and_then(|d| d.sync_all()).map_err(|source| write_error(&self.dir, source))?;
        Ok(sha256)
    }

    /// The photo's bytes, only if they still hash to its name.
    pub fn read_verified(&self, sha256: &str) -> Result<Vec<u8>, PhotoError> {
        let path = self.path_of(sha256);
        let bytes = fs::read(&path).map_err(|source| match source.kind() {
            std::io::ErrorKind::NotFound => PhotoError::Missing { sha256: sha256.into(), dir: self.dir.clone() },
            _ => PhotoError::Read { path: path.clone(), source },
        })?;
        let actual = photo_hash(&bytes);
        if actual != sha256 {
            return Err(PhotoError::Changed { sha256: sha256.into(), actual });
        }
        Ok(bytes)
    }

    /// Removes half-written temporary files and photos no record points to (a power cut
    /// between the photo and its record). Returns how many files went.
    pub fn remove_orphans(&self, referenced: &HashSet<String>) -> Result<usize, PhotoError> {
        let mut removed = 0;
        let entries = fs::read_dir(&self.dir).map_err(|source| PhotoError::Read { path: self.dir.clone(), source })?;
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let orphan = match name.strip_suffix(".jpg") {
                Some(sha256) => sha256.len() == 64 && !referenced.contains(sha256),
                None => name.starts_with(TEMP_PREFIX),
            };
            if orphan && fs::remove_file(entry.path()).is_ok() {
                tracing::info!(file = %name, "removed a photo no dispatch record points to");
                removed += 1;
            }
        }
        Ok(removed)
    }
}

fn write_error(dir: &Path, source: std::io::Error) -> PhotoError {
    if source.kind() == std::io::ErrorKind::StorageFull {
        PhotoError::Full
    } else {
        PhotoError::Write { dir: dir.to_owned(), source }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_photo_is_kept_under_its_hash_and_checked_when_read() {
        let dir = tempfile::tempdir().unwrap();
        let photos = PhotoStore::open(&dir.path().join("photos")).unwrap();
        let jpeg = b"\xFF\xD8 parcel \xFF\xD9";
        let sha = photos.put(jpeg).unwrap();
        assert_eq!(sha, photo_hash(jpeg));
        assert_eq!(photos.put(jpeg).unwrap(), sha, "keeping it again changes nothing");
        assert_eq!(photos.read_verified(&sha).unwrap(), jpeg);
        assert_eq!(fs::read_dir(photos.dir()).unwrap().count(), 1, "no temporary file left");

        fs::write(photos.path_of(&sha), b"\xFF\xD8 another parcel \xFF\xD9").unwrap();
        assert!(matches!(photos.read_verified(&sha), Err(PhotoError::Changed { .. })));
        fs::remove_file(photos.path_of(&sha)).unwrap();
        assert!(matches!(photos.read_verified(&sha), Err(PhotoError::Missing { .. })));
    }

    #[test]
    fn orphans_and_half_written_files_are_removed_and_referenced_photos_kept() {
        let dir = tempfile::tempdir().unwrap();
        let photos = PhotoStore::open(dir.path()).unwrap();
        let kept = photos.put(b"kept").unwrap();
        let orphan = photos.put(b"orphan").unwrap();
        fs::write(dir.path().join(format!("{TEMP_PREFIX}{}", photo_hash(b"half"))), b"ha").unwrap();
        fs::write(dir.path().join("notes.txt"), b"not ours").unwrap();
        let removed = photos.remove_orphans(&HashSet::from([kept.clone()])).unwrap();
        assert_eq!(removed, 2);
        assert!(photos.path_of(&kept).exists());
        assert!(!photos.path_of(&orphan).exists());
        assert!(dir.path().join("notes.txt").exists());
    }
}
