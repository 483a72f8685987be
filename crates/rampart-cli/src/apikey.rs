//! `cargo xtask apikey new|revoke|list`: manage API keys. Only hashes are
//! stored; `new` prints the key once, alone on the last line of stdout.
//!
//! ```text
//! cargo xtask apikey new --role editor [--role viewer] [--scope pets:read] [--scheme partnerKey] [--expires 2027-01-01] [--store URL]
//! cargo xtask apikey revoke 3f9a0c2b7d1e4a65 [--store URL]
//! cargo xtask apikey list [--store URL]
//! ```
//!
//! `--store` names the store as the server's `RAMPART_API_KEYS` does: a key
//! file's path, `postgres://...`, `sqlite:PATH` (created if missing), or
//! `redis://...`. It defaults to `$RAMPART_API_KEYS`, else
//! `rampart-keys.toml`. `--file PATH` and `--redis` (Redis at `$REDIS_URL`)
//! are kept as shorthands.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use rampart::auth::key_file::DEFAULT_KEY_FILE;
use rampart::auth::key_sql::mask_sql_url;
use rampart::auth::{KeyFile, KeyRecord, NewKey, RedisKeyStore, SqlKeyStore};
use rampart::config::is_sql_url;

/// `apikey`'s arguments.
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args)]
struct StoreArgs {
    /// The key store: a key file path, postgres://..., sqlite:PATH or redis://...
    /// (default: $RAMPART_API_KEYS, else rampart-keys.toml).
    #[arg(long, conflicts_with_all = ["file", "redis"])]
    store: Option<String>,
    /// Key file (shorthand for --store PATH).
    #[arg(long)]
    file: Option<PathBuf>,
    /// Store in Redis at $REDIS_URL.
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
        /// A scope the key grants (repeat for several).
        #[arg(long = "scope")]
        scopes: Vec<String>,
        /// The apiKey security scheme (its name in the spec) the key is for
        /// (repeat for several); presented in another scheme's header it is
        /// refused. Without it the key works in every apiKey scheme.
        #[arg(long = "scheme")]
        schemes: Vec<String>,
        /// When the key stops working (RFC 3339 or YYYY-MM-DD).
        #[arg(long)]
        expires: Option<String>,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Mark a key revoked (inactive).
    Revoke {
        /// The key id (the part after `rk_`).
        id: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// List the keys of a store (ids, roles, scopes, state; never secrets).
    List {
        #[command(flatten)]
        store: StoreArgs,
    },
}

/// A store the CLI writes to.
enum Store {
    File(PathBuf),
    Redis(RedisKeyStore, String),
    Sql(SqlKeyStore, String),
}

impl StoreArgs {
    fn open(self) -> anyhow::Result<Store> {
        if self.redis {
            let url = std::env::var("REDIS_URL")
                .context("--redis needs REDIS_URL (e.g. redis://127.0.0.1:6379)")?;
            return redis_store(&url);
        }
        if let Some(file) = self.file {
            return Ok(Store::File(file));
        }
        let named = self
            .store
            .or_else(|| std::env::var("RAMPART_API_KEYS").ok())
            .filter(|s| !s.trim().is_empty())
            .unwrap_or_else(|| DEFAULT_KEY_FILE.to_owned());
        let lower = named.to_ascii_lowercase();
        if lower.starts_with("redis://") || lower.starts_with("rediss://") {
            redis_store(&named)
        } else if is_sql_url(&named) {
            let store = SqlKeyStore::new(&named, true).map_err(anyhow::Error::msg)?;
            Ok(Store::Sql(store, mask_sql_url(&named)))
        } else {
            Ok(Store::File(PathBuf::from(named)))
        }
    }
}

fn redis_store(url: &str) -> anyhow::Result<Store> {
    let store = RedisKeyStore::new(url).map_err(anyhow::Error::msg)?;
    Ok(Store::Redis(store, "Redis".to_owned()))
}

impl Store {
    fn insert(&self, record: &KeyRecord) -> anyhow::Result<String> {
        match self {
            Store::File(path) => {
                let mut file = KeyFile::load(path).map_err(anyhow::Error::msg)?;
                if file.keys.iter().any(|k| k.id == record.id) {
                    bail!("{}: key id `{}` already exists", path.display(), record.id);
                }
                file.add(record.clone());
                file.save(path).map_err(anyhow::Error::msg)?;
                Ok(path.display().to_string())
            }
            Store::Redis(store, name) => {
                runtime()?.block_on(store.insert(record))?;
                Ok(name.clone())
            }
            Store::Sql(store, name) => {
                runtime()?.block_on(store.insert(record))?;
                Ok(name.clone())
            }
        }
    }

    fn revoke(&self, id: &str) -> anyhow::Result<bool> {
        Ok(match self {
            Store::File(path) => {
                let mut file = KeyFile::load(path).map_err(anyhow::Error::msg)?;
                let found = file.revoke(id);
                if found {
                    file.save(path).map_err(anyhow::Error::msg)?;
                }
                found
            }
            Store::Redis(store, _) => runtime()?.block_on(store.revoke(id))?,
            Store::Sql(store, _) => runtime()?.block_on(store.revoke(id))?,
        })
    }

    fn list(&self) -> anyhow::Result<Vec<KeyRecord>> {
        Ok(match self {
            Store::File(path) => KeyFile::load(path).map_err(anyhow::Error::msg)?.keys,
            Store::Redis(store, _) => runtime()?.block_on(store.list())?,
            Store::Sql(store, _) => runtime()?.block_on(store.list())?,
        })
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

/// Run `apikey`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.command {
        Command::New {
            roles,
            scopes,
            schemes,
            expires,
            store,
        } => {
            for role in &roles {
                rampart::parse_role(role)
                    .map_err(|e| anyhow::anyhow!("{}; {}", e.message, e.help))?;
            }
            if let Some(bad) = scopes
                .iter()
                .find(|s| s.is_empty() || s.chars().any(|c| c.is_whitespace() || c == ','))
            {
                bail!(
                    "--scope `{bad}` is not a scope: a scope is one word without spaces or commas"
                );
            }
            if let Some(bad) = schemes
                .iter()
                .find(|s| s.is_empty() || s.chars().any(|c| c.is_whitespace() || c == ','))
            {
                bail!(
                    "--scheme `{bad}` is not a security scheme name: one word without spaces or commas, as in the spec's components.securitySchemes"
                );
            }
            let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs() as i64;
            if let Some(text) = &expires {
                let at = rampart::parse_instant(text)
                    .map_err(|e| anyhow::anyhow!("--expires: {}; {}", e.message, e.help))?;
                if at <= now {
                    bail!("--expires {text} is in the past");
                }
            }
            let new = NewKey::generate(roles.clone(), expires.clone(), now)
                .with_scopes(scopes)
                .with_schemes(schemes.clone());
            let place = store.open()?.insert(&new.record)?;
            eprintln!(
                "created API key {} (roles: {}; schemes: {}; expires: {}) in {place}",
                new.record.id,
                roles.join(", "),
                if schemes.is_empty() {
                    "any apiKey scheme".to_owned()
                } else {
                    schemes.join(", ")
                },
                expires.as_deref().unwrap_or("never")
            );
            eprintln!("copy the key now: it is shown once, and only its hash is stored");
            println!("{}", new.key);
            Ok(ExitCode::SUCCESS)
        }
        Command::Revoke { id, store } => {
            if !store.open()?.revoke(&id)? {
                bail!("no API key with id `{id}`");
            }
            println!("revoked API key {id}");
            Ok(ExitCode::SUCCESS)
        }
        Command::List { store } => {
            for k in store.open()?.list()? {
                println!(
                    "{}  {:8}  roles: {}  scopes: {}  expires: {}",
                    k.id,
                    if k.active { "active" } else { "revoked" },
                    k.roles.join(","),
                    if k.scopes.is_empty() {
                        "-".to_owned()
                    } else {
                        k.scopes.join(",")
                    },
                    k.expires.as_deref().unwrap_or("never")
                );
                if !k.schemes.is_empty() {
                    println!("    schemes: {}", k.schemes.join(","));
                }
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

    /// The keys of the store at `store`, read through the store itself.
    fn keys_in(store: &str) -> Vec<rampart::auth::KeyRecord> {
        super::StoreArgs {
            store: Some(store.to_owned()),
            file: None,
            redis: false,
        }
        .open()
        .unwrap()
        .list()
        .unwrap()
    }

    /// `new`, `list` and `revoke` against one store URL; checks through the store itself.
    fn round_trip(store: &str) {
        run(&[
            "new",
            "--role",
            "admin",
            "--scope",
            "pets:read",
            "--store",
            store,
        ])
        .unwrap();
        run(&["list", "--store", store]).unwrap();
        let listed = keys_in(store);
        let newest = listed
            .iter()
            .filter(|k| k.active && k.scopes == ["pets:read"])
            .max_by_key(|k| k.created.clone())
            .expect("the new key is listed")
            .clone();
        assert_eq!(newest.roles, ["admin"]);
        assert!(newest.hash.starts_with("sha256:"));
        run(&["revoke", &newest.id, "--store", store]).unwrap();
        let after = keys_in(store);
        let record = after.iter().find(|k| k.id == newest.id).unwrap();
        assert!(!record.active, "{record:?}");
        assert!(run(&["revoke", "0000000000000000", "--store", store]).is_err());
        assert!(run(&["new", "--role", "admin", "--scope", "a b", "--store", store]).is_err());
    }

    fn temp(tag: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "xtask-apikey-{tag}-{}-{}",
            std::process::id(),
            rand::random::<u32>()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn every_store_kind_by_url() {
        let dir = temp("stores");
        round_trip(dir.join("keys.toml").to_str().unwrap());
        round_trip(&format!("sqlite:{}", dir.join("keys.db").display()));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A real PostgreSQL and Redis (required under CI=true, skipped elsewhere when down).
    #[test]
    fn postgres_and_redis_by_url() {
        let ci = std::env::var("CI").as_deref() == Ok("true");
        let postgres = std::env::var("TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
        let redis = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
        for url in [postgres, redis] {
            // host:port of scheme://[user@]host[:port][/db]
            let rest = url.split_once("://").unwrap().1;
            let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
            let mut addr = rest.split('/').next().unwrap().to_owned();
            if !addr.contains(':') {
                addr += if url.starts_with("redis") {
                    ":6379"
                } else {
                    ":5432"
                };
            }
            if std::net::TcpStream::connect(&addr).is_err() {
                assert!(!ci, "{url} is unreachable, and CI=true requires it");
                eprintln!("skipping {url}: unreachable");
                continue;
            }
            round_trip(&url);
        }
    }
}
