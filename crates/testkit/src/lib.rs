//! Test infrastructure shared by Gantry's integration tests, end-to-end tests and benchmarks.
//!
//! - [`etcd::EtcdServer`]: a real etcd (Debian's `etcd-server`) on loopback ports, in a
//!   temporary data directory, stopped when dropped.
//! - [`apiserver::start`]: Gantry's API server in the test's process.

pub mod apiserver;
pub mod etcd;
