//! Forwarding of names outside the cluster to the node's own resolvers (CoreDNS's `forward .
//! /etc/resolv.conf`): the query's bytes go out unchanged, the first reply comes back unchanged.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

/// How long one upstream gets before the next is tried.
const TIMEOUT: Duration = Duration::from_secs(2);

/// The resolvers to forward to.
#[derive(Debug, Clone, Default)]
pub struct Upstreams(pub Vec<SocketAddr>);

impl Upstreams {
    /// The `nameserver` lines of a resolv.conf, except `skip` (the cluster's own DNS address,
    /// which would loop).
    pub fn from_resolv_conf(text: &str, skip: &[IpAddr]) -> Self {
        Self(
            text.lines()
                .filter_map(|line| {
                    let mut words = line.split_whitespace();
                    (words.next() == Some("nameserver"))
                        .then(|| words.next()?.parse::<IpAddr>().ok())
                        .flatten()
                })
                .filter(|ip| !skip.contains(ip))
                .map(|ip| SocketAddr::new(ip, 53))
                .collect(),
        )
    }

    /// The first upstream reply to `query`, over TCP if the client asked over TCP.
    pub async fn forward(&self, query: &[u8], tcp: bool) -> Option<Vec<u8>> {
        for upstream in &self.0 {
            let attempt = async {
                if tcp {
                    over_tcp(*upstream, query).await
                } else {
                    over_udp(*upstream, query).await
                }
            };
            match tokio::time::timeout(TIMEOUT, attempt).await {
                Ok(Ok(reply)) => return Some(reply),
                Ok(Err(e)) => tracing::debug!(%upstream, error = %e, "upstream DNS failed"),
                Err(_) => tracing::debug!(%upstream, "upstream DNS timed out"),
            }
        }
        None
    }
}

async fn over_udp(upstream: SocketAddr, query: &[u8]) -> std::io::Result<Vec<u8>> {
    let local: SocketAddr = if upstream.is_ipv4() {
        "0.0.0.0:0".parse().map_err(std::io::Error::other)?
    } else {
        "[::]:0".parse().map_err(std::io::Error::other)?
    };
    let socket = UdpSocket::bind(local).await?;
    socket.connect(upstream).await?;
    socket.send(query).await?;
    let mut buffer = vec![0u8; 65535];
    loop {
        let length = socket.recv(&mut buffer).await?;
        // Only the reply to this query (same ID) counts.
        if length >= 2 && query.len() >= 2 && buffer[..2] == query[..2] {
            buffer.truncate(length);
            return Ok(buffer);
        }
    }
}

async fn over_tcp(upstream: SocketAddr, query: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut stream = TcpStream::connect(upstream).await?;
    let length = u16::try_from(query.len()).map_err(std::io::Error::other)?;
    stream.write_u16(length).await?;
    stream.write_all(query).await?;
    let length = stream.read_u16().await?;
    let mut reply = vec![0u8; usize::from(length)];
    stream.read_exact(&mut reply).await?;
    Ok(reply)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nameservers_come_from_resolv_conf_without_the_cluster_dns() {
        let text = "search example.org\nnameserver 192.0.2.53\n# nameserver 192.0.2.9\nnameserver 10.43.0.10\nnameserver 2001:db8::53\noptions ndots:2\n";
        let upstreams = Upstreams::from_resolv_conf(text, &["10.43.0.10".parse().unwrap()]);
        let listed: Vec<String> = upstreams.0.iter().map(ToString::to_string).collect();
        assert_eq!(listed, ["192.0.2.53:53", "[2001:db8::53]:53"]);
    }
}
