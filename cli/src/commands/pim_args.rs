//! The PIM connection's flags, shared by `serve` (enrichment) and the Event
//! Platform commands (the management API takes the connection's token). Each
//! flag falls back to the variable the Lambdas read, so one set of
//! variables serves both. Every flag is global: accepted before and after a
//! nested subcommand (`subscriptions list --pim-url …`).

use clap::Args;
use shared::config::{PIM_CLIENT_ID, PIM_CLIENT_SECRET, PIM_PASSWORD, PIM_URL, PIM_USER_UUID, PIM_USERNAME};

#[derive(Args, Clone)]
pub struct PimConnectionArgs {
    /// Your PIM (https://…).
    #[arg(long, env = "PIM_URL", global = true)]
    pim_url: Option<String>,
    /// The PIM connection's client id.
    #[arg(long, env = "PIM_CLIENT_ID", global = true)]
    pim_client_id: Option<String>,
    /// The PIM connection's secret.
    #[arg(long, env = "PIM_CLIENT_SECRET", hide_env_values = true, global = true)]
    pim_client_secret: Option<String>,
    /// The PIM connection's username.
    #[arg(long, env = "PIM_USERNAME", global = true)]
    pim_username: Option<String>,
    /// The PIM connection's password.
    #[arg(long, env = "PIM_PASSWORD", hide_env_values = true, global = true)]
    pim_password: Option<String>,
    /// The UUID of the connection's user: the author of the Event Platform
    /// events the connection causes (see "No write-back loops" in
    /// docs/src/pim-connection.md).
    #[arg(long, env = "PIM_USER_UUID", global = true)]
    pim_user_uuid: Option<String>,
}

impl PimConnectionArgs {
    /// The value of the Lambda variable `name`, as these flags give it.
    pub fn lookup(&self, name: &str) -> Option<Option<String>> {
        let value = match name {
            PIM_URL => &self.pim_url,
            PIM_CLIENT_ID => &self.pim_client_id,
            PIM_CLIENT_SECRET => &self.pim_client_secret,
            PIM_USERNAME => &self.pim_username,
            PIM_PASSWORD => &self.pim_password,
            PIM_USER_UUID => &self.pim_user_uuid,
            _ => return None,
        };
        Some(value.clone())
    }
}

impl PimConnectionArgs {
    /// These flags, with the tenant's PIM connection (from the tenants
    /// document) for those not given: a tenant's commands need no PIM flags.
    pub fn or_tenant(&self, pim: &shared::core::tenant::TenantPim) -> PimConnectionArgs {
        let mut filled = self.clone();
        if filled.pim_url.is_none() {
            filled.pim_url = Some(pim.url.clone());
            filled.pim_client_id = filled.pim_client_id.or(Some(pim.credentials.client_id.clone()));
            filled.pim_client_secret = filled
                .pim_client_secret
                .or(Some(pim.credentials.client_secret.clone()));
            filled.pim_username = filled.pim_username.or(Some(pim.credentials.username.clone()));
            filled.pim_password = filled.pim_password.or(Some(pim.credentials.password.clone()));
            filled.pim_user_uuid = filled.pim_user_uuid.or(pim.user_uuid.clone());
        }
        filled
    }
}
