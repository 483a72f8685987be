//! `cargo rampart rate reset`: the admin reset of the rate limits and
//! brute-force locks a service's instances share through Redis.
//!
//! ```text
//! cargo rampart rate reset --all
//! cargo rampart rate reset --subject alice [--issuer https://idp.example]
//! cargo rampart rate reset --api-key 3f9a0c2b7d1e4a65
//! cargo rampart rate reset --ip 203.0.113.7
//! cargo rampart rate reset --key tenant-42
//! ```
//!
//! Redis is found as the servers find it: `REDIS_URL` (one server, or a
//! cluster's nodes separated by commas) and `RAMPART_RATE_PREFIX`, or
//! `--redis` / `--prefix`. The named buckets and locks are deleted, and
//! every running instance on that prefix is told to forget what it cached
//! of them (docs/runtime/rate.md, "Admin reset"). An in-memory limiter
//! lives in its server's process: restart the process to reset it.

use std::net::IpAddr;
use std::process::ExitCode;

use anyhow::{Context, bail};
use rampart::rate::{RateConfig, RateKeyValue, RateLimiter, ResetTarget};

/// `rate`'s arguments.
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Delete buckets and brute-force locks from Redis; every instance forgets its cached answers.
    Reset(ResetArgs),
}

/// What to reset: exactly one of them.
#[derive(clap::Args)]
#[group(required = true, multiple = false, id = "what")]
struct What {
    /// Every bucket and lock under the prefix (the replay memory is kept).
    #[arg(long)]
    all: bool,
    /// The buckets of a JWT subject (quotas keyed by `sub`).
    #[arg(long)]
    subject: Option<String>,
    /// The buckets and locks of an API key id.
    #[arg(long = "api-key", value_name = "ID")]
    api_key: Option<String>,
    /// The buckets and locks of a client address (IPv6 by its /64).
    #[arg(long)]
    ip: Option<IpAddr>,
    /// The buckets of a custom rate key (`rate-key` of a quota).
    #[arg(long, value_name = "KEY")]
    key: Option<String>,
}

#[derive(clap::Args)]
struct ResetArgs {
    #[command(flatten)]
    what: What,
    /// With --subject: the token issuer, for quotas keyed by issuer and subject.
    #[arg(long, requires = "subject")]
    issuer: Option<String>,
    /// Redis (default: $REDIS_URL); a cluster's nodes separated by commas.
    #[arg(long, value_name = "URL")]
    redis: Option<String>,
    /// Key prefix of the limits (default: $RAMPART_RATE_PREFIX, else the servers' default).
    #[arg(long)]
    prefix: Option<String>,
}

/// Run `rate`.
pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let Command::Reset(reset) = &args.command;
    let mut config = RateConfig::from_env().context("reading the [rate] settings")?;
    if let Some(url) = &reset.redis {
        config.redis_url = Some(url.clone());
    }
    if let Some(prefix) = &reset.prefix {
        config.key_prefix = prefix.clone();
    }
    let Some(redis) = config.redis() else {
        bail!(
            "no Redis to reset: set REDIS_URL or pass --redis (a server without Redis keeps its limits in its own memory: restart it to reset them)"
        );
    };
    let what = &reset.what;
    let target = if what.all {
        ResetTarget::All
    } else if let Some(subject) = &what.subject {
        ResetTarget::Client(match &reset.issuer {
            Some(issuer) => RateKeyValue::IssuedSubject { issuer, subject },
            None => RateKeyValue::Subject(subject),
        })
    } else if let Some(id) = &what.api_key {
        ResetTarget::Client(RateKeyValue::ApiKey(id))
    } else if let Some(ip) = what.ip {
        ResetTarget::Client(RateKeyValue::Ip(ip))
    } else if let Some(key) = &what.key {
        ResetTarget::Client(RateKeyValue::Custom(key))
    } else {
        unreachable!("clap requires one of the group")
    };
    let prefix = redis.key_prefix.clone();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let deleted = runtime.block_on(async {
        let limiter = RateLimiter::redis(redis).await?;
        limiter.reset(target).await
    })?;
    println!(
        "reset: {deleted} key(s) deleted under `{prefix}`; every instance on it was told to forget its cached answers"
    );
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    use rampart::rate::{Rate, RedisConfig};

    /// A real Redis (required under CI=true, skipped elsewhere when down):
    /// a running instance that refuses alice from its deny cache admits her
    /// again once `rate reset --subject alice` ran, and bob stays refused.
    #[test]
    fn a_reset_by_subject_reaches_a_running_instance() {
        let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
        let addr = url
            .split_once("://")
            .map_or(url.as_str(), |(_, rest)| rest)
            .trim_end_matches('/');
        if std::net::TcpStream::connect(addr).is_err() {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "{url} is unreachable, and CI=true requires it"
            );
            eprintln!("skipping: {url} unreachable");
            return;
        }
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let prefix = format!("rampart-cli-test:{}:{nanos}", std::process::id());
        // The instance runs on its own runtime's worker, as a server would.
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let limiter = runtime
            .block_on(RateLimiter::redis(
                RedisConfig::new(&url).key_prefix(&prefix),
            ))
            .unwrap();
        let policy = limiter.policy("op", Rate::new(1, Duration::from_secs(3600)));
        let check = |who: &'static str| runtime.block_on(policy.check(RateKeyValue::Subject(who)));
        for who in ["alice", "bob"] {
            assert!(check(who).is_allowed());
            assert!(!check(who).is_allowed(), "{who} is over the quota");
        }
        let code = crate::run([
            "cargo xtask",
            "rate",
            "reset",
            "--subject",
            "alice",
            "--redis",
            &url,
            "--prefix",
            &prefix,
        ]);
        assert_eq!(format!("{code:?}"), format!("{:?}", ExitCode::SUCCESS));
        assert!(check("alice").is_allowed(), "alice's quota is back");
        assert!(!check("alice").is_allowed(), "exactly her quota");
        assert!(!check("bob").is_allowed(), "bob was not reset");
    }
}
