//! 1-bit images for thermal heads: logos dithered from PNG, QR codes drawn as dots, and
//! the `GS v 0` raster command that carries them.

use qrcode::{Color, EcLevel, QrCode};

/// A black-and-white image, one `bool` per dot (`true` burns the paper).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bitmap {
    pub width: usize,
    pub height: usize,
    pub dots: Vec<bool>,
}

#[derive(Debug, thiserror::Error)]
pub enum RasterError {
    #[error("the logo is not a readable PNG: {0}")]
    Png(#[from] png::DecodingError),
    #[error("the logo has an unsupported pixel format ({0:?})")]
    Format(png::ColorType),
    #[error("text too long for a QR code ({0} bytes)")]
    QrTooLong(usize),
}

impl Bitmap {
    pub fn blank(width: usize, height: usize) -> Bitmap {
        Bitmap { width, height, dots: vec![false; width * height] }
    }

    pub fn get(&self, x: usize, y: usize) -> bool {
        self.dots[y * self.width + x]
    }

    /// Scales a greyscale image (0 black .. 255 white) to `width` dots and dithers it with
    /// Floyd-Steinberg, which keeps the grey of a logo's shading instead of a blotch.
    pub fn dither(luma: &[u8], src_w: usize, src_h: usize, width: usize) -> Bitmap {
        let height = (src_h * width).div_ceil(src_w.max(1)).max(1);
        // Area-average downscale (box filter) so thin strokes are not dropped.
        let mut grey = vec![0f32; width * height];
        for (y, row) in grey.chunks_mut(width).enumerate() {
            let (y0, y1) = (y * src_h / height, ((y + 1) * src_h).div_ceil(height).min(src_h));
            for (x, g) in row.iter_mut().enumerate() {
                let (x0, x1) = (x * src_w / width, ((x + 1) * src_w).div_ceil(width).min(src_w));
                let (mut sum, mut n) = (0u32, 0u32);
                for sy in y0..y1.max(y0 + 1) {
                    for sx in x0..x1.max(x0 + 1) {
                        sum += u32::from(luma[sy * src_w + sx]);
                        n += 1;
                    }
                }
                *g = sum as f32 / n as f32;
            }
        }
        let mut out = Bitmap::blank(width, height);
        for y in 0..height {
            for x in 0..width {
                let old = grey[y * width + x];
                let black = old < 128.0;
                out.dots[y * width + x] = black;
                let err = old - if black { 0.0 } else { 255.0 };
                let mut spread = |dx: isize, dy: usize, w: f32| {
                    let nx = x as isize + dx;
                    if nx >= 0 && (nx as usize) < width && y + dy < height {
                        grey[(y + dy) * width + nx as usize] += err * w;
                    }
                };
                spread(1, 0, 7.0 / 16.0);
                spread(-1, 1, 3.0 / 16.0);
                spread(0, 1, 5.0 / 16.0);
                spread(1, 1, 1.0 / 16.0);
            }
        }
        out
    }

    /// Decodes a PNG (transparency counts as white paper), trims its white margins and
    /// dithers it to fit `max_width` x `max_height` dots; smaller logos keep their size.
    /// Every dot row costs serial time, so logos are kept to a small box.
    pub fn from_png(bytes: &[u8], max_width: usize, max_height: usize) -> Result<Bitmap, RasterError> {
        let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
        decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
        let mut reader = decoder.read_info()?;
        let mut buf = vec![0; reader.output_buffer_size().unwrap_or(0)];
        let info = reader.next_frame(&mut buf)?;
        let (w, h) = (info.width as usize, info.height as usize);
        let channels = match info.color_type {
            png::ColorType::Grayscale => 1,
            png::ColorType::GrayscaleAlpha => 2,
            png::ColorType::Rgb => 3,
            png::ColorType::Rgba => 4,
            other => return Err(RasterError::Format(other)),
        };
        let luma: Vec<u8> = buf[..w * h * channels]
            .chunks(channels)
            .map(|p| {
                let (v, alpha) = match channels {
                    1 => (f32::from(p[0]), 255.0),
                    2 => (f32::from(p[0]), f32::from(p[1])),
                    _ => {
                        let v = 0.299 * f32::from(p[0]) + 0.587 * f32::from(p[1]) + 0.114 * f32::from(p[2]);
                        (v, if channels == 4 { f32::from(p[3]) } else { 255.0 })
                    }
                };
                let a = alpha / 255.0;
                (v * a + 255.0 * (1.0 - a)).round() as u8
            })
            .collect();
        let (luma, w, h) = trim_white(luma, w, h);
        let width = w.min(max_width).min(w * max_height / h.max(1)).max(1);
        Ok(Bitmap::dither(&luma, w, h, width))
    }

    /// A QR code at error correction M, `module` dots per module. The quiet zone is left
    /// to the paper around it (the encoder feeds it), so it costs no raster bytes.
    pub fn qr(payload: &str, module: usize) -> Result<Bitmap, RasterError> {
        let code = qr_code(payload)?;
        let n = code.width();
        let colors = code.to_colors();
        let side = n * module;
        let mut out = Bitmap::blank(side, side);
        for y in 0..side {
            for x in 0..side {
                out.dots[y * side + x] = colors[(y / module) * n + x / module] == Color::Dark;
            }
        }
        Ok(out)
    }

    /// `GS v 0` commands carrying this image, split into bands of at most `max_band_bytes`
    /// so no single command overruns a small printer's input buffer.
    pub fn raster_bands(&self, max_band_bytes: usize) -> Vec<Vec<u8>> {
        let row_bytes = self.width.div_ceil(8);
        let rows_per_band = (max_band_bytes / row_bytes.max(1)).clamp(1, self.height.max(1));
        (0..self.height)
            .step_by(rows_per_band)
            .map(|y0| {
                let rows = rows_per_band.min(self.height - y0);
                let mut cmd = vec![0x1d, b'v', b'0', 0];
                cmd.extend_from_slice(&(row_bytes as u16).to_le_bytes());
                cmd.extend_from_slice(&(rows as u16).to_le_bytes());
                for y in y0..y0 + rows {
                    for bx in 0..row_bytes {
                        let mut byte = 0u8;
                        for bit in 0..8 {
                            let x = bx * 8 + bit;
                            if x < self.width && self.get(x, y) {
                                byte |= 0x80 >> bit;
                            }
                        }
                        cmd.push(byte);
                    }
                }
                cmd
            })
            .collect()
    }
}

/// Crops rows and columns that are (nearly) white all the way across.
fn trim_white(luma: Vec<u8>, w: usize, h: usize) -> (Vec<u8>, usize, usize) {
    let ink = |x: usize, y: usize| luma[y * w + x] < 240;
    let rows: Vec<usize> = (0..h).filter(|&y| (0..w).any(|x| ink(x, y))).collect();
    let cols: Vec<usize> = (0..w).filter(|&x| (0..h).any(|y| ink(x, y))).collect();
    let (Some(&y0), Some(&y1), Some(&x0), Some(&x1)) = (rows.first(), rows.last(), cols.first(), cols.last()) else {
        return (luma, w, h);
    };
    let (cw, ch) = (x1 - x0 + 1, y1 - y0 + 1);
    let mut out = Vec::with_capacity(cw * ch);
    for y in y0..=y1 {
        out.extend_from_slice(&luma[y * w + x0..=y * w + x1]);
    }
    (out, cw, ch)
}

/// The QR symbol for `payload` at error correction M: 15% of the code can be scuffed and
/// it still scans, without the size of Q or H on a small sticker.
pub fn qr_code(payload: &str) -> Result<QrCode, RasterError> {
    QrCode::with_error_correction_level(payload.as_bytes(), EcLevel::M)
        .map_err(|_| RasterError::QrTooLong(payload.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dithering_keeps_mid_grey_half_black() {
        let grey = vec![128u8; 64 * 64];
        let b = Bitmap::dither(&grey, 64, 64, 32);
        assert_eq!((b.width, b.height), (32, 32));
        let black = b.dots.iter().filter(|d| **d).count();
        assert!((400..=624).contains(&black), "{black} of 1024 black");
        let white = Bitmap::dither(&[255; 16], 4, 4, 4);
        assert!(white.dots.iter().all(|d| !d));
    }

    #[test]
    fn raster_bands_cover_every_row_within_the_size_limit() {
        let mut b = Bitmap::blank(10, 50);
        b.dots[0] = true; // top-left dot
        b.dots[49 * 10 + 9] = true; // bottom-right dot
        let bands = b.raster_bands(40);
        // 2 bytes per row, 20 rows per band: 20 + 20 + 10.
        assert_eq!(bands.len(), 3);
        assert_eq!(&bands[0][..8], &[0x1d, b'v', b'0', 0, 2, 0, 20, 0]);
        assert_eq!(bands[0][8], 0x80);
        assert_eq!(&bands[2][4..8], &[2, 0, 10, 0]);
        assert_eq!(*bands[2].last().unwrap(), 0x40);
        assert!(bands.iter().all(|c| c.len() - 8 <= 40));
    }

    #[test]
    fn logos_fit_their_box_keeping_proportions() {
        let mut png_bytes = Vec::new();
        {
            let mut enc = png::Encoder::new(&mut png_bytes, 400, 100);
            enc.set_color(png::ColorType::Grayscale);
            enc.write_header().unwrap().write_image_data(&[0u8; 400 * 100]).unwrap();
        }
        let b = Bitmap::from_png(&png_bytes, 256, 40).unwrap();
        assert_eq!((b.width, b.height), (160, 40));
    }

    #[test]
    fn png_logo_with_transparency_prints_on_white() {
        let mut png_bytes = Vec::new();
        {
            let mut enc = png::Encoder::new(&mut png_bytes, 2, 1);
            enc.set_color(png::ColorType::Rgba);
            let mut w = enc.write_header().unwrap();
            // A transparent pixel, then an opaque black one.
            w.write_image_data(&[0, 0, 0, 0, 0, 0, 0, 255]).unwrap();
        }
        // The transparent column is trimmed as margin; the black dot stays.
        let b = Bitmap::from_png(&png_bytes, 100, 100).unwrap();
        assert_eq!((b.width, b.dots.clone()), (1, vec![true]));
        assert!(matches!(Bitmap::from_png(b"not a png", 100, 100), Err(RasterError::Png(_))));
    }
}
