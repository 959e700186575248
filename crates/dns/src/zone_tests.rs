//! The zone's answers for each kind of cluster name.

use crate::zone::{Answer, Kind, Record, Zone};
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use serde_json::json;
use std::net::Ipv4Addr;

fn service(name: &str, spec: serde_json::Value) -> Service {
    serde_json::from_value(
        json!({"metadata": {"name": name, "namespace": "default"}, "spec": spec}),
    )
    .unwrap()
}

fn zone() -> Zone {
    let web = service(
        "web",
        json!({"clusterIP": "10.43.0.20", "ports": [{"name": "http", "port": 80}]}),
    );
    let db = service(
        "db",
        json!({"clusterIP": "None", "ports": [{"name": "pg", "port": 5432}]}),
    );
    let alias = service(
        "alias",
        json!({"type": "ExternalName", "externalName": "Example.ORG."}),
    );
    let slice: EndpointSlice = serde_json::from_value(json!({
        "metadata": {"name": "db-x", "namespace": "default",
                     "labels": {"kubernetes.io/service-name": "db"}},
        "addressType": "IPv4",
        "ports": [{"name": "pg", "port": 5433}],
        "endpoints": [
            {"addresses": ["10.42.0.7"], "hostname": "db-0"},
            {"addresses": ["10.42.1.8"]},
            {"addresses": ["10.42.1.9"], "conditions": {"ready": false}},
        ],
    }))
    .unwrap();
    Zone::build("cluster.local", [&web, &db, &alias], [&slice])
}

fn a(name: &str, ip: [u8; 4]) -> Record {
    Record::A(name.into(), Ipv4Addr::from(ip))
}

#[test]
fn a_service_name_is_its_cluster_ip() {
    assert_eq!(
        zone().answer("web.default.svc.cluster.local", Kind::A),
        Answer::Records(
            vec![a("web.default.svc.cluster.local", [10, 43, 0, 20])],
            vec![]
        )
    );
    assert_eq!(
        zone().answer("web.default.svc.cluster.local", Kind::Other),
        Answer::NoData,
        "AAAA for an IPv4 service"
    );
    assert_eq!(
        zone().answer("nope.default.svc.cluster.local", Kind::A),
        Answer::NoName
    );
}

#[test]
fn a_headless_service_is_its_ready_endpoints() {
    assert_eq!(
        zone().answer("db.default.svc.cluster.local", Kind::A),
        Answer::Records(
            vec![
                a("db.default.svc.cluster.local", [10, 42, 0, 7]),
                a("db.default.svc.cluster.local", [10, 42, 1, 8]),
            ],
            vec![]
        )
    );
    assert_eq!(
        zone().answer("db-0.db.default.svc.cluster.local", Kind::A),
        Answer::Records(
            vec![a("db-0.db.default.svc.cluster.local", [10, 42, 0, 7])],
            vec![]
        ),
        "a StatefulSet pod by its hostname"
    );
    assert_eq!(
        zone().answer("10-42-1-8.db.default.svc.cluster.local", Kind::A),
        Answer::Records(
            vec![a("10-42-1-8.db.default.svc.cluster.local", [10, 42, 1, 8])],
            vec![]
        )
    );
    assert_eq!(
        zone().answer("10-42-1-9.db.default.svc.cluster.local", Kind::A),
        Answer::NoName,
        "not ready, not published"
    );
}

#[test]
fn srv_records_name_ports_on_the_service_or_its_endpoints() {
    let name = "_http._tcp.web.default.svc.cluster.local";
    assert_eq!(
        zone().answer(name, Kind::Srv),
        Answer::Records(
            vec![Record::Srv(
                name.into(),
                80,
                "web.default.svc.cluster.local".into()
            )],
            vec![a("web.default.svc.cluster.local", [10, 43, 0, 20])]
        )
    );
    let Answer::Records(records, extra) =
        zone().answer("_pg._tcp.db.default.svc.cluster.local", Kind::Srv)
    else {
        panic!("no SRV for the headless service");
    };
    let targets: Vec<String> = records
        .iter()
        .map(|r| match r {
            Record::Srv(_, port, target) => format!("{port} {target}"),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        targets,
        [
            "5433 db-0.db.default.svc.cluster.local",
            "5433 10-42-1-8.db.default.svc.cluster.local"
        ]
    );
    assert_eq!(extra.len(), 2);
    assert_eq!(
        zone().answer("_nope._tcp.web.default.svc.cluster.local", Kind::Srv),
        Answer::NoName
    );
    let Answer::Records(all, _) = zone().answer("web.default.svc.cluster.local", Kind::Srv) else {
        panic!("SRV on the service name lists its named ports");
    };
    assert_eq!(all.len(), 1);
}

#[test]
fn external_names_are_aliases_and_pods_are_their_dashed_addresses() {
    assert_eq!(
        zone().answer("alias.default.svc.cluster.local", Kind::A),
        Answer::Records(
            vec![Record::Cname(
                "alias.default.svc.cluster.local".into(),
                "example.org".into()
            )],
            vec![]
        )
    );
    assert_eq!(
        zone().answer("10-42-0-9.anything.pod.cluster.local", Kind::A),
        Answer::Records(
            vec![a("10-42-0-9.anything.pod.cluster.local", [10, 42, 0, 9])],
            vec![]
        )
    );
    assert_eq!(
        zone().answer("not-an-ip.default.pod.cluster.local", Kind::A),
        Answer::NoName
    );
}

#[test]
fn structural_names_exist_without_records() {
    let zone = zone();
    assert!(zone.owns("cluster.local") && zone.owns("web.default.svc.cluster.local"));
    assert!(!zone.owns("example.org") && !zone.owns("xcluster.local"));
    assert_eq!(zone.answer("svc.cluster.local", Kind::A), Answer::NoData);
    assert_eq!(
        zone.answer("default.svc.cluster.local", Kind::A),
        Answer::NoData
    );
    assert_eq!(
        zone.answer("other.svc.cluster.local", Kind::A),
        Answer::NoName
    );
    assert_eq!(
        zone.answer("a.b.c.d.e.f.cluster.local", Kind::A),
        Answer::NoName
    );
}
