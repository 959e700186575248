use super::*;
use serde_json::json;

fn latest(level: Level) -> Policy {
    Policy::latest(level)
}

#[test]
fn a_privileged_pod_breaks_restricted_as_upstream_words_it() {
    let pod = json!({"spec": {"containers": [{"name": "c", "image": "busybox", "securityContext": {"privileged": true}}]}});
    let restricted = latest(Level::Restricted);
    let found = violations(&pod, &restricted);
    assert_eq!(
        message(&restricted, &found, false),
        r#"violates PodSecurity "restricted:latest": privileged (container "c" must not set securityContext.privileged=true), allowPrivilegeEscalation != false (container "c" must set securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (container "c" must set securityContext.capabilities.drop=["ALL"]), runAsNonRoot != true (pod or container "c" must set securityContext.runAsNonRoot=true), seccompProfile (pod or container "c" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")"#
    );
    assert_eq!(
        violations(&pod, &latest(Level::Baseline)),
        vec![
            r#"privileged (container "c" must not set securityContext.privileged=true)"#.to_owned()
        ]
    );
    assert!(violations(&pod, &latest(Level::Privileged)).is_empty());
}

#[test]
fn a_hardened_pod_passes_restricted() {
    let pod = json!({"spec": {
        "securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}},
        "volumes": [{"name": "data", "emptyDir": {}}],
        "containers": [{"name": "a", "securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}}}],
    }});
    let found = violations(&pod, &latest(Level::Restricted));
    assert!(found.is_empty(), "{found:?}");
}

#[test]
fn baseline_catches_host_access_in_check_id_order() {
    let pod = json!({"spec": {
        "hostNetwork": true,
        "volumes": [{"name": "root", "hostPath": {"path": "/"}}],
        "containers": [
            {"name": "a", "ports": [{"containerPort": 80, "hostPort": 80}], "securityContext": {"privileged": true, "capabilities": {"add": ["NET_ADMIN", "SYS_ADMIN", "NET_ADMIN"]}}},
            {"name": "b"},
        ],
    }});
    assert_eq!(
        violations(&pod, &latest(Level::Baseline)),
        vec![
            r#"non-default capabilities (container "a" must not include "NET_ADMIN", "SYS_ADMIN" in securityContext.capabilities.add)"#.to_owned(),
            "host namespaces (hostNetwork=true)".to_owned(),
            r#"hostPath volumes (volume "root")"#.to_owned(),
            r#"hostPort (container "a" uses hostPort 80)"#.to_owned(),
            r#"privileged (container "a" must not set securityContext.privileged=true)"#.to_owned(),
        ]
    );
    // Restricted words the hostPath volume its own way, and only once.
    let restricted = violations(&pod, &latest(Level::Restricted));
    assert!(
        restricted
            .iter()
            .all(|f| !f.starts_with("hostPath volumes")),
        "{restricted:?}"
    );
    assert!(
        restricted.contains(
            &r#"restricted volume types (volume "root" uses restricted volume type "hostPath")"#
                .to_owned()
        ),
        "{restricted:?}"
    );
}

#[test]
fn baseline_refuses_unconfined_profiles_unmasked_proc_and_unsafe_sysctls() {
    let pod = json!({
        "metadata": {"annotations": {"container.apparmor.security.beta.kubernetes.io/e": "unconfined"}},
        "spec": {
            "securityContext": {
                "appArmorProfile": {"type": "Unconfined"},
                "seccompProfile": {"type": "Unconfined"},
                "seLinuxOptions": {"user": "system_u"},
                "sysctls": [{"name": "kernel.msgmax", "value": "1"}, {"name": "net.ipv4.tcp_rmem", "value": "4096"}, {"name": "net.core.somaxconn", "value": "1"}],
                "windowsOptions": {"hostProcess": true},
            },
            "containers": [
                {"name": "c", "securityContext": {"procMount": "Unmasked", "seLinuxOptions": {"type": "spc_t"}}},
                {"name": "d", "securityContext": {"seccompProfile": {"type": "Unconfined"}}},
            ],
        },
    });
    assert_eq!(
        violations(&pod, &latest(Level::Baseline)),
        vec![
            r#"forbidden AppArmor profiles (pod and annotation must not set AppArmor profile type to "Unconfined", "container.apparmor.security.beta.kubernetes.io/e="unconfined"")"#.to_owned(),
            r#"procMount (container "c" must not set securityContext.procMount to "Unmasked")"#.to_owned(),
            r#"seLinuxOptions (pod and container "c" set forbidden securityContext.seLinuxOptions: type "spc_t"; user may not be set)"#.to_owned(),
            r#"seccompProfile (pod and container "d" must not set securityContext.seccompProfile.type to "Unconfined")"#.to_owned(),
            "forbidden sysctls (kernel.msgmax, net.core.somaxconn)".to_owned(),
            r#"hostProcess (pod must not set securityContext.windowsOptions.hostProcess=true)"#.to_owned(),
        ]
    );
}

#[test]
fn a_version_label_selects_the_checks_of_that_release() {
    let pod = json!({"spec": {"securityContext": {"sysctls": [{"name": "net.ipv4.tcp_rmem", "value": "1"}]},
        "containers": [{"name": "c", "securityContext": {"seLinuxOptions": {"type": "container_engine_t"}}}]}});
    assert!(violations(&pod, &latest(Level::Baseline)).is_empty());
    let old = Policy::at(Level::Baseline, "v1.25");
    assert_eq!(
        violations(&pod, &old),
        vec![
            r#"seLinuxOptions (container "c" set forbidden securityContext.seLinuxOptions: type "container_engine_t")"#.to_owned(),
            "forbidden sysctls (net.ipv4.tcp_rmem)".to_owned(),
        ]
    );
    assert!(message(&old, &[], false).starts_with(r#"violates PodSecurity "baseline:v1.25""#));
    // Before 1.19 seccomp was an annotation.
    let annotated = json!({"metadata": {"annotations": {"seccomp.security.alpha.kubernetes.io/pod": "unconfined"}}, "spec": {"containers": [{"name": "c"}]}});
    assert_eq!(
        violations(&annotated, &Policy::at(Level::Baseline, "v1.18")),
        vec![r#"seccompProfile (forbidden annotation seccomp.security.alpha.kubernetes.io/pod="unconfined")"#.to_owned()]
    );
    assert!(violations(&annotated, &latest(Level::Baseline)).is_empty());
    assert_eq!(
        Policy::at(Level::Baseline, "v1.025"),
        latest(Level::Baseline)
    );
}

#[test]
fn namespace_labels_name_the_policy() {
    let ns = json!({"metadata": {"labels": {
        "pod-security.kubernetes.io/enforce": "baseline",
        "pod-security.kubernetes.io/enforce-version": "v1.29",
        "pod-security.kubernetes.io/warn": "bogus",
    }}});
    assert_eq!(
        namespace_policy(&ns, "enforce"),
        Some(Policy::at(Level::Baseline, "v1.29"))
    );
    // An unknown level fails open for warnings (and closed for enforcement).
    assert_eq!(
        namespace_policy(&ns, "warn"),
        Some(latest(Level::Privileged))
    );
    assert_eq!(namespace_policy(&ns, "audit"), None);
}
