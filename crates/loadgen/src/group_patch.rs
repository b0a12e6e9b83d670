//! `group-patch`: one SCIM PATCH adding N members to a fresh group, timed, for R rounds.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Args;
use dirsync_proto::v1::{
    AttributePath, CompareOp, Comparison, Filter, FilterValue, ListUsersRequest, filter, filter_value,
};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::output::{Report, Table, ms, ms_json};
use crate::stats::Summary;
use crate::target::{Directory, Scim, directory};
use crate::{GrpcArgs, ScimArgs};

const MAX_MEMBERS: usize = 1_000_000;
const MAX_ROUNDS: usize = 100;
/// ListUsers page size when collecting member ids.
const PAGE: u64 = 1000;

#[derive(Debug, Args)]
pub struct GroupPatchArgs {
    #[command(flatten)]
    pub scim: ScimArgs,
    #[command(flatten)]
    pub grpc: GrpcArgs,
    /// Members added by the one PATCH.
    #[arg(long, default_value_t = 10_000)]
    pub members: usize,
    /// Rounds, each on a fresh group.
    #[arg(long, default_value_t = 3)]
    pub rounds: usize,
    /// Members are users whose userName starts with this.
    #[arg(long, default_value = "user")]
    pub prefix: String,
    /// Keep the groups (default: delete each one after its round, timed too).
    #[arg(long)]
    pub keep: bool,
    /// Stop starting rounds after this many seconds (the run then fails).
    #[arg(long, default_value_t = 900)]
    pub max_seconds: u64,
    /// Timeout of one request, in seconds.
    #[arg(long, default_value_t = 300)]
    pub timeout_seconds: u64,
}

/// Ids of the first `n` users whose userName starts with `prefix` (gRPC ListUsers, by pages).
async fn member_ids(client: &mut Directory, tenant: &str, prefix: &str, n: usize) -> anyhow::Result<Vec<String>> {
    let filter = Filter {
        kind: Some(filter::Kind::Compare(Comparison {
            path: Some(AttributePath {
                schema: String::new(),
                name: "userName".into(),
                sub_attribute: String::new(),
                multi_valued: false,
            }),
            op: CompareOp::Sw as i32,
            value: Some(FilterValue {
                kind: Some(filter_value::Kind::String(prefix.to_owned())),
            }),
            case_exact: false,
        })),
    };
    let mut ids = Vec::with_capacity(n);
    let max_pages = n.div_ceil(PAGE as usize) + 1;
    for page in 0..max_pages {
        if ids.len() >= n {
            break;
        }
        let resp = client
            .list_users(ListUsersRequest {
                tenant_id: tenant.to_owned(),
                filter: Some(filter.clone()),
                start_index: 1 + page as u64 * PAGE,
                count: PAGE,
                sort: None,
                ..Default::default()
            })
            .await
            .context("gRPC ListUsers")?
            .into_inner();
        if resp.users.is_empty() {
            break;
        }
        ids.extend(resp.users.into_iter().map(|u| u.id));
    }
    if ids.len() < n {
        bail!(
            "only {} users match userName sw {prefix:?}; seed at least {n} first",
            ids.len()
        );
    }
    ids.truncate(n);
    Ok(ids)
}

pub fn patch_body(ids: &[String]) -> Vec<u8> {
    let value: Vec<Value> = ids.iter().map(|id| json!({ "value": id })).collect();
    json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "add", "path": "members", "value": value}]
    })
    .to_string()
    .into_bytes()
}

struct Round {
    group_id: String,
    create: Duration,
    patch: Duration,
    get: Duration,
    members_seen: usize,
    delete: Option<Duration>,
}

async fn expect(resp: reqwest::Response, ok: &[StatusCode], what: &str) -> anyhow::Result<Vec<u8>> {
    let status = resp.status();
    let body = resp
        .bytes()
        .await
        .with_context(|| format!("{what}: reading the body"))?;
    if !ok.contains(&status) {
        let text = String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned();
        bail!("{what}: HTTP {status}: {text}");
    }
    Ok(body.to_vec())
}

async fn round(scim: &Scim, run: &str, r: usize, body: &[u8], keep: bool) -> anyhow::Result<Round> {
    let create_body = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": format!("loadgen {run} round {r}"),
        "externalId": format!("loadgen-{run}-{r}"),
    })
    .to_string()
    .into_bytes();
    let t = Instant::now();
    let resp = scim.send_json(Method::POST, "/Groups", create_body).send().await?;
    let created = expect(resp, &[StatusCode::CREATED], "POST /Groups").await?;
    let create = t.elapsed();
    let created: Value = serde_json::from_slice(&created).context("POST /Groups answer")?;
    let group_id = created
        .get("id")
        .and_then(Value::as_str)
        .context("POST /Groups answer has no id")?
        .to_owned();
    let path = format!("/Groups/{group_id}");

    let t = Instant::now();
    let resp = scim.send_json(Method::PATCH, &path, body.to_vec()).send().await?;
    expect(resp, &[StatusCode::NO_CONTENT, StatusCode::OK], "PATCH /Groups/{id}").await?;
    let patch = t.elapsed();

    let t = Instant::now();
    let resp = scim.get(&path).send().await?;
    let got = expect(resp, &[StatusCode::OK], "GET /Groups/{id}").await?;
    let get = t.elapsed();
    let got: Value = serde_json::from_slice(&got).context("GET /Groups/{id} answer")?;
    let members_seen = got.get("members").and_then(Value::as_array).map_or(0, Vec::len);

    let delete = if keep {
        None
    } else {
        let t = Instant::now();
        let resp = scim
            .http
            .delete(scim.url(&path))
            .header("authorization", &scim.auth)
            .send()
            .await?;
        expect(resp, &[StatusCode::NO_CONTENT], "DELETE /Groups/{id}").await?;
        Some(t.elapsed())
    };
    Ok(Round {
        group_id,
        create,
        patch,
        get,
        members_seen,
        delete,
    })
}

pub async fn run(args: GroupPatchArgs) -> anyhow::Result<Report> {
    anyhow::ensure!(
        (1..=MAX_MEMBERS).contains(&args.members),
        "--members is 1..={MAX_MEMBERS}"
    );
    anyhow::ensure!((1..=MAX_ROUNDS).contains(&args.rounds), "--rounds is 1..={MAX_ROUNDS}");
    let timeout = Duration::from_secs(args.timeout_seconds);
    let scim = Scim::new(&args.scim, 1, timeout)?;
    let mut client = directory(&args.grpc, timeout).await?;
    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.max_seconds);

    let t = Instant::now();
    let ids = member_ids(&mut client, &args.grpc.tenant, &args.prefix, args.members).await?;
    let lookup = t.elapsed();
    let body = patch_body(&ids);
    let run_id = uuid::Uuid::new_v4().simple().to_string();

    let mut rounds = Vec::new();
    let mut error: Option<String> = None;
    let mut skipped = 0usize;
    for r in 1..=args.rounds {
        if Instant::now() >= deadline {
            skipped = args.rounds + 1 - r;
            break;
        }
        match round(&scim, &run_id[..12], r, &body, args.keep).await {
            Ok(x) => rounds.push(x),
            Err(e) => {
                error = Some(format!("round {r}: {e:#}"));
                break;
            }
        }
    }
    let wrong: Vec<&Round> = rounds.iter().filter(|x| x.members_seen != args.members).collect();

    let mut t = Table::new(
        &format!(
            "group-patch (PATCH add {} members, body {:.0} KiB)",
            args.members,
            body.len() as f64 / 1024.0
        ),
        &["round", "POST ms", "PATCH ms", "GET ms", "members", "DELETE ms"],
    );
    for (i, x) in rounds.iter().enumerate() {
        t.row(vec![
            (i + 1).to_string(),
            ms(x.create),
            ms(x.patch),
            ms(x.get),
            x.members_seen.to_string(),
            x.delete.map_or_else(|| "-".to_owned(), ms),
        ]);
    }
    let patches: Vec<Duration> = rounds.iter().map(|x| x.patch).collect();
    let gets: Vec<Duration> = rounds.iter().map(|x| x.get).collect();
    let deletes: Vec<Duration> = rounds.iter().filter_map(|x| x.delete).collect();
    let (ps, gs, ds) = (Summary::of(&patches), Summary::of(&gets), Summary::of(&deletes));
    let mut s = Table::new("summary (ms)", &["", "min", "p50", "max"]);
    s.row(vec!["PATCH".into(), ms(ps.min), ms(ps.p50), ms(ps.max)]);
    s.row(vec!["GET".into(), ms(gs.min), ms(gs.p50), ms(gs.max)]);
    if !deletes.is_empty() {
        s.row(vec!["DELETE".into(), ms(ds.min), ms(ds.p50), ms(ds.max)]);
    }
    let mut notes = vec![format!("member ids looked up over gRPC ListUsers in {} ms", ms(lookup))];
    if let Some(e) = &error {
        notes.push(e.clone());
    }
    for x in &wrong {
        notes.push(format!(
            "group {} has {} members after the PATCH, expected {}",
            x.group_id, x.members_seen, args.members
        ));
    }
    if skipped > 0 {
        notes.push(format!(
            "--max-seconds {} reached; {skipped} rounds not run",
            args.max_seconds
        ));
    }
    let per_round: Vec<Value> = rounds
        .iter()
        .map(|x| {
            json!({
                "group_id": x.group_id,
                "create_ms": ms_json(x.create),
                "patch_ms": ms_json(x.patch),
                "get_ms": ms_json(x.get),
                "members": x.members_seen,
                "delete_ms": x.delete.map(ms_json),
            })
        })
        .collect();
    Ok(Report {
        tables: vec![t, s],
        notes,
        failed: error.is_some() || !wrong.is_empty() || skipped > 0,
        json: json!({
            "command": "group-patch",
            "members": args.members,
            "rounds": args.rounds,
            "body_bytes": body.len(),
            "lookup_ms": ms_json(lookup),
            "patch": ps.to_json(),
            "get": gs.to_json(),
            "delete": (!deletes.is_empty()).then(|| ds.to_json()),
            "verified": error.is_none() && wrong.is_empty() && rounds.len() == args.rounds,
            "error": error,
            "per_round": per_round,
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patch_body_adds_every_member() {
        let ids = vec!["a".to_owned(), "b".to_owned()];
        let v: Value = serde_json::from_slice(&patch_body(&ids)).unwrap_or_default();
        assert_eq!(v["Operations"][0]["op"], "add");
        assert_eq!(v["Operations"][0]["path"], "members");
        assert_eq!(v["Operations"][0]["value"], json!([{"value": "a"}, {"value": "b"}]));
    }
}
