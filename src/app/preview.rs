//! The camera's live picture, on Verify and on the courier's photo step: the newest frame
//! and the outline of the code seen, sent to the window only when they changed.

use marketday_scan::Pt;

use super::present::camera_message;
use super::services::Services;
use crate::ui::{AppWindow, CameraView};
use slint::ComponentHandle;

#[derive(Debug, Default)]
pub struct Preview {
    /// Frames already sent to the window, and the outline drawn.
    shown_frames: u64,
    shown_outline: String,
}

impl Preview {
    /// The preview is off screen: the next time it shows, the newest frame is sent afresh.
    pub fn hidden(&mut self) {
        self.shown_frames = 0;
    }

    /// Cheap when nothing changed; called by the camera timer while the preview shows.
    pub fn present(&mut self, svc: &Services, ui: &AppWindow) {
        let Some(feed) = &svc.camera else { return };
        let preview = feed.preview();
        let outline = preview.outline.map(outline_path).unwrap_or_default();
        if outline != self.shown_outline {
            ui.global::<CameraView>().set_outline(outline.as_str().into());
            self.shown_outline = outline;
        }
        if preview.frames == self.shown_frames {
            return;
        }
        self.shown_frames = preview.frames;
        if let Some(frame) = &preview.frame {
            let mut pixels = slint::SharedPixelBuffer::<slint::Rgb8Pixel>::new(frame.width, frame.height);
            for (px, &v) in pixels.make_mut_slice().iter_mut().zip(&frame.luma) {
                *px = slint::Rgb8Pixel { r: v, g: v, b: v };
            }
            ui.global::<CameraView>().set_frame(slint::Image::from_rgb8(pixels));
            ui.global::<CameraView>().set_frame_width(frame.width as f32);
            ui.global::<CameraView>().set_frame_height(frame.height as f32);
        }
        ui.global::<CameraView>().set_message(camera_message(svc.camera_status(), svc.language()).into());
    }
}

/// An SVG path through the code's corners, in preview pixels.
fn outline_path(corners: [Pt; 4]) -> String {
    let [a, b, c, d] = corners;
    format!("M {:.0} {:.0} L {:.0} {:.0} L {:.0} {:.0} L {:.0} {:.0} Z", a.x, a.y, b.x, b.y, c.x, c.y, d.x, d.y)
}
