//! `tenants add|list|remove`: edits the tenants of a deployment's two
//! tenants secrets (`--stack`, or `--tenants-secret-arn` and
//! `--tenant-pims-secret-arn`), or of a tenants file for `serve --tenants`
//! (`--file`). One document for every tenant: the
//! receiver and the processor read them all in one call.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand};
use serde_json::{Map, Value, json};
use shared::core::receiver::secrets::{
    EVENT_PLATFORM_KEY, EVENT_PLATFORM_SUBSCRIPTION_KEY, EVENTS_API_KEY, NOTIFICATION_KEY, SecretDocument,
};
use shared::core::subscription::secret;
use shared::core::tenant::{PIM_KEY, pim_connections, route_path};

use super::event_platform::{StackArgs, StackSecret, print_json, tenant_name};
use crate::error::CliError;

#[derive(Args)]
pub struct TenantsArgs {
    #[command(subcommand)]
    action: Action,
    /// A tenants file (for `serve --tenants`) instead of a deployment's
    /// secret; created by the first `add`.
    #[arg(long, global = true, value_name = "FILE")]
    file: Option<PathBuf>,
    /// With --file: the port `serve` listens on, for the Request URLs shown.
    #[arg(long, global = true, default_value_t = super::DEFAULT_PORT)]
    port: u16,
    #[command(flatten)]
    stack: StackArgs,
}

#[derive(Subcommand)]
enum Action {
    /// Add a tenant with new Event Platform and notification secrets, or
    /// update an existing tenant's PIM connection (its secrets are kept).
    Add(Box<AddArgs>),
    /// The tenants and their Request URLs.
    List {
        /// One JSON document on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Remove a tenant: its routes answer 404 from the next reload on (Akeneo
    /// then suspends its subscriptions).
    Remove {
        /// The tenant.
        #[arg(value_parser = tenant_name)]
        name: String,
    },
}

#[derive(Args)]
struct AddArgs {
    /// The tenant's name: lower-case letters, digits and '-'; in its URLs.
    #[arg(value_parser = tenant_name)]
    name: String,
    /// The Events API secret Akeneo shows in the tenant PIM's connection
    /// (repeatable); without it the tenant's Events API route answers 404.
    #[arg(long)]
    events_api_secret: Vec<String>,
    /// The tenant's PIM (https://…): its events are enriched from it.
    #[arg(long, requires_all = ["pim_client_id", "pim_client_secret", "pim_username", "pim_password"])]
    pim_url: Option<String>,
    /// The tenant PIM connection's client id.
    #[arg(long)]
    pim_client_id: Option<String>,
    /// The tenant PIM connection's secret.
    #[arg(long)]
    pim_client_secret: Option<String>,
    /// The tenant PIM connection's username.
    #[arg(long)]
    pim_username: Option<String>,
    /// The tenant PIM connection's password.
    #[arg(long)]
    pim_password: Option<String>,
    /// The UUID of the tenant connection's user (its own Event Platform
    /// events are skipped by it).
    #[arg(long)]
    pim_user_uuid: Option<String>,
}

/// Where the document is: one file, or a stack's routes secret (read by
/// the receiver) and, apart, its PIM connections secret (read by the
/// processor only).
enum Place {
    File(PathBuf),
    Stack {
        routes: StackSecret,
        pims: Option<StackSecret>,
    },
}

impl Place {
    async fn read(&self) -> Result<SecretDocument, CliError> {
        match self {
            Place::File(path) if !path.exists() => Ok(SecretDocument::default()),
            Place::File(path) => SecretDocument::parse(&crate::tenants_file::read(path)?)
                .map_err(|e| CliError::Tenants(path.display().to_string(), e.to_string())),
            Place::Stack { routes, pims: None } => routes.read_document().await,
            Place::Stack {
                routes,
                pims: Some(pims),
            } => Ok(SecretDocument::join_pims(
                &routes.read_document().await?,
                &pims.read_document().await?,
            )),
        }
    }

    /// Writes the PIM connections first: once the receiver takes a new
    /// tenant's events, the processor finds its PIM.
    async fn write(&self, document: &SecretDocument) -> Result<(), CliError> {
        // What the receiver and processor will read must be readable by them.
        pim_connections(&document.to_text())
            .map_err(|e| CliError::Tenants(self.to_string(), e.to_string()))?;
        match self {
            Place::File(path) => write_file(path, &document.to_text()),
            Place::Stack { routes, pims: None } => routes.write_document(document).await,
            Place::Stack {
                routes,
                pims: Some(pims),
            } => {
                let (route_part, pim_part) = document.split_pims();
                pims.write_document(&pim_part).await?;
                routes.write_document(&route_part).await
            }
        }
    }
}

impl std::fmt::Display for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Place::File(path) => write!(f, "{}", path.display()),
            Place::Stack { routes, pims: None } => write!(f, "{}", routes.arn()),
            Place::Stack {
                routes,
                pims: Some(pims),
            } => write!(f, "{} and {}", routes.arn(), pims.arn()),
        }
    }
}

/// Written beside, then renamed: a reader never sees half a file. Only the
/// user may read it: it holds secrets.
fn write_file(path: &Path, text: &str) -> Result<(), CliError> {
    let error = |e: std::io::Error| CliError::Tenants(path.display().to_string(), e.to_string());
    let partial = path.with_extension("partial");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&partial).map_err(error)?;
    std::io::Write::write_all(&mut file, text.as_bytes()).map_err(error)?;
    std::fs::rename(&partial, path).map_err(error)
}

pub async fn run(args: TenantsArgs) -> Result<ExitCode, CliError> {
    let (place, base) = match &args.file {
        Some(path) => (
            Place::File(path.clone()),
            format!("http://127.0.0.1:{}", args.port),
        ),
        None => {
            let stack = args.stack.resolve().await?;
            let base = stack
                .request_url()
                .ok()
                .map(|url| {
                    url.trim_end_matches('/')
                        .trim_end_matches("/event-platform")
                        .to_owned()
                })
                .unwrap_or_else(|| String::from("<your Function URL>"));
            let place = Place::Stack {
                routes: stack.tenants_secret().await?,
                pims: stack.tenant_pims_secret().await,
            };
            (place, base)
        }
    };
    match args.action {
        Action::Add(add) => self::add(&place, &base, *add).await,
        Action::List { json } => list(&place, &base, json).await,
        Action::Remove { name } => remove(&place, &name).await,
    }
}

async fn add(place: &Place, base: &str, args: AddArgs) -> Result<ExitCode, CliError> {
    let mut document = place.read().await?;
    let existing = document.tenant(&args.name);
    let added = existing.is_none();
    let mut entry = existing.unwrap_or_default();
    if !entry.has(EVENT_PLATFORM_KEY) {
        // As `subscribe` stores it: the one the subscription will sign with.
        let made = secret::generate().map_err(|_| CliError::NoRandomness)?;
        entry.set_list(EVENT_PLATFORM_KEY, std::slice::from_ref(&made));
        entry.set_text(EVENT_PLATFORM_SUBSCRIPTION_KEY, &made);
    }
    if !entry.has(NOTIFICATION_KEY) {
        let made = secret::generate().map_err(|_| CliError::NoRandomness)?;
        entry.set_text(NOTIFICATION_KEY, &made);
    }
    if !args.events_api_secret.is_empty() {
        entry.set_list(EVENTS_API_KEY, &args.events_api_secret);
    }
    if let (Some(url), Some(client_id), Some(client_secret), Some(username), Some(password)) = (
        &args.pim_url,
        &args.pim_client_id,
        &args.pim_client_secret,
        &args.pim_username,
        &args.pim_password,
    ) {
        let mut pim = Map::new();
        for (key, value) in [
            ("url", url),
            ("client_id", client_id),
            ("client_secret", client_secret),
            ("username", username),
            ("password", password),
        ] {
            pim.insert(key.to_owned(), Value::String(value.clone()));
        }
        if let Some(uuid) = &args.pim_user_uuid {
            pim.insert("user_uuid".to_owned(), Value::String(uuid.clone()));
        }
        entry.set_object(PIM_KEY, pim);
    }
    let has_events_api = !entry.list(EVENTS_API_KEY).is_empty();
    document.set_tenant(&args.name, entry);
    place.write(&document).await?;
    println!(
        "tenant {} {} in {place}",
        args.name,
        if added { "added" } else { "updated" }
    );
    let url = |route: &str| format!("{base}{}", route_path(Some(&args.name), route));
    println!("  Event Platform Request URL    {}", url("/event-platform"));
    println!(
        "  notification webhook          {}",
        url("/event-platform/notifications")
    );
    if has_events_api {
        println!("  Events API Request URL        {}", url("/events-api"));
    } else {
        println!("  Events API: off (--events-api-secret <the secret Akeneo shows> turns it on)");
    }
    println!(
        "next: akeneo-relay subscribe --tenant {} --pim-url <its PIM> … (the receiver takes the tenant within its reload interval)",
        args.name
    );
    Ok(ExitCode::SUCCESS)
}

async fn list(place: &Place, base: &str, as_json: bool) -> Result<ExitCode, CliError> {
    let document = place.read().await?;
    let pims = pim_connections(&document.to_text())
        .map_err(|e| CliError::Tenants(place.to_string(), e.to_string()))?;
    let rows: Vec<Value> = document
        .tenants()
        .iter()
        .map(|name| {
            let entry = document.tenant(name).unwrap_or_default();
            let url = |route: &str| format!("{base}{}", route_path(Some(name), route));
            json!({
                "tenant": name,
                "event_platform_url": (!entry.list(EVENT_PLATFORM_KEY).is_empty()).then(|| url("/event-platform")),
                "events_api_url": (!entry.list(EVENTS_API_KEY).is_empty()).then(|| url("/events-api")),
                "pim_url": pims.get(name).cloned().flatten().map(|pim| pim.url),
            })
        })
        .collect();
    if as_json {
        print_json(&json!({ "tenants": rows }));
        return Ok(ExitCode::SUCCESS);
    }
    if rows.is_empty() {
        println!("no tenants in {place}; `akeneo-relay tenants add <name>` adds one");
    }
    for row in &rows {
        let text = |key: &str| row[key].as_str().unwrap_or("-").to_owned();
        println!(
            "{:<16} {}  PIM: {}",
            text("tenant"),
            text("event_platform_url"),
            text("pim_url")
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn remove(place: &Place, name: &str) -> Result<ExitCode, CliError> {
    let mut document = place.read().await?;
    if !document.remove_tenant(name) {
        println!("no tenant {name} in {place}: nothing to remove");
        return Ok(ExitCode::SUCCESS);
    }
    place.write(&document).await?;
    println!("tenant {name} removed from {place}: its routes answer 404 from the receiver's next reload");
    Ok(ExitCode::SUCCESS)
}
