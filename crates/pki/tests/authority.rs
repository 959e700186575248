//! The authority end to end: what it issues carries the subject and names asked for, survives
//! a reload from disk, and its requests sign into certificates with the requester's subject.

#![allow(
    clippy::unwrap_used,
    reason = "test code: a panic is the failure report"
)]

use gantry_pki::identity::{
    certificate_subject, first_certificate_der, public_key_hash, request_subject,
};
use gantry_pki::{Authority, Leaf, Usage};

#[test]
fn issued_client_certificates_carry_user_and_groups() {
    let ca = Authority::generate("gantry-ca").unwrap();
    let issued = ca
        .issue(&Leaf::client("system:admin", &["system:masters"]))
        .unwrap();
    let der = first_certificate_der(&issued.cert_pem).unwrap();
    let subject = certificate_subject(&der).unwrap();
    assert_eq!(subject.common_name, "system:admin");
    assert_eq!(subject.organizations, vec!["system:masters".to_owned()]);
    assert!(issued.key_pem.contains("PRIVATE KEY"));
}

#[test]
fn the_authority_reloads_with_the_same_key() {
    let dir = tempfile::tempdir().unwrap();
    let first = Authority::load_or_create(dir.path(), "gantry-ca").unwrap();
    let again = Authority::load_or_create(dir.path(), "ignored").unwrap();
    assert_eq!(first.hash(), again.hash());
    assert_eq!(first.cert_pem(), again.cert_pem());
    assert!(first.hash().starts_with("sha256:") && first.hash().len() == 71);
    let other = Authority::generate("gantry-ca").unwrap();
    assert_ne!(first.hash(), other.hash());
    let mode = std::fs::metadata(dir.path().join("ca.key")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(mode.permissions().mode() & 0o777, 0o600);
    // What the reloaded authority signs chains to the same public key.
    let issued = again.issue(&Leaf::client("u", &[])).unwrap();
    assert!(!issued.cert_pem.is_empty());
    assert_eq!(
        public_key_hash(&first_certificate_der(again.cert_pem()).unwrap()).unwrap(),
        first.hash()
    );
}

#[test]
fn a_signed_request_keeps_the_requested_subject() {
    let ca = Authority::generate("gantry-ca").unwrap();
    let (request, key) =
        gantry_pki::authority::request("system:node:n1", &["system:nodes"]).unwrap();
    assert!(key.contains("PRIVATE KEY"));
    let subject = request_subject(&request).unwrap();
    assert_eq!(subject.common_name, "system:node:n1");
    assert_eq!(subject.organizations, vec!["system:nodes".to_owned()]);
    let cert = ca
        .sign_request(
            &request,
            Usage::Client,
            std::time::Duration::from_secs(3600),
        )
        .unwrap();
    let signed = certificate_subject(&first_certificate_der(&cert).unwrap()).unwrap();
    assert_eq!(signed, subject);
}

#[test]
fn garbage_is_not_a_request() {
    assert!(request_subject("not pem").is_err());
    let ca = Authority::generate("gantry-ca").unwrap();
    // A certificate is not a request.
    assert!(request_subject(ca.cert_pem()).is_err());
}
