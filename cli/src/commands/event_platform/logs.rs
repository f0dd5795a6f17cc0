//! `logs`: the Event Platform's delivery logs (30 days), newest first.

use std::process::ExitCode;

use clap::{Args, ValueEnum};
use shared::adapters::akeneo::LogQuery;
use shared::core::subscription::model::newest_first;

use super::{PimArgs, StackArgs, deadline, print_json};
use crate::error::CliError;

#[derive(Args)]
pub struct LogsArgs {
    #[command(flatten)]
    pim: PimArgs,
    /// With --tenant: the tenant's PIM connection from the tenants secret.
    #[command(flatten)]
    stack: StackArgs,
    /// Only this subscription's entries.
    #[arg(long)]
    subscription: Option<String>,
    /// Only actions or only errors.
    #[arg(long = "type", value_enum)]
    log_type: Option<LogType>,
    /// Entries from this time on (RFC 3339, e.g. 2026-12-01T00:00:00Z).
    #[arg(long)]
    since: Option<String>,
    /// At most this many entries.
    #[arg(long, default_value_t = 50)]
    limit: usize,
    /// One JSON object per line, as Akeneo answers them.
    #[arg(long)]
    json: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogType {
    Action,
    Error,
}

pub async fn run(args: LogsArgs) -> Result<ExitCode, CliError> {
    if let Some(since) = &args.since
        && time::OffsetDateTime::parse(since, &time::format_description::well_known::Rfc3339).is_err()
    {
        return Err(CliError::Usage(
            "--since takes an RFC 3339 time, e.g. 2026-12-01T00:00:00Z",
        ));
    }
    let stack = args.stack.resolve().await?;
    let client = args.pim.for_tenant(&stack).await?.client().await?;
    let query = LogQuery {
        subscription_id: args.subscription.clone(),
        log_type: args.log_type.map(|t| match t {
            LogType::Action => "action".to_owned(),
            LogType::Error => "error".to_owned(),
        }),
        from: args.since.clone(),
        limit: args.limit,
    };
    let mut entries = client.logs(&query, deadline()).await?;
    newest_first(&mut entries);
    for entry in &entries {
        if args.json {
            print_json(entry);
        } else {
            println!("{}", entry.line());
        }
    }
    if entries.is_empty() && !args.json {
        println!("no log entries match");
    }
    Ok(ExitCode::SUCCESS)
}
