//! `cargo xtask apikey new|revoke|list`: manage API keys. Only hashes are
//! stored; `new` prints the key once, alone on the last line of stdout.
//!
//! ```text
//! cargo xtask apikey new --role editor [--role viewer] [--expires 2027-01-01] [--file rampart-keys.toml] [--redis]
//! cargo xtask apikey revoke 3f9a0c2b7d1e4a65 [--file rampart-keys.toml] [--redis]
//! cargo xtask apikey list [--file rampart-keys.toml]
//! ```
//!
//! The file defaults to `$RAMPART_API_KEYS`, else `rampart-keys.toml`;
//! `--redis` stores in Redis at `$REDIS_URL` instead.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use rampart::auth::key_file::DEFAULT_KEY_FILE;
use rampart::auth::{KeyFile, NewKey, RedisKeyStore};

#[derive(clap::Args)]
pub(crate) struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args)]
struct Store {
    /// Key file (default: $RAMPART_API_KEYS, else rampart-keys.toml).
    #[arg(long)]
    file: Option<PathBuf>,
    /// Store in Redis at $REDIS_URL instead of a file.
    #[arg(long, conflicts_with = "file")]
    redis: bool,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Create a key; prints it once (last line of stdout) and stores only its hash.
    New {
        /// A role the key grants (repeat for several).
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
        /// When the key stops working (RFC 3339 or YYYY-MM-DD).
        #[arg(long)]
        expires: Option<String>,
        #[command(flatten)]
        store: Store,
    },
    /// Mark a key inactive.
    Revoke {
        /// The key id (the part after `rk_`).
        id: String,
        #[command(flatten)]
        store: Store,
    },
    /// List the keys of a key file (ids, roles, state; never secrets).
    List {
        /// Key file (default: $RAMPART_API_KEYS, else rampart-keys.toml).
        #[arg(long)]
        file: Option<PathBuf>,
    },
}

fn key_file(file: Option<PathBuf>) -> PathBuf {
    file.or_else(|| std::env::var_os("RAMPART_API_KEYS").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from(DEFAULT_KEY_FILE))
}

fn redis_store() -> anyhow::Result<RedisKeyStore> {
    let url = std::env::var("REDIS_URL")
        .context("--redis needs REDIS_URL (e.g. redis://127.0.0.1:6379)")?;
    RedisKeyStore::new(&url).map_err(anyhow::Error::msg)
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.command {
        Command::New {
            roles,
            expires,
            store,
        } => {
            for role in &roles {
                rampart::parse_role(role)
                    .map_err(|e| anyhow::anyhow!("{}; {}", e.message, e.help))?;
            }
            let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs() as i64;
            if let Some(text) = &expires {
                let at = rampart::parse_instant(text)
                    .map_err(|e| anyhow::anyhow!("--expires: {}; {}", e.message, e.help))?;
                if at <= now {
                    bail!("--expires {text} is in the past");
                }
            }
            let new = NewKey::generate(roles.clone(), expires.clone(), now);
            let place = if store.redis {
                runtime()?.block_on(redis_store()?.insert(&new.record))?;
                "Redis".to_owned()
            } else {
                let path = key_file(store.file);
                let mut file = KeyFile::load(&path).map_err(anyhow::Error::msg)?;
                file.add(new.record.clone());
                file.save(&path).map_err(anyhow::Error::msg)?;
                path.display().to_string()
            };
            eprintln!(
                "created API key {} (roles: {}; expires: {}) in {place}",
                new.record.id,
                roles.join(", "),
                expires.as_deref().unwrap_or("never")
            );
            eprintln!("copy the key now: it is shown once, and only its hash is stored");
            println!("{}", new.key);
            Ok(ExitCode::SUCCESS)
        }
        Command::Revoke { id, store } => {
            let found = if store.redis {
                runtime()?.block_on(redis_store()?.revoke(&id))?
            } else {
                let path = key_file(store.file);
                let mut file = KeyFile::load(&path).map_err(anyhow::Error::msg)?;
                let found = file.revoke(&id);
                if found {
                    file.save(&path).map_err(anyhow::Error::msg)?;
                }
                found
            };
            if !found {
                bail!("no API key with id `{id}`");
            }
            println!("revoked API key {id}");
            Ok(ExitCode::SUCCESS)
        }
        Command::List { file } => {
            let path = key_file(file);
            let file = KeyFile::load(&path).map_err(anyhow::Error::msg)?;
            for k in &file.keys {
                println!(
                    "{}  {:8}  roles: {}  expires: {}",
                    k.id,
                    if k.active { "active" } else { "revoked" },
                    k.roles.join(","),
                    k.expires.as_deref().unwrap_or("never")
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(subcommand)]
        command: super::Command,
    }

    fn run(args: &[&str]) -> anyhow::Result<std::process::ExitCode> {
        let cli = Cli::try_parse_from(std::iter::once("apikey").chain(args.iter().copied()))?;
        super::run(super::Args {
            command: cli.command,
        })
    }

    #[test]
    fn new_and_revoke_keep_only_hashes() {
        let dir = std::env::temp_dir().join(format!("xtask-apikey-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("keys.toml");
        let file = path.to_str().unwrap();
        run(&[
            "new",
            "--role",
            "admin",
            "--expires",
            "2999-01-01",
            "--file",
            file,
        ])
        .unwrap();
        let keys = rampart::auth::KeyFile::load(&path).unwrap();
        assert_eq!(keys.keys.len(), 1);
        assert_eq!(keys.keys[0].roles, ["admin"]);
        assert!(keys.keys[0].hash.starts_with("sha256:"));
        let id = keys.keys[0].id.clone();
        run(&["revoke", &id, "--file", file]).unwrap();
        assert!(!rampart::auth::KeyFile::load(&path).unwrap().keys[0].active);
        assert!(run(&["revoke", "0000000000000000", "--file", file]).is_err());
        assert!(
            run(&[
                "new",
                "--role",
                "admin",
                "--expires",
                "2000-01-01",
                "--file",
                file
            ])
            .is_err()
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
