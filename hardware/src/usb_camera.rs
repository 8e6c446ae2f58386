//! A USB (UVC) camera through V4L2.
//!
//! The mode is chosen from what the camera offers, its frames become luma here (MJPEG by
//! `image`, YUYV and grey by hand), and a camera that is unplugged is reopened when it
//! comes back: the kiosk keeps selling by typed serials meanwhile. Only the device part
//! needs `nokhwa` (feature `camera-v4l2`); choosing a mode and converting frames are pure
//! and always built, so they are tested everywhere.

use std::path::Path;

use crate::camera::Frame;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PixelFormat {
    Mjpeg,
    Yuyv,
    Gray,
}

/// One way the camera can deliver frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mode {
    pub format: PixelFormat,
    pub width: u32,
    pub height: u32,
    pub fps: u32,
}

impl std::fmt::Display for Mode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?} {}x{} at {} fps", self.format, self.width, self.height, self.fps)
    }
}

/// The mode to ask for: the wanted size if offered, else the nearest by pixel count; at
/// that size a smooth rate (15 fps or more) first, then MJPEG, because uncompressed YUYV at
/// 720p usually fits USB 2 only at a few frames a second.
pub fn choose_mode(offered: &[Mode], want: (u32, u32)) -> Option<Mode> {
    let want_area = u64::from(want.0) * u64::from(want.1);
    offered.iter().copied().min_by_key(|m| {
        let area = u64::from(m.width) * u64::from(m.height);
        let size_miss =
            if (m.width, m.height) == want { 0 } else { 1 + area.abs_diff(want_area) * 1000 / want_area.max(1) };
        let format_rank = match m.format {
            PixelFormat::Mjpeg => 0,
            PixelFormat::Yuyv => 1,
            PixelFormat::Gray => 2,
        };
        (size_miss, m.fps < 15, format_rank, std::cmp::Reverse(m.fps.min(30)))
    })
}

/// One camera buffer as a luma frame.
pub fn to_frame(mode: &Mode, bytes: &[u8]) -> Result<Frame, String> {
    let (w, h) = (mode.width, mode.height);
    let pixels = w as usize * h as usize;
    match mode.format {
        PixelFormat::Mjpeg => decode_mjpeg(bytes),
        // Y0 U Y1 V: every other byte is the luma.
        PixelFormat::Yuyv if bytes.len() >= pixels * 2 => {
            Ok(Frame { width: w, height: h, luma: bytes.iter().step_by(2).take(pixels).copied().collect() })
        }
        PixelFormat::Gray if bytes.len() >= pixels => Ok(Frame { width: w, height: h, luma: bytes[..pixels].to_vec() }),
        _ => Err(format!("a {mode} frame of {} bytes is short", bytes.len())),
    }
}

/// Decodes an MJPEG frame. Many UVC cameras leave out the Huffman tables (every frame
/// uses the standard ones); the decoder fills those in for frames marked as AVI MJPEG,
/// so such a frame gets that mark.
pub fn decode_mjpeg(bytes: &[u8]) -> Result<Frame, String> {
    if bytes.starts_with(&[0xFF, 0xD8]) && !has_huffman_tables(bytes) {
        let mut marked = Vec::with_capacity(bytes.len() + 9);
        marked.extend_from_slice(&bytes[..2]);
        marked.extend_from_slice(&[0xFF, 0xE0, 0x00, 0x07, b'A', b'V', b'I', b'1', 0]);
        marked.extend_from_slice(&bytes[2..]);
        return crate::camera::decode_image(&marked);
    }
    crate::camera::decode_image(bytes)
}

/// Whether a DHT segment comes before the scan: walks the marker segments after SOI.
fn has_huffman_tables(jpeg: &[u8]) -> bool {
    let mut at = 2;
    while at + 4 <= jpeg.len() && jpeg[at] == 0xFF {
        match jpeg[at + 1] {
            0xC4 => return true,
            0xDA | 0xD9 => return false,
            _ => at += 2 + usize::from(u16::from_be_bytes([jpeg[at + 2], jpeg[at + 3]])),
        }
    }
    false
}

/// The V4L2 index of a device path: `/dev/video2`, or a udev link to it such as
/// `/dev/marketday-camera`; a bare number is an index already.
pub fn device_index(device: &str) -> Result<u32, String> {
    if let Ok(n) = device.parse() {
        return Ok(n);
    }
    let real = Path::new(device).canonicalize().map_err(|e| format!("{device}: {e}"))?;
    real.file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_prefix("video"))
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| format!("{device} is not a video device (/dev/videoN)"))
}

#[cfg(feature = "camera-v4l2")]
pub use device::UsbCamera;

#[cfg(feature = "camera-v4l2")]
mod device {
    use std::path::Path;
    use std::sync::{Arc, Condvar, Mutex, MutexGuard};
    use std::thread::{self, JoinHandle};
    use std::time::{Duration, Instant};

    use nokhwa::utils::{CameraFormat, CameraIndex, FrameFormat, RequestedFormat, RequestedFormatType, Resolution};

    use super::{Mode, PixelFormat, choose_mode, decode_mjpeg, device_index, has_huffman_tables, to_frame};
    use crate::camera::{Camera, CameraError, CameraStatus, Frame, Still, encode_jpeg};

    const FORMATS: &[FrameFormat] = &[FrameFormat::MJPEG, FrameFormat::YUYV, FrameFormat::GRAY];
    /// How often a missing or failed camera is looked for again.
    const RETRY: Duration = Duration::from_secs(1);
    /// With nobody asking for frames this long, the stream stops (and the camera rests).
    const IDLE: Duration = Duration::from_secs(5);

    struct State {
        latest: Option<(Vec<u8>, Mode)>,
        status: CameraStatus,
        name: String,
        wanted_at: Instant,
        stop: bool,
    }

    type Shared = Arc<(Mutex<State>, Condvar)>;

    fn lock(shared: &Shared) -> MutexGuard<'_, State> {
        shared.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A UVC camera on `/dev/videoN`, or the first one that captures when no device is
    /// configured. `nokhwa`'s camera is not `Send`, so it lives on a capture thread of its
    /// own, which keeps only the newest buffer. A missing camera is a status, never an
    /// error at start: it is looked for again every second, so plugging it in later works.
    pub struct UsbCamera {
        shared: Shared,
        name: String,
        thread: Option<JoinHandle<()>>,
    }

    impl UsbCamera {
        pub fn new(device: Option<String>, want: (u32, u32)) -> UsbCamera {
            let shared: Shared = Arc::new((
                Mutex::new(State {
                    latest: None,
                    status: CameraStatus::NoCamera,
                    name: "USB camera".into(),
                    // Open once at start, so the status bar knows at once whether there is a camera.
                    wanted_at: Instant::now(),
                    stop: false,
                }),
                Condvar::new(),
            ));
            let thread = {
                let shared = shared.clone();
                thread::Builder::new()
                    .name("usb-camera".into())
                    .spawn(move || capture(shared, device, want))
                    .expect("spawn camera capture thread")
            };
            UsbCamera { shared, name: "USB camera".into(), thread: Some(thread) }
        }
    }

    fn capture(shared: Shared, device: Option<String>, want: (u32, u32)) {
        let mut open: Option<(nokhwa::Camera, Mode, u32)> = None;
        let mut opened_index = None;
        loop {
            let wanted = {
                let state = lock(&shared);
                if state.stop {
                    return;
                }
                state.wanted_at.elapsed() < IDLE
            };
            if !wanted {
                if let Some((mut camera, ..)) = open.take() {
                    let _ = camera.stop_stream();
                }
                // Resting: still notice an unplug, so the status bar tells the truth.
                if opened_index.is_some_and(|i| !Path::new(&format!("/dev/video{i}")).exists()) {
                    lock(&shared).status = CameraStatus::Disconnected;
                }
                wait(&shared, Duration::from_millis(500));
                continue;
            }
            if open.is_none() {
                match open_first(device.as_deref(), want) {
                    Ok((camera, mode, index)) => {
                        let name = format!("{} (/dev/video{index})", camera.info().human_name());
                        tracing::info!(%mode, "camera {name} opened");
                        let mut state = lock(&shared);
                        state.status = CameraStatus::Ready;
                        state.name = name;
                        opened_index = Some(index);
                        open = Some((camera, mode, index));
                    }
                    Err(status) => {
                        // A camera that was here and is gone is unplugged, not absent.
                        let status = match status {
                            CameraStatus::NoCamera if opened_index.is_some() => CameraStatus::Disconnected,
                            other => other,
                        };
                        let mut state = lock(&shared);
                        if state.status != status {
                            tracing::warn!(?status, "camera not available");
                        }
                        state.status = status;
                        drop(state);
                        wait(&shared, RETRY);
                        continue;
                    }
                }
            }
            let Some((camera, mode, _)) = &mut open else { continue };
            let mode = *mode;
            match camera.frame_raw() {
                Ok(bytes) => {
                    let bytes = bytes.into_owned();
                    lock(&shared).latest = Some((bytes, mode));
                    shared.1.notify_all();
                }
                Err(e) => {
                    // Unplugged, or the driver gave up: close it and look for it again.
                    tracing::warn!("camera lost: {e}");
                    open = None;
                    let mut state = lock(&shared);
                    state.status = CameraStatus::Disconnected;
                    state.latest = None;
                    drop(state);
                    wait(&shared, RETRY);
                }
            }
        }
    }

    /// Sleeps until woken (a frame wanted, or stop) or the timeout.
    fn wait(shared: &Shared, timeout: Duration) {
        let state = lock(shared);
        if !state.stop {
            let _ = shared.1.wait_timeout(state, timeout);
        }
    }

    fn open_first(device: Option<&str>, want: (u32, u32)) -> Result<(nokhwa::Camera, Mode, u32), CameraStatus> {
        let candidates: Vec<u32> = match device {
            Some(device) => vec![device_index(device).map_err(|_| CameraStatus::NoCamera)?],
            None => {
                let mut found: Vec<u32> = std::fs::read_dir("/dev")
                    .map_err(|e| CameraStatus::Error(format!("/dev: {e}")))?
                    .filter_map(|e| e.ok()?.file_name().to_str()?.strip_prefix("video")?.parse().ok())
                    .collect();
                found.sort_unstable();
                found
            }
        };
        let mut last_error = None;
        for index in candidates {
            match open(index, want) {
                Ok((camera, mode)) => return Ok((camera, mode, index)),
                // A camera's metadata node offers no capture mode: try the next node.
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error.map_or(CameraStatus::NoCamera, CameraStatus::Error))
    }

    fn open(index: u32, want: (u32, u32)) -> Result<(nokhwa::Camera, Mode), String> {
        let fail = |e: nokhwa::NokhwaError| friendly(index, &e.to_string());
        let any = RequestedFormat::with_formats(RequestedFormatType::AbsoluteHighestFrameRate, FORMATS);
        let mut camera = nokhwa::Camera::new(CameraIndex::Index(index), any).map_err(fail)?;
        let offered: Vec<Mode> = camera
            .compatible_camera_formats()
            .map_err(fail)?
            .into_iter()
            .filter_map(|f| {
                let format = match f.format() {
                    FrameFormat::MJPEG => PixelFormat::Mjpeg,
                    FrameFormat::YUYV => PixelFormat::Yuyv,
                    FrameFormat::GRAY => PixelFormat::Gray,
                    _ => return None,
                };
                Some(Mode { format, width: f.width(), height: f.height(), fps: f.frame_rate() })
            })
            .collect();
        let mode = choose_mode(&offered, want)
            .ok_or_else(|| format!("/dev/video{index} offers no MJPEG, YUYV or grey mode"))?;
        let format = match mode.format {
            PixelFormat::Mjpeg => FrameFormat::MJPEG,
            PixelFormat::Yuyv => FrameFormat::YUYV,
            PixelFormat::Gray => FrameFormat::GRAY,
        };
        let exact = CameraFormat::new(Resolution::new(mode.width, mode.height), format, mode.fps);
        camera
            .set_camera_requset(RequestedFormat::with_formats(RequestedFormatType::Exact(exact), FORMATS))
            .map_err(fail)?;
        camera.open_stream().map_err(fail)?;
        Ok((camera, mode))
    }

    /// V4L2's errors in words staff can act on.
    fn friendly(index: u32, error: &str) -> String {
        let device = format!("/dev/video{index}");
        if error.contains("Permission denied") {
            format!("{device}: permission denied (the kiosk user must be in the 'video' group)")
        } else if error.contains("busy") {
            format!("{device} is in use by another program")
        } else {
            format!("{device}: {error}")
        }
    }

    impl Camera for UsbCamera {
        fn name(&self) -> &str {
            &self.name
        }

        fn status(&self) -> CameraStatus {
            lock(&self.shared).status.clone()
        }

        fn next_frame(&mut self) -> Result<Frame, CameraError> {
            let (bytes, mode) = self.next_buffer()?;
            to_frame(&mode, &bytes).map_err(|reason| CameraError::Device { device: self.name.clone(), reason })
        }

        /// An MJPEG camera's own frame is the photo, colour and all, unless it lacks the
        /// Huffman tables that other programs need to open it: then it is re-encoded.
        fn still(&mut self) -> Result<Still, CameraError> {
            let (bytes, mode) = self.next_buffer()?;
            if mode.format == PixelFormat::Mjpeg && has_huffman_tables(&bytes) {
                let frame =
                    decode_mjpeg(&bytes).map_err(|reason| CameraError::Device { device: self.name.clone(), reason })?;
                return Ok(Still { width: frame.width, height: frame.height, jpeg: bytes });
            }
            let frame =
                to_frame(&mode, &bytes).map_err(|reason| CameraError::Device { device: self.name.clone(), reason })?;
            Ok(Still { width: frame.width, height: frame.height, jpeg: encode_jpeg(&frame)? })
        }
    }

    impl UsbCamera {
        /// The newest buffer, waiting up to a second for one.
        fn next_buffer(&mut self) -> Result<(Vec<u8>, Mode), CameraError> {
            let (lock_, changed) = &*self.shared;
            let mut state = lock_.lock().unwrap_or_else(|e| e.into_inner());
            state.wanted_at = Instant::now();
            changed.notify_all();
            let deadline = Instant::now() + RETRY;
            while state.latest.is_none() && !state.stop {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break;
                }
                state = changed.wait_timeout(state, left).unwrap_or_else(|e| e.into_inner()).0;
            }
            self.name.clone_from(&state.name);
            match state.latest.take() {
                Some(buffer) => Ok(buffer),
                None => Err(match &state.status {
                    CameraStatus::Error(reason) => {
                        CameraError::Device { device: self.name.clone(), reason: reason.clone() }
                    }
                    CameraStatus::Disconnected => {
                        CameraError::Device { device: self.name.clone(), reason: "unplugged".into() }
                    }
                    _ => CameraError::NoCamera,
                }),
            }
        }
    }

    impl Drop for UsbCamera {
        fn drop(&mut self) {
            lock(&self.shared).stop = true;
            self.shared.1.notify_all();
            if let Some(t) = self.thread.take() {
                let _ = t.join();
            }
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        /// No real camera here: a configured device that does not exist is "no camera",
        /// promptly, and asking for frames says so instead of blocking or panicking.
        #[test]
        fn a_missing_camera_is_a_status_not_a_failure() {
            let mut camera = UsbCamera::new(Some("/dev/marketday-no-such-camera".into()), (1280, 720));
            let started = Instant::now();
            let err = camera.next_frame().unwrap_err();
            assert!(matches!(err, CameraError::NoCamera), "{err}");
            assert!(started.elapsed() < Duration::from_secs(3));
            assert_eq!(camera.status(), CameraStatus::NoCamera);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(format: PixelFormat, width: u32, height: u32, fps: u32) -> Mode {
        Mode { format, width, height, fps }
    }

    #[test]
    fn prefers_the_wanted_size_then_a_smooth_rate_then_mjpeg() {
        use PixelFormat::*;
        let offered = [
            mode(Yuyv, 640, 480, 30),
            mode(Yuyv, 1280, 720, 10),
            mode(Mjpeg, 1280, 720, 30),
            mode(Mjpeg, 1920, 1080, 30),
        ];
        assert_eq!(choose_mode(&offered, (1280, 720)), Some(mode(Mjpeg, 1280, 720, 30)));
        // Only slow YUYV at the wanted size: still the wanted size, since codes need pixels.
        assert_eq!(choose_mode(&offered[..2], (1280, 720)), Some(mode(Yuyv, 1280, 720, 10)));
        // Not offered: the nearest size.
        assert_eq!(choose_mode(&offered, (1024, 768)), Some(mode(Mjpeg, 1280, 720, 30)));
        assert_eq!(choose_mode(&[mode(Gray, 640, 480, 60)], (1280, 720)), Some(mode(Gray, 640, 480, 60)));
        assert_eq!(choose_mode(&[], (1280, 720)), None);
    }

    #[test]
    fn yuyv_and_grey_buffers_become_luma_and_short_ones_are_refused() {
        let m = mode(PixelFormat::Yuyv, 2, 2, 30);
        let f = to_frame(&m, &[10, 128, 20, 128, 30, 128, 40, 128]).unwrap();
        assert_eq!((f.width, f.height, f.luma), (2, 2, vec![10, 20, 30, 40]));
        assert!(to_frame(&m, &[10, 128, 20]).unwrap_err().contains("short"));
        let g = mode(PixelFormat::Gray, 2, 1, 30);
        assert_eq!(to_frame(&g, &[7, 9, 11]).unwrap().luma, vec![7, 9]);
    }

    /// A JPEG as a camera sends it: encoded with the standard tables, then with its DHT
    /// segments removed.
    fn jpeg_without_tables(width: u32, height: u32) -> (Vec<u8>, Vec<u8>) {
        let luma: Vec<u8> = (0..width * height).map(|i| if (i % width) < width / 2 { 30 } else { 220 }).collect();
        let img = image::GrayImage::from_raw(width, height, luma).unwrap();
        let mut jpeg = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 90)
            .encode_image(&image::DynamicImage::ImageLuma8(img).to_rgb8())
            .unwrap();
        let mut stripped = jpeg[..2].to_vec();
        let mut at = 2;
        while jpeg[at] == 0xFF && jpeg[at + 1] != 0xDA {
            let len = 2 + usize::from(u16::from_be_bytes([jpeg[at + 2], jpeg[at + 3]]));
            if jpeg[at + 1] != 0xC4 {
                stripped.extend_from_slice(&jpeg[at..at + len]);
            }
            at += len;
        }
        stripped.extend_from_slice(&jpeg[at..]);
        (jpeg, stripped)
    }

    #[test]
    fn mjpeg_frames_without_huffman_tables_decode() {
        let (whole, stripped) = jpeg_without_tables(64, 48);
        assert!(has_huffman_tables(&whole));
        assert!(!has_huffman_tables(&stripped));
        assert!(crate::camera::decode_image(&stripped).is_err(), "the plain decoder needs the tables");
        let from_camera = decode_mjpeg(&stripped).unwrap();
        let reference = decode_mjpeg(&whole).unwrap();
        assert_eq!((from_camera.width, from_camera.height), (64, 48));
        assert_eq!(from_camera.luma, reference.luma);
        assert!(from_camera.luma[0] < 60 && from_camera.luma[63] > 190);
        assert!(decode_mjpeg(&[0xFF, 0xD8, 0xFF]).is_err());
    }

    #[test]
    fn device_paths_name_their_index() {
        assert_eq!(device_index("2"), Ok(2));
        let dir = tempfile_dir();
        let target = dir.join("video7");
        std::fs::write(&target, b"").unwrap();
        let link = dir.join("marketday-camera");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert_eq!(device_index(link.to_str().unwrap()), Ok(7));
        let other = dir.join("ttyUSB0");
        std::fs::write(&other, b"").unwrap();
        assert!(device_index(other.to_str().unwrap()).unwrap_err().contains("not a video device"));
        assert!(device_index("/dev/no-such-camera").is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn tempfile_dir() -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("md-usbcam-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
