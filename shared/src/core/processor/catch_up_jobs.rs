//! The processor's share of the catch-up: it runs the catch-up jobs the
//! queue brings ([`crate::core::catch_up::job`]), one page per message,
//! before any business logic, and never hands a job to the logic. A
//! subscription's suspension is remembered in the idempotency store; its
//! resume queues the catch-up of the suspended window (from an hour before
//! the suspension: Akeneo drops an event after its last retry, and suspends
//! when under 90 % succeed over a rolling hour, so that hour's events may be
//! lost too).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures::future::BoxFuture;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio::time::Instant;
use tracing::{info, warn};

use super::batch::{Batch, Verdict};
use crate::core::catch_up::window::rfc3339;
use crate::core::catch_up::{CatchUp, CatchUpEntity, CatchUpError, Checkpoint, Job, Position, Window};
use crate::core::message::{OutboundMessage, format_timestamp};
use crate::core::receiver::LargeEvents;
use crate::observability::metrics::{Metrics, Record};
use crate::ports::idempotency::IdempotencyStore;
use crate::ports::pim::{PageCursor, PimReadError, TenantPages, UpdatedPages};
use crate::ports::queue::SharedQueue;

/// Caught up from this long before a suspension.
pub const BEFORE_SUSPENSION: Duration = Duration::from_secs(3_600);
/// And to this long after the resume.
pub const AFTER_RESUME: Duration = Duration::from_secs(60);
/// The window when the suspension's time is not known (its notification
/// was lost, or the store was not kept): the day before the resume.
pub const UNKNOWN_SUSPENSION: Duration = Duration::from_secs(86_400);
/// A scheduled window reaches this much further back than its hours, so
/// consecutive runs overlap however late the queue delivers them (the
/// overlap's events are deduplicated).
pub const SCHEDULE_OVERLAP: Duration = Duration::from_secs(15 * 60);
/// Suspension records are kept this long.
const KEEP_RECORDS: Duration = Duration::from_secs(90 * 86_400);
/// Slices per entity, as the CLI plans them.
const SLICES: usize = 16;
/// The dead letter's code for a job that cannot run.
pub const JOB_FAILED: &str = "catch_up_failed";

/// What the jobs need: the PIM (the stack's own, each tenant's), the
/// queue, and the store the suspensions are remembered in.
pub struct CatchUpJobs {
    /// The queue and its limits; reads the stack's own PIM when `pim` is set.
    base: CatchUp<SharedQueue>,
    pim: Option<String>,
    tenants: Option<Arc<dyn TenantPages>>,
    store: Option<Arc<dyn IdempotencyStore>>,
}

/// Reads nothing: the base of a deployment whose only PIMs are its tenants'
/// (a job without a tenant there is handled as without a PIM, never read).
struct NoPim;

impl UpdatedPages for NoPim {
    fn updated_page<'a>(
        &'a self,
        _: CatchUpEntity,
        _: PageCursor<'a>,
        _: Instant,
    ) -> BoxFuture<'a, Result<bytes::Bytes, PimReadError>> {
        Box::pin(async { Err(PimReadError::Unavailable("no PIM connection".into())) })
    }
}

impl CatchUpJobs {
    /// Reads through `runner` from the PIM at `pim` (its URL, for the events'
    /// `source`), remembering suspensions in `store` when there is one.
    pub fn new(
        runner: CatchUp<SharedQueue>,
        pim: &str,
        store: Option<Arc<dyn IdempotencyStore>>,
    ) -> CatchUpJobs {
        CatchUpJobs {
            base: runner,
            pim: Some(pim.to_owned()),
            tenants: None,
            store,
        }
    }

    /// For a deployment whose PIMs are all tenants': queues onto `queue`
    /// (large entities through `large_events`).
    pub fn for_tenants_only(
        queue: SharedQueue,
        large_events: Option<LargeEvents>,
        max_message_bytes: usize,
        store: Option<Arc<dyn IdempotencyStore>>,
    ) -> CatchUpJobs {
        CatchUpJobs {
            base: CatchUp::new(Arc::new(NoPim), queue).with_large_events(large_events, max_message_bytes),
            pim: None,
            tenants: None,
            store,
        }
    }

    /// A tenant's jobs read that tenant's PIM, and queue its events stamped
    /// with it.
    pub fn with_tenants(mut self, tenants: Arc<dyn TenantPages>) -> CatchUpJobs {
        self.tenants = Some(tenants);
        self
    }

    /// The runner of `tenant`'s jobs (the stack's own PIM without one) and
    /// its PIM's URL; `None` without a PIM to read.
    fn runner(&self, tenant: Option<&str>) -> Option<Reader> {
        let (pages, pim) = match tenant {
            None => (self.base.pages(), self.pim.clone()?),
            Some(tenant) => self.tenants.as_ref()?.pages(tenant)?,
        };
        Some(Reader {
            runner: self.base.reading(pages, tenant.map(str::to_owned)),
            pim,
            tenant: tenant.map(str::to_owned),
        })
    }
}

/// One job's PIM: its runner, its URL, the tenant its messages carry.
struct Reader {
    runner: CatchUp<SharedQueue>,
    pim: String,
    tenant: Option<String>,
}

impl Reader {
    fn message(&self, job: &Job) -> OutboundMessage {
        job.message_for(self.tenant.as_deref(), &format_timestamp(SystemTime::now()))
    }
}

/// Runs every pending job of the batch and decides its message; answers how
/// many events the jobs queued. Without `jobs` (no PIM connection), a
/// catch-up asked for is dead-lettered, and a resume says what to run.
pub async fn run_jobs(
    batch: &mut Batch,
    jobs: Option<&CatchUpJobs>,
    deadline: SystemTime,
    metrics: &Metrics,
) -> u64 {
    let found: Vec<(usize, Option<String>, Result<Job, String>)> = batch
        .pending()
        .iter()
        .enumerate()
        .filter_map(|(index, event)| {
            let event = (*event)?;
            let job = Job::of(event)?;
            Some((index, event.tenant.clone(), job.map_err(|e| e.to_string())))
        })
        .collect();
    let mut caught_up = 0;
    for (index, tenant, job) in found {
        let verdict = match job {
            Err(error) => Verdict::DeadLetter {
                code: JOB_FAILED.into(),
                message: format!("not a catch-up job: {error}"),
            },
            Ok(job) => {
                let reader = jobs.and_then(|jobs| jobs.runner(tenant.as_deref()));
                let (verdict, queued) =
                    run_job(&job, jobs, reader.as_ref(), tenant.as_deref(), deadline).await;
                caught_up += queued;
                verdict
            }
        };
        batch.decide(index, verdict);
    }
    metrics.emit(
        &Record {
            dimensions: vec![],
            counts: vec![("CaughtUp", caught_up)],
        },
        false,
    );
    caught_up
}

async fn run_job(
    job: &Job,
    jobs: Option<&CatchUpJobs>,
    reader: Option<&Reader>,
    tenant: Option<&str>,
    deadline: SystemTime,
) -> (Verdict, u64) {
    let now = OffsetDateTime::now_utc();
    let (Some(jobs), Some(reader)) = (jobs, reader) else {
        return (without_pim(job, tenant), 0);
    };
    // A page must end before the invocation does, with time to queue.
    let left = deadline
        .duration_since(SystemTime::now())
        .unwrap_or_default()
        .saturating_sub(Duration::from_secs(5))
        .clamp(Duration::from_secs(1), Duration::from_secs(120));
    let until = Instant::now() + left;
    let outcome = match job {
        Job::Window {
            run,
            since,
            until: end,
            last_hours,
            reason,
        } => {
            let window = match (since, last_hours) {
                (_, Some(hours)) => scheduled_window(*hours, now),
                (Some(since), None) => Window::parse(since, end.as_deref(), now).ok(),
                (None, None) => None,
            };
            match window {
                Some(window) => plan(reader, run, &window, reason, until).await,
                None => Err(Failure::Permanent(format!(
                    "a window job without a readable window: {job:?}"
                ))),
            }
        }
        Job::Page { run, slice, page } => {
            let step = reader.runner.step(slice, run, &reader.pim, false, until).await;
            match step {
                Ok(step) => {
                    let queued = step.queued;
                    let next = match &step.position {
                        Position::Done => Ok(()),
                        position => {
                            let mut slice = slice.clone();
                            slice.position = position.clone();
                            let next = Job::Page {
                                run: run.clone(),
                                slice,
                                page: page + 1,
                            };
                            queue(reader, vec![reader.message(&next)], until).await
                        }
                    };
                    next.map(|()| queued)
                }
                Err(error) => Err(Failure::from(error)),
            }
        }
        Job::Suspended { subscription, at } => remember_suspension(jobs, subscription, at).await.map(|()| 0),
        Job::Resumed { subscription, at } => resume(jobs, reader, subscription, at, until).await,
    };
    match outcome {
        Ok(queued) => (Verdict::Done, queued),
        Err(Failure::Transient(reason)) => (Verdict::Retry(reason), 0),
        Err(Failure::Permanent(message)) => {
            warn!(
                job = job.id().as_str(),
                reason = message.as_str(),
                "catch-up job dead-lettered"
            );
            (
                Verdict::DeadLetter {
                    code: JOB_FAILED.into(),
                    message,
                },
                0,
            )
        }
    }
}

enum Failure {
    Transient(String),
    Permanent(String),
}

impl From<CatchUpError> for Failure {
    fn from(error: CatchUpError) -> Failure {
        match error {
            CatchUpError::Page(_) | CatchUpError::EndlessPages | CatchUpError::TooLarge(_) => {
                Failure::Permanent(error.to_string())
            }
            _ => Failure::Transient(error.to_string()),
        }
    }
}

fn without_pim(job: &Job, tenant: Option<&str>) -> Verdict {
    match job {
        Job::Suspended { .. } => Verdict::Done,
        Job::Resumed { subscription, at } => {
            warn!(
                subscription_id = subscription.as_str(),
                resumed_at = at.as_str(),
                tenant,
                "subscription resumed: its suspended window's events are lost, and no PIM connection is configured to catch up; run `akeneo-relay catch-up [--tenant <tenant>] --since <the suspension's time> --until <resumed_at>`"
            );
            Verdict::Done
        }
        _ => Verdict::DeadLetter {
            code: JOB_FAILED.into(),
            message:
                "the processor has no PIM connection (PIM_URL and its credentials): configure it and redrive"
                    .into(),
        },
    }
}

async fn queue(reader: &Reader, messages: Vec<OutboundMessage>, until: Instant) -> Result<(), Failure> {
    reader
        .runner
        .queue_messages(messages, until)
        .await
        .map(|_| ())
        .map_err(Failure::from)
}

/// Queues one page job per slice of `window`; answers 0 events (the pages
/// queue them).
async fn plan(
    reader: &Reader,
    run: &str,
    window: &Window,
    reason: &str,
    until: Instant,
) -> Result<u64, Failure> {
    let checkpoint = Checkpoint::plan(run, &reader.pim, window, &CatchUpEntity::ALL, SLICES);
    let messages: Vec<OutboundMessage> = checkpoint
        .slices
        .into_iter()
        .map(|slice| {
            reader.message(&Job::Page {
                run: run.to_owned(),
                slice,
                page: 0,
            })
        })
        .collect();
    let slices = messages.len();
    queue(reader, messages, until).await?;
    info!(
        run,
        tenant = reader.tenant.as_deref(),
        since = %rfc3339(window.since),
        until = %rfc3339(window.until),
        slices,
        reason,
        "catch-up started"
    );
    Ok(0)
}

/// `time` moved back by `by`; `None` past the calendar's range.
fn before(time: OffsetDateTime, by: Duration) -> Option<OffsetDateTime> {
    time.checked_sub(time::Duration::try_from(by).ok()?)
}

/// The last `hours` up to `now`, and the overlap; `None` for hours no
/// calendar holds (a job's numbers are the queue's, not ours).
fn scheduled_window(hours: u32, now: OffsetDateTime) -> Option<Window> {
    let start = before(now, Duration::from_secs(u64::from(hours) * 3_600))?;
    Window::new(before(start, SCHEDULE_OVERLAP)?, now)
}

/// From an hour before the suspension (or the day before the resume when it
/// is not known) to a minute after the resume; `None` past the calendar's
/// range.
fn resumed_window(suspended: Option<OffsetDateTime>, resumed: OffsetDateTime) -> Option<Window> {
    let start = match suspended {
        Some(suspended) => before(suspended, BEFORE_SUSPENSION)?,
        None => before(resumed, UNKNOWN_SUSPENSION)?,
    };
    let end = resumed.checked_add(time::Duration::try_from(AFTER_RESUME).ok()?)?;
    Window::new(start, end)
}

fn suspended_key(subscription: &str) -> String {
    format!("catch-up#suspended/{subscription}")
}

fn resumed_key(subscription: &str) -> String {
    format!("catch-up#resumed/{subscription}")
}

fn parse(at: &str) -> Result<OffsetDateTime, Failure> {
    OffsetDateTime::parse(at, &Rfc3339)
        .map_err(|_| Failure::Permanent(format!("{at:?} is not an RFC 3339 time")))
}

/// The first suspension since the last resume is the one that counts.
async fn remember_suspension(jobs: &CatchUpJobs, subscription: &str, at: &str) -> Result<(), Failure> {
    let at = parse(at)?;
    let Some(store) = &jobs.store else { return Ok(()) };
    let now = SystemTime::now();
    let keys = [suspended_key(subscription), resumed_key(subscription)];
    let known = store
        .last_handled(&keys, now)
        .await
        .map_err(|e| Failure::Transient(e.to_string()))?;
    let open = match (known.get(&keys[0]), known.get(&keys[1])) {
        (Some(suspended), Some(resumed)) => suspended > resumed,
        (Some(_), None) => true,
        _ => false,
    };
    if open {
        return Ok(());
    }
    store
        .record_handled(&keys[0], at, now, now + KEEP_RECORDS)
        .await
        .map_err(|e| Failure::Transient(e.to_string()))
}

async fn resume(
    jobs: &CatchUpJobs,
    reader: &Reader,
    subscription: &str,
    at: &str,
    until: Instant,
) -> Result<u64, Failure> {
    let resumed = parse(at)?;
    let now = SystemTime::now();
    let keys = [suspended_key(subscription), resumed_key(subscription)];
    let known = match &jobs.store {
        Some(store) => store
            .last_handled(&keys, now)
            .await
            .map_err(|e| Failure::Transient(e.to_string()))?,
        None => Default::default(),
    };
    let suspended = match (known.get(&keys[0]), known.get(&keys[1])) {
        (Some(suspended), Some(previous)) if suspended > previous => Some(*suspended),
        (Some(suspended), None) => Some(*suspended),
        _ => None,
    };
    if suspended.is_none() {
        warn!(
            subscription_id = subscription,
            resumed_at = at,
            "subscription resumed, but when it was suspended is not known: catching up the day before the resume; run `akeneo-relay catch-up` for an earlier start"
        );
    }
    let window = resumed_window(suspended, resumed)
        .ok_or_else(|| Failure::Permanent(format!("no window to catch up before {at}")))?;
    let run = format!("resumed-{subscription}-{}", rfc3339(resumed));
    plan(reader, &run, &window, "resumed", until).await?;
    if let Some(store) = &jobs.store {
        store
            .record_handled(&keys[1], resumed, now, now + KEEP_RECORDS)
            .await
            .map_err(|e| Failure::Transient(e.to_string()))?;
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn a_resume_catches_up_from_an_hour_before_the_suspension_or_the_day_before() {
        // GIVEN a resume at noon, after a suspension at ten, or after an unknown one
        let resumed = datetime!(2026-12-01 12:00:00 UTC);
        // WHEN their windows are planned
        let known = resumed_window(Some(datetime!(2026-12-01 10:00:00 UTC)), resumed).expect("a window");
        let unknown = resumed_window(None, resumed).expect("a window");
        // THEN they start an hour before the suspension, or a day before the resume, and end a minute after it
        assert_eq!(known.since, datetime!(2026-12-01 09:00:00 UTC));
        assert_eq!(known.until, datetime!(2026-12-01 12:01:00 UTC));
        assert_eq!(unknown.since, datetime!(2026-11-30 12:00:00 UTC));
    }

    #[test]
    fn times_and_hours_no_calendar_holds_give_no_window_and_no_panic() {
        // GIVEN a job's numbers at the calendar's ends: a resume in year -9999 or 9999, u32::MAX hours
        // WHEN their windows are planned
        // THEN there is none (the job is dead-lettered), and nothing panics
        assert!(resumed_window(None, datetime!(-9999-01-01 00:30:00 UTC)).is_none());
        assert!(resumed_window(None, datetime!(9999-12-31 23:59:30 UTC)).is_none());
        assert!(scheduled_window(u32::MAX, datetime!(2026-12-01 12:00:00 UTC)).is_none());
        assert!(scheduled_window(2, datetime!(2026-12-01 12:00:00 UTC)).is_some());
    }
}
