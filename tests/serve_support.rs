//! What the service tests share: a server on an ephemeral loopback port, run
//! in-process or as the built binary, and a small HTTP/1.1 client.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::Value;
use triage_service::serve::Config;

pub const POLICIES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/policies");
pub const EXAMPLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/examples/tickets/premier-critical.json"
);

pub fn example() -> Value {
    serde_json::from_str(&std::fs::read_to_string(EXAMPLE).unwrap()).unwrap()
}

/// The reference policies, copied where a test may change them.
pub fn policies_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(Path::new(POLICIES), dir.path());
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir(&target).unwrap();
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// A copy of the reference policies whose marketplace rule fails at run
/// time (a division by zero), and a ticket that reaches it.
pub fn failing_rule_pack() -> (tempfile::TempDir, Value) {
    let dir = policies_copy();
    let rules = std::fs::read_to_string(dir.path().join("boundaries.yaml")).unwrap();
    let broken = rules.replacen(
        "when: technical && service == \"marketplace\"",
        "when: technical && service == \"marketplace\" && 1 / (customer.id.len() - customer.id.len()) > 0",
        1,
    );
    assert_ne!(rules, broken);
    replace(dir.path(), "boundaries.yaml", &broken);
    let mut ticket = example();
    ticket["service"] = Value::from("marketplace");
    (dir, ticket)
}

/// Replaces a file the way editors and config maps do: write aside, rename.
pub fn replace(dir: &Path, name: &str, text: &str) {
    let aside = dir.join(format!(".{name}.tmp"));
    std::fs::write(&aside, text).unwrap();
    std::fs::rename(&aside, dir.join(name)).unwrap();
}

/// An in-process server; stopped (gracefully) when dropped.
pub struct Server {
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    pub fn start(config: Config) -> Server {
        Server::start_on(config, 2)
    }

    /// A server whose runtime has `threads` async worker threads.
    pub fn start_on(config: Config, threads: usize) -> Server {
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(threads)
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                addr_tx.send(listener.local_addr().unwrap()).unwrap();
                let stop = async move {
                    let _ = stop_rx.await;
                };
                triage_service::serve::serve(listener, config, stop)
                    .await
                    .unwrap();
            });
        });
        let addr = addr_rx.recv_timeout(Duration::from_secs(20)).unwrap();
        let server = Server {
            addr,
            stop: Some(stop_tx),
            thread: Some(thread),
        };
        // Connections wait in the backlog until the bundle is loaded; one
        // answer means the service is past its start.
        assert_eq!(server.get("/healthz").status, 200);
        server
    }

    pub fn with_policies(dir: impl Into<PathBuf>) -> Server {
        let mut config = Config::new(dir);
        config.watch = false;
        Server::start(config)
    }

    pub fn get(&self, path: &str) -> Response {
        request(self.addr, "GET", path, &[], b"")
    }

    pub fn post(&self, path: &str, body: &[u8]) -> Response {
        request(self.addr, "POST", path, &[], body)
    }

    pub fn post_json(&self, path: &str, body: &Value) -> Response {
        self.post(path, body.to_string().as_bytes())
    }

    /// The value of an unlabelled sample, or of the first sample whose line
    /// contains `needle`.
    pub fn metric(&self, needle: &str) -> f64 {
        metric(&self.get("/metrics").text(), needle)
    }

    fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            thread.join().unwrap();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            self.shutdown();
        }
    }
}

pub fn metric(text: &str, needle: &str) -> f64 {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .find(|line| line.starts_with(&format!("{needle} ")) || line.contains(needle))
        .and_then(|line| line.rsplit(' ').next())
        .map_or(0.0, |v| v.parse().unwrap())
}

/// The built binary serving on an ephemeral port; killed if still running when dropped.
pub struct Process {
    pub child: Child,
    pub addr: SocketAddr,
}

impl Process {
    pub fn start(policies: &Path, extra: &[&str]) -> Process {
        Process::try_start(policies, extra, &[]).expect("the server did not start")
    }

    /// The server started with `extra` arguments and `env` variables, or
    /// `None` when it exited before listening.
    pub fn try_start(policies: &Path, extra: &[&str], env: &[(&str, &str)]) -> Option<Process> {
        let mut child = Command::new(env!("CARGO_BIN_EXE_triage"))
            .args(["serve", "--listen", "127.0.0.1:0", "--policies"])
            .arg(policies)
            .args(extra)
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let Some(addr) = line.trim().strip_prefix("listening on http://") else {
            let _ = child.wait();
            return None;
        };
        let addr = addr.parse().unwrap();
        Some(Process { child, addr })
    }

    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits for the process to exit, at most `limit`.
    pub fn wait(&mut self, limit: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "the server did not exit");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// The address a started command announces on its first line, after `prefix`.
pub fn announced(child: &mut Child, prefix: &str) -> SocketAddr {
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    line.strip_prefix(prefix)
        .and_then(|rest| rest.split(['/', ' ', '\n']).next())
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .parse()
        .unwrap()
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// One request on its own connection.
pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Response {
    let mut stream = send_head(addr, method, path, headers, body.len());
    stream.write_all(body).unwrap();
    read_response(&mut stream)
}

/// Sends a request line and headers announcing `length` body bytes, and
/// nothing of the body: the caller writes it (or not) to the stream.
pub fn send_head(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    length: usize,
) -> TcpStream {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\ncontent-length: {length}\r\n"
    );
    if length > 0 {
        head += "content-type: application/json\r\n";
    }
    for (name, value) in headers {
        head += &format!("{name}: {value}\r\n");
    }
    head += "\r\n";
    stream.write_all(head.as_bytes()).unwrap();
    stream
}

pub fn read_response(stream: &mut TcpStream) -> Response {
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no header end in {:?}", String::from_utf8_lossy(&raw)));
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_lowercase(), v.trim().to_owned()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    if headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"))
    {
        body = unchunk(&body);
    }
    Response {
        status,
        headers,
        body,
    }
}

fn unchunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let end = data.windows(2).position(|w| w == b"\r\n").unwrap();
        let size =
            usize::from_str_radix(std::str::from_utf8(&data[..end]).unwrap().trim(), 16).unwrap();
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&data[end + 2..end + 2 + size]);
        data = &data[end + 4 + size..];
    }
}

/// Polls `check` until it holds, failing after `limit`.
pub fn eventually(limit: Duration, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(25));
    }
}
