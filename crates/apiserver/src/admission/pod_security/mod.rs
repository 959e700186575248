//! Upstream's PodSecurity admission: a namespace's `pod-security.kubernetes.io/enforce` label
//! (`privileged`, `baseline`, `restricted`) refuses pods that break that Pod Security
//! Standard, `…/warn` only warns, with upstream's wording (`violates PodSecurity
//! "restricted:latest": privileged (container "c" must not set
//! securityContext.privileged=true), …`).
//!
//! Checks run in upstream's order — by check id, baseline ids first, then restricted ones —
//! and the restricted level drops the baseline checks it replaces (capabilities, hostPath
//! volumes, seccomp). A `…-version` label (`v1.N`) selects the checks as that release had them
//! (sysctls, SELinux types, seccomp by annotation before 1.19); `latest` is 1.33's, whose newest
//! checks date from 1.32. `audit` has no audit log to write to.

mod baseline;
pub mod config;
mod restricted;
mod text;

pub use config::Configuration;

use serde_json::Value;

/// A Pod Security Standard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Anything goes.
    Privileged,
    /// No known privilege escalations.
    Baseline,
    /// Hardened.
    Restricted,
}

impl Level {
    /// The level a label value names.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "privileged" => Some(Self::Privileged),
            "baseline" => Some(Self::Baseline),
            "restricted" => Some(Self::Restricted),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Privileged => "privileged",
            Self::Baseline => "baseline",
            Self::Restricted => "restricted",
        }
    }
}

/// The newest minor version any 1.33 check changed at: `latest` and later pins mean this.
const NEWEST_CHECKS: u32 = 32;

/// A policy: a level at a version (as the labels name it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// The standard.
    pub level: Level,
    /// The version label's text (`latest`, `v1.25`), printed in messages as written.
    pub version: String,
    /// The minor version the checks are taken at.
    minor: u32,
}

impl Policy {
    /// `level` at `latest`.
    pub fn latest(level: Level) -> Self {
        Self {
            level,
            version: "latest".to_owned(),
            minor: NEWEST_CHECKS,
        }
    }

    /// `level` at `version` (`latest` or `v1.N`; anything else is `latest`, as upstream falls
    /// back).
    pub fn at(level: Level, version: &str) -> Self {
        let minor = version
            .strip_prefix("v1.")
            .filter(|n| !n.is_empty() && (n == &"0" || !n.starts_with('0')))
            .and_then(|n| n.parse::<u32>().ok());
        match minor {
            Some(minor) => Self {
                level,
                version: version.to_owned(),
                minor: minor.min(NEWEST_CHECKS),
            },
            None => Self::latest(level),
        }
    }
}

/// One check's finding: upstream's reason and detail.
pub(crate) struct Finding {
    reason: String,
    detail: String,
}

impl Finding {
    pub(crate) fn new(reason: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
            detail: detail.into(),
        }
    }

    fn render(&self) -> String {
        if self.detail.is_empty() {
            self.reason.clone()
        } else {
            format!("{} ({})", self.reason, self.detail)
        }
    }
}

/// A check: what it finds in a pod at a minor version.
type Check = fn(&Value, u32) -> Option<Finding>;

/// Baseline's checks by id, in upstream's (bytewise) id order, with whether restricted
/// replaces them.
const BASELINE: &[(&str, Check, bool)] = &[
    ("appArmorProfile", baseline::app_armor, false),
    ("capabilities_baseline", baseline::capabilities, true),
    ("hostNamespaces", baseline::host_namespaces, false),
    ("hostPathVolumes", baseline::host_path_volumes, true),
    ("hostPorts", baseline::host_ports, false),
    ("privileged", baseline::privileged, false),
    ("procMount", baseline::proc_mount, false),
    ("seLinuxOptions", baseline::se_linux_options, false),
    ("seccompProfile_baseline", baseline::seccomp, true),
    ("sysctls", baseline::sysctls, false),
    ("windowsHostProcess", baseline::windows_host_process, false),
];

/// Restricted's own checks, in id order.
const RESTRICTED: &[(&str, Check)] = &[
    (
        "allowPrivilegeEscalation",
        restricted::allow_privilege_escalation,
    ),
    ("capabilities_restricted", restricted::capabilities),
    ("restrictedVolumes", restricted::volumes),
    ("runAsNonRoot", restricted::run_as_non_root),
    ("runAsUser", restricted::run_as_user),
    ("seccompProfile_restricted", restricted::seccomp),
];

/// What `pod` breaks of `policy`, in upstream's order and words.
pub fn violations(pod: &Value, policy: &Policy) -> Vec<String> {
    if policy.level == Level::Privileged {
        return Vec::new();
    }
    let restricted = policy.level == Level::Restricted;
    let mut found = Vec::new();
    for (id, check, replaced) in BASELINE {
        // The restricted seccomp check replaces the baseline one from 1.19, when fields took
        // over from annotations.
        let replaced = *replaced && !(*id == "seccompProfile_baseline" && policy.minor < 19);
        if restricted && replaced {
            continue;
        }
        found.extend(check(pod, policy.minor).map(|f| f.render()));
    }
    if restricted {
        for (_, check) in RESTRICTED {
            found.extend(check(pod, policy.minor).map(|f| f.render()));
        }
    }
    found
}

/// The policy of `mode` (`enforce`, `warn`) a namespace's labels set, if any.
pub fn namespace_policy(namespace: &Value, mode: &str) -> Option<Policy> {
    let labels = namespace.pointer("/metadata/labels")?;
    let label = |key: &str| labels.get(key).and_then(Value::as_str);
    let level = label(&format!("pod-security.kubernetes.io/{mode}"))?;
    // An unknown level fails closed for enforce and open for warn, as upstream's.
    let level = Level::parse(level).unwrap_or(if mode == "enforce" {
        Level::Restricted
    } else {
        Level::Privileged
    });
    let version = label(&format!("pod-security.kubernetes.io/{mode}-version")).unwrap_or("latest");
    Some(Policy::at(level, version))
}

/// The policy of `mode` for a namespace: its label's, else the configured default (upstream:
/// warn follows a stricter enforce label when warn has none).
pub fn effective_policy(namespace: &Value, mode: &str, config: &Configuration) -> Policy {
    if let Some(policy) = namespace_policy(namespace, mode) {
        return policy;
    }
    if mode == "warn"
        && let Some(enforce) = namespace_policy(namespace, "enforce")
        && enforce.level > config.warn.level
    {
        return enforce;
    }
    if mode == "enforce" {
        config.enforce.clone()
    } else {
        config.warn.clone()
    }
}

/// `violates PodSecurity "restricted:latest": …` (`would violate` for warnings).
pub fn message(policy: &Policy, found: &[String], warning: bool) -> String {
    let verb = if warning { "would violate" } else { "violates" };
    format!(
        "{verb} PodSecurity \"{}:{}\": {}",
        policy.level.name(),
        policy.version,
        found.join(", ")
    )
}

#[cfg(test)]
mod tests;
