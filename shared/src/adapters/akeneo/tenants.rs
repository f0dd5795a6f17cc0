//! Each tenant's PIM connection (see [`crate::core::tenant`]): one client per
//! tenant, each with its own token and its own limit on calls in flight, so
//! one tenant's reads never wait for another's. Read from the secret
//! document at init, and again (at most every 30 s) when an event names a
//! tenant added since.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use futures::future::BoxFuture;
use tokio::time::Instant;

use super::{ConnectionSettings, PimClient, PimError};
use crate::core::tenant::{TenantPim, pim_connections};
use crate::ports::pim::{PimReader, TenantPages, TenantPims, TenantReader, UpdatedPages};

/// An unknown tenant makes the document be read again, at most this often:
/// anyone's event can name one.
const RELOAD_AT_MOST_EVERY: Duration = Duration::from_secs(30);

/// Reads the document again: its text, or why not (never a value).
pub type DocumentReload = Arc<dyn Fn() -> BoxFuture<'static, Result<String, String>> + Send + Sync>;

/// Each tenant's client, by name (`None`: the tenant has no connection).
type Clients = HashMap<String, Option<Arc<PimClient>>>;

/// The tenants' PIM clients; cheap to clone.
#[derive(Clone)]
pub struct TenantConnections {
    inner: Arc<Inner>,
}

struct Inner {
    clients: RwLock<Arc<Clients>>,
    settings: ConnectionSettings,
    reload: Option<DocumentReload>,
    loaded_at: Mutex<Instant>,
    reloading: AtomicBool,
}

impl std::fmt::Debug for TenantConnections {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TenantConnections")
            .field("tenants", &self.tenants())
            .finish()
    }
}

impl TenantConnections {
    /// The clients of `tenants`' connections, each with `settings`; read
    /// again through `reload` when an event names a tenant not among them.
    pub fn new(
        tenants: &BTreeMap<String, Option<TenantPim>>,
        settings: ConnectionSettings,
        reload: Option<DocumentReload>,
    ) -> Result<TenantConnections, PimError> {
        let clients = clients(tenants, &settings)?;
        Ok(TenantConnections {
            inner: Arc::new(Inner {
                clients: RwLock::new(Arc::new(clients)),
                settings,
                reload,
                loaded_at: Mutex::new(Instant::now()),
                reloading: AtomicBool::new(false),
            }),
        })
    }

    /// The tenants' names, sorted.
    pub fn tenants(&self) -> Vec<String> {
        let mut names: Vec<String> = self.clients().keys().cloned().collect();
        names.sort();
        names
    }

    /// `tenant`'s client; `None` when unknown or without a connection.
    pub fn client(&self, tenant: &str) -> Option<Arc<PimClient>> {
        self.clients().get(tenant).cloned().flatten()
    }

    fn clients(&self) -> Arc<Clients> {
        Arc::clone(&self.inner.clients.read().unwrap_or_else(|p| p.into_inner()))
    }

    fn reload_soon(&self) {
        let Some(reload) = &self.inner.reload else {
            return;
        };
        let loaded_at = *self.inner.loaded_at.lock().unwrap_or_else(|p| p.into_inner());
        if loaded_at.elapsed() < RELOAD_AT_MOST_EVERY || self.inner.reloading.swap(true, Ordering::AcqRel) {
            return;
        }
        let inner = Arc::clone(&self.inner);
        let reload = Arc::clone(reload);
        tokio::spawn(async move {
            let read = reload().await.and_then(|text| {
                let tenants = pim_connections(&text).map_err(|e| e.to_string())?;
                clients(&tenants, &inner.settings).map_err(|e| e.to_string())
            });
            match read {
                Ok(clients) => {
                    tracing::info!(tenants = clients.len(), "tenants' PIM connections read again");
                    *inner.clients.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(clients);
                }
                Err(reason) => tracing::warn!(%reason, "tenants not read again; keeping the current ones"),
            }
            *inner.loaded_at.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now();
            inner.reloading.store(false, Ordering::Release);
        });
    }
}

fn clients(
    tenants: &BTreeMap<String, Option<TenantPim>>,
    settings: &ConnectionSettings,
) -> Result<Clients, PimError> {
    tenants
        .iter()
        .map(|(name, pim)| {
            let client = match pim {
                Some(pim) => Some(Arc::new(PimClient::new(&pim.url, &pim.credentials, *settings)?)),
                None => None,
            };
            Ok((name.clone(), client))
        })
        .collect()
}

impl TenantPims for TenantConnections {
    fn reader(&self, tenant: &str) -> TenantReader {
        match self.clients().get(tenant) {
            Some(Some(client)) => TenantReader::Connected(Arc::clone(client) as Arc<dyn PimReader>),
            Some(None) => TenantReader::NoConnection,
            None => {
                self.reload_soon();
                TenantReader::Unknown
            }
        }
    }
}

impl TenantPages for TenantConnections {
    fn pages(&self, tenant: &str) -> Option<(Arc<dyn UpdatedPages>, String)> {
        let client = self.client(tenant)?;
        let url = client.url().to_owned();
        Some((client as Arc<dyn UpdatedPages>, url))
    }
}
