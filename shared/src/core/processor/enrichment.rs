//! Enrichment: before the business logic runs, the batch's products and
//! product models are read from the PIM in as few calls as the API allows
//! (one read for all the products, one for all the product models; each
//! entity once however many events name it), and each event gets what the
//! PIM has now. When the PIM cannot be read in time, those messages are
//! retried: no handler runs without the data it was promised. A tenant's
//! events are read from that tenant's PIM (see [`crate::core::tenant`]).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use tokio::time::{Instant, timeout_at};
use tracing::{debug, warn};

use super::batch::{Batch, Verdict};
use crate::core::event::{Action, Current, Entity, PimEvent};
use crate::ports::pim::{Found, PimReadError, PimReader, TenantPims, TenantReader};

/// The readers and how long one batch may spend on them: the deployment's
/// own PIM for events without a tenant, each tenant's for theirs.
#[derive(Clone)]
pub struct Enrichment {
    reader: Option<Arc<dyn PimReader>>,
    tenants: Option<Arc<dyn TenantPims>>,
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

/// One PIM's answers for its share of the batch.
struct Answers {
    products: Result<Found, PimReadError>,
    models: Result<Found, PimReadError>,
}

impl Enrichment {
    /// Reads through `reader`, spending at most `budget` per batch.
    pub fn new(reader: Arc<dyn PimReader>, budget: Duration) -> Enrichment {
        Enrichment {
            reader: Some(reader),
            tenants: None,
            budget,
        }
    }

    /// Reads each tenant's events from its own PIM, spending at most
    /// `budget` per batch; events without a tenant are not enriched.
    pub fn for_tenants(tenants: Arc<dyn TenantPims>, budget: Duration) -> Enrichment {
        Enrichment {
            reader: None,
            tenants: Some(tenants),
            budget,
        }
    }

    /// Keeps `other`'s tenants (the processor's builder calls come in any
    /// order).
    pub fn with_tenants_of(mut self, other: Enrichment) -> Enrichment {
        self.tenants = other.tenants;
        self
    }

    /// Also reads each tenant's events from its own PIM.
    pub fn with_tenants(mut self, tenants: Arc<dyn TenantPims>) -> Enrichment {
        self.tenants = Some(tenants);
        self
    }

    /// The reader of `tenant`'s events: `Err` (why) when they must wait.
    fn reader_for(&self, tenant: Option<&str>) -> Result<Option<Arc<dyn PimReader>>, String> {
        let Some(tenant) = tenant else {
            return Ok(self.reader.clone());
        };
        let Some(tenants) = &self.tenants else {
            return Err(format!("tenant {tenant:?}: this processor has no tenants"));
        };
        match tenants.reader(tenant) {
            TenantReader::Connected(reader) => Ok(Some(reader)),
            TenantReader::NoConnection => Ok(None),
            TenantReader::Unknown => Err(format!("tenant {tenant:?} is not known to this processor (yet)")),
        }
    }

    /// Gives every pending product and product model event its current state
    /// from its own PIM (the batch's tenants read side by side), or decides
    /// `Retry` for it; answers how many were retried.
    pub async fn enrich(&self, batch: &mut Batch) -> u64 {
        let wants: HashMap<usize, (Option<String>, Wanted)> = batch
            .pending()
            .iter()
            .enumerate()
            .filter_map(|(index, event)| {
                let event = (*event)?;
                Some((index, (event.tenant.clone(), wanted(event)?)))
            })
            .collect();
        if wants.is_empty() {
            return 0;
        }
        let mut order: Vec<(&usize, &(Option<String>, Wanted))> = wants.iter().collect();
        order.sort_by_key(|(index, _)| **index);
        let mut tenants: Vec<Option<&str>> = Vec::new();
        for (_, (tenant, _)) in &order {
            if !tenants.contains(&tenant.as_deref()) {
                tenants.push(tenant.as_deref());
            }
        }

        let started = Instant::now();
        let deadline = started + self.budget;
        let mut waiting: HashMap<Option<&str>, String> = HashMap::new();
        let mut reads = Vec::new();
        for tenant in tenants {
            let reader = match self.reader_for(tenant) {
                Ok(Some(reader)) => reader,
                // No connection: left without `current`, as without enrichment.
                Ok(None) => continue,
                Err(reason) => {
                    waiting.insert(tenant, reason);
                    continue;
                }
            };
            let mine = || order.iter().filter(|(_, (t, _))| t.as_deref() == tenant);
            let uuids = unique(mine().filter_map(|(_, (_, want))| match want {
                Wanted::Product(uuid) => Some(uuid),
                Wanted::ProductModel(_) => None,
            }));
            let codes = unique(mine().filter_map(|(_, (_, want))| match want {
                Wanted::ProductModel(code) => Some(code),
                Wanted::Product(_) => None,
            }));
            reads.push(async move {
                let reader = reader.as_ref();
                let (products, models) = tokio::join!(
                    read(&uuids, deadline, |keys| reader.products(keys, deadline)),
                    read(&codes, deadline, |keys| reader.product_models(keys, deadline)),
                );
                (tenant, Answers { products, models })
            });
        }
        let answers: HashMap<Option<&str>, Answers> =
            futures::future::join_all(reads).await.into_iter().collect();
        debug!(
            events = wants.len(),
            duration_ms = started.elapsed().as_millis() as u64,
            "batch read from the PIM"
        );

        let mut retries = Vec::new();
        for (index, event) in batch.pending_mut() {
            let Some((tenant, want)) = wants.get(&index) else {
                continue;
            };
            if let Some(reason) = waiting.get(&tenant.as_deref()) {
                retries.push((index, reason.clone()));
                continue;
            }
            let Some(answers) = answers.get(&tenant.as_deref()) else {
                continue;
            };
            let (answer, key) = match want {
                Wanted::Product(uuid) => (&answers.products, uuid),
                Wanted::ProductModel(code) => (&answers.models, code),
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
