//! The kubelet's events: the shared recorder, and where in a pod a container is.

pub use gantry_client::events::Recorder;
use k8s_openapi::api::core::v1::Pod;

/// The field path of container `name` (`spec.containers{name}` or `spec.initContainers{name}`).
pub fn container_path(pod: &Pod, name: &str) -> String {
    let init = pod
        .spec
        .as_ref()
        .and_then(|s| s.init_containers.as_ref())
        .is_some_and(|list| list.iter().any(|c| c.name == name));
    if init {
        format!("spec.initContainers{{{name}}}")
    } else {
        format!("spec.containers{{{name}}}")
    }
}
