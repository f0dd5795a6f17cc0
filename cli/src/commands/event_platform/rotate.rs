//! `rotate-secret`: a zero-loss rotation of the Event Platform signing secret
//! (core `subscription::rotation` has the order and why it loses nothing);
//! each step is checked before the next. For the Events API it prints the
//! order that loses the fewest events, as nothing can be staged there.

use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use shared::core::receiver::secrets::{EVENT_PLATFORM_KEY, EVENT_PLATFORM_SUBSCRIPTION_KEY};
use shared::core::subscription::plan::secrets_body;
use shared::core::subscription::rotation::{EVENTS_API_ORDER, Step};
use shared::core::subscription::secret;
use tokio::time::Instant;

use super::{PimArgs, StackArgs, deadline, probe, subscriber, subscription};
use crate::commands::ProtocolArg;
use crate::error::CliError;

#[derive(Args)]
pub struct RotateArgs {
    /// Which route's secret.
    #[arg(long, value_enum, default_value = "event-platform")]
    route: ProtocolArg,
    #[command(flatten)]
    pim: PimArgs,
    #[command(flatten)]
    stack: StackArgs,
    /// The secret the subscription signs with now; needed only when the
    /// stack's secret lists more than one for the Event Platform and does not
    /// record which (`subscribe` and `rotate-secret` record it).
    #[arg(long, hide_env_values = true)]
    current_secret: Option<String>,
    /// The new secret; default: a new random one.
    #[arg(long, hide_env_values = true)]
    new_secret: Option<String>,
    /// Time between storing the new secret and the subscription signing with
    /// it alone: every receiver instance reloads its secrets within the stack's
    /// SECRETS_REFRESH_SECS (300), so 330 by default.
    #[arg(long, default_value_t = 330, value_name = "SECONDS")]
    settle: u64,
    /// How long to wait for the receiver to accept the new secret.
    #[arg(long, default_value_t = 120, value_name = "SECONDS")]
    receiver_wait: u64,
}

pub async fn run(args: RotateArgs) -> Result<ExitCode, CliError> {
    if matches!(args.route, ProtocolArg::EventsApi) {
        println!("{EVENTS_API_ORDER}");
        return Ok(ExitCode::SUCCESS);
    }
    let stack = args.stack.resolve().await?;
    let client = args.pim.for_tenant(&stack).await?.client().await?;
    let subscriber = subscriber(&client, args.pim.subscriber_name()).await?;
    let current = subscription(&client, &subscriber, None, &stack).await?;
    let url = stack.request_url()?.to_owned();
    let stack_secret = stack.secret().await?;
    let http = probe::http_client()?;
    let wait = Duration::from_secs(args.receiver_wait);

    let document = stack_secret.read().await?;
    let listed = document.list(EVENT_PLATFORM_KEY);
    // Akeneo never shows a subscription's secret: `subscribe` recorded it.
    let recorded = document
        .text(EVENT_PLATFORM_SUBSCRIPTION_KEY)
        .filter(|recorded| listed.contains(recorded));
    let old = match (&args.current_secret, recorded, listed.as_slice()) {
        (Some(given), _, _) => given.clone(),
        (None, Some(recorded), _) => recorded,
        (None, None, [only]) => only.clone(),
        (None, None, _) => {
            return Err(CliError::Usage(
                "the stack's secret lists more than one Event Platform secret (or none) and does not record \
                 which one the subscription signs with: pass --current-secret",
            ));
        }
    };
    // The receiver must hold the secret believed current, or the guess is wrong.
    probe::until_accepted(&http, &url, &old, wait).await?;
    let new = match &args.new_secret {
        Some(given) => given.clone(),
        None => secret::generate().map_err(|_| CliError::NoRandomness)?,
    };
    let others: Vec<String> = listed
        .iter()
        .filter(|s| **s != old && **s != new)
        .cloned()
        .collect();

    let mut staged_at = Instant::now();
    for (index, step) in Step::ALL.into_iter().enumerate() {
        println!("step {}/{}: {}", index + 1, Step::ALL.len(), step.describe());
        let result = match step {
            Step::Stage | Step::Forget => {
                let mut document = stack_secret.read().await?;
                let mut secrets = others.clone();
                secrets.extend(step.receiver_secrets(&old, &new));
                document.set_list(EVENT_PLATFORM_KEY, &secrets);
                if step == Step::Forget {
                    // The subscription signs with the new secret alone since Retire.
                    document.set_text(EVENT_PLATFORM_SUBSCRIPTION_KEY, &new);
                }
                stack_secret.write(&document).await?;
                if step == Step::Stage {
                    staged_at = Instant::now();
                }
                probe::until_accepted(&http, &url, &new, wait).await
            }
            Step::AddSecondary | Step::Promote | Step::Retire => {
                if step == Step::Retire {
                    let settle = Duration::from_secs(args.settle);
                    let left = settle.saturating_sub(staged_at.elapsed());
                    if !left.is_zero() {
                        println!(
                            "  waiting {} s so every receiver instance has reloaded the new secret",
                            left.as_secs()
                        );
                        tokio::time::sleep(left).await;
                    }
                }
                let (primary, secondary) = step.subscription_secrets(&old, &new);
                let body = secrets_body(&url, primary, secondary);
                client
                    .update_subscription(&subscriber.id, &current.id, &body, deadline())
                    .await?;
                check_subscription(&client, &subscriber.id, &current.id, secondary.is_some()).await
            }
        };
        if let Err(error) = result {
            eprintln!(
                "stopped at step {}: {error}\nNothing is lost: at this point both secrets are still accepted. \
                 Fix the cause and run rotate-secret again with --current-secret <the old one> --new-secret <the new one>.",
                index + 1
            );
            return Ok(ExitCode::FAILURE);
        }
    }
    println!(
        "rotated: subscription {} and the receiver use the new secret only",
        current.id
    );
    Ok(ExitCode::SUCCESS)
}

/// The subscription is active and has a secondary secret exactly when it should.
async fn check_subscription(
    client: &shared::adapters::akeneo::EventPlatformClient,
    subscriber: &str,
    id: &str,
    secondary: bool,
) -> Result<(), CliError> {
    let now = client.subscription(subscriber, id, deadline()).await?;
    let has_secondary = now.config.secret.as_ref().is_some_and(|p| p.has_secondary());
    if has_secondary != secondary || !now.is_active() {
        return Err(CliError::StepNotVisible(format!(
            "the subscription is {} with{} a secondary secret",
            now.status_text(),
            if has_secondary { "" } else { "out" }
        )));
    }
    Ok(())
}
