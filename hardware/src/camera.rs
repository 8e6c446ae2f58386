//! Cameras: a source of grey-scale frames for QR decoding and photos.

use std::fs;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CameraStatus {
    Ready,
    /// No camera is configured or found: the kiosk works by typing serials.
    NoCamera,
    Disconnected,
    Error(String),
}

pub use marketday_scan::Frame;

#[derive(Debug, thiserror::Error)]
pub enum CameraError {
    #[error("no camera")]
    NoCamera,
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("camera {device}: {reason}")]
    Device { device: String, reason: String },
    #[error("{path} is not a readable image: {reason}")]
    BadImage { path: PathBuf, reason: String },
}

/// A photo taken now, as JPEG: a dispatch proof.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Still {
    pub width: u32,
    pub height: u32,
    pub jpeg: Vec<u8>,
}

pub trait Camera: Send {
    fn name(&self) -> &str;
    fn status(&self) -> CameraStatus;
    /// The next frame; blocks for at most a frame interval on real hardware.
    fn next_frame(&mut self) -> Result<Frame, CameraError>;
    /// A photo taken at this moment, at the camera's full frame size. Cameras that
    /// deliver JPEG already hand over their own bytes; others encode the next frame.
    fn still(&mut self) -> Result<Still, CameraError> {
        let frame = self.next_frame()?;
        Ok(Still { width: frame.width, height: frame.height, jpeg: encode_jpeg(&frame)? })
    }
}

/// Encodes a frame as a JPEG (quality 85: a parcel's label stays legible, a 720p photo
/// stays around 100-200 kB).
pub fn encode_jpeg(frame: &Frame) -> Result<Vec<u8>, CameraError> {
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 85)
        .encode(&frame.luma, frame.width, frame.height, image::ExtendedColorType::L8)
        .map_err(|e| CameraError::Device { device: "JPEG encoder".into(), reason: e.to_string() })?;
    Ok(jpeg)
}

/// Plays a folder of images (PNG, JPEG, PGM) in name order, looping; with no folder it produces a
/// moving test pattern so the preview visibly runs.
pub struct SimulatedCamera {
    frames: Vec<PathBuf>,
    generated: Vec<Frame>,
    /// How many times each generated frame is delivered before the next.
    repeat: usize,
    index: usize,
    size: (u32, u32),
}

impl SimulatedCamera {
    pub fn from_folder(dir: &Path) -> Result<SimulatedCamera, CameraError> {
        let io = |source| CameraError::Io { path: dir.to_owned(), source };
        let mut frames: Vec<PathBuf> = fs::read_dir(dir)
            .map_err(io)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.extension()
                    .and_then(|x| x.to_str())
                    .is_some_and(|x| ["pgm", "png", "jpg", "jpeg"].iter().any(|known| x.eq_ignore_ascii_case(known)))
            })
            .collect();
        frames.sort();
        Ok(SimulatedCamera { frames, generated: Vec::new(), repeat: 1, index: 0, size: (640, 480) })
    }

    pub fn test_pattern(width: u32, height: u32) -> SimulatedCamera {
        SimulatedCamera { frames: Vec::new(), generated: Vec::new(), repeat: 1, index: 0, size: (width, height) }
    }

    /// Plays frames made in memory (see `scan::synth`), each `repeat` times, looping.
    pub fn from_frames(frames: Vec<Frame>, repeat: usize) -> SimulatedCamera {
        SimulatedCamera { frames: Vec::new(), generated: frames, repeat: repeat.max(1), index: 0, size: (640, 480) }
    }
}

impl Camera for SimulatedCamera {
    fn name(&self) -> &str {
        "Simulated camera"
    }

    fn status(&self) -> CameraStatus {
        CameraStatus::Ready
    }

    fn next_frame(&mut self) -> Result<Frame, CameraError> {
        let i = self.index;
        self.index = self.index.wrapping_add(1);
        if !self.generated.is_empty() {
            return Ok(self.generated[(i / self.repeat) % self.generated.len()].clone());
        }
        if self.frames.is_empty() {
            let (w, h) = self.size;
            let shift = (i % 256) as u32;
            let luma = (0..h).flat_map(|y| (0..w).map(move |x| ((x + y + shift) % 256) as u8)).collect();
            return Ok(Frame { width: w, height: h, luma });
        }
        read_image(&self.frames[i % self.frames.len()])
    }
}

/// Reads a still image (PNG, JPEG or PGM) as a grey frame.
pub fn read_image(path: &Path) -> Result<Frame, CameraError> {
    let bytes = fs::read(path).map_err(|source| CameraError::Io { path: path.to_owned(), source })?;
    decode_image(&bytes).map_err(|reason| CameraError::BadImage { path: path.to_owned(), reason })
}

/// Decodes PNG, JPEG (a camera's MJPEG frame too) or PGM bytes to luma.
pub fn decode_image(bytes: &[u8]) -> Result<Frame, String> {
    let img = image::load_from_memory(bytes).map_err(|e| e.to_string())?.into_luma8();
    Ok(Frame { width: img.width(), height: img.height(), luma: img.into_raw() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plays_pgm_files_in_order_and_loops() {
        let dir = std::env::temp_dir().join(format!("md-camera-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("a.pgm"), b"P5\n# first\n2 1\n255\n\x00\xff").unwrap();
        fs::write(dir.join("b.pgm"), b"P5 1 1 255\n\x80").unwrap();
        fs::write(dir.join("notes.txt"), b"ignored").unwrap();
        let mut cam = SimulatedCamera::from_folder(&dir).unwrap();
        assert_eq!(cam.next_frame().unwrap().luma, vec![0, 255]);
        assert_eq!(cam.next_frame().unwrap().luma, vec![128]);
        assert_eq!(cam.next_frame().unwrap().width, 2);
        fs::write(dir.join("c.pgm"), b"P5 4 4 255\n\x00").unwrap();
        assert!(matches!(read_image(&dir.join("c.pgm")), Err(CameraError::BadImage { .. })));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn test_pattern_moves() {
        let mut cam = SimulatedCamera::test_pattern(8, 8);
        let a = cam.next_frame().unwrap();
        let b = cam.next_frame().unwrap();
        assert_eq!(a.luma.len(), 64);
        assert_ne!(a, b);
    }
}
