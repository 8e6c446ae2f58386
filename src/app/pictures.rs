//! Piece photos as the screens draw them: decoded once at the size a screen wants and kept,
//! from bytes hashed again against their name (`PiecePhotos::read_verified`), so a screen
//! shows the catalog's photo or none.

use std::cell::RefCell;
use std::collections::HashMap;

use slint::{Image, Rgb8Pixel, SharedPixelBuffer};

use crate::piece_photos::PiecePhotos;

/// Pixels on a Sell tile's longer side: the tile shows it at 26 px; more, for a sharp
/// picture on a dense panel.
pub const TILE: u32 = 96;
/// Pixels on the Verify card's photo's longer side.
pub const CARD: u32 = 320;

pub struct Pictures {
    photos: PiecePhotos,
    /// By hash and size. Only pictures that decoded are kept: a photo not yet fetched is
    /// looked for again at the next present.
    decoded: RefCell<HashMap<(String, u32), Image>>,
    /// Photos whose bytes did not decode: not read and hashed again at every present (a
    /// new photo comes under a new name).
    undecodable: RefCell<std::collections::HashSet<String>>,
}

impl Pictures {
    pub fn new(photos: PiecePhotos) -> Pictures {
        Pictures { photos, decoded: RefCell::new(HashMap::new()), undecodable: RefCell::default() }
    }

    /// The photo named `sha256` at most `side` pixels across, if it is here and whole.
    pub fn of(&self, sha256: &str, side: u32) -> Option<Image> {
        let key = (sha256.to_owned(), side);
        if let Some(image) = self.decoded.borrow().get(&key) {
            return Some(image.clone());
        }
        if self.undecodable.borrow().contains(sha256) {
            return None;
        }
        let bytes = self.photos.read_verified(sha256)?;
        let picture = match image::load_from_memory_with_format(&bytes, image::ImageFormat::Jpeg) {
            Ok(picture) => picture.thumbnail(side, side).to_rgb8(),
            Err(e) => {
                tracing::warn!(photo = sha256, error = %e, "a piece photo cannot be decoded: not shown");
                self.undecodable.borrow_mut().insert(sha256.to_owned());
                return None;
            }
        };
        let buffer =
            SharedPixelBuffer::<Rgb8Pixel>::clone_from_slice(picture.as_raw(), picture.width(), picture.height());
        let image = Image::from_rgb8(buffer);
        self.decoded.borrow_mut().insert(key, image.clone());
        Some(image)
    }
}
