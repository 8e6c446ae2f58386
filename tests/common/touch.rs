//! Tapping the real window the way staff do: Slint's testing backend finds elements by
//! their accessible labels and clicks them at their centre.

#![allow(dead_code)]

use i_slint_backend_testing::{AccessibleRole, ElementHandle, ElementQuery, ElementRoot};
use marketday::ui::AppWindow;
use slint::platform::PointerEventButton;

pub fn buttons(root: &impl ElementRoot, label: &str) -> Vec<ElementHandle> {
    ElementHandle::find_by_accessible_label(root, label)
        .filter(|e| e.accessible_role() == Some(AccessibleRole::Button))
        .collect()
}

/// Taps the one visible, enabled button with this label.
pub fn tap(ui: &AppWindow, label: &str) {
    let found = buttons(ui, label);
    assert_eq!(found.len(), 1, "expected exactly one button labelled {label:?}, found {}", found.len());
    let b = &found[0];
    assert_ne!(b.accessible_enabled(), Some(false), "button {label:?} is disabled");
    b.mock_single_click(PointerEventButton::Left);
}

/// Switches staff tabs on the rail.
pub fn tab(ui: &AppWindow, label: &str) {
    let found: Vec<ElementHandle> = ElementHandle::find_by_accessible_label(ui, label)
        .filter(|e| e.accessible_role() == Some(AccessibleRole::Tab))
        .collect();
    assert_eq!(found.len(), 1, "expected one tab labelled {label:?}");
    found[0].mock_single_click(PointerEventButton::Left);
}

/// Whether any element's accessible label contains `fragment`.
pub fn shows(ui: &AppWindow, fragment: &str) -> bool {
    let fragment = fragment.to_owned();
    ElementQuery::from_root(ui)
        .match_descendants()
        .match_predicate(move |e| e.accessible_label().is_some_and(|l| l.contains(&fragment)))
        .find_first()
        .is_some()
}

/// Every button on screen but a banner's own "Dismiss message": its label and where it is
/// (x, y, width, height).
pub fn button_places(ui: &AppWindow) -> Vec<(String, [f32; 4])> {
    let mut places: Vec<(String, [f32; 4])> = ElementQuery::from_root(ui)
        .match_descendants()
        .match_accessible_role(AccessibleRole::Button)
        .find_all()
        .into_iter()
        .filter_map(|b| {
            let label = b.accessible_label().unwrap_or_default().to_string();
            let (at, size) = (b.absolute_position(), b.size());
            (label != "Dismiss message").then_some((label, [at.x, at.y, size.width, size.height]))
        })
        .collect();
    places.sort_by(|a, b| a.0.cmp(&b.0).then(a.1[1].total_cmp(&b.1[1])));
    places
}
