//! Running a catch-up: the window's slices read side by side (as many as the
//! connection may have calls in flight), each slice page after page by its
//! `_links.next`, each page queued before the next is asked for, and the
//! position of every slice kept in a [`Checkpoint`] that a run can resume
//! from. Memory holds one page per slice being read, never the window.

use std::sync::Mutex;
use std::time::Duration;

use futures::stream::{self, StreamExt, TryStreamExt};
use tokio::time::Instant;

use super::checkpoint::{Checkpoint, Position, Slice};
use super::event::{CatchUpEntity, catch_up_message_for, updated_at};
use crate::core::answers::read_search_page;
use crate::core::answers::search_page::PageError;
use crate::core::delivery::offload::{OffloadError, offload};
use crate::core::delivery::{DeliveryError, deliver_all};
use crate::core::message::{OutboundMessage, format_timestamp};
use crate::core::receiver::LargeEvents;
use crate::ports::pim::{PageCursor, PimReadError, UpdatedPages};
use crate::ports::queue::QueueSender;

/// Why a run stopped. Its checkpoint holds every page queued before: run it
/// again with the checkpoint to go on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatchUpError {
    /// The PIM could not be read (down, refusing the connection, or rate
    /// limiting past a page's time).
    #[error("the PIM could not be read: {0}")]
    Pim(#[from] PimReadError),
    /// A page is not a search page.
    #[error("the PIM's answer is not a search page: {0}")]
    Page(#[from] PageError),
    /// A page links to itself, or is empty yet links to another.
    #[error("the PIM's pages do not end (a page that is empty or links to itself)")]
    EndlessPages,
    /// Events could not be queued in time.
    #[error("events not queued: {0}")]
    Queue(#[from] DeliveryError),
    /// An entity's message is over the queue's limit and no payload store is
    /// configured to hold it.
    #[error("{0} is too large for a queue message and no payload store is configured")]
    TooLarge(String),
    /// Large entities could not be stored.
    #[error("large events not stored: {0}")]
    Store(#[from] OffloadError),
}

/// What a run did so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Tally {
    /// Search pages read.
    pub pages: u64,
    /// Entities read.
    pub read: u64,
    /// Events queued (0 in a dry run).
    pub queued: u64,
}

/// A page read, not yet queued.
struct Read {
    messages: Vec<OutboundMessage>,
    position: Position,
    entities: u64,
}

/// Where a slice stands after one page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// The slice's position now.
    pub position: Position,
    /// Entities on the page.
    pub read: u64,
    /// Events queued (0 in a dry run).
    pub queued: u64,
}

/// Told about every entity read: its kind, its key, its `updated` time.
pub type Listing = std::sync::Arc<dyn Fn(CatchUpEntity, &str, Option<time::OffsetDateTime>) + Send + Sync>;

/// The reader, the queue, and how hard to push.
pub struct CatchUp<Q> {
    listing: Option<Listing>,
    pages: std::sync::Arc<dyn UpdatedPages>,
    queue: Q,
    large_events: Option<LargeEvents>,
    max_message_bytes: usize,
    workers: usize,
    page_time: Duration,
    tenant: Option<String>,
}

impl<Q: QueueSender + Sync> CatchUp<Q> {
    /// Reads through `pages`, queues on `queue`; four slices at a time (a
    /// PIM connection's calls in flight) and two minutes per page by default.
    pub fn new(pages: std::sync::Arc<dyn UpdatedPages>, queue: Q) -> CatchUp<Q> {
        CatchUp {
            listing: None,
            pages,
            queue,
            large_events: None,
            max_message_bytes: crate::core::message::SQS_MAX_MESSAGE_BYTES,
            workers: 4,
            page_time: Duration::from_secs(120),
            tenant: None,
        }
    }

    /// The same queue and limits, reading `pages` (another PIM's) for
    /// `tenant`.
    pub fn reading(&self, pages: std::sync::Arc<dyn UpdatedPages>, tenant: Option<String>) -> CatchUp<Q>
    where
        Q: Clone,
    {
        CatchUp {
            listing: self.listing.clone(),
            pages,
            queue: self.queue.clone(),
            large_events: self.large_events.clone(),
            max_message_bytes: self.max_message_bytes,
            workers: self.workers,
            page_time: self.page_time,
            tenant,
        }
    }

    /// What it reads from.
    pub fn pages(&self) -> std::sync::Arc<dyn UpdatedPages> {
        std::sync::Arc::clone(&self.pages)
    }

    /// The PIM read is this tenant's: its events are stamped with it.
    pub fn with_tenant(mut self, tenant: Option<String>) -> Self {
        self.tenant = tenant;
        self
    }

    /// Entities too large for one queue message go to this store, a pointer
    /// on the queue (as the receiver does).
    pub fn with_large_events(mut self, large_events: Option<LargeEvents>, max_message_bytes: usize) -> Self {
        self.large_events = large_events;
        self.max_message_bytes = max_message_bytes.min(crate::core::message::SQS_MAX_MESSAGE_BYTES);
        self
    }

    /// Calls `listing` for every entity read (`--list`: the PIM's keys, to
    /// compare with your store and find deletions).
    pub fn with_listing(mut self, listing: Listing) -> Self {
        self.listing = Some(listing);
        self
    }

    /// The queue events go to.
    pub fn queue(&self) -> &Q {
        &self.queue
    }

    /// How many slices are read at once (at least one).
    pub fn with_workers(mut self, workers: usize) -> Self {
        self.workers = workers.max(1);
        self
    }

    /// How long one page may take, the PIM's 429s and retries included.
    pub fn with_page_time(mut self, page_time: Duration) -> Self {
        self.page_time = page_time;
        self
    }

    /// Reads every slice of `checkpoint` that is not done, and queues what
    /// it reads unless `dry_run`. `on_page` sees the checkpoint after every
    /// page (to save it, to show progress). Answers the checkpoint as it
    /// ended, and why it stopped if it did not finish.
    pub async fn run<F>(
        &self,
        checkpoint: Checkpoint,
        dry_run: bool,
        on_page: F,
    ) -> (Checkpoint, Result<(), CatchUpError>)
    where
        F: Fn(&Checkpoint) + Sync,
    {
        let open: Vec<usize> = checkpoint.open_slices();
        let state = Mutex::new(checkpoint);
        let outcome = stream::iter(open)
            .map(|index| self.read_slice(index, &state, dry_run, &on_page))
            .buffer_unordered(self.workers)
            .try_collect::<()>()
            .await;
        let checkpoint = state
            .into_inner()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        (checkpoint, outcome)
    }

    /// Reads a slice to its end. The next page is asked for while the page
    /// before it is being queued, so a reader keeps one PIM call in flight
    /// however long the queue takes; the checkpoint moves only once a page
    /// is queued.
    async fn read_slice<F>(
        &self,
        index: usize,
        state: &Mutex<Checkpoint>,
        dry_run: bool,
        on_page: &F,
    ) -> Result<(), CatchUpError>
    where
        F: Fn(&Checkpoint) + Sync,
    {
        let (mut slice, run, pim) = {
            let checkpoint = lock(state);
            (
                checkpoint.slices[index].clone(),
                checkpoint.run.clone(),
                checkpoint.pim.clone(),
            )
        };
        let mut read_before: Option<Read> = None;
        loop {
            let deadline = Instant::now() + self.page_time;
            let fetch = async {
                match slice.position {
                    Position::Done => None,
                    _ => Some(self.read(&slice, &run, &pim, dry_run, deadline).await),
                }
            };
            let flush = async {
                match read_before.take() {
                    Some(read) => self
                        .queue_messages(read.messages, deadline)
                        .await
                        .map(|queued| Some((read.position, read.entities, queued))),
                    None => Ok(None),
                }
            };
            let (fetched, flushed) = futures::join!(fetch, flush);
            if let Some((position, read, queued)) = flushed? {
                let mut checkpoint = lock(state);
                checkpoint.slices[index].position = position;
                checkpoint.tally.pages += 1;
                checkpoint.tally.read += read;
                checkpoint.tally.queued += queued;
                on_page(&checkpoint);
            }
            match fetched {
                None => return Ok(()),
                Some(read) => {
                    let read = read?;
                    slice.position = read.position.clone();
                    read_before = Some(read);
                }
            }
        }
    }

    /// One page of `slice`: its events (none in a dry run) and where the
    /// slice stands after it.
    async fn read(
        &self,
        slice: &Slice,
        run: &str,
        pim: &str,
        dry_run: bool,
        deadline: Instant,
    ) -> Result<Read, CatchUpError> {
        let window = slice
            .window()
            .ok_or_else(|| CatchUpError::Page(PageError::NotAPage("a slice's window".into())))?;
        let cursor = match &slice.position {
            Position::Start => PageCursor::First(&window),
            Position::Next { url } => PageCursor::Next(url),
            Position::Done => {
                return Ok(Read {
                    messages: Vec::new(),
                    position: Position::Done,
                    entities: 0,
                });
            }
        };
        let body = self.pages.updated_page(slice.entity, cursor, deadline).await?;
        let page = read_search_page(&body, slice.entity.search_key())?;
        let endless = page.next.as_deref().is_some_and(|next| {
            page.items.is_empty() || matches!(&slice.position, Position::Next { url } if url == next)
        });
        if endless {
            return Err(CatchUpError::EndlessPages);
        }
        if let Some(listing) = &self.listing {
            for (key, item) in &page.items {
                listing(slice.entity, key, updated_at(item.get()));
            }
        }
        let messages = if dry_run {
            Vec::new()
        } else {
            let received_at = format_timestamp(std::time::SystemTime::now());
            page.items
                .iter()
                .map(|(key, item)| {
                    catch_up_message_for(
                        self.tenant.as_deref(),
                        slice.entity,
                        key,
                        item.get(),
                        run,
                        pim,
                        &received_at,
                    )
                })
                .collect()
        };
        Ok(Read {
            messages,
            position: match page.next {
                Some(url) => Position::Next { url },
                None => Position::Done,
            },
            entities: page.items.len() as u64,
        })
    }

    /// Reads the next page of `slice` (of the run `run` against the PIM at
    /// `pim`) and queues its events unless `dry_run`; answers where the
    /// slice stands after it.
    pub async fn step(
        &self,
        slice: &Slice,
        run: &str,
        pim: &str,
        dry_run: bool,
        deadline: Instant,
    ) -> Result<Step, CatchUpError> {
        let read = self.read(slice, run, pim, dry_run, deadline).await?;
        let queued = self.queue_messages(read.messages, deadline).await?;
        Ok(Step {
            position: read.position,
            read: read.entities,
            queued,
        })
    }

    /// Every message on the queue (large ones stored and pointed to), or an
    /// error: a page is never half counted.
    pub async fn queue_messages(
        &self,
        messages: Vec<OutboundMessage>,
        deadline: Instant,
    ) -> Result<u64, CatchUpError> {
        let (mut fitting, oversized): (Vec<OutboundMessage>, Vec<OutboundMessage>) = messages
            .into_iter()
            .partition(|message| message.sqs_size() <= self.max_message_bytes);
        if let Some(first) = oversized.first() {
            let Some(large) = &self.large_events else {
                return Err(CatchUpError::TooLarge(
                    first.event_id.clone().unwrap_or_else(|| "an entity".into()),
                ));
            };
            let stored = offload(large.store.as_ref(), &large.key_prefix, &oversized, deadline).await?;
            fitting.extend(stored.into_iter().map(|stored| stored.pointer));
        }
        Ok(deliver_all(&self.queue, &fitting, deadline).await?.len() as u64)
    }
}

fn lock(state: &Mutex<Checkpoint>) -> std::sync::MutexGuard<'_, Checkpoint> {
    state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
