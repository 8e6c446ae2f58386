//! The kiosk's TOML configuration, with documented defaults.
//!
//! Every key is optional; an unknown key or a bad value is an error that names the key,
//! because a typo silently ignored on a stall is a wrong price or a lost receipt.

use std::path::{Path, PathBuf};

use marketday_hardware::{Codepage, PrinterProfile};
use serde::Deserialize;

use crate::domain::{Currency, ReturnsWindow, VatRate};

/// The documented example, also used by `marketday config example`.
pub const EXAMPLE: &str = include_str!("../deploy-pi/config.example.toml");

#[derive(Debug, Clone, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub stall: StallConfig,
    pub store: StoreConfig,
    pub printer: PrinterConfig,
    pub camera: CameraConfig,
    pub display: DisplayConfig,
    pub dispatch: DispatchConfig,
    pub sync: SyncConfig,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct StallConfig {
    pub name: String,
    /// Prefix of this kiosk's receipt numbers; unique per device.
    pub device_id: String,
    pub currency: String,
    /// VAT included in prices, as a percentage ("20", "12.5").
    pub vat_rate: String,
    pub returns_days: u32,
    /// Where receipt and sticker QR codes send a phone to verify a piece.
    pub verify_url: String,
    /// Printed under the QR on receipts.
    pub receipt_footer: String,
    /// The staff's language ("en", "fr", "de"); a customer may switch the idle and Verify
    /// screens to another until the kiosk goes quiet.
    pub language: crate::i18n::Language,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// The SQLite file; defaults to `kiosk.sqlite` in the user's data directory.
    pub path: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum CameraKind {
    #[default]
    Simulated,
    /// A USB (UVC) camera through V4L2; needs a build with the `camera-v4l2` feature.
    #[serde(alias = "v4l2")]
    Usb,
    None,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum PrinterKind {
    #[default]
    Simulated,
    /// ESC/POS over a serial port (USB-serial or TTL), with live status.
    Serial,
    /// A device file such as `/dev/usb/lp0`: prints, but cannot report paper or lid.
    File,
    None,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum FlowControl {
    #[default]
    None,
    Hardware,
    Software,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum CodepageName {
    Cp437,
    Cp858,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct PrinterConfig {
    pub kind: PrinterKind,
    /// The serial port or device file (`kind = "serial"` or `"file"`).
    pub path: Option<PathBuf>,
    pub baud: u32,
    pub flow_control: FlowControl,
    /// One of the built-in profiles; the keys below override single facts of it.
    pub profile: String,
    pub width_dots: Option<u16>,
    pub columns: Option<u8>,
    pub native_qr: Option<bool>,
    pub cut: Option<bool>,
    pub codepage: Option<CodepageName>,
    /// A PNG printed at the top of receipts, scaled to the paper and dithered.
    pub logo: Option<PathBuf>,
    /// Open the cash drawer wired to the printer after cash sales.
    pub cash_drawer: bool,
    pub label_width_mm: u16,
    pub label_height_mm: u16,
    /// Where the simulated printer writes its jobs; defaults to `printer/` in the data directory.
    pub output_dir: Option<PathBuf>,
}

impl Default for PrinterConfig {
    fn default() -> Self {
        PrinterConfig {
            kind: PrinterKind::Simulated,
            path: None,
            baud: 9600,
            flow_control: FlowControl::None,
            profile: "generic-58".into(),
            width_dots: None,
            columns: None,
            native_qr: None,
            cut: None,
            codepage: None,
            logo: None,
            cash_drawer: false,
            label_width_mm: 40,
            label_height_mm: 30,
            output_dir: None,
        }
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct CameraConfig {
    pub kind: CameraKind,
    /// A folder of PNG/JPEG/PGM frames for the simulated camera; the demo's tags when absent.
    pub folder: Option<PathBuf>,
    /// The USB camera's device (`/dev/video0`, or a udev link); the first camera found when absent.
    pub device: Option<String>,
    /// Frame size asked of a USB camera; the nearest it offers is used.
    pub width: u32,
    pub height: u32,
}

impl Default for CameraConfig {
    fn default() -> Self {
        CameraConfig { kind: CameraKind::Simulated, folder: None, device: None, width: 1280, height: 720 }
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DisplayConfig {
    /// The desktop window's size; unset, it fits the screen (see [`DisplayConfig::window_size`]).
    pub width: Option<u32>,
    pub height: Option<u32>,
    /// Minutes without a touch before staff screens lock themselves.
    pub auto_lock_minutes: u32,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DispatchConfig {
    /// The courier companies offered on the courier screen, in this order.
    pub couriers: Vec<String>,
    /// Days a dispatch photo stays on the kiosk once the cloud has it (0: remove at once).
    pub keep_photos_days: u32,
}

/// The cloud this kiosk syncs with; sync is off while `url` is unset.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SyncConfig {
    /// The sync server (`marketday-cloud`), e.g. `https://cloud.example.com`.
    pub url: Option<String>,
    /// This kiosk's device token, as `marketday-cloud add-device` printed it.
    pub token: Option<String>,
    /// Seconds between sync rounds while everything is delivered.
    pub interval_seconds: u32,
    /// PEM certificate authorities to trust for `url` besides the public ones: for a cloud
    /// serving HTTPS with a certificate of the atelier's own.
    pub ca_file: Option<PathBuf>,
}

impl Default for SyncConfig {
    fn default() -> Self {
        SyncConfig { url: None, token: None, interval_seconds: 30, ca_file: None }
    }
}

impl Default for DispatchConfig {
    fn default() -> Self {
        DispatchConfig {
            couriers: ["Royal Mail", "Parcelforce", "DPD", "DHL", "UPS"].map(String::from).to_vec(),
            keep_photos_days: 30,
        }
    }
}

impl Default for StallConfig {
    fn default() -> Self {
        StallConfig {
            name: "Marketday demo stall".into(),
            device_id: "K1".into(),
            currency: "GBP".into(),
            vat_rate: "20".into(),
            returns_days: ReturnsWindow::default().days,
            verify_url: "https://verify.marketday.example".into(),
            receipt_footer: "Thank you for supporting independent makers".into(),
            language: crate::i18n::Language::En,
        }
    }
}

impl Default for DisplayConfig {
    fn default() -> Self {
        DisplayConfig { width: None, height: None, auto_lock_minutes: 5 }
    }
}

/// The two layouts the kiosk is designed at: a 7" landscape panel and a portrait stand.
pub const LANDSCAPE: (u32, u32) = (800, 480);
pub const PORTRAIT: (u32, u32) = (720, 1280);

impl DisplayConfig {
    /// The desktop window's size on a screen of `screen` logical pixels (None: not known yet).
    /// A configured size wins. Otherwise the window takes the design size of the screen's
    /// orientation, shrunk to the screen when it is smaller, so a portrait screen never shows a
    /// landscape window cut off at its edge.
    pub fn window_size(&self, screen: Option<(u32, u32)>) -> (u32, u32) {
        if let (Some(w), Some(h)) = (self.width, self.height) {
            return (w, h);
        }
        let Some((sw, sh)) = screen else { return LANDSCAPE };
        let (dw, dh) = if sh > sw { PORTRAIT } else { LANDSCAPE };
        (dw.min(sw), dh.min(sh))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    // The cause is the source, printed after this by `{:#}`: not repeated here.
    #[error("cannot read config file {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("config file {path} is not valid: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("config file {path}: `{key}` {problem}")]
    Value { path: PathBuf, key: &'static str, problem: String },
}

impl Config {
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io { path: path.to_owned(), source })?;
        Config::parse(&text, path)
    }

    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let config: Config = toml::from_str(text)
            .map_err(|e| ConfigError::Parse { path: path.to_owned(), message: e.to_string().trim().to_owned() })?;
        config.validate(path)?;
        Ok(config)
    }

    fn validate(&self, path: &Path) -> Result<(), ConfigError> {
        let value = |key, problem: String| ConfigError::Value { path: path.to_owned(), key, problem };
        Currency::parse(&self.stall.currency).map_err(|e| value("stall.currency", e.to_string()))?;
        self.vat_rate().map_err(|p| value("stall.vat_rate", p))?;
        let id = &self.stall.device_id;
        if id.is_empty() || id.len() > 8 || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(value("stall.device_id", format!("must be 1-8 letters or digits, got {id:?}")));
        }
        if self.stall.name.trim().is_empty() {
            return Err(value("stall.name", "must not be empty".into()));
        }
        if self.stall.returns_days > 365 {
            return Err(value("stall.returns_days", "must be at most 365".into()));
        }
        self.printer_profile().map_err(|(key, p)| value(key, p))?;
        let p = &self.printer;
        if matches!(p.kind, PrinterKind::Serial | PrinterKind::File) && p.path.is_none() {
            return Err(value("printer.path", "is needed for a serial or file printer".into()));
        }
        if !(1200..=921_600).contains(&p.baud) {
            return Err(value("printer.baud", format!("{} is not a serial speed (9600..115200 are usual)", p.baud)));
        }
        if !(20..=110).contains(&p.label_width_mm) || !(15..=150).contains(&p.label_height_mm) {
            return Err(value("printer.label_width_mm", "labels must be 20-110 mm wide and 15-150 mm tall".into()));
        }
        if !self.stall.verify_url.starts_with("https://") && !self.stall.verify_url.starts_with("http://") {
            return Err(value("stall.verify_url", "must start with https:// or http://".into()));
        }
        if let Some(url) = &self.sync.url {
            if let Some(problem) = sync_url_problem(url) {
                return Err(value("sync.url", problem));
            }
            if self.sync.token.as_deref().is_none_or(|t| t.trim().is_empty()) {
                return Err(value("sync.token", "is needed with sync.url (from `marketday-cloud add-device`)".into()));
            }
        }
        if let Some(file) = &self.sync.ca_file {
            let pem = std::fs::read(file).map_err(|e| value("sync.ca_file", format!("{}: {e}", file.display())))?;
            if crate::sync::client::authorities(&pem).is_none() {
                return Err(value("sync.ca_file", format!("{} holds no PEM certificate", file.display())));
            }
        }
        if !(5..=3600).contains(&self.sync.interval_seconds) {
            return Err(value("sync.interval_seconds", "must be between 5 and 3600".into()));
        }
        let couriers = &self.dispatch.couriers;
        if couriers.is_empty() || couriers.len() > 8 || couriers.iter().any(|c| c.trim().is_empty() || c.len() > 24) {
            return Err(value("dispatch.couriers", "must list 1-8 courier names of up to 24 characters".into()));
        }
        match (self.display.width, self.display.height) {
            (None, None) => {}
            (Some(w), Some(h)) if (320..=4096).contains(&w) && (320..=4096).contains(&h) => {}
            (Some(w), Some(h)) => return Err(value("display", format!("size {w}x{h} is outside 320..4096"))),
            _ => {
                return Err(value(
                    "display",
                    "set both width and height, or neither (the window then fits the screen)".into(),
                ));
            }
        }
        Ok(())
    }

    /// The printer's profile: a built-in one with any single facts overridden.
    pub fn printer_profile(&self) -> Result<PrinterProfile, (&'static str, String)> {
        let p = &self.printer;
        let mut profile = PrinterProfile::builtin(&p.profile).ok_or_else(|| {
            (
                "printer.profile",
                format!("{:?} is not a known profile; use one of {:?}", p.profile, PrinterProfile::BUILTIN),
            )
        })?;
        if let Some(w) = p.width_dots {
            if !(128..=832).contains(&w) || w % 8 != 0 {
                return Err(("printer.width_dots", format!("{w} must be a multiple of 8 between 128 and 832")));
            }
            profile.width_dots = w;
        }
        if let Some(c) = p.columns {
            profile.columns = c;
        }
        if u16::from(profile.columns) * 12 > profile.width_dots || profile.columns < 16 {
            return Err((
                "printer.columns",
                format!("{} columns do not fit {} dots", profile.columns, profile.width_dots),
            ));
        }
        profile.native_qr = p.native_qr.unwrap_or(profile.native_qr);
        profile.cut = p.cut.unwrap_or(profile.cut);
        if let Some(cp) = p.codepage {
            profile.codepage = match cp {
                CodepageName::Cp437 => Codepage::Cp437,
                CodepageName::Cp858 => Codepage::Cp858,
            };
        }
        Ok(profile)
    }

    pub fn currency(&self) -> Currency {
        Currency::parse(&self.stall.currency).unwrap_or(Currency::GBP)
    }

    pub fn returns_window(&self) -> ReturnsWindow {
        ReturnsWindow { days: self.stall.returns_days }
    }

    /// The VAT rate from `stall.vat_rate` ("20", "20%", "12.5"), at most 100 %.
    pub fn vat_rate(&self) -> Result<VatRate, String> {
        crate::domain::money::parse_basis_points(&self.stall.vat_rate)
            .filter(|bp| *bp <= 10_000)
            .map(VatRate)
            .ok_or_else(|| format!("must be a percentage like \"20\" or \"12.5\", got {:?}", self.stall.vat_rate))
    }
}

/// What is wrong with a sync server address, if anything. The device token travels in every
/// request, so it goes over HTTPS; plain HTTP only to this machine (a server run beside the
/// kiosk, or a TLS proxy on loopback), where nothing crosses a network.
pub fn sync_url_problem(url: &str) -> Option<String> {
    let parsed = match reqwest::Url::parse(url) {
        Ok(u) => u,
        Err(_) if url.split_once("://").is_some_and(|(_, rest)| rest.trim_matches('/').is_empty()) => {
            return Some(format!("{url:?} names no server: write it as https://host[:port]"));
        }
        Err(e) => return Some(format!("{url:?} is not an address ({e}): write it as https://host[:port]")),
    };
    let host = parsed.host_str().filter(|h| !h.is_empty());
    match (parsed.scheme(), host) {
        (_, None) => Some(format!("{url:?} names no server: write it as https://host[:port]")),
        ("https", Some(_)) => None,
        ("http", Some(host)) => {
            let loopback = host == "localhost"
                || host.trim_matches(['[', ']']).parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
            (!loopback).then(|| {
                format!(
                    "{url:?} would send the device token unencrypted across the network: use https:// \
                     (http:// is only for a server on this machine)"
                )
            })
        }
        (scheme, _) => Some(format!("{scheme}:// is not a sync protocol: use https:// (http:// only to this machine)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("kiosk.toml"))
    }

    #[test]
    fn empty_file_gives_documented_defaults() {
        let c = parse("").unwrap();
        assert_eq!(c, Config::default());
        assert_eq!(c.vat_rate().unwrap(), VatRate(2000));
    }

    #[test]
    fn shipped_example_is_valid() {
        parse(EXAMPLE).unwrap();
    }

    #[test]
    fn a_usb_camera_is_configured_by_device_and_size() {
        let config =
            parse("[camera]\nkind = \"v4l2\"\ndevice = \"/dev/marketday-camera\"\nwidth = 1920\nheight = 1080\n")
                .unwrap();
        assert_eq!(config.camera.kind, CameraKind::Usb);
        assert_eq!(config.camera.device.as_deref(), Some("/dev/marketday-camera"));
        assert_eq!((config.camera.width, config.camera.height), (1920, 1080));
        let default = parse("[camera]\nkind = \"usb\"\n").unwrap().camera;
        assert_eq!((default.device, default.width, default.height), (None, 1280, 720));
    }

    #[test]
    fn unknown_key_is_named() {
        let err = parse("[stall]\nnmae = \"x\"\n").unwrap_err().to_string();
        assert!(err.contains("nmae"), "{err}");
    }

    #[test]
    fn a_missing_config_file_says_its_cause_once() {
        let err = anyhow::Error::new(Config::load(Path::new("/nonexistent/marketday.toml")).unwrap_err());
        let said = format!("{err:#}");
        assert!(said.starts_with("cannot read config file /nonexistent/marketday.toml"), "{said}");
        assert_eq!(said.matches("No such file or directory").count(), 1, "{said}");
    }

    #[test]
    fn the_device_token_never_crosses_a_network_in_clear() {
        for ok in [
            "https://cloud.example.com",
            "https://10.1.2.3:8787",
            "http://127.0.0.1:8787",
            "http://localhost:8787",
            "http://[::1]:8787",
        ] {
            assert_eq!(sync_url_problem(ok), None, "{ok}");
        }
        let cases = [
            ("http://10.1.2.3:8787", "unencrypted"),
            ("http://cloud.example.com", "unencrypted"),
            ("https://", "names no server"),
            ("ftp://cloud.example.com", "ftp:// is not a sync protocol"),
            ("cloud.example.com", "is not an address"),
        ];
        for (url, says) in cases {
            let problem = sync_url_problem(url).unwrap_or_else(|| panic!("{url} accepted"));
            assert!(problem.contains(says), "{url}: {problem}");
        }
        let err = parse("[sync]\nurl = \"http://10.1.2.3:8787\"\ntoken = \"mdk_x\"").unwrap_err().to_string();
        assert!(err.contains("`sync.url`") && err.contains("unencrypted"), "{err}");
    }

    #[test]
    fn an_unset_window_size_fits_the_screen_in_its_orientation() {
        let fit = DisplayConfig::default();
        assert_eq!(fit.window_size(None), LANDSCAPE);
        assert_eq!(fit.window_size(Some((1920, 1080))), (800, 480));
        assert_eq!(fit.window_size(Some((1080, 1920))), (720, 1280));
        // A screen smaller than the design size: the window is the screen, never cut off.
        assert_eq!(fit.window_size(Some((720, 1280))), (720, 1280));
        assert_eq!(fit.window_size(Some((600, 1024))), (600, 1024));
        assert_eq!(fit.window_size(Some((640, 400))), (640, 400));
        let set = DisplayConfig { width: Some(1024), height: Some(600), ..DisplayConfig::default() };
        assert_eq!(set.window_size(Some((720, 1280))), (1024, 600));
    }

    #[test]
    fn bad_values_name_their_key() {
        let cases = [
            ("[stall]\ncurrency = \"pounds\"", "stall.currency"),
            ("[stall]\nvat_rate = \"twenty\"", "stall.vat_rate"),
            ("[stall]\ndevice_id = \"kiosk one\"", "stall.device_id"),
            ("[display]\nwidth = 10", "display"),
            ("[display]\nwidth = 10\nheight = 480", "display"),
            ("[printer]\nprofile = \"tm-t1000\"", "printer.profile"),
            ("[printer]\nkind = \"serial\"", "printer.path"),
            ("[printer]\nbaud = 12", "printer.baud"),
            ("[printer]\nwidth_dots = 100", "printer.width_dots"),
            ("[printer]\ncolumns = 48", "printer.columns"),
            ("[stall]\nverify_url = \"verify.example\"", "stall.verify_url"),
            ("[sync]\nca_file = \"/nonexistent/cloud-ca.pem\"", "sync.ca_file"),
            ("[sync]\nca_file = \"Cargo.toml\"", "sync.ca_file"),
        ];
        for (text, key) in cases {
            let err = parse(text).unwrap_err().to_string();
            assert!(err.contains(&format!("`{key}`")), "{text}: {err}");
        }
        let err = parse("[stall]\nreturns_days = \"seven\"").unwrap_err().to_string();
        assert!(err.contains("returns_days"), "{err}");
        assert!(parse("[stall\n").is_err());
    }

    #[test]
    fn printer_profile_facts_can_be_overridden() {
        let c = parse("[printer]\nprofile = \"generic-80\"\ncut = false\ncodepage = \"cp437\"\ncolumns = 42").unwrap();
        let p = c.printer_profile().unwrap();
        assert_eq!((p.width_dots, p.columns, p.cut, p.codepage), (576, 42, false, Codepage::Cp437));
    }

    #[test]
    fn vat_rates_parse_exactly() {
        let rate = |s: &str| {
            Config { stall: StallConfig { vat_rate: s.into(), ..Default::default() }, ..Default::default() }.vat_rate()
        };
        assert_eq!(rate("12.5%"), Ok(VatRate(1250)));
        assert_eq!(rate("0"), Ok(VatRate(0)));
        assert!(rate("12.555").is_err());
        assert!(rate("101").is_err());
    }
}
