//! The live feed: case events published after their transaction committed, each with an id
//! (`<boot>-<n>`), kept in a bounded window so that a client reconnecting with `Last-Event-ID`
//! gets what it missed, and filtered by who may see the case.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use tokio::sync::broadcast;
use urbis_domain::role::Actor;
use urbis_domain::workflow::{self, CaseFacts};
use urbis_storage::cases::CaseRow;

/// How many recent events a reconnecting client can catch up on.
pub const REPLAY_WINDOW: usize = 1024;

/// A change to a case, broadcast to live listeners (dashboard feeds).
#[derive(Debug, Clone)]
pub struct CaseEvent {
    /// Position in this process's feed; assigned when published.
    pub seq: u64,
    pub case_id: i64,
    pub number: String,
    pub action: String,
    pub state: String,
    pub at: DateTime<Utc>,
    /// The case as the change left it: who may see the event.
    pub facts: CaseFacts,
}

impl CaseEvent {
    /// The event of `action` on a case as stored after it.
    pub fn of(row: &CaseRow, action: &str, at: DateTime<Utc>) -> CaseEvent {
        CaseEvent {
            seq: 0,
            case_id: row.id,
            number: row.number.clone(),
            action: action.to_owned(),
            state: row.state.as_str().to_owned(),
            at,
            facts: crate::case_rows::facts_of(row),
        }
    }

    /// Whether `actor` may see this event (the same rule as reading the case).
    pub fn visible_to(&self, actor: &Actor) -> bool {
        workflow::can_view(actor, &self.facts)
    }
}

/// What a new listener gets: the events it missed (when it said where it was), whether it
/// missed more than the window holds, and the live receiver.
pub struct Subscription {
    pub missed: Vec<Arc<CaseEvent>>,
    /// The client's last event is unknown here (older than the window, or from before a restart):
    /// it should reload what it shows.
    pub gap: bool,
    pub receiver: broadcast::Receiver<Arc<CaseEvent>>,
    boot: Arc<str>,
}

impl Subscription {
    /// The wire id of an event of this feed.
    pub fn event_id(&self, event: &CaseEvent) -> String {
        format!("{}-{}", self.boot, event.seq)
    }
}

pub(crate) struct EventHub {
    sender: broadcast::Sender<Arc<CaseEvent>>,
    recent: Mutex<Recent>,
    boot: Arc<str>,
}

struct Recent {
    next: u64,
    window: VecDeque<Arc<CaseEvent>>,
}

impl EventHub {
    pub(crate) fn new() -> EventHub {
        let (sender, _) = broadcast::channel(REPLAY_WINDOW);
        let boot = Utc::now().timestamp_micros().to_string();
        EventHub {
            sender,
            recent: Mutex::new(Recent {
                next: 1,
                window: VecDeque::with_capacity(REPLAY_WINDOW),
            }),
            boot: boot.into(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Recent> {
        match self.recent.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Numbers the event, keeps it in the window and sends it to every listener.
    pub(crate) fn publish(&self, mut event: CaseEvent) {
        let mut recent = self.lock();
        event.seq = recent.next;
        recent.next += 1;
        let event = Arc::new(event);
        if recent.window.len() == REPLAY_WINDOW {
            recent.window.pop_front();
        }
        recent.window.push_back(event.clone());
        // Nobody listening is fine. Sending under the lock keeps the window and the live
        // stream in one order, so a subscriber never sees an event twice or out of order.
        let _ = self.sender.send(event);
    }

    /// Subscribes, replaying what came after `last_event_id` when it is in the window.
    /// Live feeds open now.
    pub(crate) fn subscribers(&self) -> usize {
        self.sender.receiver_count()
    }

    pub(crate) fn subscribe(&self, last_event_id: Option<&str>) -> Subscription {
        let recent = self.lock();
        let receiver = self.sender.subscribe();
        let (missed, gap) = match last_event_id.map(|id| self.parse(id)) {
            None => (Vec::new(), false),
            Some(None) => (Vec::new(), true),
            Some(Some(last)) => {
                let oldest = recent.window.front().map_or(recent.next, |e| e.seq);
                let missed: Vec<_> = recent
                    .window
                    .iter()
                    .filter(|e| e.seq > last)
                    .cloned()
                    .collect();
                (missed, last + 1 < oldest || last >= recent.next)
            }
        };
        Subscription {
            missed,
            gap,
            receiver,
            boot: self.boot.clone(),
        }
    }

    /// The sequence number of one of this process's event ids; None for another boot's.
    fn parse(&self, id: &str) -> Option<u64> {
        let (boot, seq) = id.trim().rsplit_once('-')?;
        if boot != &*self.boot {
            return None;
        }
        seq.parse().ok()
    }
}
