//! The PIM connection the processor reads products with, and whose own events
//! it skips: the PIM's URL and the connection's four credentials, given
//! directly (local runs) or in a Secrets Manager secret (the Lambda).

use std::fmt;
use std::time::Duration;

use super::{ConfigError, number, read};
use crate::core::processor::own_events::user_uuid;

/// `PIM_URL`: the PIM's base URL; setting it turns enrichment on.
pub const PIM_URL: &str = "PIM_URL";
/// `PIM_CLIENT_ID`: the connection's client id.
pub const PIM_CLIENT_ID: &str = "PIM_CLIENT_ID";
/// `PIM_CLIENT_SECRET`: the connection's secret.
pub const PIM_CLIENT_SECRET: &str = "PIM_CLIENT_SECRET";
/// `PIM_USERNAME`: the connection's username.
pub const PIM_USERNAME: &str = "PIM_USERNAME";
/// `PIM_PASSWORD`: the connection's password.
pub const PIM_PASSWORD: &str = "PIM_PASSWORD";
/// `PIM_SECRET_ARN`: a Secrets Manager secret holding the four credentials
/// (see [`Credentials::from_secret_document`]), instead of the variables.
pub const PIM_SECRET_ARN: &str = "PIM_SECRET_ARN";
/// `PIM_MAX_CONCURRENT_CALLS`: PIM calls in flight at most, per process
/// (at least 1; default [`DEFAULT_MAX_CONCURRENT_CALLS`]).
pub const PIM_MAX_CONCURRENT_CALLS: &str = "PIM_MAX_CONCURRENT_CALLS";
/// `PIM_FETCH_BUDGET_SECS`: how long a batch's reads may take, in seconds
/// (at least 1; default [`DEFAULT_FETCH_BUDGET`]).
pub const PIM_FETCH_BUDGET_SECS: &str = "PIM_FETCH_BUDGET_SECS";
/// `PIM_SKIP_OWN_EVENTS`: whether the connection's own events are skipped
/// (default `true`).
pub const PIM_SKIP_OWN_EVENTS: &str = "PIM_SKIP_OWN_EVENTS";
/// `PIM_IGNORE_AUTHORS`: comma-separated authors whose events are skipped.
pub const PIM_IGNORE_AUTHORS: &str = "PIM_IGNORE_AUTHORS";
/// `PIM_USER_UUID`: the UUID of the connection's user (see
/// [`PimConfig::user_uuid`]).
pub const PIM_USER_UUID: &str = "PIM_USER_UUID";

/// Calls to the PIM one process makes at the same time. Akeneo allows 4 per
/// connection; the template runs at most 4 processor instances
/// (`ProcessorMaximumConcurrency`), so 1 per instance keeps the whole
/// deployment within the limit.
pub const DEFAULT_MAX_CONCURRENT_CALLS: usize = 1;
/// How long the processor may spend reading a batch's products before it
/// retries those messages instead (the Lambda's timeout is 60 s).
pub const DEFAULT_FETCH_BUDGET: Duration = Duration::from_secs(20);

/// The four credentials of an Akeneo connection (Connect > Connection
/// settings). `Debug` shows the client id and username only.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The connection's client id.
    pub client_id: String,
    /// The connection's secret.
    pub client_secret: String,
    /// The connection's username (the author of the events it causes).
    pub username: String,
    /// The connection's password.
    pub password: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .field("username", &self.username)
            .field("password", &"[redacted]")
            .finish()
    }
}

/// Why a PIM connection secret could not be read; never carries a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialsDocumentError {
    /// The secret is not a JSON object.
    #[error("it is not a JSON object")]
    NotAnObject,
    /// This field is missing, empty or not text.
    #[error("its {0:?} is missing, empty or not text")]
    Missing(&'static str),
}

impl Credentials {
    /// The secret the template writes:
    /// `{"client_id":…,"client_secret":…,"username":…,"password":…}`.
    pub fn from_secret_document(text: &str) -> Result<Credentials, CredentialsDocumentError> {
        // Parsed as a map so that no parse error can quote a value.
        let document: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(text).map_err(|_| CredentialsDocumentError::NotAnObject)?;
        let field = |name: &'static str| {
            document
                .get(name)
                .and_then(serde_json::Value::as_str)
                .map(str::trim)
                .filter(|value| !value.is_empty())
                .map(str::to_owned)
                .ok_or(CredentialsDocumentError::Missing(name))
        };
        Ok(Credentials {
            client_id: field("client_id")?,
            client_secret: field("client_secret")?,
            username: field("username")?,
            password: field("password")?,
        })
    }
}

/// Where the connection's credentials are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialSource {
    /// Given in the environment.
    Given(Credentials),
    /// A Secrets Manager secret holding them, read once at init.
    Secret {
        /// The secret's ARN.
        arn: String,
    },
}

/// The PIM connection's configuration (the `PIM_*` variables).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PimConfig {
    /// The PIM's base URL, without a trailing slash.
    pub url: String,
    /// Where its credentials are.
    pub credentials: CredentialSource,
    /// PIM calls in flight at most, per process.
    pub max_concurrent_calls: usize,
    /// How long a batch's reads may take before those messages are retried.
    pub fetch_budget: Duration,
    /// Skip the events the connection caused (see
    /// [`crate::core::processor::own_events`]).
    pub skip_own_events: bool,
    /// The UUID of the connection's user: the author the Event Platform puts
    /// in the events the connection causes. No API tells it; docs/src/pim-connection.md says
    /// how to find it.
    pub user_uuid: Option<String>,
}

impl PimConfig {
    /// `None` when no PIM is configured (enrichment off). A partial
    /// configuration is an error naming what is missing.
    pub fn from_lookup(lookup: &impl Fn(&str) -> Option<String>) -> Result<Option<PimConfig>, ConfigError> {
        let given = [
            PIM_CLIENT_ID,
            PIM_CLIENT_SECRET,
            PIM_USERNAME,
            PIM_PASSWORD,
            PIM_SECRET_ARN,
        ]
        .into_iter()
        .find(|name| read(lookup, name).is_some());
        let Some(url) = read(lookup, PIM_URL) else {
            return match given {
                Some(name) => Err(ConfigError::Missing {
                    name: PIM_URL,
                    purpose: pim_url_purpose(name),
                }),
                None => Ok(None),
            };
        };
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return Err(ConfigError::Invalid {
                name: PIM_URL,
                reason: format!("{url:?} is not an http(s) URL"),
            });
        }
        let credentials = match read(lookup, PIM_SECRET_ARN) {
            Some(arn) => CredentialSource::Secret { arn },
            None => {
                let field = |name: &'static str| {
                    read(lookup, name).ok_or(ConfigError::Missing {
                        name,
                        purpose: "the PIM connection's credentials (or PIM_SECRET_ARN, a secret holding them)",
                    })
                };
                CredentialSource::Given(Credentials {
                    client_id: field(PIM_CLIENT_ID)?,
                    client_secret: field(PIM_CLIENT_SECRET)?,
                    username: field(PIM_USERNAME)?,
                    password: field(PIM_PASSWORD)?,
                })
            }
        };
        let max_concurrent_calls = max_concurrent_calls(lookup)?;
        let fetch_budget = fetch_budget(lookup)?;
        Ok(Some(PimConfig {
            url: url.trim_end_matches('/').to_owned(),
            credentials,
            max_concurrent_calls,
            fetch_budget,
            skip_own_events: flag(lookup, PIM_SKIP_OWN_EVENTS, true)?,
            user_uuid: match read(lookup, PIM_USER_UUID) {
                None => None,
                Some(text) => Some(user_uuid(&text).ok_or_else(|| ConfigError::Invalid {
                    name: PIM_USER_UUID,
                    reason: format!("{text:?} is not a UUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)"),
                })?),
            },
        }))
    }
}

fn pim_url_purpose(given: &str) -> &'static str {
    match given {
        PIM_SECRET_ARN => "PIM_SECRET_ARN is set, so the PIM's base URL is needed too",
        _ => "PIM connection credentials are set, so the PIM's base URL is needed too",
    }
}

/// `PIM_MAX_CONCURRENT_CALLS`, at least 1: per connection, so per tenant too.
pub(super) fn max_concurrent_calls(lookup: &impl Fn(&str) -> Option<String>) -> Result<usize, ConfigError> {
    let calls = number(
        lookup,
        PIM_MAX_CONCURRENT_CALLS,
        DEFAULT_MAX_CONCURRENT_CALLS,
        "a whole number",
    )?;
    if calls == 0 {
        return Err(ConfigError::Invalid {
            name: PIM_MAX_CONCURRENT_CALLS,
            reason: "must be at least 1".into(),
        });
    }
    Ok(calls)
}

/// `PIM_FETCH_BUDGET_SECS`, at least 1 s.
pub(super) fn fetch_budget(lookup: &impl Fn(&str) -> Option<String>) -> Result<Duration, ConfigError> {
    let budget = number(
        lookup,
        PIM_FETCH_BUDGET_SECS,
        DEFAULT_FETCH_BUDGET.as_secs(),
        "a whole number of seconds",
    )?;
    if budget == 0 {
        return Err(ConfigError::Invalid {
            name: PIM_FETCH_BUDGET_SECS,
            reason: "must be at least 1".into(),
        });
    }
    Ok(Duration::from_secs(budget))
}

/// The authors whose events are never given to the business logic
/// (`PIM_IGNORE_AUTHORS`, comma-separated); works with or without a PIM.
pub fn ignored_authors(lookup: &impl Fn(&str) -> Option<String>) -> Vec<String> {
    read(lookup, PIM_IGNORE_AUTHORS)
        .map(|list| {
            list.split(',')
                .map(str::trim)
                .filter(|author| !author.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

fn flag(
    lookup: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: bool,
) -> Result<bool, ConfigError> {
    match read(lookup, name).map(|v| v.to_ascii_lowercase()).as_deref() {
        None => Ok(default),
        Some("true" | "1" | "yes" | "on") => Ok(true),
        Some("false" | "0" | "no" | "off") => Ok(false),
        Some(other) => Err(ConfigError::Invalid {
            name,
            reason: format!("{other:?} is not true or false"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(vars: &[(&str, &str)]) -> Result<Option<PimConfig>, ConfigError> {
        PimConfig::from_lookup(&|name: &str| {
            vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
        })
    }

    const GIVEN: [(&str, &str); 5] = [
        (PIM_URL, "https://pim.example.com/"),
        (PIM_CLIENT_ID, "id"),
        (PIM_CLIENT_SECRET, "client-secret-value"),
        (PIM_USERNAME, "relay_1234"),
        (PIM_PASSWORD, "password-value"),
    ];

    #[test]
    fn without_a_pim_url_or_credentials_enrichment_is_off() {
        // GIVEN no PIM variable
        // WHEN the configuration is read
        // THEN there is no PIM connection
        assert_eq!(load(&[]), Ok(None));
    }

    #[test]
    fn a_url_and_four_credentials_make_a_connection_with_safe_defaults() {
        // GIVEN the URL (with a trailing slash) and the four credentials
        // WHEN the configuration is read
        let config = load(&GIVEN).expect("valid").expect("a connection");
        // THEN they are kept, and one call at a time, 20 s per batch, own events skipped
        assert_eq!(config.url, "https://pim.example.com");
        assert!(matches!(&config.credentials, CredentialSource::Given(c) if c.username == "relay_1234"));
        assert_eq!(config.max_concurrent_calls, 1);
        assert_eq!(config.fetch_budget, Duration::from_secs(20));
        assert!(config.skip_own_events);
        assert_eq!(config.user_uuid, None);
    }

    #[test]
    fn a_user_uuid_is_kept_in_lower_case_and_anything_else_is_refused_by_name() {
        // GIVEN the connection with a user UUID in upper case, then with a username there
        let with = |value: &'static str| {
            let mut vars = GIVEN.to_vec();
            vars.push((PIM_USER_UUID, value));
            load(&vars)
        };
        // WHEN the configuration is read
        // THEN the UUID is kept in lower case, and the username is refused naming the variable
        let config = with("B238E9F7-FCEC-45BD-9431-D43CD624B244")
            .expect("valid")
            .expect("a connection");
        assert_eq!(
            config.user_uuid.as_deref(),
            Some("b238e9f7-fcec-45bd-9431-d43cd624b244")
        );
        let error = with("relay_1234").expect_err("not a UUID");
        assert!(error.to_string().contains(PIM_USER_UUID), "{error}");
    }

    #[test]
    fn a_secret_arn_replaces_the_four_credentials() {
        // GIVEN the URL and a secret
        // WHEN the configuration is read
        let config = load(&[(PIM_URL, "https://pim"), (PIM_SECRET_ARN, "arn:x")])
            .expect("valid")
            .expect("a connection");
        // THEN the credentials come from the secret
        assert_eq!(
            config.credentials,
            CredentialSource::Secret { arn: "arn:x".into() }
        );
    }

    #[test]
    fn credentials_without_a_url_name_the_missing_url() {
        // GIVEN credentials but no URL
        // WHEN the configuration is read
        let error = load(&GIVEN[1..]).expect_err("refused");
        // THEN PIM_URL is named
        assert!(error.to_string().starts_with("PIM_URL is not set"), "{error}");
    }

    #[test]
    fn a_missing_credential_is_named_and_no_value_is_shown() {
        // GIVEN everything but the password
        // WHEN the configuration is read
        let error = load(&GIVEN[..4]).expect_err("refused");
        // THEN PIM_PASSWORD is named, and no other value appears
        let text = error.to_string();
        assert!(text.starts_with("PIM_PASSWORD is not set"), "{text}");
        assert!(!text.contains("client-secret-value"));
    }

    #[test]
    fn own_events_can_be_let_through_and_a_bad_flag_is_named() {
        // GIVEN PIM_SKIP_OWN_EVENTS=false, then =maybe
        let mut vars = GIVEN.to_vec();
        vars.push((PIM_SKIP_OWN_EVENTS, "false"));
        // WHEN the configuration is read
        let config = load(&vars).expect("valid").expect("a connection");
        vars.pop();
        vars.push((PIM_SKIP_OWN_EVENTS, "maybe"));
        let error = load(&vars).expect_err("refused");
        // THEN the first lets own events through and the second names the variable
        assert!(!config.skip_own_events);
        assert!(error.to_string().starts_with("PIM_SKIP_OWN_EVENTS is invalid"));
    }

    #[test]
    fn zero_concurrent_calls_is_invalid() {
        // GIVEN a limit of 0
        let mut vars = GIVEN.to_vec();
        vars.push((PIM_MAX_CONCURRENT_CALLS, "0"));
        // WHEN the configuration is read
        let error = load(&vars).expect_err("refused");
        // THEN the variable is named
        assert!(
            error
                .to_string()
                .starts_with("PIM_MAX_CONCURRENT_CALLS is invalid")
        );
    }

    #[test]
    fn ignored_authors_are_a_trimmed_comma_separated_list() {
        // GIVEN a list with blanks
        let lookup = |name: &str| (name == PIM_IGNORE_AUTHORS).then(|| " erp_sync , ,pim_bot".to_owned());
        // WHEN it is read
        // THEN the blanks are dropped
        assert_eq!(ignored_authors(&lookup), ["erp_sync", "pim_bot"]);
    }

    #[test]
    fn the_secret_document_gives_the_four_credentials_and_errors_name_fields_not_values() {
        // GIVEN a complete document, one without a password, and one that is not JSON
        let complete = r#"{"client_id":"i","client_secret":"s3cr3t","username":"u","password":"p4ss"}"#;
        let partial = r#"{"client_id":"i","client_secret":"s3cr3t","username":"u"}"#;
        // WHEN they are read
        let credentials = Credentials::from_secret_document(complete).expect("complete");
        let missing = Credentials::from_secret_document(partial).expect_err("partial");
        let garbage = Credentials::from_secret_document("s3cr3t").expect_err("garbage");
        // THEN the first gives all four, the errors name the field, and Debug hides the secrets
        assert_eq!(credentials.password, "p4ss");
        assert_eq!(missing, CredentialsDocumentError::Missing("password"));
        assert_eq!(garbage, CredentialsDocumentError::NotAnObject);
        let debug = format!("{credentials:?}");
        assert!(!debug.contains("s3cr3t") && !debug.contains("p4ss"), "{debug}");
    }
}
