//! `#[operation(spec = "...", id = "...")]`: check at compile time that a
//! hand-written handler matches its operation in the spec — the operation
//! exists, path parameters match by name and type, the body type matches, and
//! `#[secured]` says exactly what the spec's security says.

use openapiv3::{ReferenceOr, Schema, SchemaKind, Type, VariantOrUnknownOrEmpty};
use proc_macro2::Span;
use rampart_spec::policy::DEFAULT_BODY_LIMIT;
use rampart_spec::resolve::{component_name, resolve};
use rampart_spec::suggest::did_you_mean;
use rampart_spec::{ApiModel, Operation, OperationPolicy};
use syn::spanned::Spanned;
use syn::{FnArg, GenericArgument, ItemFn, Pat, PathArguments};

use crate::args::{Errors, OperationArgs, SecuredArgs};
use crate::spec::{self, Spec};

/// A handler checked against its operation.
pub(crate) struct Checked {
    pub(crate) spec: Spec,
    /// The operation's policy, exactly as the generator would emit it.
    pub(crate) policy: OperationPolicy,
}

/// Check `item` (with its `#[secured]` arguments, if any) against the spec.
///
/// `Err` when the spec did not load (its load errors only), or when the
/// handler or its attributes do not match the spec: then the spec's own
/// errors, if any, come first, and each mistake is reported at the argument
/// at fault. A spec that has errors but matches the handler is `Ok`; the
/// caller reports [`Spec::errors`].
pub(crate) fn check(
    args: &OperationArgs,
    secured: Option<&SecuredArgs>,
    item: &ItemFn,
) -> syn::Result<Checked> {
    let spec = spec::load(&args.spec)?;
    let id = args.id.value();
    let Some(op) = spec.model.operation(&id) else {
        return Err(spec.errors_then(syn::Error::new(
            args.id.span(),
            format!(
                "the spec `{}` has no operation `{id}`{}\nhelp: operation ids are the spec's `operationId`s",
                spec.display,
                did_you_mean(&id, spec.model.operations.iter().map(|o| o.id.as_str()))
            ),
        )));
    };
    let mut errors = Errors::default();
    check_path_params(&spec.model, op, item, &mut errors);
    check_body(&spec.model, op, item, &mut errors);
    match secured {
        Some(secured) => check_security(&spec.model, op, secured, &mut errors),
        None => check_unsecured(op, item, &mut errors),
    }
    errors
        .finish()
        .map_err(|mistakes| spec.errors_then(mistakes))?;
    let policy = op.policy.clone();
    Ok(Checked { spec, policy })
}

// ---------------------------------------------------------------------------
// Path parameters.

/// What kind of value a parameter's schema describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Integer,
    Number,
    Boolean,
    String(Option<&'static str>),
    Other,
}

impl Kind {
    fn describe(self) -> String {
        match self {
            Kind::Integer => "an integer".into(),
            Kind::Number => "a number".into(),
            Kind::Boolean => "a boolean".into(),
            Kind::String(Some(f)) => format!("a string (format {f})"),
            Kind::String(None) => "a string".into(),
            Kind::Other => "a structured value".into(),
        }
    }

    fn suggestion(self) -> &'static str {
        match self {
            Kind::Integer => "i64 (or another integer type)",
            Kind::Number => "f64",
            Kind::Boolean => "bool",
            Kind::String(Some("uuid")) => "Uuid or String",
            _ => "String",
        }
    }

    /// Whether a Rust type named `name` can hold this kind.
    fn accepts(self, name: &str) -> bool {
        const INTEGERS: &[&str] = &[
            "i8", "i16", "i32", "i64", "i128", "isize", "u8", "u16", "u32", "u64", "u128", "usize",
        ];
        let integer = INTEGERS.contains(&name);
        let float = matches!(name, "f32" | "f64");
        let boolean = name == "bool";
        match self {
            Kind::Integer => integer,
            Kind::Number => float || integer,
            Kind::Boolean => boolean,
            Kind::String(Some("uuid")) => matches!(name, "Uuid" | "String"),
            Kind::String(_) => !(integer || float || boolean),
            Kind::Other => true,
        }
    }
}

fn kind_of(model: &ApiModel, schema: Option<&ReferenceOr<Schema>>) -> Kind {
    let Some(schema) = schema.and_then(|s| resolve(&model.openapi, s)) else {
        return Kind::Other;
    };
    match &schema.schema_kind {
        SchemaKind::Type(Type::Integer(_)) => Kind::Integer,
        SchemaKind::Type(Type::Number(_)) => Kind::Number,
        SchemaKind::Type(Type::Boolean(_)) => Kind::Boolean,
        SchemaKind::Type(Type::String(s)) => Kind::String(match &s.format {
            VariantOrUnknownOrEmpty::Unknown(f) if f == "uuid" => Some("uuid"),
            _ => None,
        }),
        _ => Kind::Other,
    }
}

/// `petId` and `pet_id` name the same parameter.
fn normalized(name: &str) -> String {
    name.chars()
        .filter(|c| !matches!(c, '_' | '-'))
        .flat_map(char::to_lowercase)
        .collect()
}

/// The last segment of a type path and its first generic type argument.
fn wrapper(ty: &syn::Type) -> Option<(String, Option<&syn::Type>)> {
    let syn::Type::Path(path) = ty else {
        return None;
    };
    let last = path.path.segments.last()?;
    let inner = match &last.arguments {
        PathArguments::AngleBracketed(args) => args.args.iter().find_map(|a| match a {
            GenericArgument::Type(t) => Some(t),
            _ => None,
        }),
        _ => None,
    };
    Some((last.ident.to_string(), inner))
}

fn type_name(ty: &syn::Type) -> Option<String> {
    wrapper(ty).map(|(name, _)| name)
}

fn typed_args(item: &ItemFn) -> impl Iterator<Item = &syn::PatType> {
    item.sig.inputs.iter().filter_map(|a| match a {
        FnArg::Typed(t) => Some(t),
        FnArg::Receiver(_) => None,
    })
}

/// The names bound by `Path(x)` / `Path((a, b))` patterns, with their spans.
fn bound_names(pat: &Pat) -> Option<Vec<(String, Span)>> {
    let inner = match pat {
        Pat::TupleStruct(ts) if ts.elems.len() == 1 => &ts.elems[0],
        _ => return None,
    };
    let ident = |p: &Pat| match p {
        Pat::Ident(i) => Some((i.ident.to_string(), i.ident.span())),
        _ => None,
    };
    match inner {
        Pat::Tuple(t) => t.elems.iter().map(ident).collect(),
        other => ident(other).map(|one| vec![one]),
    }
}

fn template_names(path: &str) -> Vec<&str> {
    path.split('{')
        .skip(1)
        .filter_map(|rest| rest.split_once('}').map(|(name, _)| name))
        .collect()
}

fn check_path_params(model: &ApiModel, op: &Operation, item: &ItemFn, errors: &mut Errors) {
    let names = template_names(&op.path);
    let params: Vec<(&str, Kind)> = names
        .iter()
        .map(|name| {
            let schema = op
                .parameters
                .iter()
                .find(|p| {
                    let data = p.parameter_data_ref();
                    data.name == *name && rampart_spec::model::location(p) == "path"
                })
                .and_then(|p| model.parameter_schema(p));
            (*name, kind_of(model, schema))
        })
        .collect();
    let extractor = typed_args(item)
        .find(|arg| matches!(type_name(&arg.ty).as_deref(), Some("Path" | "ValidPath")));
    let Some(arg) = extractor else {
        if !params.is_empty() {
            let list: Vec<String> = params
                .iter()
                .map(|(n, k)| format!("`{n}` ({})", k.describe()))
                .collect();
            errors.at(
                item.sig.ident.span(),
                format!(
                    "`{}` ({} {}) has path parameter{} {}, but the handler extracts no `Path`\nhelp: add e.g. `Path({}): Path<{}>`",
                    op.id,
                    op.method.to_uppercase(),
                    op.path,
                    if params.len() == 1 { "" } else { "s" },
                    list.join(", "),
                    rampart_codegen::field_name(params[0].0),
                    params[0].1.suggestion().split(' ').next().unwrap_or("String"),
                ),
            );
        }
        return;
    };
    if params.is_empty() {
        errors.at(
            arg.ty.span(),
            format!(
                "`{}` ({} {}) has no path parameters, but the handler extracts a `Path`\nhelp: remove the `Path` extractor",
                op.id,
                op.method.to_uppercase(),
                op.path
            ),
        );
        return;
    }
    let Some((_, Some(inner))) = wrapper(&arg.ty) else {
        return;
    };
    let types: Vec<&syn::Type> = match inner {
        syn::Type::Tuple(t) => t.elems.iter().collect(),
        // A struct of parameters: serde matches fields by name at runtime.
        syn::Type::Path(_) if params.len() > 1 => return,
        other => vec![other],
    };
    if types.len() != params.len() {
        errors.at(
            inner.span(),
            format!(
                "`{}` has {} path parameter{} ({}), but the handler extracts {}",
                op.id,
                params.len(),
                if params.len() == 1 { "" } else { "s" },
                names.join(", "),
                types.len()
            ),
        );
        return;
    }
    let bound = bound_names(&arg.pat);
    for (i, ((name, kind), ty)) in params.iter().zip(&types).enumerate() {
        if let Some((bound_name, span)) = bound.as_ref().and_then(|b| b.get(i))
            && normalized(bound_name) != normalized(name)
        {
            errors.at(
                    *span,
                    format!(
                        "path parameter {} of `{}` is `{name}` in the spec, but the handler binds `{bound_name}`\nhelp: name it `{}`",
                        i + 1,
                        op.id,
                        rampart_codegen::field_name(name)
                    ),
                );
        }
        if let Some(ty_name) = type_name(ty)
            && !kind.accepts(&ty_name)
        {
            errors.at(
                    ty.span(),
                    format!(
                        "path parameter `{name}` of `{}` is {} in the spec, but the handler extracts `{ty_name}`\nhelp: use {}",
                        op.id,
                        kind.describe(),
                        kind.suggestion()
                    ),
                );
        }
    }
}

// ---------------------------------------------------------------------------
// Request body.

fn body_schema_name(model: &ApiModel, op: &Operation) -> Option<(Option<String>, bool)> {
    let body = resolve(&model.openapi, op.operation.request_body.as_ref()?)?;
    let media = body
        .content
        .iter()
        .find(|(ty, _)| ty.contains("json"))
        .or_else(|| body.content.first())
        .map(|(_, m)| m);
    let name = media.and_then(|m| m.schema.as_ref()).and_then(|s| match s {
        ReferenceOr::Reference { reference } => {
            component_name::<Schema>(reference).map(|n| rampart_codegen::type_name(&n))
        }
        ReferenceOr::Item(_) => None,
    });
    Some((name, body.required))
}

const BODY_EXTRACTORS: &[&str] = &["Json", "ValidJson", "Form", "ValidForm"];

fn check_body(model: &ApiModel, op: &Operation, item: &ItemFn, errors: &mut Errors) {
    let spec_body = body_schema_name(model, op);
    let extractor = typed_args(item).find_map(|arg| {
        let (name, inner) = wrapper(&arg.ty)?;
        BODY_EXTRACTORS
            .contains(&name.as_str())
            .then_some((arg, inner))
    });
    match (spec_body, extractor) {
        (None, Some((arg, _))) => errors.at(
            arg.ty.span(),
            format!(
                "`{}` ({} {}) has no request body in the spec, but the handler extracts one\nhelp: remove the body extractor",
                op.id,
                op.method.to_uppercase(),
                op.path
            ),
        ),
        (Some((name, true)), None) => errors.at(
            item.sig.ident.span(),
            format!(
                "`{}` requires a request body{}, but the handler extracts none\nhelp: add e.g. `ValidJson(body): ValidJson<{}>` as the last argument",
                op.id,
                name.as_deref().map(|n| format!(" of type `{n}`")).unwrap_or_default(),
                name.as_deref().unwrap_or("Body")
            ),
        ),
        (Some((Some(expected), _)), Some((_, Some(inner)))) => {
            let got = type_name(inner).unwrap_or_default();
            if got != expected && got != "Value" {
                errors.at(
                    inner.span(),
                    format!(
                        "the request body of `{}` is `{expected}` in the spec, but the handler takes `{got}`\nhelp: extract `{expected}`",
                        op.id
                    ),
                );
            }
        }
        _ => {}
    }
}

// ---------------------------------------------------------------------------
// Security.

fn spec_summary(policy: &OperationPolicy) -> String {
    let mut parts = Vec::new();
    if !policy.roles.is_empty() {
        parts.push(format!("roles {}", policy.roles.join(" | ")));
    }
    let schemes = policy.schemes();
    if !schemes.is_empty() {
        parts.push(format!("schemes {}", schemes.join(" | ")));
    }
    if let Some(rate) = &policy.rate {
        parts.push(format!("rate {}", rate));
    }
    parts.join(", ")
}

fn check_unsecured(op: &Operation, item: &ItemFn, errors: &mut Errors) {
    let policy = &op.policy;
    if policy.public || policy.security.is_empty() {
        return;
    }
    let roles = match policy.roles.as_slice() {
        [] => String::new(),
        [one] => format!("role = \"{one}\""),
        many => format!(
            "roles = [{}]",
            many.iter()
                .map(|r| format!("\"{r}\""))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    errors.at(
        item.sig.ident.span(),
        format!(
            "the spec secures `{}` ({}), but the handler has no #[secured]\nhelp: add #[secured({roles})] so the handler is enforced like the spec says",
            op.id,
            spec_summary(policy)
        ),
    );
}

fn check_security(model: &ApiModel, op: &Operation, secured: &SecuredArgs, errors: &mut Errors) {
    let policy = &op.policy;
    let spec_public = policy.public || policy.security.is_empty();
    match (spec_public, secured.public) {
        (true, None) => {
            errors.at(
                secured.span,
                format!(
                    "the spec makes `{}` public, but #[secured] requires authentication\nhelp: write #[secured(public)] (with the spec's rate, if any), or secure the operation in the spec",
                    op.id
                ),
            );
            return;
        }
        (false, Some(span)) => {
            errors.at(
                span,
                format!(
                    "the spec secures `{}` ({}), but #[secured] makes it public\nhelp: remove `public` and state the spec's requirements",
                    op.id,
                    spec_summary(policy)
                ),
            );
            return;
        }
        _ => {}
    }
    check_roles(model, op, secured, errors);
    check_scheme_and_scopes(model, op, secured, errors);
    check_rate(op, secured, errors);
    check_deprecation(op, secured, errors);
    let limit = secured
        .body_limit
        .as_ref()
        .map_or(DEFAULT_BODY_LIMIT, |b| b.value);
    let spec_limit = policy.body_limit.unwrap_or(DEFAULT_BODY_LIMIT);
    if limit != spec_limit {
        let span = secured
            .body_limit
            .as_ref()
            .map_or(secured.span, |b| b.lit.span());
        errors.at(
            span,
            format!(
                "the spec limits request bodies of `{}` to {spec_limit} bytes, but #[secured] says {limit}\nhelp: write `body_limit = \"{spec_limit}\"`",
                op.id
            ),
        );
    }
}

fn check_roles(model: &ApiModel, op: &Operation, secured: &SecuredArgs, errors: &mut Errors) {
    let declared = model.roles.roles();
    for role in &secured.roles {
        let name = role.value();
        if !declared.contains(&name) {
            errors.at(
                role.span(),
                format!(
                    "unknown role `{name}`{}\nhelp: the spec declares the roles {}",
                    did_you_mean(&name, declared.iter().map(String::as_str)),
                    if declared.is_empty() {
                        "(none); declare them under x-rampart.roles".to_owned()
                    } else {
                        declared.join(", ")
                    }
                ),
            );
        } else if !op.policy.roles.contains(&name) {
            errors.at(
                role.span(),
                format!(
                    "the spec does not require role `{name}` for `{}` (it requires {})\nhelp: state exactly the spec's roles",
                    op.id,
                    if op.policy.roles.is_empty() {
                        "no role".to_owned()
                    } else {
                        op.policy.roles.join(" | ")
                    }
                ),
            );
        }
    }
    for needed in &op.policy.roles {
        if !secured.roles.iter().any(|r| &r.value() == needed) {
            errors.at(
                secured.span,
                format!(
                    "the spec requires role `{needed}` for `{}`, but #[secured] does not\nhelp: add `role = \"{needed}\"`",
                    op.id
                ),
            );
        }
    }
}

fn check_scheme_and_scopes(
    model: &ApiModel,
    op: &Operation,
    secured: &SecuredArgs,
    errors: &mut Errors,
) {
    let accepted = op.policy.schemes();
    if let Some(scheme) = &secured.scheme {
        let name = scheme.value();
        if model.scheme(&name).is_none() {
            errors.at(
                scheme.span(),
                format!(
                    "unknown security scheme `{name}`{}\nhelp: the spec's components.securitySchemes are {}",
                    did_you_mean(&name, model.schemes.iter().map(|(n, _)| n.as_str())),
                    model
                        .schemes
                        .iter()
                        .map(|(n, _)| n.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
            return;
        }
        if !accepted.contains(&name.as_str()) {
            errors.at(
                scheme.span(),
                format!(
                    "`{}` does not accept scheme `{name}`; the spec accepts {}",
                    op.id,
                    accepted.join(" | ")
                ),
            );
            return;
        }
    }
    let spec_scopes: Vec<&str> = op
        .policy
        .security
        .iter()
        .flat_map(|r| r.schemes.iter())
        .filter(|s| {
            secured
                .scheme
                .as_ref()
                .is_none_or(|n| n.value() == s.scheme)
        })
        .flat_map(|s| s.scopes.iter().map(String::as_str))
        .collect();
    for scope in &secured.scopes {
        if !spec_scopes.contains(&scope.value().as_str()) {
            errors.at(
                scope.span(),
                format!(
                    "the spec does not require scope `{}` for `{}`{}",
                    scope.value(),
                    op.id,
                    did_you_mean(&scope.value(), spec_scopes.iter().copied())
                ),
            );
        }
    }
}

fn check_rate(op: &Operation, secured: &SecuredArgs, errors: &mut Errors) {
    let mine = secured.effective_rate();
    let theirs = op.policy.rate;
    if mine == theirs {
        return;
    }
    let span = secured.rate.as_ref().map_or(secured.span, |r| r.lit.span());
    let message = match (theirs, mine) {
        (Some(spec), None) => format!(
            "the spec limits `{}` to {}, but #[secured] has no rate\nhelp: add `rate = \"{}\"`{}",
            op.id,
            spec,
            spec,
            spec.burst
                .map(|b| format!(", burst = {b}"))
                .unwrap_or_default()
        ),
        (None, Some(_)) => format!(
            "the spec sets no rate for `{}`, but #[secured] does\nhelp: remove `rate`, or add it to the spec",
            op.id
        ),
        (Some(spec), Some(_)) => format!(
            "the spec limits `{}` to {}{}, but #[secured] says otherwise\nhelp: write `rate = \"{}\"`",
            op.id,
            spec,
            spec.burst
                .map(|b| format!(" (burst {b})"))
                .unwrap_or_default(),
            spec
        ),
        (None, None) => return,
    };
    errors.at(span, message);
}

fn check_deprecation(op: &Operation, secured: &SecuredArgs, errors: &mut Errors) {
    match (&op.policy.deprecation, &secured.deprecated) {
        (None, None) => {}
        (Some(_), None) => errors.at(
            secured.span,
            format!(
                "the spec deprecates `{}`, but #[secured] does not\nhelp: add `deprecated(sunset = \"...\", successor = \"...\")` as in the spec",
                op.id
            ),
        ),
        (None, Some(dep)) => errors.at(
            dep.span,
            format!("the spec does not deprecate `{}`", op.id),
        ),
        (Some(spec), Some(dep)) => {
            let sunset = dep.sunset.as_ref().map(|s| s.value);
            if spec.sunset.is_some() && sunset != spec.sunset {
                errors.at(
                    dep.sunset.as_ref().map_or(dep.span, |s| s.lit.span()),
                    format!("the sunset of `{}` differs from the spec's", op.id),
                );
            }
            let successor = dep.successor.as_ref().map(syn::LitStr::value);
            if spec.successor.is_some() && successor != spec.successor {
                errors.at(
                    dep.successor.as_ref().map_or(dep.span, syn::LitStr::span),
                    format!(
                        "the successor of `{}` is `{}` in the spec",
                        op.id,
                        spec.successor.as_deref().unwrap_or_default()
                    ),
                );
            }
        }
    }
}
