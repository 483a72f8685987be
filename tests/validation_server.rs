//! Constraint kinds of tests/specs/validation.yaml, generated at compile time
//! by `rampart::api!` and exercised over a real socket: each bad value is
//! answered 422 problem+json naming the field (issue 14, items 10 to 13).

use std::net::SocketAddr;

use rampart::Security;
use rampart::server::{ServeConfig, Serving, serve};
use serde_json::{Value, json};

mod api {
    rampart::api!("specs/validation.yaml");
}

use api::*;

/// Echoes every body back.
struct Echo;

impl ValidationApi for Echo {
    async fn post_code(&self, body: Code) -> PostCodeResponse {
        PostCodeResponse::Ok(body)
    }

    async fn post_lists(&self, body: Lists) -> PostListsResponse {
        PostListsResponse::Ok(body)
    }

    async fn post_drawing(&self, body: Drawing) -> PostDrawingResponse {
        PostDrawingResponse::Ok(body)
    }
}

async fn start() -> (Serving, String) {
    let spec = concat!(env!("CARGO_MANIFEST_DIR"), "/specs/validation.yaml");
    let (model, _, _) = rampart_spec::load_file(spec).into_result().unwrap();
    let security = Security::builder().model(&model).build().unwrap();
    let app = api::router(Echo, security);
    let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let serving = serve(app, ServeConfig::new(addr)).await.unwrap();
    let base = format!("http://{}/v1", serving.local_addr());
    (serving, base)
}

async fn post(base: &str, path: &str, body: &Value) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!("{base}{path}"))
        .json(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// `body` is accepted as it is (echoed back).
async fn accepted(base: &str, path: &str, body: Value) {
    let (status, echoed) = post(base, path, &body).await;
    assert_eq!(status, 200, "{body} was refused: {echoed}");
    assert_eq!(echoed, body);
}

/// `body` is refused 422 naming exactly these `(field, rule)` pairs.
async fn refused(base: &str, path: &str, body: Value, want: &[(&str, &str)]) {
    let (status, problem) = post(base, path, &body).await;
    assert_eq!(status, 422, "{body} was not refused: {problem}");
    assert_eq!(
        problem["type"], "https://rampart.dev/problems/validation-failed",
        "{problem}"
    );
    let got: Vec<(String, String)> = problem["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("no errors in {problem}"))
        .iter()
        .map(|e| {
            (
                e["field"].as_str().unwrap().to_owned(),
                e["rule"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let want: Vec<(String, String)> = want
        .iter()
        .map(|(f, r)| ((*f).to_owned(), (*r).to_owned()))
        .collect();
    assert_eq!(got, want, "{body}: {problem}");
}

#[tokio::test]
async fn patterns_have_their_ecma_262_meaning() {
    let (_serving, base) = start().await;
    accepted(
        &base,
        "/codes",
        json!({"year": "2026", "word": "snake_case_1", "compact": "a\u{85}b", "whole": "caté"}),
    )
    .await;
    // Arabic-Indic and fullwidth digits are digits to Rust's `\d`, not to ECMA-262's.
    refused(
        &base,
        "/codes",
        json!({"year": "٢٠٢٦"}),
        &[("body.year", "regex")],
    )
    .await;
    refused(
        &base,
        "/codes",
        json!({"year": "２０２６"}),
        &[("body.year", "regex")],
    )
    .await;
    refused(
        &base,
        "/codes",
        json!({"year": "2026", "word": "café"}),
        &[("body.word", "regex")],
    )
    .await;
    // U+FEFF is ECMA-262 white space (not Unicode's).
    refused(
        &base,
        "/codes",
        json!({"year": "2026", "compact": "a\u{feff}b"}),
        &[("body.compact", "regex")],
    )
    .await;
    refused(
        &base,
        "/codes",
        json!({"year": "2026", "whole": "cats"}),
        &[("body.whole", "regex")],
    )
    .await;
}

#[tokio::test]
async fn array_items_are_checked_against_the_item_schema() {
    let (_serving, base) = start().await;
    accepted(
        &base,
        "/lists",
        json!({
            "tags": ["a", "b-2"],
            "ids": ["123e4567-e89b-12d3-a456-426614174000"],
            "emails": ["ada@example.com"],
            "scores": [0, 10],
            "ratios": [0.5, 1.0],
            "slugs": ["ab"],
            "grid": [[0, 1], [2, 3]],
        }),
    )
    .await;
    let cases: &[(Value, &[(&str, &str)])] = &[
        (
            json!({"tags": ["ok", "Not-Low"]}),
            &[("body.tags[1]", "regex")],
        ),
        (
            json!({"tags": ["", "toolongtag"]}),
            &[
                ("body.tags[0]", "length"),
                ("body.tags[0]", "regex"),
                ("body.tags[1]", "length"),
            ],
        ),
        (
            json!({"tags": ["a", "a"]}),
            &[("body.tags", "unique_items")],
        ),
        (json!({"ids": ["not-a-uuid"]}), &[("body.ids[0]", "uuid")]),
        (
            json!({"emails": ["nobody"]}),
            &[("body.emails[0]", "email")],
        ),
        (
            json!({"scores": [3, 11, -1]}),
            &[("body.scores[1]", "range"), ("body.scores[2]", "range")],
        ),
        (json!({"ratios": [0.0]}), &[("body.ratios[0]", "range")]),
        (
            json!({"slugs": ["ab", "a", "AB"]}),
            &[("body.slugs[1]", "length"), ("body.slugs[2]", "regex")],
        ),
        (
            json!({"grid": [[0, 1], [2]]}),
            &[("body.grid[1]", "length")],
        ),
        (json!({"grid": [[0, -1]]}), &[("body.grid[0][1]", "range")]),
    ];
    for (body, want) in cases {
        refused(&base, "/lists", body.clone(), want).await;
    }
}

#[tokio::test]
async fn one_of_and_any_of_alternatives_are_validated() {
    let (_serving, base) = start().await;
    for body in [
        json!({"shape": {"kind": "circle", "radius": 1.5}}),
        json!({"shape": {"kind": "square", "side": 2}}),
        json!({"label": "ABC"}),
        json!({"label": 5}),
        json!({"size": 3}),
        json!({"size": 15}),
        json!({"either": 7}),
        json!({"pet": {"meow": "mew"}}),
        json!({"pet": {"bark": "woof"}}),
    ] {
        accepted(&base, "/drawings", body).await;
    }
    let cases: &[(Value, &[(&str, &str)])] = &[
        // The discriminator picks the alternative; its constraints hold.
        (
            json!({"shape": {"kind": "circle", "radius": 0}}),
            &[("body.shape.radius", "range")],
        ),
        (
            json!({"shape": {"kind": "square", "radius": 1}}),
            &[("body.shape.side", "required")],
        ),
        (
            json!({"shape": {"kind": "triangle"}}),
            &[("body.shape", "enum")],
        ),
        (
            json!({"shape": {"radius": 1}}),
            &[("body.shape.kind", "required")],
        ),
        // Scalar alternatives carry their own constraints.
        (json!({"label": "abc"}), &[("body.label", "regex")]),
        (json!({"label": -1}), &[("body.label", "range")]),
        // oneOf: exactly one alternative may match (7 is in both ranges); anyOf: at least one.
        (json!({"size": 7}), &[("body.size", "type")]),
        (json!({"size": 30}), &[("body.size", "range")]),
        (json!({"either": 30}), &[("body.either", "range")]),
        (
            json!({"pet": {"meow": "meow!"}}),
            &[("body.pet.meow", "length")],
        ),
        (
            json!({"pet": {"meow": "m", "bark": "b"}}),
            &[("body.pet", "type")],
        ),
        (json!({"pet": {}}), &[("body.pet", "type")]),
    ];
    for (body, want) in cases {
        refused(&base, "/drawings", body.clone(), want).await;
    }
    // The refusal says why.
    let (_, problem) = post(&base, "/drawings", &json!({"size": 7})).await;
    let message = problem["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("matches 2 of the oneOf alternatives"),
        "{problem}"
    );
}
