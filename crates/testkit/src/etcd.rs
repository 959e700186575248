//! A real etcd process for tests and benchmarks.

use gantry_store::Store;
use gantry_store::etcd::EtcdStore;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Why an etcd could not be started.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The binary is missing or would not run.
    #[error("cannot run {binary}: {source} (install Debian's etcd-server; scripts/test does)")]
    Spawn {
        /// The binary that was run.
        binary: String,
        /// Why it failed.
        source: std::io::Error,
    },
    /// A file or socket operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: &'static str,
        /// The error.
        source: std::io::Error,
    },
    /// etcd started but never answered.
    #[error("etcd did not answer on {endpoint} within {waited:?}: {last}")]
    NotReady {
        /// The client URL polled.
        endpoint: String,
        /// How long it was polled.
        waited: Duration,
        /// The last error seen.
        last: String,
    },
}

/// How to start an etcd.
#[derive(Debug, Clone)]
pub struct EtcdOptions {
    /// The binary (default `etcd`, found on `PATH`).
    pub binary: String,
    /// Where the data directory goes; a fresh temporary directory is made inside it.
    pub parent_dir: Option<PathBuf>,
    /// etcd's `--experimental-watch-progress-notify-interval`.
    pub progress_notify_interval: Duration,
}

impl Default for EtcdOptions {
    fn default() -> Self {
        Self {
            binary: std::env::var("GANTRY_ETCD_BINARY").unwrap_or_else(|_| "etcd".into()),
            parent_dir: None,
            progress_notify_interval: Duration::from_millis(500),
        }
    }
}

/// A running etcd, killed (and its data directory removed) on drop.
#[derive(Debug)]
pub struct EtcdServer {
    child: Child,
    endpoint: String,
    dir: tempfile::TempDir,
}

/// How long a fresh etcd gets to answer.
const READY_WITHIN: Duration = Duration::from_secs(30);

impl EtcdServer {
    /// Starts an etcd with default options and waits until it serves requests.
    pub async fn start() -> Result<Self, Error> {
        Self::start_with(EtcdOptions::default()).await
    }

    /// Starts an etcd and waits until it serves requests.
    pub async fn start_with(options: EtcdOptions) -> Result<Self, Error> {
        let dir = match &options.parent_dir {
            Some(parent) => tempfile::Builder::new().prefix("etcd-").tempdir_in(parent),
            None => tempfile::Builder::new().prefix("gantry-etcd-").tempdir(),
        }
        .map_err(|source| Error::Io {
            context: "creating etcd's data directory",
            source,
        })?;
        let (client, peer) = (free_port()?, free_port()?);
        let endpoint = format!("http://127.0.0.1:{client}");
        let peer_url = format!("http://127.0.0.1:{peer}");
        let log =
            std::fs::File::create(dir.path().join("etcd.log")).map_err(|source| Error::Io {
                context: "creating etcd's log file",
                source,
            })?;
        let log_err = log.try_clone().map_err(|source| Error::Io {
            context: "duplicating etcd's log file",
            source,
        })?;
        let interval = format!("{}ms", options.progress_notify_interval.as_millis());
        let child = Command::new(&options.binary)
            .arg("--name=gantry-test")
            .arg(format!("--data-dir={}", dir.path().join("data").display()))
            .arg(format!("--listen-client-urls={endpoint}"))
            .arg(format!("--advertise-client-urls={endpoint}"))
            .arg(format!("--listen-peer-urls={peer_url}"))
            .arg(format!("--initial-advertise-peer-urls={peer_url}"))
            .arg(format!("--initial-cluster=gantry-test={peer_url}"))
            // Room for a whole transaction (validate::MAX_TXN_BYTES) plus framing.
            .arg("--max-request-bytes=2621440")
            .arg(format!(
                "--experimental-watch-progress-notify-interval={interval}"
            ))
            .arg("--logger=zap")
            .arg("--log-level=warn")
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .spawn()
            .map_err(|source| Error::Spawn {
                binary: options.binary.clone(),
                source,
            })?;
        let server = Self {
            child,
            endpoint,
            dir,
        };
        server.wait_ready().await?;
        Ok(server)
    }

    async fn wait_ready(&self) -> Result<(), Error> {
        let started = Instant::now();
        let mut last = String::from("not polled");
        while started.elapsed() < READY_WITHIN {
            match self.client().await {
                Ok(store) => match store.current_revision().await {
                    Ok(_) => return Ok(()),
                    Err(e) => last = e.to_string(),
                },
                Err(e) => last = e.to_string(),
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let log = std::fs::read_to_string(self.dir.path().join("etcd.log")).unwrap_or_default();
        Err(Error::NotReady {
            endpoint: self.endpoint.clone(),
            waited: READY_WITHIN,
            last: format!("{last}; etcd log: {log}"),
        })
    }

    /// The client URL, `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The process id (to show that a real etcd is running).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The directory holding etcd's data and log.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// A new client store connected to this etcd.
    pub async fn client(&self) -> gantry_store::Result<EtcdStore> {
        EtcdStore::connect(std::slice::from_ref(&self.endpoint)).await
    }
}

impl Drop for EtcdServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port that was free a moment ago (the kernel picks it; etcd binds it right after).
fn free_port() -> Result<u16, Error> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|source| Error::Io {
        context: "finding a free port",
        source,
    })?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|source| Error::Io {
            context: "finding a free port",
            source,
        })
}
