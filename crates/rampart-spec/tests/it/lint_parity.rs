//! Parity with Spectral's OWASP ruleset (`@stoplight/spectral-owasp-ruleset`
//! 2.0.1, `src/ruleset.ts`): for each construct a Spectral rule matches and
//! rampart once missed, a small inline spec asserting that the rampart
//! counterpart fires, with its rule id, severity, line and column.

use rampart_spec::Severity::{self, Error, Info, Warning};
use rampart_spec::lint;

/// (severity, line, column, message) of the findings of `rule` for an inline spec.
fn findings(rule: &str, yaml: &str) -> Vec<(Severity, usize, usize, String)> {
    assert!(lint::rule(rule).is_some(), "`{rule}` is not a rule");
    let loaded = rampart_spec::load_str("parity.yaml", yaml.to_owned());
    let model = loaded
        .model
        .as_ref()
        .unwrap_or_else(|| panic!("spec did not load:\n{}", loaded.render()));
    lint::lint(model)
        .iter()
        .filter(|d| d.code == rule)
        .map(|d| {
            let at = loaded.files.location(d.span.expect("a span"));
            (d.severity, at.line, at.column, d.message.clone())
        })
        .collect()
}

/// Assert exactly these findings of `rule`: (severity, line, column, text in the message).
fn expect(rule: &str, yaml: &str, expected: &[(Severity, usize, usize, &str)]) {
    let got = findings(rule, yaml);
    let positions: Vec<_> = got.iter().map(|f| (f.0, f.1, f.2)).collect();
    let wanted: Vec<_> = expected.iter().map(|e| (e.0, e.1, e.2)).collect();
    assert_eq!(positions, wanted, "{rule}: {got:#?}");
    for (finding, (.., text)) in got.iter().zip(expected) {
        assert!(
            finding.3.contains(text),
            "{rule}: `{}` does not mention `{text}`",
            finding.3
        );
    }
}

// ---- owasp:api1:2023-no-numeric-ids: `$.paths..parameters[*]` named `id`
// or `*(_id|Id|-id)`, whose `schema` has `type: integer`. Spectral resolves
// `$ref`s and descends into callbacks; the finding is at the parameter's
// `schema:` with a `format: uuid` hint.

#[test]
fn numeric_ids_at_the_schema_line_of_path_level_and_referenced_parameters() {
    let spec = r##"openapi: 3.0.3
info: { title: t, version: "1" }
paths:
  /accounts/{accountId}:
    parameters:
      - name: accountId
        in: path
        required: true
        schema:
          type: integer
    get:
      operationId: getAccount
      parameters:
        - $ref: "#/components/parameters/OwnerId"
        - name: user_id
          in: query
          schema: { $ref: "#/components/schemas/Serial" }
      responses: { "200": { description: ok } }
components:
  parameters:
    OwnerId:
      name: owner-id
      in: query
      schema: { type: integer, format: int64 }
  schemas:
    Serial: { type: integer, format: int64 }
"##;
    expect(
        "owasp-api1-no-numeric-ids",
        spec,
        &[
            (
                Error,
                9,
                9,
                "path parameter `accountId` of path `/accounts/{accountId}`",
            ),
            (
                Error,
                17,
                11,
                "`user_id` of `getAccount` is a guessable integer id (schema `Serial`)",
            ),
            (Error, 24, 7, "`owner-id` (components.parameters.OwnerId)"),
        ],
    );
    let help = lint::lint(
        rampart_spec::load_str("parity.yaml", spec.to_owned())
            .model
            .as_ref()
            .unwrap(),
    )
    .iter()
    .find(|d| d.code == "owasp-api1-no-numeric-ids")
    .and_then(|d| d.help.clone())
    .unwrap();
    assert!(help.contains("format: uuid"), "{help}");
}

#[test]
fn numeric_ids_in_callbacks_and_through_path_item_refs() {
    let spec = r##"openapi: 3.0.3
info: { title: t, version: "1" }
paths:
  /subscriptions:
    post:
      operationId: subscribe
      callbacks:
        onEvent:
          "{$request.body#/url}":
            parameters:
              - name: tenantId
                in: header
                schema: { type: integer, format: int32 }
            post:
              parameters:
                - name: id
                  in: query
                  schema: { type: integer, format: int32 }
              responses: { "200": { description: ok } }
      responses: { "201": { description: created } }
  /orders/{orderId}:
    $ref: "#/x-path-items/order"
x-path-items:
  order:
    get:
      operationId: getOrder
      parameters:
        - name: orderId
          in: path
          required: true
          schema: { type: integer, format: int64 }
      responses: { "200": { description: ok } }
"##;
    expect(
        "owasp-api1-no-numeric-ids",
        spec,
        &[
            (
                Error,
                13,
                17,
                "`tenantId` of path `{$request.body#/url}` in callback `onEvent`",
            ),
            (
                Error,
                18,
                19,
                "`id` of POST {$request.body#/url} in callback `onEvent` of `subscribe`",
            ),
            (Error, 31, 11, "path parameter `orderId` of `getOrder`"),
        ],
    );
}

#[test]
fn numeric_ids_follow_spectrals_name_pattern() {
    // `(_id|Id|-id)$` or exactly `id`: not `paid`, `valid`, `identity`; `ID` counts too.
    let spec = r##"openapi: 3.0.3
info: { title: t, version: "1" }
paths:
  /things:
    get:
      operationId: listThings
      parameters:
        - { name: paid, in: query, schema: { type: integer } }
        - { name: valid, in: query, schema: { type: integer } }
        - { name: identity, in: query, schema: { type: integer } }
        - { name: thingID, in: query, schema: { type: integer } }
        - { name: ownerId, in: query, schema: { type: string, format: uuid } }
      responses: { "200": { description: ok } }
"##;
    expect(
        "owasp-api1-no-numeric-ids",
        spec,
        &[(Error, 11, 39, "`thingID`")],
    );
}

// ---- owasp:api2:2023-no-credentials-in-url and owasp:api7:2023-concerning-url-parameter
// (`$..parameters`): parameters of callback operations too.

#[test]
fn credential_and_url_parameters_in_callbacks() {
    let spec = r##"openapi: 3.0.3
info: { title: t, version: "1" }
paths:
  /subscriptions:
    post:
      operationId: subscribe
      callbacks:
        onEvent:
          "{$request.body#/url}":
            post:
              parameters:
                - { name: access_token, in: query, schema: { type: string } }
                - { name: return_url, in: query, schema: { type: string } }
              responses: { "200": { description: ok } }
      responses: { "201": { description: created } }
"##;
    expect(
        "owasp-api2-no-credentials-in-url",
        spec,
        &[(
            Error,
            12,
            21,
            "`access_token` of POST {$request.body#/url} in callback",
        )],
    );
    expect(
        "owasp-api7-concerning-url-parameter",
        spec,
        &[(Info, 13, 21, "`return_url`")],
    );
}

// ---- owasp:api2:2023-jwt-best-practices: also any scheme with `bearerFormat: JWT`.

#[test]
fn jwt_best_practices_for_any_scheme_declaring_a_jwt_bearer_format() {
    let spec = r##"openapi: 3.0.3
info: { title: t, version: "1" }
paths: {}
components:
  securitySchemes:
    tokenHeader:
      type: apiKey
      in: header
      name: X-Token
      bearerFormat: JWT
    opaque:
      type: http
      scheme: bearer
      bearerFormat: opaque
"##;
    expect(
        "owasp-api2-jwt-best-practices",
        spec,
        &[(
            Error,
            6,
            5,
            "JWT security scheme `tokenHeader` has no description",
        )],
    );
}

// ---- owasp:api3:2023-no-additionalProperties (any truthy `additionalProperties`
// of a `type: object` schema) and -constrained-additionalProperties (any
// schema-valued one, `{}` included, without `maxProperties`).

#[test]
fn additional_properties_as_spectral_matches_them() {
    let spec = r##"openapi: 3.0.3
info: { title: t, version: "1" }
paths: {}
components:
  schemas:
    Labels:
      type: object
      maxProperties: 20
      additionalProperties: { type: string, maxLength: 64, pattern: "^[a-z]+$" }
    Anything:
      type: object
      additionalProperties: {}
"##;
    expect(
        "owasp-api3-no-additional-properties",
        spec,
        &[
            (
                Info,
                9,
                7,
                "`Labels` accepts additional properties through a value schema",
            ),
            (Warning, 12, 7, "`Anything` allows any additional property"),
        ],
    );
    expect(
        "owasp-api3-constrained-additional-properties",
        spec,
        &[(Warning, 12, 7, "`Anything` is a map")],
    );
}

// ---- Schema rules (`$..[?(@.type=="string")]` etc.) reach multipart
// encoding headers and the path-level parameters of callbacks.

#[test]
fn schema_rules_reach_encoding_headers_and_callback_path_parameters() {
    let spec = r##"openapi: 3.0.3
info: { title: t, version: "1" }
paths:
  /uploads:
    post:
      operationId: upload
      requestBody:
        content:
          multipart/form-data:
            schema:
              type: object
              properties:
                file: { type: string, format: binary, maxLength: 1024 }
            encoding:
              file:
                headers:
                  X-Checksum:
                    schema: { type: string, pattern: "^[a-f0-9]+$" }
      callbacks:
        onDone:
          "{$request.body#/url}":
            parameters:
              - { name: X-Note, in: header, schema: { type: string, format: uuid } }
            post:
              responses: { "200": { description: ok } }
      responses: { "201": { description: created } }
"##;
    expect(
        "owasp-api4-string-limit",
        spec,
        &[
            (Error, 18, 31, "header `X-Checksum` of part `file`"),
            (
                Error,
                23,
                55,
                "parameter `X-Note` of `{$request.body#/url}` in callback `onDone`",
            ),
        ],
    );
}

// ---- owasp:api5:2023-admin-security-unique: Spectral's admin paths are
// those containing `/admin`, so `/admins` and `/admin-notifications` too.

#[test]
fn admin_security_unique_matches_segments_starting_with_admin() {
    let spec = r##"openapi: 3.0.3
info: { title: t, version: "1" }
security:
  - bearerAuth: []
paths:
  /things:
    get:
      operationId: listThings
      responses: { "200": { description: ok } }
  /settings/admin-notifications:
    put:
      operationId: setAdminNotifications
      security:
        - bearerAuth: []
      responses: { "204": { description: done } }
  /administrivia:
    get:
      operationId: administrivia
      security:
        - otherAuth: []
      responses: { "200": { description: ok } }
components:
  securitySchemes:
    bearerAuth: { type: http, scheme: bearer, description: JWTs following RFC 8725 }
    otherAuth: { type: http, scheme: bearer, description: JWTs following RFC 8725 }
"##;
    expect(
        "owasp-api5-admin-security-unique",
        spec,
        &[(Error, 14, 11, "`setAdminNotifications`")],
    );
}

#[test]
fn schema_rules_reach_path_items_written_as_refs() {
    let spec = r##"openapi: 3.0.3
info: { title: t, version: "1" }
paths:
  /orders:
    $ref: "#/x-path-items/orders"
x-path-items:
  orders:
    get:
      operationId: listOrders
      parameters:
        - name: q
          in: query
          schema: { type: string, format: uuid }
      responses: { "200": { description: ok } }
"##;
    expect(
        "owasp-api4-string-limit",
        spec,
        &[(Error, 13, 21, "parameter `q` of `listOrders`")],
    );
}

#[test]
fn schema_rules_reach_schemas_referenced_from_anywhere() {
    let spec = r##"openapi: 3.0.3
info: { title: t, version: "1" }
paths:
  /things:
    get:
      operationId: listThings
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: { $ref: "#/x-defs/Things" }
x-defs:
  Things:
    type: array
    items: { $ref: "#/components/schemas/Thing" }
components:
  schemas:
    Thing: { type: string, maxLength: 10, format: uuid }
"##;
    expect(
        "owasp-api4-array-limit",
        spec,
        &[(Error, 15, 5, "schema of `#/x-defs/Things`")],
    );
}

#[test]
fn parameter_rules_reach_parameters_referenced_from_anywhere() {
    let spec = r##"openapi: 3.0.3
info: { title: t, version: "1" }
paths:
  /things:
    get:
      operationId: listThings
      parameters:
        - $ref: "#/x-params/ThingId"
      responses: { "200": { description: ok } }
x-params:
  ThingId:
    name: thing_id
    in: query
    schema: { type: integer, format: int64 }
"##;
    expect(
        "owasp-api1-no-numeric-ids",
        spec,
        &[(
            Error,
            14,
            5,
            "`thing_id` (`#/x-params/ThingId`, used by `listThings`)",
        )],
    );
}

/// Every rule of `@stoplight/spectral-owasp-ruleset` 2.0.1 (`src/ruleset.ts`).
const SPECTRAL_RULES: &[&str] = &[
    "owasp:api1:2023-no-numeric-ids",
    "owasp:api2:2023-no-http-basic",
    "owasp:api2:2023-no-api-keys-in-url",
    "owasp:api2:2023-no-credentials-in-url",
    "owasp:api2:2023-auth-insecure-schemes",
    "owasp:api2:2023-jwt-best-practices",
    "owasp:api2:2023-short-lived-access-tokens",
    "owasp:api2:2023-write-restricted",
    "owasp:api2:2023-read-restricted",
    "owasp:api3:2023-no-additionalProperties",
    "owasp:api3:2023-constrained-additionalProperties",
    "owasp:api3:2023-no-unevaluatedProperties",
    "owasp:api3:2023-constrained-unevaluatedProperties",
    "owasp:api4:2023-rate-limit",
    "owasp:api4:2023-rate-limit-retry-after",
    "owasp:api4:2023-rate-limit-responses-429",
    "owasp:api4:2023-array-limit",
    "owasp:api4:2023-string-limit",
    "owasp:api4:2023-string-restricted",
    "owasp:api4:2023-integer-limit",
    "owasp:api4:2023-integer-limit-legacy",
    "owasp:api4:2023-integer-format",
    "owasp:api5:2023-admin-security-unique",
    "owasp:api7:2023-concerning-url-parameter",
    "owasp:api8:2023-define-cors-origin",
    "owasp:api8:2023-no-scheme-http",
    "owasp:api8:2023-no-server-http",
    "owasp:api8:2023-define-error-validation",
    "owasp:api8:2023-define-error-responses-401",
    "owasp:api8:2023-define-error-responses-500",
    "owasp:api9:2023-inventory-access",
    "owasp:api9:2023-inventory-environment",
];

/// Spectral rules that cannot apply to a spec rampart loads (OpenAPI 3.1 or Swagger 2 only).
const NOT_APPLICABLE: &[&str] = &[
    "owasp:api3:2023-no-unevaluatedProperties",
    "owasp:api3:2023-constrained-unevaluatedProperties",
    "owasp:api4:2023-integer-limit",
    "owasp:api8:2023-no-scheme-http",
];

#[test]
fn every_spectral_rule_has_a_counterpart_and_a_row_in_the_mapping_table() {
    let docs = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/lint.md"))
        .expect("docs/lint.md");
    let table = docs
        .split("## Spectral's OWASP ruleset, rule by rule")
        .nth(1)
        .and_then(|rest| rest.split("\n## ").next())
        .expect("docs/lint.md has the mapping table");
    for name in SPECTRAL_RULES {
        assert!(
            table.contains(&format!("`{name}`")),
            "the mapping table has no row for `{name}`"
        );
        let ported = lint::RULES
            .iter()
            .find(|r| r.origin == lint::Origin::Owasp(name));
        match ported {
            Some(rule) => assert!(
                table.contains(&format!("`{}`", rule.id)),
                "the row of `{name}` does not name `{}`",
                rule.id
            ),
            None => assert!(
                NOT_APPLICABLE.contains(name),
                "`{name}` has no rampart counterpart"
            ),
        }
    }
    for rule in lint::RULES {
        if let lint::Origin::Owasp(name) = rule.origin {
            assert!(
                SPECTRAL_RULES.contains(&name),
                "`{}` claims the unknown Spectral rule `{name}`",
                rule.id
            );
        }
    }
}

#[test]
fn admin_security_unique_compares_anonymous_alternatives_too() {
    // Spectral hashes `{}` like any entry: an admin operation admitting
    // anonymous callers shares that "requirement" with an anonymous ordinary one.
    let spec = r##"openapi: 3.0.3
info: { title: t, version: "1" }
paths:
  /health:
    get:
      operationId: health
      security: [{}]
      x-rampart: { public: true }
      responses: { "200": { description: ok } }
  /admin/stats:
    get:
      operationId: adminStats
      security:
        - {}
      responses: { "200": { description: ok } }
"##;
    expect(
        "owasp-api5-admin-security-unique",
        spec,
        &[(
            Error,
            14,
            11,
            "`adminStats` (GET /admin/stats) admits anonymous callers",
        )],
    );
}
