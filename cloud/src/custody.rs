//! Where the cloud keeps ateliers' certificate signing keys: one file per key under the
//! data directory, `keys/<atelier>/<KEY ID>.pem` (PKCS#8 PEM, the format `marketday
//! provenance keygen` writes, so a key can be taken offline and used there), readable by the
//! server's user alone (files 0600, folders 0700) and never in the store. The store holds
//! only public keys, which kiosks pull; a backup of the store alone cannot sign anything.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use marketday_provenance::KeyId;

use crate::photos::folder_name;

#[derive(Debug, thiserror::Error)]
pub enum CustodyError {
    #[error("the signing key {id} could not be kept in {path}: {why}")]
    Write { id: KeyId, path: PathBuf, why: std::io::Error },
    #[error("the signing key file {path} could not be read: {why}")]
    Read { path: PathBuf, why: String },
    #[error("the signing key file {path} holds the key {found}, not {wanted}")]
    Mismatch { path: PathBuf, wanted: KeyId, found: KeyId },
}

/// The keys folder of one data directory.
#[derive(Debug, Clone)]
pub struct Custody {
    root: PathBuf,
}

impl Custody {
    pub fn open(root: &Path) -> std::io::Result<Custody> {
        private_dir(root)?;
        Ok(Custody { root: root.to_owned() })
    }

    fn file(&self, atelier: &str, id: KeyId) -> PathBuf {
        self.root.join(folder_name(atelier)).join(format!("{id}.pem"))
    }

    /// Makes a new key and keeps it, flushed to the disk, before anything is published
    /// under it: a public key whose secret was lost would vouch for nothing.
    pub fn make(&self, atelier: &str) -> Result<SigningKey, CustodyError> {
        let mut seed = [0u8; 32];
        rand::fill(&mut seed);
        let key = SigningKey::from_bytes(&seed);
        let id = KeyId::of(&key.verifying_key());
        let path = self.file(atelier, id);
        let write = || -> std::io::Result<()> {
            let dir = path.parent().expect("a key file is in its atelier's folder");
            private_dir(dir)?;
            let pem = key.to_pkcs8_pem(LineEnding::LF).map_err(std::io::Error::other)?;
            let mut options = fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut file = options.open(&path)?;
            file.write_all(pem.as_bytes())?;
            file.sync_all()?;
            // The name must survive a power cut as well as the bytes.
            fs::File::open(dir)?.sync_all()
        };
        write().map_err(|why| CustodyError::Write { id, path: path.clone(), why })?;
        Ok(key)
    }

    /// The kept secret of the key `id`, if this server keeps it (an atelier that signs
    /// offline publishes keys whose secrets are elsewhere).
    pub fn key(&self, atelier: &str, id: KeyId) -> Result<Option<SigningKey>, CustodyError> {
        let path = self.file(atelier, id);
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(CustodyError::Read { path, why: e.to_string() }),
        };
        let key = SigningKey::from_pkcs8_pem(&text)
            .map_err(|_| CustodyError::Read { path: path.clone(), why: "not an Ed25519 private key".into() })?;
        let found = KeyId::of(&key.verifying_key());
        if found != id {
            return Err(CustodyError::Mismatch { path, wanted: id, found });
        }
        Ok(Some(key))
    }

    /// Removes a key made but never published (another request published one first).
    pub fn discard(&self, atelier: &str, id: KeyId) -> std::io::Result<()> {
        fs::remove_file(self.file(atelier, id))
    }

    /// Does this server keep the secret of `id`?
    pub fn keeps(&self, atelier: &str, id: KeyId) -> bool {
        self.file(atelier, id).is_file()
    }
}

/// A folder only the server's user can enter, made if new.
fn private_dir(dir: &Path) -> std::io::Result<()> {
    fs::create_dir_all(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_made_key_is_kept_for_its_owner_alone_and_read_back_whole() {
        let dir = tempfile::tempdir().unwrap();
        let custody = Custody::open(&dir.path().join("keys")).unwrap();
        let key = custody.make("Atelier Thorne").unwrap();
        let id = KeyId::of(&key.verifying_key());
        let back = custody.key("Atelier Thorne", id).unwrap().expect("kept");
        assert_eq!(back.to_bytes(), key.to_bytes());
        assert!(custody.keeps("Atelier Thorne", id));
        // Another atelier's folder does not have it.
        assert!(custody.key("Atelier Other", id).unwrap().is_none());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let file = custody.file("Atelier Thorne", id);
            assert_eq!(fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
            let folder = file.parent().unwrap();
            assert_eq!(fs::metadata(folder).unwrap().permissions().mode() & 0o777, 0o700);
        }
    }

    #[test]
    fn a_file_under_another_key_s_name_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let custody = Custody::open(dir.path()).unwrap();
        let one = custody.make("A").unwrap();
        let two = custody.make("A").unwrap();
        let (one_id, two_id) = (KeyId::of(&one.verifying_key()), KeyId::of(&two.verifying_key()));
        fs::copy(custody.file("A", two_id), custody.file("A", one_id)).unwrap();
        let refused = custody.key("A", one_id).unwrap_err();
        assert!(matches!(refused, CustodyError::Mismatch { .. }), "{refused}");
        fs::write(custody.file("A", two_id), "not a key").unwrap();
        assert!(matches!(custody.key("A", two_id).unwrap_err(), CustodyError::Read { .. }));
    }
}
