//! The real kubectl, the versioned binary called directly (KUBECTL-WIRE §0) so the client
//! cannot shift under a test.

#![allow(
    clippy::unwrap_used,
    reason = "test code: a panic is the failure report"
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The versioned kubectl beside the dispatcher on PATH.
pub(crate) fn kubectl_binary(minor: u32) -> PathBuf {
    let dispatcher = which("kubectl").expect("kubectl is not on PATH");
    let real = std::fs::canonicalize(&dispatcher).unwrap();
    let binary = real.parent().unwrap().join(format!("kubectl.1.{minor}"));
    assert!(
        binary.exists(),
        "{} is missing (see KUBECTL-WIRE.md §0)",
        binary.display()
    );
    binary
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(name))
            .find(|p| p.is_file())
    })
}

pub(crate) struct Kubectl {
    pub(crate) binary: PathBuf,
    pub(crate) kubeconfig: PathBuf,
    pub(crate) home: tempfile::TempDir,
}

impl Kubectl {
    pub(crate) fn new(minor: u32, kubeconfig: &Path) -> Self {
        Self {
            binary: kubectl_binary(minor),
            kubeconfig: kubeconfig.to_owned(),
            home: tempfile::tempdir().unwrap(), // a fresh discovery cache per client
        }
    }

    pub(crate) fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(&self.binary);
        command
            .args(args)
            .env("KUBECONFIG", &self.kubeconfig)
            .env("HOME", self.home.path())
            .stdin(Stdio::null());
        command
    }

    pub(crate) fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    /// Runs and expects success; returns stdout.
    pub(crate) fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "kubectl {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// `get <what> -o jsonpath=<path>`, which must succeed.
    pub(crate) fn jsonpath(&self, what: &[&str], path: &str) -> String {
        let mut args = vec!["get"];
        args.extend_from_slice(what);
        let path = format!("jsonpath={path}");
        args.extend_from_slice(&["-o", &path]);
        self.ok(&args)
    }

    /// Runs and expects failure; returns stderr.
    pub(crate) fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(!out.status.success(), "kubectl {args:?} should have failed");
        String::from_utf8(out.stderr).unwrap()
    }
}
