//! Debian's Chromium, headless, driven through `chromedriver` (WebDriver) by `fantoccini`:
//! pages as a phone shows them.
#![allow(dead_code)]

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder};

/// Where Debian puts the driver (package `chromium-driver`); else the first on `PATH`.
fn chromedriver() -> Option<PathBuf> {
    let debian = PathBuf::from("/usr/bin/chromedriver");
    if debian.exists() {
        return Some(debian);
    }
    std::env::var_os("PATH")?.to_str()?.split(':').map(|d| PathBuf::from(d).join("chromedriver")).find(|p| p.exists())
}

/// The driver, if this machine has one. Without one a test says so and passes over its
/// browser part, except under CI, where that is a failure (`.ci/run` installs it).
pub fn available() -> Option<PathBuf> {
    match chromedriver() {
        Some(path) => Some(path),
        None if std::env::var_os("CI").is_some() => {
            panic!("CI must test the public pages in a browser: install chromium and chromium-driver (.ci/run does)")
        }
        None => {
            eprintln!("public pages not tested in a browser: no chromedriver (apt install chromium chromium-driver)");
            None
        }
    }
}

/// A headless Chromium session with a phone's viewport, and its driver process.
pub struct Browser {
    pub client: Client,
    driver: Child,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Browser {
    /// A phone of `width` x `height` CSS pixels at one device pixel each, asking for
    /// British English (so pages read as the README shows them).
    pub async fn phone(driver: &std::path::Path, width: u32, height: u32) -> Browser {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut child = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "chromedriver never listened");
            if let Some(status) = child.try_wait().unwrap() {
                panic!("chromedriver stopped: {status}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let options = serde_json::json!({
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--hide-scrollbars", "--lang=en-GB"],
            "prefs": {"intl.accept_languages": "en-GB,en"},
            "mobileEmulation": {"deviceMetrics": {"width": width, "height": height, "pixelRatio": 1.0, "touch": true}},
        });
        let mut caps = serde_json::Map::new();
        caps.insert("goog:chromeOptions".into(), options);
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = ClientBuilder::new(connector)
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .unwrap_or_else(|e| panic!("no Chromium session through chromedriver: {e}"));
        Browser { client, driver: child }
    }

    /// The page's visible text, as a reader sees it. Right after a click the next page
    /// may still be loading (no body yet, or the old one gone stale): wait for it.
    pub async fn text(&self) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let read = async {
                let body = self.client.find(fantoccini::Locator::Css("body")).await?;
                body.text().await
            };
            match read.await {
                Ok(text) => return text,
                Err(e) if Instant::now() > deadline => panic!("no page to read: {e}"),
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    }

    /// The page's text once it contains `needle`: after a click, the page that follows.
    pub async fn text_with(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let text = self.text().await;
            if text.contains(needle) || Instant::now() > deadline {
                return text;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// A PNG of the viewport.
    pub async fn screenshot(&self) -> Vec<u8> {
        self.client.screenshot().await.unwrap()
    }
}
