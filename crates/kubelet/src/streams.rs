//! exec, attach and port-forward: the node asks the runtime (CRI `Exec`, `Attach`,
//! `PortForward`) for a one-time URL on its streaming server, and the caller passes the
//! client's upgraded connection there (see `gantry-streaming`).

use crate::pods::PodContext;
use crate::pods::runtime_state::{PodRuntime, State};
use crate::server::pod_uid;
use http::StatusCode;
use k8s_cri::v1 as cri;

/// A refusal: the status code and the message.
pub type Refusal = (StatusCode, String);

/// Reads a boolean query flag as Go's `strconv.ParseBool` would.
fn flag(value: &str) -> bool {
    matches!(value, "1" | "t" | "T" | "true" | "TRUE" | "True")
}

/// The streaming options of an exec or attach request.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct StreamOptions {
    /// The command (repeated `command` parameters, in order).
    pub command: Vec<String>,
    /// Attach stdin.
    pub stdin: bool,
    /// Attach stdout.
    pub stdout: bool,
    /// Attach stderr.
    pub stderr: bool,
    /// Allocate a terminal.
    pub tty: bool,
    /// Ports to forward.
    pub ports: Vec<i32>,
}

impl StreamOptions {
    /// Parses the query string.
    pub fn parse(query: &str) -> Self {
        let mut options = Self::default();
        for (key, value) in crate::query::pairs(query) {
            match key.as_str() {
                "command" => options.command.push(value),
                "stdin" | "input" => options.stdin = flag(&value),
                "stdout" | "output" => options.stdout = flag(&value),
                "stderr" | "error" => options.stderr = flag(&value),
                "tty" => options.tty = flag(&value),
                "port" | "ports" => options.ports.extend(
                    value
                        .split(',')
                        .filter_map(|p| p.trim().parse::<i32>().ok()),
                ),
                _ => {}
            }
        }
        options
    }
}

/// The runtime's streaming URL for `kind` (`exec`, `attach` or `portforward`) in the pod.
pub async fn stream_url(
    ctx: &PodContext,
    kind: &str,
    namespace: &str,
    pod: &str,
    container: Option<&str>,
    query: &str,
) -> Result<String, Refusal> {
    let internal = |e: tonic::Status| (StatusCode::INTERNAL_SERVER_ERROR, e.message().to_owned());
    let uid = pod_uid(ctx, namespace, pod)
        .await
        .map_err(internal)?
        .ok_or_else(|| {
            (
                StatusCode::NOT_FOUND,
                format!("pod {namespace}/{pod} not found on this node"),
            )
        })?;
    let runtime = PodRuntime::read(&ctx.cri, &uid).await.map_err(internal)?;
    let options = StreamOptions::parse(query);
    let mut service = ctx.cri.runtime.clone();
    if kind == "portforward" {
        let sandbox = runtime.ready_sandbox().ok_or_else(|| {
            (
                StatusCode::BAD_REQUEST,
                format!("pod {pod} has no running sandbox"),
            )
        })?;
        let reply = service
            .port_forward(cri::PortForwardRequest {
                pod_sandbox_id: sandbox.id.clone(),
                port: options.ports,
            })
            .await
            .map_err(internal)?;
        return Ok(reply.into_inner().url);
    }
    let name = container.unwrap_or_default();
    let instance = runtime
        .latest(name)
        .filter(|i| i.state == State::Running)
        .ok_or_else(|| {
            (
                StatusCode::BAD_REQUEST,
                format!("container {name} is not running in pod {pod}"),
            )
        })?;
    let url = if kind == "exec" {
        if options.command.is_empty() {
            return Err((
                StatusCode::BAD_REQUEST,
                "you must specify at least 1 command".to_owned(),
            ));
        }
        service
            .exec(cri::ExecRequest {
                container_id: instance.id.clone(),
                cmd: options.command,
                tty: options.tty,
                stdin: options.stdin,
                stdout: options.stdout,
                stderr: options.stderr && !options.tty,
            })
            .await
            .map_err(internal)?
            .into_inner()
            .url
    } else {
        service
            .attach(cri::AttachRequest {
                container_id: instance.id.clone(),
                stdin: options.stdin,
                tty: options.tty,
                stdout: options.stdout,
                stderr: options.stderr && !options.tty,
            })
            .await
            .map_err(internal)?
            .into_inner()
            .url
    };
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_keep_their_order_and_flags_read_as_go_booleans() {
        let options = StreamOptions::parse(
            "command=sh&command=-c&command=exit%203&stdin=true&stdout=1&stderr=True&tty=false&container=c",
        );
        assert_eq!(options.command, ["sh", "-c", "exit 3"]);
        assert!(options.stdin && options.stdout && options.stderr && !options.tty);
        assert_eq!(
            StreamOptions::parse("port=8080&port=9090").ports,
            [8080, 9090]
        );
        assert_eq!(StreamOptions::parse("ports=80,443").ports, [80, 443]);
    }
}
