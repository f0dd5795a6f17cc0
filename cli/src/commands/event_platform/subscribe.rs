//! `subscribe`: registers the deployment with the Event Platform. Creates the
//! subscriber (its notification webhook pointed at the relay) when there is
//! none, then creates or updates the subscription. A secret the relay makes
//! is stored in the stack's secret and accepted by the receiver before Akeneo
//! is told of it, so no signed event is refused. Run twice, it changes
//! nothing; rerun after a failure, it continues where the failed run stopped.

use std::time::Duration;

use clap::Args;
use serde_json::json;
use shared::core::receiver::secrets::{
    EVENT_PLATFORM_KEY, EVENT_PLATFORM_SUBSCRIPTION_KEY, NOTIFICATION_KEY, SecretDocument,
};
use shared::core::subscription::filter::subscription_filter;
use shared::core::subscription::model::{Subscriber, Subscription};
use shared::core::subscription::plan::{Desired, Plan, create_body, find_by_url, plan, update_body};
use shared::core::subscription::{DEFAULT_EVENT_TYPES, notification_url, secret};

use super::{PimArgs, StackArgs, deadline, find_subscriber, print_json, probe};
use crate::error::CliError;

#[derive(Args)]
pub struct SubscribeArgs {
    #[command(flatten)]
    pim: PimArgs,
    #[command(flatten)]
    stack: StackArgs,
    /// An event type to receive (repeatable); default: every product and product model event.
    #[arg(long = "event", value_name = "TYPE")]
    events: Vec<String>,
    /// A filter expression (Akeneo's syntax, at most 500 characters).
    #[arg(long)]
    filter: Option<String>,
    /// Receive the events the connection itself causes (by default, when
    /// --pim-user-uuid is known, the filter leaves them out).
    #[arg(long)]
    keep_own_events: bool,
    /// Add the product identifier to product events.
    #[arg(long)]
    send_product_identifier: bool,
    /// The signing secret to use; default: a new one, stored in the stack's secret first.
    #[arg(long, env = "EVENT_PLATFORM_SECRET", hide_env_values = true)]
    secret: Option<String>,
    /// The technical email of a new subscriber (Akeneo writes there too).
    #[arg(long)]
    email: Option<String>,
    /// How long to wait for the receiver to accept a new secret.
    #[arg(long, default_value_t = 120, value_name = "SECONDS")]
    receiver_wait: u64,
    /// Print the outcome as JSON.
    #[arg(long)]
    json: bool,
}

pub async fn run(args: SubscribeArgs) -> Result<std::process::ExitCode, CliError> {
    let mut progress = Progress::default();
    let (subscriber, subscription, request_url) = match subscribe(&args, &mut progress).await {
        Ok(done) => done,
        Err(error) if progress.changed.is_empty() => return Err(error),
        Err(error) => {
            return Err(CliError::Stopped {
                command: "subscribe",
                changed: progress.changed,
                source: Box::new(error),
            });
        }
    };
    let done = progress.lines;
    if args.json {
        print_json(&json!({
            "subscriber_id": subscriber.id,
            "subscription_id": subscription.id,
            "status": subscription.status_text(),
            "changed": !done.is_empty(),
            "changes": done,
        }));
    } else if done.is_empty() {
        println!(
            "nothing to change: subscription {} ({}) already delivers {} event types to {request_url}",
            subscription.id,
            subscription.status_text(),
            subscription.events.len()
        );
    } else {
        for line in &done {
            println!("{line}");
        }
    }
    if !subscription.is_active() {
        eprintln!(
            "note: subscription {} is {}; `akeneo-relay subscriptions resume` starts it again",
            subscription.id,
            subscription.status_text()
        );
    }
    Ok(std::process::ExitCode::SUCCESS)
}

/// What a run did, for its output; `changed` alone is what a failed run
/// reports, so the user knows what is already in place.
#[derive(Default)]
struct Progress {
    lines: Vec<String>,
    changed: Vec<String>,
}

impl Progress {
    fn changed(&mut self, line: String) {
        self.changed.push(line.clone());
        self.lines.push(line);
    }

    fn checked(&mut self, line: String) {
        self.lines.push(line);
    }
}

/// Every step is written so that a rerun after a failure continues: the
/// secrets it stored are found and reused, the subscriber it made is found.
async fn subscribe(
    args: &SubscribeArgs,
    progress: &mut Progress,
) -> Result<(Subscriber, Subscription, String), CliError> {
    let stack = args.stack.resolve().await?;
    let pim = args.pim.for_tenant(&stack).await?;
    let client = pim.client().await?;
    let request_url = stack.request_url()?.trim_end_matches('/').to_owned();
    let notifications =
        notification_url(&request_url).ok_or_else(|| CliError::NotEventPlatformUrl(request_url.clone()))?;
    let stack_secret = stack.secret().await?;
    let http = probe::http_client()?;
    let wait = Duration::from_secs(args.receiver_wait);

    // The relay's own writes are dropped by Akeneo, not delivered and skipped.
    let own_user = if args.keep_own_events {
        None
    } else {
        pim.user_uuid()
    };
    let desired = Desired {
        url: request_url.clone(),
        events: if args.events.is_empty() {
            DEFAULT_EVENT_TYPES.iter().map(|e| (*e).to_owned()).collect()
        } else {
            args.events.clone()
        },
        filter: subscription_filter(args.filter.as_deref(), own_user.as_deref())?,
        send_product_identifier: args.send_product_identifier,
    };
    let found = find_subscriber(&client, args.pim.subscriber_name()).await?;
    let notifies = found
        .as_ref()
        .is_some_and(|subscriber| subscriber.contact.notifies(&notifications));
    let subscriptions = match &found {
        Some(subscriber) => client.subscriptions(&subscriber.id, deadline()).await?,
        None => Vec::new(),
    };
    let current = find_by_url(&subscriptions, &request_url);
    let planned = plan(&desired, current);
    if matches!(planned, Plan::Update(_)) && args.secret.is_some() {
        return Err(CliError::Usage(
            "the subscription exists: change its secret with `akeneo-relay rotate-secret`",
        ));
    }

    // Both secrets in one write, so the receiver has to reload only once; each
    // is accepted by the receiver before Akeneo is told of it.
    let mut document = stack_secret.read().await?;
    let mut stored = Vec::new();
    let notification_secret = if notifies {
        None
    } else {
        Some(match document.list(NOTIFICATION_KEY).into_iter().next() {
            Some(existing) => existing,
            None => {
                let made = secret::generate().map_err(|_| CliError::NoRandomness)?;
                document.set_list(NOTIFICATION_KEY, std::slice::from_ref(&made));
                stored.push("notification secret stored in the stack's secret".to_owned());
                made
            }
        })
    };
    let signing_secret = match planned {
        Plan::Create => {
            let secret = signing_secret(&mut document, args.secret.as_deref(), &mut stored)?;
            Some(secret)
        }
        _ => None,
    };
    if !stored.is_empty() {
        stack_secret.write(&document).await?;
        for line in stored {
            progress.changed(line);
        }
    }
    if let Some(secret) = &notification_secret {
        probe::until_notification_accepted(&http, &notifications, secret, wait).await?;
        progress.checked("the receiver accepts the notification secret".into());
    }
    if let Some(secret) = &signing_secret {
        probe::until_accepted(&http, &request_url, secret, wait).await?;
        progress.checked("the receiver accepts the signing secret".into());
    }

    let subscriber = match (found, notification_secret) {
        (Some(subscriber), None) => subscriber,
        (found, notification_secret) => {
            let mut contact = json!({
                "notification_channels": ["email", "webhook"],
                "notification_webhook_url": notifications,
                "notification_webhook_secret": notification_secret,
            });
            match found {
                Some(subscriber) => {
                    if let Some(email) = args
                        .email
                        .as_ref()
                        .or(subscriber.contact.technical_email.as_ref())
                    {
                        contact["technical_email"] = json!(email);
                    }
                    let updated = client
                        .update_subscriber(&subscriber.id, &json!({"contact": contact}), deadline())
                        .await?;
                    progress.changed(format!("subscriber {} now notifies {notifications}", updated.id));
                    updated
                }
                None => {
                    let email = args.email.clone().ok_or(CliError::MissingFlag(
                        "a new subscriber",
                        "--email (its technical contact)",
                    ))?;
                    contact["technical_email"] = json!(email);
                    let body = json!({"name": args.pim.subscriber_name(), "contact": contact});
                    let created = client.create_subscriber(&body, deadline()).await?;
                    progress.changed(format!(
                        "subscriber {} created, notifying {notifications}",
                        created.id
                    ));
                    created
                }
            }
        }
    };

    let subscription = match planned {
        Plan::Create => {
            let Some(secret) = &signing_secret else {
                return Err(CliError::NoSubscription(request_url));
            };
            let body = create_body(&desired, client.pim_url(), secret);
            let created = client
                .create_subscription(&subscriber.id, &body, deadline())
                .await?;
            progress.changed(format!(
                "subscription {} created: {} event types to {request_url} (live within minutes)",
                created.id,
                desired.events.len()
            ));
            created
        }
        Plan::Update(changes) => {
            let Some(current) = current else {
                return Err(CliError::NoSubscription(request_url));
            };
            let updated = client
                .update_subscription(
                    &subscriber.id,
                    &current.id,
                    &update_body(&desired, &changes),
                    deadline(),
                )
                .await?;
            for change in &changes {
                progress.changed(format!("subscription {}: {change}", updated.id));
            }
            updated
        }
        Plan::Unchanged => current
            .cloned()
            .ok_or_else(|| CliError::NoSubscription(request_url.clone()))?,
    };
    Ok((subscriber, subscription, request_url))
}

/// The secret a new subscription will sign with, listed in `document` and
/// recorded as the subscription's. Without `--secret`, the one a failed run
/// recorded is reused while the document still lists it: reruns converge on
/// one secret instead of adding one each.
fn signing_secret(
    document: &mut SecretDocument,
    given: Option<&str>,
    stored: &mut Vec<String>,
) -> Result<String, CliError> {
    let mut listed = document.list(EVENT_PLATFORM_KEY);
    let recorded = document
        .text(EVENT_PLATFORM_SUBSCRIPTION_KEY)
        .filter(|recorded| listed.contains(recorded));
    let secret = match (given, recorded) {
        (Some(given), _) => given.to_owned(),
        (None, Some(recorded)) => recorded,
        (None, None) => secret::generate().map_err(|_| CliError::NoRandomness)?,
    };
    let mut changed = false;
    if !listed.contains(&secret) {
        listed.push(secret.clone());
        document.set_list(EVENT_PLATFORM_KEY, &listed);
        changed = true;
    }
    if document.text(EVENT_PLATFORM_SUBSCRIPTION_KEY).as_deref() != Some(secret.as_str()) {
        document.set_text(EVENT_PLATFORM_SUBSCRIPTION_KEY, &secret);
        changed = true;
    }
    if changed {
        stored.push(format!(
            "signing secret stored in the stack's secret ({EVENT_PLATFORM_KEY}, and {EVENT_PLATFORM_SUBSCRIPTION_KEY} as the subscription's)"
        ));
    }
    Ok(secret)
}
