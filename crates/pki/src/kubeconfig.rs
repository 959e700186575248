//! Kubeconfigs with everything embedded (`certificate-authority-data`,
//! `client-certificate-data`/`client-key-data` or a `token`), as `kubeadm` and k3s write them,
//! so that one file is all a client needs.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// How the kubeconfig's user authenticates.
#[derive(Clone)]
pub enum Credentials<'a> {
    /// A client certificate and its key (PEM).
    Certificate {
        /// The certificate.
        cert_pem: &'a str,
        /// The key.
        key_pem: &'a str,
    },
    /// A bearer token.
    Token(&'a str),
    /// None: anonymous.
    Anonymous,
}

impl std::fmt::Debug for Credentials<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Certificate { .. } => "Certificate",
            Self::Token(_) => "Token",
            Self::Anonymous => "Anonymous",
        })
    }
}

/// A kubeconfig for `server` (an `https://` URL) trusting `ca_pem`, with one cluster, user and
/// context, each named `name`.
pub fn render(name: &str, server: &str, ca_pem: &str, credentials: &Credentials<'_>) -> String {
    let user = match credentials {
        Credentials::Certificate { cert_pem, key_pem } => format!(
            "    client-certificate-data: {}\n    client-key-data: {}\n",
            STANDARD.encode(cert_pem),
            STANDARD.encode(key_pem)
        ),
        Credentials::Token(token) => format!("    token: {token}\n"),
        Credentials::Anonymous => String::new(),
    };
    let user = if user.is_empty() {
        "  user: {}\n".to_owned()
    } else {
        format!("  user:\n{user}")
    };
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: {name}\n  cluster:\n    certificate-authority-data: {ca}\n    server: {server}\ncontexts:\n- name: {name}\n  context:\n    cluster: {name}\n    user: {name}\ncurrent-context: {name}\npreferences: {{}}\nusers:\n- name: {name}\n{user}",
        ca = STANDARD.encode(ca_pem),
    )
}

/// The value of `key: <base64>` in a kubeconfig this module rendered, decoded.
pub fn embedded(kubeconfig: &str, key: &str) -> Option<String> {
    let prefix = format!("{key}: ");
    let line = kubeconfig
        .lines()
        .find_map(|line| line.trim().strip_prefix(prefix.as_str()))?;
    let bytes = STANDARD.decode(line.trim()).ok()?;
    String::from_utf8(bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_data_round_trips() {
        let text = render(
            "gantry",
            "https://10.0.0.1:6443",
            "CA PEM",
            &Credentials::Certificate {
                cert_pem: "CERT",
                key_pem: "KEY",
            },
        );
        assert_eq!(
            embedded(&text, "certificate-authority-data").as_deref(),
            Some("CA PEM")
        );
        assert_eq!(
            embedded(&text, "client-certificate-data").as_deref(),
            Some("CERT")
        );
        assert_eq!(embedded(&text, "client-key-data").as_deref(), Some("KEY"));
        assert!(text.contains("server: https://10.0.0.1:6443\n"), "{text}");
        let anonymous = render("a", "https://h:1", "CA", &Credentials::Anonymous);
        assert!(anonymous.ends_with("  user: {}\n"), "{anonymous}");
    }
}
