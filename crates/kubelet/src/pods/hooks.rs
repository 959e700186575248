//! Lifecycle hooks: `postStart` right after a container starts (a failure kills the
//! container, which then restarts by policy) and `preStop` before it is stopped (within the
//! grace period, which the hook's time is taken from). Handlers: exec, httpGet, sleep.

use crate::pods::PodContext;
use crate::pods::probes::{http_status, port_number};
use k8s_cri::v1 as cri;
use k8s_openapi::api::core::v1::{Container, LifecycleHandler};
use std::time::Duration;

/// Which hook.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hook {
    /// `lifecycle.postStart`.
    PostStart,
    /// `lifecycle.preStop`.
    PreStop,
}

impl Hook {
    /// The container's handler for this hook, if any.
    pub fn handler(self, container: &Container) -> Option<&LifecycleHandler> {
        let lifecycle = container.lifecycle.as_ref()?;
        match self {
            Hook::PostStart => lifecycle.post_start.as_ref(),
            Hook::PreStop => lifecycle.pre_stop.as_ref(),
        }
    }
}

/// Runs `handler` for the container instance `id`, within `budget`; the error describes the
/// failure as upstream's events do.
pub async fn run(
    ctx: &PodContext,
    handler: &LifecycleHandler,
    container: &Container,
    id: &str,
    pod_ip: &str,
    budget: Duration,
) -> Result<(), String> {
    if let Some(exec) = &handler.exec {
        let command = exec.command.clone().unwrap_or_default();
        let reply = ctx
            .cri
            .runtime
            .clone()
            .exec_sync(cri::ExecSyncRequest {
                container_id: id.to_owned(),
                cmd: command.clone(),
                timeout: i64::try_from(budget.as_secs()).unwrap_or(30).max(1),
            })
            .await
            .map_err(|e| e.message().to_owned())?
            .into_inner();
        if reply.exit_code == 0 {
            return Ok(());
        }
        let output = String::from_utf8_lossy(&reply.stdout).into_owned()
            + &String::from_utf8_lossy(&reply.stderr);
        return Err(format!(
            "Exec lifecycle hook ({command:?}) for Container \"{}\" failed - error: command '{}' exited with {}: {output}",
            container.name,
            command.join(" "),
            reply.exit_code
        ));
    }
    if let Some(http) = &handler.http_get {
        let host = http
            .host
            .clone()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| pod_ip.to_owned());
        let port = port_number(&http.port, container)?;
        let path = http.path.clone().unwrap_or_else(|| "/".to_owned());
        let headers: Vec<(String, String)> = http
            .http_headers
            .iter()
            .flatten()
            .map(|h| (h.name.clone(), h.value.clone()))
            .collect();
        return match tokio::time::timeout(budget, http_status(&host, port, &path, &headers)).await {
            Ok(Ok(code)) if (200..400).contains(&code) => Ok(()),
            Ok(Ok(code)) => Err(format!(
                "HTTP lifecycle hook ({path}) for Container \"{}\" failed - error: received status code {code}",
                container.name
            )),
            Ok(Err(e)) => Err(format!(
                "HTTP lifecycle hook ({path}) for Container \"{}\" failed - error: {e}",
                container.name
            )),
            Err(_) => Err(format!(
                "HTTP lifecycle hook ({path}) for Container \"{}\" failed - error: timeout",
                container.name
            )),
        };
    }
    if let Some(sleep) = &handler.sleep {
        let wanted = Duration::from_secs(u64::try_from(sleep.seconds).unwrap_or(0));
        tokio::time::sleep(wanted.min(budget)).await;
    }
    Ok(())
}
