//! Joining a node to a cluster with a token, as kubeadm's TLS bootstrap does:
//!
//! 1. discovery — read `kube-public/cluster-info` without trusting the server yet, and accept
//!    the authority in it only if its public key hashes to the token's `K10<hash>` part;
//! 2. from then on every connection verifies the server against that authority; as the
//!    bootstrap-token user, ask for a client certificate for `system:node:<name>` through a
//!    CertificateSigningRequest, which the controller manager approves and signs;
//! 3. keep the certificate in `<data-dir>/agent/kubelet.kubeconfig`, so that a restart needs no
//!    token;
//! 4. when four fifths of its lifetime have passed (upstream's kubelet picks a moment between
//!    70 and 90 %), ask for a new one with the current one, as the node itself (upstream's
//!    `selfnodeclient` approval), and keep that instead.

use crate::client::Access;
use anyhow::Context;
use base64::Engine;
use gantry_pki::JoinToken;
use gantry_pki::kubeconfig::{self, Credentials};
use k8s_openapi::api::certificates::v1::CertificateSigningRequest;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, PostParams};
use std::path::Path;
use std::time::{Duration, Instant};

/// How long to wait for the request to be approved and signed.
const SIGNING_TIMEOUT: Duration = Duration::from_secs(60);

/// A kept certificate with less than this left is not used: it could expire before it is
/// renewed, so the node joins again with its token.
const USABLE_FOR_AT_LEAST: Duration = Duration::from_secs(60);

/// How much of a certificate's lifetime passes before the node renews it.
const RENEW_AT: f64 = 0.8;

/// How the node reaches the API server at `server`: its kept kubeconfig, else by joining with
/// `token`; a plain `http://` server needs neither.
pub(crate) async fn access(
    server: &str,
    token: Option<&str>,
    data_dir: &Path,
    node_name: &str,
) -> anyhow::Result<Access> {
    if server.starts_with("http://") {
        anyhow::ensure!(
            token.is_none(),
            "a join token is for an https:// server; {server} is plain HTTP"
        );
        return Ok(Access::Plain(server.to_owned()));
    }
    let path = data_dir.join("agent").join("kubelet.kubeconfig");
    if let Some(kept) = kept(&path, server) {
        tracing::info!(kubeconfig = %path.display(), "using the node's certificate");
        return Ok(Access::Kubeconfig(kept));
    }
    let token = token.context(
        "this node has no certificate yet: give the join token `gantry server` printed (--token)",
    )?;
    let token = JoinToken::parse(token).map_err(|e| anyhow::anyhow!("--token: {e}"))?;
    let ca_pem = discover(server, &token).await?;
    let kubeconfig = request_certificate(server, &ca_pem, &token, node_name).await?;
    std::fs::create_dir_all(data_dir.join("agent"))?;
    gantry_pki::authority::write_private(&path, &kubeconfig)?;
    tracing::info!(node = node_name, "joined: the node has its certificate");
    Ok(Access::Kubeconfig(kubeconfig))
}

/// The validity of a kubeconfig's client certificate: `(not before, not after)`, in seconds
/// since the epoch.
fn validity(text: &str) -> Option<(i64, i64)> {
    let cert = kubeconfig::embedded(text, "client-certificate-data")?;
    let der = gantry_pki::identity::first_certificate_der(&cert).ok()?;
    Some((
        gantry_pki::identity::not_before(&der).ok()?,
        gantry_pki::identity::not_after(&der).ok()?,
    ))
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// The kept kubeconfig, if it is for `server` and its certificate is still usable.
fn kept(path: &Path, server: &str) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    if !text.contains(&format!("server: {server}\n")) {
        return None;
    }
    let (_, expires) = validity(&text)?;
    let left = u64::try_from(expires.checked_sub(now_secs())?).ok()?;
    (Duration::from_secs(left) > USABLE_FOR_AT_LEAST).then_some(text)
}

/// How long until the certificate in `kubeconfig` is due for renewal (zero when it already
/// is); `None` when it carries none.
pub(crate) fn renewal_due_in(kubeconfig: &str) -> Option<Duration> {
    let (not_before, until) = validity(kubeconfig)?;
    // Its lifetime counts from when it was issued, not from the backdated start (which would
    // make a short-lived certificate due at once).
    let backdate = i64::try_from(gantry_pki::authority::BACKDATE.as_secs()).unwrap_or(0);
    let from = (not_before + backdate).min(until);
    #[allow(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        reason = "certificate lifetimes are far below f64's exact range; a second either way is nothing"
    )]
    let due = from + ((until - from) as f64 * RENEW_AT) as i64;
    Some(Duration::from_secs(
        u64::try_from(due - now_secs()).unwrap_or(0),
    ))
}

/// Asks for a new certificate for `node_name` with the current one (`kubeconfig`), and keeps
/// the result in `<data-dir>/agent/kubelet.kubeconfig`; returns it.
pub(crate) async fn renew(
    server: &str,
    kubeconfig: &str,
    data_dir: &Path,
    node_name: &str,
) -> anyhow::Result<String> {
    let ca_pem = kubeconfig::embedded(kubeconfig, "certificate-authority-data")
        .context("the node's kubeconfig names no certificate authority")?;
    let client =
        crate::client::for_component(&Access::Kubeconfig(kubeconfig.to_owned()), "kubelet").await?;
    let renewed = ask_for_certificate(client, server, &ca_pem, node_name)
        .await
        .context("renewing the node's certificate")?;
    let path = data_dir.join("agent").join("kubelet.kubeconfig");
    gantry_pki::authority::write_private(&path, &renewed)?;
    tracing::info!(node = node_name, "renewed the node's certificate");
    Ok(renewed)
}

/// Reads the server's authority from `cluster-info` and checks it against the token.
async fn discover(server: &str, token: &JoinToken) -> anyhow::Result<String> {
    let mut config = kube::Config::new(server.parse().context("--server")?);
    // Nothing is trusted yet: what comes back is checked against the token's hash below, and
    // only the anonymous, public cluster-info is read this way.
    config.accept_invalid_certs = true;
    let client = kube::Client::try_from(config)?;
    let info = Api::<ConfigMap>::namespaced(client, "kube-public")
        .get("cluster-info")
        .await
        .with_context(|| format!("reading kube-public/cluster-info from {server}"))?;
    let text = info
        .data
        .as_ref()
        .and_then(|d| d.get("kubeconfig"))
        .context("kube-public/cluster-info has no kubeconfig")?;
    let ca_pem = kubeconfig::embedded(text, "certificate-authority-data")
        .context("kube-public/cluster-info names no certificate authority")?;
    let der = gantry_pki::identity::first_certificate_der(&ca_pem)?;
    let hash = gantry_pki::identity::public_key_hash(&der)?;
    anyhow::ensure!(
        hash == token.ca_hash,
        "the server at {server} presents the certificate authority {hash}, but the join token is for {}: not joining (is the token for this cluster?)",
        token.ca_hash
    );
    Ok(ca_pem)
}

/// Joins as the token's bootstrap user: asks for and waits for a client certificate for
/// `system:node:<node_name>`; returns the node's kubeconfig.
async fn request_certificate(
    server: &str,
    ca_pem: &str,
    token: &JoinToken,
    node_name: &str,
) -> anyhow::Result<String> {
    let bearer = token.bearer();
    let bootstrap = kubeconfig::render("default", server, ca_pem, &Credentials::Token(&bearer));
    let client = crate::client::for_component(&Access::Kubeconfig(bootstrap), "kubelet").await?;
    ask_for_certificate(client, server, ca_pem, node_name)
        .await
        .map_err(|e| match e.downcast_ref::<kube::Error>() {
            Some(kube::Error::Api(status)) if status.code == 401 => anyhow::anyhow!(
                "the server refused the join token {}.<secret>: it is unknown, expired or not usable for authentication",
                token.id
            ),
            _ => e,
        })
}

/// Asks, through `client`, for a client certificate for `system:node:<node_name>` and waits
/// for it; returns the node's kubeconfig with it.
async fn ask_for_certificate(
    client: kube::Client,
    server: &str,
    ca_pem: &str,
    node_name: &str,
) -> anyhow::Result<String> {
    let user = format!("system:node:{node_name}");
    let (request_pem, key_pem) = gantry_pki::authority::request(&user, &["system:nodes"])?;
    let csr: CertificateSigningRequest = serde_json::from_value(serde_json::json!({
        "apiVersion": "certificates.k8s.io/v1",
        "kind": "CertificateSigningRequest",
        "metadata": {"generateName": "node-csr-"},
        "spec": {
            "request": base64::engine::general_purpose::STANDARD.encode(&request_pem),
            "signerName": "kubernetes.io/kube-apiserver-client-kubelet",
            "usages": ["digital signature", "client auth"],
        },
    }))?;
    let api: Api<CertificateSigningRequest> = Api::all(client);
    let created = api.create(&PostParams::default(), &csr).await?;
    let name = created.metadata.name.unwrap_or_default();
    tracing::info!(request = %name, "asked for the node's client certificate");
    let deadline = Instant::now() + SIGNING_TIMEOUT;
    loop {
        let current = api.get(&name).await?;
        let status = current.status.unwrap_or_default();
        if let Some(condition) = status
            .conditions
            .iter()
            .flatten()
            .find(|c| (c.type_ == "Denied" || c.type_ == "Failed") && c.status == "True")
        {
            anyhow::bail!(
                "the certificate request {name} was {}: {}",
                condition.type_.to_lowercase(),
                condition.message.as_deref().unwrap_or("no reason given")
            );
        }
        if let Some(cert) = status.certificate.filter(|c| !c.0.is_empty()) {
            let cert_pem = String::from_utf8(cert.0).context("the signed certificate")?;
            return Ok(kubeconfig::render(
                "default",
                server,
                ca_pem,
                &Credentials::Certificate {
                    cert_pem: &cert_pem,
                    key_pem: &key_pem,
                },
            ));
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "the certificate request {name} was not signed within {}s (is the controller manager running?)",
            SIGNING_TIMEOUT.as_secs()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    reason = "test code: a panic is the failure report"
)]
mod tests {
    use super::*;

    #[test]
    fn renewal_comes_at_four_fifths_of_the_lifetime_counted_from_issue() {
        let authority = gantry_pki::Authority::generate("test-ca").unwrap();
        let mut leaf = gantry_pki::Leaf::client("system:node:n1", &["system:nodes"]);
        leaf.validity = Duration::from_secs(1000);
        let issued = authority.issue(&leaf).unwrap();
        let text = kubeconfig::render(
            "default",
            "https://192.0.2.1:6443",
            authority.cert_pem(),
            &Credentials::Certificate {
                cert_pem: &issued.cert_pem,
                key_pem: &issued.key_pem,
            },
        );
        let due = renewal_due_in(&text).unwrap().as_secs();
        assert!((795..=800).contains(&due), "due in {due}s");
        assert!(kept_text_is_usable(&text));
    }

    fn kept_text_is_usable(text: &str) -> bool {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kubelet.kubeconfig");
        std::fs::write(&path, text).unwrap();
        kept(&path, "https://192.0.2.1:6443").is_some()
            && kept(&path, "https://other:6443").is_none()
    }
}
