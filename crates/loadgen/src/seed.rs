//! `seed`: N users through gRPC `Directory/CreateUser`, concurrently.

use std::time::{Duration, Instant};

use clap::Args;
use dirsync_proto::v1::{CreateUserRequest, UserSpec};
use futures::StreamExt;
use serde_json::json;

use crate::GrpcArgs;
use crate::output::{Report, Table, ms, rate};
use crate::stats::Summary;
use crate::target::{directory, user_name};

/// At most this many users per run.
const MAX_USERS: u64 = 10_000_000;

#[derive(Debug, Args)]
pub struct SeedArgs {
    #[command(flatten)]
    pub grpc: GrpcArgs,
    /// Number of users: <prefix>0@example.com … <prefix><N-1>@example.com.
    #[arg(long)]
    pub users: u64,
    /// Calls in flight at once.
    #[arg(long, default_value_t = 16)]
    pub concurrency: usize,
    #[arg(long, default_value = "user")]
    pub prefix: String,
    /// Stop starting calls after this many seconds (the run then fails).
    #[arg(long, default_value_t = 1800)]
    pub max_seconds: u64,
    /// Timeout of one call, in seconds.
    #[arg(long, default_value_t = 30)]
    pub timeout_seconds: u64,
    /// Create the users as this SCIM connection's (default: the tenant's first live
    /// connection), so that the SCIM edge sees them.
    #[arg(long, conflicts_with = "native")]
    pub connection: Option<String>,
    /// Create native users instead: SCIM sees them only when a connection adopts them.
    #[arg(long)]
    pub native: bool,
}

/// The connection the users are created for: the one given, else the tenant's first live one.
async fn seed_connection(args: &SeedArgs) -> anyhow::Result<Option<String>> {
    if args.native {
        return Ok(None);
    }
    if let Some(c) = &args.connection {
        return Ok(Some(c.clone()));
    }
    let mut admin = dirsync_proto::v1::admin_client::AdminClient::new(
        crate::target::channel(&args.grpc, Some(Duration::from_secs(args.timeout_seconds))).await?,
    );
    let conns = admin
        .list_connections(dirsync_proto::v1::ListConnectionsRequest {
            tenant_id: args.grpc.tenant.clone(),
        })
        .await?
        .into_inner()
        .connections;
    let live = conns.into_iter().find(|c| c.ended.is_none());
    anyhow::ensure!(
        live.is_some(),
        "tenant {} has no live connection; pass --connection or --native",
        args.grpc.tenant
    );
    Ok(live.map(|c| c.id))
}

const GIVEN: [&str; 16] = [
    "Barbara",
    "Kenji",
    "Amina",
    "Lars",
    "Priya",
    "Mateo",
    "Chloé",
    "Oluwaseun",
    "Mei",
    "Tomasz",
    "Fatima",
    "Liam",
    "Ingrid",
    "Ravi",
    "Sofia",
    "Dmitri",
];
const FAMILY: [&str; 16] = [
    "Jensen", "Tanaka", "Diallo", "Eriksson", "Sharma", "García", "Dubois", "Adeyemi", "Chen", "Kowalski", "Haddad",
    "O'Brien", "Larsen", "Iyer", "Rossi", "Volkov",
];
const DEPARTMENTS: [&str; 6] = ["Engineering", "Sales", "Finance", "Support", "Marketing", "Legal"];

/// A SCIM User document as an IdP would send it (Entra-like), and its indexed fields.
pub fn user_spec(prefix: &str, i: u64) -> UserSpec {
    let user_name = user_name(prefix, i);
    let given = GIVEN[(i % 16) as usize];
    let family = FAMILY[((i / 16) % 16) as usize];
    let display = format!("{given} {family}");
    let department = DEPARTMENTS[(i % 6) as usize];
    let external_id = format!("ext-{prefix}-{i:08}");
    let document = json!({
        "schemas": [
            "urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
        ],
        "userName": user_name,
        "externalId": external_id,
        "active": true,
        "displayName": display,
        "name": {"givenName": given, "familyName": family, "formatted": display},
        "emails": [{"value": user_name, "type": "work", "primary": true}],
        "title": "Member of staff",
        "preferredLanguage": "en-GB",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
            "employeeNumber": format!("{i}"),
            "department": department
        }
    });
    UserSpec {
        user_name: user_name.clone(),
        external_id: Some(external_id),
        active: true,
        display_name: Some(display),
        given_name: Some(given.to_owned()),
        family_name: Some(family.to_owned()),
        email: Some(user_name),
        document: document.to_string(),
    }
}

enum Outcome {
    Created(Duration),
    Existed(Duration),
    Failed(String),
    Skipped,
}

pub async fn run(args: SeedArgs) -> anyhow::Result<Report> {
    anyhow::ensure!(args.users <= MAX_USERS, "--users is at most {MAX_USERS}");
    anyhow::ensure!(args.concurrency >= 1, "--concurrency must be at least 1");
    let client = directory(&args.grpc, Duration::from_secs(args.timeout_seconds)).await?;
    let connection_id = seed_connection(&args).await?;
    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.max_seconds);
    let tenant = args.grpc.tenant.clone();
    let prefix = args.prefix.clone();
    let outcomes: Vec<Outcome> = futures::stream::iter(0..args.users)
        .map(|i| {
            let mut client = client.clone();
            let req = CreateUserRequest {
                tenant_id: tenant.clone(),
                user: Some(user_spec(&prefix, i)),
                connection_id: connection_id.clone(),
            };
            async move {
                if Instant::now() >= deadline {
                    return Outcome::Skipped;
                }
                let t = Instant::now();
                match client.create_user(req).await {
                    Ok(_) => Outcome::Created(t.elapsed()),
                    Err(s) if s.code() == tonic::Code::AlreadyExists => Outcome::Existed(t.elapsed()),
                    Err(s) => Outcome::Failed(format!("{:?}: {}", s.code(), s.message())),
                }
            }
        })
        .buffer_unordered(args.concurrency)
        .collect()
        .await;
    let elapsed = started.elapsed();

    let (mut created, mut existed, mut skipped) = (0usize, 0usize, 0usize);
    let mut latencies = Vec::with_capacity(outcomes.len());
    let mut errors = Vec::new();
    for o in outcomes {
        match o {
            Outcome::Created(d) => {
                created += 1;
                latencies.push(d);
            }
            Outcome::Existed(d) => {
                existed += 1;
                latencies.push(d);
            }
            Outcome::Failed(e) => errors.push(e),
            Outcome::Skipped => skipped += 1,
        }
    }
    let done = created + existed;
    let s = Summary::of(&latencies);
    let users_per_s = rate(done, elapsed);

    let mut t = Table::new(
        "seed (gRPC Directory/CreateUser)",
        &[
            "users",
            "created",
            "existed",
            "errors",
            "skipped",
            "conc",
            "elapsed s",
            "users/s",
        ],
    );
    t.row(vec![
        args.users.to_string(),
        created.to_string(),
        existed.to_string(),
        errors.len().to_string(),
        skipped.to_string(),
        args.concurrency.to_string(),
        format!("{:.1}", elapsed.as_secs_f64()),
        format!("{users_per_s:.0}"),
    ]);
    let mut l = Table::new("call latency (ms)", &["p50", "p90", "p99", "max", "mean"]);
    l.row(vec![ms(s.p50), ms(s.p90), ms(s.p99), ms(s.max), ms(s.mean)]);

    let mut notes = Vec::new();
    if let Some(first) = errors.first() {
        notes.push(format!("{} calls failed; first error: {first}", errors.len()));
    }
    if skipped > 0 {
        notes.push(format!(
            "--max-seconds {} reached; {skipped} users not sent",
            args.max_seconds
        ));
    }
    Ok(Report {
        tables: vec![t, l],
        notes,
        json: json!({
            "command": "seed",
            "users": args.users,
            "created": created,
            "existed": existed,
            "errors": errors.len(),
            "first_error": errors.first(),
            "skipped": skipped,
            "concurrency": args.concurrency,
            "elapsed_s": elapsed.as_secs_f64(),
            "users_per_s": users_per_s,
            "latency": s.to_json(),
        }),
        failed: !errors.is_empty() || skipped > 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_document_matches_its_indexed_fields() {
        let spec = user_spec("user", 17);
        assert_eq!(spec.user_name, "user17@example.com");
        let doc: serde_json::Value = serde_json::from_str(&spec.document).unwrap_or_default();
        assert_eq!(doc["userName"], "user17@example.com");
        assert_eq!(doc["name"]["givenName"].as_str(), spec.given_name.as_deref());
        assert_eq!(doc["name"]["familyName"].as_str(), spec.family_name.as_deref());
        assert_eq!(doc["emails"][0]["value"].as_str(), spec.email.as_deref());
        assert_eq!(doc["displayName"].as_str(), spec.display_name.as_deref());
    }
}
