//! `akeneo-relay doctor` sends a signed event of its own type through the
//! receiver and the queue; the processor answers it without the business
//! logic (it is not the PIM's data), logs it, and tells whoever listens
//! (`serve` answers the doctor's question with it). Runs before any other step.

use std::sync::Arc;

use tracing::info;

use super::batch::{Batch, Verdict};

/// The doctor's event type: not Akeneo's namespace, so no PIM event is taken for it.
pub const PROBE_EVENT_TYPE: &str = "com.akeneo-event-relay.doctor.probe";

/// The processor's log message for a probe (doctor looks for it in a deployment's logs).
pub const PROBE_LOG_LINE: &str = "doctor probe reached the processor";

/// Called with each probe's event id.
pub type ProbeRecorder = Arc<dyn Fn(&str) + Send + Sync>;

/// Decides `Done` for every pending probe; answers how many.
pub fn answer_probes(batch: &mut Batch, recorder: Option<&ProbeRecorder>) -> usize {
    let probes: Vec<(usize, String)> = batch
        .pending()
        .iter()
        .enumerate()
        .filter_map(|(index, event)| {
            let event = event.as_ref()?;
            (event.event_type.as_deref() == Some(PROBE_EVENT_TYPE))
                .then(|| (index, event.id.clone().unwrap_or_default()))
        })
        .collect();
    for (index, id) in &probes {
        info!(
            event_id = id.as_str(),
            event_type = PROBE_EVENT_TYPE,
            "doctor probe reached the processor"
        );
        if let Some(recorder) = recorder {
            recorder(id);
        }
        batch.decide(*index, Verdict::Done);
    }
    probes.len()
}
