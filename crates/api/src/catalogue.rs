//! The catalogue: every built-in resource Gantry serves, with upstream Kubernetes 1.33's
//! discovery data.
//!
//! Each [`Resource`] carries what discovery must report for it (see KUBECTL-WIRE.md §1): group,
//! version, kind, plural and singular names, scope, verbs, short names, categories and
//! subresources. A resource missing here is invisible to `kubectl api-resources`, to `kubectl get
//! <short name>` and to `kubectl get all`, so the data is transcribed from upstream rather than
//! written from memory.
//!
//! # Source
//!
//! Transcribed from the discovery documents kubernetes/kubernetes generates under
//! `api/discovery/`:
//!
//! - named groups: `aggregated_v2.json` at commit `0b1dcaba0a3f1fdcfe5fbb6516d68ffc8e625d81`, a
//!   1.33 snapshot (it has `resource.k8s.io/v1beta2` and `networking.k8s.io/v1` `servicecidrs`,
//!   but not yet `resource.k8s.io/v1` or `storage.k8s.io/v1` `volumeattributesclasses`, which
//!   arrived in 1.34);
//! - the core group: `api__v1.json` at commit `7c554ea1d91eddac32fcd89f37d7ed0347e1f311`, plus
//!   `pods/resize`, which 1.33 serves because its gate (`InPlacePodVerticalScaling`) went beta,
//!   on by default, in 1.33 (`pkg/registry/core/rest/storage_core.go`).
//!
//! Those snapshots are generated with every API enabled; only GA group-versions are kept here,
//! because alpha and beta APIs are off by default.
//!
//! # Invariants
//!
//! - [`resources`] lists the core group first, then the named groups in the order upstream's
//!   `/apis` lists them, each group's versions preferred-first; a group-version's resources are
//!   contiguous and sorted by plural name, as upstream's discovery sorts them.
//! - Verbs and subresources are in upstream's discovery order (alphabetical).
//! - `(group, version, plural)` and `(group, version, kind)` are each unique.

/// A subresource such as `pods/status` or `deployments/scale`.
///
/// `group`, `version` and `kind` name the subresource's response kind, always spelled out in
/// full: `pods/status` answers `v1` `Pod` (group `""`), `deployments/scale` answers
/// `autoscaling/v1` `Scale`. Upstream's discovery leaves group and version empty when they equal
/// the parent resource's; a discovery writer that mirrors it byte for byte should do the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subresource {
    /// The subresource's name, the path segment after the object's name (`status`, `scale`).
    pub name: &'static str,
    /// The response kind's API group; `""` for the core group.
    pub group: &'static str,
    /// The response kind's API version.
    pub version: &'static str,
    /// The response kind (`Pod`, `Scale`, `PodExecOptions`).
    pub kind: &'static str,
    /// The verbs the subresource serves, in upstream's discovery order.
    pub verbs: &'static [&'static str],
}

/// One resource as upstream 1.33 serves it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resource {
    /// The API group; `""` for the core group.
    pub group: &'static str,
    /// The API version (`v1`, `v2`).
    pub version: &'static str,
    /// The kind of the objects the resource holds (`Pod`).
    pub kind: &'static str,
    /// The plural resource name, as it appears in URLs (`pods`).
    pub plural: &'static str,
    /// The singular name (`pod`); upstream's `endpoints` is its own singular.
    pub singular: &'static str,
    /// Whether objects live in a namespace (`true`) or are cluster-scoped (`false`).
    pub namespaced: bool,
    /// The verbs the resource serves, in upstream's discovery order.
    pub verbs: &'static [&'static str],
    /// Short names `kubectl` accepts in place of the plural (`po`).
    pub short_names: &'static [&'static str],
    /// Categories the resource belongs to (`all` for `kubectl get all`).
    pub categories: &'static [&'static str],
    /// The resource's subresources, in upstream's discovery order.
    pub subresources: &'static [Subresource],
}

impl Resource {
    /// The group-version path segment: `v1` for the core group, `apps/v1` otherwise.
    pub fn group_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_owned()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// The value of an object's `apiVersion` field; the same as [`Resource::group_version`].
    pub fn api_version(&self) -> String {
        self.group_version()
    }

    /// The subresource called `name`, if the resource has one.
    pub fn subresource(&self, name: &str) -> Option<&'static Subresource> {
        self.subresources.iter().find(|s| s.name == name)
    }

    /// Whether the resource itself (not a subresource) serves `verb`.
    pub fn has_verb(&self, verb: &str) -> bool {
        self.verbs.contains(&verb)
    }

    /// Starts a resource with the ordinary verbs ([`CRUD`]) and no short names, categories or
    /// subresources.
    const fn new(
        group: &'static str,
        version: &'static str,
        kind: &'static str,
        plural: &'static str,
        singular: &'static str,
        namespaced: bool,
    ) -> Self {
        Self {
            group,
            version,
            kind,
            plural,
            singular,
            namespaced,
            verbs: CRUD,
            short_names: &[],
            categories: &[],
            subresources: &[],
        }
    }

    const fn verbs(self, verbs: &'static [&'static str]) -> Self {
        Self { verbs, ..self }
    }

    const fn short_names(self, short_names: &'static [&'static str]) -> Self {
        Self {
            short_names,
            ..self
        }
    }

    const fn categories(self, categories: &'static [&'static str]) -> Self {
        Self { categories, ..self }
    }

    const fn subresources(self, subresources: &'static [Subresource]) -> Self {
        Self {
            subresources,
            ..self
        }
    }
}

/// A group and its versions, preferred version first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// The group's name (`apps`).
    pub name: &'static str,
    /// The versions Gantry serves, preferred first (`autoscaling`: `v2`, then `v1`).
    pub versions: Vec<&'static str>,
}

/// Every resource, grouped by group-version: core first, then named groups in `/apis` order.
pub fn resources() -> &'static [Resource] {
    RESOURCES
}

/// The resource with this group, version and plural name.
pub fn find(group: &str, version: &str, plural: &str) -> Option<&'static Resource> {
    in_group_version(group, version).find(|r| r.plural == plural)
}

/// The resource holding objects of this group, version and kind.
pub fn find_kind(group: &str, version: &str, kind: &str) -> Option<&'static Resource> {
    in_group_version(group, version).find(|r| r.kind == kind)
}

/// The resources of one group-version, sorted by plural; empty for an unknown one. The iterator
/// borrows nothing from the arguments.
pub fn in_group_version(
    group: &str,
    version: &str,
) -> impl Iterator<Item = &'static Resource> + use<> {
    // A group-version's resources are contiguous (a tested invariant), so this is one slice.
    let in_gv = |r: &Resource| r.group == group && r.version == version;
    let start = RESOURCES.iter().position(in_gv).unwrap_or(RESOURCES.len());
    let len = RESOURCES[start..].iter().take_while(|r| in_gv(r)).count();
    let mut custom: Vec<&'static Resource> = if len == 0 {
        crate::custom::all()
            .into_iter()
            .filter(|r| in_gv(r))
            .collect()
    } else {
        Vec::new() // a built-in group-version: definitions cannot add to it
    };
    custom.sort_by_key(|r| r.plural);
    RESOURCES[start..start + len].iter().chain(custom)
}

/// The named groups (not core), in the order upstream's `/apis` lists them, each with its
/// versions preferred-first.
pub fn groups() -> Vec<Group> {
    let mut groups: Vec<Group> = GROUPS
        .iter()
        .map(|&(name, versions)| Group {
            name,
            versions: versions.to_vec(),
        })
        .collect();
    // Then the custom groups, by name (upstream ranks them after the built-in ones), each
    // with its versions in upstream's version priority.
    let mut custom: Vec<Group> = Vec::new();
    for resource in crate::custom::all() {
        if GROUPS.iter().any(|(name, _)| *name == resource.group) {
            continue;
        }
        match custom.iter_mut().find(|g| g.name == resource.group) {
            Some(group) if !group.versions.contains(&resource.version) => {
                group.versions.push(resource.version);
            }
            Some(_) => {}
            None => custom.push(Group {
                name: resource.group,
                versions: vec![resource.version],
            }),
        }
    }
    custom.sort_by_key(|g| g.name);
    for group in &mut custom {
        group
            .versions
            .sort_by(|a, b| crate::custom::version_priority(a, b));
    }
    groups.extend(custom);
    groups
}

/// The named groups and their versions, preferred first, in upstream 1.33's `/apis` order (which
/// follows the aggregator's group priorities), restricted to the groups Gantry serves.
const GROUPS: &[(&str, &[&str])] = &[
    ("apps", &["v1"]),
    ("events.k8s.io", &["v1"]),
    ("authentication.k8s.io", &["v1"]),
    ("authorization.k8s.io", &["v1"]),
    ("autoscaling", &["v2", "v1"]),
    ("batch", &["v1"]),
    ("certificates.k8s.io", &["v1"]),
    ("networking.k8s.io", &["v1"]),
    ("policy", &["v1"]),
    ("rbac.authorization.k8s.io", &["v1"]),
    ("storage.k8s.io", &["v1"]),
    ("admissionregistration.k8s.io", &["v1"]),
    ("apiextensions.k8s.io", &["v1"]),
    ("scheduling.k8s.io", &["v1"]),
    ("coordination.k8s.io", &["v1"]),
    ("node.k8s.io", &["v1"]),
    ("discovery.k8s.io", &["v1"]),
];

/// The verbs of an ordinary stored resource.
const CRUD: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];
/// The verbs of `status`, `scale` and similar subresources.
const GET_PATCH_UPDATE: &[&str] = &["get", "patch", "update"];
/// The verbs of the `proxy` subresources.
const PROXY: &[&str] = &["create", "delete", "get", "patch", "update"];
/// The verbs of the streaming subresources (`exec`, `attach`, `portforward`).
const CREATE_GET: &[&str] = &["create", "get"];
/// The verb of write-only resources and subresources (`bindings`, `pods/eviction`).
const CREATE: &[&str] = &["create"];

/// The `all` category: what `kubectl get all` lists.
const ALL: &[&str] = &["all"];
/// The `api-extensions` category: resources that extend the API.
const API_EXTENSIONS: &[&str] = &["api-extensions"];

const NAMESPACED: bool = true;
const CLUSTER: bool = false;

const fn sub(
    name: &'static str,
    group: &'static str,
    version: &'static str,
    kind: &'static str,
    verbs: &'static [&'static str],
) -> Subresource {
    Subresource {
        name,
        group,
        version,
        kind,
        verbs,
    }
}

/// The usual `status` subresource: the parent's own kind, read and written.
const fn status(group: &'static str, version: &'static str, kind: &'static str) -> Subresource {
    sub("status", group, version, kind, GET_PATCH_UPDATE)
}

/// The `scale` subresource; it answers `autoscaling/v1` `Scale` whatever the parent's group.
const SCALE: Subresource = sub("scale", "autoscaling", "v1", "Scale", GET_PATCH_UPDATE);

static RESOURCES: &[Resource] = &[
    // --- core, v1 (`/api/v1`) ---
    // `bindings` is the legacy way to bind a pod: create only, with no short name.
    Resource::new("", "v1", "Binding", "bindings", "binding", NAMESPACED).verbs(CREATE),
    Resource::new(
        "",
        "v1",
        "ComponentStatus",
        "componentstatuses",
        "componentstatus",
        CLUSTER,
    )
    .verbs(&["get", "list"])
    .short_names(&["cs"]),
    Resource::new("", "v1", "ConfigMap", "configmaps", "configmap", NAMESPACED)
        .short_names(&["cm"]),
    Resource::new("", "v1", "Endpoints", "endpoints", "endpoints", NAMESPACED).short_names(&["ep"]),
    Resource::new("", "v1", "Event", "events", "event", NAMESPACED).short_names(&["ev"]),
    Resource::new(
        "",
        "v1",
        "LimitRange",
        "limitranges",
        "limitrange",
        NAMESPACED,
    )
    .short_names(&["limits"]),
    // Namespaces are deleted one at a time (the namespace controller empties each first), so
    // upstream serves no `deletecollection`.
    Resource::new("", "v1", "Namespace", "namespaces", "namespace", CLUSTER)
        .verbs(&[
            "create", "delete", "get", "list", "patch", "update", "watch",
        ])
        .short_names(&["ns"])
        .subresources(&[
            sub("finalize", "", "v1", "Namespace", &["update"]),
            status("", "v1", "Namespace"),
        ]),
    Resource::new("", "v1", "Node", "nodes", "node", CLUSTER)
        .short_names(&["no"])
        .subresources(&[
            sub("proxy", "", "v1", "NodeProxyOptions", PROXY),
            status("", "v1", "Node"),
        ]),
    Resource::new(
        "",
        "v1",
        "PersistentVolumeClaim",
        "persistentvolumeclaims",
        "persistentvolumeclaim",
        NAMESPACED,
    )
    .short_names(&["pvc"])
    .subresources(&[status("", "v1", "PersistentVolumeClaim")]),
    Resource::new(
        "",
        "v1",
        "PersistentVolume",
        "persistentvolumes",
        "persistentvolume",
        CLUSTER,
    )
    .short_names(&["pv"])
    .subresources(&[status("", "v1", "PersistentVolume")]),
    Resource::new("", "v1", "Pod", "pods", "pod", NAMESPACED)
        .short_names(&["po"])
        .categories(ALL)
        .subresources(&[
            sub("attach", "", "v1", "PodAttachOptions", CREATE_GET),
            sub("binding", "", "v1", "Binding", CREATE),
            sub("ephemeralcontainers", "", "v1", "Pod", GET_PATCH_UPDATE),
            sub("eviction", "policy", "v1", "Eviction", CREATE),
            sub("exec", "", "v1", "PodExecOptions", CREATE_GET),
            sub("log", "", "v1", "Pod", &["get"]),
            sub("portforward", "", "v1", "PodPortForwardOptions", CREATE_GET),
            sub("proxy", "", "v1", "PodProxyOptions", PROXY),
            // New in 1.33, behind `InPlacePodVerticalScaling` (beta, on by default).
            sub("resize", "", "v1", "Pod", GET_PATCH_UPDATE),
            status("", "v1", "Pod"),
        ]),
    Resource::new(
        "",
        "v1",
        "PodTemplate",
        "podtemplates",
        "podtemplate",
        NAMESPACED,
    ),
    Resource::new(
        "",
        "v1",
        "ReplicationController",
        "replicationcontrollers",
        "replicationcontroller",
        NAMESPACED,
    )
    .short_names(&["rc"])
    .categories(ALL)
    .subresources(&[SCALE, status("", "v1", "ReplicationController")]),
    Resource::new(
        "",
        "v1",
        "ResourceQuota",
        "resourcequotas",
        "resourcequota",
        NAMESPACED,
    )
    .short_names(&["quota"])
    .subresources(&[status("", "v1", "ResourceQuota")]),
    Resource::new("", "v1", "Secret", "secrets", "secret", NAMESPACED),
    Resource::new(
        "",
        "v1",
        "ServiceAccount",
        "serviceaccounts",
        "serviceaccount",
        NAMESPACED,
    )
    .short_names(&["sa"])
    .subresources(&[sub(
        "token",
        "authentication.k8s.io",
        "v1",
        "TokenRequest",
        CREATE,
    )]),
    Resource::new("", "v1", "Service", "services", "service", NAMESPACED)
        .short_names(&["svc"])
        .categories(ALL)
        .subresources(&[
            sub("proxy", "", "v1", "ServiceProxyOptions", PROXY),
            status("", "v1", "Service"),
        ]),
    // --- apps/v1 ---
    Resource::new(
        "apps",
        "v1",
        "ControllerRevision",
        "controllerrevisions",
        "controllerrevision",
        NAMESPACED,
    ),
    Resource::new(
        "apps",
        "v1",
        "DaemonSet",
        "daemonsets",
        "daemonset",
        NAMESPACED,
    )
    .short_names(&["ds"])
    .categories(ALL)
    .subresources(&[status("apps", "v1", "DaemonSet")]),
    Resource::new(
        "apps",
        "v1",
        "Deployment",
        "deployments",
        "deployment",
        NAMESPACED,
    )
    .short_names(&["deploy"])
    .categories(ALL)
    .subresources(&[SCALE, status("apps", "v1", "Deployment")]),
    Resource::new(
        "apps",
        "v1",
        "ReplicaSet",
        "replicasets",
        "replicaset",
        NAMESPACED,
    )
    .short_names(&["rs"])
    .categories(ALL)
    .subresources(&[SCALE, status("apps", "v1", "ReplicaSet")]),
    Resource::new(
        "apps",
        "v1",
        "StatefulSet",
        "statefulsets",
        "statefulset",
        NAMESPACED,
    )
    .short_names(&["sts"])
    .categories(ALL)
    .subresources(&[SCALE, status("apps", "v1", "StatefulSet")]),
    // --- events.k8s.io/v1 --- (the same objects as core `events`, in the newer schema; upstream
    // lists no category for either)
    Resource::new(
        "events.k8s.io",
        "v1",
        "Event",
        "events",
        "event",
        NAMESPACED,
    )
    .short_names(&["ev"]),
    // --- authentication.k8s.io/v1, authorization.k8s.io/v1: reviews, answered, never stored ---
    Resource::new(
        "authentication.k8s.io",
        "v1",
        "SelfSubjectReview",
        "selfsubjectreviews",
        "selfsubjectreview",
        CLUSTER,
    )
    .verbs(&["create"]),
    Resource::new(
        "authentication.k8s.io",
        "v1",
        "TokenReview",
        "tokenreviews",
        "tokenreview",
        CLUSTER,
    )
    .verbs(&["create"]),
    Resource::new(
        "authorization.k8s.io",
        "v1",
        "LocalSubjectAccessReview",
        "localsubjectaccessreviews",
        "localsubjectaccessreview",
        NAMESPACED,
    )
    .verbs(&["create"]),
    Resource::new(
        "authorization.k8s.io",
        "v1",
        "SelfSubjectAccessReview",
        "selfsubjectaccessreviews",
        "selfsubjectaccessreview",
        CLUSTER,
    )
    .verbs(&["create"]),
    Resource::new(
        "authorization.k8s.io",
        "v1",
        "SelfSubjectRulesReview",
        "selfsubjectrulesreviews",
        "selfsubjectrulesreview",
        CLUSTER,
    )
    .verbs(&["create"]),
    Resource::new(
        "authorization.k8s.io",
        "v1",
        "SubjectAccessReview",
        "subjectaccessreviews",
        "subjectaccessreview",
        CLUSTER,
    )
    .verbs(&["create"]),
    // --- autoscaling/v2 (preferred), then autoscaling/v1 ---
    Resource::new(
        "autoscaling",
        "v2",
        "HorizontalPodAutoscaler",
        "horizontalpodautoscalers",
        "horizontalpodautoscaler",
        NAMESPACED,
    )
    .short_names(&["hpa"])
    .categories(ALL)
    .subresources(&[status("autoscaling", "v2", "HorizontalPodAutoscaler")]),
    Resource::new(
        "autoscaling",
        "v1",
        "HorizontalPodAutoscaler",
        "horizontalpodautoscalers",
        "horizontalpodautoscaler",
        NAMESPACED,
    )
    .short_names(&["hpa"])
    .categories(ALL)
    .subresources(&[status("autoscaling", "v1", "HorizontalPodAutoscaler")]),
    // --- batch/v1 ---
    Resource::new("batch", "v1", "CronJob", "cronjobs", "cronjob", NAMESPACED)
        .short_names(&["cj"])
        .categories(ALL)
        .subresources(&[status("batch", "v1", "CronJob")]),
    Resource::new("batch", "v1", "Job", "jobs", "job", NAMESPACED)
        .categories(ALL)
        .subresources(&[status("batch", "v1", "Job")]),
    // --- certificates.k8s.io/v1 ---
    Resource::new(
        "certificates.k8s.io",
        "v1",
        "CertificateSigningRequest",
        "certificatesigningrequests",
        "certificatesigningrequest",
        CLUSTER,
    )
    .short_names(&["csr"])
    .subresources(&[
        sub(
            "approval",
            "certificates.k8s.io",
            "v1",
            "CertificateSigningRequest",
            GET_PATCH_UPDATE,
        ),
        status("certificates.k8s.io", "v1", "CertificateSigningRequest"),
    ]),
    // --- networking.k8s.io/v1 --- (IPAddress and ServiceCIDR went GA in 1.33)
    Resource::new(
        "networking.k8s.io",
        "v1",
        "IngressClass",
        "ingressclasses",
        "ingressclass",
        CLUSTER,
    ),
    Resource::new(
        "networking.k8s.io",
        "v1",
        "Ingress",
        "ingresses",
        "ingress",
        NAMESPACED,
    )
    .short_names(&["ing"])
    .subresources(&[status("networking.k8s.io", "v1", "Ingress")]),
    Resource::new(
        "networking.k8s.io",
        "v1",
        "IPAddress",
        "ipaddresses",
        "ipaddress",
        CLUSTER,
    )
    .short_names(&["ip"]),
    Resource::new(
        "networking.k8s.io",
        "v1",
        "NetworkPolicy",
        "networkpolicies",
        "networkpolicy",
        NAMESPACED,
    )
    .short_names(&["netpol"]),
    Resource::new(
        "networking.k8s.io",
        "v1",
        "ServiceCIDR",
        "servicecidrs",
        "servicecidr",
        CLUSTER,
    )
    .subresources(&[status("networking.k8s.io", "v1", "ServiceCIDR")]),
    // --- policy/v1 ---
    Resource::new(
        "policy",
        "v1",
        "PodDisruptionBudget",
        "poddisruptionbudgets",
        "poddisruptionbudget",
        NAMESPACED,
    )
    .short_names(&["pdb"])
    .subresources(&[status("policy", "v1", "PodDisruptionBudget")]),
    // --- rbac.authorization.k8s.io/v1 ---
    Resource::new(
        "rbac.authorization.k8s.io",
        "v1",
        "ClusterRoleBinding",
        "clusterrolebindings",
        "clusterrolebinding",
        CLUSTER,
    ),
    Resource::new(
        "rbac.authorization.k8s.io",
        "v1",
        "ClusterRole",
        "clusterroles",
        "clusterrole",
        CLUSTER,
    ),
    Resource::new(
        "rbac.authorization.k8s.io",
        "v1",
        "RoleBinding",
        "rolebindings",
        "rolebinding",
        NAMESPACED,
    ),
    Resource::new(
        "rbac.authorization.k8s.io",
        "v1",
        "Role",
        "roles",
        "role",
        NAMESPACED,
    ),
    // --- storage.k8s.io/v1 --- (VolumeAttributesClass is still beta in 1.33)
    Resource::new(
        "storage.k8s.io",
        "v1",
        "CSIDriver",
        "csidrivers",
        "csidriver",
        CLUSTER,
    ),
    Resource::new(
        "storage.k8s.io",
        "v1",
        "CSINode",
        "csinodes",
        "csinode",
        CLUSTER,
    ),
    Resource::new(
        "storage.k8s.io",
        "v1",
        "CSIStorageCapacity",
        "csistoragecapacities",
        "csistoragecapacity",
        NAMESPACED,
    ),
    Resource::new(
        "storage.k8s.io",
        "v1",
        "StorageClass",
        "storageclasses",
        "storageclass",
        CLUSTER,
    )
    .short_names(&["sc"]),
    Resource::new(
        "storage.k8s.io",
        "v1",
        "VolumeAttachment",
        "volumeattachments",
        "volumeattachment",
        CLUSTER,
    )
    .subresources(&[status("storage.k8s.io", "v1", "VolumeAttachment")]),
    // --- admissionregistration.k8s.io/v1 --- (MutatingAdmissionPolicy is still alpha in 1.33)
    Resource::new(
        "admissionregistration.k8s.io",
        "v1",
        "MutatingWebhookConfiguration",
        "mutatingwebhookconfigurations",
        "mutatingwebhookconfiguration",
        CLUSTER,
    )
    .categories(API_EXTENSIONS),
    Resource::new(
        "admissionregistration.k8s.io",
        "v1",
        "ValidatingAdmissionPolicy",
        "validatingadmissionpolicies",
        "validatingadmissionpolicy",
        CLUSTER,
    )
    .categories(API_EXTENSIONS)
    .subresources(&[status(
        "admissionregistration.k8s.io",
        "v1",
        "ValidatingAdmissionPolicy",
    )]),
    Resource::new(
        "admissionregistration.k8s.io",
        "v1",
        "ValidatingAdmissionPolicyBinding",
        "validatingadmissionpolicybindings",
        "validatingadmissionpolicybinding",
        CLUSTER,
    )
    .categories(API_EXTENSIONS),
    Resource::new(
        "admissionregistration.k8s.io",
        "v1",
        "ValidatingWebhookConfiguration",
        "validatingwebhookconfigurations",
        "validatingwebhookconfiguration",
        CLUSTER,
    )
    .categories(API_EXTENSIONS),
    // --- apiextensions.k8s.io/v1 ---
    Resource::new(
        "apiextensions.k8s.io",
        "v1",
        "CustomResourceDefinition",
        "customresourcedefinitions",
        "customresourcedefinition",
        CLUSTER,
    )
    .short_names(&["crd", "crds"])
    .categories(API_EXTENSIONS)
    .subresources(&[status(
        "apiextensions.k8s.io",
        "v1",
        "CustomResourceDefinition",
    )]),
    // --- scheduling.k8s.io/v1 ---
    Resource::new(
        "scheduling.k8s.io",
        "v1",
        "PriorityClass",
        "priorityclasses",
        "priorityclass",
        CLUSTER,
    )
    .short_names(&["pc"]),
    // --- coordination.k8s.io/v1 --- (LeaseCandidate is still beta in 1.33)
    Resource::new(
        "coordination.k8s.io",
        "v1",
        "Lease",
        "leases",
        "lease",
        NAMESPACED,
    ),
    // --- node.k8s.io/v1 ---
    Resource::new(
        "node.k8s.io",
        "v1",
        "RuntimeClass",
        "runtimeclasses",
        "runtimeclass",
        CLUSTER,
    ),
    // --- discovery.k8s.io/v1 ---
    Resource::new(
        "discovery.k8s.io",
        "v1",
        "EndpointSlice",
        "endpointslices",
        "endpointslice",
        NAMESPACED,
    ),
];

#[cfg(test)]
#[path = "catalogue_tests.rs"]
mod tests;
