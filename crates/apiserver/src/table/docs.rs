//! Column descriptions: which API field each printed column shows, in our own words (upstream
//! takes its descriptions from the API types' field documentation; kubectl does not display
//! them). Each constant names its field as `<package>` `<Type>.<field>`.

/// `meta/v1` `ObjectMeta.name`.
pub(super) const OBJECT_META_NAME: &str = "The `name` field of `ObjectMeta` (meta/v1).";

/// `meta/v1` `ObjectMeta.creationTimestamp`.
pub(super) const OBJECT_META_CREATION_TIMESTAMP: &str =
    "The `creationTimestamp` field of `ObjectMeta` (meta/v1).";

/// `core/v1` `PodStatus.podIP`.
pub(super) const POD_STATUS_POD_IP: &str = "The `podIP` field of `PodStatus` (core/v1).";

/// `core/v1` `PodSpec.nodeName`.
pub(super) const POD_SPEC_NODE_NAME: &str = "The `nodeName` field of `PodSpec` (core/v1).";

/// `core/v1` `PodStatus.nominatedNodeName`.
pub(super) const POD_STATUS_NOMINATED_NODE_NAME: &str =
    "The `nominatedNodeName` field of `PodStatus` (core/v1).";

/// `core/v1` `PodSpec.readinessGates`.
pub(super) const POD_SPEC_READINESS_GATES: &str =
    "The `readinessGates` field of `PodSpec` (core/v1).";

/// `core/v1` `ReplicationControllerSpec.replicas`.
pub(super) const REPLICATION_CONTROLLER_SPEC_REPLICAS: &str =
    "The `replicas` field of `ReplicationControllerSpec` (core/v1).";

/// `core/v1` `ReplicationControllerStatus.replicas`.
pub(super) const REPLICATION_CONTROLLER_STATUS_REPLICAS: &str =
    "The `replicas` field of `ReplicationControllerStatus` (core/v1).";

/// `core/v1` `ReplicationControllerStatus.readyReplicas`.
pub(super) const REPLICATION_CONTROLLER_STATUS_READY_REPLICAS: &str =
    "The `readyReplicas` field of `ReplicationControllerStatus` (core/v1).";

/// `core/v1` `ReplicationControllerSpec.selector`.
pub(super) const REPLICATION_CONTROLLER_SPEC_SELECTOR: &str =
    "The `selector` field of `ReplicationControllerSpec` (core/v1).";

/// `core/v1` `PodSpec.nodeSelector`.
pub(super) const POD_SPEC_NODE_SELECTOR: &str = "The `nodeSelector` field of `PodSpec` (core/v1).";

/// `core/v1` `ServiceSpec.type`.
pub(super) const SERVICE_SPEC_TYPE: &str = "The `type` field of `ServiceSpec` (core/v1).";

/// `core/v1` `ServiceSpec.clusterIP`.
pub(super) const SERVICE_SPEC_CLUSTER_IP: &str =
    "The `clusterIP` field of `ServiceSpec` (core/v1).";

/// `core/v1` `ServiceSpec.externalIPs`.
pub(super) const SERVICE_SPEC_EXTERNAL_IPS: &str =
    "The `externalIPs` field of `ServiceSpec` (core/v1).";

/// `core/v1` `ServiceSpec.ports`.
pub(super) const SERVICE_SPEC_PORTS: &str = "The `ports` field of `ServiceSpec` (core/v1).";

/// `core/v1` `ServiceSpec.selector`.
pub(super) const SERVICE_SPEC_SELECTOR: &str = "The `selector` field of `ServiceSpec` (core/v1).";

/// `core/v1` `Endpoints.subsets`.
pub(super) const ENDPOINTS_SUBSETS: &str = "The `subsets` field of `Endpoints` (core/v1).";

/// `core/v1` `NodeSystemInfo.kubeletVersion`.
pub(super) const NODE_SYSTEM_INFO_KUBELET_VERSION: &str =
    "The `kubeletVersion` field of `NodeSystemInfo` (core/v1).";

/// `core/v1` `NodeStatus.addresses`.
pub(super) const NODE_STATUS_ADDRESSES: &str = "The `addresses` field of `NodeStatus` (core/v1).";

/// `core/v1` `NodeSystemInfo.osImage`.
pub(super) const NODE_SYSTEM_INFO_OS_IMAGE: &str =
    "The `osImage` field of `NodeSystemInfo` (core/v1).";

/// `core/v1` `NodeSystemInfo.kernelVersion`.
pub(super) const NODE_SYSTEM_INFO_KERNEL_VERSION: &str =
    "The `kernelVersion` field of `NodeSystemInfo` (core/v1).";

/// `core/v1` `NodeSystemInfo.containerRuntimeVersion`.
pub(super) const NODE_SYSTEM_INFO_CONTAINER_RUNTIME_VERSION: &str =
    "The `containerRuntimeVersion` field of `NodeSystemInfo` (core/v1).";

/// `core/v1` `Event.lastTimestamp`.
pub(super) const EVENT_LAST_TIMESTAMP: &str = "The `lastTimestamp` field of `Event` (core/v1).";

/// `core/v1` `Event.type`.
pub(super) const EVENT_TYPE: &str = "The `type` field of `Event` (core/v1).";

/// `core/v1` `Event.reason`.
pub(super) const EVENT_REASON: &str = "The `reason` field of `Event` (core/v1).";

/// `core/v1` `Event.involvedObject`.
pub(super) const EVENT_INVOLVED_OBJECT: &str = "The `involvedObject` field of `Event` (core/v1).";

/// `core/v1` `ObjectReference.fieldPath`.
pub(super) const OBJECT_REFERENCE_FIELD_PATH: &str =
    "The `fieldPath` field of `ObjectReference` (core/v1).";

/// `core/v1` `Event.source`.
pub(super) const EVENT_SOURCE: &str = "The `source` field of `Event` (core/v1).";

/// `core/v1` `Event.message`.
pub(super) const EVENT_MESSAGE: &str = "The `message` field of `Event` (core/v1).";

/// `core/v1` `Event.firstTimestamp`.
pub(super) const EVENT_FIRST_TIMESTAMP: &str = "The `firstTimestamp` field of `Event` (core/v1).";

/// `core/v1` `Event.count`.
pub(super) const EVENT_COUNT: &str = "The `count` field of `Event` (core/v1).";

/// `core/v1` `Secret.type`.
pub(super) const SECRET_TYPE: &str = "The `type` field of `Secret` (core/v1).";

/// `core/v1` `Secret.data`.
pub(super) const SECRET_DATA: &str = "The `data` field of `Secret` (core/v1).";

/// `core/v1` `ServiceAccount.secrets`.
pub(super) const SERVICE_ACCOUNT_SECRETS: &str =
    "The `secrets` field of `ServiceAccount` (core/v1).";

/// `core/v1` `PersistentVolumeSpec.capacity`.
pub(super) const PERSISTENT_VOLUME_SPEC_CAPACITY: &str =
    "The `capacity` field of `PersistentVolumeSpec` (core/v1).";

/// `core/v1` `PersistentVolumeSpec.accessModes`.
pub(super) const PERSISTENT_VOLUME_SPEC_ACCESS_MODES: &str =
    "The `accessModes` field of `PersistentVolumeSpec` (core/v1).";

/// `core/v1` `PersistentVolumeSpec.persistentVolumeReclaimPolicy`.
pub(super) const PERSISTENT_VOLUME_SPEC_PERSISTENT_VOLUME_RECLAIM_POLICY: &str =
    "The `persistentVolumeReclaimPolicy` field of `PersistentVolumeSpec` (core/v1).";

/// `core/v1` `PersistentVolumeStatus.phase`.
pub(super) const PERSISTENT_VOLUME_STATUS_PHASE: &str =
    "The `phase` field of `PersistentVolumeStatus` (core/v1).";

/// `core/v1` `PersistentVolumeSpec.claimRef`.
pub(super) const PERSISTENT_VOLUME_SPEC_CLAIM_REF: &str =
    "The `claimRef` field of `PersistentVolumeSpec` (core/v1).";

/// `core/v1` `PersistentVolumeStatus.reason`.
pub(super) const PERSISTENT_VOLUME_STATUS_REASON: &str =
    "The `reason` field of `PersistentVolumeStatus` (core/v1).";

/// `core/v1` `PersistentVolumeSpec.volumeMode`.
pub(super) const PERSISTENT_VOLUME_SPEC_VOLUME_MODE: &str =
    "The `volumeMode` field of `PersistentVolumeSpec` (core/v1).";

/// `core/v1` `PersistentVolumeClaimStatus.phase`.
pub(super) const PERSISTENT_VOLUME_CLAIM_STATUS_PHASE: &str =
    "The `phase` field of `PersistentVolumeClaimStatus` (core/v1).";

/// `core/v1` `PersistentVolumeClaimSpec.volumeName`.
pub(super) const PERSISTENT_VOLUME_CLAIM_SPEC_VOLUME_NAME: &str =
    "The `volumeName` field of `PersistentVolumeClaimSpec` (core/v1).";

/// `core/v1` `PersistentVolumeClaimStatus.capacity`.
pub(super) const PERSISTENT_VOLUME_CLAIM_STATUS_CAPACITY: &str =
    "The `capacity` field of `PersistentVolumeClaimStatus` (core/v1).";

/// `core/v1` `PersistentVolumeClaimStatus.accessModes`.
pub(super) const PERSISTENT_VOLUME_CLAIM_STATUS_ACCESS_MODES: &str =
    "The `accessModes` field of `PersistentVolumeClaimStatus` (core/v1).";

/// `core/v1` `PersistentVolumeClaimSpec.volumeMode`.
pub(super) const PERSISTENT_VOLUME_CLAIM_SPEC_VOLUME_MODE: &str =
    "The `volumeMode` field of `PersistentVolumeClaimSpec` (core/v1).";

/// `core/v1` `ConfigMap.data`.
pub(super) const CONFIG_MAP_DATA: &str = "The `data` field of `ConfigMap` (core/v1).";

/// `extensions/v1beta1` `ReplicaSetSpec.replicas`.
pub(super) const REPLICA_SET_SPEC_REPLICAS: &str =
    "The `replicas` field of `ReplicaSetSpec` (extensions/v1beta1).";

/// `extensions/v1beta1` `ReplicaSetStatus.replicas`.
pub(super) const REPLICA_SET_STATUS_REPLICAS: &str =
    "The `replicas` field of `ReplicaSetStatus` (extensions/v1beta1).";

/// `extensions/v1beta1` `ReplicaSetStatus.readyReplicas`.
pub(super) const REPLICA_SET_STATUS_READY_REPLICAS: &str =
    "The `readyReplicas` field of `ReplicaSetStatus` (extensions/v1beta1).";

/// `extensions/v1beta1` `ReplicaSetSpec.selector`.
pub(super) const REPLICA_SET_SPEC_SELECTOR: &str =
    "The `selector` field of `ReplicaSetSpec` (extensions/v1beta1).";

/// `extensions/v1beta1` `DaemonSetStatus.desiredNumberScheduled`.
pub(super) const DAEMON_SET_STATUS_DESIRED_NUMBER_SCHEDULED: &str =
    "The `desiredNumberScheduled` field of `DaemonSetStatus` (extensions/v1beta1).";

/// `extensions/v1beta1` `DaemonSetStatus.currentNumberScheduled`.
pub(super) const DAEMON_SET_STATUS_CURRENT_NUMBER_SCHEDULED: &str =
    "The `currentNumberScheduled` field of `DaemonSetStatus` (extensions/v1beta1).";

/// `extensions/v1beta1` `DaemonSetStatus.numberReady`.
pub(super) const DAEMON_SET_STATUS_NUMBER_READY: &str =
    "The `numberReady` field of `DaemonSetStatus` (extensions/v1beta1).";

/// `extensions/v1beta1` `DaemonSetStatus.updatedNumberScheduled`.
pub(super) const DAEMON_SET_STATUS_UPDATED_NUMBER_SCHEDULED: &str =
    "The `updatedNumberScheduled` field of `DaemonSetStatus` (extensions/v1beta1).";

/// `extensions/v1beta1` `DaemonSetStatus.numberAvailable`.
pub(super) const DAEMON_SET_STATUS_NUMBER_AVAILABLE: &str =
    "The `numberAvailable` field of `DaemonSetStatus` (extensions/v1beta1).";

/// `extensions/v1beta1` `DaemonSetSpec.selector`.
pub(super) const DAEMON_SET_SPEC_SELECTOR: &str =
    "The `selector` field of `DaemonSetSpec` (extensions/v1beta1).";

/// `extensions/v1beta1` `DeploymentStatus.updatedReplicas`.
pub(super) const DEPLOYMENT_STATUS_UPDATED_REPLICAS: &str =
    "The `updatedReplicas` field of `DeploymentStatus` (extensions/v1beta1).";

/// `extensions/v1beta1` `DeploymentStatus.availableReplicas`.
pub(super) const DEPLOYMENT_STATUS_AVAILABLE_REPLICAS: &str =
    "The `availableReplicas` field of `DeploymentStatus` (extensions/v1beta1).";

/// `extensions/v1beta1` `DeploymentSpec.selector`.
pub(super) const DEPLOYMENT_SPEC_SELECTOR: &str =
    "The `selector` field of `DeploymentSpec` (extensions/v1beta1).";

/// `extensions/v1beta1` `NetworkPolicySpec.podSelector`.
pub(super) const NETWORK_POLICY_SPEC_POD_SELECTOR: &str =
    "The `podSelector` field of `NetworkPolicySpec` (extensions/v1beta1).";

/// `batch/v1` `JobStatus.succeeded`.
pub(super) const JOB_STATUS_SUCCEEDED: &str = "The `succeeded` field of `JobStatus` (batch/v1).";

/// `batch/v1` `JobSpec.selector`.
pub(super) const JOB_SPEC_SELECTOR: &str = "The `selector` field of `JobSpec` (batch/v1).";

/// `batch/v1beta1` `CronJobSpec.schedule`.
pub(super) const CRON_JOB_SPEC_SCHEDULE: &str =
    "The `schedule` field of `CronJobSpec` (batch/v1beta1).";

/// `batch/v1beta1` `CronJobSpec.timeZone`.
pub(super) const CRON_JOB_SPEC_TIME_ZONE: &str =
    "The `timeZone` field of `CronJobSpec` (batch/v1beta1).";

/// `batch/v1beta1` `CronJobSpec.suspend`.
pub(super) const CRON_JOB_SPEC_SUSPEND: &str =
    "The `suspend` field of `CronJobSpec` (batch/v1beta1).";

/// `batch/v1beta1` `CronJobStatus.active`.
pub(super) const CRON_JOB_STATUS_ACTIVE: &str =
    "The `active` field of `CronJobStatus` (batch/v1beta1).";

/// `batch/v1beta1` `CronJobStatus.lastScheduleTime`.
pub(super) const CRON_JOB_STATUS_LAST_SCHEDULE_TIME: &str =
    "The `lastScheduleTime` field of `CronJobStatus` (batch/v1beta1).";

/// `autoscaling/v2beta1` `HorizontalPodAutoscalerSpec.scaleTargetRef`.
pub(super) const HORIZONTAL_POD_AUTOSCALER_SPEC_SCALE_TARGET_REF: &str =
    "The `scaleTargetRef` field of `HorizontalPodAutoscalerSpec` (autoscaling/v2beta1).";

/// `autoscaling/v2beta1` `HorizontalPodAutoscalerSpec.metrics`.
pub(super) const HORIZONTAL_POD_AUTOSCALER_SPEC_METRICS: &str =
    "The `metrics` field of `HorizontalPodAutoscalerSpec` (autoscaling/v2beta1).";

/// `autoscaling/v2beta1` `HorizontalPodAutoscalerSpec.minReplicas`.
pub(super) const HORIZONTAL_POD_AUTOSCALER_SPEC_MIN_REPLICAS: &str =
    "The `minReplicas` field of `HorizontalPodAutoscalerSpec` (autoscaling/v2beta1).";

/// `autoscaling/v2beta1` `HorizontalPodAutoscalerSpec.maxReplicas`.
pub(super) const HORIZONTAL_POD_AUTOSCALER_SPEC_MAX_REPLICAS: &str =
    "The `maxReplicas` field of `HorizontalPodAutoscalerSpec` (autoscaling/v2beta1).";

/// `autoscaling/v2beta1` `HorizontalPodAutoscalerStatus.currentReplicas`.
pub(super) const HORIZONTAL_POD_AUTOSCALER_STATUS_CURRENT_REPLICAS: &str =
    "The `currentReplicas` field of `HorizontalPodAutoscalerStatus` (autoscaling/v2beta1).";

/// `rbac/v1beta1` `RoleBinding.roleRef`.
pub(super) const ROLE_BINDING_ROLE_REF: &str =
    "The `roleRef` field of `RoleBinding` (rbac/v1beta1).";

/// `rbac/v1beta1` `ClusterRoleBinding.roleRef`.
pub(super) const CLUSTER_ROLE_BINDING_ROLE_REF: &str =
    "The `roleRef` field of `ClusterRoleBinding` (rbac/v1beta1).";

/// `certificates/v1beta1` `CertificateSigningRequestSpec.signerName`.
pub(super) const CERTIFICATE_SIGNING_REQUEST_SPEC_SIGNER_NAME: &str =
    "The `signerName` field of `CertificateSigningRequestSpec` (certificates/v1beta1).";

/// `certificates/v1beta1` `CertificateSigningRequestSpec.request`.
pub(super) const CERTIFICATE_SIGNING_REQUEST_SPEC_REQUEST: &str =
    "The `request` field of `CertificateSigningRequestSpec` (certificates/v1beta1).";

/// `certificates/v1beta1` `CertificateSigningRequestSpec.expirationSeconds`.
pub(super) const CERTIFICATE_SIGNING_REQUEST_SPEC_EXPIRATION_SECONDS: &str =
    "The `expirationSeconds` field of `CertificateSigningRequestSpec` (certificates/v1beta1).";

/// `certificates/v1beta1` `CertificateSigningRequestStatus.conditions`.
pub(super) const CERTIFICATE_SIGNING_REQUEST_STATUS_CONDITIONS: &str =
    "The `conditions` field of `CertificateSigningRequestStatus` (certificates/v1beta1).";

/// `coordination/v1` `LeaseSpec.holderIdentity`.
pub(super) const LEASE_SPEC_HOLDER_IDENTITY: &str =
    "The `holderIdentity` field of `LeaseSpec` (coordination/v1).";

/// `storage/v1` `StorageClass.provisioner`.
pub(super) const STORAGE_CLASS_PROVISIONER: &str =
    "The `provisioner` field of `StorageClass` (storage/v1).";

/// `storage/v1` `StorageClass.reclaimPolicy`.
pub(super) const STORAGE_CLASS_RECLAIM_POLICY: &str =
    "The `reclaimPolicy` field of `StorageClass` (storage/v1).";

/// `storage/v1` `StorageClass.volumeBindingMode`.
pub(super) const STORAGE_CLASS_VOLUME_BINDING_MODE: &str =
    "The `volumeBindingMode` field of `StorageClass` (storage/v1).";

/// `storage/v1` `StorageClass.allowVolumeExpansion`.
pub(super) const STORAGE_CLASS_ALLOW_VOLUME_EXPANSION: &str =
    "The `allowVolumeExpansion` field of `StorageClass` (storage/v1).";

/// `apps/v1beta1` `ControllerRevision.revision`.
pub(super) const CONTROLLER_REVISION_REVISION: &str =
    "The `revision` field of `ControllerRevision` (apps/v1beta1).";

/// `scheduling/v1` `PriorityClass.value`.
pub(super) const PRIORITY_CLASS_VALUE: &str =
    "The `value` field of `PriorityClass` (scheduling/v1).";

/// `scheduling/v1` `PriorityClass.globalDefault`.
pub(super) const PRIORITY_CLASS_GLOBAL_DEFAULT: &str =
    "The `globalDefault` field of `PriorityClass` (scheduling/v1).";

/// `scheduling/v1` `PriorityClass.preemptionPolicy`.
pub(super) const PRIORITY_CLASS_PREEMPTION_POLICY: &str =
    "The `preemptionPolicy` field of `PriorityClass` (scheduling/v1).";

/// `storage/v1` `VolumeAttachmentSpec.attacher`.
pub(super) const VOLUME_ATTACHMENT_SPEC_ATTACHER: &str =
    "The `attacher` field of `VolumeAttachmentSpec` (storage/v1).";

/// `storage/v1` `VolumeAttachmentSource.persistentVolumeName`.
pub(super) const VOLUME_ATTACHMENT_SOURCE_PERSISTENT_VOLUME_NAME: &str =
    "The `persistentVolumeName` field of `VolumeAttachmentSource` (storage/v1).";

/// `storage/v1` `VolumeAttachmentSpec.nodeName`.
pub(super) const VOLUME_ATTACHMENT_SPEC_NODE_NAME: &str =
    "The `nodeName` field of `VolumeAttachmentSpec` (storage/v1).";

/// `storage/v1` `VolumeAttachmentStatus.attached`.
pub(super) const VOLUME_ATTACHMENT_STATUS_ATTACHED: &str =
    "The `attached` field of `VolumeAttachmentStatus` (storage/v1).";

/// `discovery/v1beta1` `EndpointSlice.addressType`.
pub(super) const ENDPOINT_SLICE_ADDRESS_TYPE: &str =
    "The `addressType` field of `EndpointSlice` (discovery/v1beta1).";

/// `discovery/v1beta1` `EndpointSlice.ports`.
pub(super) const ENDPOINT_SLICE_PORTS: &str =
    "The `ports` field of `EndpointSlice` (discovery/v1beta1).";

/// `discovery/v1beta1` `EndpointSlice.endpoints`.
pub(super) const ENDPOINT_SLICE_ENDPOINTS: &str =
    "The `endpoints` field of `EndpointSlice` (discovery/v1beta1).";

/// `storage/v1` `CSIDriverSpec.attachRequired`.
pub(super) const CSI_DRIVER_SPEC_ATTACH_REQUIRED: &str =
    "The `attachRequired` field of `CSIDriverSpec` (storage/v1).";

/// `storage/v1` `CSIDriverSpec.podInfoOnMount`.
pub(super) const CSI_DRIVER_SPEC_POD_INFO_ON_MOUNT: &str =
    "The `podInfoOnMount` field of `CSIDriverSpec` (storage/v1).";

/// `storage/v1` `CSIDriverSpec.storageCapacity`.
pub(super) const CSI_DRIVER_SPEC_STORAGE_CAPACITY: &str =
    "The `storageCapacity` field of `CSIDriverSpec` (storage/v1).";

/// `storage/v1` `CSIDriverSpec.tokenRequests`.
pub(super) const CSI_DRIVER_SPEC_TOKEN_REQUESTS: &str =
    "The `tokenRequests` field of `CSIDriverSpec` (storage/v1).";

/// `storage/v1` `CSIDriverSpec.requiresRepublish`.
pub(super) const CSI_DRIVER_SPEC_REQUIRES_REPUBLISH: &str =
    "The `requiresRepublish` field of `CSIDriverSpec` (storage/v1).";

/// `storage/v1` `CSIDriverSpec.volumeLifecycleModes`.
pub(super) const CSI_DRIVER_SPEC_VOLUME_LIFECYCLE_MODES: &str =
    "The `volumeLifecycleModes` field of `CSIDriverSpec` (storage/v1).";

/// `storage/v1` `CSIStorageCapacity.storageClassName`.
pub(super) const CSI_STORAGE_CAPACITY_STORAGE_CLASS_NAME: &str =
    "The `storageClassName` field of `CSIStorageCapacity` (storage/v1).";

/// `storage/v1` `CSIStorageCapacity.capacity`.
pub(super) const CSI_STORAGE_CAPACITY_CAPACITY: &str =
    "The `capacity` field of `CSIStorageCapacity` (storage/v1).";

/// `networking/v1beta1` `ServiceCIDRSpec.cidrs`.
pub(super) const SERVICE_CIDR_SPEC_CIDRS: &str =
    "The `cidrs` field of `ServiceCIDRSpec` (networking/v1beta1).";

/// `networking/v1beta1` `IPAddressSpec.parentRef`.
pub(super) const IP_ADDRESS_SPEC_PARENT_REF: &str =
    "The `parentRef` field of `IPAddressSpec` (networking/v1beta1).";
