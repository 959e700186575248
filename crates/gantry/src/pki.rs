//! The server's credentials: the cluster authority (`<data-dir>/tls/ca.crt`, `ca.key`, made at
//! first start), the API server's serving certificate, a client certificate and kubeconfig per
//! component, and the join token (`<data-dir>/token`) whose bootstrap part lives as a Secret in
//! `kube-system`, next to the `kube-public/cluster-info` ConfigMap joining nodes read.
//!
//! Leaf certificates are issued afresh at every start (a year's validity), so a restart is a
//! rotation; the authority and the join token persist.

use anyhow::Context;
use gantry_pki::kubeconfig::{self, Credentials};
use gantry_pki::{Authority, JoinToken, Leaf};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::{Api, Patch, PatchParams};
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;

/// The group joining nodes' tokens add (upstream's `system:bootstrappers:<name>` form), which
/// the bootstrap policy lets ask for node certificates.
pub(crate) use gantry_apiserver::auth::rbac::bootstrap::gantry::TOKEN_GROUP;

/// The server's authority and what it issues.
#[derive(Debug, Clone)]
pub(crate) struct ServerPki {
    authority: Arc<Authority>,
}

impl ServerPki {
    /// The authority in `<data_dir>/tls`, created if missing.
    pub(crate) fn load(data_dir: &Path) -> anyhow::Result<Self> {
        let dir = data_dir.join("tls");
        let name = format!(
            "gantry-ca@{}",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs())
        );
        let authority = Authority::load_or_create(&dir, &name)
            .with_context(|| format!("the cluster authority in {}", dir.display()))?;
        Ok(Self {
            authority: Arc::new(authority),
        })
    }

    /// The authority.
    pub(crate) fn authority(&self) -> &Arc<Authority> {
        &self.authority
    }

    /// The API server's TLS: a serving certificate for `kubernetes` (and its Service names),
    /// `localhost`, this host's name, the `kubernetes` Service's address and `ips`, plus
    /// `extra` names or addresses (k3s' `--tls-san`).
    pub(crate) fn serving(
        &self,
        ips: &[IpAddr],
        extra: &[String],
    ) -> anyhow::Result<gantry_apiserver::tls::TlsConfig> {
        let mut dns = vec![
            "kubernetes".to_owned(),
            "kubernetes.default".to_owned(),
            "kubernetes.default.svc".to_owned(),
            "kubernetes.default.svc.cluster.local".to_owned(),
            "localhost".to_owned(),
            gantry_kubelet::node::facts::hostname(),
        ];
        let mut addresses: Vec<IpAddr> = vec![
            IpAddr::from([127, 0, 0, 1]),
            IpAddr::from(std::net::Ipv6Addr::LOCALHOST),
        ];
        addresses.extend_from_slice(ips);
        for name in extra {
            match name.parse::<IpAddr>() {
                Ok(ip) => addresses.push(ip),
                Err(_) => dns.push(name.clone()),
            }
        }
        addresses.sort();
        addresses.dedup();
        dns.sort();
        dns.dedup();
        let issued = self
            .authority
            .issue(&Leaf::server("kube-apiserver", dns, addresses))?;
        // kubeadm's name for the API server's identity toward kubelets.
        let kubelet_client = self.authority.issue(&Leaf::client(
            gantry_apiserver::tls::KUBELET_CLIENT_USER,
            &[],
        ))?;
        Ok(gantry_apiserver::tls::TlsConfig {
            cert_pem: issued.cert_pem,
            key_pem: issued.key_pem,
            client_ca_pem: self.authority.cert_pem().to_owned(),
            kubelet_client: Some(kubelet_client),
        })
    }

    /// A kubeconfig for `server` as `user` in `groups`, with a fresh client certificate.
    pub(crate) fn kubeconfig(
        &self,
        server: &str,
        user: &str,
        groups: &[&str],
    ) -> anyhow::Result<String> {
        let issued = self.authority.issue(&Leaf::client(user, groups))?;
        Ok(kubeconfig::render(
            "default",
            server,
            self.authority.cert_pem(),
            &Credentials::Certificate {
                cert_pem: &issued.cert_pem,
                key_pem: &issued.key_pem,
            },
        ))
    }

    /// The ServiceAccount token signing key (`<data_dir>/tls/service-account.key`, made at
    /// first start), as PEM.
    pub(crate) fn service_account_key(&self, data_dir: &Path) -> anyhow::Result<String> {
        let path = data_dir.join("tls").join("service-account.key");
        let signer = gantry_pki::jwt::Signer::load_or_create(&path)
            .with_context(|| format!("the service account key {}", path.display()))?;
        Ok(signer.pem().to_owned())
    }

    /// The join token kept in `<data_dir>/token` (made at first start).
    pub(crate) fn join_token(&self, data_dir: &Path) -> anyhow::Result<JoinToken> {
        let path = data_dir.join("token");
        if let Ok(text) = std::fs::read_to_string(&path) {
            let token =
                JoinToken::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            anyhow::ensure!(
                token.ca_hash == self.authority.hash(),
                "{} was made for another cluster authority",
                path.display()
            );
            return Ok(token);
        }
        let token = JoinToken::generate(&self.authority.hash());
        gantry_pki::authority::write_private(&path, &format!("{token}\n"))?;
        Ok(token)
    }
}

/// Creates or refreshes what joining nodes need: `kube-public/cluster-info` (a kubeconfig
/// with the server's address and authority, readable anonymously, as kubeadm publishes it)
/// and the bootstrap-token Secret behind `token`.
pub(crate) async fn publish_join_objects(
    client: kube::Client,
    server: &str,
    authority: &Authority,
    token: &JoinToken,
) -> anyhow::Result<()> {
    let params = PatchParams::apply("gantry").force();
    let info = kubeconfig::render("", server, authority.cert_pem(), &Credentials::Anonymous);
    let config_map = ConfigMap {
        metadata: kube::api::ObjectMeta {
            name: Some("cluster-info".into()),
            namespace: Some("kube-public".into()),
            ..Default::default()
        },
        data: Some(BTreeMap::from([("kubeconfig".to_owned(), info)])),
        ..Default::default()
    };
    Api::<ConfigMap>::namespaced(client.clone(), "kube-public")
        .patch("cluster-info", &params, &Patch::Apply(&config_map))
        .await
        .context("publishing kube-public/cluster-info")?;
    let secret = token_secret(token, None, "The join token gantry server prints.");
    let name = format!("bootstrap-token-{}", token.id);
    Api::<Secret>::namespaced(client, "kube-system")
        .patch(&name, &params, &Patch::Apply(&secret))
        .await
        .context("publishing the join token's Secret")?;
    Ok(())
}

/// The bootstrap-token Secret behind `token`, valid until `expiration` (RFC 3339; `None`:
/// forever), for authentication and signing, adding [`TOKEN_GROUP`].
pub(crate) fn token_secret(
    token: &JoinToken,
    expiration: Option<String>,
    description: &str,
) -> Secret {
    let mut data: BTreeMap<String, ByteString> = [
        ("token-id", token.id.as_str()),
        ("token-secret", token.secret.as_str()),
        ("usage-bootstrap-authentication", "true"),
        ("usage-bootstrap-signing", "true"),
        ("auth-extra-groups", TOKEN_GROUP),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), ByteString(v.as_bytes().to_vec())))
    .collect();
    if !description.is_empty() {
        data.insert(
            "description".into(),
            ByteString(description.as_bytes().to_vec()),
        );
    }
    if let Some(expiration) = expiration {
        data.insert("expiration".into(), ByteString(expiration.into_bytes()));
    }
    Secret {
        metadata: kube::api::ObjectMeta {
            name: Some(format!("bootstrap-token-{}", token.id)),
            namespace: Some("kube-system".into()),
            ..Default::default()
        },
        type_: Some("bootstrap.kubernetes.io/token".into()),
        data: Some(data),
        ..Default::default()
    }
}
