//! The petstore's pets and owners in SQL: SQLite (a file, embedded; the
//! demo's default) or PostgreSQL, through sqlx's `Any` driver.
//!
//! Every statement is static text with `$n` placeholders; values travel only
//! as bound parameters, never inside SQL text. (`sqlx::query` takes a
//! `SqlSafeStr`, which only `&'static str` implements without an explicit
//! `AssertSqlSafe`, so a query built from input does not compile here.)
//! The schema is created by the migrations in `migrations/`, applied on open.

use std::fmt;
use std::path::Path;
use std::time::Duration;

use petstore::{Owner, Pet, PetSpecies, PetTagsItem};
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Connection, Row};

/// The table the demo's applied migrations are tracked in: its own, so the
/// demo can share a database with another sqlx application (rampart's SQL
/// API-key store tracks its own in `_rampart_migrations`).
pub const MIGRATIONS_TABLE: &str = "_petstore_demo_migrations";

/// The schema, embedded from `migrations/` at build time.
fn migrator() -> sqlx::migrate::Migrator {
    let mut migrator = sqlx::migrate!("./migrations");
    // Set before any database was migrated with the default table, so no
    // applied migration can be lost to the rename.
    migrator.dangerous_set_table_name(MIGRATIONS_TABLE);
    migrator
}

/// How long a request waits for a connection before it fails (and how long
/// opening waits for the database to answer).
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// Which database a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// `sqlite:PATH` (add `?mode=rwc` to create the file) or `sqlite::memory:`.
    Sqlite,
    /// `postgres://` or `postgresql://`.
    Postgres,
}

impl Backend {
    /// The backend `url` names, if it is one this store speaks.
    pub fn of(url: &str) -> Option<Backend> {
        if url.starts_with("sqlite:") {
            Some(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Backend::Postgres)
        } else {
            None
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
        })
    }
}

/// Why a database could not be opened. The text names the URL with its
/// password replaced by `***`, and never holds the password.
#[derive(Debug)]
pub struct OpenError(String);

impl OpenError {
    /// An error saying `message` (which must not hold a password).
    pub fn new(message: impl Into<String>) -> Self {
        OpenError(message.into())
    }
}

impl fmt::Display for OpenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for OpenError {}

/// A failed read or write. Its text may name ids but never request bodies'
/// other values or credentials.
#[derive(Debug)]
pub struct DbError(String);

impl fmt::Display for DbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DbError {}

impl From<sqlx::Error> for DbError {
    fn from(e: sqlx::Error) -> Self {
        DbError(e.to_string())
    }
}

/// `url` for showing: the password of `scheme://user:password@host` and any
/// `password=` query parameter replaced by `***`.
pub fn redact(url: &str) -> String {
    let mut shown = url.to_owned();
    // The last '@' ends the userinfo (a raw '@' in a password stays hidden).
    if let Some(start) = shown.find("://").map(|i| i + 3)
        && let Some(at) = shown[start..].rfind('@').map(|i| start + i)
        && let Some(colon) = shown[start..at].find(':').map(|i| start + i)
    {
        shown.replace_range(colon + 1..at, "***");
    }
    if let Some(q) = shown.find('?') {
        let (head, query) = shown.split_at(q + 1);
        let query: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}=***"),
                _ => pair.to_owned(),
            })
            .collect();
        shown = format!("{head}{}", query.join("&"));
    }
    shown
}

/// The passwords `url` carries, as written and percent-decoded, so they can
/// be scrubbed from a driver's error text.
fn secrets(url: &str) -> Vec<String> {
    let mut found = Vec::new();
    if let Some(start) = url.find("://").map(|i| i + 3)
        && let Some(at) = url[start..].rfind('@').map(|i| start + i)
        && let Some((_, password)) = url[start..at].split_once(':')
    {
        found.push(password.to_owned());
    }
    if let Some((_, query)) = url.split_once('?') {
        for pair in query.split('&') {
            if let Some((key, value)) = pair.split_once('=')
                && key.eq_ignore_ascii_case("password")
            {
                found.push(value.to_owned());
            }
        }
    }
    let decoded: Vec<String> = found.iter().map(|s| percent_decode(s)).collect();
    found.extend(decoded);
    found.retain(|s| !s.is_empty());
    found
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) if hex(h).is_some() && hex(l).is_some() => {
                out.push((hex(h).unwrap_or(0) * 16 + hex(l).unwrap_or(0)) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `text` with every secret of `url` replaced by `***`.
fn scrub(text: &str, url: &str) -> String {
    secrets(url)
        .iter()
        .fold(text.to_owned(), |text, secret| text.replace(secret, "***"))
}

/// The `sqlite:` URL of the file at `path`, created when missing.
pub fn sqlite_file_url(path: &Path) -> Result<String, OpenError> {
    let text = path.to_str().ok_or_else(|| {
        OpenError(format!(
            "the SQLite path {} is not UTF-8; choose another",
            path.display()
        ))
    })?;
    // sqlx percent-decodes the path: escape what would end it or be decoded.
    let escaped = text
        .replace('%', "%25")
        .replace('?', "%3F")
        .replace('#', "%23");
    Ok(format!("sqlite://{escaped}?mode=rwc"))
}

/// The store: a connection pool on a migrated database.
#[derive(Clone)]
pub struct Database {
    pool: AnyPool,
    backend: Backend,
}

impl fmt::Debug for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Database")
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

/// The columns of `pets` in the order `pet_from_row` reads them.
fn pet_from_row(row: &AnyRow, tags: Option<Vec<PetTagsItem>>) -> Result<Pet, DbError> {
    let species: String = row.try_get(2)?;
    let age: Option<i64> = row.try_get(3)?;
    let adopted: Option<i64> = row.try_get(5)?;
    Ok(Pet {
        id: Some(row.try_get(0)?),
        name: row.try_get(1)?,
        species: species_from_text(&species)?,
        age: age
            .map(|a| {
                i32::try_from(a).map_err(|_| DbError(format!("stored age {a} is not an int32")))
            })
            .transpose()?,
        weight_kg: row.try_get(4)?,
        tags,
        adopted: adopted.map(|a| a != 0),
    })
}

fn species_text(species: &PetSpecies) -> &'static str {
    match species {
        PetSpecies::Dog => "dog",
        PetSpecies::Cat => "cat",
        PetSpecies::Bird => "bird",
        PetSpecies::Fish => "fish",
    }
}

fn species_from_text(text: &str) -> Result<PetSpecies, DbError> {
    match text {
        "dog" => Ok(PetSpecies::Dog),
        "cat" => Ok(PetSpecies::Cat),
        "bird" => Ok(PetSpecies::Bird),
        "fish" => Ok(PetSpecies::Fish),
        other => Err(DbError(format!(
            "stored species {other:?} is not in the spec"
        ))),
    }
}

impl Database {
    /// Connect to `url` (`sqlite:...` or `postgres://...`) and apply the
    /// migrations. Fails, naming the URL without its password, when the URL
    /// is not one of those, the database does not answer within 10 s, or the
    /// schema cannot be migrated.
    pub async fn open(url: &str) -> Result<Database, OpenError> {
        let shown = redact(url);
        let backend = Backend::of(url).ok_or_else(|| {
            OpenError(format!(
                "`{shown}` is not a database URL the petstore speaks: use \
                 sqlite:PATH?mode=rwc or postgres://USER[:PASSWORD]@HOST:PORT/DATABASE"
            ))
        })?;
        sqlx::any::install_default_drivers();
        let in_memory =
            backend == Backend::Sqlite && (url.contains(":memory:") || url.contains("mode=memory"));
        let options = AnyPoolOptions::new().acquire_timeout(ACQUIRE_TIMEOUT);
        let options = if in_memory {
            // An in-memory database lives as long as a connection to it: keep exactly one.
            options
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
        } else {
            options.max_connections(match backend {
                Backend::Sqlite => 4,
                Backend::Postgres => 10,
            })
        };
        // One connection first: the pool retries until its timeout and then
        // reports only that it timed out; a single attempt says why.
        let probe = tokio::time::timeout(ACQUIRE_TIMEOUT, sqlx::AnyConnection::connect(url))
            .await
            .map_err(|_| {
                OpenError(format!(
                    "cannot open the {backend} database at {shown}: no answer within {} s",
                    ACQUIRE_TIMEOUT.as_secs()
                ))
            })?
            .map_err(|e| {
                OpenError(format!(
                    "cannot open the {backend} database at {shown}: {}",
                    scrub(&e.to_string(), url)
                ))
            })?;
        let _ = probe.close().await;
        let pool = options.connect(url).await.map_err(|e| {
            OpenError(format!(
                "cannot open the {backend} database at {shown}: {}",
                scrub(&e.to_string(), url)
            ))
        })?;
        migrator().run(&pool).await.map_err(|e| {
            OpenError(format!(
                "cannot migrate the {backend} database at {shown}: {}",
                scrub(&e.to_string(), url)
            ))
        })?;
        Ok(Database { pool, backend })
    }

    /// The database this store talks to.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Close every connection (waits for those in use to be returned).
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Whether the database answers a trivial query.
    pub async fn ping(&self) -> Result<(), DbError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Store `pet` (its `id` must be set) and its tags, in one transaction.
    pub async fn insert_pet(&self, pet: &Pet) -> Result<(), DbError> {
        let id = pet
            .id
            .as_deref()
            .ok_or_else(|| DbError("a pet to store needs an id".into()))?;
        let mut tx = self.pool.begin().await?;
        // No weight is written as a NULL literal, not bound: sqlx 0.9's Any
        // driver sends a NULL double to PostgreSQL as float4, and the
        // statement it caches then refuses every later float8 value.
        let insert = sqlx::query(match pet.weight_kg {
            Some(_) => {
                "INSERT INTO pets (id, name, species, age, adopted, has_tags, weight_kg) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)"
            }
            None => {
                "INSERT INTO pets (id, name, species, age, adopted, has_tags, weight_kg) \
                 VALUES ($1, $2, $3, $4, $5, $6, NULL)"
            }
        })
        .bind(id)
        .bind(pet.name.as_str())
        .bind(species_text(&pet.species))
        .bind(pet.age)
        .bind(pet.adopted.map(i32::from))
        .bind(i32::from(pet.tags.is_some()));
        match pet.weight_kg {
            Some(weight) => insert.bind(weight),
            None => insert,
        }
        .execute(&mut *tx)
        .await?;
        for (position, tag) in pet.tags.iter().flatten().enumerate() {
            let position = i32::try_from(position)
                .map_err(|_| DbError("more tags than an int32 counts".into()))?;
            sqlx::query("INSERT INTO pet_tags (pet_id, position, tag) VALUES ($1, $2, $3)")
                .bind(id)
                .bind(position)
                .bind(tag.as_str())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The pet whose id is exactly `id`, if any.
    pub async fn get_pet(&self, id: &str) -> Result<Option<Pet>, DbError> {
        let Some(row) = sqlx::query(
            "SELECT id, name, species, age, weight_kg, adopted, has_tags FROM pets WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        else {
            return Ok(None);
        };
        let has_tags: i64 = row.try_get(6)?;
        let tags = if has_tags != 0 {
            let tags: Vec<String> =
                sqlx::query_scalar("SELECT tag FROM pet_tags WHERE pet_id = $1 ORDER BY position")
                    .bind(id)
                    .fetch_all(&self.pool)
                    .await?;
            Some(tags.into_iter().map(PetTagsItem).collect())
        } else {
            None
        };
        pet_from_row(&row, tags).map(Some)
    }

    /// At most `limit` pets in id order, only those tagged exactly `tag` when given.
    pub async fn list_pets(&self, tag: Option<&str>, limit: i64) -> Result<Vec<Pet>, DbError> {
        // One row per (pet, tag), pets in id order, each pet's tags in the order sent.
        let rows = match tag {
            None => sqlx::query(
                "SELECT p.id, p.name, p.species, p.age, p.weight_kg, p.adopted, p.has_tags, t.tag \
                     FROM (SELECT id, name, species, age, weight_kg, adopted, has_tags \
                           FROM pets ORDER BY id LIMIT $1) p \
                     LEFT JOIN pet_tags t ON t.pet_id = p.id \
                     ORDER BY p.id, t.position",
            )
            .bind(limit)
            .fetch_all(&self.pool)
            .await?,
            Some(tag) => sqlx::query(
                "SELECT p.id, p.name, p.species, p.age, p.weight_kg, p.adopted, p.has_tags, t.tag \
                     FROM (SELECT id, name, species, age, weight_kg, adopted, has_tags \
                           FROM pets \
                           WHERE EXISTS (SELECT 1 FROM pet_tags f \
                                         WHERE f.pet_id = pets.id AND f.tag = $1) \
                           ORDER BY id LIMIT $2) p \
                     LEFT JOIN pet_tags t ON t.pet_id = p.id \
                     ORDER BY p.id, t.position",
            )
            .bind(tag)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?,
        };
        let mut pets: Vec<Pet> = Vec::new();
        for row in &rows {
            let id: String = row.try_get(0)?;
            let tag: Option<String> = row.try_get(7)?;
            if let Some(last) = pets.last_mut().filter(|p| p.id.as_deref() == Some(&id)) {
                if let (Some(tags), Some(tag)) = (last.tags.as_mut(), tag) {
                    tags.push(PetTagsItem(tag));
                }
                continue;
            }
            let has_tags: i64 = row.try_get(6)?;
            let tags = (has_tags != 0).then(|| tag.into_iter().map(PetTagsItem).collect());
            pets.push(pet_from_row(row, tags)?);
        }
        Ok(pets)
    }

    /// Delete the pet whose id is exactly `id`; whether there was one.
    pub async fn delete_pet(&self, id: &str) -> Result<bool, DbError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM pet_tags WHERE pet_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let deleted = sqlx::query("DELETE FROM pets WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(deleted > 0)
    }

    /// Store `owner` (its `id` must be set). The password is not stored.
    pub async fn insert_owner(&self, owner: &Owner) -> Result<(), DbError> {
        let id = owner
            .id
            .as_deref()
            .ok_or_else(|| DbError("an owner to store needs an id".into()))?;
        sqlx::query(
            "INSERT INTO owners (id, email, display_name, website) VALUES ($1, $2, $3, $4)",
        )
        .bind(id)
        .bind(owner.email.as_str())
        .bind(owner.display_name.as_str())
        .bind(owner.website.as_deref())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The owner whose id is exactly `id`, if any (without a password: none is stored).
    pub async fn get_owner(&self, id: &str) -> Result<Option<Owner>, DbError> {
        let Some(row) =
            sqlx::query("SELECT id, email, display_name, website FROM owners WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?
        else {
            return Ok(None);
        };
        Ok(Some(Owner {
            id: Some(row.try_get(0)?),
            email: row.try_get(1)?,
            password: None,
            display_name: row.try_get(2)?,
            website: row.try_get(3)?,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_show() {
        assert_eq!(
            redact("postgres://ann:s3cret@db:5432/pets"),
            "postgres://ann:***@db:5432/pets"
        );
        assert_eq!(
            redact("postgres://ann:p@ss@db/pets?sslmode=require&password=x"),
            "postgres://ann:***@db/pets?sslmode=require&password=***"
        );
        assert_eq!(redact("postgres://ann@db/pets"), "postgres://ann@db/pets");
        assert_eq!(redact("sqlite://x.db?mode=rwc"), "sqlite://x.db?mode=rwc");
        assert_eq!(
            scrub(
                "auth failed for s3cr%t and s3cr%25t",
                "postgres://ann:s3cr%25t@db/pets"
            ),
            "auth failed for *** and ***"
        );
    }

    #[test]
    fn sqlite_paths_are_escaped() {
        assert_eq!(
            sqlite_file_url(Path::new("/tmp/a?b#c%d.db")).unwrap(),
            "sqlite:///tmp/a%3Fb%23c%25d.db?mode=rwc"
        );
    }

    #[test]
    fn only_sqlite_and_postgres_urls_are_spoken() {
        assert_eq!(Backend::of("sqlite::memory:"), Some(Backend::Sqlite));
        assert_eq!(Backend::of("postgresql://h/d"), Some(Backend::Postgres));
        assert_eq!(Backend::of("mysql://h/d"), None);
        assert_eq!(Backend::of("pets.db"), None);
    }
}
