//! The `gantry` binary: parses flags, wires components together, installs tracing.

mod duration;
mod server;

use clap::{Parser, Subcommand};

/// Gantry: a Kubernetes written in Rust, in one binary.
#[derive(Debug, Parser)]
#[command(name = "gantry", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Runs a control-plane node: the store and every component built so far.
    Server(server::Args),
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match cli.command {
        Command::Server(args) => runtime.block_on(server::run(args)),
    }
}
