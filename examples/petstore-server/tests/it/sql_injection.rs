//! SQL injection payloads in every string field and path parameter of the
//! petstore, over real HTTP, against SQLite and PostgreSQL: each is stored and
//! returned byte for byte (or refused by the validator before any SQL), a
//! lookup by one finds nothing rather than other rows, and afterwards every
//! table is still there holding exactly the rows the test wrote.
//!
//! PostgreSQL: `TEST_POSTGRES_URL` (default
//! postgres://postgres@127.0.0.1:5432/test; `bash scripts/ensure-postgres.sh`
//! starts one). Unreachable, its tests are skipped with a message, except
//! under `CI=true`, where they fail.

use crate::support;

use serde_json::{Value, json};
use support::{Counts, Server, TestDb, path_segment};

/// Pet names and owner display names (the spec allows anything but `<` and
/// `>`, 1 to 64 characters).
const TEXT_PAYLOADS: &[&str] = &[
    "'; DROP TABLE pets; --",
    "' OR '1'='1",
    "' OR 1=1 --",
    "Robert'); DROP TABLE owners;--",
    "\"; DROP TABLE pet_tags; --",
    "\" OR \"\"=\"",
    "1; DELETE FROM pets",
    "' UNION SELECT id, id, id FROM owners --",
    "%",
    "_",
    "%_%' ESCAPE '\\",
    "\\",
    "\\'; --",
    "\\\\'\\\"",
    "$1",
    "?",
    ":name @p1 ?1",
    "/* */ -- #",
    "E'\\x00'",
    "NULL",
    "  spaces kept  ",
    "tab\tnew\nline\rcr",
    "ünïcødé 🐶 名前 \u{202e}rtl",
    "'); COMMIT; DROP TABLE _petstore_demo_migrations; --",
];

/// Tags (the spec allows `^[a-z0-9-]+$`, so only the comment marker and
/// keywords get through).
const TAG_PAYLOADS: &[&str] = &["--", "-1", "1-1", "or-1-1", "drop-table-pets--"];

/// Path parameters: none is a UUID, so the validator answers 400 before any
/// handler runs.
const PATH_PAYLOADS: &[&str] = &[
    "' OR '1'='1",
    "1 OR 1=1",
    "'; DROP TABLE pets; --",
    "%",
    "_",
    "%25",
    "\\",
    "123e4567-e89b-12d3-a456-42661417400'",
    "123e4567-e89b-12d3-a456-426614174000' OR '1'='1",
    "00000000-0000-0000-0000-00000000000%",
    "________-____-____-____-____________",
];

async fn injection_payloads_are_data(db: &TestDb) {
    let server = Server::start(&db.url).await;
    let label = db.label;
    assert_eq!(
        db.counts().await,
        Counts {
            pets: 0,
            pet_tags: 0,
            owners: 0
        }
    );

    // Pets: each payload as the name; the tag payloads spread over them.
    let mut created: Vec<Value> = Vec::new();
    let mut tag_rows = 0;
    for (i, name) in TEXT_PAYLOADS.iter().enumerate() {
        let tags: Vec<&str> = TAG_PAYLOADS
            .iter()
            .copied()
            .skip(i % TAG_PAYLOADS.len())
            .take(1 + i % 3)
            .collect();
        tag_rows += tags.len() as i64;
        let body =
            json!({"name": name, "species": "cat", "age": i, "tags": tags, "adopted": i % 2 == 0});
        let (status, pet) = server.create_pet(&body).await;
        assert_eq!(status, 201, "{label}: {name:?}: {pet}");
        assert_eq!(pet["name"].as_str(), Some(*name), "{label}");
        assert_eq!(pet["tags"], json!(tags), "{label}");
        let id = pet["id"].as_str().unwrap();
        let (status, fetched) = server.get(&format!("/pets/{id}")).await;
        assert_eq!(status, 200, "{label}: {fetched}");
        assert_eq!(fetched, pet, "{label}: read back differs");
        created.push(pet);
    }
    let pets = created.len() as i64;
    assert_eq!(
        db.counts().await,
        Counts {
            pets,
            pet_tags: tag_rows,
            owners: 0
        },
        "{label}"
    );

    // Listing returns exactly what was stored, in id order.
    let (status, listed) = server.get("/pets?limit=100").await;
    assert_eq!(status, 200, "{label}: {listed}");
    let mut want = created.clone();
    want.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
    assert_eq!(listed, Value::Array(want.clone()), "{label}");
    // The limit still bounds the page.
    let (_, page) = server.get("/pets?limit=3").await;
    assert_eq!(page, Value::Array(want[..3].to_vec()), "{label}");

    // Filtering by each tag payload is an exact comparison: only the pets
    // carrying that very tag, no wildcard, no comment.
    for tag in TAG_PAYLOADS {
        let (status, listed) = server.get(&format!("/pets?tag={tag}&limit=100")).await;
        assert_eq!(status, 200, "{label}: {listed}");
        let expected: Vec<Value> = want
            .iter()
            .filter(|p| {
                p["tags"]
                    .as_array()
                    .is_some_and(|t| t.contains(&json!(tag)))
            })
            .cloned()
            .collect();
        assert!(!expected.is_empty(), "{tag} was given to some pet");
        assert_eq!(listed, Value::Array(expected), "{label}: tag {tag:?}");
    }
    // A query tag the spec's pattern refuses never reaches the database.
    for tag in ["' OR '1'='1", "%", "_", "a%27"] {
        let (status, problem) = server
            .get(&format!("/pets?tag={}", path_segment(tag)))
            .await;
        assert_eq!(status, 400, "{label}: tag {tag:?}: {problem}");
    }

    // Path parameters: the injection payloads are refused as not UUIDs,
    // for reads and deletes alike.
    for payload in PATH_PAYLOADS {
        let path = format!("/pets/{}", path_segment(payload));
        let (status, problem) = server.get(&path).await;
        assert_eq!(status, 400, "{label}: GET {payload:?}: {problem}");
        assert!(
            problem["errors"]
                .as_array()
                .is_some_and(|e| e.iter().any(|e| e["field"] == "path.petId")),
            "{label}: {problem}"
        );
        let (status, problem) = server.delete(&path).await;
        assert_eq!(status, 400, "{label}: DELETE {payload:?}: {problem}");
    }
    // A UUID the spec accepts but no pet has: 404, never another row; an
    // existing id in capitals is another id (compared as bytes).
    let id = created[0]["id"].as_str().unwrap();
    for other in [
        id.to_uppercase(),
        "00000000-0000-0000-0000-000000000000".to_owned(),
        format!("{}0", &id[..35]),
    ] {
        if other == id {
            continue;
        }
        let (status, problem) = server.get(&format!("/pets/{other}")).await;
        assert_eq!(status, 404, "{label}: {other}: {problem}");
        let (status, problem) = server.delete(&format!("/pets/{other}")).await;
        assert_eq!(status, 404, "{label}: {other}: {problem}");
    }

    // The store itself, below the validator: payload ids and tags match nothing.
    for payload in TEXT_PAYLOADS.iter().chain(PATH_PAYLOADS) {
        assert_eq!(server.db().get_pet(payload).await.unwrap(), None, "{label}");
        assert!(!server.db().delete_pet(payload).await.unwrap(), "{label}");
        assert_eq!(
            server.db().get_owner(payload).await.unwrap(),
            None,
            "{label}"
        );
        assert!(
            server
                .db()
                .list_pets(Some(payload), 100)
                .await
                .unwrap()
                .is_empty(),
            "{label}: tag {payload:?}"
        );
    }

    // Owners: every string field carries payloads. There is no read
    // operation, so the stored row is read back through the store.
    let owners: Vec<Value> = vec![
        json!({"email": "'or'1'='1@example.com", "password": "'; DROP TABLE owners; --", "displayName": TEXT_PAYLOADS[0], "website": "https://example.com/?q=';DROP%20TABLE%20owners;--"}),
        json!({"email": "%_'--@example.com", "password": "' OR '1'='1' --   ", "displayName": TEXT_PAYLOADS[1], "website": "https://example.com/%27%20OR%201=1--"}),
        json!({"email": "x\\y@example.com", "password": "\\\\\\\\\\\\\\\\\\\\\\\\", "displayName": "\\'; --"}),
        json!({"email": "o'brien+$1@example.com", "password": "ünïcødé 🐶 名前 pw", "displayName": "ünïcødé 🐶 名前", "website": "https://ex.example/ünï?a='b'&c=%"}),
        json!({"email": "\"q\"@example.com", "password": "\"; DROP TABLE pets; --", "displayName": "%_%"}),
    ];
    let mut registered = 0;
    for body in &owners {
        let (status, owner) = server.register_owner(body).await;
        // An address the email validator refuses never reaches the store.
        if status == 422 {
            assert!(
                owner["errors"]
                    .as_array()
                    .is_some_and(|e| e.iter().all(|e| e["field"] == "body.email")),
                "{label}: {body}: {owner}"
            );
            continue;
        }
        assert_eq!(status, 201, "{label}: {body}: {owner}");
        registered += 1;
        assert!(owner.get("password").is_none(), "{label}: {owner}");
        for field in ["email", "displayName", "website"] {
            assert_eq!(owner.get(field), body.get(field), "{label}: {field}");
        }
        let id = owner["id"].as_str().unwrap();
        let stored = server.db().get_owner(id).await.unwrap().unwrap();
        assert_eq!(stored.email, body["email"].as_str().unwrap(), "{label}");
        assert_eq!(
            stored.display_name,
            body["displayName"].as_str().unwrap(),
            "{label}"
        );
        assert_eq!(
            stored.website.as_deref(),
            body["website"].as_str(),
            "{label}"
        );
        assert_eq!(stored.password, None, "{label}: the password is not stored");
    }
    assert!(registered >= 3, "{label}: most owners are accepted");

    // NUL: text PostgreSQL cannot store is refused with 422 on both backends.
    let (status, problem) = server
        .create_pet(&json!({"name": "nul\u{0}here", "species": "dog"}))
        .await;
    assert_eq!(status, 422, "{label}: {problem}");
    assert!(
        problem["errors"]
            .as_array()
            .is_some_and(|e| e.iter().any(|e| e["field"] == "body.name")),
        "{label}: {problem}"
    );
    let (status, problem) = server
        .register_owner(&json!({"email": "nul@example.com", "password": "a password with \u{0} in it", "displayName": "nul\u{0}"}))
        .await;
    assert_eq!(status, 422, "{label}: {problem}");
    assert!(
        problem["errors"]
            .as_array()
            .is_some_and(|e| e.iter().any(|e| e["field"] == "body.displayName")),
        "{label}: {problem}"
    );

    // Nothing was dropped or deleted behind the test's back.
    assert_eq!(
        db.counts().await,
        Counts {
            pets,
            pet_tags: tag_rows,
            owners: registered
        },
        "{label}"
    );

    // Deleting the pet named `'; DROP TABLE pets; --` deletes that pet and its tags only.
    let victim = &created[0];
    let victim_id = victim["id"].as_str().unwrap();
    let (status, _) = server.delete(&format!("/pets/{victim_id}")).await;
    assert_eq!(status, 204, "{label}");
    let (status, _) = server.get(&format!("/pets/{victim_id}")).await;
    assert_eq!(status, 404, "{label}");
    let victim_tags = victim["tags"].as_array().unwrap().len() as i64;
    assert_eq!(
        db.counts().await,
        Counts {
            pets: pets - 1,
            pet_tags: tag_rows - victim_tags,
            owners: registered
        },
        "{label}"
    );
    let (_, listed) = server.get("/pets?limit=100").await;
    assert_eq!(listed, Value::Array(want[1..].to_vec()).clone(), "{label}");
    assert!(!want[1..].iter().any(|p| p["id"] == victim["id"]));
    server.stop().await;
}

#[tokio::test]
async fn sqlite_stores_injection_payloads_as_data() {
    injection_payloads_are_data(&TestDb::sqlite()).await;
}

#[tokio::test]
async fn postgres_stores_injection_payloads_as_data() {
    if let Some(db) = TestDb::postgres().await {
        injection_payloads_are_data(&db).await;
    }
}

/// Optional fields absent, empty or present come back as sent.
async fn optional_fields_round_trip(db: &TestDb) {
    let server = Server::start(&db.url).await;
    let label = db.label;
    for body in [
        json!({"name": "Bare", "species": "fish"}),
        json!({"name": "Empty tags", "species": "bird", "tags": []}),
        json!({"name": "Full", "species": "dog", "age": 0, "weightKg": 0.1, "tags": ["b", "a"], "adopted": false}),
        json!({"name": "Heavy", "species": "dog", "age": 100, "weightKg": 500.0, "adopted": true}),
    ] {
        let (status, pet) = server.create_pet(&body).await;
        assert_eq!(status, 201, "{label}: {pet}");
        let mut sent = body.as_object().unwrap().clone();
        sent.insert("id".into(), pet["id"].clone());
        assert_eq!(pet, Value::Object(sent), "{label}");
        let (_, fetched) = server
            .get(&format!("/pets/{}", pet["id"].as_str().unwrap()))
            .await;
        assert_eq!(fetched, pet, "{label}");
        let (_, listed) = server.get("/pets?limit=100").await;
        assert!(
            listed.as_array().unwrap().contains(&pet),
            "{label}: {listed}"
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn sqlite_round_trips_optional_fields() {
    optional_fields_round_trip(&TestDb::sqlite()).await;
}

#[tokio::test]
async fn postgres_round_trips_optional_fields() {
    if let Some(db) = TestDb::postgres().await {
        optional_fields_round_trip(&db).await;
    }
}

/// Data written survives a restart on the same database.
async fn data_survives_a_restart(db: &TestDb) {
    let label = db.label;
    let server = Server::start(&db.url).await;
    let (status, pet) = server
        .create_pet(&json!({"name": "'; DROP TABLE pets; --", "species": "dog", "tags": ["--"]}))
        .await;
    assert_eq!(status, 201, "{label}: {pet}");
    let (status, owner) = server
        .register_owner(&json!({"email": "keep@example.com", "password": "kept nowhere at all", "displayName": "Keep"}))
        .await;
    assert_eq!(status, 201, "{label}: {owner}");
    server.stop().await;

    // A new server (new secret, new keys) on the same database.
    let server = Server::start(&db.url).await;
    let id = pet["id"].as_str().unwrap();
    let (status, fetched) = server.get(&format!("/pets/{id}")).await;
    assert_eq!(status, 200, "{label}: {fetched}");
    assert_eq!(fetched, pet, "{label}");
    let (_, listed) = server.get("/pets?tag=--").await;
    assert_eq!(listed, json!([pet]), "{label}");
    let stored = server
        .db()
        .get_owner(owner["id"].as_str().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.display_name, "Keep", "{label}");
    // Opening again applied no migration twice and lost nothing.
    assert_eq!(
        db.counts().await,
        Counts {
            pets: 1,
            pet_tags: 1,
            owners: 1
        },
        "{label}"
    );
    server.stop().await;
}

#[tokio::test]
async fn sqlite_data_survives_a_restart() {
    data_survives_a_restart(&TestDb::sqlite()).await;
}

#[tokio::test]
async fn postgres_data_survives_a_restart() {
    if let Some(db) = TestDb::postgres().await {
        data_survives_a_restart(&db).await;
    }
}
