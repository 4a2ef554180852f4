//! How many client connections the server holds, and what happens at the limit.
//!
//! Each connection takes one of `max_connections` slots. At the limit:
//! 1. The connection idle the longest (no request in progress: between keep-alive requests, or
//!    not yet past its request head) is closed to make room, as nginx reuses idle connections
//!    when it runs out. Idle connections cost a client nothing to hold, so without this a few
//!    hundred sockets that never send a byte, or send a head one byte at a time, would lock
//!    every other client out until they time out; with it they only push each other out. A
//!    connection chosen just as its request arrives finishes that request first.
//! 2. If every slot has a request in progress, the new connection gets one of a small reserve of
//!    health-only slots: `/.well-known/spin/health` is answered, anything else gets 503 with
//!    `Retry-After`, and the connection is closed. So an orchestrator's health probe (a new
//!    connection and an immediate request) gets through however busy the server is.
//! 3. If the reserve is taken too, new connections wait in the listen backlog until a slot
//!    frees. Requests in progress are bounded by the body and request deadlines, and
//!    health-only connections by a short head deadline, so that wait is bounded as well.

use std::collections::BTreeMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};

/// Slots for health probes when every full slot is busy.
pub const HEALTH_ONLY_RESERVE: u32 = 16;

/// How long a health-only connection may take to send its request head.
pub const HEALTH_ONLY_HEAD_TIMEOUT: Duration = Duration::from_secs(2);

/// How long to wait for a connection told to make room. An idle one closes at once; one that
/// took a request at that very moment finishes it first, and meanwhile the newcomer is served
/// from the reserve.
const MAKE_ROOM_WAIT: Duration = Duration::from_millis(250);

/// The open connections and the rules for admitting more.
pub struct Connections {
    limit: u32,
    slots: Arc<Semaphore>,
    health_only: Arc<Semaphore>,
    idle: Arc<Mutex<IdleQueue>>,
}

/// What a newly accepted connection gets.
pub enum Admission {
    /// A slot: it is served in full.
    Full(Slot),
    /// A health-only slot: one request, health or 503.
    HealthOnly(OwnedSemaphorePermit),
}

/// Idle connections, oldest first; a connection's key changes each time it becomes idle.
#[derive(Default)]
struct IdleQueue {
    next_key: u64,
    oldest_first: BTreeMap<u64, Weak<Tracker>>,
}

/// What one connection is doing, as the admission rules see it.
struct Tracker {
    queue: Arc<Mutex<IdleQueue>>,
    activity: Mutex<Activity>,
    make_room: Notify,
}

#[derive(Default)]
struct Activity {
    requests_in_progress: usize,
    /// Its key in the idle queue while it has no request in progress.
    idle_key: Option<u64>,
}

impl Connections {
    /// Room for `limit` connections served in full (at least one), plus the health-only reserve.
    pub fn new(limit: u32) -> Self {
        let limit = limit.max(1);
        Connections {
            limit,
            slots: Arc::new(Semaphore::new(limit as usize)),
            health_only: Arc::new(Semaphore::new(HEALTH_ONLY_RESERVE as usize)),
            idle: Arc::default(),
        }
    }

    /// A place for a new connection, following the rules in the module docs; waits when there
    /// is none.
    pub async fn admit(&self) -> Admission {
        if let Ok(permit) = self.slots.clone().try_acquire_owned() {
            return self.full(permit);
        }
        if self.close_oldest_idle()
            && let Ok(Ok(permit)) =
                tokio::time::timeout(MAKE_ROOM_WAIT, self.slots.clone().acquire_owned()).await
        {
            return self.full(permit);
        }
        if let Ok(permit) = self.health_only.clone().try_acquire_owned() {
            return Admission::HealthOnly(permit);
        }
        // The semaphores are never closed, so acquiring only ever waits.
        tokio::select! {
            Ok(permit) = self.slots.clone().acquire_owned() => self.full(permit),
            Ok(permit) = self.health_only.clone().acquire_owned() => Admission::HealthOnly(permit),
        }
    }

    /// Resolves once every connection has closed.
    pub async fn all_closed(&self) {
        let _all = tokio::join!(
            self.slots.acquire_many(self.limit),
            self.health_only.acquire_many(HEALTH_ONLY_RESERVE)
        );
    }

    fn full(&self, permit: OwnedSemaphorePermit) -> Admission {
        let tracker = Arc::new(Tracker {
            queue: self.idle.clone(),
            activity: Mutex::default(),
            make_room: Notify::new(),
        });
        tracker.now_idle(&mut lock(&tracker.activity));
        Admission::Full(Slot { tracker, _permit: permit })
    }

    /// Tells the connection idle the longest to close; false when none is idle.
    fn close_oldest_idle(&self) -> bool {
        let mut queue = lock(&self.idle);
        while let Some((_, tracker)) = queue.oldest_first.pop_first() {
            if let Some(tracker) = tracker.upgrade() {
                tracker.make_room.notify_one();
                return true;
            }
        }
        false
    }
}

/// A connection's slot, held for as long as it is open.
pub struct Slot {
    tracker: Arc<Tracker>,
    _permit: OwnedSemaphorePermit,
}

impl Slot {
    /// Counts the requests of this connection (for the service that answers them).
    pub fn requests(&self) -> Requests {
        Requests(self.tracker.clone())
    }

    /// Whether no request is in progress on this connection.
    pub fn is_idle(&self) -> bool {
        lock(&self.tracker.activity).requests_in_progress == 0
    }

    /// Resolves when this connection is asked to close to make room for a new one.
    pub async fn asked_to_make_room(&self) {
        self.tracker.make_room.notified().await
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut activity = lock(&self.tracker.activity);
        if let Some(key) = activity.idle_key.take() {
            lock(&self.tracker.queue).oldest_first.remove(&key);
        }
    }
}

/// Marks the requests of one connection as they start and end.
#[derive(Clone)]
pub struct Requests(Arc<Tracker>);

impl Requests {
    /// A request has arrived; the connection is busy until the returned value is dropped (once
    /// its response is sent, see [`InProgress::wrap`]).
    pub fn start(&self) -> InProgress {
        let mut activity = lock(&self.0.activity);
        activity.requests_in_progress += 1;
        if let Some(key) = activity.idle_key.take() {
            lock(&self.0.queue).oldest_first.remove(&key);
        }
        InProgress(self.0.clone())
    }
}

/// A request in progress on a connection.
pub struct InProgress(Arc<Tracker>);

impl InProgress {
    /// A response body that keeps the request in progress until it is sent (or dropped).
    pub fn wrap<B>(self, body: B) -> InProgressBody<B> {
        InProgressBody { body, _request: self }
    }
}

impl Drop for InProgress {
    fn drop(&mut self) {
        let mut activity = lock(&self.0.activity);
        activity.requests_in_progress -= 1;
        if activity.requests_in_progress == 0 {
            self.0.now_idle(&mut activity);
        }
    }
}

impl Tracker {
    fn now_idle(self: &Arc<Self>, activity: &mut Activity) {
        let mut queue = lock(&self.queue);
        let key = queue.next_key;
        queue.next_key += 1;
        queue.oldest_first.insert(key, Arc::downgrade(self));
        activity.idle_key = Some(key);
    }
}

/// A response body whose request stays in progress until the body is done.
pub struct InProgressBody<B> {
    body: B,
    _request: InProgress,
}

impl<B: http_body::Body + Unpin> http_body::Body for InProgressBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

/// The state behind these locks stays consistent at every step, so a panic elsewhere while
/// holding one leaves nothing to repair.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The limit on open files, after raising the soft limit to the hard one (the soft default,
/// often 1024, is a compatibility setting for `select()`, which this server does not use).
/// `None` when there is no limit.
pub fn raise_open_files_limit() -> Option<u64> {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    if limit.maximum.is_some() && limit.current != limit.maximum {
        let raised = rustix::process::Rlimit { current: limit.maximum, maximum: limit.maximum };
        if let Err(error) = setrlimit(Resource::Nofile, raised) {
            tracing::debug!("cannot raise the open files limit: {error}");
        }
    }
    getrlimit(Resource::Nofile).current
}

/// The default `--max-connections`: three quarters of the open files limit, less the health
/// reserve. The rest is for what serving needs besides client sockets: database files (three
/// per pooled SQLite connection), outbound connections, compiled components, logs. Without a
/// limit, 2^20 (a common hard limit on Linux).
pub fn default_max_connections(open_files_limit: Option<u64>) -> u32 {
    let open_files = open_files_limit.unwrap_or(1 << 20);
    let connections = (open_files / 4 * 3).saturating_sub(u64::from(HEALTH_ONLY_RESERVE));
    u32::try_from(connections).unwrap_or(u32::MAX).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slot(admission: Admission) -> Slot {
        match admission {
            Admission::Full(slot) => slot,
            Admission::HealthOnly(_) => panic!("expected a full slot"),
        }
    }

    #[tokio::test]
    async fn at_the_limit_the_oldest_idle_connection_makes_room() {
        let connections = Connections::new(2);
        let oldest = slot(connections.admit().await);
        let busy = slot(connections.admit().await);
        let _request = busy.requests().start();
        let asked = tokio::spawn(async move {
            oldest.asked_to_make_room().await;
            // The connection closes: its slot frees.
            drop(oldest);
        });
        // The third connection gets the idle one's slot, not the busy one's.
        let third = connections.admit().await;
        assert!(matches!(third, Admission::Full(_)));
        asked.await.unwrap();
    }

    #[tokio::test]
    async fn when_every_connection_is_busy_newcomers_get_health_only_slots_then_wait() {
        let connections = Connections::new(1);
        let busy = slot(connections.admit().await);
        let request = busy.requests().start();
        let mut reserve = Vec::new();
        for _ in 0..HEALTH_ONLY_RESERVE {
            match connections.admit().await {
                Admission::HealthOnly(permit) => reserve.push(permit),
                Admission::Full(_) => panic!("the only slot is busy"),
            }
        }
        let waiting = tokio::time::timeout(Duration::from_millis(50), connections.admit());
        assert!(waiting.await.is_err(), "no slot and no reserve: wait");
        reserve.pop();
        assert!(matches!(connections.admit().await, Admission::HealthOnly(_)));
        // Once its response is sent, the busy connection is idle and makes room.
        drop(request);
        let closing = tokio::spawn(async move {
            busy.asked_to_make_room().await;
            drop(busy);
        });
        assert!(matches!(connections.admit().await, Admission::Full(_)));
        closing.await.unwrap();
    }

    #[tokio::test]
    async fn all_closed_waits_for_every_slot() {
        let connections = Connections::new(3);
        let open = slot(connections.admit().await);
        let closed = tokio::time::timeout(Duration::from_millis(50), connections.all_closed());
        assert!(closed.await.is_err(), "one connection is still open");
        drop(open);
        tokio::time::timeout(Duration::from_secs(1), connections.all_closed()).await.unwrap();
    }

    #[test]
    fn default_limit_leaves_a_quarter_of_the_files_for_the_rest() {
        assert_eq!(default_max_connections(Some(20_000)), 15_000 - 16);
        assert_eq!(default_max_connections(Some(1024)), 768 - 16);
        assert_eq!(default_max_connections(Some(8)), 1);
        assert_eq!(default_max_connections(None), (1 << 20) / 4 * 3 - 16);
    }
}
