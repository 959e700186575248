//! `gantry token create|list|delete` (kubeadm's `token` commands, with k3s' token shape) and
//! `gantry kubeconfig`: what an administrator on the server machine needs to let nodes and
//! people in.

use crate::client::Access;
use anyhow::Context;
use gantry_pki::JoinToken;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use std::path::PathBuf;
use std::time::Duration;

/// Flags of `gantry token`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The server's data directory (its authority and admin kubeconfig).
    #[arg(long, default_value = "/var/lib/gantry", global = true)]
    data_dir: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Creates a join token and prints it.
    Create {
        /// How long it is valid (`0`: forever; kubeadm's default is a day).
        #[arg(long, default_value = "24h", value_parser = crate::duration::parse)]
        ttl: Duration,
        /// What it is for.
        #[arg(long, default_value = "")]
        description: String,
    },
    /// Lists the bootstrap tokens.
    List,
    /// Deletes a token (its `<id>`, or the whole token).
    Delete {
        /// The token or its id.
        token: String,
    },
}

/// Flags of `gantry kubeconfig`.
#[derive(Debug, clap::Args)]
pub(crate) struct KubeconfigArgs {
    /// The server's data directory (its authority).
    #[arg(long, default_value = "/var/lib/gantry")]
    data_dir: PathBuf,
    /// The API server's URL written into the kubeconfig.
    #[arg(long, default_value = "https://127.0.0.1:6443")]
    server: String,
    /// The user the certificate names (kubeadm's `kubeconfig user --client-name`); the admin
    /// by default.
    #[arg(long, default_value = "system:admin")]
    user: String,
    /// Its groups (kubeadm's `--org`; repeat or separate with commas). The admin's default is
    /// `system:masters`; any other user has none unless given.
    #[arg(long, value_delimiter = ',')]
    group: Vec<String>,
}

/// Prints a kubeconfig with a new client certificate: the admin's, or another user's.
pub(crate) fn kubeconfig(args: &KubeconfigArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.data_dir.join("tls/ca.key").exists(),
        "no cluster authority in {} (has `gantry server` run there?)",
        args.data_dir.display()
    );
    let pki = crate::pki::ServerPki::load(&args.data_dir)?;
    let mut groups: Vec<&str> = args.group.iter().map(String::as_str).collect();
    if groups.is_empty() && args.user == "system:admin" {
        groups.push("system:masters");
    }
    print!("{}", pki.kubeconfig(&args.server, &args.user, &groups)?);
    Ok(())
}

fn data(secret: &Secret, key: &str) -> String {
    secret
        .data
        .as_ref()
        .and_then(|d| d.get(key))
        .map(|v| String::from_utf8_lossy(&v.0).into_owned())
        .unwrap_or_default()
}

/// Runs `gantry token …`.
pub(crate) async fn run(args: Args) -> anyhow::Result<()> {
    let admin = args.data_dir.join("admin.kubeconfig");
    let text = std::fs::read_to_string(&admin).with_context(|| {
        format!(
            "reading {} (has `gantry server` run there?)",
            admin.display()
        )
    })?;
    let client = crate::client::for_component(&Access::Kubeconfig(text), "gantry").await?;
    let secrets: Api<Secret> = Api::namespaced(client, "kube-system");
    match args.command {
        Command::Create { ttl, description } => {
            let pki = crate::pki::ServerPki::load(&args.data_dir)?;
            let token = JoinToken::generate(&pki.authority().hash());
            let expiration = if ttl.is_zero() {
                None
            } else {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)?
                    .as_secs();
                Some(gantry_api::time::rfc3339(now + ttl.as_secs()))
            };
            let secret = crate::pki::token_secret(&token, expiration, &description);
            secrets.create(&PostParams::default(), &secret).await?;
            println!("{token}");
        }
        Command::List => {
            let listed = secrets
                .list(&ListParams::default().fields("type=bootstrap.kubernetes.io/token"))
                .await?;
            println!(
                "{:<24}{:<22}{:<42}DESCRIPTION",
                "TOKEN", "EXPIRES", "USAGES"
            );
            for secret in listed.items {
                let expires = data(&secret, "expiration");
                let usages: Vec<&str> = ["authentication", "signing"]
                    .into_iter()
                    .filter(|u| data(&secret, &format!("usage-bootstrap-{u}")) == "true")
                    .collect();
                println!(
                    "{:<24}{:<22}{:<42}{}",
                    format!("{}.<secret>", data(&secret, "token-id")),
                    if expires.is_empty() {
                        "<forever>".to_owned()
                    } else {
                        expires
                    },
                    usages.join(","),
                    data(&secret, "description")
                );
            }
        }
        Command::Delete { token } => {
            let id = token
                .rsplit("::")
                .next()
                .unwrap_or(&token)
                .split('.')
                .next()
                .unwrap_or_default()
                .to_owned();
            secrets
                .delete(&format!("bootstrap-token-{id}"), &DeleteParams::default())
                .await
                .with_context(|| format!("deleting the token {id}"))?;
            println!("bootstrap token {id:?} deleted");
        }
    }
    Ok(())
}
