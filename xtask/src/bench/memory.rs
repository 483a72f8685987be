//! `cargo xtask bench --memory`: the resident memory the in-memory stores
//! take under a flood of 2 million distinct keys, each store at its default
//! bound. Each store is filled in a fresh child process (this binary, re-run
//! as `bench --memory-child STORE`), so the figures are not blurred by what the
//! allocator kept from the scenarios or from the store before.

use std::process::Command;

use anyhow::{Context, Result, bail};
use rampart::auth::{LockTarget, LockoutPolicy, MemoryLockout};
use rampart::rate::{MemoryConfig, Rate, RateLimiter};

/// Distinct keys each store is flooded with.
pub(super) const FLOOD_KEYS: u64 = 2_000_000;

/// The stores measured: `(name, what bounds it)`.
pub(super) const STORES: [(&str, &str); 2] = [
    (
        "rate-memory",
        "in-memory rate limiter, default max-keys 100 000",
    ),
    (
        "lockout-memory",
        "in-memory brute-force lockout, default capacity 100 000 IPs and as many key ids",
    ),
];

/// Resident set size of this process, in bytes (Linux).
fn rss_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

/// In the child: flood `store`, print `before after held` (bytes, bytes,
/// entries held afterwards).
pub(super) fn child(store: &str) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let before = rss_bytes().context("reading /proc/self/statm")?;
    let (after, held) = match store {
        "rate-memory" => runtime.block_on(async {
            let limiter = RateLimiter::memory(MemoryConfig::default());
            let policy =
                limiter.policy("flood", Rate::new(100, std::time::Duration::from_secs(60)));
            for i in 0..FLOOD_KEYS {
                let key = format!("user-{i}");
                std::hint::black_box(policy.check(key.as_str()).await);
            }
            (rss_bytes(), limiter.len().unwrap_or(0) as u64)
        }),
        "lockout-memory" => {
            let policy = LockoutPolicy::default();
            let lockout = MemoryLockout::new(rampart::auth::lockout::DEFAULT_CAPACITY, policy);
            for i in 0..FLOOD_KEYS {
                let [_, b, c, d] = u32::try_from(i).unwrap_or(u32::MAX).to_be_bytes();
                let ip = std::net::IpAddr::V4(std::net::Ipv4Addr::new(10, b, c, d));
                let id = format!("{i:016x}");
                lockout.fail_now(LockTarget::Ip(ip), 1_000, policy);
                lockout.fail_now(LockTarget::KeyId(&id), 1_000, policy);
            }
            (rss_bytes(), 0)
        }
        other => bail!("no store `{other}`"),
    };
    let after = after.context("reading /proc/self/statm")?;
    println!("{before} {after} {held}");
    Ok(())
}

/// Measure every store, each in its own child process; one line per store.
pub(super) fn measure() -> Result<Vec<(String, String)>> {
    let exe = std::env::current_exe().context("finding the bench binary")?;
    let mut lines = Vec::new();
    for (store, what) in STORES {
        let out = Command::new(&exe)
            .args(["bench", "--memory-child", store])
            .output()
            .with_context(|| format!("running the {store} memory child"))?;
        if !out.status.success() {
            bail!(
                "the {store} memory child failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let text = String::from_utf8_lossy(&out.stdout);
        let numbers: Vec<u64> = text
            .split_whitespace()
            .filter_map(|n| n.parse().ok())
            .collect();
        let [before, after, held] = numbers[..] else {
            bail!("the {store} memory child printed `{text}`");
        };
        let grown = after.saturating_sub(before) as f64 / (1024.0 * 1024.0);
        let held = if store == "rate-memory" {
            format!(", {held} buckets held")
        } else {
            String::new()
        };
        lines.push((
            store.to_owned(),
            format!("{grown:.1} MiB resident after {FLOOD_KEYS} distinct keys{held} ({what})"),
        ));
    }
    Ok(lines)
}
