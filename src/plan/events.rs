//! Engine events: the engine reports through [`Events`]; the CLI draws them
//! (progress bars, plain lines or JSON lines).

use serde::Serialize;

use super::{Action, Address};

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// Reading what exists, before planning.
    Observing {
        resources: usize,
    },
    /// An apply starts with this many changes to carry out.
    Applying {
        changes: usize,
    },
    Started {
        address: Address,
        action: Action,
    },
    Progress {
        address: Address,
        message: String,
    },
    Finished {
        address: Address,
        action: Action,
        elapsed_ms: u64,
    },
    Failed {
        address: Address,
        action: Action,
        error: String,
        hint: Option<String>,
    },
    /// Not attempted because something it depends on failed.
    Skipped {
        address: Address,
        because: Address,
    },
    Summary(Summary),
}

/// How an apply ended.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Summary {
    pub done: usize,
    pub failed: usize,
    pub skipped: usize,
    pub unchanged: usize,
}

pub trait Events: Send + Sync {
    fn emit(&self, event: Event);
}

/// Drops every event.
pub struct Silent;

impl Events for Silent {
    fn emit(&self, _: Event) {}
}

/// Keeps every event (tests, and the final report).
#[derive(Default)]
pub struct Recording(pub std::sync::Mutex<Vec<Event>>);

impl Events for Recording {
    fn emit(&self, event: Event) {
        self.0.lock().expect("events lock").push(event);
    }
}

impl Recording {
    pub fn events(&self) -> Vec<Event> {
        self.0.lock().expect("events lock").clone()
    }
}
