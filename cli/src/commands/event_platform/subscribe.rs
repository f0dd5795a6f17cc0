//! `subscribe`: registers the deployment with the Event Platform. Creates the
//! subscriber (its notification webhook pointed at the relay) when there is
//! none, then creates or updates the subscription. A secret the relay makes
//! is stored in the stack's secret and accepted by the receiver before Akeneo
//! is told of it, so no signed event is refused. Run twice, it changes nothing.

use std::time::Duration;

use clap::Args;
use serde_json::json;
use shared::core::receiver::secrets::{EVENT_PLATFORM_KEY, NOTIFICATION_KEY};
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
    let client = args.pim.client().await?;
    let stack = args.stack.resolve().await?;
    let request_url = stack.request_url()?.trim_end_matches('/').to_owned();
    let notifications =
        notification_url(&request_url).ok_or_else(|| CliError::NotEventPlatformUrl(request_url.clone()))?;
    let stack_secret = stack.secret().await?;
    let http = probe::http_client()?;
    let wait = Duration::from_secs(args.receiver_wait);
    let mut done: Vec<String> = Vec::new();

    let subscriber = match find_subscriber(&client, args.pim.subscriber_name()).await? {
        Some(subscriber) if subscriber.contact.notifies(&notifications) => subscriber,
        found => {
            // The notification secret is the receiver's before Akeneo signs with it.
            let mut document = stack_secret.read().await?;
            let notification_secret = match document.list(NOTIFICATION_KEY).into_iter().next() {
                Some(existing) => existing,
                None => {
                    let made = secret::generate().map_err(|_| CliError::NoRandomness)?;
                    document.set_list(NOTIFICATION_KEY, std::slice::from_ref(&made));
                    stack_secret.write(&document).await?;
                    done.push("notification secret stored in the stack's secret".into());
                    made
                }
            };
            probe::until_notification_accepted(&http, &notifications, &notification_secret, wait).await?;
            done.push("the receiver accepts the notification secret".into());
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
                    done.push(format!("subscriber {} now notifies {notifications}", updated.id));
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
                    done.push(format!(
                        "subscriber {} created, notifying {notifications}",
                        created.id
                    ));
                    created
                }
            }
        }
    };

    let desired = Desired {
        url: request_url.clone(),
        events: if args.events.is_empty() {
            DEFAULT_EVENT_TYPES.iter().map(|e| (*e).to_owned()).collect()
        } else {
            args.events.clone()
        },
        filter: args.filter.clone(),
        send_product_identifier: args.send_product_identifier,
    };
    let subscriptions = client.subscriptions(&subscriber.id, deadline()).await?;
    let current = find_by_url(&subscriptions, &request_url);
    let subscription = match plan(&desired, current) {
        Plan::Create => {
            let secret = match &args.secret {
                Some(given) => given.clone(),
                None => secret::generate().map_err(|_| CliError::NoRandomness)?,
            };
            let mut document = stack_secret.read().await?;
            let mut listed = document.list(EVENT_PLATFORM_KEY);
            if !listed.contains(&secret) {
                listed.push(secret.clone());
                document.set_list(EVENT_PLATFORM_KEY, &listed);
                stack_secret.write(&document).await?;
                done.push("signing secret stored in the stack's secret".into());
            }
            probe::until_accepted(&http, &request_url, &secret, wait).await?;
            done.push("the receiver accepts the signing secret".into());
            let body = create_body(&desired, client.pim_url(), &secret);
            let created = client
                .create_subscription(&subscriber.id, &body, deadline())
                .await?;
            done.push(format!(
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
            if args.secret.is_some() {
                return Err(CliError::Usage(
                    "the subscription exists: change its secret with `akeneo-relay rotate-secret`",
                ));
            }
            let updated = client
                .update_subscription(
                    &subscriber.id,
                    &current.id,
                    &update_body(&desired, &changes),
                    deadline(),
                )
                .await?;
            for change in &changes {
                done.push(format!("subscription {}: {change}", updated.id));
            }
            updated
        }
        Plan::Unchanged => current
            .cloned()
            .ok_or_else(|| CliError::NoSubscription(request_url.clone()))?,
    };

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
