//! The certificate authority: generated once, kept as `ca.crt`/`ca.key` in the server's TLS
//! directory, and the only signer of every certificate the cluster trusts.

use crate::Error;
use rcgen::{
    BasicConstraints, CertificateParams, CertificateSigningRequestParams, DistinguishedName,
    DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose, SanType,
};
use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;
use time::OffsetDateTime;

/// How long the authority is valid (k3s' and kubeadm's ten years).
const CA_VALIDITY: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

/// Clocks drift: a certificate is valid from a little before it was made.
pub const BACKDATE: Duration = Duration::from_secs(5 * 60);

/// What a certificate may be used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Usage {
    /// A client authenticating to a server (`client auth`).
    Client,
    /// A server (`server auth`).
    Server,
    /// Both, for components that serve and call (the kubelet's API and its API client).
    ClientAndServer,
}

/// A certificate to issue.
#[derive(Debug, Clone)]
pub struct Leaf {
    /// The subject's common name: the user name for a client certificate.
    pub common_name: String,
    /// The subject's organizations: the groups for a client certificate.
    pub organizations: Vec<String>,
    /// DNS subject alternative names.
    pub dns_names: Vec<String>,
    /// IP subject alternative names.
    pub ips: Vec<IpAddr>,
    /// What it is for.
    pub usage: Usage,
    /// How long it is valid.
    pub validity: Duration,
}

impl Leaf {
    /// A client certificate for `user` in `groups`, valid for a year.
    pub fn client(user: &str, groups: &[&str]) -> Self {
        Self {
            common_name: user.to_owned(),
            organizations: groups.iter().map(|g| (*g).to_owned()).collect(),
            dns_names: Vec::new(),
            ips: Vec::new(),
            usage: Usage::Client,
            validity: LEAF_VALIDITY,
        }
    }

    /// A serving certificate for `common_name` with these names, valid for a year.
    pub fn server(common_name: &str, dns_names: Vec<String>, ips: Vec<IpAddr>) -> Self {
        Self {
            common_name: common_name.to_owned(),
            organizations: Vec::new(),
            dns_names,
            ips,
            usage: Usage::Server,
            validity: LEAF_VALIDITY,
        }
    }
}

/// How long an issued certificate is valid by default (a year, as k3s issues them).
pub const LEAF_VALIDITY: Duration = Duration::from_secs(365 * 24 * 3600);

/// A certificate and its private key, both PEM.
#[derive(Clone)]
pub struct Issued {
    /// The certificate.
    pub cert_pem: String,
    /// The private key (PKCS#8).
    pub key_pem: String,
}

impl std::fmt::Debug for Issued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issued").finish_non_exhaustive()
    }
}

/// The cluster's certificate authority.
pub struct Authority {
    cert_pem: String,
    cert_der: Vec<u8>,
    issuer: Issuer<'static, KeyPair>,
}

impl std::fmt::Debug for Authority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authority")
            .field("hash", &self.hash())
            .finish_non_exhaustive()
    }
}

fn validity(params: &mut CertificateParams, validity: Duration) {
    let now = OffsetDateTime::now_utc();
    params.not_before = now - BACKDATE;
    params.not_after = now + validity;
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_owned(),
        source,
    }
}

impl Authority {
    /// A new authority named `common_name` (k3s names its `k3s-server-ca@<time>`).
    pub fn generate(common_name: &str) -> Result<Self, Error> {
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::default();
        let mut name = DistinguishedName::new();
        name.push(DnType::CommonName, common_name);
        params.distinguished_name = name;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
        ];
        validity(&mut params, CA_VALIDITY);
        let cert = params.self_signed(&key)?;
        Ok(Self {
            cert_pem: cert.pem(),
            cert_der: cert.der().to_vec(),
            issuer: Issuer::new(params, key),
        })
    }

    /// The authority from its certificate and key (PEM).
    pub fn from_pem(cert_pem: &str, key_pem: &str) -> Result<Self, Error> {
        let key = KeyPair::from_pem(key_pem)?;
        let issuer = Issuer::from_ca_cert_pem(cert_pem, key)?;
        let cert_der = crate::identity::first_certificate_der(cert_pem)?;
        Ok(Self {
            cert_pem: cert_pem.to_owned(),
            cert_der,
            issuer,
        })
    }

    /// The authority kept in `dir` (`ca.crt`, `ca.key`), generated and written there (the key
    /// readable by its owner only) if it is not there yet.
    pub fn load_or_create(dir: &Path, common_name: &str) -> Result<Self, Error> {
        let cert_path = dir.join("ca.crt");
        let key_path = dir.join("ca.key");
        if cert_path.exists() {
            let cert = std::fs::read_to_string(&cert_path).map_err(io(&cert_path))?;
            let key = std::fs::read_to_string(&key_path).map_err(io(&key_path))?;
            return Self::from_pem(&cert, &key);
        }
        let authority = Self::generate(common_name)?;
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        write_private(&key_path, &authority.key_pem())?;
        std::fs::write(&cert_path, &authority.cert_pem).map_err(io(&cert_path))?;
        Ok(authority)
    }

    /// The authority's certificate (PEM), what clients trust.
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// The authority's certificate (DER).
    pub fn cert_der(&self) -> &[u8] {
        &self.cert_der
    }

    /// The authority's private key (PEM).
    pub fn key_pem(&self) -> String {
        self.issuer.key().serialize_pem()
    }

    /// `sha256:<hex>` of the authority's public key (its SubjectPublicKeyInfo), the form of
    /// kubeadm's `--discovery-token-ca-cert-hash`.
    pub fn hash(&self) -> String {
        crate::identity::public_key_hash(&self.cert_der).unwrap_or_default()
    }

    /// Issues `leaf` with a fresh key.
    pub fn issue(&self, leaf: &Leaf) -> Result<Issued, Error> {
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::default();
        let mut name = DistinguishedName::new();
        for organization in &leaf.organizations {
            name.push(DnType::OrganizationName, organization.as_str());
        }
        name.push(DnType::CommonName, leaf.common_name.as_str());
        params.distinguished_name = name;
        for dns in &leaf.dns_names {
            params
                .subject_alt_names
                .push(SanType::DnsName(dns.clone().try_into()?));
        }
        for ip in &leaf.ips {
            params.subject_alt_names.push(SanType::IpAddress(*ip));
        }
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = extended_usages(leaf.usage);
        params.use_authority_key_identifier_extension = true;
        validity(&mut params, leaf.validity);
        let cert = params.signed_by(&key, &self.issuer)?;
        Ok(Issued {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }

    /// Signs a PKCS#10 request (PEM) for `usage`, valid for `validity`: the subject and names
    /// are the request's own (the caller has decided that they may be granted).
    pub fn sign_request(
        &self,
        request_pem: &str,
        usage: Usage,
        validity_for: Duration,
    ) -> Result<String, Error> {
        let mut request = CertificateSigningRequestParams::from_pem(request_pem)?;
        request.params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        request.params.extended_key_usages = extended_usages(usage);
        request.params.is_ca = IsCa::ExplicitNoCa;
        request.params.use_authority_key_identifier_extension = true;
        validity(&mut request.params, validity_for);
        Ok(request.signed_by(&self.issuer)?.pem())
    }
}

fn extended_usages(usage: Usage) -> Vec<ExtendedKeyUsagePurpose> {
    match usage {
        Usage::Client => vec![ExtendedKeyUsagePurpose::ClientAuth],
        Usage::Server => vec![ExtendedKeyUsagePurpose::ServerAuth],
        Usage::ClientAndServer => vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ],
    }
}

/// A new key pair and a PKCS#10 request for `user` in `groups` (a joining node's
/// `system:node:<name>` in `system:nodes`): the request (PEM) and the key (PEM).
pub fn request(user: &str, groups: &[&str]) -> Result<(String, String), Error> {
    let key = KeyPair::generate()?;
    let mut params = CertificateParams::default();
    let mut name = DistinguishedName::new();
    for group in groups {
        name.push(DnType::OrganizationName, *group);
    }
    name.push(DnType::CommonName, user);
    params.distinguished_name = name;
    let request = params.serialize_request(&key)?;
    Ok((request.pem()?, key.serialize_pem()))
}

/// Writes `contents` to a file only its owner can read.
pub fn write_private(path: &Path, contents: &str) -> Result<(), Error> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(io(path))?;
    file.write_all(contents.as_bytes()).map_err(io(path))
}
