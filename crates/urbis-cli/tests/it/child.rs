//! A child `urbis serve` for the tests that need a real process: crash, shutdown, faults,
//! configuration, operations and security. It prints its address, keeps its stdout drained and
//! its stderr captured (or written to a file), and is killed when dropped.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// How to start one.
pub struct Serve<'a> {
    pub args: Vec<&'a str>,
    pub env: Vec<(&'a str, &'a str)>,
    /// Environment variables the child must not inherit.
    pub env_remove: Vec<&'a str>,
    /// Where stderr goes: captured in memory (None) or appended to this file.
    pub stderr_file: Option<PathBuf>,
}

impl<'a> Serve<'a> {
    /// `urbis serve --listen 127.0.0.1:0 --db DB` with the admin's password set and quiet logs.
    pub fn on(db: &'a Path, admin_password: &'a str) -> Serve<'a> {
        Serve::on_store(db.to_str().expect("utf-8 path"), admin_password)
    }

    /// [`Serve::on`] for a `--db` argument: a SQLite file or a PostgreSQL URL.
    pub fn on_store(db: &'a str, admin_password: &'a str) -> Serve<'a> {
        Serve {
            args: vec!["--listen", "127.0.0.1:0", "--db", db],
            env: vec![
                ("URBIS_ADMIN_PASSWORD", admin_password),
                ("URBIS_LOG", "error"),
            ],
            env_remove: Vec::new(),
            stderr_file: None,
        }
    }

    /// A bare `urbis serve` with exactly these arguments (no default flags or environment).
    pub fn with_args(args: Vec<&'a str>) -> Serve<'a> {
        Serve {
            args,
            env: Vec::new(),
            env_remove: Vec::new(),
            stderr_file: None,
        }
    }

    pub fn arg(mut self, arg: &'a str) -> Serve<'a> {
        self.args.push(arg);
        self
    }

    pub fn env(mut self, key: &'a str, value: &'a str) -> Serve<'a> {
        self.env.retain(|(k, _)| *k != key);
        self.env.push((key, value));
        self
    }

    /// Starts it; Err carries what it printed to stderr when it refused to start.
    pub fn try_start(self) -> Result<Server, String> {
        let mut command = Command::new(env!("CARGO_BIN_EXE_urbis"));
        command.arg("serve").args(&self.args);
        for key in &self.env_remove {
            command.env_remove(key);
        }
        for (key, value) in &self.env {
            command.env(key, value);
        }
        command.stdout(Stdio::piped());
        match &self.stderr_file {
            Some(path) => {
                command.stderr(Stdio::from(std::fs::File::create(path).expect("log file")));
            }
            None => {
                command.stderr(Stdio::piped());
            }
        }
        let mut child = command.spawn().expect("spawn urbis serve");
        let stderr = Arc::new(Mutex::new(String::new()));
        let reader = child.stderr.take().map(|mut pipe| {
            let sink = stderr.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n) = pipe.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    sink.lock()
                        .expect("stderr")
                        .push_str(&String::from_utf8_lossy(&buf[..n]));
                }
            })
        });
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        loop {
            match lines.next() {
                Some(Ok(line)) => {
                    if let Some(addr) = line.strip_prefix("listening on ") {
                        // Keep draining stdout so the child never blocks on a full pipe.
                        std::thread::spawn(move || for _ in lines {});
                        return Ok(Server {
                            child,
                            base: addr.trim().to_owned(),
                            stderr,
                        });
                    }
                }
                _ => {
                    let status = child.wait().expect("wait");
                    if let Some(reader) = reader {
                        let _ = reader.join();
                    }
                    let text = stderr.lock().expect("stderr").clone();
                    return Err(format!("exit {status}: {text}"));
                }
            }
        }
    }

    /// Starts it, or fails the test with what it said.
    pub fn start(self) -> Server {
        self.try_start()
            .unwrap_or_else(|err| panic!("urbis serve failed: {err}"))
    }
}

/// A running child `urbis serve`.
pub struct Server {
    pub child: Child,
    pub base: String,
    stderr: Arc<Mutex<String>>,
}

impl Server {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What it printed to stderr so far (when captured).
    pub fn stderr(&self) -> String {
        self.stderr.lock().expect("stderr").clone()
    }

    /// Sends SIGTERM and returns how long the process took to exit (None: still running after `within`).
    pub fn terminate(&mut self, within: Duration) -> Option<(Duration, ExitStatus)> {
        let started = Instant::now();
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill -TERM");
        while started.elapsed() < within {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return Some((started.elapsed(), status));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// SIGKILL, then reap.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Logs in and returns the bearer token.
pub async fn login(http: &reqwest::Client, base: &str, user: &str, password: &str) -> String {
    let body: Value = http
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"username": user, "password": password}))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("login body");
    body["token"]
        .as_str()
        .unwrap_or_else(|| panic!("token for {user}: {body}"))
        .to_owned()
}
