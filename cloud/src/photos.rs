//! Dispatch photos on the server, by SHA-256: a partial file grows at its offset until the
//! whole photo has arrived, and only bytes that hash to the photo's name are kept.
//!
//! A kiosk's retry can overlap its own delayed request, and two server processes may share
//! one data directory, so every change to a photo happens under an exclusive lock on its
//! partial file (an OS file lock: it holds across processes, and is let go if a process dies).
//! The photo's length is fixed by its first chunk, in a small file beside the partial.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::wire::MAX_PHOTO_BYTES;

#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    #[error("the server holds {held} bytes of this photo, not {offered}")]
    Offset { held: u64, offered: u64 },
    #[error("the photo's bytes do not hash to {0}")]
    HashMismatch(String),
    #[error("more bytes than the photo's length")]
    TooLong,
    #[error("a photo of {0} bytes is larger than the {MAX_PHOTO_BYTES} bytes a photo may be")]
    TooLarge(u64),
    #[error("this photo's upload began as {declared} bytes long, not {offered}")]
    LengthChanged { declared: u64, offered: u64 },
    #[error("not a SHA-256 in hex")]
    BadName,
    #[error("photo storage: {0}")]
    Io(#[from] std::io::Error),
}

/// Every atelier's photos: `atelier/<atelier>/` below the server's `photos/` folder. One
/// atelier's devices never see whether another atelier holds a photo.
pub struct Photos {
    root: PathBuf,
}

impl Photos {
    pub fn open(root: &Path) -> std::io::Result<Photos> {
        fs::create_dir_all(root.join("atelier"))?;
        Ok(Photos { root: root.to_owned() })
    }

    /// The folder of one atelier's photos, made if new.
    pub fn of(&self, atelier: &str) -> std::io::Result<PhotoDir> {
        PhotoDir::open(&self.root.join("atelier").join(folder_name(atelier)))
    }

    /// Photos kept at the top of `photos/` by a server from before ateliers were kept apart,
    /// by name: each goes to the folder of the atelier whose device sent it (`atelier_of`
    /// reads the store's record). One that no record claims stays where it is, and is said.
    pub fn adopt_shared(&self, atelier_of: impl Fn(&str) -> Option<String>) -> std::io::Result<usize> {
        let mut moved = 0;
        for entry in fs::read_dir(&self.root)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(sha256) = name.strip_suffix(".jpg").filter(|s| valid(s)) else { continue };
            let Some(atelier) = atelier_of(sha256) else {
                tracing::warn!(photo = %name, "a photo from an older server that no device's record claims: left in place");
                continue;
            };
            let to = self.of(&atelier)?;
            if !to.complete(sha256).exists() {
                fs::rename(entry.path(), to.complete(sha256))?;
                File::open(&to.dir)?.sync_all()?;
                moved += 1;
            }
        }
        if moved > 0 {
            File::open(&self.root)?.sync_all()?;
        }
        Ok(moved)
    }
}

/// A folder name for an atelier: its own name where that is a plain word, otherwise (slashes,
/// dots, spaces, anything a path could be tricked with) a name made from its hash.
pub(crate) fn folder_name(atelier: &str) -> String {
    let plain = !atelier.is_empty()
        && atelier.len() <= 64
        && !atelier.starts_with(['.', '-', '_'])
        && atelier.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if plain {
        atelier.to_owned()
    } else {
        format!("_{}", &data_encoding::HEXLOWER.encode(&Sha256::digest(atelier.as_bytes()))[..32])
    }
}

/// One atelier's photos.
#[derive(Clone)]
pub struct PhotoDir {
    dir: PathBuf,
}

/// Where an upload stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Held {
    Nothing,
    Partial(u64),
    Complete(u64),
}

fn valid(sha256: &str) -> bool {
    sha256.len() == 64 && sha256.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

impl PhotoDir {
    pub fn open(dir: &Path) -> std::io::Result<PhotoDir> {
        fs::create_dir_all(dir.join("partial"))?;
        Ok(PhotoDir { dir: dir.to_owned() })
    }

    fn complete(&self, sha256: &str) -> PathBuf {
        self.dir.join(format!("{sha256}.jpg"))
    }

    fn partial(&self, sha256: &str) -> PathBuf {
        self.dir.join("partial").join(sha256)
    }

    fn declared(&self, sha256: &str) -> PathBuf {
        self.dir.join("partial").join(format!("{sha256}.length"))
    }

    pub async fn held(&self, sha256: &str) -> Result<Held, UploadError> {
        if !valid(sha256) {
            return Err(UploadError::BadName);
        }
        if let Ok(m) = tokio::fs::metadata(self.complete(sha256)).await {
            return Ok(Held::Complete(m.len()));
        }
        Ok(match tokio::fs::metadata(self.partial(sha256)).await {
            Ok(m) if m.len() > 0 => Held::Partial(m.len()),
            _ => Held::Nothing,
        })
    }

    /// Appends `bytes` at `offset` of a photo `length` long; returns what is held after.
    pub async fn append(&self, sha256: &str, offset: u64, length: u64, bytes: &[u8]) -> Result<Held, UploadError> {
        if !valid(sha256) {
            return Err(UploadError::BadName);
        }
        if length > MAX_PHOTO_BYTES {
            return Err(UploadError::TooLarge(length));
        }
        let (photos, sha256, bytes) = (self.clone(), sha256.to_owned(), bytes.to_vec());
        tokio::task::spawn_blocking(move || photos.append_locked(&sha256, offset, length, &bytes))
            .await
            .map_err(|e| UploadError::Io(std::io::Error::other(e)))?
    }

    /// The partial file of `sha256`, opened and locked; `None` once the photo is complete.
    /// A waiter may find that the file it locked was renamed (completed) or removed (a hash
    /// mismatch) while it waited: it must not write to that one, so it checks the path still
    /// names what it holds, and opens again if not.
    fn lock_partial(&self, sha256: &str) -> Result<Option<File>, UploadError> {
        let path = self.partial(sha256);
        loop {
            let file = OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&path)?;
            file.lock()?;
            if self.complete(sha256).exists() {
                // Whatever partial is left is a stray made while it completed.
                if same_file(&file, &path) {
                    let _ = fs::remove_file(&path);
                }
                return Ok(None);
            }
            if same_file(&file, &path) {
                return Ok(Some(file));
            }
        }
    }

    fn append_locked(&self, sha256: &str, offset: u64, length: u64, bytes: &[u8]) -> Result<Held, UploadError> {
        let Some(mut file) = self.lock_partial(sha256)? else {
            return Ok(Held::Complete(fs::metadata(self.complete(sha256))?.len()));
        };
        let held = file.metadata()?.len();
        if held != offset {
            return Err(UploadError::Offset { held, offered: offset });
        }
        let declared_path = self.declared(sha256);
        let declared = fs::read_to_string(&declared_path).ok().and_then(|s| s.trim().parse::<u64>().ok());
        match declared {
            Some(declared) if declared != length => {
                if held > 0 {
                    return Err(UploadError::LengthChanged { declared, offered: length });
                }
                // Nothing held yet: the new length stands.
                write_synced(&declared_path, length.to_string().as_bytes())?;
            }
            Some(_) => {}
            None => write_synced(&declared_path, length.to_string().as_bytes())?,
        }
        if offset + bytes.len() as u64 > length {
            return Err(UploadError::TooLong);
        }
        // Opened without append: the lock, not O_APPEND, keeps writers apart, and the offset
        // was checked under it.
        use std::io::Seek;
        file.seek(std::io::SeekFrom::Start(offset))?;
        file.write_all(bytes)?;
        file.sync_all()?;
        let now = offset + bytes.len() as u64;
        if now < length {
            return Ok(Held::Partial(now));
        }
        let mut all = Vec::with_capacity(now as usize);
        file.seek(std::io::SeekFrom::Start(0))?;
        file.read_to_end(&mut all)?;
        let actual = data_encoding::HEXLOWER.encode(&Sha256::digest(&all));
        let partial = self.partial(sha256);
        if actual != sha256 {
            fs::remove_file(&partial)?;
            let _ = fs::remove_file(&declared_path);
            return Err(UploadError::HashMismatch(sha256.into()));
        }
        fs::rename(&partial, self.complete(sha256))?;
        let _ = fs::remove_file(&declared_path);
        File::open(&self.dir)?.sync_all()?;
        Ok(Held::Complete(now))
    }

    /// Keeps `bytes` whole under their SHA-256, which it returns: written beside, flushed,
    /// renamed into place and the folder flushed, so the name never stands for part of them.
    /// Bytes already kept are left as they are.
    pub async fn put(&self, bytes: Vec<u8>) -> Result<String, UploadError> {
        let sha256 = data_encoding::HEXLOWER.encode(&Sha256::digest(&bytes));
        let (photos, name) = (self.clone(), sha256.clone());
        tokio::task::spawn_blocking(move || -> Result<(), UploadError> {
            if photos.complete(&name).exists() {
                return Ok(());
            }
            // A name of its own for each writer: two uploads of one picture never share a
            // half-written file, and whichever renames last renames the same bytes.
            let part = photos.dir.join("partial").join(format!("{name}.{}", rand::random::<u64>()));
            write_synced(&part, &bytes)?;
            fs::rename(&part, photos.complete(&name))?;
            File::open(&photos.dir)?.sync_all()?;
            Ok(())
        })
        .await
        .map_err(|e| UploadError::Io(std::io::Error::other(e)))??;
        Ok(sha256)
    }

    pub async fn read(&self, sha256: &str) -> Result<Vec<u8>, UploadError> {
        if !valid(sha256) {
            return Err(UploadError::BadName);
        }
        Ok(tokio::fs::read(self.complete(sha256)).await?)
    }
}

/// Whether `path` still names the file `file` has open.
fn same_file(file: &File, path: &Path) -> bool {
    match (file.metadata(), fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

fn write_synced(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut f = File::create(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sha(bytes: &[u8]) -> String {
        data_encoding::HEXLOWER.encode(&Sha256::digest(bytes))
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_uploads_of_one_photo_keep_it_whole_and_once() {
        let photo: Vec<u8> = (0..3_000_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        let name = sha(&photo);
        for trial in 0..10 {
            let dir = tempfile::tempdir().unwrap();
            // Two handles on one folder stand for two server processes: the lock is the OS's.
            let dirs = [PhotoDir::open(dir.path()).unwrap(), PhotoDir::open(dir.path()).unwrap()];
            let mut tasks = Vec::new();
            for i in 0..6 {
                let (photos, photo, name) = (dirs[i % 2].clone(), photo.clone(), name.clone());
                tasks.push(tokio::spawn(async move {
                    // Each client sends the whole photo in 1 MB chunks, resuming from what the
                    // server says it holds, as the kiosk does.
                    let mut offset = 0u64;
                    loop {
                        let end = (offset as usize + 1_000_000).min(photo.len());
                        match photos.append(&name, offset, photo.len() as u64, &photo[offset as usize..end]).await {
                            Ok(Held::Complete(n)) => return n,
                            Ok(Held::Partial(n)) => offset = n,
                            Ok(Held::Nothing) => unreachable!(),
                            Err(UploadError::Offset { held, .. }) => offset = held,
                            Err(e) => panic!("trial {trial}, client {i}: {e}"),
                        }
                    }
                }));
            }
            for t in tasks {
                assert_eq!(t.await.unwrap(), photo.len() as u64, "trial {trial}");
            }
            assert_eq!(dirs[0].read(&name).await.unwrap(), photo, "trial {trial}: kept byte for byte");
            let left: Vec<_> = fs::read_dir(dir.path().join("partial")).unwrap().collect();
            assert!(left.is_empty(), "trial {trial}: nothing left half-written: {left:?}");
        }
    }

    #[tokio::test]
    async fn photos_from_an_older_server_go_to_their_ateliers_and_unclaimed_ones_stay() {
        let dir = tempfile::tempdir().unwrap();
        let (ours, stray) = (b"a photo of ours".to_vec(), b"nobody's".to_vec());
        let (ours_sha, stray_sha) = (sha(&ours), sha(&stray));
        fs::write(dir.path().join(format!("{ours_sha}.jpg")), &ours).unwrap();
        fs::write(dir.path().join(format!("{stray_sha}.jpg")), &stray).unwrap();
        let photos = Photos::open(dir.path()).unwrap();
        let moved = photos.adopt_shared(|sha| (sha == ours_sha).then(|| "Atelier Thorne".to_owned())).unwrap();
        assert_eq!(moved, 1);
        assert_eq!(photos.of("Atelier Thorne").unwrap().read(&ours_sha).await.unwrap(), ours);
        assert!(photos.of("Rival").unwrap().read(&ours_sha).await.is_err(), "another atelier does not see it");
        assert!(dir.path().join(format!("{stray_sha}.jpg")).exists(), "an unclaimed photo is never deleted");
        // Names that could leave the folder get one of their own.
        for hostile in ["..", "../x", "a/b", "", ".hidden", "x y"] {
            let name = folder_name(hostile);
            assert!(name.starts_with('_') && name.len() == 33, "{hostile:?} → {name}");
        }
        assert_eq!(folder_name("thorne-atelier_2"), "thorne-atelier_2");
    }

    #[tokio::test]
    async fn a_photo_too_large_or_changing_length_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let photos = PhotoDir::open(dir.path()).unwrap();
        let name = sha(b"0123456789");
        assert!(matches!(photos.append(&name, 0, u64::MAX, b"0123").await, Err(UploadError::TooLarge(_))));
        assert_eq!(photos.append(&name, 0, 10, b"0123").await.unwrap(), Held::Partial(4));
        assert!(matches!(
            photos.append(&name, 4, 6, b"45").await,
            Err(UploadError::LengthChanged { declared: 10, offered: 6 })
        ));
        assert_eq!(photos.append(&name, 4, 10, b"456789").await.unwrap(), Held::Complete(10));
        assert_eq!(photos.read(&name).await.unwrap(), b"0123456789");
    }
}
