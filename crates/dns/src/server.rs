//! The DNS server: questions about the cluster domain are answered from the zone; all others
//! are forwarded to the node's upstream resolvers and their replies relayed as they come.
//! UDP and TCP (two-byte length framing), as resolvers use both.

use crate::forward::Upstreams;
use crate::zone::{Answer, Kind, Record, Zone};
use hickory_proto::op::{Edns, Message, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::rdata::{A, CNAME, SOA, SRV};
use hickory_proto::rr::{Name, RData, RecordType};
use std::sync::{Arc, RwLock};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};

/// Time to live of cluster records (CoreDNS's `kubernetes` default).
const TTL: u32 = 5;
/// Plain DNS's UDP size without EDNS.
const UDP_DEFAULT_SIZE: usize = 512;

/// What the server answers from: the current zone (swapped whole on every change) and the
/// resolvers to forward to.
#[derive(Debug)]
pub struct State {
    /// The zone, replaced as Services and EndpointSlices change.
    pub zone: RwLock<Arc<Zone>>,
    /// Where other names go.
    pub upstreams: Upstreams,
}

fn name(text: &str) -> Option<Name> {
    Name::from_ascii(format!("{text}.")).ok()
}

fn record(item: &Record, weight: u16) -> Option<hickory_proto::rr::Record> {
    let (owner, data) = match item {
        Record::A(owner, ip) => (owner, RData::A(A(*ip))),
        Record::Srv(owner, port, target) => {
            (owner, RData::SRV(SRV::new(0, weight, *port, name(target)?)))
        }
        Record::Cname(owner, target) => (owner, RData::CNAME(CNAME(name(target)?))),
    };
    Some(hickory_proto::rr::Record::from_rdata(
        name(owner)?,
        TTL,
        data,
    ))
}

fn soa(domain: &str) -> Option<hickory_proto::rr::Record> {
    let data = SOA::new(
        name(&format!("ns.dns.{domain}"))?,
        name(&format!("hostmaster.{domain}"))?,
        1,
        7200,
        1800,
        86400,
        TTL,
    );
    Some(hickory_proto::rr::Record::from_rdata(
        name(domain)?,
        TTL,
        RData::SOA(data),
    ))
}

/// The reply to `request` from the zone, or `None` when the question is not the zone's (to be
/// forwarded).
pub fn answer(zone: &Zone, request: &Message) -> Option<Message> {
    let mut reply = Message::response(request.metadata.id, request.metadata.op_code);
    reply.metadata.recursion_desired = request.metadata.recursion_desired;
    reply.metadata.recursion_available = true;
    reply.queries = request.queries.clone();
    if let Some(edns) = &request.edns {
        let mut ours = Edns::new();
        ours.set_max_payload(edns.max_payload().max(UDP_DEFAULT_SIZE as u16));
        reply.edns = Some(ours);
    }
    let [query] = request.queries.as_slice() else {
        reply.metadata.response_code = ResponseCode::FormErr;
        return Some(reply);
    };
    if request.metadata.message_type != MessageType::Query
        || request.metadata.op_code != OpCode::Query
    {
        reply.metadata.response_code = ResponseCode::NotImp;
        return Some(reply);
    }
    let asked = query.name().to_lowercase().to_ascii();
    let asked = asked.trim_end_matches('.');
    if !zone.owns(asked) {
        return None;
    }
    reply.metadata.authoritative = true;
    let kind = match query.query_type() {
        RecordType::A => Kind::A,
        RecordType::SRV => Kind::Srv,
        _ => Kind::Other,
    };
    match zone.answer(asked, kind) {
        Answer::Records(records, extra) => {
            let weight = u16::try_from(100 / records.len().max(1)).unwrap_or(100);
            reply.answers = records.iter().filter_map(|r| record(r, weight)).collect();
            reply.additionals = extra.iter().filter_map(|r| record(r, weight)).collect();
        }
        Answer::NoData => reply.authorities = soa(zone.domain()).into_iter().collect(),
        Answer::NoName => {
            reply.metadata.response_code = ResponseCode::NXDomain;
            reply.authorities = soa(zone.domain()).into_iter().collect();
        }
    }
    Some(reply)
}

/// The reply bytes for the query bytes `bytes`, answered or forwarded; `None` drops the
/// query (unreadable, or no upstream answered).
async fn handle(state: &State, bytes: &[u8], tcp: bool) -> Option<Vec<u8>> {
    let Ok(request) = Message::from_vec(bytes) else {
        return None;
    };
    let zone = Arc::clone(&state.zone.read().unwrap_or_else(|e| e.into_inner()));
    let Some(reply) = answer(&zone, &request) else {
        return state.upstreams.forward(bytes, tcp).await;
    };
    let encoded = reply.to_vec().ok()?;
    let limit = request.edns.as_ref().map_or(UDP_DEFAULT_SIZE, |e| {
        usize::from(e.max_payload()).max(UDP_DEFAULT_SIZE)
    });
    if !tcp && encoded.len() > limit {
        // Too big for the datagram: the client retries over TCP.
        return reply.truncate().to_vec().ok();
    }
    Some(encoded)
}

/// Answers datagrams on `socket` until the task is dropped.
pub async fn serve_udp(socket: Arc<UdpSocket>, state: Arc<State>) {
    let mut buffer = vec![0u8; 4096];
    loop {
        let Ok((length, peer)) = socket.recv_from(&mut buffer).await else {
            continue;
        };
        let bytes = buffer[..length].to_vec();
        let (socket, state) = (Arc::clone(&socket), Arc::clone(&state));
        // Each query on its own task: a slow upstream never holds up cluster answers.
        tokio::spawn(async move {
            if let Some(reply) = handle(&state, &bytes, false).await {
                let _ = socket.send_to(&reply, peer).await;
            }
        });
    }
}

/// Answers TCP connections on `listener` until the task is dropped.
pub async fn serve_tcp(listener: TcpListener, state: Arc<State>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        tokio::spawn(connection(stream, Arc::clone(&state)));
    }
}

async fn connection(mut stream: TcpStream, state: Arc<State>) {
    loop {
        let length = match stream.read_u16().await {
            Ok(length) => usize::from(length),
            Err(_) => return,
        };
        let mut bytes = vec![0u8; length];
        if stream.read_exact(&mut bytes).await.is_err() {
            return;
        }
        let Some(reply) = handle(&state, &bytes, true).await else {
            return;
        };
        let Ok(length) = u16::try_from(reply.len()) else {
            return;
        };
        if stream.write_u16(length).await.is_err() || stream.write_all(&reply).await.is_err() {
            return;
        }
    }
}
