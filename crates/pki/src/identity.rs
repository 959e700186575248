//! What certificates and certificate requests say about their subject, read the way
//! upstream's x509 authenticator reads a client certificate: the common name is the user,
//! each organization a group.

use crate::Error;
use x509_parser::certificate::X509Certificate;
use x509_parser::certification_request::X509CertificationRequest;
use x509_parser::prelude::FromDer;
use x509_parser::x509::X509Name;

/// A certificate's (or request's) subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    /// The common name.
    pub common_name: String,
    /// The organizations, in order.
    pub organizations: Vec<String>,
}

fn subject_of(name: &X509Name<'_>) -> Subject {
    let text = |attribute: &x509_parser::x509::AttributeTypeAndValue<'_>| {
        attribute.as_str().ok().map(str::to_owned)
    };
    Subject {
        common_name: name.iter_common_name().find_map(text).unwrap_or_default(),
        organizations: name.iter_organization().filter_map(text).collect(),
    }
}

fn certificate(der: &[u8]) -> Result<X509Certificate<'_>, Error> {
    X509Certificate::from_der(der)
        .map(|(_, cert)| cert)
        .map_err(|e| Error::Parse(e.to_string()))
}

/// The subject of a certificate (DER).
pub fn certificate_subject(der: &[u8]) -> Result<Subject, Error> {
    Ok(subject_of(certificate(der)?.subject()))
}

/// When a certificate (DER) stops being valid, in seconds since the epoch.
pub fn not_after(der: &[u8]) -> Result<i64, Error> {
    Ok(certificate(der)?.validity().not_after.timestamp())
}

/// When a certificate (DER) starts being valid, in seconds since the epoch.
pub fn not_before(der: &[u8]) -> Result<i64, Error> {
    Ok(certificate(der)?.validity().not_before.timestamp())
}

/// The DER of the first PEM block in `pem`.
pub fn first_certificate_der(pem: &str) -> Result<Vec<u8>, Error> {
    x509_parser::pem::parse_x509_pem(pem.as_bytes())
        .map(|(_, block)| block.contents)
        .map_err(|e| Error::Parse(e.to_string()))
}

/// `sha256:<hex>` of a certificate's (DER) SubjectPublicKeyInfo.
pub fn public_key_hash(der: &[u8]) -> Result<String, Error> {
    let cert = certificate(der)?;
    let digest = ring::digest::digest(&ring::digest::SHA256, cert.public_key().raw);
    let hex: String = digest
        .as_ref()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    Ok(format!("sha256:{hex}"))
}

/// The subject of a PKCS#10 request (PEM), after checking that it is signed by the key it
/// carries (so that whoever sent it holds that key).
pub fn request_subject(pem: &str) -> Result<Subject, Error> {
    let (_, block) = x509_parser::pem::parse_x509_pem(pem.as_bytes())
        .map_err(|e| Error::Parse(e.to_string()))?;
    if block.label != "CERTIFICATE REQUEST" && block.label != "NEW CERTIFICATE REQUEST" {
        return Err(Error::Parse(format!(
            "a PEM block of type {:?}, not CERTIFICATE REQUEST",
            block.label
        )));
    }
    let (_, request) = X509CertificationRequest::from_der(&block.contents)
        .map_err(|e| Error::Parse(e.to_string()))?;
    request
        .verify_signature()
        .map_err(|e| Error::Parse(format!("its signature does not verify: {e}")))?;
    Ok(subject_of(&request.certification_request_info.subject))
}
