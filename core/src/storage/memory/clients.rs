//! The memory store's registered clients, handed to each thread through handles of its own.
//!
//! Every token request looks its client up and holds it until the response. With one shared
//! `Arc<dyn Client>` per client, two threads serving the same client would write to the same
//! cache lines on every request (the map's lock word, the client's reference count, its id's
//! and scope's reference counts) and pass them back and forth between cores. Here a thread
//! gets its own handle per client: an `Arc` of its own that forwards to the shared client,
//! with its own copies of the id and scope that token records share. A handle is made once per
//! thread and client; a lookup after that writes only memory the thread owns.

use super::AddClientError;
use crate::client::Client;
use crate::grant_type::{ClientAuthMethod, GrantType, ResponseType};
use crate::scope::Scope;
use crate::secret::Secret;
use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

/// Handles one thread keeps for one store, at most; past this that store's handles start
/// afresh, so a thread serving a huge client base holds a bounded cache.
const MAX_HANDLES_PER_STORE: usize = 4096;
/// Stores one thread keeps handles for, at most; past this every cache starts afresh, so the
/// handles of dropped stores do not pile up in long-lived threads.
const MAX_STORES_PER_THREAD: usize = 64;

static NEXT_REGISTRY: AtomicU64 = AtomicU64::new(0);

/// One thread's handles, by client id.
type Handles = HashMap<Box<str>, Arc<dyn Client>>;

thread_local! {
    /// Per store (by [`ClientRegistry::id`]), this thread's handles. A list, not a map: a
    /// thread nearly always serves one store, found at the first comparison.
    static HANDLES: RefCell<Vec<(u64, Handles)>> = const { RefCell::new(Vec::new()) };
}

/// The registered clients. A registration is never changed or removed once made, so a handle
/// stays valid as long as the store lives; a removal would have to invalidate the handles.
pub(super) struct ClientRegistry {
    /// Tells this store's handles apart from other stores' in the thread-local caches.
    id: u64,
    shared: RwLock<HashMap<Arc<str>, Arc<dyn Client>>>,
}

impl ClientRegistry {
    pub(super) fn new() -> Self {
        ClientRegistry { id: NEXT_REGISTRY.fetch_add(1, Ordering::Relaxed), shared: RwLock::default() }
    }

    /// Registers `client`, refusing a second client with the same id.
    pub(super) fn insert(&self, client: Arc<dyn Client>) -> Result<(), AddClientError> {
        let mut clients = self.shared.write().unwrap_or_else(PoisonError::into_inner);
        let id: Arc<str> = Arc::from(client.client_id());
        if clients.contains_key(&id) {
            return Err(AddClientError::Duplicate(id.to_string()));
        }
        clients.insert(id, client);
        Ok(())
    }

    /// The client registered as `client_id`, as this thread's handle on it.
    pub(super) fn get(&self, client_id: &str) -> Option<Arc<dyn Client>> {
        let cached = HANDLES.try_with(|handles| {
            let handles = handles.borrow();
            let clients = handles.iter().find(|(store, _)| *store == self.id).map(|(_, clients)| clients);
            clients.and_then(|clients| clients.get(client_id)).cloned()
        });
        match cached {
            Ok(Some(handle)) => Some(handle),
            // Thread-local storage is gone while the thread exits: use the shared client.
            Err(_) => self.shared_client(client_id),
            Ok(None) => {
                let handle: Arc<dyn Client> = Arc::new(LocalClient::new(self.shared_client(client_id)?));
                // Made outside the cache's borrow: the client's own methods run while making it.
                let _ = HANDLES.try_with(|handles| self.keep(&mut handles.borrow_mut(), client_id, &handle));
                Some(handle)
            }
        }
    }

    fn shared_client(&self, client_id: &str) -> Option<Arc<dyn Client>> {
        self.shared.read().unwrap_or_else(PoisonError::into_inner).get(client_id).cloned()
    }

    fn keep(&self, handles: &mut Vec<(u64, Handles)>, client_id: &str, handle: &Arc<dyn Client>) {
        let index = match handles.iter().position(|(store, _)| *store == self.id) {
            Some(index) => index,
            None => {
                if handles.len() >= MAX_STORES_PER_THREAD {
                    handles.clear();
                }
                handles.push((self.id, Handles::new()));
                handles.len() - 1
            }
        };
        let clients = &mut handles[index].1;
        if clients.len() >= MAX_HANDLES_PER_STORE {
            clients.clear();
        }
        clients.insert(client_id.into(), handle.clone());
    }
}

/// One thread's handle on a shared client: every question is forwarded to the client, but the
/// reference counts written per request (the handle's, its id's, its scope's) are the thread's
/// own. Every [`Client`] method is forwarded, defaults included, so a client's own answers
/// come through unchanged.
struct LocalClient {
    shared: Arc<dyn Client>,
    id: Arc<str>,
    allowed_scope: Scope,
}

impl LocalClient {
    fn new(shared: Arc<dyn Client>) -> Self {
        let id = Arc::from(shared.client_id());
        let allowed = shared.allowed_scope();
        // A copy, not a clone, so the thread's tokens do not share the client's scope string.
        let allowed_scope = Scope::parse(allowed.as_str()).unwrap_or_else(|_| allowed.clone());
        LocalClient { shared, id, allowed_scope }
    }
}

impl fmt::Debug for LocalClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.shared.fmt(f)
    }
}

impl Client for LocalClient {
    fn client_id(&self) -> &str {
        &self.id
    }

    fn shared_client_id(&self) -> Arc<str> {
        self.id.clone()
    }

    fn check_secret(&self, presented: &str) -> bool {
        self.shared.check_secret(presented)
    }

    fn shared_secret(&self) -> Option<&Secret> {
        self.shared.shared_secret()
    }

    fn token_endpoint_auth_method(&self) -> &ClientAuthMethod {
        self.shared.token_endpoint_auth_method()
    }

    fn is_public(&self) -> bool {
        self.shared.is_public()
    }

    fn redirect_uris(&self) -> &[String] {
        self.shared.redirect_uris()
    }

    fn allowed_scope(&self) -> &Scope {
        &self.allowed_scope
    }

    fn allows_grant_type(&self, grant_type: &GrantType) -> bool {
        self.shared.allows_grant_type(grant_type)
    }

    fn allows_response_type(&self, response_type: &ResponseType) -> bool {
        self.shared.allows_response_type(response_type)
    }

    fn metadata(&self, name: &str) -> Option<&serde_json::Value> {
        self.shared.metadata(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::ClientRecord;

    fn registry() -> ClientRegistry {
        let registry = ClientRegistry::new();
        let record = ClientRecord::confidential("svc", "svc-secret")
            .with_scope("read write")
            .with_grant_types([GrantType::CLIENT_CREDENTIALS])
            .with_metadata("jwks", serde_json::json!({"keys": []}));
        registry.insert(Arc::new(record)).unwrap();
        registry
    }

    #[test]
    fn a_handle_answers_as_the_client_does() {
        let registry = registry();
        let shared = registry.shared_client("svc").unwrap();
        let handle = registry.get("svc").unwrap();
        assert_eq!(handle.client_id(), "svc");
        assert_eq!(&*handle.shared_client_id(), "svc");
        assert!(handle.check_secret("svc-secret") && !handle.check_secret("wrong"));
        assert_eq!(handle.shared_secret().map(Secret::expose), shared.shared_secret().map(Secret::expose));
        assert_eq!(handle.token_endpoint_auth_method(), shared.token_endpoint_auth_method());
        assert_eq!(handle.is_public(), shared.is_public());
        assert_eq!(handle.redirect_uris(), shared.redirect_uris());
        assert_eq!(handle.allowed_scope(), shared.allowed_scope());
        assert!(handle.allows_grant_type(&GrantType::CLIENT_CREDENTIALS));
        assert!(!handle.allows_grant_type(&GrantType::REFRESH_TOKEN));
        assert_eq!(handle.metadata("jwks"), shared.metadata("jwks"));
        assert_eq!(format!("{handle:?}"), format!("{shared:?}"));
        assert!(!format!("{handle:?}").contains("svc-secret"));
        assert!(registry.get("nobody").is_none());
    }

    #[test]
    fn a_thread_reuses_its_handle_and_owns_what_it_shares() {
        let registry = registry();
        let first = registry.get("svc").unwrap();
        let again = registry.get("svc").unwrap();
        assert!(Arc::ptr_eq(&first, &again), "one handle per thread and client");
        let shared = registry.shared_client("svc").unwrap();
        assert!(!Arc::ptr_eq(&first.shared_client_id(), &shared.shared_client_id()));
        let other = std::thread::scope(|s| s.spawn(|| registry.get("svc").unwrap()).join().unwrap());
        assert!(!Arc::ptr_eq(&first, &other), "another thread gets its own handle");
        assert_eq!(other.client_id(), "svc");
    }

    #[test]
    fn a_thread_keeps_a_bounded_number_of_handles() {
        let registry = ClientRegistry::new();
        let count = MAX_HANDLES_PER_STORE + 10;
        for i in 0..count {
            registry.insert(Arc::new(ClientRecord::public(format!("c{i}")))).unwrap();
        }
        let cached = || {
            HANDLES.with(|h| {
                h.borrow().iter().find(|(store, _)| *store == registry.id).map_or(0, |(_, clients)| clients.len())
            })
        };
        for i in 0..count {
            let id = format!("c{i}");
            assert_eq!(registry.get(&id).map(|c| c.client_id().to_owned()), Some(id));
            assert!(cached() <= MAX_HANDLES_PER_STORE);
        }
        // Past the bound the cache started afresh, and what it dropped is still found.
        assert!(cached() < MAX_HANDLES_PER_STORE);
        assert_eq!(registry.get("c0").map(|c| c.client_id().to_owned()), Some("c0".to_owned()));
    }

    #[test]
    fn a_thread_keeps_handles_for_a_bounded_number_of_stores() {
        let registries: Vec<ClientRegistry> = (0..MAX_STORES_PER_THREAD + 3).map(|_| registry()).collect();
        for registry in &registries {
            assert!(registry.get("svc").is_some());
            assert!(HANDLES.with(|h| h.borrow().len()) <= MAX_STORES_PER_THREAD);
        }
        assert!(registries.iter().all(|registry| registry.get("svc").is_some()));
    }

    #[test]
    fn stores_keep_their_own_handles() {
        let (a, b) = (registry(), ClientRegistry::new());
        assert!(a.get("svc").is_some());
        assert!(b.get("svc").is_none(), "a handle of one store is not found through another");
        assert!(matches!(
            a.insert(Arc::new(ClientRecord::public("svc"))),
            Err(AddClientError::Duplicate(id)) if id == "svc"
        ));
    }
}
