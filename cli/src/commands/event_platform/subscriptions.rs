//! `subscriptions list|show|suspend|resume|delete`: the subscriber's
//! subscriptions, by id or (without one) the one at the stack's Request URL.

use std::process::ExitCode;

use clap::{Args, Subcommand};

use super::{PimArgs, StackArgs, deadline, print_json, subscriber, subscription};
use crate::error::CliError;

#[derive(Args)]
pub struct SubscriptionsArgs {
    #[command(subcommand)]
    action: Action,
    #[command(flatten)]
    pim: PimArgs,
    #[command(flatten)]
    stack: StackArgs,
    /// Print Akeneo's answers as JSON.
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Subcommand)]
enum Action {
    /// Every subscription of the subscriber.
    List,
    /// One subscription, whole.
    Show { id: Option<String> },
    /// Stop deliveries (events meanwhile are not kept by Akeneo).
    Suspend { id: Option<String> },
    /// Start deliveries again.
    Resume { id: Option<String> },
    /// Remove the subscription.
    Delete { id: Option<String> },
}

pub async fn run(args: SubscriptionsArgs) -> Result<ExitCode, CliError> {
    let stack = args.stack.resolve().await?;
    let client = args.pim.for_tenant(&stack).await?.client().await?;
    let subscriber = subscriber(&client, args.pim.subscriber_name()).await?;
    let pick = |id: &Option<String>| id.clone();
    match &args.action {
        Action::List => {
            let all = client.subscriptions(&subscriber.id, deadline()).await?;
            if args.json {
                print_json(&all);
            } else if all.is_empty() {
                println!("subscriber {} has no subscriptions", subscriber.id);
            } else {
                println!("{:<38} {:<10} {:>6}  URL", "ID", "STATUS", "EVENTS");
                for s in &all {
                    println!(
                        "{:<38} {:<10} {:>6}  {}",
                        s.id,
                        s.status_text(),
                        s.events.len(),
                        s.url()
                    );
                }
            }
        }
        Action::Show { id } => {
            let s = subscription(&client, &subscriber, pick(id).as_deref(), &stack).await?;
            if args.json {
                print_json(&s);
            } else {
                println!("subscription  {}", s.id);
                println!("subscriber    {}", subscriber.id);
                println!("status        {}", s.status_text());
                println!("url           {}", s.url());
                println!("filter        {}", s.filter.as_deref().unwrap_or("(none)"));
                println!(
                    "product id    {}",
                    if s.send_product_identifier.unwrap_or(false) {
                        "sent"
                    } else {
                        "not sent"
                    }
                );
                let secondary = s.config.secret.as_ref().is_some_and(|p| p.has_secondary());
                println!(
                    "secrets       primary{}",
                    if secondary { " and secondary" } else { " only" }
                );
                println!("events");
                for event in &s.events {
                    println!("  {event}");
                }
            }
        }
        Action::Suspend { id } | Action::Resume { id } | Action::Delete { id } => {
            let s = subscription(&client, &subscriber, pick(id).as_deref(), &stack).await?;
            let done = match &args.action {
                Action::Suspend { .. } => {
                    client.suspend(&subscriber.id, &s.id, deadline()).await?;
                    "suspended"
                }
                Action::Resume { .. } => {
                    client.resume(&subscriber.id, &s.id, deadline()).await?;
                    "resumed"
                }
                _ => {
                    client
                        .delete_subscription(&subscriber.id, &s.id, deadline())
                        .await?;
                    "deleted"
                }
            };
            if args.json {
                print_json(&serde_json::json!({"subscription_id": s.id, "done": done}));
            } else {
                println!("subscription {} {done}", s.id);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
