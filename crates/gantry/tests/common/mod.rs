//! Starting `gantry server` as a process for the binary's tests.

#![allow(dead_code, reason = "each test file uses a different part")]

pub(crate) mod agent;
pub(crate) mod http;
pub(crate) mod kube;
pub(crate) mod kubectl;
pub(crate) mod netns;
pub(crate) mod node;

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// A running `gantry server`, stopped with SIGTERM on drop.
pub(crate) struct Server {
    child: Option<Child>,
    /// Everything it printed, stdout and stderr, in arrival order.
    pub(crate) log: Vec<String>,
    /// The admin kubeconfig it wrote.
    pub(crate) kubeconfig: PathBuf,
    /// Its data directory (authority, tokens).
    pub(crate) data_dir: PathBuf,
    lines: mpsc::Receiver<String>,
}

fn forward(stream: impl Read + Send + 'static, tx: mpsc::Sender<String>) {
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
}

impl Server {
    /// Starts `gantry server --disable-agent --disable-scheduler --disable-controller-manager
    /// <args>` (the API alone, so that nothing else writes to the objects a test looks at)
    /// with an API server on a free loopback port and waits for its `export KUBECONFIG=` line.
    pub(crate) fn start(data_dir: &Path, args: &[&str]) -> Self {
        let mut all = vec![
            "--disable-agent",
            "--disable-scheduler",
            "--disable-controller-manager",
        ];
        all.extend_from_slice(args);
        Self::start_with_agent(data_dir, &all)
    }

    /// Starts `gantry server <args>`, node agent included unless `args` disable it.
    pub(crate) fn start_with_agent(data_dir: &Path, args: &[&str]) -> Self {
        Self::start_on(data_dir, "127.0.0.1:0", args)
    }

    /// The API server's port, from the kubeconfig (for nodes that reach it at another of the
    /// host's addresses).
    pub(crate) fn port(&self) -> String {
        std::fs::read_to_string(&self.kubeconfig)
            .expect("the kubeconfig")
            .lines()
            .find_map(|l| l.trim().strip_prefix("server: "))
            .and_then(|url| url.rsplit(':').next())
            .expect("a server URL with a port")
            .to_owned()
    }

    /// A base64 field of the admin kubeconfig (`certificate-authority-data`,
    /// `client-certificate-data`, `client-key-data`), decoded.
    pub(crate) fn kubeconfig_field(&self, key: &str) -> String {
        let text = std::fs::read_to_string(&self.kubeconfig).expect("the kubeconfig");
        gantry_pki::kubeconfig::embedded(&text, key).expect("the kubeconfig field")
    }

    /// The join token the server made (`<data-dir>/token`).
    pub(crate) fn token(&self) -> String {
        std::fs::read_to_string(self.data_dir.join("token"))
            .expect("the server's join token")
            .trim()
            .to_owned()
    }

    /// The API server's URL at `host` (one of the names in its certificate).
    pub(crate) fn url_at(&self, host: &str) -> String {
        format!("https://{host}:{}", self.port())
    }

    /// `start_with_agent`, with the API server on `listen` (`0.0.0.0:0` for nodes in other
    /// network namespaces).
    pub(crate) fn start_on(data_dir: &Path, listen: &str, args: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_gantry"))
            .arg("server")
            .arg("--data-dir")
            .arg(data_dir)
            .args(["--api-listen", listen])
            .args(args)
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start gantry server");
        let (tx, lines) = mpsc::channel();
        forward(child.stdout.take().expect("stdout"), tx.clone());
        forward(child.stderr.take().expect("stderr"), tx);
        let mut server = Self {
            child: Some(child),
            log: Vec::new(),
            kubeconfig: PathBuf::new(),
            data_dir: data_dir.to_owned(),
            lines,
        };
        loop {
            let line = server
                .lines
                .recv_timeout(Duration::from_secs(60))
                .unwrap_or_else(|_| {
                    panic!(
                        "gantry server did not come up; it printed: {:#?}",
                        server.log
                    )
                });
            server.log.push(line.clone());
            if let Some(path) = line.strip_prefix("export KUBECONFIG=") {
                server.kubeconfig = PathBuf::from(path);
                return server;
            }
        }
    }

    /// Waits (up to 30 s) until the log contains `needle`, and returns the log. Stdout and
    /// stderr are separate pipes, so their lines arrive in no guaranteed order.
    pub(crate) fn wait_for_log(&mut self, needle: &str) -> String {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            let text = self.log_text();
            if text.contains(needle) {
                return text;
            }
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self
                .lines
                .recv_timeout(left.min(Duration::from_millis(200)))
            {
                Ok(line) => self.log.push(line),
                Err(_) if left.is_zero() => panic!("the log never said {needle:?}:\n{text}"),
                Err(_) => {}
            }
        }
    }

    /// The whole log so far, as one string.
    pub(crate) fn log_text(&mut self) -> String {
        self.log.extend(self.lines.try_iter());
        self.log.join("\n")
    }

    /// Stops the server with SIGTERM and checks that it exits cleanly.
    pub(crate) fn stop(mut self) {
        let mut child = self.child.take().expect("running");
        let status = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success());
        let exit = child.wait().expect("wait for gantry server");
        assert!(exit.success(), "gantry server exited with {exit}");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
            kill_runtime_leftovers(&self.data_dir);
        }
    }
}

/// After a failed test killed the server: kills the containers its containerd ran, their
/// shims and that containerd itself (all outlive a killed server, by design), so nothing leaks
/// into the next test. Each container's process is a child of its shim, and each shim names
/// the containerd socket it serves on its command line.
pub(crate) fn kill_runtime_leftovers(data_dir: &Path) {
    let dir = data_dir.join("agent").join("containerd");
    let pids = |pattern: String| -> Vec<String> {
        // (`--`: the shims' pattern starts with a dash, which pgrep would take for options.)
        Command::new("pgrep")
            .args(["-f", "--"])
            .arg(pattern)
            .output()
            .map(|out| {
                String::from_utf8_lossy(&out.stdout)
                    .lines()
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    };
    let kill = |args: &[&str]| {
        let _ = Command::new(args[0]).args(&args[1..]).status();
    };
    for shim in pids(format!(
        "-address {}",
        dir.join("containerd.sock").display()
    )) {
        kill(&["pkill", "-KILL", "-P", &shim]);
        kill(&["kill", "-KILL", &shim]);
    }
    for containerd in pids(format!(
        "containerd --config {}",
        dir.join("config.toml").display()
    )) {
        kill(&["kill", "-KILL", &containerd]);
    }
}

/// Calls `get` every 100 ms, for up to 30 s, until it returns something non-empty (returned;
/// empty if it never did).
pub(crate) fn poll(get: impl Fn() -> String) -> String {
    poll_for(Duration::from_secs(30), get)
}

/// `poll`, for up to `limit`.
pub(crate) fn poll_for(limit: Duration, get: impl Fn() -> String) -> String {
    let deadline = std::time::Instant::now() + limit;
    while std::time::Instant::now() < deadline {
        let value = get();
        if !value.is_empty() {
            return value;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    String::new()
}
