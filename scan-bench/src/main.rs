//! `cargo run --release -p marketday-scan-bench [--features zxing,rxing] [-- FRAMES PHOTOS]`:
//! how many frames each decoder reads and how fast, per kind of trouble, on three sets:
//! the frames the scanner was tuned on (`marketday_scan::synth`), and the two parts of the
//! photographed corpus (`photos`): the tuning part in full, the held part as totals only.
//! Single thread, every decoder on the same frame in turn. Figures, not pass/fail.
//!
//! For working on the scanner: `quick` (ours alone on the generated frames and the tuning
//! part), `misses DIR` (the tuning part's frames ours does not read, as PNGs) and `dump DIR`
//! (some of the tuning part, to look at). None of them shows the held part.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use marketday_scan::{self as scan, Frame, Profile, Steps, synth};
use marketday_scan_bench::judge;
use marketday_scan_bench::photos::{self, Part};

/// A frame to read, the texts it holds and the row it is reported under.
struct Item {
    row: &'static str,
    frame: Frame,
    expected: Vec<String>,
}

type Decode = Box<dyn Fn(&Frame) -> Vec<String>>;

fn texts(codes: Vec<scan::Code>) -> Vec<String> {
    codes.into_iter().map(|c| c.text).collect()
}

/// ZXing-C++ with its most thorough options (try harder, rotated, inverted, downscaled),
/// asked for QR codes only.
#[cfg(feature = "zxing")]
fn zxing() -> (&'static str, Decode) {
    let reader = zxingcpp::read().formats([zxingcpp::BarcodeFormat::QRCode]);
    let decode = move |f: &Frame| -> Vec<String> {
        let Ok(view) = zxingcpp::ImageView::from_slice(&f.luma, f.width, f.height, zxingcpp::ImageFormat::Lum) else {
            return Vec::new();
        };
        reader.from(view).unwrap_or_default().into_iter().filter(|b| b.is_valid()).map(|b| b.text()).collect()
    };
    ("ZXing-C++", Box::new(decode))
}

/// rxing, ZXing's Rust port: its multiple-code reader, trying harder and inverted.
#[cfg(feature = "rxing")]
fn rxing() -> (&'static str, Decode) {
    let decode = |f: &Frame| -> Vec<String> {
        let mut hints = rxing::DecodeHints {
            PossibleFormats: Some(std::collections::HashSet::from([rxing::BarcodeFormat::QR_CODE])),
            TryHarder: Some(true),
            AlsoInverted: Some(true),
            ..Default::default()
        };
        rxing::helpers::detect_multiple_in_luma_with_hints(f.luma.clone(), f.width, f.height, &mut hints)
            .unwrap_or_default()
            .into_iter()
            .map(|r| r.getText().to_string())
            .collect()
    };
    ("rxing", Box::new(decode))
}

#[derive(Default)]
struct Tally {
    read: usize,
    total: usize,
    false_reads: usize,
    times: Vec<Duration>,
}

impl Tally {
    fn add(&mut self, expected: &[String], got: &[String], took: Duration) {
        let j = judge(expected, got);
        self.total += 1;
        self.read += usize::from(j.read);
        self.false_reads += j.false_reads;
        self.times.push(took);
    }
    fn pct(&self) -> f64 {
        100.0 * self.read as f64 / self.total.max(1) as f64
    }
    fn ms(&mut self, p: f64) -> f64 {
        if self.times.is_empty() {
            return 0.0;
        }
        self.times.sort();
        let i = ((self.times.len() - 1) as f64 * p).round() as usize;
        self.times[i].as_secs_f64() * 1e3
    }
}

/// Runs every decoder on every frame; prints the per-row table when `rows` and the totals.
fn measure(title: &str, items: &[Item], decoders: &[(&'static str, Decode)], compared: &[&str], rows: bool) {
    println!("\n## {title}: {} frames", items.len());
    let mut per: BTreeMap<(usize, &str), Tally> = BTreeMap::new();
    let mut order: Vec<&str> = Vec::new();
    let [mut all, mut hd, mut sd, mut empty]: [BTreeMap<&str, Tally>; 4] = Default::default();
    let (mut profile, mut empty_profile) = (Profile::default(), Profile::default());
    for item in items {
        if !order.contains(&item.row) {
            order.push(item.row);
        }
        let row = order.iter().position(|r| *r == item.row).expect("just pushed");
        for (name, decode) in decoders {
            let t = Instant::now();
            let got = decode(&item.frame);
            let took = t.elapsed();
            per.entry((row, name)).or_default().add(&item.expected, &got, took);
            let bucket = if item.expected.is_empty() {
                &mut empty
            } else {
                all.entry(name).or_default().add(&item.expected, &got, took);
                if item.frame.width == 1280 { &mut hd } else { &mut sd }
            };
            bucket.entry(name).or_default().add(&item.expected, &got, took);
        }
        let slot = if item.expected.is_empty() { &mut empty_profile } else { &mut profile };
        scan::scan_profiled(&item.frame, Steps::default(), slot);
    }
    if rows {
        let (mut head, mut units) = (format!("  {:<20}", "kind"), format!("  {:<20}", ""));
        for name in compared {
            head += &format!(" {name:>24}");
            units += &format!(" {:>24}", "read  p50 / p95 ms");
        }
        println!("{head}\n{units}");
        for (i, row) in order.iter().enumerate() {
            let mut line = format!("  {row:<20}");
            for name in compared {
                let Some(t) = per.get_mut(&(i, name)) else { continue };
                let read =
                    if row.contains("no code") { format!("{} FP", t.false_reads) } else { format!("{:.0}%", t.pct()) };
                line += &format!(" {:>6} {:>7.1} / {:>6.1}", read, t.ms(0.5), t.ms(0.95));
            }
            println!("{line}");
        }
    }
    println!(
        "\n  {:<28} {:>7} {:>8} {:>8} {:>12} {:>12} {:>10} {:>7}",
        "decoder", "read", "p50 ms", "p95 ms", "p50 640x480", "p50 1280x720", "empty p50", "false+"
    );
    for (name, _) in decoders {
        let t = all.entry(name).or_default();
        let (read, p50, p95) = (t.pct(), t.ms(0.5), t.ms(0.95));
        let false_reads = t.false_reads + empty.get(name).map_or(0, |e| e.false_reads);
        println!(
            "  {:<28} {:>6.1}% {:>8.1} {:>8.1} {:>12.1} {:>12.1} {:>10.1} {:>7}",
            name,
            read,
            p50,
            p95,
            sd.entry(name).or_default().ms(0.5),
            hd.entry(name).or_default().ms(0.5),
            empty.entry(name).or_default().ms(0.5),
            false_reads
        );
    }
    let empties = items.iter().filter(|i| i.expected.is_empty()).count();
    print_profile("frames with codes", &profile, items.len() - empties);
    print_profile("empty frames", &empty_profile, empties);
}

/// Where ours spent its time over `frames` frames, step by step.
fn print_profile(what: &str, profile: &Profile, frames: usize) {
    if frames == 0 {
        return;
    }
    let total = profile.total().as_secs_f64().max(1e-9);
    let share = |d: Duration| {
        format!("{:.0} % ({:.2} ms/frame)", 100.0 * d.as_secs_f64() / total, d.as_secs_f64() * 1e3 / frames as f64)
    };
    println!(
        "  where ours spends its time on {what}: threshold {}, own finder {}, rqrr detector {}, small regions {}, complete {}, downscale {}",
        share(profile.threshold),
        share(profile.own_finder),
        share(profile.rqrr_detector),
        share(profile.small_regions),
        share(profile.complete),
        share(profile.downscale)
    );
}

/// The tuning part's frames that ours does not read, listed and written out as PNGs to
/// study (never the held part's).
fn misses(dir: &str) {
    std::fs::create_dir_all(dir).expect("an output folder");
    for (i, shot) in photos::corpus(Part::Tuning, 24).into_iter().enumerate() {
        let got = texts(scan::scan(&shot.frame, Steps::default()));
        if judge(&shot.expected, &got).read {
            continue;
        }
        let name = format!("{dir}/{i:03}-{}.png", shot.kind.name().split(' ').next().unwrap_or("shot"));
        println!(
            "{name}: {} of {} read",
            got.iter().filter(|t| shot.expected.contains(t)).count(),
            shot.expected.len()
        );
        image::GrayImage::from_raw(shot.frame.width, shot.frame.height, shot.frame.luma)
            .expect("a whole frame")
            .save(&name)
            .expect("PNG written");
    }
}

fn main() {
    if let [_, cmd, dir, ..] = std::env::args().collect::<Vec<_>>().as_slice()
        && cmd == "dump"
    {
        // The tuning part as PNGs, to look at (the held part is not for looking at).
        std::fs::create_dir_all(dir).expect("an output folder");
        for (i, shot) in photos::corpus(Part::Tuning, 4).into_iter().enumerate() {
            let name = format!("{dir}/{i:03}-{}.png", shot.kind.name().split(' ').next().unwrap_or("shot"));
            image::GrayImage::from_raw(shot.frame.width, shot.frame.height, shot.frame.luma)
                .expect("a whole frame")
                .save(&name)
                .expect("PNG written");
        }
        return;
    }
    if std::env::args().nth(1).as_deref() == Some("quick") {
        // Ours alone on the generated corpus and the tuning part: a change's first look.
        let ours: Vec<(&'static str, Decode)> =
            vec![("ours", Box::new(|f: &Frame| texts(scan::scan(f, Steps::default()))))];
        let generated: Vec<Item> = synth::corpus(42)
            .into_iter()
            .map(|s| Item { row: s.category.name(), frame: s.frame, expected: s.expected })
            .collect();
        measure("generated", &generated, &ours, &["ours"], true);
        let tuning: Vec<Item> = photos::corpus(Part::Tuning, 24)
            .into_iter()
            .map(|s| Item { row: s.kind.name(), frame: s.frame, expected: s.expected })
            .collect();
        measure("tuning", &tuning, &ours, &["ours"], true);
        return;
    }
    if let [_, cmd, dir, ..] = std::env::args().collect::<Vec<_>>().as_slice()
        && cmd == "misses"
    {
        misses(dir);
        return;
    }
    let mut args = std::env::args().skip(1).map(|a| a.parse::<usize>());
    let frames = args.next().and_then(Result::ok).unwrap_or(42);
    let per_kind = args.next().and_then(Result::ok).unwrap_or(24);

    #[allow(unused_mut)]
    let mut decoders: Vec<(&'static str, Decode)> = vec![
        ("plain rqrr", Box::new(|f: &Frame| texts(scan::scan_plain(f)))),
        ("ours", Box::new(|f: &Frame| texts(scan::scan(f, Steps::default())))),
        (
            "ours, no half-res pass",
            Box::new(|f: &Frame| texts(scan::scan(f, Steps { half_first: false, ..Steps::default() }))),
        ),
        (
            "ours, rqrr detector only",
            Box::new(|f: &Frame| texts(scan::scan(f, Steps { own_finder: false, ..Steps::default() }))),
        ),
        (
            "ours, own finder only",
            Box::new(|f: &Frame| texts(scan::scan(f, Steps { rqrr_detector: false, ..Steps::default() }))),
        ),
        (
            "ours, no inverted pass",
            Box::new(|f: &Frame| texts(scan::scan(f, Steps { inverted: false, ..Steps::default() }))),
        ),
        (
            "ours, stopping at first read",
            Box::new(|f: &Frame| texts(scan::scan(f, Steps { complete: false, ..Steps::default() }))),
        ),
        (
            "ours, no small-code regions",
            Box::new(|f: &Frame| texts(scan::scan(f, Steps { small_regions: false, ..Steps::default() }))),
        ),
    ];
    #[allow(unused_mut)]
    let mut compared = vec!["plain rqrr", "ours"];
    #[cfg(feature = "zxing")]
    {
        decoders.insert(2, zxing());
        compared.push("ZXing-C++");
    }
    #[cfg(feature = "rxing")]
    {
        decoders.insert(2, rxing());
        compared.push("rxing");
    }

    let started = Instant::now();
    let generated: Vec<Item> = synth::corpus(frames)
        .into_iter()
        .map(|s| Item { row: s.category.name(), frame: s.frame, expected: s.expected })
        .collect();
    let photographed = |part| -> Vec<Item> {
        photos::corpus(part, per_kind)
            .into_iter()
            .map(|s| Item { row: s.kind.name(), frame: s.frame, expected: s.expected })
            .collect()
    };
    let (tuning, held) = (photographed(Part::Tuning), photographed(Part::Held));
    println!(
        "QR scanning, single thread: {} generated frames ({frames} a category), {} + {} photographs ({per_kind} a kind, tuning + held), made in {:.1} s",
        generated.len(),
        tuning.len(),
        held.len(),
        started.elapsed().as_secs_f64()
    );
    measure("Generated by synth.rs (what the scanner was tuned on)", &generated, &decoders, &compared, true);
    measure("Photographed prints, tuning part", &tuning, &decoders, &compared, true);
    measure("Photographed prints, held part (totals only)", &held, &decoders, &compared, false);
}
