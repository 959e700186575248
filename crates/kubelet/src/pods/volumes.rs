//! Pod volumes on the node: each volume becomes a host directory under
//! `<pods_root>/<uid>/volumes/<plugin>/<name>` (or, for hostPath, the host path itself), and
//! each `volumeMount` a CRI bind mount of it (or of its `subPath`).
//!
//! ConfigMap, Secret and downward-API contents are written when the pod's sandbox is set up;
//! a required source that is missing fails the set-up with upstream's `FailedMount` wording and
//! is retried.

use crate::pods::PodContext;
use crate::pods::env::{config_map_entries, field_value, secret_entries};
use k8s_cri::v1 as cri;
use k8s_openapi::api::core::v1::{
    ConfigMap, Container, DownwardAPIVolumeFile, KeyToPath, PersistentVolume,
    PersistentVolumeClaim, Pod, Secret, Volume,
};
use kube::api::Api;
use std::collections::{BTreeMap, HashMap};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Volume name → host path.
pub type Prepared = HashMap<String, PathBuf>;

/// Why a volume could not be set up: (volume name, message).
pub type Failure = (String, String);

/// The pod's own directory.
pub fn pod_dir(ctx: &PodContext, uid: &str) -> PathBuf {
    ctx.pods_root.join(uid)
}

fn volume_dir(ctx: &PodContext, uid: &str, plugin: &str, name: &str) -> PathBuf {
    pod_dir(ctx, uid).join("volumes").join(plugin).join(name)
}

/// Sets up every volume of `pod` and returns where each is on the host.
pub async fn setup(ctx: &PodContext, pod: &Pod, pod_ip: &str) -> Result<Prepared, Failure> {
    let uid = pod.metadata.uid.clone().unwrap_or_default();
    let namespace = pod.metadata.namespace.clone().unwrap_or_default();
    let mut prepared = Prepared::new();
    for volume in pod.spec.iter().flat_map(|s| s.volumes.iter().flatten()) {
        let fail = |message: String| (volume.name.clone(), message);
        let path = setup_one(ctx, pod, volume, &uid, &namespace, pod_ip)
            .await
            .map_err(fail)?;
        prepared.insert(volume.name.clone(), path);
    }
    Ok(prepared)
}

async fn setup_one(
    ctx: &PodContext,
    pod: &Pod,
    volume: &Volume,
    uid: &str,
    namespace: &str,
    pod_ip: &str,
) -> Result<PathBuf, String> {
    let io = |e: std::io::Error| e.to_string();
    if let Some(empty) = &volume.empty_dir {
        let dir = volume_dir(ctx, uid, "kubernetes.io~empty-dir", &volume.name);
        std::fs::create_dir_all(&dir).map_err(io)?;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).map_err(io)?;
        if empty.medium.as_deref() == Some("Memory") && !is_mount_point(&dir) {
            let mut command = tokio::process::Command::new("mount");
            command.args(["-t", "tmpfs"]);
            if let Some(limit) = &empty.size_limit {
                let bytes = gantry_api::quantity::parse(&limit.0)? as u64;
                command.args(["-o", &format!("size={bytes}")]);
            }
            let status = command.arg("tmpfs").arg(&dir).status().await.map_err(io)?;
            if !status.success() {
                return Err(format!("mounting a tmpfs on {} failed", dir.display()));
            }
        }
        return Ok(dir);
    }
    if let Some(host) = &volume.host_path {
        return host_path(&host.path, host.type_.as_deref().unwrap_or(""));
    }
    if let Some(source) = &volume.persistent_volume_claim {
        return claimed_path(ctx, namespace, &source.claim_name).await;
    }
    let (plugin, files, mode) = if let Some(source) = &volume.config_map {
        let map = Api::<ConfigMap>::namespaced(ctx.client.clone(), namespace)
            .get_opt(&source.name)
            .await
            .map_err(|e| e.to_string())?;
        let entries = match map {
            Some(map) => config_map_entries(&map),
            None if source.optional == Some(true) => BTreeMap::new(),
            None => return Err(format!("configmap \"{}\" not found", source.name)),
        };
        (
            "kubernetes.io~configmap",
            select(&entries, source.items.as_deref(), source.optional)?,
            source.default_mode,
        )
    } else if let Some(source) = &volume.secret {
        let name = source.secret_name.clone().unwrap_or_default();
        let secret = Api::<Secret>::namespaced(ctx.client.clone(), namespace)
            .get_opt(&name)
            .await
            .map_err(|e| e.to_string())?;
        let entries = match secret {
            Some(secret) => secret_entries(&secret),
            None if source.optional == Some(true) => BTreeMap::new(),
            None => return Err(format!("secret \"{name}\" not found")),
        };
        (
            "kubernetes.io~secret",
            select(&entries, source.items.as_deref(), source.optional)?,
            source.default_mode,
        )
    } else if let Some(source) = &volume.downward_api {
        let files = downward(
            pod,
            source.items.as_deref().unwrap_or_default(),
            pod_ip,
            &ctx.host_ip,
        )?;
        ("kubernetes.io~downward-api", files, source.default_mode)
    } else if let Some(source) = &volume.projected {
        let mut files = Vec::new();
        for projection in source.sources.iter().flatten() {
            if let Some(s) = &projection.config_map {
                let map = Api::<ConfigMap>::namespaced(ctx.client.clone(), namespace)
                    .get_opt(&s.name)
                    .await
                    .map_err(|e| e.to_string())?;
                match map {
                    Some(map) => files.extend(select(
                        &config_map_entries(&map),
                        s.items.as_deref(),
                        s.optional,
                    )?),
                    None if s.optional == Some(true) => {}
                    None => return Err(format!("configmap \"{}\" not found", s.name)),
                }
            }
            if let Some(s) = &projection.secret {
                let secret = Api::<Secret>::namespaced(ctx.client.clone(), namespace)
                    .get_opt(&s.name)
                    .await
                    .map_err(|e| e.to_string())?;
                match secret {
                    Some(secret) => files.extend(select(
                        &secret_entries(&secret),
                        s.items.as_deref(),
                        s.optional,
                    )?),
                    None if s.optional == Some(true) => {}
                    None => return Err(format!("secret \"{}\" not found", s.name)),
                }
            }
            if let Some(s) = &projection.service_account_token {
                let token = crate::pods::token::pod_token(ctx, pod, s).await?;
                files.push((s.path.clone(), token, None));
            }
            if let Some(s) = &projection.downward_api {
                files.extend(downward(
                    pod,
                    s.items.as_deref().unwrap_or_default(),
                    pod_ip,
                    &ctx.host_ip,
                )?);
            }
        }
        ("kubernetes.io~projected", files, source.default_mode)
    } else {
        // Volume kinds that need a storage driver (CSI, cloud disks, ...) are not supported
        // yet: the mount point is an empty directory.
        let dir = volume_dir(ctx, uid, "kubernetes.io~unsupported", &volume.name);
        std::fs::create_dir_all(&dir).map_err(io)?;
        return Ok(dir);
    };
    let dir = volume_dir(ctx, uid, plugin, &volume.name);
    write_files(&dir, &files, mode.unwrap_or(0o644)).map_err(io)?;
    Ok(dir)
}

/// A host path checked (or created) as its `type` says.
fn host_path(path_text: &str, kind: &str) -> Result<PathBuf, String> {
    let io = |e: std::io::Error| e.to_string();
    let path = PathBuf::from(path_text);
    match kind {
        "DirectoryOrCreate" => std::fs::create_dir_all(&path).map_err(io)?,
        "FileOrCreate" if !path.exists() => {
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(io)?;
            }
            std::fs::write(&path, b"").map_err(io)?;
        }
        "Directory" if !path.is_dir() => {
            return Err(format!(
                "hostPath type check failed: {} is not a directory",
                path_text
            ));
        }
        "File" if !path.is_file() => {
            return Err(format!(
                "hostPath type check failed: {} is not a file",
                path_text
            ));
        }
        _ => {}
    }
    Ok(path)
}

/// Where a claim's volume is on this node: the claim must be bound, and its volume one that
/// lives on the node's file system (hostPath, as the local-path provisioner makes, or local).
async fn claimed_path(ctx: &PodContext, namespace: &str, claim: &str) -> Result<PathBuf, String> {
    let found = Api::<PersistentVolumeClaim>::namespaced(ctx.client.clone(), namespace)
        .get_opt(claim)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("persistentvolumeclaim \"{claim}\" not found"))?;
    let phase = found
        .status
        .as_ref()
        .and_then(|s| s.phase.clone())
        .unwrap_or_default();
    let volume_name = found
        .spec
        .as_ref()
        .and_then(|s| s.volume_name.clone())
        .unwrap_or_default();
    if phase != "Bound" || volume_name.is_empty() {
        return Err(format!(
            "PVC {namespace}/{claim} has non-bound phase ({phase:?}) or empty pvc.Spec.VolumeName ({volume_name:?})"
        ));
    }
    let volume = Api::<PersistentVolume>::all(ctx.client.clone())
        .get(&volume_name)
        .await
        .map_err(|e| e.to_string())?;
    let spec = volume.spec.unwrap_or_default();
    if let Some(host) = &spec.host_path {
        return host_path(&host.path, host.type_.as_deref().unwrap_or(""));
    }
    if let Some(local) = &spec.local {
        return host_path(&local.path, "Directory");
    }
    Err(format!(
        "volume {volume_name:?} has no source this node can mount (hostPath or local)"
    ))
}

/// One file of a projected volume: (relative path, contents, mode).
type File = (String, Vec<u8>, Option<i32>);

fn select(
    entries: &BTreeMap<String, Vec<u8>>,
    items: Option<&[KeyToPath]>,
    optional: Option<bool>,
) -> Result<Vec<File>, String> {
    match items {
        None => Ok(entries
            .iter()
            .map(|(k, v)| (k.clone(), v.clone(), None))
            .collect()),
        Some(items) => {
            let mut files = Vec::new();
            for item in items {
                match entries.get(&item.key) {
                    Some(v) => files.push((item.path.clone(), v.clone(), item.mode)),
                    None if optional == Some(true) => {}
                    None => {
                        return Err(format!(
                            "configmap references non-existent config key: {}",
                            item.key
                        ));
                    }
                }
            }
            Ok(files)
        }
    }
}

fn downward(
    pod: &Pod,
    items: &[DownwardAPIVolumeFile],
    pod_ip: &str,
    host_ip: &str,
) -> Result<Vec<File>, String> {
    let mut files = Vec::new();
    for item in items {
        if let Some(field) = &item.field_ref {
            let value = field_value(pod, &field.field_path, pod_ip, host_ip)?;
            files.push((item.path.clone(), value.into_bytes(), item.mode));
        }
    }
    Ok(files)
}

/// Replaces the directory's contents with `files`, refusing paths that climb out of it.
fn write_files(dir: &Path, files: &[File], default_mode: i32) -> std::io::Result<()> {
    if dir.exists() {
        std::fs::remove_dir_all(dir)?;
    }
    std::fs::create_dir_all(dir)?;
    for (relative, contents, mode) in files {
        let relative = Path::new(relative);
        if relative.is_absolute()
            || relative
                .components()
                .any(|c| matches!(c, std::path::Component::ParentDir))
        {
            return Err(std::io::Error::other(format!(
                "invalid path {}",
                relative.display()
            )));
        }
        let path = dir.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&path, contents)?;
        let mode = u32::try_from(mode.unwrap_or(default_mode)).unwrap_or(0o644);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode))?;
    }
    Ok(())
}

fn is_mount_point(dir: &Path) -> bool {
    std::fs::read_to_string("/proc/self/mounts").is_ok_and(|mounts| {
        mounts
            .lines()
            .any(|l| l.split_whitespace().nth(1) == Some(&*dir.to_string_lossy()))
    })
}

/// Unmounts memory-backed volumes and removes the pod's directory.
pub async fn teardown(ctx: &PodContext, uid: &str) {
    let dir = pod_dir(ctx, uid);
    let empty_dirs = dir.join("volumes").join("kubernetes.io~empty-dir");
    if let Ok(entries) = std::fs::read_dir(&empty_dirs) {
        for entry in entries.flatten() {
            if is_mount_point(&entry.path()) {
                let _ = tokio::process::Command::new("umount")
                    .arg(entry.path())
                    .status()
                    .await;
            }
        }
    }
    if let Err(e) = std::fs::remove_dir_all(&dir)
        && e.kind() != std::io::ErrorKind::NotFound
    {
        tracing::warn!(dir = %dir.display(), error = %e, "could not remove the pod directory");
    }
}

/// The CRI mounts of `container`, given where the pod's volumes are.
pub fn mounts(prepared: &Prepared, container: &Container) -> Result<Vec<cri::Mount>, String> {
    let mut mounts = Vec::new();
    for mount in container.volume_mounts.iter().flatten() {
        let base = prepared
            .get(&mount.name)
            .ok_or_else(|| format!("volume {:?} not found in the pod", mount.name))?;
        let host = match mount.sub_path.as_deref().filter(|s| !s.is_empty()) {
            Some(sub) => {
                let sub_path = Path::new(sub);
                if sub_path.is_absolute()
                    || sub_path
                        .components()
                        .any(|c| matches!(c, std::path::Component::ParentDir))
                {
                    return Err(format!(
                        "invalid subPath {sub:?}: must be a relative path without '..'"
                    ));
                }
                let path = base.join(sub_path);
                if !path.exists() {
                    std::fs::create_dir_all(&path).map_err(|e| e.to_string())?;
                }
                path
            }
            None => base.clone(),
        };
        mounts.push(cri::Mount {
            container_path: mount.mount_path.clone(),
            host_path: host.to_string_lossy().into_owned(),
            readonly: mount.read_only.unwrap_or(false),
            ..Default::default()
        });
    }
    Ok(mounts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_pick_and_rename_keys() {
        let entries = BTreeMap::from([
            ("a".to_owned(), b"1".to_vec()),
            ("b".to_owned(), b"2".to_vec()),
        ]);
        let all = select(&entries, None, None).unwrap();
        assert_eq!(all.len(), 2);
        let items = [KeyToPath {
            key: "b".into(),
            path: "dir/b.txt".into(),
            mode: Some(0o600),
        }];
        let picked = select(&entries, Some(&items), None).unwrap();
        assert_eq!(
            picked,
            [("dir/b.txt".to_owned(), b"2".to_vec(), Some(0o600))]
        );
        let missing = [KeyToPath {
            key: "z".into(),
            path: "z".into(),
            mode: None,
        }];
        assert!(select(&entries, Some(&missing), None).is_err());
        assert!(
            select(&entries, Some(&missing), Some(true))
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn files_are_written_with_their_modes_and_cannot_escape() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("v");
        write_files(&target, &[("x/y".into(), b"hi".to_vec(), None)], 0o640).unwrap();
        let path = target.join("x/y");
        assert_eq!(std::fs::read(&path).unwrap(), b"hi");
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o640
        );
        assert!(write_files(&target, &[("../out".into(), vec![], None)], 0o644).is_err());
    }

    #[test]
    fn sub_paths_mount_below_the_volume() {
        let dir = tempfile::tempdir().unwrap();
        let prepared = Prepared::from([("data".to_owned(), dir.path().to_owned())]);
        let container: Container = serde_json::from_value(serde_json::json!({
            "name": "c",
            "volumeMounts": [
                {"name": "data", "mountPath": "/data", "subPath": "logs"},
                {"name": "data", "mountPath": "/ro", "readOnly": true}
            ]
        }))
        .unwrap();
        let mounts = mounts(&prepared, &container).unwrap();
        assert_eq!(
            mounts[0].host_path,
            dir.path().join("logs").to_string_lossy()
        );
        assert!(dir.path().join("logs").is_dir());
        assert!(mounts[1].readonly);
        let escape: Container = serde_json::from_value(serde_json::json!({
            "name": "c",
            "volumeMounts": [{"name": "data", "mountPath": "/d", "subPath": "../x"}]
        }))
        .unwrap();
        assert!(super::mounts(&prepared, &escape).is_err());
    }
}
