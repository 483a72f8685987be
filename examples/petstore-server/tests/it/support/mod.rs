//! Shared by the database tests: an isolated database per test (a SQLite
//! file in a temporary directory, or a PostgreSQL schema of its own), and
//! the petstore served on it over a real socket.

#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use petstore_server::app;
use petstore_server::db::Database;
use rampart::auth::{KeyFile, NewKey};
use serde_json::Value;
use sqlx::{Connection, Row};

/// The PostgreSQL the tests use unless `TEST_POSTGRES_URL` names another.
pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// A number no other call in this process returns.
pub fn unique() -> u64 {
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

/// A fresh directory under the system temp dir, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(what: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!(
            "petstore-{what}-{}-{}-{}",
            std::process::id(),
            unique(),
            rand::random::<u32>()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A database of the test's own: its URL, and what to remove afterwards.
pub struct TestDb {
    pub url: String,
    pub label: &'static str,
    _dir: Option<TempDir>,
    schema: Option<(String, String)>,
}

impl TestDb {
    /// A new SQLite file in a temporary directory.
    pub fn sqlite() -> TestDb {
        let dir = TempDir::new("sqlite");
        let url = petstore_server::db::sqlite_file_url(&dir.0.join("petstore.sqlite3")).unwrap();
        TestDb {
            url,
            label: "SQLite",
            _dir: Some(dir),
            schema: None,
        }
    }

    /// A new schema in the tests' PostgreSQL (`TEST_POSTGRES_URL`, default
    /// [`DEFAULT_POSTGRES_URL`]). When that does not answer: `None` with a
    /// message (skip), except under `CI=true`, where it fails the test.
    pub async fn postgres() -> Option<TestDb> {
        let base = std::env::var("TEST_POSTGRES_URL")
            .ok()
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| DEFAULT_POSTGRES_URL.to_owned());
        let shown = petstore_server::db::redact(&base);
        let connect = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            sqlx::PgConnection::connect(&base),
        )
        .await
        .unwrap_or_else(|_| Err(sqlx::Error::PoolTimedOut));
        let mut admin = match connect {
            Ok(connection) => connection,
            Err(e) => {
                let message = format!(
                    "PostgreSQL at {shown} does not answer ({e}); run scripts/ensure-postgres.sh \
                     or set TEST_POSTGRES_URL"
                );
                if std::env::var("CI").is_ok_and(|v| v == "true") {
                    panic!("{message} (CI=true: the PostgreSQL tests may not be skipped)");
                }
                eprintln!("skipped: {message}");
                return None;
            }
        };
        let schema = format!(
            "petstore_test_{}_{}_{:08x}",
            std::process::id(),
            unique(),
            rand::random::<u32>()
        );
        // An identifier cannot be a bound parameter; this one is made above
        // of [a-z0-9_] only.
        assert!(
            schema
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        );
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
            .execute(&mut admin)
            .await
            .unwrap();
        let _ = admin.close().await;
        let separator = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{separator}options=-c%20search_path%3D{schema}");
        Some(TestDb {
            url,
            label: "PostgreSQL",
            _dir: None,
            schema: Some((base, schema)),
        })
    }

    /// Row counts of the demo's tables, read over a connection of the test's
    /// own (an error if a table is gone).
    pub async fn counts(&self) -> Counts {
        sqlx::any::install_default_drivers();
        let pool = sqlx::any::AnyPoolOptions::new()
            .max_connections(1)
            .connect(&self.url)
            .await
            .unwrap();
        let count = |sql: &'static str| {
            let pool = pool.clone();
            async move {
                let row = sqlx::query(sql).fetch_one(&pool).await.unwrap_or_else(|e| {
                    panic!("`{sql}` failed on {}: {e}", self.label);
                });
                row.try_get::<i64, _>(0).unwrap()
            }
        };
        // The demo tracks its migrations in a table of its own.
        let applied = count("SELECT COUNT(*) FROM _petstore_demo_migrations").await;
        assert_eq!(applied, 1, "{}: one migration applied", self.label);
        let counts = Counts {
            pets: count("SELECT COUNT(*) FROM pets").await,
            pet_tags: count("SELECT COUNT(*) FROM pet_tags").await,
            owners: count("SELECT COUNT(*) FROM owners").await,
        };
        pool.close().await;
        counts
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some((base, schema)) = self.schema.take() else {
            return;
        };
        // Drop runs inside the test's runtime: drop the schema from a thread
        // with a runtime of its own.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                if let Ok(pool) = sqlx::postgres::PgPool::connect(&base).await {
                    let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "DROP SCHEMA IF EXISTS {schema} CASCADE"
                    )))
                    .execute(&pool)
                    .await;
                    pool.close().await;
                }
            });
        })
        .join();
    }
}

/// How many rows each table holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub pets: i64,
    pub pet_tags: i64,
    pub owners: i64,
}

/// The petstore served over HTTP on 127.0.0.1 from a database.
pub struct Server {
    pub base: String,
    pub secret: String,
    /// API keys with role admin, one per `registerOwner` call (10/h each).
    api_keys: std::sync::Mutex<Vec<String>>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    db: Database,
    _dir: TempDir,
}

impl Server {
    /// Serve the petstore on the database at `url` (opened and migrated).
    pub async fn start(url: &str) -> Server {
        let dir = TempDir::new("keys");
        let key_file = dir.0.join("keys.toml");
        let mut file = KeyFile::default();
        let mut api_keys = Vec::new();
        for _ in 0..30 {
            let new = NewKey::generate(vec!["admin".into()], None, 0);
            file.add(new.record);
            api_keys.push(new.key);
        }
        file.save(&key_file).unwrap();
        let secret = app::dev_secret();
        let security = app::dev_security(&petstore::API, &secret, &key_file).unwrap();
        let db = Database::open(url).await.unwrap();
        let router = app::router(security, db.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (shutdown, stop) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            axum::serve(
                listener,
                router.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(async move {
                let _ = stop.await;
            })
            .await
            .unwrap();
        });
        Server {
            base: format!("http://{addr}/v1"),
            secret,
            api_keys: std::sync::Mutex::new(api_keys),
            shutdown: Some(shutdown),
            task: Some(task),
            db,
            _dir: dir,
        }
    }

    /// The store the server uses.
    pub fn db(&self) -> &Database {
        &self.db
    }

    /// Stop serving and close the database's connections.
    pub async fn stop(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap();
        }
        self.db.close().await;
    }

    /// A token for a subject of its own (its own rate-limit buckets).
    pub fn token(&self, role: &str, scopes: &[&str]) -> String {
        let subject = format!("{role}-{}", unique());
        app::dev_token(&self.secret, &subject, &[role], scopes, 600)
    }

    async fn answer(response: reqwest::Response) -> (u16, Value) {
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// POST /pets as an editor.
    pub async fn create_pet(&self, body: &Value) -> (u16, Value) {
        let response = reqwest::Client::new()
            .post(format!("{}/pets", self.base))
            .bearer_auth(self.token("editor", &["pets:write"]))
            .json(body)
            .send()
            .await
            .unwrap();
        Self::answer(response).await
    }

    /// GET `path` (under /v1) as a viewer.
    pub async fn get(&self, path: &str) -> (u16, Value) {
        let response = reqwest::Client::new()
            .get(format!("{}{path}", self.base))
            .bearer_auth(self.token("viewer", &["pets:read"]))
            .send()
            .await
            .unwrap();
        Self::answer(response).await
    }

    /// DELETE `path` (under /v1) as an admin.
    pub async fn delete(&self, path: &str) -> (u16, Value) {
        let response = reqwest::Client::new()
            .delete(format!("{}{path}", self.base))
            .bearer_auth(self.token("admin", &[]))
            .send()
            .await
            .unwrap();
        Self::answer(response).await
    }

    /// POST /owners with an admin API key.
    pub async fn register_owner(&self, body: &Value) -> (u16, Value) {
        let key = self
            .api_keys
            .lock()
            .unwrap()
            .pop()
            .expect("more registerOwner calls than the test's API keys");
        let response = reqwest::Client::new()
            .post(format!("{}/owners", self.base))
            .header("x-api-key", key)
            .json(body)
            .send()
            .await
            .unwrap();
        Self::answer(response).await
    }
}

/// `text` as one URL path segment: everything but ASCII letters and digits
/// percent-encoded.
pub fn path_segment(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
