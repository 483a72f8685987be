//! Who may call what: unsecured writes and reads (API2:2023), admin
//! operations sharing credentials with ordinary ones (API5:2023), and the
//! rampart-aware checks on roles, `public` and anonymous `security`.

use super::ctx::Ctx;
use super::{
    ADMIN_SECURITY_UNIQUE, ANONYMOUS_WITHOUT_PUBLIC, READ_RESTRICTED, ROLES_WITHOUT_SECURITY,
    SHARED_VERIFIER_SCOPES, UNDECLARED_ROLE, WRITE_RESTRICTED,
};
use crate::model::Operation;
use crate::node::Node;
use crate::policy::SecurityRequirement;
use crate::suggest::did_you_mean;

pub(crate) fn check(ctx: &mut Ctx<'_>) {
    let model = ctx.model;
    for op in &model.operations {
        restricted(ctx, op);
        roles(ctx, op);
        anonymous(ctx, op);
        shared_verifier(ctx, op);
    }
    admin_unique(ctx);
}

fn describe(op: &Operation) -> String {
    format!(
        "`{}` ({} {})",
        op.id,
        op.method.to_ascii_uppercase(),
        op.path
    )
}

/// API2:2023 write-restricted / read-restricted on the effective security.
fn restricted(ctx: &mut Ctx<'_>, op: &Operation) {
    let (id, kind) = match op.method.as_str() {
        "post" | "put" | "patch" | "delete" => (WRITE_RESTRICTED, "write"),
        "get" | "head" => (READ_RESTRICTED, "read"),
        _ => return,
    };
    if op.policy.requires_auth() {
        return;
    }
    let public = op.policy.public;
    let span = if public {
        ctx.op_node(op)
            .and_then(|n| n.get("x-rampart"))
            .and_then(|x| super::ctx::field_span(x, "public"))
            .unwrap_or_else(|| ctx.op_field_span(op, "security"))
    } else {
        ctx.op_field_span(op, "security")
    };
    ctx.report_if_lowered(
        public,
        id,
        span,
        format!(
            "{kind} operation {} is not protected by any security scheme",
            describe(op)
        ),
        if public {
            "if anonymous access is intended, turn the rule off for this spec in `x-rampart-lint`; \
             otherwise add a `security` requirement and drop `public: true`"
        } else {
            "add a `security` requirement (here or at the top level), or mark the operation \
             `x-rampart: { public: true }` if it is meant to be public"
        },
    );
}

/// Roles that cannot be checked, and roles that are not declared.
fn roles(ctx: &mut Ctx<'_>, op: &Operation) {
    let declared = &ctx.model.roles;
    let roles = &op.annotations.common.roles;
    for role in roles {
        if !declared.contains(&role.value) {
            let suggestion = did_you_mean(&role.value, declared.roles().iter().map(String::as_str));
            ctx.report(
                UNDECLARED_ROLE,
                role.span,
                format!(
                    "operation {} requires role `{}`, which is not declared{suggestion}",
                    describe(op),
                    role.value
                ),
                "declare every role, strongest first, in the top-level `x-rampart: { roles: [...] }`",
            );
        }
    }
    if !roles.is_empty() && !op.policy.requires_auth() {
        let span = ctx
            .op_node(op)
            .and_then(|n| n.get("x-rampart"))
            .and_then(|x| x.get_entry("roles"))
            .map_or_else(|| ctx.method_span(op), |(k, _)| k.span);
        let names: Vec<&str> = roles.iter().map(|r| r.value.as_str()).collect();
        // The loader reports the same at the same place
        // (`roles-without-authentication`); `lint_loaded` keeps one.
        let fix = if op.policy.public {
            "a public operation takes no credentials: drop `public: true` and list a security requirement \
             so callers authenticate, or drop `roles` if the operation is meant to be open to anyone"
        } else {
            "add a security requirement without the `{}` alternative (here or at the top level) so callers \
             authenticate, or drop `roles` and mark the operation `x-rampart: { public: true }` if it is \
             meant to be open to anyone"
        };
        ctx.report(
            ROLES_WITHOUT_SECURITY,
            span,
            format!(
                "operation {} requires roles [{}] but admits anonymous callers, who carry no roles: \
                 the role check would never run",
                describe(op),
                names.join(", ")
            ),
            fix,
        );
    }
}

/// `security: []` or a `{}` alternative on an operation that is not `public: true`.
fn anonymous(ctx: &mut Ctx<'_>, op: &Operation) {
    if op.policy.public {
        return;
    }
    let Some((key, security)) = ctx.op_node(op).and_then(|n| n.get_entry("security")) else {
        return;
    };
    let Some(items) = security.items() else {
        return;
    };
    let empty_alternative = items
        .iter()
        .find(|item| item.entries().is_some_and(<[_]>::is_empty));
    let (span, what) = match (items.is_empty(), empty_alternative) {
        (true, _) => (key.span, "`security: []`"),
        (false, Some(item)) => (item.span, "an empty `{}` security alternative"),
        (false, None) => return,
    };
    ctx.report(
        ANONYMOUS_WITHOUT_PUBLIC,
        span,
        format!(
            "operation {} admits anonymous callers with {what} but is not marked `public: true`",
            describe(op)
        ),
        "add `x-rampart: { public: true }` if the operation is meant to be public, or list a security requirement",
    );
}

/// OR-alternatives whose JWT schemes differ in scopes: `{ bearerAuth: [] }`
/// or `{ oauth2: [pets:write] }` lets a token without `pets:write` in
/// through `bearerAuth` whenever both schemes accept the same tokens.
fn shared_verifier(ctx: &mut Ctx<'_>, op: &Operation) {
    let model = ctx.model;
    let jwt = |name: &str| model.scheme(name).is_some_and(|k| k.is_jwt());
    // Schemes that declare their own audience, issuer or `typ` in their
    // `x-rampart` get verifiers of their own: the same settings, or none on
    // either side, mean one verifier.
    let settings = |name: &str| {
        model.scheme_annotations(name).map(|a| {
            fn values(v: &[crate::annotations::Spanned<String>]) -> Vec<&str> {
                let mut v: Vec<&str> = v.iter().map(|s| s.value.as_str()).collect();
                v.sort_unstable();
                v
            }
            (
                values(&a.audience),
                values(&a.issuer),
                a.typ.as_ref().map(|t| t.value.to_ascii_lowercase()),
            )
        })
    };
    for gap in op.policy.scope_gaps() {
        if !jwt(gap.weak) || !jwt(gap.strong) || settings(gap.weak) != settings(gap.strong) {
            continue;
        }
        let span = ctx.op_field_span(op, "security");
        ctx.report(
            SHARED_VERIFIER_SCOPES,
            span,
            format!(
                "operation {} accepts `{}` without the scopes [{}] its `{}` alternative requires; \
                 unless the two schemes are configured with distinct audiences, issuers or `typ`, \
                 they accept the same tokens and a token lacking those scopes passes through `{}`",
                describe(op),
                gap.weak,
                gap.missing.join(", "),
                gap.strong,
                gap.weak
            ),
            format!(
                "give `{}` its own audience: `x-rampart: {{ audience: ... }}` on the scheme \
                 (or `[schemes.{}]` in rampart.toml), or require the same scopes in every alternative",
                gap.strong, gap.strong
            ),
        );
    }
}

/// A requirement in a canonical form (schemes and scopes sorted) for comparison.
type Canonical = Vec<(String, Vec<String>)>;

fn canonical(req: &SecurityRequirement) -> Canonical {
    let mut schemes: Canonical = req
        .schemes
        .iter()
        .map(|s| {
            let mut scopes = s.scopes.clone();
            scopes.sort();
            (s.scheme.clone(), scopes)
        })
        .collect();
    schemes.sort();
    schemes
}

/// A path segment starting with `admin` (`/admin`, `/admins`,
/// `/admin-notifications`): Spectral's `path.includes("/admin")`, ignoring case.
fn is_admin(path: &str) -> bool {
    path.split('/').any(|segment| {
        segment
            .get(..5)
            .is_some_and(|head| head.eq_ignore_ascii_case("admin"))
    })
}

/// API5:2023: admin operations must not accept a requirement a non-admin one accepts.
fn admin_unique(ctx: &mut Ctx<'_>) {
    let model = ctx.model;
    if !model.operations.iter().any(|op| is_admin(&op.path)) {
        return;
    }
    let mut shared: Vec<(Canonical, &Operation)> = Vec::new();
    for op in model.operations.iter().filter(|op| !is_admin(&op.path)) {
        for req in &op.policy.security {
            let c = canonical(req);
            if !shared.iter().any(|(s, _)| *s == c) {
                shared.push((c, op));
            }
        }
    }
    for op in model.operations.iter().filter(|op| is_admin(&op.path)) {
        // Point at the operation's own requirement when it writes one, else at the top-level one.
        let own = ctx.op_node(op).and_then(|n| n.get("security"));
        let list = own
            .or_else(|| ctx.root.get("security"))
            .and_then(Node::items);
        for (i, req) in op.policy.security.iter().enumerate() {
            let c = canonical(req);
            let Some((_, other)) = shared.iter().find(|(s, _)| *s == c) else {
                continue;
            };
            let span = list
                .and_then(|items| items.get(i))
                .map_or_else(|| ctx.method_span(op), |n| n.span);
            let schemes: Vec<&str> = req.schemes.iter().map(|s| s.scheme.as_str()).collect();
            ctx.report_if_lowered(
                !op.policy.roles.is_empty(),
                ADMIN_SECURITY_UNIQUE,
                span,
                format!(
                    "admin operation {} accepts the same security requirement [{}] as non-admin operation {}",
                    describe(op),
                    schemes.join(" + "),
                    describe(other)
                ),
                "give admin operations their own scheme or scopes, or require an admin role with \
                 `x-rampart: { roles: [admin] }`",
            );
        }
        // Spectral compares `{}` alternatives too: an anonymous admin
        // operation shares "no requirement" with an anonymous ordinary one.
        if op.policy.requires_auth() {
            continue;
        }
        let anonymous = model
            .operations
            .iter()
            .find(|o| !is_admin(&o.path) && !o.policy.requires_auth());
        if let Some(other) = anonymous {
            let empty = own.and_then(Node::items).and_then(|items| {
                items
                    .iter()
                    .find(|i| i.entries().is_some_and(<[_]>::is_empty))
            });
            let span = empty.map_or_else(|| ctx.op_field_span(op, "security"), |n| n.span);
            ctx.report(
                ADMIN_SECURITY_UNIQUE,
                span,
                format!(
                    "admin operation {} admits anonymous callers, as non-admin operation {} does",
                    describe(op),
                    describe(other)
                ),
                "require authentication on admin operations (a `security` requirement of their own) and an \
                 admin role with `x-rampart: { roles: [admin] }`",
            );
        }
    }
}
