//! Volumes and their drivers: persistent volumes and claims, storage classes, and the
//! `storage.k8s.io` CSI drivers, CSI nodes, CSI storage capacities and volume attachments.

use super::format::{flag, is_set, items, len, or, text};
use super::{AGE, Column, NAME, Printer, docs, format, quantity};
use serde_json::{Value, json};

/// The storage class annotation that, where present, wins over `storageClassName`.
const BETA_STORAGE_CLASS: &str = "/metadata/annotations/volume.beta.kubernetes.io~1storage-class";

/// Access modes by their short names, in upstream's fixed order and without repeats
/// (upstream's `GetAccessModesAsString`).
fn access_modes(object: &Value, pointer: &str) -> String {
    let modes = items(object, pointer);
    let has = |mode: &str| modes.iter().any(|m| m == mode);
    [
        ("ReadWriteOnce", "RWO"),
        ("ReadOnlyMany", "ROX"),
        ("ReadWriteMany", "RWX"),
        ("ReadWriteOncePod", "RWOP"),
    ]
    .iter()
    .filter(|(mode, _)| has(mode))
    .map(|(_, short)| *short)
    .collect::<Vec<_>>()
    .join(",")
}

/// The class of a volume or claim: the beta annotation if present, else `storageClassName`.
fn storage_class(object: &Value) -> &str {
    object
        .pointer(BETA_STORAGE_CLASS)
        .and_then(Value::as_str)
        .unwrap_or_else(|| text(object, "/spec/storageClassName"))
}

/// The phase, or `Terminating` while the object is being deleted.
fn phase(object: &Value) -> &str {
    if is_set(object, "/metadata/deletionTimestamp") {
        "Terminating"
    } else {
        text(object, "/status/phase")
    }
}

/// An optional string field, `<unset>` when missing.
fn unset(object: &Value, pointer: &str) -> String {
    object
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or("<unset>")
        .to_owned()
}

pub(super) const PERSISTENT_VOLUMES: Printer = Printer {
    columns: &[
        NAME,
        Column::new("Capacity", "string", docs::PERSISTENT_VOLUME_SPEC_CAPACITY),
        Column::new(
            "Access Modes",
            "string",
            docs::PERSISTENT_VOLUME_SPEC_ACCESS_MODES,
        ),
        Column::new(
            "Reclaim Policy",
            "string",
            docs::PERSISTENT_VOLUME_SPEC_PERSISTENT_VOLUME_RECLAIM_POLICY,
        ),
        Column::new("Status", "string", docs::PERSISTENT_VOLUME_STATUS_PHASE),
        Column::new("Claim", "string", docs::PERSISTENT_VOLUME_SPEC_CLAIM_REF),
        Column::new(
            "StorageClass",
            "string",
            "The storageclass column, computed as upstream's printer does.",
        ),
        Column::new(
            "VolumeAttributesClass",
            "string",
            "The volumeattributesclass column, computed as upstream's printer does.",
        ),
        Column::new("Reason", "string", docs::PERSISTENT_VOLUME_STATUS_REASON),
        AGE,
        Column::new(
            "VolumeMode",
            "string",
            docs::PERSISTENT_VOLUME_SPEC_VOLUME_MODE,
        )
        .wide(),
    ],
    cells: |volume| {
        let claim = if is_set(volume, "/spec/claimRef") {
            format!(
                "{}/{}",
                text(volume, "/spec/claimRef/namespace"),
                text(volume, "/spec/claimRef/name")
            )
        } else {
            String::new()
        };
        vec![
            format::name(volume),
            json!(quantity::show(volume.pointer("/spec/capacity/storage"))),
            json!(access_modes(volume, "/spec/accessModes")),
            json!(text(volume, "/spec/persistentVolumeReclaimPolicy")),
            json!(phase(volume)),
            json!(claim),
            json!(storage_class(volume)),
            json!(unset(volume, "/spec/volumeAttributesClassName")),
            json!(text(volume, "/status/reason")),
            format::age(volume),
            json!(unset(volume, "/spec/volumeMode")),
        ]
    },
};

pub(super) const PERSISTENT_VOLUME_CLAIMS: Printer = Printer {
    columns: &[
        NAME,
        Column::new(
            "Status",
            "string",
            docs::PERSISTENT_VOLUME_CLAIM_STATUS_PHASE,
        ),
        Column::new(
            "Volume",
            "string",
            docs::PERSISTENT_VOLUME_CLAIM_SPEC_VOLUME_NAME,
        ),
        Column::new(
            "Capacity",
            "string",
            docs::PERSISTENT_VOLUME_CLAIM_STATUS_CAPACITY,
        ),
        Column::new(
            "Access Modes",
            "string",
            docs::PERSISTENT_VOLUME_CLAIM_STATUS_ACCESS_MODES,
        ),
        Column::new(
            "StorageClass",
            "string",
            "The storageclass column, computed as upstream's printer does.",
        ),
        Column::new(
            "VolumeAttributesClass",
            "string",
            "The volumeattributesclass column, computed as upstream's printer does.",
        ),
        AGE,
        Column::new(
            "VolumeMode",
            "string",
            docs::PERSISTENT_VOLUME_CLAIM_SPEC_VOLUME_MODE,
        )
        .wide(),
    ],
    cells: |claim| {
        let volume = text(claim, "/spec/volumeName");
        // Capacity and access modes are the bound volume's, so only shown once bound.
        let (capacity, modes) = if volume.is_empty() {
            (String::new(), String::new())
        } else {
            (
                quantity::show(claim.pointer("/status/capacity/storage")),
                access_modes(claim, "/status/accessModes"),
            )
        };
        vec![
            format::name(claim),
            json!(phase(claim)),
            json!(volume),
            json!(capacity),
            json!(modes),
            json!(storage_class(claim)),
            json!(unset(claim, "/spec/volumeAttributesClassName")),
            format::age(claim),
            json!(unset(claim, "/spec/volumeMode")),
        ]
    },
};

pub(super) const STORAGE_CLASSES: Printer = Printer {
    columns: &[
        NAME,
        Column::new("Provisioner", "string", docs::STORAGE_CLASS_PROVISIONER),
        Column::new(
            "ReclaimPolicy",
            "string",
            docs::STORAGE_CLASS_RECLAIM_POLICY,
        ),
        Column::new(
            "VolumeBindingMode",
            "string",
            docs::STORAGE_CLASS_VOLUME_BINDING_MODE,
        ),
        Column::new(
            "AllowVolumeExpansion",
            "string",
            docs::STORAGE_CLASS_ALLOW_VOLUME_EXPANSION,
        ),
        AGE,
    ],
    cells: |class| {
        let default = crate::storage::is_default_class(class);
        let name = text(class, "/metadata/name");
        let shown = if default {
            format!("{name} (default)")
        } else {
            name.to_owned()
        };
        vec![
            json!(shown),
            json!(text(class, "/provisioner")),
            json!(or(text(class, "/reclaimPolicy"), "Delete")),
            json!(or(text(class, "/volumeBindingMode"), "Immediate")),
            json!(flag(class, "/allowVolumeExpansion").unwrap_or(false)),
            format::age(class),
        ]
    },
};

pub(super) const CSI_DRIVERS: Printer = Printer {
    columns: &[
        NAME,
        Column::new(
            "AttachRequired",
            "boolean",
            docs::CSI_DRIVER_SPEC_ATTACH_REQUIRED,
        ),
        Column::new(
            "PodInfoOnMount",
            "boolean",
            docs::CSI_DRIVER_SPEC_POD_INFO_ON_MOUNT,
        ),
        Column::new(
            "StorageCapacity",
            "boolean",
            docs::CSI_DRIVER_SPEC_STORAGE_CAPACITY,
        ),
        Column::new(
            "TokenRequests",
            "string",
            docs::CSI_DRIVER_SPEC_TOKEN_REQUESTS,
        ),
        Column::new(
            "RequiresRepublish",
            "boolean",
            docs::CSI_DRIVER_SPEC_REQUIRES_REPUBLISH,
        ),
        Column::new(
            "Modes",
            "string",
            docs::CSI_DRIVER_SPEC_VOLUME_LIFECYCLE_MODES,
        ),
        AGE,
    ],
    cells: |driver| {
        let modes: Vec<&str> = items(driver, "/spec/volumeLifecycleModes")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        let token_requests = if is_set(driver, "/spec/tokenRequests") {
            items(driver, "/spec/tokenRequests")
                .iter()
                .map(|t| t["audience"].as_str().unwrap_or(""))
                .collect::<Vec<_>>()
                .join(",")
        } else {
            "<unset>".to_owned()
        };
        vec![
            format::name(driver),
            json!(flag(driver, "/spec/attachRequired").unwrap_or(true)),
            json!(flag(driver, "/spec/podInfoOnMount").unwrap_or(false)),
            json!(flag(driver, "/spec/storageCapacity").unwrap_or(false)),
            json!(token_requests),
            json!(flag(driver, "/spec/requiresRepublish").unwrap_or(false)),
            json!(or(&modes.join(","), "<none>")),
            format::age(driver),
        ]
    },
};

pub(super) const CSI_NODES: Printer = Printer {
    columns: &[
        NAME,
        Column::new(
            "Drivers",
            "integer",
            "The drivers column, computed as upstream's printer does.",
        ),
        AGE,
    ],
    cells: |node| {
        vec![
            format::name(node),
            json!(len(node, "/spec/drivers")),
            format::age(node),
        ]
    },
};

pub(super) const CSI_STORAGE_CAPACITIES: Printer = Printer {
    columns: &[
        NAME,
        Column::new(
            "StorageClassName",
            "string",
            docs::CSI_STORAGE_CAPACITY_STORAGE_CLASS_NAME,
        ),
        Column::new("Capacity", "string", docs::CSI_STORAGE_CAPACITY_CAPACITY),
    ],
    cells: |capacity| {
        let amount = if is_set(capacity, "/capacity") {
            quantity::show(capacity.pointer("/capacity"))
        } else {
            "<unset>".to_owned()
        };
        vec![
            format::name(capacity),
            json!(text(capacity, "/storageClassName")),
            json!(amount),
        ]
    },
};

pub(super) const VOLUME_ATTACHMENTS: Printer = Printer {
    columns: &[
        NAME,
        Column::new("Attacher", "string", docs::VOLUME_ATTACHMENT_SPEC_ATTACHER).formatted("name"),
        Column::new(
            "PV",
            "string",
            docs::VOLUME_ATTACHMENT_SOURCE_PERSISTENT_VOLUME_NAME,
        ),
        Column::new("Node", "string", docs::VOLUME_ATTACHMENT_SPEC_NODE_NAME),
        Column::new(
            "Attached",
            "boolean",
            docs::VOLUME_ATTACHMENT_STATUS_ATTACHED,
        ),
        AGE,
    ],
    cells: |attachment| {
        vec![
            format::name(attachment),
            json!(text(attachment, "/spec/attacher")),
            json!(text(attachment, "/spec/source/persistentVolumeName")),
            json!(text(attachment, "/spec/nodeName")),
            json!(flag(attachment, "/status/attached").unwrap_or(false)),
            format::age(attachment),
        ]
    },
};
