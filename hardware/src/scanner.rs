//! The camera and the scanner on their own threads, so neither ever blocks the UI.
//!
//! The camera thread keeps only the newest frame for the scanner: if decoding is slower
//! than the camera, frames in between are dropped, never queued, so what is decoded is
//! always what is in front of the lens now. A code held in view is reported once, not
//! at every frame, until it has been out of view for a moment.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::camera::{Camera, CameraError, CameraStatus, Frame, Still};
use marketday_scan::{Code, Steps, scan};

/// Codes first seen in a frame, with how long the frame waited and took to decode.
#[derive(Debug, Clone)]
pub struct ScanEvent {
    pub codes: Vec<Code>,
    /// When the camera delivered the frame: the start of end-to-end latency.
    pub frame_at: Instant,
    pub decode: Duration,
    /// Frame size, for mapping corners onto the preview.
    pub size: (u32, u32),
}

/// Forgets a code once it has been out of view this long, so showing it again reads it again.
const REPEAT_AFTER: Duration = Duration::from_millis(1500);

#[derive(Default)]
pub struct Dedupe {
    last_seen: HashMap<String, Instant>,
}

impl Dedupe {
    /// The codes not seen within the last moment; every code's sighting is refreshed.
    pub fn fresh(&mut self, codes: Vec<Code>, now: Instant) -> Vec<Code> {
        self.last_seen.retain(|_, seen| now.duration_since(*seen) < REPEAT_AFTER);
        codes.into_iter().filter(|c| self.last_seen.insert(c.text.clone(), now).is_none()).collect()
    }
}

type Slot = Arc<(Mutex<Option<(Frame, Instant)>>, Condvar)>;

/// The newest preview frame, downscaled, with the outline of the last code seen.
#[derive(Debug, Clone, Default)]
pub struct Preview {
    pub frame: Option<Frame>,
    /// Corners in preview pixels, while the code is fresh.
    pub outline: Option<[marketday_scan::Pt; 4]>,
    pub frames: u64,
    /// When each code was last read in a frame (codes out of view for a while are dropped),
    /// so a screen can tell a code still held up from one taken away.
    pub last_read: HashMap<String, Instant>,
}

/// How long a code is remembered in [`Preview::last_read`] after it was last read.
const REMEMBER_READ_FOR: Duration = Duration::from_secs(30);

/// Where the camera thread answers a request for a photo.
pub type StillReply = Receiver<Result<Still, CameraError>>;

pub struct CameraFeed {
    stills: Sender<Sender<Result<Still, CameraError>>>,
    preview: Arc<Mutex<Preview>>,
    status: Arc<Mutex<CameraStatus>>,
    active: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    forget: Arc<AtomicBool>,
    events: Receiver<ScanEvent>,
    threads: Vec<JoinHandle<()>>,
    slot: Slot,
}

/// Widest preview frame sent to the UI; the screen shows it at about this size.
pub const PREVIEW_WIDTH: u32 = 320;

impl CameraFeed {
    /// Starts the camera and scanner threads; `interval` paces cameras that would
    /// otherwise deliver frames as fast as they can (the simulated one).
    pub fn start(mut camera: Box<dyn Camera>, interval: Duration, steps: Steps) -> CameraFeed {
        let preview = Arc::new(Mutex::new(Preview::default()));
        let status = Arc::new(Mutex::new(camera.status()));
        let active = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let forget = Arc::new(AtomicBool::new(false));
        let slot: Slot = Arc::new((Mutex::new(None), Condvar::new()));
        let (tx, events) = mpsc::channel();
        let (stills, still_requests) = mpsc::channel::<Sender<Result<Still, CameraError>>>();

        let scanner = {
            let (slot, stop, forget, preview) = (slot.clone(), stop.clone(), forget.clone(), preview.clone());
            thread::Builder::new()
                .name("scanner".into())
                .spawn(move || scan_loop(slot, stop, forget, steps, tx, preview))
                .expect("spawn scanner thread")
        };
        let camera_thread = {
            let (slot, stop, preview, status, active) =
                (slot.clone(), stop.clone(), preview.clone(), status.clone(), active.clone());
            thread::Builder::new()
                .name("camera".into())
                .spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        // A photo asked for is taken now, whether or not a screen scans.
                        if let Ok(reply) = still_requests.try_recv() {
                            let _ = reply.send(camera.still());
                            *status.lock().unwrap_or_else(|e| e.into_inner()) = camera.status();
                            continue;
                        }
                        if !active.load(Ordering::Relaxed) {
                            thread::sleep(Duration::from_millis(50));
                            continue;
                        }
                        let started = Instant::now();
                        let frame = camera.next_frame();
                        *status.lock().unwrap_or_else(|e| e.into_inner()) = camera.status();
                        match frame {
                            Ok(frame) => {
                                let small = downscale(&frame, PREVIEW_WIDTH);
                                {
                                    let mut p = preview.lock().unwrap_or_else(|e| e.into_inner());
                                    p.frame = Some(small);
                                    p.frames += 1;
                                }
                                let (lock, ready) = &*slot;
                                *lock.lock().unwrap_or_else(|e| e.into_inner()) = Some((frame, Instant::now()));
                                ready.notify_one();
                            }
                            Err(e) => {
                                tracing::warn!("camera: {e}");
                                thread::sleep(Duration::from_millis(500));
                            }
                        }
                        if let Some(rest) = interval.checked_sub(started.elapsed()) {
                            thread::sleep(rest);
                        }
                    }
                })
                .expect("spawn camera thread")
        };
        CameraFeed {
            stills,
            preview,
            status,
            active,
            stop,
            forget,
            events,
            threads: vec![scanner, camera_thread],
            slot,
        }
    }

    /// Codes in view count as new again: the screen changed, and what the camera sees now
    /// is meant for the new screen (a slip already read on another screen, say).
    pub fn forget_seen(&self) {
        self.forget.store(true, Ordering::Relaxed);
    }

    /// Frames are only taken while a screen that scans is showing.
    pub fn set_active(&self, on: bool) {
        self.active.store(on, Ordering::Relaxed);
    }

    pub fn status(&self) -> CameraStatus {
        self.status.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn preview(&self) -> Preview {
        self.preview.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Asks the camera thread for a photo taken at this moment (a courier's proof); the
    /// answer arrives on the returned channel, so the UI never waits on the camera.
    pub fn request_still(&self) -> StillReply {
        let (reply, answer) = mpsc::channel();
        if self.stills.send(reply.clone()).is_err() {
            let _ = reply.send(Err(CameraError::NoCamera));
        }
        answer
    }

    /// The next batch of newly seen codes, if any; never blocks.
    pub fn try_event(&self) -> Option<ScanEvent> {
        self.events.try_recv().ok()
    }
}

impl Drop for CameraFeed {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        self.slot.1.notify_all();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

fn scan_loop(
    slot: Slot,
    stop: Arc<AtomicBool>,
    forget: Arc<AtomicBool>,
    steps: Steps,
    tx: Sender<ScanEvent>,
    preview: Arc<Mutex<Preview>>,
) {
    let mut dedupe = Dedupe::default();
    let mut outline_until = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        if forget.swap(false, Ordering::Relaxed) {
            dedupe = Dedupe::default();
        }
        let (frame, frame_at) = {
            let (lock, ready) = &*slot;
            let mut guard = lock.lock().unwrap_or_else(|e| e.into_inner());
            loop {
                if stop.load(Ordering::Relaxed) {
                    return;
                }
                if let Some(taken) = guard.take() {
                    break taken;
                }
                guard = ready.wait_timeout(guard, Duration::from_millis(200)).unwrap_or_else(|e| e.into_inner()).0;
            }
        };
        let started = Instant::now();
        let codes = scan(&frame, steps);
        let decode = started.elapsed();
        {
            let mut p = preview.lock().unwrap_or_else(|e| e.into_inner());
            let k = f64::from(PREVIEW_WIDTH.min(frame.width)) / f64::from(frame.width.max(1));
            let now = Instant::now();
            if let Some(c) = codes.first() {
                p.outline = Some(c.corners.map(|q| q.scale(k)));
                // Long enough to ride over a frame that misses a code still in view, short
                // enough that the outline never lingers over nothing.
                outline_until = now + Duration::from_millis(250);
            } else if now > outline_until {
                p.outline = None;
            }
            p.last_read.retain(|_, at| now.duration_since(*at) < REMEMBER_READ_FOR);
            for c in &codes {
                p.last_read.insert(c.text.clone(), now);
            }
        }
        let fresh = dedupe.fresh(codes, Instant::now());
        if !fresh.is_empty() {
            tracing::debug!(decode_ms = decode.as_secs_f64() * 1e3, "read {} code(s)", fresh.len());
            let event = ScanEvent { codes: fresh, frame_at, decode, size: (frame.width, frame.height) };
            if tx.send(event).is_err() {
                return;
            }
        }
    }
}

/// Nearest-neighbour downscale to at most `max_width` wide: cheap, and enough for a preview.
pub fn downscale(frame: &Frame, max_width: u32) -> Frame {
    if frame.width <= max_width || frame.width == 0 {
        return frame.clone();
    }
    let (w, h) = (max_width, (u64::from(frame.height) * u64::from(max_width) / u64::from(frame.width)) as u32);
    let mut luma = Vec::with_capacity((w * h) as usize);
    for y in 0..h {
        let sy = (u64::from(y) * u64::from(frame.height) / u64::from(h)) as usize;
        for x in 0..w {
            let sx = (u64::from(x) * u64::from(frame.width) / u64::from(w)) as usize;
            luma.push(frame.luma.get(sy * frame.width as usize + sx).copied().unwrap_or(0));
        }
    }
    Frame { width: w, height: h, luma }
}

#[cfg(test)]
mod tests {
    use super::*;
    use marketday_scan::Pt;

    fn code(text: &str) -> Code {
        Code { text: text.into(), corners: [Pt::new(0.0, 0.0); 4] }
    }

    #[test]
    fn a_code_held_in_view_is_reported_once_until_it_leaves() {
        let mut d = Dedupe::default();
        let t = Instant::now();
        assert_eq!(d.fresh(vec![code("a")], t).len(), 1);
        assert_eq!(d.fresh(vec![code("a"), code("b")], t + Duration::from_millis(100)).len(), 1);
        // Still in view two seconds later: it was seen at every frame, so not new.
        assert!(d.fresh(vec![code("a")], t + Duration::from_millis(1400)).is_empty());
        assert!(d.fresh(vec![code("a")], t + Duration::from_millis(2800)).is_empty());
        // Out of view for longer than the repeat interval: reported again.
        assert_eq!(d.fresh(vec![code("a")], t + Duration::from_millis(5000)).len(), 1);
    }

    #[test]
    fn a_still_is_the_camera_frame_of_that_moment_as_jpeg_even_when_no_screen_scans() {
        let frames: Vec<Frame> =
            [40u8, 200].iter().map(|&v| Frame { width: 64, height: 48, luma: vec![v; 64 * 48] }).collect();
        let feed = CameraFeed::start(
            Box::new(crate::SimulatedCamera::from_frames(frames, 1)),
            Duration::from_millis(5),
            Steps::default(),
        );
        let first = feed.request_still().recv_timeout(Duration::from_secs(5)).unwrap().unwrap();
        let second = feed.request_still().recv_timeout(Duration::from_secs(5)).unwrap().unwrap();
        assert_eq!((first.width, first.height), (64, 48));
        let shades: Vec<u8> = [first, second]
            .iter()
            .map(|s| {
                let f = crate::decode_image(&s.jpeg).unwrap();
                f.luma[f.luma.len() / 2]
            })
            .collect();
        // Consecutive frames of the camera, each encoded as it was.
        assert!(shades[0].abs_diff(40) <= 3 && shades[1].abs_diff(200) <= 3, "{shades:?}");
    }
}
