//! A real browser for the workbench tests: Debian's headless Chromium,
//! driven through its WebDriver server, chromedriver (both installed by
//! `scripts/install-chromium.sh`). The few WebDriver calls the tests need
//! are JSON over HTTP, sent with the service tests' own HTTP client.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};

use crate::serve_support::{eventually, send_head};

/// The key a W3C WebDriver element reference is held under.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

static BROWSER: Mutex<()> = Mutex::new(());

/// How long the page may take to show what a test waits for.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// A chromedriver with one headless Chromium session, 1280×800; both end
/// when it is dropped.
pub struct Browser {
    _one_at_a_time: MutexGuard<'static, ()>,
    driver: Child,
    addr: SocketAddr,
    session: String,
    _profile: tempfile::TempDir,
}

/// Chromium's binary: Debian's `/usr/bin/chromium` is a wrapper script.
fn chromium() -> Option<&'static str> {
    ["/usr/lib/chromium/chromium", "/usr/bin/chromium"]
        .into_iter()
        .find(|p| Path::new(p).exists())
}

impl Browser {
    /// A browser, or `None` (outside CI) when chromium or chromedriver is
    /// not installed.
    pub fn start() -> Option<Browser> {
        let driver = ["/usr/bin/chromedriver"]
            .into_iter()
            .find(|p| Path::new(p).exists());
        let (Some(driver), Some(chromium)) = (driver, chromium()) else {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI must install chromium and chromedriver (scripts/install-chromium.sh)"
            );
            eprintln!(
                "SKIPPED: chromium or chromedriver is not installed (run scripts/install-chromium.sh)"
            );
            return None;
        };
        // Two browsers at once would only slow each other down.
        let one_at_a_time = BROWSER.lock().unwrap_or_else(PoisonError::into_inner);
        let mut child = Command::new(driver)
            .arg("--port=0")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let addr = driver_address(&mut child);
        let profile = tempfile::tempdir().unwrap();
        let mut browser = Browser {
            _one_at_a_time: one_at_a_time,
            driver: child,
            addr,
            session: String::new(),
            _profile: profile,
        };
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--window-size=1280,800",
            "--force-device-scale-factor=1",
            &format!("--user-data-dir={}", browser._profile.path().display()),
        ];
        let capabilities = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": chromium, "args": args },
            "goog:loggingPrefs": { "browser": "SEVERE" },
        }}});
        let session = browser.call("POST", "/session", Some(capabilities));
        browser.session = session["sessionId"].as_str().unwrap().to_owned();
        Some(browser)
    }

    /// One WebDriver command; its `value`, or a panic with the driver's error.
    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        match self.attempt(method, path, body) {
            Ok(value) => value,
            Err(error) => panic!("{method} {path}: {error}"),
        }
    }

    /// One WebDriver command: its `value`, or the driver's error.
    fn attempt(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, Value> {
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let mut stream = send_head(self.addr, method, path, &[], body.len());
        // Starting a browser on a busy machine takes a while.
        stream
            .set_read_timeout(Some(Duration::from_secs(120)))
            .unwrap();
        stream.write_all(body.as_bytes()).unwrap();
        let (status, mut answer) = answer(&mut stream);
        match status {
            200 => Ok(answer["value"].take()),
            _ => Err(answer),
        }
    }

    fn session(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        self.call(method, &format!("/session/{}{path}", self.session), body)
    }

    pub fn open(&self, url: &str) {
        self.session("POST", "/url", Some(json!({ "url": url })));
    }

    pub fn url(&self) -> String {
        self.session("GET", "/url", None)
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// The elements `css` selects, as WebDriver references.
    fn all(&self, css: &str) -> Vec<String> {
        let found = self.session(
            "POST",
            "/elements",
            Some(json!({ "using": "css selector", "value": css })),
        );
        found
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e[ELEMENT].as_str().unwrap().to_owned())
            .collect()
    }

    /// The one element `css` selects, once the page shows it.
    fn one(&self, css: &str) -> String {
        let mut found = Vec::new();
        eventually(PATIENCE, &format!("an element `{css}`"), || {
            found = self.all(css);
            !found.is_empty()
        });
        found.remove(0)
    }

    fn element(&self, id: &str, method: &str, what: &str, body: Option<Value>) -> Value {
        self.session(method, &format!("/element/{id}{what}"), body)
    }

    /// The text a person sees in the element `css` selects.
    pub fn text(&self, css: &str) -> String {
        let id = self.one(css);
        let text = self.element(&id, "GET", "/text", None);
        text.as_str().unwrap_or_default().to_owned()
    }

    /// Waits until the element `css` selects shows text that `wanted`
    /// accepts, and returns it.
    pub fn wait_text(&self, css: &str, what: &str, wanted: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            // The page may replace the element between finding and reading it.
            let text = self.all(css).first().map_or(String::new(), |id| {
                let path = format!("/session/{}/element/{id}/text", self.session);
                let value = self.attempt("GET", &path, None).unwrap_or_default();
                value.as_str().unwrap_or_default().to_owned()
            });
            if wanted(&text) {
                return text;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; `{css}` shows {text:?} at {}",
                self.url()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn click(&self, css: &str) {
        let id = self.one(css);
        self.element(&id, "POST", "/click", Some(json!({})));
    }

    /// Replaces what the input `css` holds by `text`, as a person types it.
    pub fn type_into(&self, css: &str, text: &str) {
        let id = self.one(css);
        self.element(&id, "POST", "/clear", Some(json!({})));
        self.element(&id, "POST", "/value", Some(json!({ "text": text })));
    }

    /// Whether the checkbox `css` is ticked.
    pub fn ticked(&self, css: &str) -> bool {
        let id = self.one(css);
        self.element(&id, "GET", "/selected", None)
            .as_bool()
            .unwrap()
    }

    /// The element's tag name.
    pub fn tag(&self, css: &str) -> String {
        let id = self.one(css);
        let name = self.element(&id, "GET", "/name", None);
        name.as_str().unwrap().to_lowercase()
    }

    /// The attribute `name` of the element `css` selects.
    pub fn attribute(&self, css: &str, name: &str) -> Option<String> {
        let id = self.one(css);
        let value = self.element(&id, "GET", &format!("/attribute/{name}"), None);
        value.as_str().map(str::to_owned)
    }

    /// The page's errors logged to the console so far.
    pub fn console_errors(&self) -> Vec<String> {
        let log = self.session("POST", "/se/log", Some(json!({ "type": "browser" })));
        log.as_array()
            .map(|entries| {
                entries
                    .iter()
                    .filter(|e| e["level"] == "SEVERE")
                    .map(|e| e["message"].as_str().unwrap_or_default().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Presses each key of `keys` in turn, as a keyboard does (`\u{e004}`
    /// is Tab, `\u{e007}` Enter, `\u{e015}` the down arrow).
    pub fn press(&self, keys: &str) {
        let mut actions = Vec::new();
        for key in keys.chars() {
            actions.push(json!({ "type": "keyDown", "value": key.to_string() }));
            actions.push(json!({ "type": "keyUp", "value": key.to_string() }));
        }
        let keyboard = json!({ "type": "key", "id": "keyboard", "actions": actions });
        self.session("POST", "/actions", Some(json!({ "actions": [keyboard] })));
    }

    /// What has the keyboard focus: its tag, `data-path` or `id`, and text.
    pub fn focused(&self) -> String {
        let script = "const e = document.activeElement; \
            return `${e.tagName.toLowerCase()} ${e.dataset.path || e.id || ''} ${e.textContent.trim().slice(0, 40)}`;";
        let value = self.session(
            "POST",
            "/execute/sync",
            Some(json!({ "script": script, "args": [] })),
        );
        value.as_str().unwrap_or_default().to_owned()
    }

    /// Scrolls the element `css` selects to the top of the window.
    pub fn scroll_to(&self, css: &str) {
        let id = self.one(css);
        let script = "arguments[0].scrollIntoView({ block: 'start' });";
        let element = json!({ ELEMENT: id });
        self.session(
            "POST",
            "/execute/sync",
            Some(json!({ "script": script, "args": [element] })),
        );
    }

    /// Saves what the window shows, as PNG.
    pub fn screenshot(&self, path: &Path) {
        let data = self.session("GET", "/screenshot", None);
        let png = base64::engine::general_purpose::STANDARD
            .decode(data.as_str().unwrap())
            .unwrap();
        assert!(png.starts_with(b"\x89PNG"), "a PNG");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, png).unwrap();
    }
}

/// A status and a JSON body, read by its length: chromedriver keeps the
/// connection open whatever the request asks.
fn answer(stream: &mut TcpStream) -> (u16, Value) {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    let status = line.split(' ').nth(1).unwrap().parse().unwrap();
    let mut length = 0;
    loop {
        line.clear();
        reader.read_line(&mut line).unwrap();
        if line.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap();
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    (status, serde_json::from_slice(&body).unwrap())
}

/// The port chromedriver says it listens on.
fn driver_address(child: &mut Child) -> SocketAddr {
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(rest) = line.split("started successfully on port ").nth(1) {
            let port: u16 = rest.trim_end_matches('.').trim().parse().unwrap();
            // The rest of its output is not read: it goes nowhere.
            std::thread::spawn(move || lines.for_each(drop));
            return SocketAddr::from(([127, 0, 0, 1], port));
        }
    }
    panic!("chromedriver did not say where it listens");
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            // Ends the browser; its answer does not matter.
            let path = format!("/session/{}", self.session);
            let mut stream = send_head(self.addr, "DELETE", &path, &[], 0);
            let _ = stream.set_read_timeout(Some(Duration::from_secs(20)));
            let _ = std::panic::catch_unwind(move || answer(&mut stream));
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
