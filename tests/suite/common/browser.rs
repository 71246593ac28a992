//! A real headless Chromium for the console's tests, driven over WebDriver by `fantoccini`
//! through the system's `chromedriver`. Each test starts its own driver on a free port and its own
//! browser; the calls are synchronous (each blocks on the test's own runtime), so the tests stay
//! plain `#[test]` functions like the rest of the suite.
//!
//! Without a browser the tests skip with a notice, except under `CI=true`, where they fail: CI
//! installs `chromium chromium-driver fonts-noto-cjk poppler-utils` (see `.ci/run`).
//!
//! Every test saves what it checked under `target/screenshots/` (PNG; prints as PDF and one PNG
//! a page), for a person to look at.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::wd::{PrintConfiguration, PrintMargins, PrintSize};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::Value;

/// How long a page may take to show what a test waits for.
const WAIT: Duration = Duration::from_secs(10);

fn first_existing(candidates: &[&str]) -> Option<PathBuf> {
    candidates.iter().find_map(|c| {
        let path = Path::new(c);
        if path.is_absolute() {
            return path.exists().then(|| path.to_path_buf());
        }
        std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join(c))
                .find(|p| p.exists())
        })
    })
}

/// Where the screenshots go: `target/screenshots/`.
pub fn screenshot_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join("screenshots");
    std::fs::create_dir_all(&dir).expect("create target/screenshots");
    dir
}

pub struct Browser {
    runtime: tokio::runtime::Runtime,
    client: Option<Client>,
    driver: Child,
}

impl Browser {
    /// A browser with a window of `width` × `height`, or `None` (with a notice) when this machine
    /// has none and CI is not set.
    pub fn start(width: u32, height: u32) -> Option<Browser> {
        let driver = first_existing(&[
            "chromedriver",
            "/usr/bin/chromedriver",
            "/usr/lib/chromium/chromedriver",
        ]);
        let chromium = first_existing(&["chromium", "chromium-browser", "/usr/bin/chromium"]);
        let (Some(driver), Some(chromium)) = (driver, chromium) else {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!(
                    "CI=true but chromium or chromedriver is missing: \
                     apt-get install -y chromium chromium-driver fonts-noto-cjk poppler-utils"
                );
            }
            eprintln!(
                "NOTICE: skipping a browser test: install chromium and chromium-driver to run it"
            );
            return None;
        };
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(&driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", driver.display()));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let mut browser = Browser {
            runtime,
            client: None,
            driver: child,
        };
        let url = format!("http://127.0.0.1:{port}");
        let capabilities: serde_json::Map<String, Value> = serde_json::from_value(serde_json::json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium.to_string_lossy(),
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--lang=zh-CN", "--hide-scrollbars", "--force-device-scale-factor=1",
                    format!("--window-size={width},{height}")
                ],
                "prefs": {"intl.accept_languages": "zh-CN"}
            }
        }))
        .unwrap();
        let started = Instant::now();
        let client = loop {
            let attempt = browser.runtime.block_on(
                ClientBuilder::native()
                    .capabilities(capabilities.clone())
                    .connect(&url),
            );
            match attempt {
                Ok(client) => break client,
                Err(e) if started.elapsed() < Duration::from_secs(20) => {
                    let _ = e;
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(e) => panic!("chromedriver at {url} gave no session: {e}"),
            }
        };
        browser.client = Some(client);
        browser.set_window_size(width, height);
        Some(browser)
    }

    fn client(&self) -> &Client {
        self.client.as_ref().expect("a session")
    }

    pub fn set_window_size(&self, width: u32, height: u32) {
        self.runtime
            .block_on(self.client().set_window_size(width, height))
            .expect("set the window size");
    }

    pub fn goto(&self, url: &str) {
        self.runtime
            .block_on(self.client().goto(url))
            .unwrap_or_else(|e| panic!("open {url}: {e}"));
    }

    pub fn current_path(&self) -> String {
        let url = self
            .runtime
            .block_on(self.client().current_url())
            .expect("the current url");
        match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_string(),
        }
    }

    pub fn source(&self) -> String {
        self.runtime
            .block_on(self.client().source())
            .expect("the page source")
    }

    /// The element `css` names, waiting for it to appear.
    pub fn find(&self, css: &str) -> Element {
        let started = Instant::now();
        loop {
            match self.runtime.block_on(self.client().find(Locator::Css(css))) {
                Ok(element) => return element,
                Err(_) if started.elapsed() < WAIT => std::thread::sleep(Duration::from_millis(50)),
                Err(e) => panic!(
                    "no {css} on {} after {WAIT:?}: {e}\n{}",
                    self.current_path(),
                    excerpt(&self.source())
                ),
            }
        }
    }

    pub fn exists(&self, css: &str) -> bool {
        self.runtime
            .block_on(self.client().find_all(Locator::Css(css)))
            .map(|found| !found.is_empty())
            .unwrap_or(false)
    }

    pub fn click(&self, css: &str) {
        let element = self.find(css);
        self.runtime
            .block_on(element.click())
            .unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    /// Types `text` into the field `css`, after clearing it.
    pub fn fill(&self, css: &str, text: &str) {
        let element = self.find(css);
        self.runtime
            .block_on(async {
                element.clear().await?;
                element.send_keys(text).await
            })
            .unwrap_or_else(|e| panic!("type into {css}: {e}"));
    }

    /// Types `text` and Enter, as a barcode scanner does.
    pub fn scan(&self, css: &str, text: &str) {
        self.fill(css, &format!("{text}\u{E007}"));
    }

    pub fn text(&self, css: &str) -> String {
        let element = self.find(css);
        self.runtime
            .block_on(element.text())
            .unwrap_or_else(|e| panic!("text of {css}: {e}"))
    }

    /// Waits until the page's path is `path` (after a form's redirect).
    pub fn wait_for_path(&self, path: &str) {
        let started = Instant::now();
        while self.current_path() != path {
            if started.elapsed() > WAIT {
                panic!(
                    "the page stayed at {} instead of {path}\n{}",
                    self.current_path(),
                    excerpt(&self.source())
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits until the path starts with `prefix`, and answers the path.
    pub fn wait_for_path_prefix(&self, prefix: &str) -> String {
        let started = Instant::now();
        loop {
            let path = self.current_path();
            if path.starts_with(prefix) {
                return path;
            }
            if started.elapsed() > WAIT {
                panic!(
                    "the page stayed at {path}, not under {prefix}\n{}",
                    excerpt(&self.source())
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn execute(&self, script: &str, args: Vec<Value>) -> Value {
        self.runtime
            .block_on(self.client().execute(script, args))
            .unwrap_or_else(|e| panic!("script failed: {e}"))
    }

    /// An async script: it calls `arguments[arguments.length - 1]` with its answer.
    pub fn execute_async(&self, script: &str, args: Vec<Value>) -> Value {
        self.runtime
            .block_on(self.client().execute_async(script, args))
            .unwrap_or_else(|e| panic!("async script failed: {e}"))
    }

    /// The cookies the browser holds for the page: (name, value, http_only, same_site).
    pub fn cookies(&self) -> Vec<(String, String, bool, String)> {
        self.runtime
            .block_on(self.client().get_all_cookies())
            .expect("cookies")
            .into_iter()
            .map(|c| {
                (
                    c.name().to_string(),
                    c.value().to_string(),
                    c.http_only().unwrap_or(false),
                    c.same_site().map(|s| s.to_string()).unwrap_or_default(),
                )
            })
            .collect()
    }

    /// Saves the window as `target/screenshots/{name}.png`.
    pub fn screenshot(&self, name: &str) -> PathBuf {
        let png = self
            .runtime
            .block_on(self.client().screenshot())
            .expect("a screenshot");
        let path = screenshot_dir().join(format!("{name}.png"));
        std::fs::write(&path, png).expect("write the screenshot");
        path
    }

    /// Prints the page to `target/screenshots/{name}.pdf` on paper of `width_cm` × `height_cm`
    /// with no margins of the printer's own (the page's `@page` sets them), and turns each page
    /// into `{name}-N.png` when `pdftoppm` is there. Answers the PDF's bytes.
    pub fn print_pdf(&self, name: &str, width_cm: f64, height_cm: f64) -> Vec<u8> {
        let config = PrintConfiguration::builder()
            .size(PrintSize {
                width: width_cm,
                height: height_cm,
            })
            .margins(PrintMargins {
                top: 0.0,
                bottom: 0.0,
                left: 0.0,
                right: 0.0,
            })
            .shrink_to_fit(false)
            .background(true)
            .build()
            .expect("a print configuration");
        let pdf = self
            .runtime
            .block_on(self.client().print(config))
            .expect("print to PDF");
        let dir = screenshot_dir();
        let path = dir.join(format!("{name}.pdf"));
        std::fs::write(&path, &pdf).expect("write the PDF");
        if let Some(pdftoppm) = first_existing(&["pdftoppm"]) {
            let status = Command::new(pdftoppm)
                .args(["-png", "-r", "110"])
                .arg(&path)
                .arg(dir.join(name))
                .status()
                .expect("run pdftoppm");
            assert!(status.success(), "pdftoppm failed on {}", path.display());
        }
        pdf
    }
}

/// The number of pages of a PDF, counted from its page objects.
pub fn pdf_pages(pdf: &[u8]) -> usize {
    let text = String::from_utf8_lossy(pdf);
    text.matches("/Type /Page").count() - text.matches("/Type /Pages").count()
}

fn excerpt(source: &str) -> String {
    source.chars().take(3000).collect()
}

impl Drop for Browser {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            let _ = self.runtime.block_on(client.close());
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
