//! The order of a zero-loss rotation of the Event Platform signing secret.
//! Akeneo signs each event with the subscription's primary secret and, when
//! there is one, its secondary; the receiver accepts a request when either
//! signature matches any secret it holds. So at every step below each event
//! Akeneo sends carries a signature the receiver knows.

/// One step, in order; each is checked before the next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The receiver's secret lists `[old, new]`; checked by a request signed
    /// with the new secret alone being accepted.
    Stage,
    /// The subscription signs with `old` (primary) and `new` (secondary).
    AddSecondary,
    /// The subscription signs with `new` (primary) and `old` (secondary).
    Promote,
    /// The subscription signs with `new` alone. Waits first until every
    /// receiver instance has reloaded its secrets since [`Step::Stage`].
    Retire,
    /// The receiver's secret lists `[new]`.
    Forget,
}

impl Step {
    /// Every step, in order.
    pub const ALL: [Step; 5] = [
        Step::Stage,
        Step::AddSecondary,
        Step::Promote,
        Step::Retire,
        Step::Forget,
    ];

    /// What the step does, in one line.
    pub fn describe(self) -> &'static str {
        match self {
            Step::Stage => "the receiver accepts the new secret",
            Step::AddSecondary => "the subscription signs with the new secret as its secondary",
            Step::Promote => {
                "the subscription signs with the new secret as its primary, the old one as secondary"
            }
            Step::Retire => "the subscription signs with the new secret only",
            Step::Forget => "the receiver forgets the old secret",
        }
    }

    /// The subscription's (primary, secondary) after this step.
    pub fn subscription_secrets<'a>(self, old: &'a str, new: &'a str) -> (&'a str, Option<&'a str>) {
        match self {
            Step::Stage => (old, None),
            Step::AddSecondary => (old, Some(new)),
            Step::Promote => (new, Some(old)),
            Step::Retire | Step::Forget => (new, None),
        }
    }

    /// The receiver's secrets after this step.
    pub fn receiver_secrets(self, old: &str, new: &str) -> Vec<String> {
        match self {
            Step::Forget => vec![new.to_owned()],
            _ => vec![old.to_owned(), new.to_owned()],
        }
    }
}

/// The Events API cannot be staged: the PIM generates the new secret and
/// signs with it at once. This order loses the fewest events.
pub const EVENTS_API_ORDER: &str = "\
The Events API cannot rotate without a gap: the PIM makes the new secret and signs with it at once.
The order that loses the fewest events:
  1. Open the connection's Events API settings in the PIM, with the Secrets Manager console (or a
     terminal) ready beside it.
  2. Regenerate the secret in the PIM and copy it.
  3. At once, add it to the relay's secret, keeping the old one (the receiver accepts both):
       aws secretsmanager put-secret-value --secret-id <SigningSecretsArn> --secret-string \\
         '{\"events_api_secrets\":\"<old>,<new>\", ...the other keys as they are}'
     The receiver reloads it within 30 s of the first refused request (and every SECRETS_REFRESH_SECS).
  4. Events signed in between are refused with 401 and the Events API does not retry them: run your
     reconciliation for that minute, or move to the Event Platform, whose rotation loses nothing
     (akeneo-relay rotate-secret).
  5. A day later, remove the old secret from the list.";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_every_step_akeneo_signs_with_a_secret_the_receiver_holds() {
        // GIVEN the state before the rotation: Akeneo and the receiver know the old secret
        let (old, new) = ("old", "new");
        let known = |receiver: &[String], (primary, secondary): (&str, Option<&str>)| {
            receiver
                .iter()
                .any(|k| k == primary || Some(k.as_str()) == secondary)
        };
        let mut before = ((old, None), vec![old.to_owned()]);
        for step in Step::ALL {
            // WHEN a step is taken
            let after = (
                step.subscription_secrets(old, new),
                step.receiver_secrets(old, new),
            );
            // THEN whichever side changes first, an event in flight is still accepted
            assert!(known(&after.1, after.0), "{step:?}");
            assert!(known(&after.1, before.0), "{step:?}: events signed before it");
            assert!(known(&before.1, after.0), "{step:?}: receivers not yet changed");
            before = after;
        }
        assert_eq!(before.1, ["new"]);
    }
}
