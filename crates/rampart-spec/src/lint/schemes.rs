//! API2:2023 rules on `components.securitySchemes`: no HTTP Basic, no API keys
//! in the URL, no outdated HTTP schemes, JWTs following RFC 8725, refresh URLs.

use super::ctx::{Ctx, field_span, str_field};
use super::{
    AUTH_INSECURE_SCHEMES, JWT_BEST_PRACTICES, NO_API_KEYS_IN_URL, NO_HTTP_BASIC,
    SHORT_LIVED_ACCESS_TOKENS, UNVERIFIED_SCHEME,
};
use crate::node::Node;

/// HTTP authentication schemes considered outdated or insecure (lower case).
const INSECURE_HTTP_SCHEMES: &[&str] = &["negotiate", "oauth", "oauth1"];

pub(crate) fn check(ctx: &mut Ctx<'_>) {
    let Some(schemes) = ctx
        .root
        .pointer("/components/securitySchemes")
        .and_then(Node::entries)
    else {
        return;
    };
    for (key, node) in schemes {
        let Some(scheme) = ctx.deref(node) else {
            continue;
        };
        let name = key.text.as_str();
        let at = |field: &str| field_span(scheme, field).unwrap_or(key.span);
        let ty = str_field(scheme, "type");
        let http = str_field(scheme, "scheme").map(str::to_ascii_lowercase);
        // Spectral's jwt-best-practices also matches any scheme declaring
        // `bearerFormat: JWT`, whatever its type; the arms below cover
        // bearer, oauth2 and openIdConnect schemes.
        let covered = matches!(ty, Some("oauth2" | "openIdConnect"))
            || (ty == Some("http") && matches!(http.as_deref(), Some("bearer" | "dpop")));
        let jwt_format =
            str_field(scheme, "bearerFormat").is_some_and(|f| f.eq_ignore_ascii_case("jwt"));
        if jwt_format && !covered {
            check_rfc8725(ctx, name, scheme, key.span, "JWT");
        }
        match ty {
            Some("http") => {
                let http = str_field(scheme, "scheme")
                    .unwrap_or("")
                    .to_ascii_lowercase();
                if http == "basic" {
                    ctx.report(
                        NO_HTTP_BASIC,
                        at("scheme"),
                        format!("security scheme `{name}` uses HTTP Basic authentication"),
                        "use `scheme: bearer` with short-lived JWTs, OAuth 2 or OpenID Connect instead",
                    );
                } else if INSECURE_HTTP_SCHEMES.contains(&http.as_str()) {
                    ctx.report(
                        AUTH_INSECURE_SCHEMES,
                        at("scheme"),
                        format!(
                            "security scheme `{name}` uses the outdated HTTP authentication scheme `{http}`"
                        ),
                        "use `scheme: bearer` with JWTs, or an oauth2 / openIdConnect scheme",
                    );
                } else if http == "mutualtls" {
                    ctx.report(
                        UNVERIFIED_SCHEME,
                        at("type"),
                        format!(
                            "security scheme `{name}` is `type: mutualTLS`; rampart's TLS listener does not verify client certificates"
                        ),
                        "authenticate with a bearer (JWT) or header apiKey scheme, or terminate mutual TLS in a proxy and describe what it forwards as an apiKey header",
                    );
                } else if http == "dpop" {
                    check_rfc8725(ctx, name, scheme, key.span, "DPoP-bound JWT");
                } else if !matches!(http.as_str(), "bearer" | "basic") {
                    ctx.report(
                        UNVERIFIED_SCHEME,
                        at("scheme"),
                        format!(
                            "security scheme `{name}` uses the HTTP authentication scheme `{http}`, which rampart's runtime does not verify"
                        ),
                        "use `scheme: bearer` with JWTs, or an oauth2, openIdConnect or header apiKey scheme",
                    );
                } else if http == "bearer" {
                    // rampart verifies a bearer token as a JWT unless `bearerFormat` says otherwise.
                    let format = str_field(scheme, "bearerFormat");
                    if format.is_none_or(|f| f.eq_ignore_ascii_case("jwt")) {
                        check_rfc8725(ctx, name, scheme, key.span, "JWT bearer");
                    }
                }
            }
            Some("apiKey") => {
                if let Some(location @ ("query" | "path")) = str_field(scheme, "in") {
                    ctx.report(
                        NO_API_KEYS_IN_URL,
                        at("in"),
                        format!(
                            "API key scheme `{name}` is sent in the {location}, where URLs leak it \
                             (and rampart's runtime refuses credentials in the URL)"
                        ),
                        "send the key in a header: `in: header`",
                    );
                }
            }
            Some("oauth2") => {
                check_rfc8725(ctx, name, scheme, key.span, "OAuth 2");
                let flows = scheme
                    .get("flows")
                    .and_then(Node::entries)
                    .unwrap_or_default();
                for (flow_key, flow) in flows {
                    if flow_key.text == "clientCredentials" {
                        continue; // RFC 6749 §4.4.3: no refresh token in this flow
                    }
                    let refresh =
                        str_field(flow, "refreshUrl").is_some_and(|u| !u.trim().is_empty());
                    if !refresh {
                        ctx.report(
                            SHORT_LIVED_ACCESS_TOKENS,
                            flow_key.span,
                            format!(
                                "OAuth 2 flow `{}` of security scheme `{name}` declares no `refreshUrl`, \
                                 so its access tokens are likely long-lived",
                                flow_key.text
                            ),
                            "issue short-lived access tokens with refresh tokens and add the flow's `refreshUrl`",
                        );
                    }
                }
            }
            Some("openIdConnect") => {
                check_rfc8725(ctx, name, scheme, key.span, "OpenID Connect");
            }
            _ => {}
        }
    }
}

/// The scheme's description must say the tokens follow RFC 8725.
fn check_rfc8725(ctx: &mut Ctx<'_>, name: &str, scheme: &Node, key_span: crate::Span, kind: &str) {
    let description = str_field(scheme, "description").unwrap_or("");
    if mentions_rfc8725(description) {
        return;
    }
    let (span, what) = match field_span(scheme, "description") {
        Some(span) => (span, "does not say its tokens follow RFC 8725"),
        None => (
            key_span,
            "has no description saying its tokens follow RFC 8725",
        ),
    };
    ctx.report(
        JWT_BEST_PRACTICES,
        span,
        format!("{kind} security scheme `{name}` {what}"),
        "validate JWTs as RFC 8725 describes (explicit algorithms, exp/iss/aud checked) and say so in \
         `description`, e.g. \"JWTs following RFC 8725\"",
    );
}

/// `RFC8725`, `RFC 8725`, `rfc-8725` ...
fn mentions_rfc8725(text: &str) -> bool {
    let compact: String = text
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-' && *c != '_')
        .flat_map(char::to_lowercase)
        .collect();
    compact.contains("rfc8725")
}

#[cfg(test)]
mod tests {
    use super::mentions_rfc8725;

    #[test]
    fn rfc8725_spellings() {
        assert!(mentions_rfc8725("JWTs following RFC 8725."));
        assert!(mentions_rfc8725("conforms to RFC8725"));
        assert!(mentions_rfc8725("see rfc-8725"));
        assert!(!mentions_rfc8725("JWTs following RFC 7519"));
    }
}
