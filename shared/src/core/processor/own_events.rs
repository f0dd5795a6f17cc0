//! Events the relay's own PIM connection caused (its writes coming back as
//! events) are not given to the business logic, so a handler that writes to
//! the PIM does not loop. Runs before any other step.

use tracing::debug;

use super::batch::{Batch, Verdict};

/// Decides `Done` for every pending event whose author is in `authors`;
/// answers how many.
pub fn skip_own_events(batch: &mut Batch, authors: &[String]) -> u64 {
    if authors.is_empty() {
        return 0;
    }
    let own: Vec<usize> = batch
        .pending()
        .iter()
        .enumerate()
        .filter_map(|(index, event)| {
            let author = event.as_ref()?.author.as_ref()?;
            authors.contains(&author.identifier).then(|| {
                debug!(
                    event_id = event.as_ref().and_then(|e| e.id.as_deref()),
                    event_type = event.as_ref().and_then(|e| e.event_type.as_deref()),
                    author = author.identifier.as_str(),
                    "own event skipped"
                );
                index
            })
        })
        .collect();
    for &index in &own {
        batch.decide(index, Verdict::Done);
    }
    own.len() as u64
}
