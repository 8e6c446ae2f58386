//! Dispatch photos on the server, by SHA-256: a partial file grows at its offset until the
//! whole photo has arrived, and only bytes that hash to the photo's name are kept.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    #[error("the server holds {held} bytes of this photo, not {offered}")]
    Offset { held: u64, offered: u64 },
    #[error("the photo's bytes do not hash to {0}")]
    HashMismatch(String),
    #[error("more bytes than the photo's length")]
    TooLong,
    #[error("not a SHA-256 in hex")]
    BadName,
    #[error("photo storage: {0}")]
    Io(#[from] std::io::Error),
}

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
        std::fs::create_dir_all(dir.join("partial"))?;
        Ok(PhotoDir { dir: dir.to_owned() })
    }

    fn complete(&self, sha256: &str) -> PathBuf {
        self.dir.join(format!("{sha256}.jpg"))
    }

    fn partial(&self, sha256: &str) -> PathBuf {
        self.dir.join("partial").join(sha256)
    }

    pub async fn held(&self, sha256: &str) -> Result<Held, UploadError> {
        if !valid(sha256) {
            return Err(UploadError::BadName);
        }
        if let Ok(m) = tokio::fs::metadata(self.complete(sha256)).await {
            return Ok(Held::Complete(m.len()));
        }
        Ok(match tokio::fs::metadata(self.partial(sha256)).await {
            Ok(m) => Held::Partial(m.len()),
            Err(_) => Held::Nothing,
        })
    }

    /// Appends `bytes` at `offset` of a photo `length` long; returns what is held after.
    pub async fn append(&self, sha256: &str, offset: u64, length: u64, bytes: &[u8]) -> Result<Held, UploadError> {
        let held = match self.held(sha256).await? {
            Held::Complete(n) => return Ok(Held::Complete(n)),
            Held::Partial(n) => n,
            Held::Nothing => 0,
        };
        if held != offset {
            return Err(UploadError::Offset { held, offered: offset });
        }
        if offset + bytes.len() as u64 > length {
            return Err(UploadError::TooLong);
        }
        let partial = self.partial(sha256);
        let mut file = tokio::fs::OpenOptions::new().create(true).append(true).open(&partial).await?;
        file.write_all(bytes).await?;
        file.sync_all().await?;
        let now = offset + bytes.len() as u64;
        if now < length {
            return Ok(Held::Partial(now));
        }
        let all = tokio::fs::read(&partial).await?;
        let actual = data_encoding::HEXLOWER.encode(&Sha256::digest(&all));
        if actual != sha256 {
            tokio::fs::remove_file(&partial).await?;
            return Err(UploadError::HashMismatch(sha256.into()));
        }
        tokio::fs::rename(&partial, self.complete(sha256)).await?;
        tokio::fs::File::open(&self.dir).await?.sync_all().await?;
        Ok(Held::Complete(now))
    }

    pub async fn read(&self, sha256: &str) -> Result<Vec<u8>, UploadError> {
        if !valid(sha256) {
            return Err(UploadError::BadName);
        }
        Ok(tokio::fs::read(self.complete(sha256)).await?)
    }
}
