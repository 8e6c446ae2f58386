//! The read rate the README states for the generated corpus (`marketday-scan-bench`),
//! held: a change to the pipeline that reads fewer of these frames, or reads a code that is
//! not there, fails here rather than only in a benchmark nobody reruns.
//!
//! The corpus and the pipeline are deterministic, so the figure is exact, not a sample. It
//! measures the scanner on frames from our own generator; how it does on frames it was not
//! tuned on is a separate question (the README says so).

use marketday_scan::synth::{self, Category};
use marketday_scan::{Steps, scan};

/// README, "QR scanning and provenance": ours, overall on frames with a code.
const README_READ_RATE_PERCENT: f64 = 96.0;

#[test]
fn the_generated_corpus_reads_at_the_rate_the_readme_states_with_no_false_read() {
    let (mut read, mut with_code, mut false_reads) = (0, 0, 0);
    let mut missed = Vec::new();
    for (i, sample) in synth::corpus(42).iter().enumerate() {
        let texts: Vec<String> = scan(&sample.frame, Steps::default()).into_iter().map(|c| c.text).collect();
        let unexpected = texts.iter().filter(|t| !sample.expected.contains(t)).count();
        false_reads += unexpected;
        if sample.category == Category::NoCode {
            continue;
        }
        with_code += 1;
        if unexpected == 0 && sample.expected.iter().all(|e| texts.contains(e)) {
            read += 1;
        } else {
            missed.push(format!("{} #{i}", sample.category.name()));
        }
    }
    assert_eq!(with_code, 420, "42 frames in each of the ten categories with a code");
    assert_eq!(false_reads, 0, "a code read that is not in the frame");
    // As the README rounds it: to a tenth of a percent.
    let percent = (read as f64 * 1000.0 / with_code as f64).round() / 10.0;
    assert!(
        percent >= README_READ_RATE_PERCENT,
        "{read} of {with_code} read ({percent} %), below the README's {README_READ_RATE_PERCENT} %; missed: {missed:?}"
    );
}
