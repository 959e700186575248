//! Many requests at once: the bench suites' client pool.

use crate::http::Api;
use http::Method;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Runs `count` requests on `clients` concurrent tasks; `make(i)` gives request `i`.
pub(crate) async fn parallel(
    api: &Api,
    clients: usize,
    count: usize,
    make: impl Fn(usize) -> (Method, String, Option<Value>) + Send + Sync + 'static,
) -> anyhow::Result<HashMap<usize, Instant>> {
    let make = Arc::new(make);
    let next = Arc::new(AtomicUsize::new(0));
    let sent = Arc::new(Mutex::new(HashMap::with_capacity(count)));
    let tasks: Vec<_> = (0..clients.max(1))
        .map(|_| {
            let (api, make, next, sent) = (
                api.clone(),
                Arc::clone(&make),
                Arc::clone(&next),
                Arc::clone(&sent),
            );
            tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= count {
                        return anyhow::Ok(());
                    }
                    let (method, path, body) = make(i);
                    let at = Instant::now();
                    api.expect(method, &path, body.as_ref()).await?;
                    sent.lock()
                        .map_err(|_| anyhow::anyhow!("poisoned"))?
                        .insert(i, at);
                }
            })
        })
        .collect();
    for task in tasks {
        task.await??;
    }
    let sent = std::mem::take(&mut *sent.lock().map_err(|_| anyhow::anyhow!("poisoned"))?);
    Ok(sent)
}
