//! `ApiModel`: the spec as rampart sees it — operations with their resolved
//! parameters, bodies, responses, security and `OperationPolicy`.

use std::collections::HashMap;

use openapiv3::{OpenAPI, Parameter, ParameterSchemaOrContent, ReferenceOr, Schema};

use crate::annotations::{self, ApiAnnotations, OperationAnnotations, SchemeAnnotations};
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::dialect::Dialect;
use crate::grammar::RoleHierarchy;
use crate::node::{Node, escape_pointer_token};
use crate::policy::{
    DEFAULT_BODY_LIMIT, Deprecation, OperationPolicy, SchemeRequirement, SecurityRequirement,
};
use crate::resolve::resolve;
use crate::source::Span;
use crate::suggest::did_you_mean;

pub use crate::dialect::METHODS;
pub use rampart_api::scheme::{ApiKeyLocation, SecuritySchemeKind};

/// A loaded, checked spec.
#[derive(Debug, Clone)]
pub struct ApiModel {
    /// The spec as `openapiv3` types (external refs bundled in).
    pub openapi: OpenAPI,
    /// The document tree, for positions. A 3.1/3.2 document is here in the
    /// 3.0 shape it is read as ([`crate::dialect`]), every value at the
    /// position it was written at.
    pub root: Node,
    /// The OpenAPI version family the document was written in.
    pub dialect: Dialect,
    /// A 3.1/3.2 document as it was written (external refs bundled), which
    /// is what `/openapi.json` serves; `None` for 3.0, served from
    /// [`ApiModel::openapi`].
    pub written: Option<serde_json::Value>,
    /// The top-level `x-rampart`.
    pub annotations: ApiAnnotations,
    /// Declared roles, strongest first.
    pub roles: RoleHierarchy,
    /// Security schemes by name, typed.
    pub schemes: Vec<(String, SecuritySchemeKind)>,
    /// The `x-rampart` of JWT security schemes that have one, by scheme name.
    pub scheme_annotations: Vec<(String, SchemeAnnotations)>,
    /// Every operation, in document order.
    pub operations: Vec<Operation>,
}

/// One operation.
#[derive(Debug, Clone)]
pub struct Operation {
    /// The operationId, or one made from method and path when the spec has none.
    pub id: String,
    /// Whether `id` was written in the spec.
    pub id_declared: bool,
    /// Lower-case method (`get`).
    pub method: String,
    /// Path template (`/pets/{petId}`).
    pub path: String,
    /// The `openapiv3` operation.
    pub operation: openapiv3::Operation,
    /// Path-level and operation-level parameters, resolved and merged.
    pub parameters: Vec<Parameter>,
    /// `x-rampart` of this operation.
    pub annotations: OperationAnnotations,
    /// The security policy the runtime enforces.
    pub policy: OperationPolicy,
    /// JSON pointer of the operation in the document.
    pub pointer: String,
    /// Where the operation is written.
    pub span: Span,
}

impl Operation {
    /// Summary or description, for docs.
    pub fn doc(&self) -> Option<&str> {
        self.operation
            .summary
            .as_deref()
            .or(self.operation.description.as_deref())
    }
}

impl ApiModel {
    /// The API's title.
    pub fn title(&self) -> &str {
        &self.openapi.info.title
    }

    /// `info.version`.
    pub fn version(&self) -> &str {
        &self.openapi.info.version
    }

    /// A scheme by name.
    pub fn scheme(&self, name: &str) -> Option<&SecuritySchemeKind> {
        self.schemes.iter().find(|(n, _)| n == name).map(|(_, s)| s)
    }

    /// A JWT scheme's `x-rampart` (audience, issuer, typ), if it has one.
    pub fn scheme_annotations(&self, name: &str) -> Option<&SchemeAnnotations> {
        self.scheme_annotations
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, a)| a)
    }

    /// An operation by id.
    pub fn operation(&self, id: &str) -> Option<&Operation> {
        self.operations.iter().find(|o| o.id == id)
    }

    /// The path prefix of the first server URL (`/v1` for `https://api.example.com/v1`), or empty.
    pub fn base_path(&self) -> String {
        let Some(server) = self.openapi.servers.first() else {
            return String::new();
        };
        let url = server.url.as_str();
        let path = match url.split_once("://") {
            Some((_, rest)) => rest.find('/').map_or("", |i| &rest[i..]),
            None => url,
        };
        path.trim_end_matches('/').to_owned()
    }

    /// The schema of a parameter, if it has one.
    pub fn parameter_schema<'a>(
        &'a self,
        parameter: &'a Parameter,
    ) -> Option<&'a ReferenceOr<Schema>> {
        match &parameter.parameter_data_ref().format {
            ParameterSchemaOrContent::Schema(s) => Some(s),
            ParameterSchemaOrContent::Content(c) => {
                c.values().next().and_then(|m| m.schema.as_ref())
            }
        }
    }
}

/// Build the model from the deserialized spec and its tree, collecting diagnostics.
pub(crate) fn build(
    openapi: OpenAPI,
    root: Node,
    dialect: Dialect,
    diags: &mut Diagnostics,
) -> ApiModel {
    let api = annotations::read_api(&root, diags);
    crate::schemas::check(&root, diags);
    let roles = RoleHierarchy::new(api.common.roles.iter().map(|r| r.value.clone()));
    check_duplicate_roles(&api, diags);
    if let Some(sunset) = &api.common.sunset
        && !api.deprecated.as_ref().is_some_and(|d| d.value)
    {
        diags.push(
            Diagnostic::error(
                "sunset-without-deprecated",
                "the API has a `sunset` but is not marked `deprecated: true`",
            )
            .at(sunset.span)
            .help("add `deprecated: true` to the top-level x-rampart, or remove `sunset`"),
        );
    }
    let schemes = read_schemes(&openapi, &root, diags);
    let scheme_annotations = read_scheme_annotations(&schemes, &root, diags);
    let mut model = ApiModel {
        openapi,
        root,
        dialect,
        written: None,
        annotations: api,
        roles,
        schemes,
        scheme_annotations,
        operations: Vec::new(),
    };
    model.operations = read_operations(&model, diags);
    model
}

fn check_duplicate_roles(api: &ApiAnnotations, diags: &mut Diagnostics) {
    for (i, role) in api.common.roles.iter().enumerate() {
        if api.common.roles[..i].iter().any(|r| r.value == role.value) {
            diags.push(
                Diagnostic::error(
                    "duplicate-role",
                    format!("role `{}` is declared twice", role.value),
                )
                .at(role.span),
            );
        }
    }
}

fn read_schemes(
    openapi: &OpenAPI,
    root: &Node,
    diags: &mut Diagnostics,
) -> Vec<(String, SecuritySchemeKind)> {
    let Some(components) = &openapi.components else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (name, scheme) in &components.security_schemes {
        let Some(scheme) = resolve(openapi, scheme) else {
            continue;
        };
        let kind = match scheme {
            openapiv3::SecurityScheme::HTTP {
                scheme,
                bearer_format,
                ..
            } => match scheme.to_ascii_lowercase().as_str() {
                "bearer" => SecuritySchemeKind::Bearer {
                    format: bearer_format.clone(),
                },
                "basic" => SecuritySchemeKind::Basic,
                "dpop" => SecuritySchemeKind::Dpop,
                "mutualtls" => SecuritySchemeKind::MutualTls,
                other => SecuritySchemeKind::OtherHttp {
                    scheme: other.to_owned(),
                },
            },
            openapiv3::SecurityScheme::APIKey { location, name, .. } => {
                SecuritySchemeKind::ApiKey {
                    name: name.clone(),
                    location: match location {
                        openapiv3::APIKeyLocation::Header => ApiKeyLocation::Header,
                        openapiv3::APIKeyLocation::Query => ApiKeyLocation::Query,
                        openapiv3::APIKeyLocation::Cookie => ApiKeyLocation::Cookie,
                    },
                }
            }
            openapiv3::SecurityScheme::OAuth2 { flows, .. } => {
                let mut scopes: Vec<String> = Vec::new();
                let all = [
                    flows.implicit.as_ref().map(|f| &f.scopes),
                    flows.password.as_ref().map(|f| &f.scopes),
                    flows.client_credentials.as_ref().map(|f| &f.scopes),
                    flows.authorization_code.as_ref().map(|f| &f.scopes),
                ];
                for s in all.into_iter().flatten().flat_map(|m| m.keys()) {
                    if !scopes.contains(s) {
                        scopes.push(s.clone());
                    }
                }
                SecuritySchemeKind::OAuth2 { scopes }
            }
            openapiv3::SecurityScheme::OpenIDConnect {
                open_id_connect_url,
                ..
            } => SecuritySchemeKind::OpenIdConnect {
                url: open_id_connect_url.clone(),
            },
        };
        out.push((name.clone(), kind));
    }
    let _ = (root, diags);
    out
}

fn read_scheme_annotations(
    schemes: &[(String, SecuritySchemeKind)],
    root: &Node,
    diags: &mut Diagnostics,
) -> Vec<(String, SchemeAnnotations)> {
    let Some(nodes) = root
        .get("components")
        .and_then(|c| c.get("securitySchemes"))
    else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (name, kind) in schemes {
        let Some(node) = nodes.get(name) else {
            continue;
        };
        let read = annotations::read_scheme(node, kind.is_jwt(), diags);
        if !read.is_empty() {
            out.push((name.clone(), read));
        }
    }
    out
}

fn read_operations(model: &ApiModel, diags: &mut Diagnostics) -> Vec<Operation> {
    let openapi = &model.openapi;
    let mut out: Vec<Operation> = Vec::new();
    let mut seen_ids: HashMap<String, Span> = HashMap::new();
    for (path, item) in &openapi.paths.paths {
        let mut path_pointer = format!("/paths/{}", escape_pointer_token(path));
        let resolved;
        let item = match item {
            ReferenceOr::Item(item) => item,
            // A path item written as a `$ref` (refs to other files were
            // inlined while bundling; this one is local): read its target.
            ReferenceOr::Reference { reference } => {
                match resolve_path_item(&model.root, reference) {
                    Some((target, item)) => {
                        path_pointer = target;
                        resolved = item;
                        &resolved
                    }
                    None => {
                        let at = model
                            .root
                            .pointer(&format!("{path_pointer}/$ref"))
                            .map_or_else(Span::default, |n| n.span);
                        diags.push(
                            Diagnostic::error(
                                "invalid-path-item",
                                format!("path `{path}` refers to `{reference}`, which is not a path item"),
                            )
                            .at(at)
                            .help("a path item's `$ref` must point at a mapping of operations, e.g. in another file"),
                        );
                        continue;
                    }
                }
            }
        };
        for &method in METHODS {
            let op = match method {
                "get" => &item.get,
                "put" => &item.put,
                "post" => &item.post,
                "delete" => &item.delete,
                "options" => &item.options,
                "head" => &item.head,
                "patch" => &item.patch,
                _ => &item.trace,
            };
            let Some(op) = op else { continue };
            let pointer = format!("{path_pointer}/{method}");
            let node = model.root.pointer(&pointer);
            let span = node.map_or_else(Span::default, |n| n.span);
            let (id, id_declared) = match &op.operation_id {
                Some(id) => (id.clone(), true),
                None => (synthesize_id(method, path), false),
            };
            if id_declared {
                let id_span = node
                    .and_then(|n| n.get("operationId"))
                    .map_or(span, |n| n.span);
                if let Some(first) = seen_ids.get(&id) {
                    let _ = first;
                    diags.push(
                        Diagnostic::error(
                            "duplicate-operation-id",
                            format!("operationId `{id}` is used by more than one operation"),
                        )
                        .at(id_span)
                        .label("used again here")
                        .help("operationIds must be unique; rename one of them"),
                    );
                } else {
                    seen_ids.insert(id.clone(), id_span);
                }
            }
            let annotations = node
                .map(|n| annotations::read_operation(n, diags))
                .unwrap_or_default();
            let parameters = merge_parameters(openapi, &item.parameters, &op.parameters);
            let policy = build_policy(model, &id, method, path, op, node, &annotations, diags);
            out.push(Operation {
                id,
                id_declared,
                method: method.to_owned(),
                path: path.clone(),
                operation: op.clone(),
                parameters,
                annotations,
                policy,
                pointer,
                span,
            });
        }
    }
    out
}

/// The pointer and value of the path item a local `$ref` leads to (through
/// further refs), if it is one.
fn resolve_path_item(root: &Node, reference: &str) -> Option<(String, openapiv3::PathItem)> {
    let mut pointer = reference.strip_prefix('#')?.to_owned();
    for _ in 0..32 {
        let node = root.pointer(&pointer)?;
        match crate::refs::ref_of(node) {
            Some((next, _)) => pointer = next.strip_prefix('#')?.to_owned(),
            None => {
                node.entries()?;
                let item = serde_json::from_value(node.to_json()).ok()?;
                return Some((pointer, item));
            }
        }
    }
    None
}

/// `get /pets/{petId}` → `get_pets_petId`.
fn synthesize_id(method: &str, path: &str) -> String {
    let mut id = method.to_owned();
    for segment in path.split('/').filter(|s| !s.is_empty()) {
        id.push('_');
        id.extend(
            segment
                .chars()
                .map(|c| if c.is_alphanumeric() { c } else { '_' }),
        );
    }
    id
}

fn merge_parameters(
    openapi: &OpenAPI,
    path_level: &[ReferenceOr<Parameter>],
    op_level: &[ReferenceOr<Parameter>],
) -> Vec<Parameter> {
    let mut out: Vec<Parameter> = Vec::new();
    for p in path_level.iter().chain(op_level) {
        let Some(p) = resolve(openapi, p) else {
            continue;
        };
        let key = (location(p), p.parameter_data_ref().name.clone());
        match out
            .iter()
            .position(|q| (location(q), q.parameter_data_ref().name.clone()) == key)
        {
            Some(i) => out[i] = p.clone(),
            None => out.push(p.clone()),
        }
    }
    out
}

/// `path`, `query`, `header` or `cookie`.
pub fn location(p: &Parameter) -> &'static str {
    match p {
        Parameter::Path { .. } => "path",
        Parameter::Query { .. } => "query",
        Parameter::Header { .. } => "header",
        Parameter::Cookie { .. } => "cookie",
    }
}

#[allow(clippy::too_many_arguments)]
fn build_policy(
    model: &ApiModel,
    id: &str,
    method: &str,
    path: &str,
    op: &openapiv3::Operation,
    node: Option<&Node>,
    ann: &OperationAnnotations,
    diags: &mut Diagnostics,
) -> OperationPolicy {
    let api = &model.annotations;
    let mut policy = OperationPolicy::new(id, method, path);

    // Security: the operation's own list, else the top level's; checked against declared schemes.
    let (requirements, req_node) = match &op.security {
        Some(reqs) => (reqs.as_slice(), node.and_then(|n| n.get("security"))),
        None => (
            model.openapi.security.as_deref().unwrap_or_default(),
            model.root.get("security"),
        ),
    };
    // Scopes an alternative asks for, where they are written: checked
    // against a `{}` alternative once every alternative has been read.
    let mut scoped: Vec<(Span, &str, &[String])> = Vec::new();
    for (i, req) in requirements.iter().enumerate() {
        let req_node = req_node
            .and_then(|n| n.items())
            .and_then(|items| items.get(i));
        let mut alternative = SecurityRequirement::default();
        for (scheme, scopes) in req {
            let key_span = req_node
                .and_then(|n| n.get_entry(scheme))
                .map(|(k, _)| k.span)
                .or(req_node.map(|n| n.span))
                .unwrap_or_default();
            match model.scheme(scheme) {
                None => diags.push(
                    Diagnostic::error(
                        "unknown-scheme",
                        format!(
                            "security requirement names scheme `{scheme}`, which is not in components.securitySchemes{}",
                            did_you_mean(scheme, model.schemes.iter().map(|(n, _)| n.as_str()))
                        ),
                    )
                    .at(key_span)
                    .label("unknown scheme"),
                ),
                Some(SecuritySchemeKind::OAuth2 { scopes: declared }) => {
                    let scope_nodes = req_node
                        .and_then(|n| n.get(scheme))
                        .and_then(Node::items)
                        .unwrap_or_default();
                    for (j, scope) in scopes.iter().enumerate() {
                        let scope_span = scope_nodes.get(j).map_or(key_span, |n| n.span);
                        if !declared.contains(scope) {
                            diags.push(
                                Diagnostic::warning(
                                    "unknown-scope",
                                    format!(
                                        "scope `{scope}` is not declared by any flow of `{scheme}`{}",
                                        did_you_mean(scope, declared.iter().map(String::as_str))
                                    ),
                                )
                                .at(scope_span),
                            );
                        }
                    }
                }
                Some(_) => {}
            }
            if !scopes.is_empty() {
                let first_scope = req_node
                    .and_then(|n| n.get(scheme))
                    .and_then(Node::items)
                    .and_then(<[Node]>::first)
                    .map_or(key_span, |n| n.span);
                scoped.push((first_scope, scheme, scopes));
            }
            alternative.schemes.push(SchemeRequirement {
                scheme: scheme.clone(),
                scopes: scopes.clone(),
            });
        }
        // `{}` inside `security` is OpenAPI's "anonymous is one of the alternatives".
        policy.security.push(alternative);
    }
    let empty_alternative = policy.security.iter().any(|r| r.schemes.is_empty());
    // Where the requirements come from, for messages.
    let list = if op.security.is_some() {
        "its `security`"
    } else {
        "the top-level `security`"
    };
    if empty_alternative {
        // An empty alternative admits anyone: the operation is effectively
        // anonymous, and the scopes of the other alternatives are never asked
        // for (a caller without them passes as anonymous).
        for (span, scheme, scopes) in scoped {
            scopes_without_authentication(id, list, span, scheme, scopes, diags);
        }
        policy.security.clear();
    }

    if let Some(replay) = &ann.replay {
        policy.replay = replay.value;
    }
    if let Some(public) = &ann.public {
        policy.public = public.value;
        if public.value
            && op
                .security
                .as_ref()
                .is_some_and(|s| !s.is_empty() && !policy.security.is_empty())
        {
            diags.push(
                Diagnostic::error("public-with-security", "operation is marked `public: true` but also lists security requirements")
                    .at(public.span)
                    .help("a public operation takes no credentials: write `security: []`, or drop `public`"),
            );
        }
        if public.value {
            policy.security.clear();
        }
    }

    // Roles must be declared at the top level.
    for role in &ann.common.roles {
        if !model.roles.contains(&role.value) {
            let suggestion =
                did_you_mean(&role.value, model.roles.roles().iter().map(String::as_str));
            diags.push(
                Diagnostic::error("undeclared-role", format!("role `{}` is not declared{suggestion}", role.value))
                    .at(role.span)
                    .label("undeclared role")
                    .help("declare every role, strongest first, in the top-level `x-rampart: { roles: [...] }`"),
            );
        }
        policy.roles.push(role.value.clone());
    }
    if !policy.roles.is_empty() && (policy.public || policy.security.is_empty()) {
        let why = if policy.public {
            "is marked `public: true`".to_owned()
        } else if empty_alternative {
            format!("admits anonymous callers through the empty `{{}}` alternative of {list}")
        } else if op.security.is_some() {
            "admits anonymous callers with `security: []`".to_owned()
        } else if model.openapi.security.is_some() {
            "admits anonymous callers with the top-level `security: []`".to_owned()
        } else {
            "admits anonymous callers: no `security` applies (neither the operation's nor a top-level one)".to_owned()
        };
        roles_without_authentication(id, &why, policy.public, node, ann, diags);
    }

    let common = &ann.common;
    let rate = common
        .rate
        .as_ref()
        .or(api.common.rate.as_ref())
        .map(|r| r.value);
    let burst = common.burst.as_ref().or(if common.rate.is_none() {
        api.common.burst.as_ref()
    } else {
        None
    });
    policy.rate = rate.map(|r| match burst {
        Some(b) => r.with_burst(b.value),
        None => r,
    });
    if let (Some(b), None) = (&common.burst, rate) {
        diags.push(
            Diagnostic::error(
                "burst-without-rate",
                "`burst` is set but no `rate` applies to this operation",
            )
            .at(b.span)
            .help("add a `rate` here or at the top level"),
        );
    }
    let exact = common
        .rate_exact
        .as_ref()
        .or(api.common.rate_exact.as_ref());
    policy.rate_exact = exact.is_some_and(|e| e.value);
    if let (Some(e), None) = (&common.rate_exact, rate) {
        diags.push(
            Diagnostic::error(
                "rate-exact-without-rate",
                "`rate-exact` is set but no `rate` applies to this operation",
            )
            .at(e.span)
            .help("add a `rate` here or at the top level, or remove `rate-exact`"),
        );
    }
    policy.rate_key = common
        .rate_key
        .as_ref()
        .or(api.common.rate_key.as_ref())
        .map(|k| k.value)
        .unwrap_or_default();
    policy.body_limit = Some(
        common
            .body_limit
            .as_ref()
            .or(api.common.body_limit.as_ref())
            .map_or(DEFAULT_BODY_LIMIT, |b| b.value),
    );

    let version_deprecated = api.deprecated.as_ref().is_some_and(|d| d.value);
    if op.deprecated || version_deprecated {
        let pick = |own: &Option<crate::annotations::Spanned<i64>>,
                    top: &Option<crate::annotations::Spanned<i64>>| {
            own.as_ref().map(|s| s.value).or(if version_deprecated {
                top.as_ref().map(|s| s.value)
            } else {
                None
            })
        };
        policy.deprecation = Some(Deprecation {
            since: pick(&common.deprecation, &api.common.deprecation),
            sunset: pick(&common.sunset, &api.common.sunset),
            successor: common
                .successor
                .as_ref()
                .or(if version_deprecated {
                    api.common.successor.as_ref()
                } else {
                    None
                })
                .map(|s| s.value.clone()),
        });
    } else {
        for (key, span) in [
            ("sunset", common.sunset.as_ref().map(|s| s.span)),
            ("deprecation", common.deprecation.as_ref().map(|s| s.span)),
            ("successor", common.successor.as_ref().map(|s| s.span)),
        ] {
            if let Some(span) = span {
                diags.push(
                    Diagnostic::error(
                        "sunset-without-deprecated",
                        format!(
                            "operation `{id}` has a `{key}` but is not marked `deprecated: true`"
                        ),
                    )
                    .at(span)
                    .help("add `deprecated: true` to the operation, or remove the key"),
                );
            }
        }
    }
    policy
}

/// `x-rampart.roles` on an operation that admits anonymous callers: the
/// guard checks roles only on an authenticated principal, so the roles
/// would never be checked and anyone could call the operation. An error at
/// the `roles` key (where the lint rule `rampart-roles-without-security`
/// reports the same, for documents that reach the lint).
fn roles_without_authentication(
    id: &str,
    why: &str,
    public: bool,
    node: Option<&Node>,
    ann: &OperationAnnotations,
    diags: &mut Diagnostics,
) {
    let Some(first) = ann.common.roles.first() else {
        return;
    };
    let span = node
        .and_then(|n| n.get("x-rampart"))
        .and_then(|x| x.get_entry("roles"))
        .map_or(first.span, |(key, _)| key.span);
    let names: Vec<&str> = ann.common.roles.iter().map(|r| r.value.as_str()).collect();
    let help = if public {
        "a public operation takes no credentials, so no caller has a role: drop `public: true` and list a \
         security requirement (e.g. `security: [{bearerAuth: []}]`) so callers authenticate, or drop `roles` \
         if the operation is meant to be open to anyone"
    } else {
        "require authentication: list a security requirement without the `{}` alternative (e.g. \
         `security: [{bearerAuth: []}]`, here or at the top level); or, if the operation is meant to be open \
         to anyone, drop `roles` and mark it `x-rampart: { public: true }`"
    };
    diags.push(
        Diagnostic::error(
            "roles-without-authentication",
            format!(
                "operation `{id}` requires roles [{}] but {why}; anonymous callers carry no roles, so the role \
                 check would never run and anyone could call it",
                names.join(", ")
            ),
        )
        .at(span)
        .label("never checked")
        .help(help),
    );
}

/// Scopes on an alternative beside a `{}` one: a caller without them passes
/// as anonymous, so they are never asked for. Reported once per place (an
/// inherited top-level `security` is shared by many operations).
fn scopes_without_authentication(
    id: &str,
    list: &str,
    span: Span,
    scheme: &str,
    scopes: &[String],
    diags: &mut Diagnostics,
) {
    const CODE: &str = "scopes-without-authentication";
    if diags.iter().any(|d| d.code == CODE && d.span == Some(span)) {
        return;
    }
    diags.push(
        Diagnostic::error(
            CODE,
            format!(
                "operation `{id}` requires scopes [{}] of `{scheme}`, but the empty `{{}}` alternative of {list} \
                 admits anonymous callers, so the scopes would never be checked and a token without them gets in",
                scopes.join(", ")
            ),
        )
        .at(span)
        .label("never checked")
        .help(
            "remove the `{}` alternative so callers must present these scopes, or drop the scopes (and mark the \
             operation `x-rampart: { public: true }`) if it is meant to be open to anyone",
        ),
    );
}
