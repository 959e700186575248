//! The store, with values under encrypted resources transformed on their way in and out.

use super::config::EncryptionConfig;
use futures::StreamExt;
use gantry_store::{
    Error, KeyValue, Op, RangeRequest, RangeResponse, Result, Store, Txn, TxnResponse,
    WatchRequest, WatchResponse, WatchStream,
};
use std::sync::Arc;

/// A store that encrypts as `config` says.
#[derive(Debug, Clone)]
pub struct EncryptingStore {
    inner: Arc<dyn Store>,
    config: Arc<EncryptionConfig>,
}

impl EncryptingStore {
    /// `inner`, encrypting as `config` says.
    pub fn new(inner: Arc<dyn Store>, config: EncryptionConfig) -> Self {
        Self {
            inner,
            config: Arc::new(config),
        }
    }
}

fn reveal(config: &EncryptionConfig, kv: &mut KeyValue) -> Result<()> {
    if kv.value.is_empty() {
        return Ok(());
    }
    if let Some(rule) = config.rule_for(&kv.key) {
        let plain = rule.decrypt(&kv.key, &kv.value).map_err(Error::Transform)?;
        kv.value = plain.into();
    }
    Ok(())
}

#[async_trait::async_trait]
impl Store for EncryptingStore {
    async fn range(&self, request: RangeRequest) -> Result<RangeResponse> {
        let mut response = self.inner.range(request).await?;
        for kv in &mut response.kvs {
            reveal(&self.config, kv)?;
        }
        Ok(response)
    }

    async fn txn(&self, mut txn: Txn) -> Result<TxnResponse> {
        for op in &mut txn.ops {
            if let Op::Put { key, value } = op
                && let Some(rule) = self.config.rule_for(key)
            {
                *value = rule.encrypt(key, value).map_err(Error::Transform)?.into();
            }
        }
        let mut response = self.inner.txn(txn).await?;
        for kv in response
            .prev
            .iter_mut()
            .flatten()
            .chain(response.current.iter_mut())
        {
            reveal(&self.config, kv)?;
        }
        Ok(response)
    }

    async fn watch(&self, request: WatchRequest) -> Result<WatchStream> {
        let config = Arc::clone(&self.config);
        let stream = self.inner.watch(request).await?;
        Ok(stream
            .map(move |item| {
                let mut events = match item? {
                    WatchResponse::Events(events) => events,
                    other => return Ok(other),
                };
                for event in &mut events {
                    reveal(&config, &mut event.kv)?;
                    if let Some(prev) = event.prev.as_mut() {
                        reveal(&config, prev)?;
                    }
                }
                Ok(WatchResponse::Events(events))
            })
            .boxed())
    }

    async fn compact(&self, revision: i64) -> Result<()> {
        self.inner.compact(revision).await
    }

    async fn current_revision(&self) -> Result<i64> {
        self.inner.current_revision().await
    }
}
