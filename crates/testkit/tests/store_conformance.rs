//! The store conformance suite against both backends: the embedded store in a temporary
//! directory, and a real etcd (Debian's 3.4) started on loopback for each case.

#![allow(
    clippy::unwrap_used,
    reason = "test code: a panic is the failure report"
)]

use gantry_store::conformance::Subject;
use std::sync::Arc;
use std::time::Duration;

mod embedded {
    use super::*;
    use gantry_store::embedded::{EmbeddedConfig, EmbeddedStore};

    async fn subject() -> Subject {
        let dir = tempfile::tempdir().expect("temporary directory");
        let mut config = EmbeddedConfig::new(dir.path());
        config.progress_interval = Duration::from_millis(200);
        let store = EmbeddedStore::open(config).expect("open the embedded store");
        Subject {
            store: Arc::new(store),
            guard: Box::new(dir),
        }
    }

    gantry_store::conformance_tests!(subject);
}

mod etcd {
    use super::*;
    use gantry_testkit::etcd::EtcdServer;

    async fn subject() -> Subject {
        let server = EtcdServer::start().await.expect("start etcd");
        eprintln!(
            "etcd running: pid {} at {}",
            server.pid(),
            server.endpoint()
        );
        let store = server.client().await.expect("connect to etcd");
        Subject {
            store: Arc::new(store),
            guard: Box::new(server),
        }
    }

    gantry_store::conformance_tests!(subject);
}
