//! A batch on its way through the processor: each message is either an event
//! still to handle or already decided. Every step of the processor reads the
//! pending events and decides some of them; whatever is left is the handler's.

use crate::core::event::PimEvent;
use crate::ports::queue::ReceivedMessage;

/// What is decided for one message, before the queue calls that carry it out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Handled, or nothing left to do: the message is deleted.
    Done,
    /// Received again later, for this reason.
    Retry(String),
    /// Sent to the dead-letter queue at once.
    DeadLetter {
        /// The dead letter's `error_code` (`invalid_envelope`, `rejected`, ...).
        code: String,
        /// Why, in words.
        message: String,
    },
}

/// One message of a [`Batch`].
pub enum Slot {
    /// An event still to handle.
    Pending(Box<PimEvent>),
    /// Decided by a step already.
    Decided(Verdict),
}

/// The messages of one batch, each pending or decided, in batch order.
pub struct Batch {
    slots: Vec<Slot>,
}

impl Batch {
    /// Reads each message on its own: one that is not an envelope this code
    /// reads is decided at once, as a dead letter.
    pub fn read(messages: &[ReceivedMessage]) -> Batch {
        Batch::from_bodies(messages.iter().map(|message| Ok(message.body.as_deref())))
    }

    /// Reads each body on its own, in batch order; an `Err` is a message an
    /// earlier step already decided (e.g. a large event whose body could not be
    /// fetched).
    pub fn from_bodies<'a>(bodies: impl IntoIterator<Item = Result<Option<&'a str>, Verdict>>) -> Batch {
        let slots = bodies
            .into_iter()
            .map(|body| match body {
                Err(verdict) => Slot::Decided(verdict),
                Ok(None | Some("")) => Slot::Decided(Verdict::DeadLetter {
                    code: "invalid_envelope".into(),
                    message: "the message has no body".into(),
                }),
                Ok(Some(body)) => match PimEvent::from_message_body(body) {
                    Ok(event) => Slot::Pending(Box::new(event)),
                    Err(error) => Slot::Decided(Verdict::DeadLetter {
                        code: error.code().into(),
                        message: error.to_string(),
                    }),
                },
            })
            .collect();
        Batch { slots }
    }

    /// The events still to handle, by index; `None` where decided.
    pub fn pending(&self) -> Vec<Option<&PimEvent>> {
        self.slots
            .iter()
            .map(|slot| match slot {
                Slot::Pending(event) => Some(event.as_ref()),
                Slot::Decided(_) => None,
            })
            .collect()
    }

    /// The event at `index`, if still pending, for a step that annotates it.
    pub fn event_mut(&mut self, index: usize) -> Option<&mut PimEvent> {
        match self.slots.get_mut(index)? {
            Slot::Pending(event) => Some(event.as_mut()),
            Slot::Decided(_) => None,
        }
    }

    /// The events still to handle, by index, for steps that add to them.
    pub fn pending_mut(&mut self) -> impl Iterator<Item = (usize, &mut PimEvent)> {
        self.slots
            .iter_mut()
            .enumerate()
            .filter_map(|(index, slot)| match slot {
                Slot::Pending(event) => Some((index, event.as_mut())),
                Slot::Decided(_) => None,
            })
    }

    /// Decides the message at `index` (which must be in the batch), whatever it
    /// was.
    pub fn decide(&mut self, index: usize, verdict: Verdict) {
        self.slots[index] = Slot::Decided(verdict);
    }

    /// Every verdict in batch order. A message nobody decided is retried: it
    /// must never be reported done without having run.
    pub fn into_verdicts(self) -> Vec<Verdict> {
        self.slots
            .into_iter()
            .map(|slot| match slot {
                Slot::Decided(verdict) => verdict,
                Slot::Pending(_) => Verdict::Retry("not run".into()),
            })
            .collect()
    }
}
