//! Plain HTTP/1.0 requests for the network tests: from the host with a socket, and from inside
//! a pod with busybox's `nc` (busybox's wget crashes in the test image).

#![allow(
    clippy::unwrap_used,
    reason = "test code: a panic is the failure report"
)]

use super::kubectl::Kubectl;
use std::io::{Read, Write};
use std::time::Duration;

/// One `GET /` from the host to `address` (`ip:port`): the reply's last line (the test pods
/// serve their name), or the error.
pub(crate) fn get_from_host(address: &str) -> String {
    let attempt = || -> std::io::Result<String> {
        let mut stream = std::net::TcpStream::connect_timeout(
            &address.parse().unwrap(),
            Duration::from_secs(2),
        )?;
        stream.set_read_timeout(Some(Duration::from_secs(3)))?;
        stream.write_all(b"GET / HTTP/1.0\r\n\r\n")?;
        let mut reply = String::new();
        stream.read_to_string(&mut reply)?;
        Ok(reply.lines().last().unwrap_or_default().trim().to_owned())
    };
    attempt().unwrap_or_else(|e| format!("error: {e}"))
}

/// `count` GETs of `path` from pod `pod` to `address` (`host port`, a name or an address): each
/// reply's last line, or nc's error.
pub(crate) fn get_in_pod(
    k: &Kubectl,
    pod: &str,
    address: &str,
    path: &str,
    count: u32,
) -> Vec<String> {
    let script = format!(
        "for i in $(seq {count}); do printf 'GET {path} HTTP/1.0\\r\\n\\r\\n' | nc -w 3 {address} 2>&1 | tail -n 1; done"
    );
    let out = k.run(&["exec", pod, "--", "sh", "-c", &script]);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}
