//! Dispatch photos on disk, named by their SHA-256.
//!
//! A photo is written to a temporary file, flushed to the disk, renamed to its hash and
//! the directory flushed, all before the record that points to it commits. So after a
//! power cut there is either a complete photo (perhaps with no record yet: an orphan,
//! removed at start-up) or nothing, never a record whose photo is half-written. The folder
//! may be shared by several stores (a second config on one data directory): the store notes
//! each photo it begins (`Store::begin_photo_write`), and start-up removes only those.

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
    #[error("photo {sha256} cannot be decoded: {reason}")]
    Unreadable { sha256: String, reason: String },
    #[error("cannot read photo {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl crate::i18n::Localized for PhotoError {
    fn localized(&self, language: crate::i18n::Language) -> String {
        use crate::t;
        match self {
            PhotoError::Full => t!(
                language,
                "The kiosk's storage is full, so the photo was not kept. Free space (old photos are removed once synced) and capture again."
            ),
            PhotoError::Write { source, .. } => t!(language, "The photo could not be saved: {error}", error = source),
            PhotoError::Missing { .. } => t!(language, "The photo is missing from the kiosk."),
            PhotoError::Changed { .. } => {
                t!(language, "The photo has changed on the kiosk since it was taken: it is not shown as proof.")
            }
            PhotoError::Unreadable { reason, .. } => {
                t!(language, "The photo cannot be shown: {reason}", reason = reason)
            }
            PhotoError::Read { source, .. } => t!(language, "The photo could not be read: {error}", error = source),
        }
    }
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

    /// Removes these photos (each with its half-written temporary file and thumbnail), which
    /// the store that wrote them says no record keeps. Returns how many photo files went.
    pub fn remove_left_over(&self, sha256s: &[String]) -> Result<usize, PhotoError> {
        let mut removed = 0;
        for sha256 in sha256s {
            if fs::remove_file(self.path_of(sha256)).is_ok() {
                tracing::info!(photo = %sha256, "removed a photo this store wrote and no record of it keeps");
                removed += 1;
            }
            let _ = fs::remove_file(self.dir.join(format!("{TEMP_PREFIX}{sha256}")));
            let _ = fs::remove_file(self.thumb_path(sha256));
        }
        Ok(removed)
    }
}

/// Thumbnails for lists: at most this many pixels on the longer side.
pub const THUMB_SIZE: u32 = 160;

impl PhotoStore {
    fn thumb_path(&self, sha256: &str) -> PathBuf {
        self.dir.join("thumbs").join(format!("{sha256}.jpg"))
    }

    /// A small JPEG of a photo for lists, only after the photo itself has been checked
    /// against its hash: a changed photo is reported, never shown small. Made on first use
    /// and kept (a thumbnail is a convenience, not proof, so a failure to keep it is only logged).
    pub fn thumbnail(&self, sha256: &str) -> Result<Vec<u8>, PhotoError> {
        let photo = self.read_verified(sha256)?;
        let path = self.thumb_path(sha256);
        if let Ok(bytes) = fs::read(&path) {
            return Ok(bytes);
        }
        let thumb =
            make_thumbnail(&photo).map_err(|reason| PhotoError::Unreadable { sha256: sha256.into(), reason })?;
        let temp = path.with_extension("tmp");
        let kept = fs::create_dir_all(self.dir.join("thumbs"))
            .and_then(|()| fs::write(&temp, &thumb))
            .and_then(|()| fs::rename(&temp, &path));
        if let Err(e) = kept {
            tracing::warn!(error = %e, "cannot keep a thumbnail");
        }
        Ok(thumb)
    }

    /// Removes the local copy of a photo the cloud holds (and its thumbnail).
    pub fn remove(&self, sha256: &str) -> Result<(), PhotoError> {
        for path in [self.path_of(sha256), self.thumb_path(sha256)] {
            match fs::remove_file(&path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(PhotoError::Write { dir: self.dir.clone(), source: e });
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// Decodes a JPEG and scales it to fit `THUMB_SIZE`, as JPEG again.
pub fn make_thumbnail(jpeg: &[u8]) -> Result<Vec<u8>, String> {
    let image = decode_fitting(jpeg, THUMB_SIZE)?;
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 80).encode_image(&image).map_err(|e| e.to_string())?;
    Ok(out)
}

/// A JPEG decoded to RGB and scaled down (never up) to fit `max` pixels on its longer side.
pub fn decode_fitting(jpeg: &[u8], max: u32) -> Result<image::RgbImage, String> {
    let image = image::load_from_memory_with_format(jpeg, image::ImageFormat::Jpeg).map_err(|e| e.to_string())?;
    let (w, h) = (image.width(), image.height());
    if w.max(h) <= max {
        return Ok(image.into_rgb8());
    }
    let scale = f64::from(max) / f64::from(w.max(h));
    let (tw, th) = (((f64::from(w) * scale).round() as u32).max(1), ((f64::from(h) * scale).round() as u32).max(1));
    Ok(image::imageops::thumbnail(&image.into_rgb8(), tw, th))
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
    fn only_the_photos_named_go_with_their_half_written_files_and_thumbnails() {
        let dir = tempfile::tempdir().unwrap();
        let photos = PhotoStore::open(dir.path()).unwrap();
        let kept = photos.put(b"kept").unwrap();
        let left_over = photos.put(b"left over").unwrap();
        let half = photo_hash(b"half");
        fs::write(dir.path().join(format!("{TEMP_PREFIX}{half}")), b"ha").unwrap();
        fs::write(dir.path().join("notes.txt"), b"not ours").unwrap();
        let removed = photos.remove_left_over(&[left_over.clone(), half.clone()]).unwrap();
        assert_eq!(removed, 1, "one photo file; the half-written one was never a photo");
        assert!(photos.path_of(&kept).exists(), "a photo not named stays");
        assert!(!photos.path_of(&left_over).exists());
        assert!(!dir.path().join(format!("{TEMP_PREFIX}{half}")).exists());
        assert!(dir.path().join("notes.txt").exists());
    }

    fn grey_jpeg(w: u32, h: u32, seed: u8) -> Vec<u8> {
        let luma: Vec<u8> = (0..w * h).map(|i| (i % 251) as u8 ^ seed).collect();
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new(&mut out).encode(&luma, w, h, image::ExtendedColorType::L8).unwrap();
        out
    }

    #[test]
    fn thumbnails_are_small_made_only_from_an_intact_photo_and_go_with_it() {
        let dir = tempfile::tempdir().unwrap();
        let photos = PhotoStore::open(dir.path()).unwrap();
        let sha = photos.put(&grey_jpeg(1280, 720, 0)).unwrap();
        let thumb = image::load_from_memory(&photos.thumbnail(&sha).unwrap()).unwrap();
        assert_eq!((thumb.width(), thumb.height()), (160, 90));
        assert!(photos.thumb_path(&sha).exists(), "kept for the next list");

        // The photo changes on disk: its thumbnail, although kept, is not handed out.
        fs::write(photos.path_of(&sha), grey_jpeg(64, 64, 7)).unwrap();
        assert!(matches!(photos.thumbnail(&sha), Err(PhotoError::Changed { .. })));

        let other = photos.put(&grey_jpeg(100, 40, 3)).unwrap();
        let small = image::load_from_memory(&photos.thumbnail(&other).unwrap()).unwrap();
        assert_eq!((small.width(), small.height()), (100, 40), "never scaled up");
        photos.remove(&other).unwrap();
        assert!(!photos.path_of(&other).exists() && !photos.thumb_path(&other).exists());
        assert!(matches!(photos.thumbnail(&other), Err(PhotoError::Missing { .. })));

        // A left-over photo takes its thumbnail with it.
        photos.remove_left_over(std::slice::from_ref(&sha)).unwrap();
        assert!(!photos.thumb_path(&sha).exists());
    }
}
