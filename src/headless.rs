//! Rendering the kiosk without a display: Slint's software renderer into a pixel buffer.
//! Used by `marketday screenshots`, the start-up benchmark, and anyone who wants to look
//! at a screen on a machine with no screen.

use std::rc::Rc;
use std::time::Instant;

use slint::Rgb8Pixel;
use slint::platform::software_renderer::{MinimalSoftwareWindow, RepaintBufferType};
use slint::platform::{Platform, WindowAdapter};
use slint::{PhysicalSize, PlatformError};

struct HeadlessPlatform {
    window: Rc<MinimalSoftwareWindow>,
    started: Instant,
}

impl Platform for HeadlessPlatform {
    fn create_window_adapter(&self) -> Result<Rc<dyn WindowAdapter>, PlatformError> {
        Ok(self.window.clone())
    }

    fn duration_since_start(&self) -> std::time::Duration {
        self.started.elapsed()
    }
}

/// The headless window. Install it before creating any Slint component.
pub struct Headless {
    window: Rc<MinimalSoftwareWindow>,
}

/// An RGB image, row-major, 3 bytes per pixel.
pub struct Image {
    pub width: u32,
    pub height: u32,
    pub rgb: Vec<u8>,
}

impl Headless {
    /// Makes the software renderer Slint's platform for this process. Slint takes a platform
    /// once per process; called again on the same thread, this hands back the same window, so
    /// one test can render the screens several times (once per language).
    pub fn install() -> Result<Headless, PlatformError> {
        thread_local! {
            static INSTALLED: std::cell::RefCell<Option<std::rc::Rc<MinimalSoftwareWindow>>> =
                const { std::cell::RefCell::new(None) };
        }
        if let Some(window) = INSTALLED.with(|w| w.borrow().clone()) {
            return Ok(Headless { window });
        }
        let window = MinimalSoftwareWindow::new(RepaintBufferType::NewBuffer);
        slint::platform::set_platform(Box::new(HeadlessPlatform { window: window.clone(), started: Instant::now() }))
            .map_err(|e| PlatformError::Other(e.to_string()))?;
        INSTALLED.with(|w| *w.borrow_mut() = Some(window.clone()));
        Ok(Headless { window })
    }

    pub fn resize(&self, width: u32, height: u32) {
        self.window.set_size(PhysicalSize::new(width, height));
    }

    /// One turn of a display loop: runs the timers and animations that are due, then draws
    /// into `frame` only if something on screen changed, as a real display's loop does.
    /// True when it drew.
    pub fn turn(&self, frame: &mut Vec<Rgb8Pixel>) -> bool {
        let size = self.window.size();
        let w = size.width as usize;
        frame.resize(w * size.height as usize, Rgb8Pixel::default());
        slint::platform::update_timers_and_animations();
        self.window.draw_if_needed(|renderer| {
            renderer.render(frame, w);
        })
    }

    /// Renders the current state of the window.
    pub fn render(&self) -> Image {
        let size = self.window.size();
        let (w, h) = (size.width as usize, size.height as usize);
        let mut buffer = vec![Rgb8Pixel::default(); w * h];
        slint::platform::update_timers_and_animations();
        self.window.request_redraw();
        self.window.draw_if_needed(|renderer| {
            renderer.render(&mut buffer, w);
        });
        let rgb = buffer.iter().flat_map(|p| [p.r, p.g, p.b]).collect();
        Image { width: size.width, height: size.height, rgb }
    }
}

impl Image {
    pub fn write_png(&self, path: &std::path::Path) -> std::io::Result<()> {
        let file = std::io::BufWriter::new(std::fs::File::create(path)?);
        let mut encoder = png::Encoder::new(file, self.width, self.height);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().map_err(std::io::Error::other)?;
        writer.write_image_data(&self.rgb).map_err(std::io::Error::other)?;
        writer.finish().map_err(std::io::Error::other)
    }
}
