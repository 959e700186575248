//! `cargo xtask <check>`: repository checks.

use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    match std::env::args().nth(1).as_deref() {
        Some("layers") => layers(),
        _ => {
            eprintln!("usage: cargo xtask layers");
            ExitCode::from(2)
        }
    }
}

fn layers() -> ExitCode {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--no-deps", "--locked"])
        .output();
    let metadata = match output {
        Ok(out) if out.status.success() => out.stdout,
        Ok(out) => {
            eprintln!(
                "cargo metadata failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            return ExitCode::FAILURE;
        }
        Err(e) => {
            eprintln!("cannot run cargo metadata: {e}");
            return ExitCode::FAILURE;
        }
    };
    let parsed = serde_json::from_slice(&metadata).map_err(|e| e.to_string());
    match parsed.and_then(|m| xtask::layers::check(&m)) {
        Ok(violations) if violations.is_empty() => {
            println!("crate layers: every dependency points down");
            ExitCode::SUCCESS
        }
        Ok(violations) => {
            for v in violations {
                eprintln!("{v}");
            }
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}
