//! Enrichment: before the business logic runs, the batch's products and
//! product models are read from the PIM in as few calls as the API allows
//! (one read for all the products, one for all the product models; each
//! entity once however many events name it), and each event gets what the
//! PIM has now. When the PIM cannot be read in time, those messages are
//! retried: no handler runs without the data it was promised.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use tokio::time::{Instant, timeout_at};
use tracing::{debug, warn};

use super::batch::{Batch, Verdict};
use crate::core::event::{Action, Current, Entity, PimEvent};
use crate::ports::pim::{Found, PimReadError, PimReader};

/// The reader and how long one batch may spend on it.
#[derive(Clone)]
pub struct Enrichment {
    reader: Arc<dyn PimReader>,
    budget: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Wanted {
    Product(String),
    ProductModel(String),
}

/// What an event should be given, if anything: products by uuid (compared in
/// lower case) and product models by code; never for deletions, nor for an
/// event that already carries the entity (a catch-up's).
fn wanted(event: &PimEvent) -> Option<Wanted> {
    // A catch-up event arrives with what the PIM answered moments before.
    if event.action == Action::Deleted || event.current.is_some() {
        return None;
    }
    match event.entity {
        Entity::Product => event
            .keys
            .uuid
            .as_deref()
            .map(|uuid| Wanted::Product(uuid.to_ascii_lowercase())),
        Entity::ProductModel => event.keys.code.clone().map(Wanted::ProductModel),
        Entity::Other(_) => None,
    }
}

/// Each key once, in batch order.
fn unique<'a>(keys: impl Iterator<Item = &'a String>) -> Vec<String> {
    let mut seen = HashSet::new();
    keys.filter(|key| seen.insert(*key)).cloned().collect()
}

impl Enrichment {
    /// Reads through `reader`, spending at most `budget` per batch.
    pub fn new(reader: Arc<dyn PimReader>, budget: Duration) -> Enrichment {
        Enrichment { reader, budget }
    }

    /// Gives every pending product and product model event its current state,
    /// or decides `Retry` for it; answers how many were retried.
    pub async fn enrich(&self, batch: &mut Batch) -> u64 {
        let wants: HashMap<usize, Wanted> = batch
            .pending()
            .iter()
            .enumerate()
            .filter_map(|(index, event)| Some((index, wanted((*event)?)?)))
            .collect();
        if wants.is_empty() {
            return 0;
        }
        let mut order: Vec<(&usize, &Wanted)> = wants.iter().collect();
        order.sort_by_key(|(index, _)| **index);
        let uuids = unique(order.iter().filter_map(|(_, want)| match want {
            Wanted::Product(uuid) => Some(uuid),
            Wanted::ProductModel(_) => None,
        }));
        let codes = unique(order.iter().filter_map(|(_, want)| match want {
            Wanted::ProductModel(code) => Some(code),
            Wanted::Product(_) => None,
        }));

        let started = Instant::now();
        let deadline = started + self.budget;
        let reader = self.reader.as_ref();
        let (products, models) = tokio::join!(
            read(&uuids, deadline, |keys| reader.products(keys, deadline)),
            read(&codes, deadline, |keys| reader.product_models(keys, deadline)),
        );
        debug!(
            products = uuids.len(),
            product_models = codes.len(),
            duration_ms = started.elapsed().as_millis() as u64,
            "batch read from the PIM"
        );

        let mut retries = Vec::new();
        for (index, event) in batch.pending_mut() {
            let Some(want) = wants.get(&index) else { continue };
            let (answer, key) = match want {
                Wanted::Product(uuid) => (&products, uuid),
                Wanted::ProductModel(code) => (&models, code),
            };
            match answer {
                Ok(found) => {
                    event.current = Some(match found.get(key) {
                        Some(raw) => Current::Found(Arc::clone(raw)),
                        None => Current::Gone,
                    });
                }
                Err(error) => retries.push((index, error.to_string())),
            }
        }
        if let Some((_, reason)) = retries.first() {
            warn!(
                reason = reason.as_str(),
                messages = retries.len(),
                "PIM not read; those messages will be retried"
            );
        }
        let retried = retries.len() as u64;
        for (index, reason) in retries {
            batch.decide(index, Verdict::Retry(reason));
        }
        retried
    }
}

/// One read, skipped when there is nothing to read, and bounded by the
/// deadline whatever the reader does.
async fn read<'a, F>(keys: &'a [String], deadline: Instant, call: F) -> Result<Found, PimReadError>
where
    F: FnOnce(&'a [String]) -> BoxFuture<'a, Result<Found, PimReadError>>,
{
    if keys.is_empty() {
        return Ok(Found::new());
    }
    timeout_at(deadline, call(keys))
        .await
        .unwrap_or_else(|_| Err(PimReadError::Unavailable("no answer before the deadline".into())))
}

#[cfg(test)]
mod tests;
