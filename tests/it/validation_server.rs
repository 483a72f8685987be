//! Constraint kinds of tests/specs/validation.yaml, generated at compile time
//! by `rampart::api!` and exercised over a real socket: each bad value is
//! answered 422 problem+json naming the field (issue 14, items 10 to 13).

use std::net::SocketAddr;

use rampart::Security;
use rampart::server::{ServeConfig, Serving, serve};
use rampart::validate::{MAX_JSON_DEPTH, json_depth, one_of};
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

    async fn post_filter(&self, body: Filter) -> PostFilterResponse {
        PostFilterResponse::Ok(body)
    }

    async fn post_comment(&self, body: Comment) -> PostCommentResponse {
        PostCommentResponse::Ok(body)
    }
}

async fn start() -> (Serving, String) {
    let security = Security::builder(&API).build().unwrap();
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

/// Issue 24, item 7: `format: uri` is http/https unless the schema allows
/// other schemes (`x-rampart: { uri-schemes: [...] }`); a `javascript:` or
/// `file:` URI used to pass as well-formed.
#[tokio::test]
async fn uri_formats_accept_only_the_allowed_schemes() {
    let (_serving, base) = start().await;
    accepted(
        &base,
        "/lists",
        json!({
            "links": ["https://example.com/a?b=c", "HTTP://example.com/"],
            "contacts": ["mailto:ada@example.com", "https://example.com/"],
        }),
    )
    .await;
    let cases: &[(Value, &[(&str, &str)])] = &[
        (
            json!({"links": ["javascript:alert(1)"]}),
            &[("body.links[0]", "uri_scheme")],
        ),
        (
            json!({"links": ["file:///etc/passwd", "data:text/html,<b>x</b>"]}),
            &[
                ("body.links[0]", "uri_scheme"),
                ("body.links[1]", "uri_scheme"),
            ],
        ),
        (
            json!({"links": ["mailto:ada@example.com"]}),
            &[("body.links[0]", "uri_scheme")],
        ),
        (json!({"links": ["not a uri"]}), &[("body.links[0]", "url")]),
        (
            json!({"contacts": ["javascript:alert(1)", "http://example.com/"]}),
            &[
                ("body.contacts[0]", "uri_scheme"),
                ("body.contacts[1]", "uri_scheme"),
            ],
        ),
    ];
    for (body, want) in cases {
        refused(&base, "/lists", body.clone(), want).await;
    }
    let (_, problem) = post(&base, "/lists", &json!({"links": ["file:///x"]})).await;
    assert!(
        problem
            .to_string()
            .contains("must be a URL with scheme http, https"),
        "{problem}"
    );
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

/// `{"and": [{"and": [... {"field": "x"} ...]}]}`, `levels` times `and`.
fn nested_filter(levels: usize) -> Value {
    (0..levels).fold(json!({"field": "x"}), |inner, _| json!({"and": [inner]}))
}

/// The work the last body deserialized on this thread took. `#[tokio::test]`
/// runs the server and the client on the test's thread, so it is the last
/// request's.
fn work_of(body: &Value) -> one_of::Stats {
    let stats = one_of::last().expect("a body was deserialized on this thread");
    // 1 + commas + opening brackets: the body's JSON values, as ValidJson counts them.
    let text = body.to_string();
    let values = 1 + text.matches(['{', '[', ',']).count() as u64;
    assert_eq!(stats.values, values, "not this body's figures: {stats:?}");
    stats
}

#[tokio::test]
async fn recursive_one_of_is_chosen_in_work_linear_in_the_body() {
    let (_serving, base) = start().await;
    // A body at the depth limit: 31 `and` levels (an object and an array
    // each) around the leaf object, 63 levels deep (one more level is 65).
    let at_limit = nested_filter((MAX_JSON_DEPTH - 1) / 2);
    assert_eq!(
        json_depth(at_limit.to_string().as_bytes()),
        MAX_JSON_DEPTH - 1
    );
    accepted(&base, "/filters", at_limit.clone()).await;
    let stats = work_of(&at_limit);
    // The shapes decide every level: one attempt per Filter value, none wasted.
    let filters = at_limit.to_string().matches('{').count() as u64;
    assert_eq!(stats.attempts, filters, "{stats:?}");
    assert!(stats.attempts <= stats.values, "{stats:?}");
    assert!(!stats.exhausted && stats.steps <= stats.limit, "{stats:?}");

    // Wide: 8 × 8 × 8 leaves under alternating and/or; still one attempt per Filter.
    let leaf = json!({"field": "abc"});
    let or8 = json!({"or": vec![leaf; 8]});
    let and8 = json!({"and": vec![or8; 8]});
    let wide = json!({"or": vec![and8; 8]});
    accepted(&base, "/filters", wide.clone()).await;
    let stats = work_of(&wide);
    assert_eq!(stats.attempts, 1 + 8 + 64 + 512, "{stats:?}");
    assert!(stats.attempts <= stats.values, "{stats:?}");

    // Past the depth limit: refused before any alternative is tried.
    let (status, problem) = post(&base, "/filters", &json!({"or": [at_limit]})).await;
    assert_eq!(status, 400, "{problem}");
    assert_eq!(problem["errors"][0]["rule"], "depth", "{problem}");

    // Alternatives are still accepted and refused as before.
    accepted(
        &base,
        "/filters",
        json!({"or": [{"field": "a"}, {"and": []}]}),
    )
    .await;
    let cases: &[(Value, &[(&str, &str)])] = &[
        // The leaf's own constraint, named where it is.
        (
            json!({"and": [{"field": "a"}, {"or": [{"field": "much too long"}]}]}),
            &[("body.and[1].or[0].field", "length")],
        ),
        // No alternative's required key.
        (json!({"not": [{"field": "a"}]}), &[("body", "type")]),
        // A wrong kind (named at the outermost choice, as before).
        (json!({"and": [[{"field": "a"}]]}), &[("body", "type")]),
        // Two alternatives valid: a oneOf allows exactly one.
        (json!({"and": [], "or": []}), &[("body", "type")]),
    ];
    for (body, want) in cases {
        refused(&base, "/filters", body.clone(), want).await;
    }
    let (_, problem) = post(&base, "/filters", &json!({"not": 1})).await;
    let message = problem["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("missing field `and`"), "{problem}");
}

#[tokio::test]
async fn overlapping_recursive_alternatives_run_out_of_budget() {
    let (_serving, base) = start().await;
    // The closed key sets decide these: one attempt per comment.
    let thread = json!({"text": "a", "replies": [
        {"deleted": true, "replies": []},
        {"text": "b", "replies": [{"text": "c", "replies": []}]},
    ]});
    accepted(&base, "/comments", thread.clone()).await;
    assert_eq!(work_of(&thread).attempts, 4);
    refused(
        &base,
        "/comments",
        json!({"text": "a", "deleted": false, "replies": []}),
        &[("body", "type")],
    )
    .await;

    // `{"replies": [...]}` fits both alternatives at every level: the work
    // doubles per level (2^31 attempts here, hours of CPU without a bound).
    let pathological = (0..(MAX_JSON_DEPTH - 2) / 2).fold(
        json!({"replies": []}),
        |inner, _| json!({"replies": [inner]}),
    );
    assert!(pathological.to_string().len() < 700);
    let (status, problem) = post(&base, "/comments", &pathological).await;
    let stats = work_of(&pathological);
    assert_eq!(status, 422, "{problem}");
    assert_eq!(
        problem["type"], "https://rampart.dev/problems/validation-failed",
        "{problem}"
    );
    assert_eq!(problem["errors"][0]["field"], "body", "{problem}");
    assert_eq!(problem["errors"][0]["rule"], "work-limit", "{problem}");
    let message = problem["errors"][0]["message"].as_str().unwrap();
    assert_eq!(stats.limit, one_of::budget_for(stats.values));
    assert!(
        message.contains(&format!("{} steps", stats.limit)),
        "the limit is named: {problem}"
    );
    assert!(stats.exhausted, "{stats:?}");
    // It stopped at the limit: one attempt past it at most.
    assert!(stats.steps <= stats.limit + stats.values, "{stats:?}");

    // A short body with the same overlap fits its budget and is refused as before.
    let shallow = json!({"replies": [{"replies": []}]});
    refused(&base, "/comments", shallow.clone(), &[("body", "type")]).await;
    assert!(!work_of(&shallow).exhausted);
}
