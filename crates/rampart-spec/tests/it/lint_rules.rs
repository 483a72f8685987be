//! One failing and one passing fixture per lint rule
//! (`tests/fixtures/lint/<rule-id>/{fail,pass}.yaml`): the failing one must
//! give exactly the listed findings of that rule (severity, line, column and
//! a word of the message naming what is wrong), the passing one none.

use std::path::{Path, PathBuf};

use rampart_spec::Severity::{self, Error, Info, Warning};
use rampart_spec::lint;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/lint")
}

/// (code, severity, line, column, message) of every lint finding for a fixture.
fn findings(path: &Path) -> Vec<(String, Severity, usize, usize, String)> {
    let loaded = rampart_spec::load_file(path);
    let model = loaded
        .model
        .as_ref()
        .unwrap_or_else(|| panic!("{} did not load:\n{}", path.display(), loaded.render()));
    lint::lint(model)
        .iter()
        .map(|d| {
            let span = d
                .span
                .unwrap_or_else(|| panic!("finding without a span: {d:?}"));
            let at = loaded.files.location(span);
            (
                d.code.to_owned(),
                d.severity,
                at.line,
                at.column,
                d.message.clone(),
            )
        })
        .collect()
}

/// Assert the rule's fixtures: `expected` is (severity, line, column, text in the message).
fn check(rule: &str, expected: &[(Severity, usize, usize, &str)]) {
    assert!(
        lint::rule(rule).is_some(),
        "`{rule}` is not a registered rule"
    );
    let dir = fixtures().join(rule);

    let fail: Vec<_> = findings(&dir.join("fail.yaml"))
        .into_iter()
        .filter(|f| f.0 == rule)
        .collect();
    let got: Vec<(Severity, usize, usize)> = fail.iter().map(|f| (f.1, f.2, f.3)).collect();
    let want: Vec<(Severity, usize, usize)> = expected.iter().map(|e| (e.0, e.1, e.2)).collect();
    assert_eq!(got, want, "{rule}: findings in fail.yaml: {fail:#?}");
    for (finding, (_, _, _, text)) in fail.iter().zip(expected) {
        assert!(
            finding.4.contains(text),
            "{rule}: message `{}` does not mention `{text}`",
            finding.4
        );
    }

    let pass: Vec<_> = findings(&dir.join("pass.yaml"))
        .into_iter()
        .filter(|f| f.0 == rule)
        .collect();
    assert!(pass.is_empty(), "{rule}: pass.yaml has findings: {pass:#?}");
}

#[test]
fn every_rule_has_fixtures_and_every_fixture_a_rule() {
    for rule in lint::RULES {
        for kind in ["fail.yaml", "pass.yaml"] {
            let path = fixtures().join(rule.id).join(kind);
            assert!(path.is_file(), "missing fixture {}", path.display());
        }
    }
    for entry in std::fs::read_dir(fixtures()).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_dir() {
            let name = entry.file_name().into_string().unwrap();
            assert!(
                lint::rule(&name).is_some(),
                "fixture directory `{name}` names no rule"
            );
        }
    }
}

#[test]
fn registry_ids_are_unique_and_lowerings_lower() {
    let mut ids: Vec<&str> = lint::rule_ids().collect();
    let count = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), count, "duplicate rule ids");
    assert_eq!(count, 41);
    for rule in lint::RULES {
        assert!(
            rule.id.starts_with("owasp-api") || rule.id.starts_with("rampart-"),
            "{}",
            rule.id
        );
        if let Some(lowering) = rule.lowering {
            assert!(
                lowering.severity < rule.severity,
                "{} is not lowered",
                rule.id
            );
        }
    }
}

// ---- API1:2023

#[test]
fn owasp_api1_no_numeric_ids() {
    check(
        "owasp-api1-no-numeric-ids",
        &[
            (Error, 9, 9, "`userId` of path `/users/{userId}`"),
            (Error, 17, 11, "`id` of `getUser` is a guessable number id"),
            (Error, 21, 11, "`account_id` of `getUser`"),
            (Error, 26, 15, "`team-id`"),
            (Error, 34, 19, "`eventId` of POST {$request.query.hook}"),
            (Error, 42, 7, "`orderID` (components.parameters.OrderId)"),
        ],
    );
}

// ---- API2:2023

#[test]
fn owasp_api2_no_http_basic() {
    check("owasp-api2-no-http-basic", &[(Error, 8, 7, "`basicAuth`")]);
}

#[test]
fn owasp_api2_no_api_keys_in_url() {
    check(
        "owasp-api2-no-api-keys-in-url",
        &[(Error, 8, 7, "`queryKey`")],
    );
}

#[test]
fn owasp_api2_no_credentials_in_url() {
    check(
        "owasp-api2-no-credentials-in-url",
        &[
            (Error, 8, 11, "`access_token`"),
            (Error, 14, 13, "`client-secret`"),
        ],
    );
}

#[test]
fn owasp_api2_auth_insecure_schemes() {
    check(
        "owasp-api2-auth-insecure-schemes",
        &[(Error, 8, 7, "`negotiate`"), (Error, 11, 7, "`oauth`")],
    );
}

#[test]
fn owasp_api2_jwt_best_practices() {
    check(
        "owasp-api2-jwt-best-practices",
        &[
            (Error, 6, 5, "`jwt` has no description"),
            (Error, 12, 7, "`oauth`"),
            (Error, 20, 7, "`plainBearer`"),
        ],
    );
}

#[test]
fn owasp_api2_short_lived_access_tokens() {
    check(
        "owasp-api2-short-lived-access-tokens",
        &[(Error, 13, 9, "`authorizationCode`")],
    );
}

#[test]
fn owasp_api2_write_restricted() {
    check(
        "owasp-api2-write-restricted",
        &[
            (Error, 5, 5, "`createThing` (POST /things)"),
            (Warning, 12, 20, "marked `public: true`"),
        ],
    );
}

#[test]
fn owasp_api2_read_restricted() {
    check(
        "owasp-api2-read-restricted",
        &[
            (Warning, 5, 5, "`listThings` (GET /things)"),
            (Info, 13, 9, "`getHealth`"),
        ],
    );
}

// ---- API3:2023

#[test]
fn owasp_api3_no_additional_properties() {
    check(
        "owasp-api3-no-additional-properties",
        &[
            (Warning, 8, 7, "`Open`"),
            (Warning, 13, 7, "`AlsoOpen`"),
            (Info, 17, 7, "`Map` accepts additional properties"),
        ],
    );
}

#[test]
fn owasp_api3_constrained_additional_properties() {
    check(
        "owasp-api3-constrained-additional-properties",
        &[(Warning, 8, 7, "`Labels`")],
    );
}

// ---- API4:2023

#[test]
fn owasp_api4_rate_limit() {
    check(
        "owasp-api4-rate-limit",
        &[
            (Error, 8, 9, "response 200 of `listThings`"),
            (Info, 16, 9, "rampart sends RateLimit headers"),
            (
                Error,
                19,
                5,
                "response `NotFound` (used as 404 by `listThings`)",
            ),
        ],
    );
}

#[test]
fn owasp_api4_rate_limit_retry_after() {
    check(
        "owasp-api4-rate-limit-retry-after",
        &[(Info, 9, 9, "rampart sends Retry-After")],
    );
}

#[test]
fn owasp_api4_rate_limit_responses_429() {
    check(
        "owasp-api4-rate-limit-responses-429",
        &[
            (Info, 7, 7, "`listThings` declares no 429"),
            (
                Info,
                11,
                7,
                "`createThing` declares a 429 response without content",
            ),
        ],
    );
}

#[test]
fn owasp_api4_array_limit() {
    check("owasp-api4-array-limit", &[(Error, 7, 7, "`Tags`")]);
}

#[test]
fn owasp_api4_string_limit() {
    check("owasp-api4-string-limit", &[(Error, 10, 11, "`Pet.name`")]);
}

#[test]
fn owasp_api4_string_restricted() {
    check(
        "owasp-api4-string-restricted",
        &[
            (Warning, 22, 17, "`NewThing.name`"),
            (Info, 26, 17, "`Receipt.note`"),
        ],
    );
}

#[test]
fn owasp_api4_integer_limit() {
    check(
        "owasp-api4-integer-limit",
        &[(Error, 10, 11, "`Page.size` has no `maximum`")],
    );
}

#[test]
fn owasp_api4_integer_format() {
    check("owasp-api4-integer-format", &[(Error, 7, 7, "`Count`")]);
}

// ---- API5:2023

#[test]
fn owasp_api5_admin_security_unique() {
    check(
        "owasp-api5-admin-security-unique",
        &[
            (Error, 14, 11, "`purgeUsers`"),
            (Info, 20, 11, "rampart enforces the operation's roles"),
        ],
    );
}

// ---- API7:2023

#[test]
fn owasp_api7_concerning_url_parameter() {
    check(
        "owasp-api7-concerning-url-parameter",
        &[(Info, 8, 11, "`callback`"), (Info, 11, 11, "`return_url`")],
    );
}

// ---- API8:2023

#[test]
fn owasp_api8_define_cors_origin() {
    check(
        "owasp-api8-define-cors-origin",
        &[(Info, 10, 9, "response 200 of `listThings`")],
    );
}

#[test]
fn owasp_api8_no_server_http() {
    check(
        "owasp-api8-no-server-http",
        &[
            (Error, 4, 5, "`http://api.example.com`"),
            (Error, 5, 5, "variable `scheme`"),
        ],
    );
}

#[test]
fn owasp_api8_define_error_validation() {
    check(
        "owasp-api8-define-error-validation",
        &[(Info, 7, 7, "`listThings` declares no 400, 422 or 4XX")],
    );
}

#[test]
fn owasp_api8_define_error_responses_401() {
    check(
        "owasp-api8-define-error-responses-401",
        &[
            (Info, 9, 7, "`listThings` declares no 401"),
            (
                Info,
                13,
                7,
                "`createThing` declares a 401 response without content",
            ),
        ],
    );
}

#[test]
fn owasp_api8_define_error_responses_500() {
    check(
        "owasp-api8-define-error-responses-500",
        &[(Warning, 7, 7, "`listThings` declares no 500")],
    );
}

// ---- API9:2023

#[test]
fn owasp_api9_inventory_access() {
    check(
        "owasp-api9-inventory-access",
        &[
            (Error, 4, 5, "`https://api.example.com`"),
            (Error, 8, 5, "other than true or false"),
        ],
    );
}

#[test]
fn owasp_api9_inventory_environment() {
    check(
        "owasp-api9-inventory-environment",
        &[(Error, 4, 5, "`https://api.example.com`")],
    );
}

// ---- rampart-aware rules

#[test]
fn rampart_roles_without_security() {
    check(
        "rampart-roles-without-security",
        &[(
            Error,
            9,
            9,
            "`listReports` (GET /reports) requires roles [viewer]",
        )],
    );
}

#[test]
fn rampart_anonymous_without_public() {
    check(
        "rampart-anonymous-without-public",
        &[
            (
                Error,
                9,
                7,
                "`listThings` (GET /things) admits anonymous callers with `security: []`",
            ),
            (
                Error,
                14,
                11,
                "`createThing` (POST /things) admits anonymous callers with an empty `{}`",
            ),
        ],
    );
}

#[test]
fn rampart_undeclared_role() {
    check(
        "rampart-undeclared-role",
        &[(
            Error,
            10,
            28,
            "role `editr`, which is not declared; did you mean `editor`?",
        )],
    );
}

#[test]
fn rampart_deprecated_without_sunset() {
    check(
        "rampart-deprecated-without-sunset",
        &[
            (Warning, 4, 15, "the API is deprecated"),
            (Warning, 9, 7, "operation `listThings`"),
        ],
    );
}

#[test]
fn rampart_sunset_before_deprecation() {
    check(
        "rampart-sunset-before-deprecation",
        &[(Error, 10, 17, "operation `listThings`")],
    );
}

#[test]
fn rampart_public_rate_not_ip() {
    check(
        "rampart-public-rate-not-ip",
        &[
            (Warning, 11, 9, "`getHealth` is limited to 10/s"),
            (Warning, 18, 9, "`getStatus` is limited to 100/min"),
        ],
    );
}

#[test]
fn rampart_cors_wildcard_credentials() {
    check(
        "rampart-cors-wildcard-credentials",
        &[(Error, 5, 14, "`credentials: true`")],
    );
}

#[test]
fn rampart_write_only_in_response() {
    check(
        "rampart-write-only-in-response",
        &[(Warning, 20, 11, "`Key.secret`")],
    );
}

#[test]
fn rampart_read_only_required_in_request() {
    check(
        "rampart-read-only-required-in-request",
        &[(Warning, 18, 11, "`NewThing` requires `id`")],
    );
}

#[test]
fn rampart_sensitive_not_redacted() {
    check(
        "rampart-sensitive-not-redacted",
        &[
            (Error, 11, 11, "`Login.password` is `format: password`"),
            (Error, 14, 11, "`Login.otp` is `writeOnly`"),
        ],
    );
}

#[test]
fn rampart_body_limit_too_large() {
    check(
        "rampart-body-limit-too-large",
        &[
            (Warning, 4, 15, "of the API is 32 MiB"),
            (Warning, 9, 32, "of operation `upload` is 1 GiB"),
        ],
    );
}

#[test]
fn docs_list_every_rule_with_its_default_severity() {
    let docs = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/lint.md"))
        .expect("docs/lint.md");
    for rule in lint::RULES {
        let heading = format!(
            "### `{}`\n\n- **Default severity:** {}",
            rule.id, rule.severity
        );
        assert!(docs.contains(&heading), "docs/lint.md lacks `{heading}`");
        if let Some(lowering) = rule.lowering {
            assert!(
                docs.contains(&format!("| `{}` |", rule.id)),
                "docs/lint.md does not explain how rampart lowers `{}` ({})",
                rule.id,
                lowering.severity
            );
        }
    }
}

#[test]
fn shared_verifier_scopes() {
    check(
        "rampart-shared-verifier-scopes",
        &[(
            Warning,
            7,
            7,
            "accepts `bearerAuth` without the scopes [pets:write]",
        )],
    );
}

#[test]
fn unverified_scheme() {
    check(
        "rampart-unverified-scheme",
        &[
            (Warning, 6, 7, "is `type: mutualTLS`"),
            (Warning, 9, 7, "HTTP authentication scheme `digest`"),
        ],
    );
}
