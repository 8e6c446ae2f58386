//! The kiosk's TOML configuration, with documented defaults.
//!
//! Every key is optional; an unknown key or a bad value is an error that names the key,
//! because a typo silently ignored on a stall is a wrong price or a lost receipt.

use std::path::{Path, PathBuf};

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
}

#[derive(Debug, Clone, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// The SQLite file; defaults to `kiosk.sqlite` in the user's data directory.
    pub path: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum DeviceKind {
    #[default]
    Simulated,
    None,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct PrinterConfig {
    pub kind: DeviceKind,
    /// Where the simulated printer writes its jobs; defaults to `printer/` in the data directory.
    pub output_dir: Option<PathBuf>,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct CameraConfig {
    pub kind: DeviceKind,
    /// A folder of PGM frames for the simulated camera; a test pattern when absent.
    pub folder: Option<PathBuf>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DisplayConfig {
    pub width: u32,
    pub height: u32,
    /// Minutes without a touch before staff screens lock themselves.
    pub auto_lock_minutes: u32,
}

impl Default for StallConfig {
    fn default() -> Self {
        StallConfig {
            name: "Marketday demo stall".into(),
            device_id: "K1".into(),
            currency: "GBP".into(),
            vat_rate: "20".into(),
            returns_days: ReturnsWindow::default().days,
        }
    }
}

impl Default for DisplayConfig {
    fn default() -> Self {
        DisplayConfig { width: 800, height: 480, auto_lock_minutes: 5 }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
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
        let d = &self.display;
        if !(320..=4096).contains(&d.width) || !(320..=4096).contains(&d.height) {
            return Err(value("display", format!("size {}x{} is outside 320..4096", d.width, d.height)));
        }
        Ok(())
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
    fn unknown_key_is_named() {
        let err = parse("[stall]\nnmae = \"x\"\n").unwrap_err().to_string();
        assert!(err.contains("nmae"), "{err}");
    }

    #[test]
    fn bad_values_name_their_key() {
        let cases = [
            ("[stall]\ncurrency = \"pounds\"", "stall.currency"),
            ("[stall]\nvat_rate = \"twenty\"", "stall.vat_rate"),
            ("[stall]\ndevice_id = \"kiosk one\"", "stall.device_id"),
            ("[display]\nwidth = 10", "display"),
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
