//! The message schemas of the kinds whose protobuf bodies are read: for each message, its
//! fields' numbers, JSON names, kinds and repetition, as upstream's `generated.proto` numbers
//! them.

use super::Kind::{
    Bool, BoolOmitFalse, Inline, Int, IntOmitZero, IntOrStr, MapBytes, MapQuantity, MapStr, Msg,
    Str, Time,
};
use super::Message;

static OWNER_REFERENCE: Message = Message(&[
    (5, "apiVersion", Str, false),
    (1, "kind", Str, false),
    (3, "name", Str, false),
    (4, "uid", Str, false),
    (6, "controller", Bool, false),
    (7, "blockOwnerDeletion", Bool, false),
]);

static OBJECT_META: Message = Message(&[
    (1, "name", Str, false),
    (2, "generateName", Str, false),
    (3, "namespace", Str, false),
    (5, "uid", Str, false),
    (6, "resourceVersion", Str, false),
    (7, "generation", IntOmitZero, false),
    (8, "creationTimestamp", Time, false),
    (9, "deletionTimestamp", Time, false),
    (10, "deletionGracePeriodSeconds", Int, false),
    (11, "labels", MapStr, false),
    (12, "annotations", MapStr, false),
    (13, "ownerReferences", Msg(&OWNER_REFERENCE), true),
    (14, "finalizers", Str, true),
]);

static NAMESPACE_SPEC: Message = Message(&[(1, "finalizers", Str, true)]);
static NAMESPACE_STATUS: Message = Message(&[(1, "phase", Str, false)]);
static NAMESPACE: Message = Message(&[
    (1, "metadata", Msg(&OBJECT_META), false),
    (2, "spec", Msg(&NAMESPACE_SPEC), false),
    (3, "status", Msg(&NAMESPACE_STATUS), false),
]);

static CONFIG_MAP: Message = Message(&[
    (1, "metadata", Msg(&OBJECT_META), false),
    (2, "data", MapStr, false),
    (3, "binaryData", MapBytes, false),
    (4, "immutable", Bool, false),
]);

static SECRET: Message = Message(&[
    (1, "metadata", Msg(&OBJECT_META), false),
    (2, "data", MapBytes, false),
    (3, "type", Str, false),
    (4, "stringData", MapStr, false),
    (5, "immutable", Bool, false),
]);

static OBJECT_REFERENCE: Message = Message(&[
    (1, "kind", Str, false),
    (2, "namespace", Str, false),
    (3, "name", Str, false),
    (4, "uid", Str, false),
    (5, "apiVersion", Str, false),
    (6, "resourceVersion", Str, false),
    (7, "fieldPath", Str, false),
]);
static LOCAL_OBJECT_REFERENCE: Message = Message(&[(1, "name", Str, false)]);
static SERVICE_ACCOUNT: Message = Message(&[
    (1, "metadata", Msg(&OBJECT_META), false),
    (2, "secrets", Msg(&OBJECT_REFERENCE), true),
    (3, "imagePullSecrets", Msg(&LOCAL_OBJECT_REFERENCE), true),
    (4, "automountServiceAccountToken", Bool, false),
]);

static LABEL_SELECTOR_REQUIREMENT: Message = Message(&[
    (1, "key", Str, false),
    (2, "operator", Str, false),
    (3, "values", Str, true),
]);
static LABEL_SELECTOR: Message = Message(&[
    (1, "matchLabels", MapStr, false),
    (
        2,
        "matchExpressions",
        Msg(&LABEL_SELECTOR_REQUIREMENT),
        true,
    ),
]);
static CONTAINER_PORT: Message = Message(&[
    (1, "name", Str, false),
    (2, "hostPort", IntOmitZero, false),
    (3, "containerPort", IntOmitZero, false),
    (4, "protocol", Str, false),
    (5, "hostIP", Str, false),
]);
static ENV_VAR: Message = Message(&[(1, "name", Str, false), (2, "value", Str, false)]);
static RESOURCES: Message = Message(&[
    (1, "limits", MapQuantity, false),
    (2, "requests", MapQuantity, false),
]);
static CONTAINER: Message = Message(&[
    (1, "name", Str, false),
    (2, "image", Str, false),
    (3, "command", Str, true),
    (4, "args", Str, true),
    (5, "workingDir", Str, false),
    (6, "ports", Msg(&CONTAINER_PORT), true),
    (7, "env", Msg(&ENV_VAR), true),
    (8, "resources", Msg(&RESOURCES), false),
    (13, "terminationMessagePath", Str, false),
    (14, "imagePullPolicy", Str, false),
    (16, "stdin", BoolOmitFalse, false),
    (17, "stdinOnce", BoolOmitFalse, false),
    (18, "tty", BoolOmitFalse, false),
    (20, "terminationMessagePolicy", Str, false),
]);
static POD_SPEC: Message = Message(&[
    (2, "containers", Msg(&CONTAINER), true),
    (3, "restartPolicy", Str, false),
    (4, "terminationGracePeriodSeconds", Int, false),
    (5, "activeDeadlineSeconds", Int, false),
    (6, "dnsPolicy", Str, false),
    (7, "nodeSelector", MapStr, false),
    (8, "serviceAccountName", Str, false),
    (10, "nodeName", Str, false),
    (11, "hostNetwork", BoolOmitFalse, false),
    (15, "imagePullSecrets", Msg(&LOCAL_OBJECT_REFERENCE), true),
    (16, "hostname", Str, false),
    (17, "subdomain", Str, false),
    (19, "schedulerName", Str, false),
    (20, "initContainers", Msg(&CONTAINER), true),
    (24, "priorityClassName", Str, false),
    (30, "enableServiceLinks", Bool, false),
]);
static POD_TEMPLATE_SPEC: Message = Message(&[
    (1, "metadata", Msg(&OBJECT_META), false),
    (2, "spec", Msg(&POD_SPEC), false),
]);
static ROLLING_UPDATE_DEPLOYMENT: Message = Message(&[
    (1, "maxUnavailable", IntOrStr, false),
    (2, "maxSurge", IntOrStr, false),
]);
static DEPLOYMENT_STRATEGY: Message = Message(&[
    (1, "type", Str, false),
    (2, "rollingUpdate", Msg(&ROLLING_UPDATE_DEPLOYMENT), false),
]);
static DEPLOYMENT_SPEC: Message = Message(&[
    (1, "replicas", Int, false),
    (2, "selector", Msg(&LABEL_SELECTOR), false),
    (3, "template", Msg(&POD_TEMPLATE_SPEC), false),
    (4, "strategy", Msg(&DEPLOYMENT_STRATEGY), false),
    (5, "minReadySeconds", IntOmitZero, false),
    (6, "revisionHistoryLimit", Int, false),
    (7, "paused", BoolOmitFalse, false),
    (9, "progressDeadlineSeconds", Int, false),
]);
static DEPLOYMENT: Message = Message(&[
    (1, "metadata", Msg(&OBJECT_META), false),
    (2, "spec", Msg(&DEPLOYMENT_SPEC), false),
]);
static SERVICE_PORT: Message = Message(&[
    (1, "name", Str, false),
    (2, "protocol", Str, false),
    (3, "port", IntOmitZero, false),
    (4, "targetPort", IntOrStr, false),
    (5, "nodePort", IntOmitZero, false),
    (6, "appProtocol", Str, false),
]);
static SERVICE_SPEC: Message = Message(&[
    (1, "ports", Msg(&SERVICE_PORT), true),
    (2, "selector", MapStr, false),
    (3, "clusterIP", Str, false),
    (4, "type", Str, false),
    (5, "externalIPs", Str, true),
    (7, "sessionAffinity", Str, false),
    (10, "externalName", Str, false),
    (18, "clusterIPs", Str, true),
]);
static SERVICE: Message = Message(&[
    (1, "metadata", Msg(&OBJECT_META), false),
    (2, "spec", Msg(&SERVICE_SPEC), false),
]);
static JOB_SPEC: Message = Message(&[
    (1, "parallelism", Int, false),
    (2, "completions", Int, false),
    (3, "activeDeadlineSeconds", Int, false),
    (4, "selector", Msg(&LABEL_SELECTOR), false),
    (5, "manualSelector", Bool, false),
    (6, "template", Msg(&POD_TEMPLATE_SPEC), false),
    (7, "backoffLimit", Int, false),
    (8, "ttlSecondsAfterFinished", Int, false),
    (9, "completionMode", Str, false),
    (10, "suspend", Bool, false),
]);
static JOB: Message = Message(&[
    (1, "metadata", Msg(&OBJECT_META), false),
    (2, "spec", Msg(&JOB_SPEC), false),
]);
static JOB_TEMPLATE_SPEC: Message = Message(&[
    (1, "metadata", Msg(&OBJECT_META), false),
    (2, "spec", Msg(&JOB_SPEC), false),
]);
static CRON_JOB_SPEC: Message = Message(&[
    (1, "schedule", Str, false),
    (2, "startingDeadlineSeconds", Int, false),
    (3, "concurrencyPolicy", Str, false),
    (4, "suspend", Bool, false),
    (5, "jobTemplate", Msg(&JOB_TEMPLATE_SPEC), false),
    (6, "successfulJobsHistoryLimit", Int, false),
    (7, "failedJobsHistoryLimit", Int, false),
    (8, "timeZone", Str, false),
]);
static CRON_JOB: Message = Message(&[
    (1, "metadata", Msg(&OBJECT_META), false),
    (2, "spec", Msg(&CRON_JOB_SPEC), false),
]);

static POLICY_RULE: Message = Message(&[
    (1, "verbs", Str, true),
    (2, "apiGroups", Str, true),
    (3, "resources", Str, true),
    (4, "resourceNames", Str, true),
    (5, "nonResourceURLs", Str, true),
]);
static ROLE: Message = Message(&[
    (1, "metadata", Msg(&OBJECT_META), false),
    (2, "rules", Msg(&POLICY_RULE), true),
]);
static AGGREGATION_RULE: Message =
    Message(&[(1, "clusterRoleSelectors", Msg(&LABEL_SELECTOR), true)]);
static CLUSTER_ROLE: Message = Message(&[
    (1, "metadata", Msg(&OBJECT_META), false),
    (2, "rules", Msg(&POLICY_RULE), true),
    (3, "aggregationRule", Msg(&AGGREGATION_RULE), false),
]);
static SUBJECT: Message = Message(&[
    (1, "kind", Str, false),
    (2, "apiGroup", Str, false),
    (3, "name", Str, false),
    (4, "namespace", Str, false),
]);
static ROLE_REF: Message = Message(&[
    (1, "apiGroup", Str, false),
    (2, "kind", Str, false),
    (3, "name", Str, false),
]);
static ROLE_BINDING: Message = Message(&[
    (1, "metadata", Msg(&OBJECT_META), false),
    (2, "subjects", Msg(&SUBJECT), true),
    (3, "roleRef", Msg(&ROLE_REF), false),
]);
static PRIORITY_CLASS: Message = Message(&[
    (1, "metadata", Msg(&OBJECT_META), false),
    (2, "value", Int, false),
    (3, "globalDefault", BoolOmitFalse, false),
    (4, "description", Str, false),
    (5, "preemptionPolicy", Str, false),
]);

static SCOPED_RESOURCE_SELECTOR_REQUIREMENT: Message = Message(&[
    (1, "scopeName", Str, false),
    (2, "operator", Str, false),
    (3, "values", Str, true),
]);
static SCOPE_SELECTOR: Message = Message(&[(
    1,
    "matchExpressions",
    Msg(&SCOPED_RESOURCE_SELECTOR_REQUIREMENT),
    true,
)]);
static RESOURCE_QUOTA_SPEC: Message = Message(&[
    (1, "hard", MapQuantity, false),
    (2, "scopes", Str, true),
    (3, "scopeSelector", Msg(&SCOPE_SELECTOR), false),
]);
static RESOURCE_QUOTA: Message = Message(&[
    (1, "metadata", Msg(&OBJECT_META), false),
    (2, "spec", Msg(&RESOURCE_QUOTA_SPEC), false),
]);

static POD_DISRUPTION_BUDGET_SPEC: Message = Message(&[
    (1, "minAvailable", IntOrStr, false),
    (2, "selector", Msg(&LABEL_SELECTOR), false),
    (3, "maxUnavailable", IntOrStr, false),
    (4, "unhealthyPodEvictionPolicy", Str, false),
]);
static POD_DISRUPTION_BUDGET: Message = Message(&[
    (1, "metadata", Msg(&OBJECT_META), false),
    (2, "spec", Msg(&POD_DISRUPTION_BUDGET_SPEC), false),
]);

static TYPED_LOCAL_OBJECT_REFERENCE: Message = Message(&[
    (1, "apiGroup", Str, false),
    (2, "kind", Str, false),
    (3, "name", Str, false),
]);
static SERVICE_BACKEND_PORT: Message =
    Message(&[(1, "name", Str, false), (2, "number", IntOmitZero, false)]);
static INGRESS_SERVICE_BACKEND: Message = Message(&[
    (1, "name", Str, false),
    (2, "port", Msg(&SERVICE_BACKEND_PORT), false),
]);
static INGRESS_BACKEND: Message = Message(&[
    (3, "resource", Msg(&TYPED_LOCAL_OBJECT_REFERENCE), false),
    (4, "service", Msg(&INGRESS_SERVICE_BACKEND), false),
]);
static HTTP_INGRESS_PATH: Message = Message(&[
    (1, "path", Str, false),
    (2, "backend", Msg(&INGRESS_BACKEND), false),
    (3, "pathType", Str, false),
]);
static HTTP_INGRESS_RULE_VALUE: Message = Message(&[(1, "paths", Msg(&HTTP_INGRESS_PATH), true)]);
static INGRESS_RULE_VALUE: Message = Message(&[(1, "http", Msg(&HTTP_INGRESS_RULE_VALUE), false)]);
static INGRESS_RULE: Message = Message(&[
    (1, "host", Str, false),
    (2, "ingressRuleValue", Inline(&INGRESS_RULE_VALUE), false),
]);
static INGRESS_TLS: Message = Message(&[(1, "hosts", Str, true), (2, "secretName", Str, false)]);
static INGRESS_SPEC: Message = Message(&[
    (1, "defaultBackend", Msg(&INGRESS_BACKEND), false),
    (2, "tls", Msg(&INGRESS_TLS), true),
    (3, "rules", Msg(&INGRESS_RULE), true),
    (4, "ingressClassName", Str, false),
]);
static INGRESS: Message = Message(&[
    (1, "metadata", Msg(&OBJECT_META), false),
    (2, "spec", Msg(&INGRESS_SPEC), false),
]);

static CROSS_VERSION_OBJECT_REFERENCE: Message = Message(&[
    (1, "kind", Str, false),
    (2, "name", Str, false),
    (3, "apiVersion", Str, false),
]);
static HORIZONTAL_POD_AUTOSCALER_SPEC: Message = Message(&[
    (
        1,
        "scaleTargetRef",
        Msg(&CROSS_VERSION_OBJECT_REFERENCE),
        false,
    ),
    (2, "minReplicas", Int, false),
    (3, "maxReplicas", Int, false),
    (4, "targetCPUUtilizationPercentage", Int, false),
]);
static HORIZONTAL_POD_AUTOSCALER: Message = Message(&[
    (1, "metadata", Msg(&OBJECT_META), false),
    (2, "spec", Msg(&HORIZONTAL_POD_AUTOSCALER_SPEC), false),
]);

static RESOURCE_ATTRIBUTES: Message = Message(&[
    (1, "namespace", Str, false),
    (2, "verb", Str, false),
    (3, "group", Str, false),
    (4, "version", Str, false),
    (5, "resource", Str, false),
    (6, "subresource", Str, false),
    (7, "name", Str, false),
]);
static NON_RESOURCE_ATTRIBUTES: Message =
    Message(&[(1, "path", Str, false), (2, "verb", Str, false)]);
static SELF_SUBJECT_ACCESS_REVIEW_SPEC: Message = Message(&[
    (1, "resourceAttributes", Msg(&RESOURCE_ATTRIBUTES), false),
    (
        2,
        "nonResourceAttributes",
        Msg(&NON_RESOURCE_ATTRIBUTES),
        false,
    ),
]);
static SELF_SUBJECT_ACCESS_REVIEW: Message = Message(&[
    (1, "metadata", Msg(&OBJECT_META), false),
    (2, "spec", Msg(&SELF_SUBJECT_ACCESS_REVIEW_SPEC), false),
]);
static SUBJECT_ACCESS_REVIEW_SPEC: Message = Message(&[
    (1, "resourceAttributes", Msg(&RESOURCE_ATTRIBUTES), false),
    (
        2,
        "nonResourceAttributes",
        Msg(&NON_RESOURCE_ATTRIBUTES),
        false,
    ),
    (3, "user", Str, false),
    (4, "groups", Str, true),
    (6, "uid", Str, false),
]);
static SUBJECT_ACCESS_REVIEW: Message = Message(&[
    (1, "metadata", Msg(&OBJECT_META), false),
    (2, "spec", Msg(&SUBJECT_ACCESS_REVIEW_SPEC), false),
]);
static SELF_SUBJECT_RULES_REVIEW_SPEC: Message = Message(&[(1, "namespace", Str, false)]);
static SELF_SUBJECT_RULES_REVIEW: Message = Message(&[
    (1, "metadata", Msg(&OBJECT_META), false),
    (2, "spec", Msg(&SELF_SUBJECT_RULES_REVIEW_SPEC), false),
]);
static SELF_SUBJECT_REVIEW: Message = Message(&[(1, "metadata", Msg(&OBJECT_META), false)]);
static TOKEN_REVIEW_SPEC: Message =
    Message(&[(1, "token", Str, false), (2, "audiences", Str, true)]);
static TOKEN_REVIEW: Message = Message(&[
    (1, "metadata", Msg(&OBJECT_META), false),
    (2, "spec", Msg(&TOKEN_REVIEW_SPEC), false),
]);
static BOUND_OBJECT_REFERENCE: Message = Message(&[
    (1, "kind", Str, false),
    (2, "apiVersion", Str, false),
    (3, "name", Str, false),
    (4, "uid", Str, false),
]);
static TOKEN_REQUEST_SPEC: Message = Message(&[
    (1, "audiences", Str, true),
    (3, "boundObjectRef", Msg(&BOUND_OBJECT_REFERENCE), false),
    (4, "expirationSeconds", Int, false),
]);
static TOKEN_REQUEST: Message = Message(&[
    (1, "metadata", Msg(&OBJECT_META), false),
    (2, "spec", Msg(&TOKEN_REQUEST_SPEC), false),
]);

/// The schema of a kind, by its `apiVersion` and `kind`.
pub(super) fn schema(api_version: &str, kind: &str) -> Option<&'static Message> {
    match (api_version, kind) {
        ("v1", "Namespace") => Some(&NAMESPACE),
        ("v1", "ConfigMap") => Some(&CONFIG_MAP),
        ("v1", "Secret") => Some(&SECRET),
        ("v1", "ServiceAccount") => Some(&SERVICE_ACCOUNT),
        ("v1", "Service") => Some(&SERVICE),
        ("apps/v1", "Deployment") => Some(&DEPLOYMENT),
        ("batch/v1", "Job") => Some(&JOB),
        ("batch/v1", "CronJob") => Some(&CRON_JOB),
        ("rbac.authorization.k8s.io/v1", "Role") => Some(&ROLE),
        ("rbac.authorization.k8s.io/v1", "ClusterRole") => Some(&CLUSTER_ROLE),
        ("rbac.authorization.k8s.io/v1", "RoleBinding" | "ClusterRoleBinding") => {
            Some(&ROLE_BINDING)
        }
        ("scheduling.k8s.io/v1", "PriorityClass") => Some(&PRIORITY_CLASS),
        ("v1", "ResourceQuota") => Some(&RESOURCE_QUOTA),
        ("policy/v1", "PodDisruptionBudget") => Some(&POD_DISRUPTION_BUDGET),
        ("networking.k8s.io/v1", "Ingress") => Some(&INGRESS),
        ("autoscaling/v1", "HorizontalPodAutoscaler") => Some(&HORIZONTAL_POD_AUTOSCALER),
        ("authorization.k8s.io/v1", "SelfSubjectAccessReview") => Some(&SELF_SUBJECT_ACCESS_REVIEW),
        ("authorization.k8s.io/v1", "SubjectAccessReview" | "LocalSubjectAccessReview") => {
            Some(&SUBJECT_ACCESS_REVIEW)
        }
        ("authorization.k8s.io/v1", "SelfSubjectRulesReview") => Some(&SELF_SUBJECT_RULES_REVIEW),
        ("authentication.k8s.io/v1", "SelfSubjectReview") => Some(&SELF_SUBJECT_REVIEW),
        ("authentication.k8s.io/v1", "TokenRequest") => Some(&TOKEN_REQUEST),
        ("authentication.k8s.io/v1", "TokenReview") => Some(&TOKEN_REVIEW),
        _ => None,
    }
}
