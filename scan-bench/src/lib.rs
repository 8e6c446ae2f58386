//! The scanner (`marketday-scan`) measured: a corpus of photographed printouts that the
//! scanner was not tuned on (`photos`), how a frame's reading is judged, and the decoders
//! compared in `cargo run --release -p marketday-scan-bench` (plain rqrr, ours, and with
//! features, ZXing-C++ and rxing).

pub mod photos;

/// How a frame was read against what it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Judged {
    /// Every code in the frame came out with its text, and nothing else did.
    pub read: bool,
    /// Codes read that are not in the frame: a scanner must never make these.
    pub false_reads: usize,
}

/// Judges the texts a decoder returned for a frame holding `expected`.
pub fn judge(expected: &[String], texts: &[String]) -> Judged {
    let false_reads = texts.iter().filter(|t| !expected.contains(t)).count();
    let all = expected.iter().all(|e| texts.contains(e));
    Judged { read: all && false_reads == 0, false_reads }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_is_read_only_with_all_its_codes_and_nothing_else() {
        let s = |v: &[&str]| v.iter().map(|t| t.to_string()).collect::<Vec<_>>();
        assert!(judge(&s(&["A", "B"]), &s(&["B", "A"])).read);
        assert!(!judge(&s(&["A", "B"]), &s(&["A"])).read);
        assert_eq!(judge(&s(&["A"]), &s(&["A", "C"])), Judged { read: false, false_reads: 1 });
        assert_eq!(judge(&[], &[]), Judged { read: true, false_reads: 0 });
    }
}
