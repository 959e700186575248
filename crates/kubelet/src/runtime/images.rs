//! Loading image archives into the runtime without a registry, like k3s' air-gap images
//! directory: every `*.tar` OCI or Docker archive in a directory is imported into containerd's
//! `k8s.io` namespace (the one its CRI plugin serves) with containerd's own `ctr`.

use anyhow::Context;
use std::path::{Path, PathBuf};

/// The archives in `dir`, in name order; none when the directory does not exist.
pub fn archives(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    match std::fs::read_dir(dir) {
        Ok(entries) => {
            for entry in entries {
                let path = entry?.path();
                if path.extension().is_some_and(|e| e == "tar") {
                    found.push(path);
                }
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    found.sort();
    Ok(found)
}

/// Imports one archive through the containerd listening on `socket`.
pub async fn import(socket: &Path, archive: &Path) -> anyhow::Result<()> {
    let output = tokio::process::Command::new("ctr")
        .arg("--address")
        .arg(socket)
        .args(["--namespace", "k8s.io", "images", "import"])
        .arg(archive)
        .output()
        .await
        .context("running ctr (part of the containerd package)")?;
    if !output.status.success() {
        anyhow::bail!(
            "importing {} failed: {}",
            archive.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(())
}

/// Imports every archive in `dir`; returns how many.
pub async fn import_dir(socket: &Path, dir: &Path) -> anyhow::Result<usize> {
    let found = archives(dir).with_context(|| format!("reading {}", dir.display()))?;
    for archive in &found {
        import(socket, archive).await?;
        tracing::info!(archive = %archive.display(), "imported image archive");
    }
    Ok(found.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_tar_files_count_and_a_missing_directory_has_none() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["b.tar", "a.tar", "notes.txt"] {
            std::fs::write(dir.path().join(name), "").unwrap();
        }
        let names: Vec<_> = archives(dir.path())
            .unwrap()
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["a.tar", "b.tar"]);
        assert!(archives(&dir.path().join("missing")).unwrap().is_empty());
    }
}
