//! `marketday bench --scan-only`: how many generated camera frames each decoder reads,
//! and how fast, per category of trouble. Figures, not pass/fail.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use marketday_hardware::Frame;
use marketday_scan::synth::{self, Category, Sample};
use marketday_scan::{self as scan, Code, Steps};

struct Tally {
    ok: usize,
    total: usize,
    false_positives: usize,
    times: Vec<Duration>,
}

impl Tally {
    fn new() -> Tally {
        Tally { ok: 0, total: 0, false_positives: 0, times: Vec::new() }
    }
    fn pct(&self) -> f64 {
        if self.total == 0 { 0.0 } else { 100.0 * self.ok as f64 / self.total as f64 }
    }
    fn ms(&mut self, p: f64) -> f64 {
        self.times.sort();
        crate::bench::percentile(&self.times, p).as_secs_f64() * 1e3
    }
}

/// A frame counts as read when exactly its codes came out, each with the right text.
fn judge(sample: &Sample, codes: &[Code], tally: &mut Tally) {
    let texts: Vec<&str> = codes.iter().map(|c| c.text.as_str()).collect();
    let unexpected = texts.iter().filter(|t| !sample.expected.iter().any(|e| e == *t)).count();
    tally.false_positives += unexpected;
    let all = sample.expected.iter().all(|e| texts.contains(&e.as_str()));
    tally.total += 1;
    if all && unexpected == 0 {
        tally.ok += 1;
    }
}

type Decoder = (&'static str, Box<dyn Fn(&Frame) -> Vec<Code>>);

/// ZXing-C++ with its default, most thorough options (try harder, rotated, inverted,
/// downscaled), asked for QR codes only.
#[cfg(feature = "bench-zxing")]
fn zxing() -> Decoder {
    let reader = zxingcpp::read().formats([zxingcpp::BarcodeFormat::QRCode]);
    let decode = move |f: &Frame| -> Vec<Code> {
        let Ok(view) = zxingcpp::ImageView::from_slice(&f.luma, f.width, f.height, zxingcpp::ImageFormat::Lum) else {
            return Vec::new();
        };
        let corner = scan::Pt { x: 0.0, y: 0.0 };
        reader
            .from(view)
            .unwrap_or_default()
            .into_iter()
            .filter(|b| b.is_valid())
            .map(|b| Code { text: b.text(), corners: [corner; 4] })
            .collect()
    };
    ("ZXing-C++", Box::new(decode))
}

/// The decoders the per-category table compares side by side.
#[cfg(feature = "bench-zxing")]
const COMPARED: [&str; 3] = ["plain rqrr", "ours", "ZXing-C++"];
#[cfg(not(feature = "bench-zxing"))]
const COMPARED: [&str; 2] = ["plain rqrr", "ours"];

pub fn run(per_category: usize) {
    #[allow(unused_mut)]
    let mut decoders: Vec<Decoder> = vec![
        ("plain rqrr", Box::new(scan::scan_plain)),
        ("ours", Box::new(|f: &Frame| scan::scan(f, Steps::default()))),
        (
            "ours, no half-res pass",
            Box::new(|f: &Frame| scan::scan(f, Steps { half_first: false, ..Steps::default() })),
        ),
        (
            "ours, rqrr detector only",
            Box::new(|f: &Frame| scan::scan(f, Steps { own_finder: false, ..Steps::default() })),
        ),
        (
            "ours, own finder only",
            Box::new(|f: &Frame| scan::scan(f, Steps { rqrr_detector: false, ..Steps::default() })),
        ),
        ("ours, no inverted pass", Box::new(|f: &Frame| scan::scan(f, Steps { inverted: false, ..Steps::default() }))),
        (
            "ours, no small-code regions",
            Box::new(|f: &Frame| scan::scan(f, Steps { small_regions: false, ..Steps::default() })),
        ),
    ];
    #[cfg(feature = "bench-zxing")]
    decoders.insert(2, zxing());
    println!(
        "QR scanning: {per_category} generated frames per category (even: 640x480, odd: 1280x720; payloads {:?} bytes)",
        synth::PAYLOAD_SIZES
    );
    let started = Instant::now();
    let samples = synth::corpus(per_category);
    println!("  corpus of {} frames generated in {:.1} s", samples.len(), started.elapsed().as_secs_f64());
    let mut per: HashMap<(&str, Category), Tally> = HashMap::new();
    let mut overall: HashMap<&str, Tally> = HashMap::new();
    let mut hd: HashMap<&str, Tally> = HashMap::new();
    for s in &samples {
        for (name, decode) in &decoders {
            let t = Instant::now();
            let codes = decode(&s.frame);
            let took = t.elapsed();
            for tally in [
                per.entry((name, s.category)).or_insert_with(Tally::new),
                overall.entry(name).or_insert_with(Tally::new),
            ] {
                judge(s, &codes, tally);
                tally.times.push(took);
            }
            if s.frame.width == 1280 {
                let tally = hd.entry(name).or_insert_with(Tally::new);
                judge(s, &codes, tally);
                tally.times.push(took);
            }
        }
    }
    let (mut head, mut units) = (format!("\n  {:<18}", "category"), format!("  {:<18}", ""));
    for name in COMPARED {
        head += &format!(" {name:>22}");
        units += &format!(" {:>22}", "read   p50 / p95 ms");
    }
    println!("{head}\n{units}");
    for c in Category::ALL {
        let mut line = format!("  {:<18}", c.name());
        for name in COMPARED {
            let t = per.get_mut(&(name, c)).expect("every decoder ran on every category");
            let read =
                if c == Category::NoCode { format!("{} FP", t.false_positives) } else { format!("{:.0}%", t.pct()) };
            line += &format!(" {:>6} {:>6.1} / {:>6.1}", read, t.ms(0.5), t.ms(0.95));
        }
        println!("{line}");
    }
    println!(
        "\n  {:<26} {:>8} {:>10} {:>10} {:>14} {:>8} {:>10}",
        "decoder", "read", "p50 ms", "p95 ms", "p50 ms 720p", "false+", "empty p50"
    );
    for (name, _) in &decoders {
        let with_code = per
            .iter()
            .filter(|((n, c), _)| n == name && *c != Category::NoCode)
            .fold((0, 0), |(ok, total), (_, t)| (ok + t.ok, total + t.total));
        let read = 100.0 * with_code.0 as f64 / with_code.1.max(1) as f64;
        let p720 = hd.get_mut(name).map(|t| t.ms(0.5)).unwrap_or_default();
        let empty = per.get_mut(&(name, Category::NoCode)).map(|t| t.ms(0.5)).unwrap_or_default();
        let t = overall.get_mut(name).expect("ran");
        println!(
            "  {:<26} {:>7.1}% {:>10.1} {:>10.1} {:>14.1} {:>8} {:>10.1}",
            name,
            read,
            t.ms(0.5),
            t.ms(0.95),
            p720,
            t.false_positives,
            empty
        );
    }
}
