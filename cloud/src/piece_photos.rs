//! Piece photos as the back office takes them: a phone's JPEG or an exported PNG, turned
//! upright, made no larger than a kiosk and a phone page need, and written again as a JPEG
//! that carries nothing but its pixels.
//!
//! Writing the picture anew is what strips its metadata: the encoder is given pixels only,
//! so a camera's EXIF (the place it was taken, the phone's serial) never reaches a kiosk.
//! EXIF's orientation is the one tag that matters to how the piece looks, so it is applied
//! to the pixels first. The photo is then kept under the SHA-256 of the new bytes, which is
//! what the catalog entry names and what a kiosk checks when it has fetched them.

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};

/// The most an upload may be: a phone's photo at full size, with room.
pub const MAX_UPLOAD_BYTES: usize = 20 * 1024 * 1024;
/// The longer side of a kept photo, in pixels: sharp on the Verify card of a portrait
/// kiosk and on a phone, small enough (about 100 KB) to fetch over a stall's hotspot.
pub const LONG_SIDE: u32 = 800;
/// A picture with more pixels than this is refused before it is decoded: 50 megapixels
/// is beyond any phone's ordinary photo, and far below what would exhaust the server.
const MAX_PIXELS: u64 = 50_000_000;
const QUALITY: u8 = 85;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Refused {
    #[error("Choose a photo to upload.")]
    Empty,
    #[error("The file is larger than 20 MB. Export the photo smaller and upload it again.")]
    TooLarge,
    #[error("This is not a JPEG or PNG picture. Save the photo as JPEG or PNG and upload it again.")]
    NotAPicture,
    #[error("The picture is {width}x{height} pixels, more than a photo needs. Export it smaller and upload it again.")]
    TooManyPixels { width: u32, height: u32 },
    #[error("The picture cannot be read ({0}). It may be damaged: export it again and upload that.")]
    Unreadable(String),
}

/// The photo as it is kept: JPEG bytes, upright, at most [`LONG_SIDE`] on its longer side.
pub fn prepare(upload: &[u8]) -> Result<Vec<u8>, Refused> {
    if upload.is_empty() {
        return Err(Refused::Empty);
    }
    if upload.len() > MAX_UPLOAD_BYTES {
        return Err(Refused::TooLarge);
    }
    let reader = ImageReader::new(Cursor::new(upload)).with_guessed_format().map_err(|_| Refused::NotAPicture)?;
    if !matches!(reader.format(), Some(ImageFormat::Jpeg | ImageFormat::Png)) {
        return Err(Refused::NotAPicture);
    }
    let unreadable = |e: image::ImageError| Refused::Unreadable(e.to_string());
    let mut decoder = reader.into_decoder().map_err(unreadable)?;
    let (width, height) = decoder.dimensions();
    if u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(Refused::TooManyPixels { width, height });
    }
    let mut limits = Limits::default();
    limits.max_alloc = Some(MAX_PIXELS * 8);
    decoder.set_limits(limits).map_err(unreadable)?;
    // A picture whose orientation tag cannot be read is taken as it lies.
    let orientation = decoder.orientation().unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut picture = DynamicImage::from_decoder(decoder).map_err(unreadable)?;
    picture.apply_orientation(orientation);
    if picture.width().max(picture.height()) > LONG_SIDE {
        picture = picture.resize(LONG_SIDE, LONG_SIDE, image::imageops::FilterType::CatmullRom);
    }
    let upright = on_white(&picture);
    let mut out = Vec::new();
    let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, QUALITY);
    upright.write_with_encoder(encoder).map_err(unreadable)?;
    Ok(out)
}

/// The picture's colours with any transparency laid on white, as a cut-out product shot on
/// a page would show (JPEG has no transparency, and black behind a pendant looks wrong).
fn on_white(picture: &DynamicImage) -> image::RgbImage {
    if !picture.color().has_alpha() {
        return picture.to_rgb8();
    }
    let rgba = picture.to_rgba8();
    image::RgbImage::from_fn(rgba.width(), rgba.height(), |x, y| {
        let [r, g, b, a] = rgba.get_pixel(x, y).0;
        let over = |c: u8| ((u16::from(c) * u16::from(a) + 255 * (255 - u16::from(a))) / 255) as u8;
        image::Rgb([over(r), over(g), over(b)])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A JPEG of `width`x`height`, left half dark and right half light, with an EXIF block
    /// holding `orientation` and a maker's note that must not survive.
    fn photo_with_exif(width: u32, height: u32, orientation: u16) -> Vec<u8> {
        let picture = image::RgbImage::from_fn(width, height, |x, _| {
            if x < width / 2 { image::Rgb([20, 20, 20]) } else { image::Rgb([235, 235, 235]) }
        });
        let mut plain = Vec::new();
        DynamicImage::ImageRgb8(picture)
            .write_with_encoder(image::codecs::jpeg::JpegEncoder::new_with_quality(&mut plain, 90))
            .unwrap();
        // A little-endian TIFF block: IFD0 with Orientation (0x0112) and ImageDescription
        // (0x010E) pointing at text after the IFD.
        let secret = b"GPS 50.8225N 0.1372W phone SN-99812\0";
        let mut tiff = Vec::new();
        tiff.extend_from_slice(b"II*\0");
        tiff.extend_from_slice(&8u32.to_le_bytes());
        tiff.extend_from_slice(&2u16.to_le_bytes());
        tiff.extend_from_slice(&0x0112u16.to_le_bytes());
        tiff.extend_from_slice(&3u16.to_le_bytes());
        tiff.extend_from_slice(&1u32.to_le_bytes());
        tiff.extend_from_slice(&u32::from(orientation).to_le_bytes());
        tiff.extend_from_slice(&0x010Eu16.to_le_bytes());
        tiff.extend_from_slice(&2u16.to_le_bytes());
        tiff.extend_from_slice(&(secret.len() as u32).to_le_bytes());
        tiff.extend_from_slice(&(8u32 + 2 + 2 * 12 + 4).to_le_bytes());
        tiff.extend_from_slice(&0u32.to_le_bytes());
        tiff.extend_from_slice(secret);
        let mut app1 = b"Exif\0\0".to_vec();
        app1.extend_from_slice(&tiff);
        let mut out = plain[..2].to_vec();
        out.extend_from_slice(&[0xFF, 0xE1]);
        out.extend_from_slice(&((app1.len() + 2) as u16).to_be_bytes());
        out.extend_from_slice(&app1);
        out.extend_from_slice(&plain[2..]);
        out
    }

    fn contains(hay: &[u8], needle: &[u8]) -> bool {
        hay.windows(needle.len()).any(|w| w == needle)
    }

    #[test]
    fn a_phone_photo_comes_out_upright_smaller_and_without_its_metadata() {
        let upload = photo_with_exif(1600, 1200, 6);
        assert!(contains(&upload, b"SN-99812"), "the test's photo carries the note");
        let kept = prepare(&upload).unwrap();
        assert!(!contains(&kept, b"SN-99812") && !contains(&kept, b"Exif"), "no metadata is kept");
        let picture = image::load_from_memory(&kept).unwrap();
        // Orientation 6: the camera was turned a quarter; upright, the picture stands tall,
        // and what was on the left (dark) is now on top.
        assert_eq!((picture.width(), picture.height()), (600, 800));
        let luma = picture.to_luma8();
        assert!(luma.get_pixel(300, 100).0[0] < 80, "dark on top: {:?}", luma.get_pixel(300, 100));
        assert!(luma.get_pixel(300, 700).0[0] > 180, "light below: {:?}", luma.get_pixel(300, 700));
    }

    #[test]
    fn a_small_png_keeps_its_size_and_its_transparency_becomes_white() {
        let picture = image::RgbaImage::from_fn(300, 200, |x, _| {
            if x < 150 { image::Rgba([200, 30, 30, 255]) } else { image::Rgba([0, 0, 0, 0]) }
        });
        let mut png = Vec::new();
        DynamicImage::ImageRgba8(picture).write_to(&mut Cursor::new(&mut png), ImageFormat::Png).unwrap();
        let kept = image::load_from_memory(&prepare(&png).unwrap()).unwrap().to_rgb8();
        assert_eq!(kept.dimensions(), (300, 200));
        let [r, g, b] = kept.get_pixel(250, 100).0;
        assert!(r > 240 && g > 240 && b > 240, "transparent became white, not black: {r} {g} {b}");
        assert!(kept.get_pixel(50, 100).0[0] > 150, "the red half stays red");
    }

    #[test]
    fn what_is_not_a_photo_is_refused_in_words() {
        assert_eq!(prepare(b""), Err(Refused::Empty));
        assert_eq!(prepare(b"serial,title\nRG-2026-0001,Ring\n"), Err(Refused::NotAPicture));
        let mut gif = b"GIF89a".to_vec();
        gif.extend_from_slice(&[0; 20]);
        assert_eq!(prepare(&gif), Err(Refused::NotAPicture));
        // A JPEG cut off after its header: it is a JPEG, and unreadable.
        let whole = photo_with_exif(64, 64, 1);
        assert!(matches!(prepare(&whole[..whole.len() / 3]), Err(Refused::Unreadable(_))));
        // A JPEG whose frame header claims 60,000 x 60,000 pixels is refused before its
        // pixels are decoded.
        let mut huge = photo_with_exif(16, 16, 1);
        let sof = huge.windows(2).position(|w| w == [0xFF, 0xC0]).expect("a baseline frame header");
        huge[sof + 5..sof + 7].copy_from_slice(&60_000u16.to_be_bytes());
        huge[sof + 7..sof + 9].copy_from_slice(&60_000u16.to_be_bytes());
        assert_eq!(prepare(&huge), Err(Refused::TooManyPixels { width: 60_000, height: 60_000 }));
    }
}
