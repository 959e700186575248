//! The etcd backend: the [`Store`] contract over a real etcd v3 cluster.
//!
//! Each request maps to one etcd RPC. etcd reports a compacted or future revision with fixed
//! messages (`mvcc: required revision has been compacted`, `... is a future revision`); those
//! become the same typed errors the embedded store returns, and so does a watch cancelled for
//! compaction.
//!
//! The etcd it talks to must accept requests of `validate::MAX_TXN_BYTES` plus framing
//! (`--max-request-bytes=2621440` or more; etcd's default, 1.5 MiB, refuses the largest values).

use crate::{
    Condition, Error, Event, EventKind, KeySelector, KeyValue, Op, RangeRequest, RangeResponse,
    Result, Store, Txn, TxnResponse, WatchRequest, WatchResponse, WatchStream, validate,
};
use bytes::Bytes;
use etcd_client as etcd;
use futures::StreamExt;

/// gRPC messages can carry a full page of maximum-size values; tonic's default of 4 MiB cannot.
const MAX_MESSAGE_BYTES: usize = 256 << 20;

/// A store on a real etcd cluster.
#[derive(Clone)]
pub struct EtcdStore {
    client: etcd::Client,
}

impl std::fmt::Debug for EtcdStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EtcdStore").finish_non_exhaustive()
    }
}

impl EtcdStore {
    /// Connects to the given endpoints (`http://127.0.0.1:2379`, ...).
    pub async fn connect(endpoints: &[String]) -> Result<Self> {
        let options = etcd::ConnectOptions::new()
            .with_connect_timeout(std::time::Duration::from_secs(5))
            .with_keep_alive(
                std::time::Duration::from_secs(10),
                std::time::Duration::from_secs(5),
            );
        let client = etcd::Client::connect(endpoints, Some(options))
            .await
            .map_err(convert)?;
        Ok(Self { client })
    }

    fn kv(&self) -> etcd::KvClient {
        self.client
            .kv_client()
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES)
    }
}

/// Maps an etcd client error to the store's error, recognising etcd's fixed messages.
fn convert(error: etcd::Error) -> Error {
    convert_for(error, 0)
}

fn convert_for(error: etcd::Error, requested: i64) -> Error {
    let text = error.to_string();
    if text.contains("required revision has been compacted") {
        Error::Compacted { requested }
    } else if text.contains("required revision is a future revision") {
        Error::FutureRevision { requested }
    } else {
        Error::Etcd(text)
    }
}

/// The first key after every key that starts with `prefix` (etcd's prefix range end).
fn prefix_end(prefix: &str) -> Vec<u8> {
    let mut end = prefix.as_bytes().to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    vec![0] // every key
}

fn to_kv(kv: &etcd::KeyValue) -> Result<KeyValue> {
    let key = std::str::from_utf8(kv.key()).map_err(|_| {
        Error::Etcd(format!(
            "etcd returned a key that is not UTF-8: {:?}",
            kv.key()
        ))
    })?;
    Ok(KeyValue {
        key: key.to_owned(),
        value: Bytes::copy_from_slice(kv.value()),
        create_revision: kv.create_revision(),
        mod_revision: kv.mod_revision(),
        version: kv.version(),
    })
}

fn compare(c: &crate::Compare) -> etcd::Compare {
    use etcd::CompareOp::{Equal, Greater};
    let key = c.key.as_bytes().to_vec();
    match c.condition {
        Condition::Exists => etcd::Compare::create_revision(key, Greater, 0),
        Condition::Absent => etcd::Compare::create_revision(key, Equal, 0),
        Condition::ModRevision(r) => etcd::Compare::mod_revision(key, Equal, r),
        Condition::Version(v) => etcd::Compare::version(key, Equal, v),
    }
}

fn header_revision(header: Option<&etcd::ResponseHeader>) -> i64 {
    header.map_or(0, etcd::ResponseHeader::revision)
}

#[async_trait::async_trait]
impl Store for EtcdStore {
    async fn range(&self, request: RangeRequest) -> Result<RangeResponse> {
        validate::selector(&request.selector)?;
        // Ask for one key past the limit: its key is where the next page starts. Kubernetes
        // pages every list this way, at the first page's revision.
        let fetch = match request.limit {
            0 => 0,
            limit => i64::try_from(limit).unwrap_or(i64::MAX - 1) + 1,
        };
        let mut options = etcd::GetOptions::new()
            .with_revision(request.revision)
            .with_limit(fetch);
        let key = match &request.selector {
            KeySelector::Key(key) => key.clone(),
            KeySelector::Prefix(prefix) => {
                options = options.with_range(prefix_end(prefix));
                match &request.start {
                    Some(start) if start > prefix => start.clone(),
                    _ => prefix.clone(),
                }
            }
        };
        let response = self
            .kv()
            .get(key, Some(options))
            .await
            .map_err(|e| convert_for(e, request.revision))?;
        let mut kvs = response
            .kvs()
            .iter()
            .map(to_kv)
            .collect::<Result<Vec<_>>>()?;
        let next = match request.limit {
            limit if limit > 0 && kvs.len() > limit => kvs.drain(limit..).next().map(|kv| kv.key),
            _ => None,
        };
        let revision = match request.revision {
            0 => header_revision(response.header()),
            r => r,
        };
        Ok(RangeResponse {
            kvs,
            count: u64::try_from(response.count()).unwrap_or(0),
            next,
            revision,
        })
    }

    async fn txn(&self, txn: Txn) -> Result<TxnResponse> {
        validate::txn(&txn)?;
        let compares: Vec<_> = txn.compares.iter().map(compare).collect();
        let then: Vec<_> = txn
            .ops
            .iter()
            .map(|op| match op {
                Op::Put { key, value } => etcd::TxnOp::put(
                    key.as_bytes(),
                    value.to_vec(),
                    Some(etcd::PutOptions::new().with_prev_key()),
                ),
                Op::Delete { key } => etcd::TxnOp::delete(
                    key.as_bytes(),
                    Some(etcd::DeleteOptions::new().with_prev_key()),
                ),
            })
            .collect();
        // On failure read every compared key back, so the caller can retry without a round trip.
        let otherwise: Vec<_> = txn
            .compares
            .iter()
            .map(|c| etcd::TxnOp::get(c.key.as_bytes(), None))
            .collect();
        let request = etcd::Txn::new()
            .when(compares)
            .and_then(then)
            .or_else(otherwise);
        let response = self.kv().txn(request).await.map_err(convert)?;
        let revision = header_revision(response.header());
        let mut out = TxnResponse {
            succeeded: response.succeeded(),
            revision,
            prev: Vec::new(),
            current: Vec::new(),
        };
        for op in response.op_responses() {
            match op {
                etcd::TxnOpResponse::Put(put) => {
                    out.prev.push(put.prev_key().map(to_kv).transpose()?);
                }
                etcd::TxnOpResponse::Delete(delete) => {
                    out.prev
                        .push(delete.prev_kvs().first().map(to_kv).transpose()?);
                }
                etcd::TxnOpResponse::Get(get) => {
                    for kv in get.kvs() {
                        out.current.push(to_kv(kv)?);
                    }
                }
                etcd::TxnOpResponse::Txn(_) => {
                    return Err(Error::Etcd("unexpected nested transaction response".into()));
                }
            }
        }
        Ok(out)
    }

    async fn watch(&self, request: WatchRequest) -> Result<WatchStream> {
        validate::selector(&request.selector)?;
        let mut options = etcd::WatchOptions::new()
            .with_prev_key()
            .with_start_revision(request.start_revision);
        if let KeySelector::Prefix(prefix) = &request.selector {
            options = options.with_range(prefix_end(prefix));
        }
        if request.progress_notify {
            options = options.with_progress_notify();
        }
        let stream = self
            .client
            .watch_client()
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .watch(request.selector.as_str().as_bytes(), Some(options))
            .await
            .map_err(convert)?;
        let requested = request.start_revision;
        let state = (stream, false);
        Ok(
            futures::stream::unfold(state, move |(mut stream, ended)| async move {
                if ended {
                    return None;
                }
                loop {
                    let message = match stream.message().await {
                        Ok(Some(message)) => message,
                        Ok(None) => return Some((Err(Error::Closed), (stream, true))),
                        Err(e) => return Some((Err(convert(e)), (stream, true))),
                    };
                    if message.compact_revision() != 0 {
                        return Some((Err(Error::Compacted { requested }), (stream, true)));
                    }
                    if message.canceled() {
                        let reason = format!("watch cancelled: {}", message.cancel_reason());
                        return Some((Err(Error::Etcd(reason)), (stream, true)));
                    }
                    if message.created() && message.events().is_empty() {
                        continue;
                    }
                    if message.events().is_empty() {
                        let revision = header_revision(message.header());
                        return Some((Ok(WatchResponse::Progress { revision }), (stream, false)));
                    }
                    let events = message
                        .events()
                        .iter()
                        .map(to_event)
                        .collect::<Result<Vec<_>>>();
                    let ended = events.is_err();
                    return Some((events.map(WatchResponse::Events), (stream, ended)));
                }
            })
            .boxed(),
        )
    }

    async fn compact(&self, revision: i64) -> Result<()> {
        self.kv()
            .compact(
                revision,
                Some(etcd::CompactionOptions::new().with_physical()),
            )
            .await
            .map_err(|e| convert_for(e, revision))?;
        Ok(())
    }

    async fn current_revision(&self) -> Result<i64> {
        let response = self
            .kv()
            .get("/", Some(etcd::GetOptions::new().with_count_only()))
            .await
            .map_err(convert)?;
        Ok(header_revision(response.header()))
    }
}

fn to_event(event: &etcd::Event) -> Result<Event> {
    let kv = event
        .kv()
        .ok_or_else(|| Error::Etcd("watch event without a key".into()))?;
    let kind = match event.event_type() {
        etcd::EventType::Put => EventKind::Put,
        etcd::EventType::Delete => EventKind::Delete,
    };
    Ok(Event {
        kind,
        kv: to_kv(kv)?,
        prev: event.prev_kv().map(to_kv).transpose()?,
    })
}

#[cfg(test)]
mod tests {
    use super::prefix_end;

    #[test]
    fn prefix_end_is_the_first_key_after_the_prefix() {
        assert_eq!(prefix_end("/registry/pods/"), b"/registry/pods0".to_vec());
        assert_eq!(prefix_end("/a\u{7f}"), b"/a\x80".to_vec());
    }
}
