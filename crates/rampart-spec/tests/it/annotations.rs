//! Each kind of annotation and security error, with the exact line and column
//! it is reported at, its code, the key phrases of its message and, where one
//! applies, the suggested word.

use crate::common;

use common::{assert_clean, assert_error, load, only, spanned_text};
use rampart_spec::Severity;

/// A spec whose one operation (`listPets`, line 18) has an `x-rampart` at
/// line 20; `annotation` is indented under it and starts on line 21 (an
/// empty annotation writes `x-rampart: {{}}`). `op_extra` goes between the
/// operationId (line 19) and the x-rampart key; it must be written as whole
/// lines and shifts the annotation down. `top` goes after the top-level
/// `x-rampart` (line 5).
fn spec(top: &str, op_extra: &str, annotation: &str) -> String {
    let (open, annotation) = if annotation.is_empty() {
        (" {}", "")
    } else {
        ("", annotation)
    };
    format!(
        "openapi: 3.0.3
info: {{ title: Test, version: '1.0' }}
x-rampart:
  roles: [admin, editor, viewer]
{top}components:
  securitySchemes:
    bearerAuth: {{ type: http, scheme: bearer, bearerFormat: JWT }}
    oauth2:
      type: oauth2
      flows:
        clientCredentials:
          tokenUrl: https://auth.example/token
          scopes: {{ 'pets:read': Read pets }}
security:
  - bearerAuth: []
paths:
  /pets:
    get:
      operationId: listPets
{op_extra}      x-rampart:{open}
{annotation}      responses: {{ '200': {{ description: ok }} }}
"
    )
}

fn op(annotation: &str) -> String {
    spec("", "", annotation)
}

#[test]
fn the_base_spec_is_clean() {
    let loaded = load(&op("        roles: [viewer]\n"));
    let model = assert_clean(&loaded);
    assert!(loaded.diagnostics.is_empty(), "{}", loaded.render());
    assert_eq!(model.operations[0].policy.roles, ["viewer"]);
}

#[test]
fn unknown_operation_key_suggests_the_nearest() {
    let loaded = load(&op("        rols: [admin]\n"));
    let d = assert_error(
        &loaded,
        "unknown-key",
        &["unknown key `rols` in an operation's x-rampart; did you mean `roles`?"],
        (21, 9),
    );
    assert_eq!(spanned_text(&loaded, d), "rols");
    assert!(d.help.as_deref().unwrap().contains("roles, rate, burst"));
}

#[test]
fn unknown_top_level_key_suggests_the_nearest() {
    let loaded = load(&spec("", "", "").replace(
        "  roles: [admin, editor, viewer]\n",
        "  roles: [admin, editor, viewer]\n  bodylimit: 1MiB\n",
    ));
    let d = assert_error(
        &loaded,
        "unknown-key",
        &["unknown key `bodylimit` in the top-level x-rampart; did you mean `body-limit`?"],
        (5, 3),
    );
    assert_eq!(spanned_text(&loaded, d), "bodylimit");
}

#[test]
fn unknown_cors_key_suggests_the_nearest() {
    let top = "  cors: { origin: [https://app.example] }\n";
    let loaded = load(&spec("", "", "").replace(
        "  roles: [admin, editor, viewer]\n",
        &format!("  roles: [admin, editor, viewer]\n{top}"),
    ));
    assert_error(
        &loaded,
        "unknown-key",
        &["unknown key `origin` in x-rampart.cors; did you mean `origins`?"],
        (5, 11),
    );
}

#[test]
fn unknown_key_far_from_any_word_gets_no_suggestion() {
    let loaded = load(&op("        zzzzzz: 1\n"));
    let d = assert_error(&loaded, "unknown-key", &["unknown key `zzzzzz`"], (21, 9));
    assert!(!d.message.contains("did you mean"), "{}", d.message);
}

#[test]
fn undeclared_role_suggests_a_declared_one() {
    let loaded = load(&op("        roles: [viewer, editr]\n"));
    let d = assert_error(
        &loaded,
        "undeclared-role",
        &["role `editr` is not declared; did you mean `editor`?"],
        (21, 25),
    );
    assert_eq!(spanned_text(&loaded, d), "editr");
    assert!(d.help.as_deref().unwrap().contains("top-level"));
}

#[test]
fn malformed_role_names_are_refused() {
    let loaded = load(&op("        roles: ['9lives']\n"));
    assert_error(
        &loaded,
        "malformed-role",
        &["malformed role name `9lives`"],
        (21, 17),
    );
}

#[test]
fn duplicate_declared_role() {
    let loaded = load(&spec("", "", "").replace(
        "roles: [admin, editor, viewer]",
        "roles: [admin, editor, admin]",
    ));
    assert_error(
        &loaded,
        "duplicate-role",
        &["role `admin` is declared twice"],
        (4, 26),
    );
}

#[test]
fn malformed_rates_are_reported_at_the_value() {
    let cases = [
        (
            "5/mni",
            "malformed rate `5/mni`: unknown unit `mni`; did you mean `min`?",
        ),
        (
            "five/min",
            "malformed rate `five/min`: the count must be a whole number",
        ),
        (
            "0/min",
            "malformed rate `0/min`: the count must be at least 1",
        ),
        ("5", "malformed `rate` `5`: expected a rate like `5/min`"),
        (
            "5 per minute",
            "malformed rate `5 per minute`: expected COUNT/PERIOD",
        ),
        ("5/0min", "the period must be longer than zero"),
        ("5/400d", "the period may be at most a year"),
        ("99999999999/s", "the count must be a whole number"),
    ];
    for (value, phrase) in cases {
        let loaded = load(&op(&format!("        rate: {value}\n")));
        let d = assert_error(&loaded, "malformed-rate", &[phrase], (21, 15));
        assert_eq!(spanned_text(&loaded, d), value);
    }
}

#[test]
fn malformed_top_level_rate() {
    let loaded = load(&spec("", "", "").replace(
        "  roles: [admin, editor, viewer]\n",
        "  roles: [admin, editor, viewer]\n  rate: 100/15mins\n",
    ));
    assert_error(
        &loaded,
        "malformed-rate",
        &["unknown unit `mins`; did you mean `min`?"],
        (5, 9),
    );
}

#[test]
fn malformed_burst_and_rate_key() {
    let loaded = load(&op("        rate: 5/min\n        burst: 0\n"));
    assert_error(
        &loaded,
        "malformed-burst",
        &["malformed burst `0`: expected a whole number of at least 1"],
        (22, 16),
    );
    let loaded = load(&op("        rate-key: adress\n"));
    assert_error(
        &loaded,
        "malformed-rate-key",
        &["unknown rate-key `adress`"],
        (21, 19),
    );
    let loaded = load(&op("        rate-key: principle\n"));
    assert_error(
        &loaded,
        "malformed-rate-key",
        &["unknown rate-key `principle`; did you mean `principal`?"],
        (21, 19),
    );
}

#[test]
fn burst_without_any_rate() {
    let loaded = load(&op("        burst: 5\n"));
    assert_error(
        &loaded,
        "burst-without-rate",
        &["`burst` is set but no `rate` applies"],
        (21, 16),
    );
}

#[test]
fn rate_exact_needs_a_rate_and_a_boolean() {
    let loaded = load(&op("        rate-exact: true\n"));
    assert_error(
        &loaded,
        "rate-exact-without-rate",
        &["`rate-exact` is set but no `rate` applies"],
        (21, 21),
    );
    let loaded = load(&op("        rate: 5/min\n        rate-exact: yes please\n"));
    assert_error(
        &loaded,
        "malformed-annotation",
        &["`rate-exact` must be true or false"],
        (22, 21),
    );
}

#[test]
fn rate_exact_is_inherited_and_overridden() {
    let exact = |top: &str, annotation: &str| {
        let loaded = load(&spec(top, "", annotation));
        assert_clean(&loaded).operations[0].policy.rate_exact
    };
    assert!(exact("", "        rate: 5/min\n        rate-exact: true\n"));
    assert!(!exact("", "        rate: 5/min\n"));
    let top = "  rate: 5/min\n  rate-exact: true\n";
    assert!(exact(top, ""));
    assert!(!exact(top, "        rate-exact: false\n"));
}

#[test]
fn malformed_dates_are_reported_at_the_value() {
    let cases = [
        "2027-13-01",
        "2027-06-31",
        "2027-06-01T25:00:00Z",
        "2027-06-01T00:00:00",
        "2027/06/01",
        "tomorrow",
    ];
    for value in cases {
        for key in ["sunset", "deprecation"] {
            let loaded = load(&spec(
                "",
                "      deprecated: true\n",
                &format!("        {key}: {value}\n"),
            ));
            let d = assert_error(
                &loaded,
                "malformed-date",
                &[
                    &format!("malformed date `{value}`"),
                    "not an RFC 3339 date-time or YYYY-MM-DD date",
                ],
                (22, 11 + key.len()),
            );
            assert_eq!(spanned_text(&loaded, d), value);
            assert!(d.help.as_deref().unwrap().contains("2027-06-01T00:00:00Z"));
        }
    }
}

#[test]
fn a_date_that_is_not_text_is_malformed() {
    let loaded = load(&spec(
        "",
        "      deprecated: true\n",
        "        sunset: 20270601\n",
    ));
    assert_error(
        &loaded,
        "malformed-date",
        &["malformed `sunset` `20270601`: expected a date like `2027-06-01T00:00:00Z`"],
        (22, 17),
    );
}

#[test]
fn malformed_sizes_are_reported_at_the_value() {
    let cases = [
        (
            "64KB2",
            "malformed size `64KB2`: unknown unit `KB2`; did you mean `KB`?",
        ),
        (
            "64 kib",
            "malformed size `64 kib`: unknown unit `kib`; did you mean `KiB`?",
        ),
        ("lots", "malformed size `lots`: expected a number first"),
        (
            "-5",
            "malformed `body-limit` `-5`: expected a size like `64KiB`",
        ),
        (
            "99999999999GiB",
            "malformed size `99999999999GiB`: size too large",
        ),
    ];
    for (value, phrase) in cases {
        let loaded = load(&op(&format!("        body-limit: {value}\n")));
        let d = assert_error(&loaded, "malformed-size", &[phrase], (21, 21));
        assert_eq!(spanned_text(&loaded, d), value);
    }
}

#[test]
fn sizes_and_rates_that_parse_reach_the_policy() {
    let loaded = load(&op(
        "        roles: [editor]\n        body-limit: 1MiB\n        rate: 100/15min\n        burst: 20\n",
    ));
    let model = assert_clean(&loaded);
    let policy = &model.operations[0].policy;
    assert_eq!(policy.body_limit, Some(1 << 20));
    let rate = policy.rate.unwrap();
    assert_eq!(rate.to_string(), "100/15min");
    assert_eq!(rate.burst, Some(20));
}

#[test]
fn sunset_on_an_operation_that_is_not_deprecated() {
    let loaded = load(&op("        sunset: 2027-06-01T00:00:00Z\n"));
    let d = assert_error(
        &loaded,
        "sunset-without-deprecated",
        &["operation `listPets` has a `sunset` but is not marked `deprecated: true`"],
        (21, 17),
    );
    assert!(d.help.as_deref().unwrap().contains("deprecated: true"));
    // The same annotation on a deprecated operation is accepted and read.
    let loaded = load(&spec(
        "",
        "      deprecated: true\n",
        "        sunset: 2027-06-01T00:00:00Z\n        successor: /v2/pets\n",
    ));
    let model = assert_clean(&loaded);
    let deprecation = model.operations[0].policy.deprecation.clone().unwrap();
    assert_eq!(deprecation.sunset, Some(1_811_808_000));
    assert_eq!(deprecation.successor.as_deref(), Some("/v2/pets"));
}

#[test]
fn successor_on_an_operation_that_is_not_deprecated() {
    let loaded = load(&op("        successor: /v2/pets\n"));
    assert_error(
        &loaded,
        "sunset-without-deprecated",
        &["operation `listPets` has a `successor` but is not marked `deprecated: true`"],
        (21, 20),
    );
}

#[test]
fn sunset_on_an_api_that_is_not_deprecated() {
    let loaded = load(&spec("", "", "").replace(
        "  roles: [admin, editor, viewer]\n",
        "  roles: [admin, editor, viewer]\n  sunset: 2027-06-01\n",
    ));
    assert_error(
        &loaded,
        "sunset-without-deprecated",
        &["the API has a `sunset` but is not marked `deprecated: true`"],
        (5, 11),
    );
}

#[test]
fn security_requirement_naming_an_unknown_scheme() {
    // In an operation's `security`.
    let loaded = load(&spec("", "      security: [{ bearerAuht: [] }]\n", ""));
    let d = assert_error(
        &loaded,
        "unknown-scheme",
        &[
            "security requirement names scheme `bearerAuht`, which is not in components.securitySchemes",
            "did you mean `bearerAuth`?",
        ],
        (20, 20),
    );
    assert_eq!(spanned_text(&loaded, d), "bearerAuht");
    // In the top-level `security`: reported once, though both operations inherit it.
    let loaded = load(
        &spec("", "", "")
            .replace("  - bearerAuth: []", "  - oauth: []")
            .replace(
                "      responses: { '200': { description: ok } }\n",
                "      responses: { '200': { description: ok } }\n    put:\n      responses: { '200': { description: ok } }\n",
            ),
    );
    assert_eq!(loaded.model.as_ref().unwrap().operations.len(), 2);
    let d = assert_error(
        &loaded,
        "unknown-scheme",
        &["names scheme `oauth`", "did you mean `oauth2`?"],
        (15, 5),
    );
    assert_eq!(spanned_text(&loaded, d), "oauth");
}

#[test]
fn undeclared_scope_is_a_warning() {
    let loaded = load(&spec("", "      security: [{ oauth2: [pets:raed] }]\n", ""));
    assert!(!loaded.has_errors(), "{}", loaded.render());
    let d = only(&loaded, "unknown-scope");
    assert_eq!(d.severity, Severity::Warning);
    assert!(
        d.message.contains(
            "scope `pets:raed` is not declared by any flow of `oauth2`; did you mean `pets:read`?"
        ),
        "{}",
        d.message
    );
    assert_eq!(common::line_col(&loaded, d), (20, 29));
    assert_eq!(spanned_text(&loaded, d), "pets:raed");
}

#[test]
fn duplicate_operation_ids_are_reported_at_the_second() {
    let text = op("").replace(
        "      responses: { '200': { description: ok } }\n",
        "      responses: { '200': { description: ok } }
  /pets/{id}:
    delete:
      operationId: listPets
      responses: { '204': { description: gone } }
",
    );
    let loaded = load(&text);
    let d = assert_error(
        &loaded,
        "duplicate-operation-id",
        &["operationId `listPets` is used by more than one operation"],
        (24, 20),
    );
    assert_eq!(spanned_text(&loaded, d), "listPets");
}

#[test]
fn public_operation_that_also_lists_security() {
    let loaded = load(&op("        public: true\n"));
    // Inheriting the top-level security is fine: `public` opts out of it.
    let model = assert_clean(&loaded);
    assert!(model.operations[0].policy.public);
    assert!(model.operations[0].policy.security.is_empty());
    let loaded = load(&spec(
        "",
        "      security: [{ bearerAuth: [] }]\n",
        "        public: true\n",
    ));
    assert_error(
        &loaded,
        "public-with-security",
        &["marked `public: true` but also lists security requirements"],
        (22, 17),
    );
}

#[test]
fn roles_on_an_operation_that_admits_anonymous_callers() {
    // Each way `security` can admit anonymous callers: the roles would never
    // be checked. One error at the operation's `roles` key, naming the cause.
    let inherited_empty = spec("", "", "        roles: [admin]\n")
        .replace("security:\n  - bearerAuth: []\n", "security: []\n");
    let inherited_anonymous = spec("", "", "        roles: [admin]\n")
        .replace("  - bearerAuth: []\n", "  - {}\n  - bearerAuth: []\n");
    let nowhere =
        spec("", "", "        roles: [admin]\n").replace("security:\n  - bearerAuth: []\n", "");
    for (text, at, cause) in [
        (
            spec("", "      security: []\n", "        roles: [admin]\n"),
            (22, 9),
            "admits anonymous callers with `security: []`",
        ),
        (
            spec(
                "",
                "      security: [{}, { bearerAuth: [] }]\n",
                "        roles: [admin, editor]\n",
            ),
            (22, 9),
            "through the empty `{}` alternative of its `security`",
        ),
        (
            spec("", "      security: [{}]\n", "        roles: [admin]\n"),
            (22, 9),
            "through the empty `{}` alternative of its `security`",
        ),
        (
            inherited_empty,
            (20, 9),
            "with the top-level `security: []`",
        ),
        (
            inherited_anonymous,
            (22, 9),
            "through the empty `{}` alternative of the top-level `security`",
        ),
        (nowhere, (19, 9), "no `security` applies"),
    ] {
        let loaded = load(&text);
        let d = assert_error(
            &loaded,
            "roles-without-authentication",
            &[
                "operation `listPets` requires roles [admin",
                cause,
                "the role check would never run and anyone could call it",
            ],
            at,
        );
        assert_eq!(spanned_text(&loaded, d), "roles");
        let help = d.help.as_deref().unwrap_or_default();
        assert!(
            help.contains("without the `{}` alternative") && help.contains("public: true"),
            "{help}"
        );
        // The model still holds the roles, so a runtime guard built from it
        // refuses it as well.
        let op = &loaded.model.as_ref().unwrap().operations[0];
        assert!(op.policy.security.is_empty() && !op.policy.roles.is_empty());
    }
}

#[test]
fn roles_beside_public_true_are_an_error() {
    let loaded = load(&op("        public: true\n        roles: [viewer]\n"));
    let d = assert_error(
        &loaded,
        "roles-without-authentication",
        &[
            "operation `listPets` requires roles [viewer] but is marked `public: true`",
            "never run",
        ],
        (22, 9),
    );
    assert!(
        d.help
            .as_deref()
            .is_some_and(|h| h.contains("drop `public: true`")),
        "{d:?}"
    );
}

#[test]
fn scopes_beside_an_anonymous_alternative_are_an_error() {
    let loaded = load(&spec(
        "",
        "      security: [{}, { oauth2: [pets:read] }]\n",
        "        public: true\n",
    ));
    let d = assert_error(
        &loaded,
        "scopes-without-authentication",
        &[
            "operation `listPets` requires scopes [pets:read] of `oauth2`",
            "the empty `{}` alternative of its `security` admits anonymous callers",
            "never be checked",
        ],
        (20, 33),
    );
    assert_eq!(spanned_text(&loaded, d), "pets:read");
    // In the top-level `security`: reported once, though both operations inherit it.
    let loaded = load(
        &spec("", "", "")
            .replace("  - bearerAuth: []", "  - {}\n  - oauth2: [pets:read]")
            .replace(
                "      responses: { '200': { description: ok } }\n",
                "      responses: { '200': { description: ok } }\n    put:\n      responses: { '200': { description: ok } }\n",
            ),
    );
    assert_eq!(loaded.model.as_ref().unwrap().operations.len(), 2);
    assert_error(
        &loaded,
        "scopes-without-authentication",
        &["of the top-level `security`"],
        (16, 14),
    );
}

#[test]
fn an_anonymous_alternative_without_roles_or_scopes_loads() {
    // Discord's 22 operations: `security: [{}, {BotToken: []}]`, no roles.
    // OpenAPI's "authentication is optional": served anonymously.
    let loaded = load(&spec("", "      security: [{}, { bearerAuth: [] }]\n", ""));
    let model = assert_clean(&loaded);
    assert!(model.operations[0].policy.security.is_empty());
    assert!(model.operations[0].policy.roles.is_empty());
}

#[test]
fn cors_wildcard_needs_public_and_never_credentials() {
    let with = |cors: &str| {
        load(&spec("", "", "").replace(
            "  roles: [admin, editor, viewer]\n",
            &format!("  roles: [admin, editor, viewer]\n  cors: {cors}\n"),
        ))
    };
    assert_error(
        &with("{ origins: '*' }"),
        "cors-wildcard",
        &["admits every website; it needs an explicit `public: true`"],
        (5, 20),
    );
    assert_error(
        &with("{ origins: '*', public: true, credentials: true }"),
        "cors-wildcard-credentials",
        &["cannot be combined with `credentials: true`"],
        (5, 20),
    );
    assert_error(
        &with("{ origins: [https://app.example/path] }"),
        "malformed-cors",
        &["`https://app.example/path` is not an origin"],
        (5, 21),
    );
    assert_clean(&with("{ origins: '*', public: true }"));
}

#[test]
fn annotation_of_the_wrong_shape() {
    let loaded = load(&op("").replace("      x-rampart: {}\n", "      x-rampart: [roles]\n"));
    assert_error(
        &loaded,
        "malformed-annotation",
        &["`x-rampart` must be a mapping, found a sequence"],
        (20, 18),
    );
    let loaded = load(&op("        roles: admin2\n        public: yes\n"));
    // `roles: admin2` (one string) is accepted as a list of one; `yes` is a
    // string in YAML 1.2, not a boolean.
    let errors: Vec<_> = loaded.diagnostics.iter().map(|d| d.code).collect();
    assert_eq!(
        errors,
        ["undeclared-role", "malformed-annotation"],
        "{}",
        loaded.render()
    );
    let d = only(&loaded, "malformed-annotation");
    assert!(
        d.message
            .contains("`public` must be true or false, found a string")
    );
    assert_eq!(common::line_col(&loaded, d), (22, 17));
}

#[test]
fn every_error_in_a_spec_is_reported_in_order() {
    let loaded = load(&op(
        "        rols: [admin]\n        rate: 5/mni\n        body-limit: 64 kib\n        sunset: someday\n",
    ));
    let found: Vec<_> = loaded
        .diagnostics
        .iter()
        .map(|d| (d.code, common::line_col(&loaded, d)))
        .collect();
    assert_eq!(
        found,
        [
            ("unknown-key", (21, 9)),
            ("malformed-rate", (22, 15)),
            ("malformed-size", (23, 21)),
            ("malformed-date", (24, 17)),
        ]
    );
    assert!(loaded.model.is_some(), "the model is still built");
}

#[test]
fn columns_count_characters_after_non_ascii_text() {
    // Two-, three- and four-byte characters before the error on the same line.
    let text = op("").replace(
        "      x-rampart: {}\n",
        "      x-rampart: { successor: /tiere/füße/猫/🐾, rols: [admin] }\n",
    );
    let loaded = load(&text);
    let errors: Vec<_> = loaded
        .diagnostics
        .iter()
        .map(|d| (d.code, common::line_col(&loaded, d)))
        .collect();
    // `      x-rampart: { successor: ` is 30 characters; the value
    // `/tiere/füße/猫/🐾` 15 characters (22 bytes); `rols` follows `, `.
    assert_eq!(
        errors,
        [
            ("sunset-without-deprecated", (20, 31)),
            ("unknown-key", (20, 48)),
        ],
        "{}",
        loaded.render()
    );
    let d = only(&loaded, "unknown-key");
    assert_eq!(spanned_text(&loaded, d), "rols");
    // The rendered caret sits under `rols` (codespan counts display columns;
    // 猫 and 🐾 are two columns wide each).
    let rendered = d.render(&loaded.files);
    assert!(rendered.contains(" --> spec.yaml:20:48"), "{rendered}");
    let caret_line = rendered
        .lines()
        .find(|l| l.contains("^^^^"))
        .expect("a caret line");
    let source_line = rendered
        .lines()
        .find(|l| l.contains("x-rampart: {"))
        .expect("the source line");
    let caret_at = caret_line.find('^').unwrap();
    let rols_at = unicode_columns(&source_line[..source_line.find("rols").unwrap()]);
    assert_eq!(caret_at, rols_at, "\n{rendered}");
}

/// Display columns of `s` as a terminal shows them (wide CJK and emoji count 2).
fn unicode_columns(s: &str) -> usize {
    s.chars()
        .map(|c| if matches!(c, '猫' | '🐾') { 2 } else { 1 })
        .sum()
}

#[test]
fn rendered_diagnostics_look_like_rustc() {
    let loaded = load(&op("        rols: [admin]\n"));
    let rendered = loaded.render();
    let lines: Vec<&str> = rendered.lines().collect();
    assert_eq!(
        lines[0],
        "error[unknown-key]: unknown key `rols` in an operation's x-rampart; did you mean `roles`?"
    );
    assert_eq!(lines[1].trim_start(), "--> spec.yaml:21:9");
    assert_eq!(lines[3], "21 |         rols: [admin]");
    assert_eq!(lines[4], "   |         ^^^^ unknown key");
    assert!(
        rendered.contains("= help: valid keys: roles, rate, burst"),
        "{rendered}"
    );
}

#[test]
fn json_diagnostics_carry_position_fields() {
    let loaded = load(&op("        rate: 5/mni\n"));
    let d = only(&loaded, "malformed-rate");
    let json = d.to_json(&loaded.files);
    assert_eq!(json["severity"], "error");
    assert_eq!(json["code"], "malformed-rate");
    assert_eq!(
        json["message"],
        "malformed rate `5/mni`: unknown unit `mni`; did you mean `min`?"
    );
    assert_eq!(json["file"], "spec.yaml");
    assert_eq!(json["line"], 21);
    assert_eq!(json["column"], 15);
    assert!(json["help"].as_str().unwrap().contains("COUNT/PERIOD"));
}

#[test]
fn quoted_values_are_covered_quotes_and_escapes_included() {
    for written in [
        r#""5/mni \"x\"""#,
        r"'5/mni ''x'''",
        r#""5/mni\\""#,
        r#""5/mñi""#,
    ] {
        let loaded = load(&op("").replace(
            "      x-rampart: {}\n",
            &format!("      x-rampart: {{ rate: {written}, roles: [admin] }}\n"),
        ));
        let d = assert_error(
            &loaded,
            "malformed-rate",
            &["malformed rate `5/m"],
            (20, 26),
        );
        assert_eq!(spanned_text(&loaded, d), written);
    }
}

/// `spec()` with `annotation` (whole lines, 6 spaces deep) under the
/// oauth2 scheme, starting on line 10.
fn scheme(annotation: &str) -> String {
    spec("", "", "").replace(
        "      type: oauth2\n",
        &format!("      type: oauth2\n      x-rampart:\n{annotation}"),
    )
}

#[test]
fn a_jwt_scheme_declares_its_own_audience_issuer_and_typ() {
    let loaded = load(&scheme(
        "        audience: [pets-oauth, pets-admin]\n        issuer: https://idp.example\n        typ: at+jwt\n",
    ));
    let model = assert_clean(&loaded);
    let a = model
        .scheme_annotations("oauth2")
        .expect("oauth2's x-rampart");
    let values = |v: &[rampart_spec::annotations::Spanned<String>]| {
        v.iter().map(|s| s.value.clone()).collect::<Vec<_>>()
    };
    assert_eq!(values(&a.audience), ["pets-oauth", "pets-admin"]);
    assert_eq!(values(&a.issuer), ["https://idp.example"]);
    assert_eq!(a.typ.as_ref().unwrap().value, "at+jwt");
    assert!(model.scheme_annotations("bearerAuth").is_none());
}

#[test]
fn unknown_scheme_key_suggests_the_nearest() {
    let loaded = load(&scheme("        audiance: pets-oauth\n"));
    let d = assert_error(
        &loaded,
        "unknown-key",
        &["unknown key `audiance` in a security scheme's x-rampart; did you mean `audience`?"],
        (11, 9),
    );
    assert_eq!(spanned_text(&loaded, d), "audiance");
}

#[test]
fn scheme_settings_on_an_api_key_scheme_are_an_error() {
    let loaded = load(&spec("", "", "").replace(
        "    bearerAuth: { type: http, scheme: bearer, bearerFormat: JWT }\n",
        "    bearerAuth: { type: http, scheme: bearer, bearerFormat: JWT }\n    apiKey: { type: apiKey, in: header, name: X-API-Key, x-rampart: { audience: a } }\n",
    ));
    assert_error(
        &loaded,
        "malformed-annotation",
        &["not verified as a JWT"],
        (8, 69),
    );
}

#[test]
fn a_jwt_scheme_declares_dpop_one_time_tokens_and_client_id_subjects() {
    let loaded = load(&scheme(
        "        dpop: required\n        replay: reject\n        client-id-subject: true\n",
    ));
    let model = assert_clean(&loaded);
    let a = model.scheme_annotations("oauth2").unwrap();
    assert_eq!(
        a.dpop.as_ref().unwrap().value,
        rampart_spec::DpopMode::Required
    );
    assert_eq!(
        a.replay.as_ref().unwrap().value,
        rampart_spec::Replay::Reject
    );
    assert_eq!(a.client_id_subject.as_ref().map(|c| c.value), Some(true));
}

#[test]
fn dpop_and_replay_words_are_checked_with_the_nearest_word() {
    let loaded = load(&scheme("        dpop: requird\n"));
    let d = assert_error(
        &loaded,
        "malformed-annotation",
        &[
            "`dpop` must be one of `required`, `allowed`, `off`",
            "did you mean `required`?",
        ],
        (11, 15),
    );
    assert_eq!(spanned_text(&loaded, d), "requird");
    let loaded = load(&op("        replay: rejct\n"));
    assert_error(
        &loaded,
        "malformed-annotation",
        &[
            "`replay` must be one of `reject`, `allow`",
            "did you mean `reject`?",
        ],
        (21, 17),
    );
}

#[test]
fn an_operation_asks_for_one_time_tokens_and_a_dpop_scheme_is_a_jwt_scheme() {
    let loaded = load(&op("        replay: reject\n"));
    let model = assert_clean(&loaded);
    assert_eq!(
        model.operations[0].policy.replay,
        rampart_spec::Replay::Reject
    );
    let loaded = load(&spec("", "", "").replace(
        "    bearerAuth: { type: http, scheme: bearer, bearerFormat: JWT }\n",
        "    bearerAuth: { type: http, scheme: dpop, x-rampart: { typ: at+jwt } }\n",
    ));
    let model = assert_clean(&loaded);
    assert_eq!(
        model.scheme("bearerAuth"),
        Some(&rampart_spec::SecuritySchemeKind::Dpop)
    );
}
