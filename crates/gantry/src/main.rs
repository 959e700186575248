//! The `gantry` binary: parses flags, wires components together, installs tracing.

mod agent;
mod client;
mod controller_manager;
mod duration;
mod join;
mod pki;
mod scheduler;
mod server;
mod token;

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
    /// Runs only the API server (and its store).
    Apiserver(server::Args),
    /// Runs a worker node (the kubelet and its containerd) for an API server elsewhere.
    Agent(agent::Args),
    /// Runs the scheduler alone, for an API server elsewhere.
    Scheduler(scheduler::Args),
    /// Runs the controller manager alone, for an API server elsewhere.
    ControllerManager(controller_manager::Args),
    /// Creates, lists and deletes join tokens.
    Token(token::Args),
    /// Prints an admin kubeconfig (a new client certificate from the cluster authority).
    Kubeconfig(token::KubeconfigArgs),
}

// mimalloc instead of glibc's malloc: the API server allocates from every core at once, and
// glibc's arenas contend on it (a quarter of the server's cycles went to malloc and free, and
// their locks, under the scheduler benchmark).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    // Logs go to stderr, as upstream components log; stdout carries only what scripts read.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
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
        Command::Server(args) => runtime.block_on(server::run(args, server::Role::Node)),
        Command::Apiserver(args) => runtime.block_on(server::run(args, server::Role::ApiServer)),
        Command::Agent(args) => runtime.block_on(agent::run(args)),
        Command::Scheduler(args) => runtime.block_on(scheduler::run(args)),
        Command::ControllerManager(args) => runtime.block_on(controller_manager::run(args)),
        Command::Token(args) => runtime.block_on(token::run(args)),
        Command::Kubeconfig(args) => token::kubeconfig(&args),
    }
}
