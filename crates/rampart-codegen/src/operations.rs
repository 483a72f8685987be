//! Operations: parameter structs, response enums, the API trait, handlers,
//! policies and the router.

use openapiv3::{Parameter, ReferenceOr, RequestBody, Response, StatusCode};
use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote};
use rampart_spec::model::{ApiModel, Operation};
use rampart_spec::resolve::resolve;

use serde_json::Value;

use crate::mock::{MockResponse, MockStatus};
use crate::names::{Namer, camel, doc, snake};
use crate::routes::RouteTable;
use crate::types::{SRef, TypeSpace};
use rampart_api::tokens::policy_tokens;

/// What one operation's generated pieces are called and take.
pub(crate) struct OpPlan {
    method_ident: proc_macro2::Ident,
    handler_ident: proc_macro2::Ident,
    response_ident: proc_macro2::Ident,
    args: Vec<Arg>,
    op_index: usize,
    /// The mock's answer (with `Generator::mock`).
    mock: Option<TokenStream>,
}

struct Arg {
    name: proc_macro2::Ident,
    /// The type the trait method receives.
    ty: TokenStream,
    /// The handler's extractor pattern and type.
    extractor: TokenStream,
    /// The expression passing it on to the trait method.
    call: TokenStream,
}

/// Everything operation-shaped, in the parts the file lays out apart.
pub(crate) struct OperationTokens {
    /// The API trait users implement.
    pub(crate) api_trait: TokenStream,
    /// Response enums and parameter structs (they join the models in `types`).
    pub(crate) items: Vec<TokenStream>,
    /// Handlers, policies, the router and (with `mock`) the mock.
    pub(crate) wiring: TokenStream,
}

/// Generate everything operation-shaped.
pub(crate) fn generate<'a>(
    model: &'a ApiModel,
    types: &mut TypeSpace<'a>,
    trait_name: &str,
    mock: bool,
) -> OperationTokens {
    let mut method_namer = Namer::default();
    let mut plans = Vec::new();
    let mut items = Vec::new();
    for (index, op) in model.operations.iter().enumerate() {
        let base = camel(&op.id);
        let method_ident = crate::names::ident(&method_namer.unique(&snake(&op.id)));
        let response_name = types.fresh_name(&format!("{base}Response"));
        let response_ident = format_ident!("{}", response_name);
        let (response, mock_answer) = response_enum(model, types, op, &response_name, &base, mock);
        items.push(response);
        let args = arguments(model, types, op, &base, &mut items);
        plans.push(OpPlan {
            mock: mock_answer,
            handler_ident: format_ident!("{}", method_ident.to_string().trim_start_matches("r#")),
            method_ident,
            response_ident,
            args,
            op_index: index,
        });
    }
    let trait_ident = format_ident!("{}", trait_name);
    let trait_methods = plans.iter().map(|plan| {
        let op = &model.operations[plan.op_index];
        let docs = doc(op.doc());
        let more_docs = policy_doc(op);
        let name = &plan.method_ident;
        let response = &plan.response_ident;
        let params = plan.args.iter().map(|a| {
            let (n, t) = (&a.name, &a.ty);
            quote!(#n: #t)
        });
        quote! {
            #docs
            #more_docs
            fn #name(&self, #(#params),*) -> impl ::std::future::Future<Output = #response> + Send;
        }
    });
    let handlers = plans.iter().map(|plan| {
        let name = &plan.handler_ident;
        let method = &plan.method_ident;
        let extractors = plan.args.iter().map(|a| &a.extractor);
        let calls = plan.args.iter().map(|a| &a.call);
        quote! {
            pub(super) async fn #name<A: super::#trait_ident>(
                State(api): State<Arc<A>>,
                #(#extractors),*
            ) -> Response {
                api.#method(#(#calls),*).await.into_response()
            }
        }
    });
    let policy_fns = plans.iter().map(|plan| {
        let op = &model.operations[plan.op_index];
        let name = &plan.handler_ident;
        let docs = format!(
            " The policy of `{} {}` (`{}`).",
            op.method.to_ascii_uppercase(),
            op.path,
            op.id
        );
        let body = policy_tokens(&op.policy);
        quote! {
            #[doc = #docs]
            pub fn #name() -> ::rampart::OperationPolicy { #body }
        }
    });
    let all_policies = plans.iter().map(|p| &p.handler_ident);
    let table = RouteTable::build(model);
    for w in &table.warnings {
        types.warnings.push(w.clone());
    }
    let router = router_tokens(model, &plans, &trait_ident, &table);
    let mock_items = mock.then(|| mock_tokens(model, &plans, &trait_ident, &table));
    let api_trait = quote! {
        /// The API: one method per operation. Implement it and pass it to [`router`].
        pub trait #trait_ident: Send + Sync + 'static {
            #(#trait_methods)*
        }
    };
    let wiring = quote! {
        mod handlers {
            #![allow(clippy::too_many_arguments)]
            use super::*;
            use ::std::sync::Arc;
            use ::rampart::__private::axum::extract::State;
            use ::rampart::__private::axum::response::{IntoResponse, Response};

            #(#handlers)*
        }

        /// The security policy of every operation, as data the runtime enforces.
        pub mod policies {
            #(#policy_fns)*

            /// Every operation's policy, in spec order.
            pub fn all() -> Vec<::rampart::OperationPolicy> {
                ::std::vec::Vec::from([#(#all_policies()),*])
            }
        }

        #router

        #mock_items
    };
    OperationTokens {
        api_trait,
        items,
        wiring,
    }
}

/// The `Mock` implementation of the API trait, and `not_implemented_router`.
fn mock_tokens(
    model: &ApiModel,
    plans: &[OpPlan],
    trait_ident: &proc_macro2::Ident,
    table: &RouteTable,
) -> TokenStream {
    let methods = plans.iter().map(|plan| {
        let op = &model.operations[plan.op_index];
        let name = &plan.method_ident;
        let response = &plan.response_ident;
        let params = plan.args.iter().map(|a| {
            let t = &a.ty;
            quote!(_: #t)
        });
        let answer = match &plan.mock {
            Some(answer) => answer.clone(),
            None => {
                let message = format!("`{}` documents no response to mock", op.id);
                quote!(panic!(#message))
            }
        };
        quote! {
            async fn #name(&self, #(#params),*) -> #response {
                #answer
            }
        }
    });
    let handlers = plans.iter().map(|plan| {
        let op = &model.operations[plan.op_index];
        let name = &plan.handler_ident;
        let extractors = plan.args.iter().map(|a| &a.extractor);
        let id = &op.id;
        quote! {
            pub(super) async fn #name(#(#extractors),*) -> Response {
                super::mock_support::not_implemented(#id)
            }
        }
    });
    let routes = route_calls(
        model,
        plans,
        table,
        |handler| quote!(not_implemented_handlers::#handler.layer(security.guard(policies::#handler()))),
    );
    let docs = format!(
        " An implementation of [`{trait_ident}`] for trying the API (`cargo xtask serve --mock`): every"
    );
    quote! {
        #[doc = #docs]
        /// operation answers its lowest documented 2xx response, with the spec's example or
        /// a value synthesized from the response schema.
        #[derive(Debug, Clone, Copy, Default)]
        pub struct Mock;

        impl #trait_ident for Mock {
            #(#methods)*
        }

        /// Helpers of [`Mock`] and [`not_implemented_router`].
        #[doc(hidden)]
        pub mod mock_support {
            use ::rampart::__private::axum::response::{IntoResponse as _, Response};

            /// The first candidate (JSON text) that deserializes into `T`.
            pub fn body<T: ::rampart::__private::serde::de::DeserializeOwned>(operation: &str, candidates: &[&str]) -> T {
                for candidate in candidates {
                    if let Ok(value) = ::rampart::__private::serde_json::from_str(candidate) {
                        return value;
                    }
                }
                panic!("mock of `{operation}`: no example or synthesized value fits the response type")
            }

            /// 501 Not Implemented, as problem+json.
            pub fn not_implemented(operation: &str) -> Response {
                ::rampart::Problem::new(
                    ::rampart::__private::http::StatusCode::NOT_IMPLEMENTED,
                    "not-implemented",
                    "Not Implemented",
                )
                .detail(format!("`{operation}` is routed and secured, but has no implementation"))
                .into_response()
            }
        }

        mod not_implemented_handlers {
            #![allow(unused_variables, clippy::too_many_arguments)]
            use super::*;
            use ::rampart::__private::axum::response::Response;

            #(#handlers)*
        }

        /// Route every operation behind its policy and input validation, each answering
        /// `501 Not Implemented` problem+json (`cargo xtask serve` without `--mock`).
        pub fn not_implemented_router(security: ::rampart::Security) -> ::rampart::Routes {
            use ::rampart::__private::axum::handler::Handler as _;
            let router = ::rampart::__private::axum::Router::new()
                #(#routes)*;
            ::rampart::Routes::mounted(&security, router)
        }
    }
}

fn policy_doc(op: &Operation) -> TokenStream {
    let p = &op.policy;
    let mut lines = vec![
        String::new(),
        format!("`{} {}`", op.method.to_ascii_uppercase(), op.path),
    ];
    if p.security.is_empty() {
        lines.push(if p.public {
            "Public: no credentials.".into()
        } else {
            "Anonymous.".into()
        });
    } else {
        let alts: Vec<String> = p
            .security
            .iter()
            .map(|r| {
                r.schemes
                    .iter()
                    .map(|s| {
                        if s.scopes.is_empty() {
                            s.scheme.clone()
                        } else {
                            format!("{} ({})", s.scheme, s.scopes.join(", "))
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(" + ")
            })
            .collect();
        lines.push(format!("Security: {}.", alts.join(" or ")));
    }
    if !p.roles.is_empty() {
        lines.push(format!("Roles: {}.", p.roles.join(", ")));
    }
    if let Some(rate) = &p.rate {
        lines.push(format!("Rate: {rate}."));
    }
    if p.deprecation.is_some() {
        lines.push("Deprecated.".into());
    }
    let lines = lines.into_iter().map(|l| format!(" {l}"));
    quote!(#(#[doc = #lines])*)
}

fn arguments<'a>(
    model: &'a ApiModel,
    types: &mut TypeSpace<'a>,
    op: &'a Operation,
    base: &str,
    items: &mut Vec<TokenStream>,
) -> Vec<Arg> {
    let mut args = Vec::new();
    if op.policy.requires_auth() {
        args.push(Arg {
            name: format_ident!("principal"),
            ty: quote!(::rampart::Principal),
            extractor: quote!(principal: ::rampart::Principal),
            call: quote!(principal),
        });
    }
    for (location, suffix, wrapper) in [
        ("path", "Path", quote!(::rampart::validate::ValidPath)),
        ("query", "Query", quote!(::rampart::validate::ValidQuery)),
        (
            "header",
            "Headers",
            quote!(::rampart::validate::ValidHeaders),
        ),
    ] {
        let params: Vec<&Parameter> = op
            .parameters
            .iter()
            .filter(|p| rampart_spec::model::location(p) == location)
            .collect();
        if params.is_empty() {
            continue;
        }
        let name = types.fresh_name(&format!("{base}{suffix}"));
        let ident = format_ident!("{}", name);
        let mut namer = Namer::default();
        let fields: Vec<TokenStream> = params
            .iter()
            .map(|p| {
                let data = p.parameter_data_ref();
                let wire = if location == "header" {
                    data.name.to_ascii_lowercase()
                } else {
                    data.name.clone()
                };
                let schema = model.parameter_schema(p);
                let required = data.required || location == "path";
                let field = match schema {
                    Some(s) => types.field(&name, &wire, SRef::from(s), required, &mut namer),
                    None => types.field(&name, &wire, SRef::Item(&EMPTY), required, &mut namer),
                };
                let docs = doc(data.description.as_deref());
                quote!(#docs #field)
            })
            .collect();
        let template = (location == "path").then(|| {
            let path = Literal::string(&op.path);
            quote! {
                impl ::rampart::validate::PathTemplate for #ident {
                    const TEMPLATE: &'static str = #path;
                }
            }
        });
        let what = format!(" The {location} parameters of `{}`.", op.id);
        items.push(quote! {
            #[doc = #what]
            #[derive(Debug, Clone, PartialEq, ::rampart::__private::serde::Serialize, ::rampart::__private::serde::Deserialize, ::validator::Validate)]
            #[serde(crate = "::rampart::__private::serde")]
            pub struct #ident {
                #(#fields)*
            }
            #template
        });
        let arg = format_ident!("{}", location_arg(location));
        args.push(Arg {
            ty: quote!(#ident),
            extractor: quote!(#wrapper(#arg): #wrapper<#ident>),
            call: quote!(#arg),
            name: arg,
        });
    }
    if let Some(body) = op
        .operation
        .request_body
        .as_ref()
        .and_then(|b| resolve(&model.openapi, b))
        && let Some(arg) = body_arg(types, body, base)
    {
        args.push(arg);
    }
    args
}

static EMPTY: std::sync::LazyLock<openapiv3::Schema> =
    std::sync::LazyLock::new(|| openapiv3::Schema {
        schema_data: Default::default(),
        schema_kind: openapiv3::SchemaKind::Type(openapiv3::Type::String(Default::default())),
    });

fn location_arg(location: &str) -> &'static str {
    match location {
        "path" => "path",
        "query" => "query",
        _ => "headers",
    }
}

fn is_json(media: &str) -> bool {
    let m = media
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    m == "application/json" || (m.starts_with("application/") && m.ends_with("+json")) || m == "*/*"
}

fn body_arg<'a>(types: &mut TypeSpace<'a>, body: &'a RequestBody, base: &str) -> Option<Arg> {
    let hint = format!("{base}Body");
    let (wrapper, ty) = if let Some((_, media)) = body.content.iter().find(|(m, _)| is_json(m)) {
        (
            quote!(::rampart::validate::ValidJson),
            media
                .schema
                .as_ref()
                .map(|s| types.type_of(SRef::from(s), &hint)),
        )
    } else if let Some((_, media)) = body
        .content
        .iter()
        .find(|(m, _)| m.starts_with("application/x-www-form-urlencoded"))
    {
        (
            quote!(::rampart::validate::ValidForm),
            media
                .schema
                .as_ref()
                .map(|s| types.type_of(SRef::from(s), &hint)),
        )
    } else if body.content.is_empty() {
        return None;
    } else {
        let ty = quote!(::rampart::__private::bytes::Bytes);
        return Some(Arg {
            name: format_ident!("body"),
            extractor: quote!(body: #ty),
            call: quote!(body),
            ty,
        });
    };
    let (ty, nested) = match ty {
        Some(t) => (t.tokens, t.nested),
        None => (quote!(::rampart::__private::serde_json::Value), false),
    };
    // Values without a `Validate` impl of their own (maps, scalars, Value) go through `Unchecked`.
    let (ext_ty, unwrap) = if nested {
        (ty.clone(), quote!(|#wrapper(body)| body))
    } else {
        (
            quote!(::rampart::validate::Unchecked<#ty>),
            quote!(|#wrapper(::rampart::validate::Unchecked(body))| body),
        )
    };
    Some(if body.required {
        Arg {
            name: format_ident!("body"),
            extractor: quote!(body: #wrapper<#ext_ty>),
            call: quote!((#unwrap)(body)),
            ty,
        }
    } else {
        Arg {
            name: format_ident!("body"),
            extractor: quote!(body: Option<#wrapper<#ext_ty>>),
            call: quote!(body.map(#unwrap)),
            ty: quote!(Option<#ty>),
        }
    })
}

fn response_enum<'a>(
    model: &'a ApiModel,
    types: &mut TypeSpace<'a>,
    op: &'a Operation,
    name: &str,
    base: &str,
    mock: bool,
) -> (TokenStream, Option<TokenStream>) {
    let mut namer = Namer::default();
    let mut variants = Vec::new();
    let chosen = if mock {
        crate::mock::mock_response(&model.openapi, op)
    } else {
        None
    };
    let mut mock_answer = None;
    let mut arms = Vec::new();
    let ident = format_ident!("{}", name);
    let responses = &op.operation.responses;
    let entries: Vec<(Option<&StatusCode>, &ReferenceOr<Response>)> = responses
        .responses
        .iter()
        .map(|(k, v)| (Some(k), v))
        .chain(responses.default.iter().map(|d| (None, d)))
        .collect();
    for (status, response) in entries {
        let Some(response) = resolve(&model.openapi, response) else {
            continue;
        };
        let (variant_base, fixed) = match status {
            Some(StatusCode::Code(code)) => (
                http_reason(*code).map_or_else(|| format!("Status{code}"), camel),
                Some(*code),
            ),
            Some(StatusCode::Range(r)) => (format!("Status{r}xx"), None),
            None => ("Default".to_owned(), None),
        };
        let variant = format_ident!("{}", namer.unique(&variant_base));
        let is_mocked = chosen.as_ref().is_some_and(|c| {
            matches!(
                (c.status, status),
                (MockStatus::Code(a), Some(StatusCode::Code(b))) if a == *b
            ) || matches!(
                (c.status, status),
                (MockStatus::Range(a), Some(StatusCode::Range(b))) if a == *b
            ) || matches!((c.status, status), (MockStatus::Default, None))
        });
        let docs = doc(Some(&response.description));
        let body = response.content.iter().next().map(|(media, m)| {
            let ty = if is_json(media) {
                match &m.schema {
                    Some(s) => {
                        types
                            .type_of(SRef::from(s), &format!("{base}{variant}Body"))
                            .tokens
                    }
                    None => quote!(::rampart::__private::serde_json::Value),
                }
            } else {
                quote!(String)
            };
            (media.clone(), is_json(media), ty)
        });
        let status_expr = status_tokens;
        if let (true, Some(c)) = (is_mocked, &chosen) {
            let status = status_tokens(c.status.code());
            let body = body
                .as_ref()
                .map(|(_, json, _)| mock_body(c, *json, &op.id));
            mock_answer = Some(match (fixed, body) {
                (Some(_), None) => quote!(#ident::#variant),
                (Some(_), Some(body)) => quote!(#ident::#variant(#body)),
                (None, None) => quote!(#ident::#variant(#status)),
                (None, Some(body)) => quote!(#ident::#variant(#status, #body)),
            });
        }
        match (fixed, body) {
            (Some(code), None) => {
                variants.push(quote!(#docs #variant,));
                let s = status_expr(code);
                arms.push(quote!(#ident::#variant => #s.into_response(),));
            }
            (Some(code), Some((media, json, ty))) => {
                variants.push(quote!(#docs #variant(#ty),));
                let s = status_expr(code);
                let render = render_body(json, &media, &s);
                arms.push(quote!(#ident::#variant(body) => #render,));
            }
            (None, None) => {
                variants.push(quote!(#docs #variant(::rampart::__private::http::StatusCode),));
                arms.push(quote!(#ident::#variant(status) => status.into_response(),));
            }
            (None, Some((media, json, ty))) => {
                variants.push(quote!(#docs #variant(::rampart::__private::http::StatusCode, #ty),));
                let render = render_body(json, &media, &quote!(status));
                arms.push(quote!(#ident::#variant(status, body) => #render,));
            }
        }
    }
    let what = format!(
        " Every response `{}` documents; a handler cannot send anything else.",
        op.id
    );
    let tokens = quote! {
        #[doc = #what]
        #[derive(Debug, Clone, PartialEq)]
        pub enum #ident {
            #(#variants)*
        }

        impl ::rampart::__private::axum::response::IntoResponse for #ident {
            fn into_response(self) -> ::rampart::__private::axum::response::Response {
                use ::rampart::__private::axum::response::IntoResponse as _;
                match self {
                    #(#arms)*
                }
            }
        }
    };
    (tokens, mock_answer)
}

/// The mock's body expression: JSON candidates tried in order at runtime
/// (the spec's example, then the synthesized value), or a text body.
fn mock_body(mock: &MockResponse<'_>, json: bool, op_id: &str) -> TokenStream {
    if json {
        let candidates = mock
            .example
            .iter()
            .chain(mock.synthesized.iter())
            .map(|v| Literal::string(&v.to_string()));
        quote!(mock_support::body(#op_id, &[#(#candidates),*]))
    } else {
        let text = match (&mock.example, &mock.synthesized) {
            (Some(Value::String(s)), _) | (None, Some(Value::String(s))) => s.clone(),
            (Some(other), _) => other.to_string(),
            (None, Some(other)) => other.to_string(),
            (None, None) => String::new(),
        };
        quote!(String::from(#text))
    }
}

/// The response for `body` (bound in the match arm) with `status`.
fn render_body(json: bool, media: &str, status: &TokenStream) -> TokenStream {
    if json {
        quote!(::rampart::respond::json(#status, #media, &body))
    } else {
        quote!(::rampart::respond::text(#status, #media, body))
    }
}

/// `code` as an expression: `http`'s named constant (`StatusCode::NOT_FOUND`)
/// for a registered code, else checked when the response is built (the
/// spec's codes are 100–599, which `from_u16` accepts).
fn status_tokens(code: u16) -> TokenStream {
    match http_reason(code) {
        Some(reason) => {
            let name = format_ident!("{}", reason.to_ascii_uppercase().replace(' ', "_"));
            quote!(::rampart::__private::http::StatusCode::#name)
        }
        None => {
            let lit = Literal::u16_unsuffixed(code);
            quote!(::rampart::__private::http::StatusCode::from_u16(#lit).unwrap_or(::rampart::__private::http::StatusCode::INTERNAL_SERVER_ERROR))
        }
    }
}

/// The reason phrase of a status code, for variant names.
fn http_reason(code: u16) -> Option<&'static str> {
    Some(match code {
        100 => "Continue",
        101 => "Switching Protocols",
        200 => "Ok",
        201 => "Created",
        202 => "Accepted",
        203 => "Non Authoritative Information",
        204 => "No Content",
        205 => "Reset Content",
        206 => "Partial Content",
        300 => "Multiple Choices",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        411 => "Length Required",
        412 => "Precondition Failed",
        413 => "Payload Too Large",
        414 => "Uri Too Long",
        415 => "Unsupported Media Type",
        416 => "Range Not Satisfiable",
        417 => "Expectation Failed",
        422 => "Unprocessable Entity",
        423 => "Locked",
        424 => "Failed Dependency",
        428 => "Precondition Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        451 => "Unavailable For Legal Reasons",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => return None,
    })
}

/// `.route(path, method(handler).other(handler))` for every route, `call` giving each handler's expression.
fn route_calls(
    model: &ApiModel,
    plans: &[OpPlan],
    table: &RouteTable,
    call: impl Fn(&proc_macro2::Ident) -> TokenStream,
) -> Vec<TokenStream> {
    table
        .routes
        .iter()
        .map(|route| {
            let path = &route.axum_path;
            let methods = route.operations.iter().enumerate().map(|(i, &op_index)| {
                let plan = plans
                    .iter()
                    .find(|p| p.op_index == op_index)
                    .expect("every operation has a plan");
                let op = &model.operations[op_index];
                let method = format_ident!("{}", op.method);
                let call = call(&plan.handler_ident);
                if i == 0 {
                    quote!(::rampart::__private::axum::routing::#method(#call))
                } else {
                    quote!(.#method(#call))
                }
            });
            quote!(.route(&security.path(#path), #(#methods)*))
        })
        .collect()
}

fn router_tokens(
    model: &ApiModel,
    plans: &[OpPlan],
    trait_ident: &proc_macro2::Ident,
    table: &RouteTable,
) -> TokenStream {
    let routes = route_calls(
        model,
        plans,
        table,
        |handler| quote!(handlers::#handler::<A>.layer(security.guard(policies::#handler()))),
    );
    quote! {
        /// Route every operation to `api`, each behind its policy, enforced by
        /// `security`. Routes are registered under `security`'s base path
        /// (`/v1/pets`), so no request pays for a nested router. Add your own
        /// routes with `.merge(..)`; serving the `Routes` (or `.into_router()`)
        /// puts `security`'s front before all of them.
        pub fn router<A: #trait_ident>(api: A, security: ::rampart::Security) -> ::rampart::Routes {
            use ::rampart::__private::axum::handler::Handler as _;
            let router = ::rampart::__private::axum::Router::new()
                #(#routes)*
                .with_state(::std::sync::Arc::new(api));
            ::rampart::Routes::mounted(&security, router)
        }
    }
}
