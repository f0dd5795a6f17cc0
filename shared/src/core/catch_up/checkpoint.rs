//! Where a catch-up stands: its window cut into slices per entity, each
//! slice's position (not started, the next page's link, done) and what was
//! read and queued. Saved after every page, it is what `--resume` goes on
//! from: a page queued but not yet recorded is queued again on resume, and
//! deduplicated by the processor.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::event::CatchUpEntity;
use super::run::Tally;
use super::window::{Window, rfc3339};

/// The checkpoint format this code writes and reads.
pub const CHECKPOINT_VERSION: u32 = 1;

/// A run's state.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Checkpoint {
    /// [`CHECKPOINT_VERSION`].
    pub v: u32,
    /// The run's id, in every event it queues.
    pub run: String,
    /// The PIM read (its URL).
    pub pim: String,
    /// The window's start (RFC 3339).
    pub since: String,
    /// The window's end (RFC 3339).
    pub until: String,
    /// Every slice of every entity read.
    pub slices: Vec<Slice>,
    /// What was read and queued so far.
    pub tally: Tally,
}

/// One entity's search over one part of the window.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Slice {
    /// Products or product models.
    pub entity: CatchUpEntity,
    /// Its start (RFC 3339).
    pub since: String,
    /// Its end (RFC 3339).
    pub until: String,
    /// How far it was read.
    pub position: Position,
}

/// How far a slice was read.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Position {
    /// Not yet.
    Start,
    /// Up to the page this link names.
    Next {
        /// The link, as the PIM gave it.
        url: String,
    },
    /// To its end.
    Done,
}

impl Slice {
    /// Its window; `None` when a saved checkpoint was edited into nonsense.
    pub fn window(&self) -> Option<Window> {
        let since = OffsetDateTime::parse(&self.since, &Rfc3339).ok()?;
        let until = OffsetDateTime::parse(&self.until, &Rfc3339).ok()?;
        Some(Window { since, until })
    }
}

impl Checkpoint {
    /// A new run `run` over `window` of the PIM at `pim`: each entity's search
    /// cut into `slices` parts.
    pub fn plan(
        run: &str,
        pim: &str,
        window: &Window,
        entities: &[CatchUpEntity],
        slices: usize,
    ) -> Checkpoint {
        let parts = window.slices(slices);
        Checkpoint {
            v: CHECKPOINT_VERSION,
            run: run.to_owned(),
            pim: pim.to_owned(),
            since: rfc3339(window.since),
            until: rfc3339(window.until),
            slices: entities
                .iter()
                .flat_map(|entity| {
                    parts.iter().map(|part| Slice {
                        entity: *entity,
                        since: rfc3339(part.since),
                        until: rfc3339(part.until),
                        position: Position::Start,
                    })
                })
                .collect(),
            tally: Tally::default(),
        }
    }

    /// The slices not read to their end, in order.
    pub fn open_slices(&self) -> Vec<usize> {
        (0..self.slices.len())
            .filter(|index| self.slices[*index].position != Position::Done)
            .collect()
    }

    /// Slices read to their end.
    pub fn done_slices(&self) -> usize {
        self.slices.len() - self.open_slices().len()
    }

    /// Every slice is read.
    pub fn is_done(&self) -> bool {
        self.open_slices().is_empty()
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn a_plan_has_every_slice_of_every_entity_not_started() {
        // GIVEN an hour of products and product models, in four slices each
        let window = Window::new(
            datetime!(2026-12-01 10:00:00 UTC),
            datetime!(2026-12-01 11:00:00 UTC),
        )
        .expect("window");
        // WHEN it is planned
        let plan = Checkpoint::plan("run", "https://pim", &window, &CatchUpEntity::ALL, 4);
        // THEN there are eight open slices, products first, each with its window
        assert_eq!(plan.slices.len(), 8);
        assert_eq!(plan.open_slices().len(), 8);
        assert_eq!(plan.slices[0].entity, CatchUpEntity::Product);
        assert_eq!(plan.slices[4].entity, CatchUpEntity::ProductModel);
        assert_eq!(plan.slices[3].until, "2026-12-01T11:00:00Z");
        assert!(!plan.is_done());
    }

    #[test]
    fn a_saved_checkpoint_reads_back_the_same() {
        // GIVEN a checkpoint with one slice half read and one done
        let window = Window::new(
            datetime!(2026-12-01 10:00:00 UTC),
            datetime!(2026-12-01 10:01:00 UTC),
        )
        .expect("window");
        let mut plan = Checkpoint::plan("run", "https://pim", &window, &[CatchUpEntity::Product], 2);
        plan.slices[0].position = Position::Next {
            url: "https://pim/api/rest/v1/products-uuid?search_after=abc".into(),
        };
        plan.slices[1].position = Position::Done;
        // WHEN it is written and read back
        let text = serde_json::to_string(&plan).expect("json");
        let back: Checkpoint = serde_json::from_str(&text).expect("a checkpoint");
        // THEN it is the same, and only the first slice is open
        assert_eq!(back, plan);
        assert_eq!(back.open_slices(), [0]);
        assert_eq!(back.done_slices(), 1);
    }
}
