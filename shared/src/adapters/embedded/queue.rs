//! An in-process queue that behaves like SQS where it matters for the relay: a
//! received message is hidden for the visibility timeout, counts its receives,
//! and moves to a dead-letter queue once it has been received `max_receives`
//! times without being deleted.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use crate::core::message::ATTRIBUTE_TENANT;
use crate::ports::queue::{
    BatchEntry, BatchReport, QueueError, QueueReceiver, QueueSender, QueuedEntry, ReceivedMessage,
    VisibilityChange, VisibilityChanger,
};

struct Stored {
    id: String,
    body: String,
    attributes: HashMap<String, String>,
    receive_count: u32,
    visible_at: Instant,
    receipt: Option<String>,
}

/// The indices of up to `max` visible messages, one message group after the
/// other in turn (oldest group first), each group's oldest first.
fn fair_pick(messages: &[Stored], now: Instant, max: usize) -> Vec<usize> {
    let mut groups: Vec<(Option<&str>, Vec<usize>)> = Vec::new();
    for (index, message) in messages.iter().enumerate() {
        if message.visible_at > now {
            continue;
        }
        let group = message.attributes.get(ATTRIBUTE_TENANT).map(String::as_str);
        match groups.iter_mut().find(|(g, _)| *g == group) {
            Some((_, indices)) if indices.len() < max => indices.push(index),
            Some(_) => {}
            None => groups.push((group, vec![index])),
        }
    }
    let mut picked = Vec::with_capacity(max);
    for round in 0..max {
        for (_, indices) in &groups {
            if picked.len() == max {
                return picked;
            }
            if let Some(&index) = indices.get(round) {
                picked.push(index);
            }
        }
    }
    picked
}

struct State {
    messages: Vec<Stored>,
    next_id: u64,
}

/// An in-process queue that behaves like SQS (see the module).
pub struct EmbeddedQueue {
    name: String,
    state: Mutex<State>,
    visibility_timeout: Duration,
    redrive: Option<(Arc<EmbeddedQueue>, u32)>,
    arrived: Notify,
    moved_to_dead_letters: AtomicU64,
}

impl EmbeddedQueue {
    /// A queue without a dead-letter queue (e.g. the dead-letter queue itself).
    pub fn new(name: &str, visibility_timeout: Duration) -> EmbeddedQueue {
        EmbeddedQueue {
            name: name.to_owned(),
            state: Mutex::new(State {
                messages: Vec::new(),
                next_id: 0,
            }),
            visibility_timeout,
            redrive: None,
            arrived: Notify::new(),
            moved_to_dead_letters: AtomicU64::new(0),
        }
    }

    /// Messages received `max_receives` times without deletion move to `dlq`.
    pub fn with_dead_letter_queue(mut self, dlq: Arc<EmbeddedQueue>, max_receives: u32) -> EmbeddedQueue {
        self.redrive = Some((dlq, max_receives.max(1)));
        self
    }

    /// The queue's name, the prefix of its message ids.
    pub fn name(&self) -> &str {
        &self.name
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Adds a message; answers its id.
    pub fn push(&self, body: String, attributes: HashMap<String, String>) -> String {
        let id = {
            let mut state = self.state();
            state.next_id += 1;
            let id = format!("{}-{:08}", self.name, state.next_id);
            state.messages.push(Stored {
                id: id.clone(),
                body,
                attributes,
                receive_count: 0,
                visible_at: Instant::now(),
                receipt: None,
            });
            id
        };
        self.arrived.notify_waiters();
        id
    }

    /// Up to `max` visible messages, hidden for the visibility timeout from now.
    /// Messages already received `max_receives` times move to the dead-letter
    /// queue instead, as SQS's redrive policy does. Like an SQS fair queue,
    /// messages of different tenants (their `tenant` attribute, the message
    /// group) are taken in turn, so one tenant's backlog does not hold back
    /// the others'; within a tenant, oldest first.
    pub fn receive_now(&self, max: usize) -> Vec<ReceivedMessage> {
        let now = Instant::now();
        let mut moved = Vec::new();
        let mut received = Vec::new();
        {
            let mut state = self.state();
            if let Some((_, max_receives)) = &self.redrive {
                let mut index = 0;
                while index < state.messages.len() {
                    let message = &state.messages[index];
                    if message.visible_at <= now && message.receive_count >= *max_receives {
                        moved.push(state.messages.remove(index));
                    } else {
                        index += 1;
                    }
                }
            }
            for index in fair_pick(&state.messages, now, max) {
                let message = &mut state.messages[index];
                message.receive_count += 1;
                message.visible_at = now + self.visibility_timeout;
                let receipt = format!("{}#{}", message.id, message.receive_count);
                message.receipt = Some(receipt.clone());
                received.push(ReceivedMessage {
                    message_id: message.id.clone(),
                    receipt_handle: Some(receipt),
                    body: Some(message.body.clone()),
                    receive_count: message.receive_count,
                    attributes: message.attributes.clone(),
                });
            }
        }
        if let Some((dlq, _)) = &self.redrive {
            self.moved_to_dead_letters
                .fetch_add(moved.len() as u64, Ordering::Relaxed);
            for message in moved {
                dlq.push(message.body, message.attributes);
            }
        }
        received
    }

    /// Waits up to `wait` for messages, like SQS long polling.
    pub async fn receive_waiting(&self, max: usize, wait: Duration) -> Vec<ReceivedMessage> {
        let deadline = Instant::now() + wait;
        loop {
            let arrived = self.arrived.notified();
            let received = self.receive_now(max);
            if !received.is_empty() || Instant::now() >= deadline {
                return received;
            }
            let next_visible = self.state().messages.iter().map(|m| m.visible_at).min();
            let wake = next_visible.map_or(deadline, |at| at.min(deadline));
            tokio::select! {
                _ = arrived => {}
                _ = tokio::time::sleep_until(wake) => {}
            }
        }
    }

    /// Deletes a received message; a stale receipt (the message was received
    /// again since) deletes nothing, as in SQS.
    pub fn delete(&self, receipt: &str) -> bool {
        let mut state = self.state();
        let before = state.messages.len();
        state.messages.retain(|m| m.receipt.as_deref() != Some(receipt));
        state.messages.len() != before
    }

    /// Hides a received message for `timeout` from now; `false` when the
    /// receipt is stale, as in SQS.
    pub fn change_visibility(&self, receipt: &str, timeout: Duration) -> bool {
        let mut state = self.state();
        match state
            .messages
            .iter_mut()
            .find(|m| m.receipt.as_deref() == Some(receipt))
        {
            Some(message) => {
                message.visible_at = Instant::now() + timeout;
                true
            }
            None => false,
        }
    }

    /// Messages the redrive policy moved to the dead-letter queue so far.
    pub fn moved_to_dead_letters(&self) -> u64 {
        self.moved_to_dead_letters.load(Ordering::Relaxed)
    }

    /// (visible now, hidden) message counts.
    pub fn counts(&self) -> (usize, usize) {
        let now = Instant::now();
        let state = self.state();
        let visible = state.messages.iter().filter(|m| m.visible_at <= now).count();
        (visible, state.messages.len() - visible)
    }

    /// Moves every message to `target` as new messages; answers how many.
    pub fn move_all_to(&self, target: &EmbeddedQueue) -> usize {
        let messages = std::mem::take(&mut self.state().messages);
        let count = messages.len();
        for message in messages {
            target.push(message.body, message.attributes);
        }
        count
    }

    /// Bodies and attributes of every message, for inspection.
    pub fn peek_all(&self) -> Vec<(String, HashMap<String, String>)> {
        self.state()
            .messages
            .iter()
            .map(|m| (m.body.clone(), m.attributes.clone()))
            .collect()
    }
}

impl QueueSender for EmbeddedQueue {
    async fn send_batch<'a>(&'a self, entries: &'a [BatchEntry<'a>]) -> Result<BatchReport, QueueError> {
        let mut report = BatchReport::default();
        for entry in entries {
            let attributes = entry
                .message
                .attributes
                .iter()
                .map(|(name, value)| ((*name).to_owned(), value.clone()))
                .collect();
            let message_id = self.push(entry.message.body.clone(), attributes);
            report.queued.push(QueuedEntry {
                id: entry.id.to_owned(),
                message_id,
            });
        }
        Ok(report)
    }
}

impl VisibilityChanger for EmbeddedQueue {
    async fn change_visibility<'a>(
        &'a self,
        changes: &'a [VisibilityChange<'a>],
    ) -> Result<Vec<String>, QueueError> {
        Ok(changes
            .iter()
            .filter(|change| !EmbeddedQueue::change_visibility(self, change.receipt_handle, change.timeout))
            .map(|change| change.id.to_owned())
            .collect())
    }
}

impl QueueReceiver for EmbeddedQueue {
    async fn receive(&self, max: usize, wait: Duration) -> Result<Vec<ReceivedMessage>, QueueError> {
        Ok(self.receive_waiting(max, wait).await)
    }

    async fn delete(&self, receipt_handles: &[&str]) -> Result<(), QueueError> {
        for receipt in receipt_handles {
            EmbeddedQueue::delete(self, receipt);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queues(max_receives: u32) -> (EmbeddedQueue, Arc<EmbeddedQueue>) {
        let dlq = Arc::new(EmbeddedQueue::new("dlq", Duration::from_secs(30)));
        let queue = EmbeddedQueue::new("q", Duration::from_secs(30))
            .with_dead_letter_queue(Arc::clone(&dlq), max_receives);
        (queue, dlq)
    }

    fn receipt(message: &ReceivedMessage) -> &str {
        message.receipt_handle.as_deref().expect("a receipt")
    }

    #[tokio::test(start_paused = true)]
    async fn a_received_message_is_hidden_for_the_visibility_timeout() {
        // GIVEN a queue with one message, received once
        let (queue, _) = queues(5);
        queue.push("a".into(), HashMap::new());
        queue.receive_now(10);
        // WHEN it is received again at once, and after the visibility timeout
        let at_once = queue.receive_now(10);
        tokio::time::sleep(Duration::from_secs(30)).await;
        let later = queue.receive_now(10);
        // THEN it was hidden, then came back counted twice
        assert!(at_once.is_empty());
        assert_eq!(later[0].receive_count, 2);
    }

    #[tokio::test(start_paused = true)]
    async fn tenants_take_turns_however_long_one_tenants_backlog() {
        // GIVEN a backlog of 100 messages from tenant a, then 2 from b and 1 without a tenant
        let (queue, _) = queues(5);
        let tenant = |name: &str| HashMap::from([(ATTRIBUTE_TENANT.to_owned(), name.to_owned())]);
        for index in 0..100 {
            queue.push(format!("a{index}"), tenant("a"));
        }
        queue.push("b0".into(), tenant("b"));
        queue.push("b1".into(), tenant("b"));
        queue.push("none".into(), HashMap::new());
        // WHEN a batch of 6 is received
        let bodies: Vec<String> = queue.receive_now(6).into_iter().filter_map(|m| m.body).collect();
        // THEN each group had its turn, each in its own order
        assert_eq!(bodies, ["a0", "b0", "none", "a1", "b1", "a2"]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_stale_receipt_deletes_nothing_as_in_sqs() {
        // GIVEN a message received, then received again after its timeout
        let (queue, _) = queues(5);
        queue.push("a".into(), HashMap::new());
        let first = queue.receive_now(10);
        tokio::time::sleep(Duration::from_secs(30)).await;
        let again = queue.receive_now(10);
        // WHEN it is deleted with the first receipt, then with the current one
        let stale = queue.delete(receipt(&first[0]));
        let current = queue.delete(receipt(&again[0]));
        // THEN only the current receipt deletes it
        assert_eq!((stale, current), (false, true));
        assert_eq!(queue.counts(), (0, 0));
    }

    #[tokio::test(start_paused = true)]
    async fn a_changed_visibility_postpones_the_message() {
        // GIVEN a received message
        let (queue, _) = queues(5);
        queue.push("a".into(), HashMap::new());
        let received = queue.receive_now(1);
        // WHEN its visibility is set to 100 s
        assert!(queue.change_visibility(receipt(&received[0]), Duration::from_secs(100)));
        // THEN it is hidden for 100 s, not 30
        tokio::time::sleep(Duration::from_secs(99)).await;
        assert!(queue.receive_now(1).is_empty());
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!(queue.receive_now(1).len(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn after_max_receives_the_message_moves_to_the_dead_letter_queue() {
        // GIVEN a message received twice on a queue that dead-letters after two receives
        let (queue, dlq) = queues(2);
        queue.push(
            "poison".into(),
            HashMap::from([("type".to_owned(), "x".to_owned())]),
        );
        for _ in 0..2 {
            assert_eq!(queue.receive_now(1).len(), 1);
            tokio::time::sleep(Duration::from_secs(30)).await;
        }
        // WHEN it would be received a third time
        let third = queue.receive_now(1);
        // THEN it moves to the dead-letter queue with its attributes instead
        assert!(third.is_empty());
        assert_eq!(queue.moved_to_dead_letters(), 1);
        assert_eq!(
            dlq.peek_all(),
            vec![(
                "poison".to_owned(),
                HashMap::from([("type".to_owned(), "x".to_owned())])
            )]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn redriven_messages_start_afresh() {
        // GIVEN a message on the dead-letter queue
        let (queue, dlq) = queues(2);
        dlq.push("poison".into(), HashMap::new());
        // WHEN the dead letters are moved back
        let moved = dlq.move_all_to(&queue);
        // THEN it is received as a first delivery
        assert_eq!(moved, 1);
        assert_eq!(queue.receive_now(1)[0].receive_count, 1);
    }

    #[tokio::test(start_paused = true)]
    async fn long_polling_wakes_up_when_a_message_arrives() {
        // GIVEN an empty queue and a message that arrives after 2 s
        let queue = Arc::new(EmbeddedQueue::new("q", Duration::from_secs(30)));
        let producer = Arc::clone(&queue);
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(2)).await;
            producer.push("late".into(), HashMap::new());
        });
        let started = Instant::now();
        // WHEN a receive waits up to 20 s
        let received = queue.receive_waiting(10, Duration::from_secs(20)).await;
        // THEN it returns the message as soon as it arrives
        assert_eq!(received.len(), 1);
        assert_eq!(started.elapsed(), Duration::from_secs(2));
    }

    #[tokio::test(start_paused = true)]
    async fn long_polling_an_empty_queue_returns_nothing_after_the_wait() {
        // GIVEN an empty queue
        let queue = EmbeddedQueue::new("q", Duration::from_secs(30));
        let started = Instant::now();
        // WHEN a receive waits up to 5 s
        let received = queue.receive_waiting(10, Duration::from_secs(5)).await;
        // THEN it returns nothing after 5 s
        assert!(received.is_empty());
        assert_eq!(started.elapsed(), Duration::from_secs(5));
    }
}
