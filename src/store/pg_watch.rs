//! A PostgreSQL server that accepted the connection and then stops
//! answering (a backend stuck on its disk, a proxy that holds the socket
//! open) would leave a command waiting forever: the driver has no
//! deadline of its own, TCP keepalives only catch a peer that is gone,
//! and the server's `lock_timeout` only works on a server that works. A
//! checker hung in cron is a silent checker. So every call that waits on
//! the server runs under a [`Watch`]: a thread that, when one call has
//! waited longer than the allowance, hands a one-line message to the
//! handler the command layer installed ([`on_stall`]), which ends the
//! process. Without a handler (library use, unit tests) nothing is
//! watched.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::time::{Duration, Instant};

/// What to do with a stalled server: called once with the message, on the
/// watch's thread; expected not to return (it ends the process).
pub type StallHandler = fn(&str);

static HANDLER: OnceLock<(StallHandler, Duration)> = OnceLock::new();

/// Watch every PostgreSQL store opened from now on: a call that gets no
/// answer for `allowance` beyond the store's busy timeout (which bounds
/// its lock waits) goes to `handler`. The first installation wins.
pub fn on_stall(handler: StallHandler, allowance: Duration) {
    let _ = HANDLER.set((handler, allowance));
}

/// One store's watch; clones share it.
#[derive(Clone, Default)]
pub struct Watch(Option<Arc<Inner>>);

/// Marking a call costs two atomic stores (no lock, no wake-up: a check
/// makes thousands of calls); the thread looks a few times per allowance.
struct Inner {
    base: Instant,
    /// When the call in flight started, in nanoseconds after `base`, plus
    /// one (0: no call in flight).
    since: AtomicU64,
    /// The call in flight is a COMMIT: its outcome is unknown if it stalls.
    committing: AtomicBool,
    allowed: Duration,
    shown: String,
    handler: StallHandler,
}

impl Watch {
    /// A watch for the server `shown`, whose lock waits last up to
    /// `busy_timeout`; unwatched when no handler is installed.
    pub fn new(shown: &str, busy_timeout: Duration) -> Watch {
        let Some(&(handler, allowance)) = HANDLER.get() else {
            return Watch(None);
        };
        let allowed = busy_timeout.saturating_add(allowance);
        let inner = Arc::new(Inner {
            base: Instant::now(),
            since: AtomicU64::new(0),
            committing: AtomicBool::new(false),
            allowed,
            shown: shown.to_string(),
            handler,
        });
        // The thread holds no strong reference: it ends once the store
        // (opened, or failed to open) and its transactions are gone.
        let watched = Arc::downgrade(&inner);
        let spawned = std::thread::Builder::new()
            .name("escalate-pg-watch".into())
            .spawn(move || watch(&watched, allowed));
        // No thread, no watch: the command still runs, as it did before.
        Watch(spawned.ok().map(|_| inner))
    }

    /// Mark a call that waits on the server, until the guard is dropped.
    pub fn during(&self) -> Guard<'_> {
        self.mark(false)
    }

    /// [`Watch::during`] for a COMMIT, whose stall is reported as such.
    pub fn during_commit(&self) -> Guard<'_> {
        self.mark(true)
    }

    fn mark(&self, committing: bool) -> Guard<'_> {
        if let Some(inner) = &self.0 {
            let at = u64::try_from(inner.base.elapsed().as_nanos()).unwrap_or(u64::MAX - 1);
            inner.committing.store(committing, Ordering::Relaxed);
            inner.since.store(at + 1, Ordering::Relaxed);
        }
        Guard(self)
    }
}

/// See [`Watch::during`].
pub struct Guard<'w>(&'w Watch);

impl Drop for Guard<'_> {
    fn drop(&mut self) {
        if let Some(inner) = &self.0 .0 {
            inner.since.store(0, Ordering::Relaxed);
        }
    }
}

fn watch(inner: &Weak<Inner>, allowed: Duration) {
    // A stall is reported at most this late.
    let step = (allowed / 8).clamp(Duration::from_millis(10), Duration::from_secs(1));
    loop {
        std::thread::sleep(step);
        let Some(inner) = inner.upgrade() else {
            return;
        };
        let since = inner.since.load(Ordering::Relaxed);
        if since == 0 {
            continue;
        }
        let started = inner.base + Duration::from_nanos(since - 1);
        if started.elapsed() >= inner.allowed {
            (inner.handler)(&message(&inner));
            return;
        }
    }
}

fn message(inner: &Inner) -> String {
    let secs = inner.allowed.as_secs_f64().ceil();
    let shown = &inner.shown;
    if inner.committing.load(Ordering::Relaxed) {
        format!(
            "database {shown} did not answer a commit for {secs} s; gave up: whether this \
             command's last change was committed is unknown until the server answers again"
        )
    } else {
        format!(
            "database {shown} did not answer for {secs} s; gave up (the server rolls back what \
             this command had not committed)"
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    static STALLS: AtomicUsize = AtomicUsize::new(0);

    fn count(_: &str) {
        STALLS.fetch_add(1, Ordering::SeqCst);
    }

    /// One process-wide handler, so one test covers both sides: calls
    /// that answer in time are never reported, one that hangs is, once.
    #[test]
    fn only_a_call_past_its_allowance_is_reported() {
        on_stall(count, Duration::from_millis(500));
        let watch = Watch::new("postgres://h/db", Duration::ZERO);
        for _ in 0..5 {
            let _g = watch.during();
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::sleep(Duration::from_millis(700));
        assert_eq!(STALLS.load(Ordering::SeqCst), 0, "answered calls reported");
        {
            let _g = watch.during();
            std::thread::sleep(Duration::from_millis(1500));
        }
        assert_eq!(STALLS.load(Ordering::SeqCst), 1, "a hung call not reported");
        let inner = watch.0.as_ref().expect("watched");
        assert!(message(inner).contains("rolls back what this command had not committed"));
        drop(watch.during_commit());
        assert!(
            message(inner).contains("did not answer a commit"),
            "{}",
            message(inner)
        );
    }
}
