//! `dirsync admin settings show|set`: a tenant's languages and delayed invites.

use clap::{Subcommand, ValueEnum};
use dirsync_proto::v1::tenant_settings_client::TenantSettingsClient;
use dirsync_proto::v1::{GetTenantSettingsRequest, LanguageList, Settings, UpdateTenantSettingsRequest};
use serde_json::Value;

use super::{Channel, Output, to_json};

#[derive(Debug, Subcommand)]
pub enum SettingsCommand {
    /// Prints a tenant's languages and invite settings.
    Show {
        /// Tenant id.
        #[arg(long)]
        tenant: String,
    },
    /// Changes the given settings; the others keep their value.
    Set {
        /// Tenant id.
        #[arg(long)]
        tenant: String,
        /// Supported languages, most preferred first (BCP 47, comma-separated, e.g.
        /// `de-DE,en-GB`); an empty value removes them all.
        #[arg(long, value_delimiter = ',', num_args = 0..)]
        languages: Option<Vec<String>>,
        /// One of the supported languages; empty: the first supported one.
        #[arg(long)]
        default_language: Option<String>,
        /// Invite users an IdP creates once the delay has passed.
        #[arg(long, value_enum)]
        invites: Option<OnOff>,
        /// How long after creation the invite falls due: seconds, or with a unit (`90s`,
        /// `10m`, `2h`, `1d`); at most 30 days.
        #[arg(long, value_parser = parse_delay)]
        invite_delay: Option<u64>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnOff {
    On,
    Off,
}

/// `600`, `90s`, `10m`, `2h`, `1d` -> seconds.
pub(super) fn parse_delay(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let (digits, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("{s:?} is not a delay: use seconds or a number with s, m, h or d (e.g. 10m)"))?;
    let factor = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("{s:?}: unknown unit {unit:?}; use s, m, h or d (e.g. 10m)")),
    };
    n.checked_mul(factor).ok_or_else(|| format!("{s:?} is too long"))
}

fn print_settings(s: &Settings) {
    let langs = if s.supported_languages.is_empty() {
        "none (User.language stays empty)".to_owned()
    } else {
        s.supported_languages.join(", ")
    };
    println!("Tenant {}", s.tenant_id);
    println!("  Languages:        {langs}");
    if !s.effective_default_language.is_empty() {
        println!(
            "  Default language: {}{}",
            s.effective_default_language,
            if s.default_language.is_empty() {
                " (the first supported)"
            } else {
                ""
            }
        );
    }
    println!(
        "  Invites:          {}, due {} s after creation",
        if s.invites_enabled { "on" } else { "off" },
        s.invite_delay_seconds
    );
}

/// Runs one `settings` command; returns the JSON document to print.
pub async fn run(channel: Channel, command: SettingsCommand, output: Output) -> anyhow::Result<Value> {
    let mut client = TenantSettingsClient::new(channel);
    let s = match command {
        SettingsCommand::Show { tenant } => client
            .get_tenant_settings(GetTenantSettingsRequest { tenant_id: tenant })
            .await?
            .into_inner(),
        SettingsCommand::Set {
            tenant,
            languages,
            default_language,
            invites,
            invite_delay,
        } => client
            .update_tenant_settings(UpdateTenantSettingsRequest {
                tenant_id: tenant,
                supported_languages: languages.map(|tags| LanguageList {
                    tags: tags.into_iter().filter(|t| !t.trim().is_empty()).collect(),
                }),
                default_language,
                invites_enabled: invites.map(|i| i == OnOff::On),
                invite_delay_seconds: invite_delay,
            })
            .await?
            .into_inner(),
    };
    if output == Output::Text {
        print_settings(&s);
    }
    to_json(&s)
}

#[cfg(test)]
mod tests {
    use super::parse_delay;

    #[test]
    fn delays() {
        for (input, want) in [
            ("600", Ok(600)),
            ("90s", Ok(90)),
            ("10m", Ok(600)),
            ("2h", Ok(7200)),
            ("1d", Ok(86_400)),
            ("0", Ok(0)),
            ("10 m", Err(())),
            ("m", Err(())),
            ("5w", Err(())),
            ("-1", Err(())),
        ] {
            assert_eq!(parse_delay(input).map_err(|_| ()), want, "{input:?}");
        }
    }
}
