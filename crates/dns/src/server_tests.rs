//! The server over real sockets on loopback: cluster answers over UDP and TCP, NXDOMAIN with
//! the zone's SOA, and forwarding to an upstream resolver.

use crate::forward::Upstreams;
use crate::server::{State, serve_tcp, serve_udp};
use crate::zone::Zone;
use hickory_proto::op::{Message, Query, ResponseCode};
use hickory_proto::rr::rdata::A;
use hickory_proto::rr::{Name, RData, Record, RecordType};
use k8s_openapi::api::core::v1::Service;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, RwLock};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};

fn question(name: &str, kind: RecordType) -> Message {
    let mut message = Message::query();
    message.metadata.recursion_desired = true;
    message.add_query(Query::query(Name::from_ascii(name).unwrap(), kind));
    message
}

async fn server(upstreams: Upstreams) -> (SocketAddr, SocketAddr) {
    let web: Service = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"clusterIP": "10.43.0.20", "ports": [{"port": 80}]},
    }))
    .unwrap();
    let state = Arc::new(State {
        zone: RwLock::new(Arc::new(Zone::build("cluster.local", [&web], []))),
        upstreams,
    });
    let udp = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
    let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addresses = (udp.local_addr().unwrap(), tcp.local_addr().unwrap());
    tokio::spawn(serve_udp(udp, Arc::clone(&state)));
    tokio::spawn(serve_tcp(tcp, state));
    addresses
}

async fn ask_udp(server: SocketAddr, query: &Message) -> Message {
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    socket
        .send_to(&query.to_vec().unwrap(), server)
        .await
        .unwrap();
    let mut buffer = vec![0u8; 4096];
    let (length, _) = socket.recv_from(&mut buffer).await.unwrap();
    Message::from_vec(&buffer[..length]).unwrap()
}

fn addresses(reply: &Message) -> Vec<Ipv4Addr> {
    reply
        .answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::A(A(ip)) => Some(*ip),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn cluster_names_are_answered_over_udp_and_tcp() {
    let (udp, tcp) = server(Upstreams::default()).await;
    let query = question("WEB.default.svc.cluster.local.", RecordType::A);
    let reply = ask_udp(udp, &query).await;
    assert_eq!(reply.metadata.id, query.metadata.id);
    assert!(reply.metadata.authoritative && reply.metadata.recursion_available);
    assert_eq!(addresses(&reply), [Ipv4Addr::new(10, 43, 0, 20)]);

    let mut stream = tokio::net::TcpStream::connect(tcp).await.unwrap();
    let bytes = query.to_vec().unwrap();
    stream.write_u16(bytes.len() as u16).await.unwrap();
    stream.write_all(&bytes).await.unwrap();
    let length = stream.read_u16().await.unwrap();
    let mut reply = vec![0u8; usize::from(length)];
    stream.read_exact(&mut reply).await.unwrap();
    assert_eq!(
        addresses(&Message::from_vec(&reply).unwrap()),
        [Ipv4Addr::new(10, 43, 0, 20)]
    );
}

#[tokio::test]
async fn unknown_cluster_names_are_nxdomain_with_the_zones_soa() {
    let (udp, _) = server(Upstreams::default()).await;
    let reply = ask_udp(
        udp,
        &question("nope.default.svc.cluster.local.", RecordType::A),
    )
    .await;
    assert_eq!(reply.metadata.response_code, ResponseCode::NXDomain);
    assert!(reply.answers.is_empty());
    assert_eq!(reply.authorities.len(), 1);
    assert_eq!(reply.authorities[0].record_type(), RecordType::SOA);
    let reply = ask_udp(
        udp,
        &question("web.default.svc.cluster.local.", RecordType::AAAA),
    )
    .await;
    assert_eq!(
        reply.metadata.response_code,
        ResponseCode::NoError,
        "NODATA"
    );
    assert!(reply.answers.is_empty());
}

#[tokio::test]
async fn other_names_are_forwarded_to_the_upstream() {
    // An upstream that answers every A question with 192.0.2.55.
    let upstream = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let upstream_address = upstream.local_addr().unwrap();
    tokio::spawn(async move {
        let mut buffer = vec![0u8; 4096];
        loop {
            let (length, peer) = upstream.recv_from(&mut buffer).await.unwrap();
            let request = Message::from_vec(&buffer[..length]).unwrap();
            let mut reply = Message::response(request.metadata.id, request.metadata.op_code);
            reply.queries = request.queries.clone();
            let name = request.queries[0].name().clone();
            reply.add_answer(Record::from_rdata(
                name,
                60,
                RData::A(A::new(192, 0, 2, 55)),
            ));
            upstream
                .send_to(&reply.to_vec().unwrap(), peer)
                .await
                .unwrap();
        }
    });
    let (udp, _) = server(Upstreams(vec![upstream_address])).await;
    let reply = ask_udp(udp, &question("example.test.", RecordType::A)).await;
    assert_eq!(addresses(&reply), [Ipv4Addr::new(192, 0, 2, 55)]);
    assert!(
        !reply.metadata.authoritative,
        "relayed as the upstream said it"
    );
}
