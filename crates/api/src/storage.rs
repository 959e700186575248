//! Storage conventions the API server and the controllers share.

/// The finalizer that keeps a claim while pods use it.
pub const CLAIM_PROTECTION: &str = "kubernetes.io/pvc-protection";
/// The finalizer that keeps a volume while a claim is bound to it.
pub const VOLUME_PROTECTION: &str = "kubernetes.io/pv-protection";

/// The annotations that make a StorageClass the cluster's default (the beta key is still
/// honoured, as upstream).
pub const DEFAULT_CLASS_ANNOTATIONS: [&str; 2] = [
    "storageclass.kubernetes.io/is-default-class",
    "storageclass.beta.kubernetes.io/is-default-class",
];

/// Whether a class with these annotations is a default one.
pub fn is_default_class<'a>(mut annotation: impl FnMut(&str) -> Option<&'a str>) -> bool {
    DEFAULT_CLASS_ANNOTATIONS
        .iter()
        .any(|key| annotation(key) == Some("true"))
}
