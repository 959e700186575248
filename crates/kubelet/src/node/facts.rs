//! What the machine is and has, read from the kernel as upstream's kubelet reads it (through
//! cAdvisor): CPUs, memory, the root filesystem's size, and the identity fields of `nodeInfo`.

use std::net::{IpAddr, Ipv4Addr, UdpSocket};
use std::path::Path;

/// Upstream's default `--max-pods`.
pub const MAX_PODS: u32 = 110;

/// Upstream's default hard eviction threshold for memory (`memory.available<100Mi`), which
/// allocatable memory leaves aside.
const EVICTION_MEMORY_BYTES: u64 = 100 * 1024 * 1024;

/// The machine's capacity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capacity {
    /// Logical CPUs.
    pub cpus: u64,
    /// Total memory in bytes.
    pub memory_bytes: u64,
    /// Size of the filesystem holding the node's data, in bytes.
    pub ephemeral_storage_bytes: u64,
    /// Pods the node accepts.
    pub pods: u32,
}

impl Capacity {
    /// `status.capacity`.
    pub fn capacity_json(&self) -> serde_json::Value {
        serde_json::json!({
            "cpu": self.cpus.to_string(),
            "memory": format!("{}Ki", self.memory_bytes / 1024),
            "ephemeral-storage": format!("{}Ki", self.ephemeral_storage_bytes / 1024),
            "pods": self.pods.to_string(),
            "hugepages-1Gi": "0",
            "hugepages-2Mi": "0",
        })
    }

    /// `status.allocatable`: capacity less the default hard eviction thresholds (100Mi of
    /// memory, 10% of the node filesystem), as upstream computes it with no reservations.
    pub fn allocatable_json(&self) -> serde_json::Value {
        let memory = self.memory_bytes.saturating_sub(EVICTION_MEMORY_BYTES);
        let storage = self.ephemeral_storage_bytes / 10 * 9;
        serde_json::json!({
            "cpu": self.cpus.to_string(),
            "memory": format!("{}Ki", memory / 1024),
            "ephemeral-storage": storage.to_string(),
            "pods": self.pods.to_string(),
            "hugepages-1Gi": "0",
            "hugepages-2Mi": "0",
        })
    }
}

/// Reads the capacity of this machine; `data_dir` decides which filesystem counts.
pub fn capacity(data_dir: &Path) -> std::io::Result<Capacity> {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get() as u64);
    let meminfo = std::fs::read_to_string("/proc/meminfo")?;
    let memory_bytes = meminfo_kib(&meminfo, "MemTotal").unwrap_or(0) * 1024;
    let fs = rustix::fs::statvfs(data_dir)?;
    Ok(Capacity {
        cpus,
        memory_bytes,
        ephemeral_storage_bytes: fs.f_blocks * fs.f_frsize,
        pods: MAX_PODS,
    })
}

/// Memory that is free for new work, in bytes (`MemAvailable`), for the pressure condition.
pub fn memory_available() -> Option<u64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    meminfo_kib(&meminfo, "MemAvailable").map(|kib| kib * 1024)
}

/// The fraction of the filesystem holding `dir` that is free (0.0–1.0).
pub fn disk_available_fraction(dir: &Path) -> Option<f64> {
    let fs = rustix::fs::statvfs(dir).ok()?;
    (fs.f_blocks > 0).then(|| fs.f_bavail as f64 / fs.f_blocks as f64)
}

fn meminfo_kib(meminfo: &str, key: &str) -> Option<u64> {
    meminfo.lines().find_map(|line| {
        let rest = line.strip_prefix(key)?.strip_prefix(':')?;
        rest.split_whitespace().next()?.parse().ok()
    })
}

/// `status.nodeInfo`, given the runtime's name and version.
pub fn node_info(runtime: &(String, String)) -> serde_json::Value {
    let read = |path: &str| {
        std::fs::read_to_string(path)
            .map(|s| s.trim().to_owned())
            .unwrap_or_default()
    };
    let os_release = std::fs::read_to_string("/etc/os-release").unwrap_or_default();
    let os_image = os_release
        .lines()
        .find_map(|l| l.strip_prefix("PRETTY_NAME="))
        .map(|v| v.trim_matches('"').to_owned())
        .unwrap_or_else(|| "Linux".to_owned());
    let version = gantry_api::version::git_version();
    serde_json::json!({
        "machineID": read("/etc/machine-id"),
        "systemUUID": read("/sys/class/dmi/id/product_uuid"),
        "bootID": read("/proc/sys/kernel/random/boot_id"),
        "kernelVersion": read("/proc/sys/kernel/osrelease"),
        "osImage": os_image,
        "containerRuntimeVersion": format!("{}://{}", runtime.0, runtime.1),
        "kubeletVersion": version,
        "kubeProxyVersion": "",
        "operatingSystem": "linux",
        "architecture": go_arch(),
    })
}

/// The architecture in Go's (and so Kubernetes') spelling.
pub fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "arm" => "arm",
        "powerpc64" => "ppc64le",
        "s390x" => "s390x",
        other => other,
    }
}

/// The address other machines reach this one at: the source address of the default route
/// (found by connecting a UDP socket, which sends nothing). Loopback is never chosen, since
/// upstream tooling refuses nodes on it; `None` when the machine has no route out.
pub fn default_ip() -> Option<IpAddr> {
    let socket = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).ok()?;
    socket.connect((Ipv4Addr::new(192, 0, 2, 1), 9)).ok()?;
    let ip = socket.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
}

/// The machine's host name, lower-cased as node names must be.
pub fn hostname() -> String {
    rustix::system::uname()
        .nodename()
        .to_string_lossy()
        .to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meminfo_values_are_read_by_key() {
        let text = "MemTotal:       24576000 kB\nMemFree:  100 kB\nMemAvailable:   20000000 kB\n";
        assert_eq!(meminfo_kib(text, "MemTotal"), Some(24_576_000));
        assert_eq!(meminfo_kib(text, "MemAvailable"), Some(20_000_000));
        assert_eq!(meminfo_kib(text, "Mem"), None);
    }

    #[test]
    fn allocatable_leaves_the_eviction_thresholds_aside() {
        let capacity = Capacity {
            cpus: 2,
            memory_bytes: 1024 * 1024 * 1024,
            ephemeral_storage_bytes: 1000,
            pods: 110,
        };
        assert_eq!(capacity.capacity_json()["memory"], "1048576Ki");
        assert_eq!(capacity.allocatable_json()["memory"], "946176Ki");
        assert_eq!(capacity.allocatable_json()["ephemeral-storage"], "900");
        assert_eq!(capacity.allocatable_json()["pods"], "110");
    }

    #[test]
    fn this_machine_has_a_capacity() {
        let capacity = capacity(Path::new("/")).unwrap();
        assert!(capacity.cpus >= 1);
        assert!(capacity.memory_bytes > 0);
        assert!(capacity.ephemeral_storage_bytes > 0);
    }
}
