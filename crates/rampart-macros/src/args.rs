//! Parsing `#[secured(...)]` and `#[operation(...)]` arguments. Values are
//! checked with the same parser the spec loader uses (`rampart_api::grammar`),
//! and every error points at the literal or key at fault.

use proc_macro2::Span;
use rampart_api::grammar::{self, Rate, ValueError};
use rampart_api::suggest::did_you_mean;
use syn::meta::ParseNestedMeta;
use syn::spanned::Spanned;
use syn::{LitInt, LitStr};

/// The keys `#[secured]` accepts.
const SECURED_KEYS: &[&str] = &[
    "role",
    "roles",
    "scopes",
    "scheme",
    "rate",
    "burst",
    "rate_key",
    "rate_exact",
    "public",
    "deprecated",
    "body_limit",
];

/// The keys `deprecated(...)` accepts.
const DEPRECATED_KEYS: &[&str] = &["since", "sunset", "successor"];

/// The keys `#[operation]` accepts.
const OPERATION_KEYS: &[&str] = &["spec", "id"];

/// A string value and what it parsed to.
#[derive(Clone)]
pub(crate) struct Parsed<T> {
    pub(crate) lit: LitStr,
    pub(crate) value: T,
}

/// `deprecated` or `deprecated(since = "...", sunset = "...", successor = "...")`.
#[derive(Clone)]
pub(crate) struct DeprecatedArgs {
    // Read only by the spec checks of `#[operation]` (feature `spec`).
    #[cfg_attr(not(feature = "spec"), allow(dead_code))]
    pub(crate) span: Span,
    pub(crate) since: Option<Parsed<i64>>,
    pub(crate) sunset: Option<Parsed<i64>>,
    pub(crate) successor: Option<LitStr>,
}

/// Everything `#[secured(...)]` says.
#[derive(Clone)]
pub(crate) struct SecuredArgs {
    /// The attribute's span, for errors about what it lacks.
    #[cfg_attr(not(feature = "spec"), allow(dead_code))]
    pub(crate) span: Span,
    pub(crate) roles: Vec<LitStr>,
    pub(crate) scopes: Vec<LitStr>,
    pub(crate) scheme: Option<LitStr>,
    pub(crate) rate: Option<Parsed<Rate>>,
    pub(crate) burst: Option<(LitInt, u32)>,
    pub(crate) rate_key_ip: Option<LitStr>,
    /// `rate_exact`: the quota is never leased.
    pub(crate) rate_exact: Option<Span>,
    pub(crate) public: Option<Span>,
    pub(crate) deprecated: Option<DeprecatedArgs>,
    pub(crate) body_limit: Option<Parsed<u64>>,
}

impl SecuredArgs {
    fn new(span: Span) -> Self {
        SecuredArgs {
            span,
            roles: Vec::new(),
            scopes: Vec::new(),
            scheme: None,
            rate: None,
            burst: None,
            rate_key_ip: None,
            rate_exact: None,
            public: None,
            deprecated: None,
            body_limit: None,
        }
    }

    /// The rate with its burst applied.
    pub(crate) fn effective_rate(&self) -> Option<Rate> {
        self.rate.as_ref().map(|r| match &self.burst {
            Some((_, burst)) => r.value.with_burst(*burst),
            None => r.value,
        })
    }
}

/// `#[operation(spec = "...", id = "...")]`.
#[derive(Clone)]
pub(crate) struct OperationArgs {
    pub(crate) spec: LitStr,
    #[cfg_attr(not(feature = "spec"), allow(dead_code))]
    pub(crate) id: LitStr,
}

/// Collects errors so that all of them are reported together.
#[derive(Default)]
pub(crate) struct Errors(Option<syn::Error>);

impl Errors {
    pub(crate) fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(error),
            None => self.0 = Some(error),
        }
    }

    pub(crate) fn at(&mut self, span: Span, message: impl std::fmt::Display) {
        self.push(syn::Error::new(span, message));
    }

    pub(crate) fn finish(self) -> syn::Result<()> {
        self.0.map_or(Ok(()), Err)
    }
}

fn value_error(lit: &LitStr, e: &ValueError) -> syn::Error {
    syn::Error::new(lit.span(), format!("{}\nhelp: {}", e.message, e.help))
}

fn unknown_key(meta: &ParseNestedMeta<'_>, what: &str, keys: &[&str]) -> syn::Error {
    let name = meta
        .path
        .get_ident()
        .map(ToString::to_string)
        .unwrap_or_else(|| {
            let path = &meta.path;
            quote::quote!(#path).to_string().replace(' ', "")
        });
    meta.error(format!(
        "unknown {what} argument `{name}`{}\nhelp: {what} accepts: {}",
        did_you_mean(&name, keys.iter().copied()),
        keys.join(", ")
    ))
}

/// Consume whatever follows an unknown key so parsing can go on.
fn skip_value(meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
    if meta.input.peek(syn::Token![=]) {
        let _: syn::Expr = meta.value()?.parse()?;
    } else if meta.input.peek(syn::token::Paren) {
        meta.parse_nested_meta(|inner| skip_value(&inner))?;
    }
    Ok(())
}

fn once<T>(slot: &Option<T>, meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
    if slot.is_some() {
        let name = meta
            .path
            .get_ident()
            .map(ToString::to_string)
            .unwrap_or_default();
        return Err(meta.error(format!("`{name}` is specified more than once")));
    }
    Ok(())
}

fn string_list(meta: &ParseNestedMeta<'_>) -> syn::Result<Vec<LitStr>> {
    let array: syn::ExprArray = meta.value()?.parse()?;
    array
        .elems
        .iter()
        .map(|e| match e {
            syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(s),
                ..
            }) => Ok(s.clone()),
            other => Err(syn::Error::new(other.span(), "expected a string literal")),
        })
        .collect()
}

/// Parse the arguments of `#[secured(...)]`.
pub(crate) fn parse_secured(
    tokens: proc_macro2::TokenStream,
    span: Span,
) -> syn::Result<SecuredArgs> {
    let mut args = SecuredArgs::new(span);
    let mut errors = Errors::default();
    let mut seen_roles = false;
    let parser = syn::meta::parser(|meta| {
        let key = meta
            .path
            .get_ident()
            .map(ToString::to_string)
            .unwrap_or_default();
        match key.as_str() {
            "role" | "roles" => {
                if seen_roles {
                    return Err(meta.error(
                        "roles are specified more than once; write `roles = [\"a\", \"b\"]` once",
                    ));
                }
                seen_roles = true;
                let roles = if key == "role" {
                    vec![meta.value()?.parse::<LitStr>()?]
                } else {
                    string_list(&meta)?
                };
                for role in &roles {
                    if let Err(e) = grammar::parse_role(&role.value()) {
                        errors.push(value_error(role, &e));
                    }
                }
                args.roles = roles;
            }
            "scopes" => {
                if !args.scopes.is_empty() {
                    return Err(meta.error("`scopes` is specified more than once"));
                }
                args.scopes = string_list(&meta)?;
            }
            "scheme" => {
                once(&args.scheme, &meta)?;
                args.scheme = Some(meta.value()?.parse()?);
            }
            "rate" => {
                once(&args.rate, &meta)?;
                let lit: LitStr = meta.value()?.parse()?;
                match grammar::parse_rate(&lit.value()) {
                    Ok(value) => args.rate = Some(Parsed { lit, value }),
                    Err(e) => errors.push(value_error(&lit, &e)),
                }
            }
            "burst" => {
                once(&args.burst, &meta)?;
                let lit: LitInt = meta.value()?.parse()?;
                match lit.base10_parse::<u32>() {
                    Ok(n) if n > 0 => args.burst = Some((lit, n)),
                    _ => errors.at(lit.span(), "`burst` must be a whole number of at least 1"),
                }
            }
            "rate_key" => {
                once(&args.rate_key_ip, &meta)?;
                let lit: LitStr = meta.value()?.parse()?;
                match lit.value().as_str() {
                    "ip" => args.rate_key_ip = Some(lit),
                    "principal" => {}
                    other => errors.at(
                        lit.span(),
                        format!(
                            "unknown rate key `{other}`{}\nhelp: write `rate_key = \"principal\"` (the default) or `rate_key = \"ip\"`",
                            did_you_mean(other, ["ip", "principal"])
                        ),
                    ),
                }
            }
            "rate_exact" => {
                once(&args.rate_exact, &meta)?;
                if !meta.input.is_empty() && !meta.input.peek(syn::Token![,]) {
                    return Err(meta.error(
                        "`rate_exact` takes no value: write `#[secured(rate = \"5/min\", rate_exact)]`",
                    ));
                }
                args.rate_exact = Some(meta.path.span());
            }
            "public" => {
                once(&args.public, &meta)?;
                if !meta.input.is_empty() && !meta.input.peek(syn::Token![,]) {
                    return Err(meta.error("`public` takes no value: write `#[secured(public)]`"));
                }
                args.public = Some(meta.path.span());
            }
            "deprecated" => {
                once(&args.deprecated, &meta)?;
                args.deprecated = Some(parse_deprecated(&meta, &mut errors)?);
            }
            "body_limit" => {
                once(&args.body_limit, &meta)?;
                let lit: LitStr = meta.value()?.parse()?;
                match grammar::parse_size(&lit.value()) {
                    Ok(value) => args.body_limit = Some(Parsed { lit, value }),
                    Err(e) => errors.push(value_error(&lit, &e)),
                }
            }
            _ => {
                errors.push(unknown_key(&meta, "#[secured]", SECURED_KEYS));
                skip_value(&meta)?;
            }
        }
        Ok(())
    });
    syn::parse::Parser::parse2(parser, tokens)?;
    if let Some(public) = args.public
        && (!args.roles.is_empty() || !args.scopes.is_empty() || args.scheme.is_some())
    {
        errors.at(
                public,
                "a `public` handler takes no credentials, so it cannot also require a role, scope or scheme\nhelp: remove `public`, or remove `role`/`scopes`/`scheme`",
            );
    }
    if let (Some((lit, _)), None) = (&args.burst, &args.rate) {
        errors.at(
            lit.span(),
            "`burst` needs a `rate`\nhelp: add e.g. `rate = \"5/min\"`",
        );
    }
    if let (Some(exact), None) = (args.rate_exact, &args.rate) {
        errors.at(
            exact,
            "`rate_exact` needs a `rate`\nhelp: add e.g. `rate = \"5/min\"`, or remove `rate_exact`",
        );
    }
    errors.finish()?;
    Ok(args)
}

fn parse_deprecated(
    meta: &ParseNestedMeta<'_>,
    errors: &mut Errors,
) -> syn::Result<DeprecatedArgs> {
    let mut dep = DeprecatedArgs {
        span: meta.path.span(),
        since: None,
        sunset: None,
        successor: None,
    };
    if !meta.input.peek(syn::token::Paren) {
        return Ok(dep);
    }
    meta.parse_nested_meta(|inner| {
        let key = inner
            .path
            .get_ident()
            .map(ToString::to_string)
            .unwrap_or_default();
        match key.as_str() {
            "since" | "sunset" => {
                let slot = if key == "since" {
                    &dep.since
                } else {
                    &dep.sunset
                };
                once(slot, &inner)?;
                let lit: LitStr = inner.value()?.parse()?;
                match grammar::parse_instant(&lit.value()) {
                    Ok(value) => {
                        let parsed = Some(Parsed { lit, value });
                        if key == "since" {
                            dep.since = parsed;
                        } else {
                            dep.sunset = parsed;
                        }
                    }
                    Err(e) => errors.push(value_error(&lit, &e)),
                }
            }
            "successor" => {
                once(&dep.successor, &inner)?;
                dep.successor = Some(inner.value()?.parse()?);
            }
            _ => {
                errors.push(unknown_key(&inner, "deprecated(...)", DEPRECATED_KEYS));
                skip_value(&inner)?;
            }
        }
        Ok(())
    })?;
    if let (Some(since), Some(sunset)) = (&dep.since, &dep.sunset)
        && sunset.value < since.value
    {
        errors.at(
                sunset.lit.span(),
                format!(
                    "the sunset `{}` comes before the deprecation date `{}`\nhelp: an operation is deprecated first and sunset later",
                    sunset.lit.value(),
                    since.lit.value()
                ),
            );
    }
    Ok(dep)
}

/// Parse the arguments of `#[operation(spec = "...", id = "...")]`.
pub(crate) fn parse_operation(
    tokens: proc_macro2::TokenStream,
    span: Span,
) -> syn::Result<OperationArgs> {
    let mut spec: Option<LitStr> = None;
    let mut id: Option<LitStr> = None;
    let mut errors = Errors::default();
    let parser = syn::meta::parser(|meta| {
        if meta.path.is_ident("spec") {
            once(&spec, &meta)?;
            spec = Some(meta.value()?.parse()?);
        } else if meta.path.is_ident("id") {
            once(&id, &meta)?;
            id = Some(meta.value()?.parse()?);
        } else {
            errors.push(unknown_key(&meta, "#[operation]", OPERATION_KEYS));
            skip_value(&meta)?;
        }
        Ok(())
    });
    syn::parse::Parser::parse2(parser, tokens)?;
    errors.finish()?;
    match (spec, id) {
        (Some(spec), Some(id)) => Ok(OperationArgs { spec, id }),
        (None, _) => Err(syn::Error::new(
            span,
            "#[operation] needs the spec: `#[operation(spec = \"specs/api.yaml\", id = \"operationId\")]`",
        )),
        (_, None) => Err(syn::Error::new(
            span,
            "#[operation] needs the operation id: `#[operation(spec = \"specs/api.yaml\", id = \"operationId\")]`",
        )),
    }
}
