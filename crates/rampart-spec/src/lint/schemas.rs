//! Rules on schemas: unbounded arrays, strings and integers (API4:2023),
//! open objects (API3:2023), and the rampart-aware `readOnly` / `writeOnly` /
//! `x-rampart-sensitive` checks.
//!
//! Every schema object is visited once, where it is written (a component, or
//! inline under a parameter, body, response or header), so a schema used by
//! a hundred operations gives one finding. Each visit knows whether its
//! schema is reachable from requests, from responses, or both, following
//! `$ref`s from the operations.

use std::collections::{HashMap, HashSet};

use super::ctx::{Ctx, METHODS, field_span, is_true, str_field};
use super::{
    ARRAY_LIMIT, CONSTRAINED_ADDITIONAL_PROPERTIES, INTEGER_FORMAT, INTEGER_LIMIT,
    NO_ADDITIONAL_PROPERTIES, READ_ONLY_REQUIRED_IN_REQUEST, SENSITIVE_NOT_REDACTED, STRING_LIMIT,
    STRING_RESTRICTED, WRITE_ONLY_IN_RESPONSE,
};
use crate::node::{Node, NodeKind, escape_pointer_token, unescape_pointer_token};

/// Reachable from a request (parameter or request body).
const REQUEST: u8 = 1;
/// Reachable from a response (body or header).
const RESPONSE: u8 = 2;
/// Deepest schema nesting walked.
const MAX_DEPTH: usize = 256;
/// Keys whose values are lists of subschemas.
const COMPOSITES: &[&str] = &["allOf", "anyOf", "oneOf"];
/// The extension that marks a value for redaction.
const SENSITIVE: &str = "x-rampart-sensitive";

pub(crate) fn check(ctx: &mut Ctx<'_>) {
    let sides = component_sides(ctx);
    let mut sites = Sites::default();
    collect(ctx, &sides, &mut sites);
    sites.elsewhere(ctx);
    for i in 0..sites.list.len() {
        rules(ctx, &sites, i);
    }
}

// ---------------------------------------------------------------------------
// Which component schemas are reachable from requests and from responses.

#[derive(Default)]
struct Marker {
    sides: HashMap<String, u8>,
    queue: Vec<(String, u8)>,
}

impl Marker {
    fn schema(&mut self, node: &Node, side: u8, depth: usize) {
        if depth > MAX_DEPTH {
            return;
        }
        if let Some(reference) = Ctx::ref_of(node) {
            if let Some(name) = schema_component(reference) {
                self.mark(name, side);
            }
            return;
        }
        // A discriminator's mapping names schemas by ref or by bare name.
        let mapping = node
            .get("discriminator")
            .and_then(|d| d.get("mapping"))
            .and_then(Node::entries)
            .unwrap_or_default();
        for target in mapping.iter().filter_map(|(_, v)| v.as_str()) {
            let name = schema_component(target).unwrap_or_else(|| target.to_owned());
            self.mark(name, side);
        }
        for_each_subschema(node, |_, child| self.schema(child, side, depth + 1));
    }

    fn mark(&mut self, name: String, side: u8) {
        let bits = self.sides.entry(name.clone()).or_insert(0);
        if *bits & side == 0 {
            *bits |= side;
            self.queue.push((name, side));
        }
    }

    /// Schemas of a parameter, header or media-type map holder (`schema` or `content`).
    fn holder(&mut self, ctx: &Ctx<'_>, node: &Node, side: u8) {
        let Some(node) = ctx.deref(node) else { return };
        if let Some(schema) = node.get("schema") {
            self.schema(schema, side, 0);
        }
        for (_, media) in node
            .get("content")
            .and_then(Node::entries)
            .unwrap_or_default()
        {
            if let Some(schema) = media.get("schema") {
                self.schema(schema, side, 0);
            }
        }
    }
}

/// The component a `#/components/schemas/...` reference lies in.
fn schema_component(reference: &str) -> Option<String> {
    let rest = reference.strip_prefix("#/components/schemas/")?;
    let name = rest.split('/').next()?;
    Some(unescape_pointer_token(name))
}

fn component_sides(ctx: &Ctx<'_>) -> HashMap<String, u8> {
    let mut marker = Marker::default();
    for op in &ctx.model.operations {
        let Some(node) = ctx.op_node(op) else {
            continue;
        };
        let item = op
            .pointer
            .rsplit_once('/')
            .and_then(|(item, _)| ctx.root.pointer(item));
        let params = item
            .and_then(|i| i.get("parameters"))
            .into_iter()
            .chain(node.get("parameters"))
            .filter_map(Node::items)
            .flatten();
        for param in params {
            marker.holder(ctx, param, REQUEST);
        }
        if let Some(body) = node.get("requestBody") {
            marker.holder(ctx, body, REQUEST);
        }
        for (_, response) in node
            .get("responses")
            .and_then(Node::entries)
            .unwrap_or_default()
        {
            let Some(response) = ctx.deref(response) else {
                continue;
            };
            marker.holder(ctx, response, RESPONSE);
            for (_, header) in response
                .get("headers")
                .and_then(Node::entries)
                .unwrap_or_default()
            {
                marker.holder(ctx, header, RESPONSE);
            }
        }
    }
    let schemas = ctx.root.pointer("/components/schemas");
    while let Some((name, side)) = marker.queue.pop() {
        if let Some(node) = schemas.and_then(|s| s.get(&name)) {
            marker.schema(node, side, 0);
        }
    }
    marker.sides
}

/// Call `f` with every direct subschema of a schema object.
fn for_each_subschema<'n>(node: &'n Node, mut f: impl FnMut(Seg<'n>, &'n Node)) {
    let Some(entries) = node.entries() else {
        return;
    };
    for (key, value) in entries {
        match key.text.as_str() {
            "properties" => {
                for (name, property) in value.entries().unwrap_or_default() {
                    f(Seg::Property(&name.text), property);
                }
            }
            "items" => f(Seg::Items, value),
            "additionalProperties" if value.entries().is_some() => f(Seg::Additional, value),
            "not" => f(Seg::Not, value),
            k if COMPOSITES.contains(&k) => {
                for (i, sub) in value.items().unwrap_or_default().iter().enumerate() {
                    f(Seg::Composite(composite_name(k), i), sub);
                }
            }
            _ => {}
        }
    }
}

fn composite_name(key: &str) -> &'static str {
    COMPOSITES
        .iter()
        .copied()
        .find(|c| *c == key)
        .unwrap_or("allOf")
}

// ---------------------------------------------------------------------------
// Every schema object, where it is written.

/// How a site hangs off its parent (or what root it is).
enum Seg<'a> {
    /// `components/schemas/<name>`.
    Component(&'a str),
    /// An inline schema, described in words ("request body of `createPet`").
    Inline(String),
    Property(&'a str),
    Items,
    Additional,
    Composite(&'static str, usize),
    Not,
}

struct Site<'a> {
    node: &'a Node,
    parent: Option<usize>,
    seg: Seg<'a>,
    sides: u8,
}

#[derive(Default)]
struct Sites<'a> {
    list: Vec<Site<'a>>,
    /// Every schema node walked (by address).
    seen: HashSet<*const Node>,
    /// References met on the way that point outside `components/schemas`,
    /// with the sides they were reached from.
    refs: Vec<(&'a str, u8)>,
}

impl<'a> Sites<'a> {
    fn walk(
        &mut self,
        node: &'a Node,
        parent: Option<usize>,
        seg: Seg<'a>,
        sides: u8,
        depth: usize,
    ) {
        if let Some(reference) = Ctx::ref_of(node) {
            // Checked where the target is written; a target outside the
            // places walked (e.g. under an `x-` extension) is walked later.
            if !reference.starts_with("#/components/schemas/") {
                self.refs.push((reference, sides));
            }
            return;
        }
        if depth > MAX_DEPTH || node.entries().is_none() || !self.seen.insert(node) {
            return;
        }
        let index = self.list.len();
        self.list.push(Site {
            node,
            parent,
            seg,
            sides,
        });
        for_each_subschema(node, |seg, child| {
            self.walk(child, Some(index), seg, sides, depth + 1);
        });
    }

    /// Schemas that references lead to but that are written nowhere the walk
    /// goes (Spectral's `$..` finds them wherever they are).
    fn elsewhere(&mut self, ctx: &Ctx<'a>) {
        let mut followed: HashSet<&str> = HashSet::new();
        while let Some((reference, sides)) = self.refs.pop() {
            if !followed.insert(reference) {
                continue;
            }
            let Some(target) = reference
                .strip_prefix('#')
                .and_then(|pointer| ctx.root.pointer(pointer))
            else {
                continue;
            };
            let label = format!("`{reference}`");
            self.walk(target, None, Seg::Inline(label), sides, 0);
        }
    }

    /// The schemas under a parameter or header (`schema`, `content.*.schema`).
    fn holder(&mut self, node: &'a Node, label: &str, sides: u8) {
        if Ctx::ref_of(node).is_some() {
            return;
        }
        if let Some(schema) = node.get("schema") {
            self.walk(schema, None, Seg::Inline(label.to_owned()), sides, 0);
        }
        self.content(node, label, sides);
    }

    fn content(&mut self, node: &'a Node, label: &str, sides: u8) {
        for (media, value) in node
            .get("content")
            .and_then(Node::entries)
            .unwrap_or_default()
        {
            let label = format!("{label} ({})", media.text);
            if let Some(schema) = value.get("schema") {
                self.walk(schema, None, Seg::Inline(label.clone()), sides, 0);
            }
            // Multipart parts' headers (`encoding.<part>.headers`).
            for (part, encoding) in value
                .get("encoding")
                .and_then(Node::entries)
                .unwrap_or_default()
            {
                for (name, header) in encoding
                    .get("headers")
                    .and_then(Node::entries)
                    .unwrap_or_default()
                {
                    let label =
                        format!("header `{}` of part `{}` of {label}", name.text, part.text);
                    self.holder(header, &label, sides);
                }
            }
        }
    }

    fn parameters(&mut self, list: Option<&'a Node>, owner: &str, sides: u8) {
        for param in list.and_then(Node::items).unwrap_or_default() {
            let name = str_field(param, "name").unwrap_or("?");
            self.holder(param, &format!("parameter `{name}` {owner}"), sides);
        }
    }

    fn response(&mut self, response: &'a Node, label: &str, sides: u8) {
        if Ctx::ref_of(response).is_some() {
            return;
        }
        self.content(response, &format!("{label} body"), sides);
        for (name, header) in response
            .get("headers")
            .and_then(Node::entries)
            .unwrap_or_default()
        {
            self.holder(header, &format!("header `{}` of {label}", name.text), sides);
        }
    }

    /// An operation's inline parameters, body, responses and callbacks.
    fn operation(&mut self, ctx: &Ctx<'a>, op: &'a Node, who: &str, request: u8, response: u8) {
        self.parameters(op.get("parameters"), &format!("of {who}"), request);
        if let Some(body) = op.get("requestBody")
            && Ctx::ref_of(body).is_none()
        {
            self.content(body, &format!("request body of {who}"), request);
        }
        for (status, resp) in op
            .get("responses")
            .and_then(Node::entries)
            .unwrap_or_default()
        {
            self.response(
                resp,
                &format!("response {} of {who}", status.text),
                response,
            );
        }
        if response == 0 {
            return; // a callback's own callbacks are not walked
        }
        for (name, callback) in op
            .get("callbacks")
            .and_then(Node::entries)
            .unwrap_or_default()
        {
            if Ctx::ref_of(callback).is_some() {
                continue;
            }
            let who = format!("callback `{}` of {who}", name.text);
            self.callback(ctx, callback, &who);
        }
    }

    /// A callback's operations: their request bodies are sent by the server
    /// (like responses); what the subscriber answers belongs to neither side.
    fn callback(&mut self, ctx: &Ctx<'a>, callback: &'a Node, who: &str) {
        for (expression, item) in callback.entries().unwrap_or_default() {
            if Ctx::ref_of(item).is_some() {
                continue; // checked where its target is written
            }
            let owner = format!("of `{}` in {who}", expression.text);
            self.parameters(item.get("parameters"), &owner, RESPONSE);
            for &method in METHODS {
                if let Some(op) = item.get(method) {
                    self.operation(ctx, op, who, RESPONSE, 0);
                }
            }
        }
    }
}

fn collect<'a>(ctx: &Ctx<'a>, sides: &HashMap<String, u8>, sites: &mut Sites<'a>) {
    let root = ctx.root;
    let components = root.get("components");
    let section = |name: &str| {
        components
            .and_then(|c| c.get(name))
            .and_then(Node::entries)
            .unwrap_or_default()
    };
    for (name, schema) in section("schemas") {
        let side = sides.get(&name.text).copied().unwrap_or(0);
        sites.walk(schema, None, Seg::Component(&name.text), side, 0);
    }
    for (name, param) in section("parameters") {
        let pname = str_field(param, "name").unwrap_or("?");
        let label = format!("parameter `{pname}` (components.parameters.{})", name.text);
        sites.holder(param, &label, REQUEST);
    }
    for (name, body) in section("requestBodies") {
        if Ctx::ref_of(body).is_none() {
            sites.content(body, &format!("request body `{}`", name.text), REQUEST);
        }
    }
    for (name, response) in section("responses") {
        sites.response(response, &format!("response `{}`", name.text), RESPONSE);
    }
    for (name, header) in section("headers") {
        sites.holder(header, &format!("header `{}`", name.text), RESPONSE);
    }
    for (name, callback) in section("callbacks") {
        if Ctx::ref_of(callback).is_none() {
            sites.callback(ctx, callback, &format!("callback `{}`", name.text));
        }
    }
    let ids: HashMap<&str, &str> = ctx
        .model
        .operations
        .iter()
        .map(|op| (op.pointer.as_str(), op.id.as_str()))
        .collect();
    for (path, item) in root
        .get("paths")
        .and_then(Node::entries)
        .unwrap_or_default()
    {
        // A path item written as a local `$ref` is walked through it too
        // (a target under `paths` gives the same findings, merged).
        let Some(item) = ctx.deref(item) else {
            continue;
        };
        sites.parameters(
            item.get("parameters"),
            &format!("of path `{}`", path.text),
            REQUEST,
        );
        let item_pointer = format!("/paths/{}", escape_pointer_token(&path.text));
        for &method in METHODS {
            let Some(op) = item.get(method) else { continue };
            let pointer = format!("{item_pointer}/{method}");
            let id = ids
                .get(pointer.as_str())
                .copied()
                .or_else(|| str_field(op, "operationId"));
            let who = match id {
                Some(id) => format!("`{id}`"),
                None => format!("{} {}", method.to_ascii_uppercase(), path.text),
            };
            sites.operation(ctx, op, &who, REQUEST, RESPONSE);
        }
    }
}

/// A human name for a site: "schema `Pet.tags[]`" or "schema of request body of `createPet` at `name`".
fn label(sites: &Sites<'_>, index: usize) -> String {
    let mut segments = Vec::new();
    let mut current = Some(index);
    let mut root = String::new();
    let mut component = false;
    while let Some(i) = current {
        let site = &sites.list[i];
        match &site.seg {
            Seg::Component(name) => {
                root = (*name).to_owned();
                component = true;
            }
            Seg::Inline(text) => root.clone_from(text),
            Seg::Property(name) => segments.push(format!(".{name}")),
            Seg::Items => segments.push("[]".to_owned()),
            Seg::Additional => segments.push(".additionalProperties".to_owned()),
            Seg::Composite(kind, n) => segments.push(format!(".{kind}[{n}]")),
            Seg::Not => segments.push(".not".to_owned()),
        }
        current = site.parent;
    }
    let suffix: String = segments.iter().rev().map(String::as_str).collect();
    if component {
        format!("schema `{root}{suffix}`")
    } else if suffix.is_empty() {
        format!("schema of {root}")
    } else {
        format!("schema of {root} at `{}`", suffix.trim_start_matches('.'))
    }
}

// ---------------------------------------------------------------------------
// The rules.

fn rules(ctx: &mut Ctx<'_>, sites: &Sites<'_>, index: usize) {
    let site = &sites.list[index];
    let node = site.node;
    let has = |key: &str| node.get(key).is_some();
    let ty = str_field(node, "type");
    let type_span = field_span(node, "type").unwrap_or(node.span);

    match ty {
        Some("array") if !has("maxItems") => ctx.report(
            ARRAY_LIMIT,
            type_span,
            format!("array {} has no `maxItems`", label(sites, index)),
            "add `maxItems` (and bound the `items` schema too)",
        ),
        Some("string") => {
            if !has("maxLength") && !has("enum") {
                ctx.report(
                    STRING_LIMIT,
                    type_span,
                    format!(
                        "string {} has no `maxLength` or `enum`",
                        label(sites, index)
                    ),
                    "add `maxLength` (or `enum` when the values are known)",
                );
            }
            if !has("format") && !has("pattern") && !has("enum") {
                ctx.report_if_lowered(
                    site.sides == RESPONSE,
                    STRING_RESTRICTED,
                    type_span,
                    format!(
                        "string {} has no `format`, `pattern` or `enum`",
                        label(sites, index)
                    ),
                    "add a `format` (uuid, email, date-time, uri, ...), a `pattern` or an `enum`",
                );
            }
        }
        Some("integer") => {
            let missing: Vec<&str> = ["minimum", "maximum"]
                .into_iter()
                .filter(|k| !has(k))
                .collect();
            if !missing.is_empty() {
                ctx.report(
                    INTEGER_LIMIT,
                    type_span,
                    format!(
                        "integer {} has no `{}`",
                        label(sites, index),
                        missing.join("` or `")
                    ),
                    "add `minimum` and `maximum`",
                );
            }
            if !has("format") {
                ctx.report(
                    INTEGER_FORMAT,
                    type_span,
                    format!("integer {} has no `format`", label(sites, index)),
                    "add `format: int32` or `format: int64`",
                );
            }
        }
        _ => {}
    }

    if matches!(ty, None | Some("object"))
        && let Some((key, value)) = node.get_entry("additionalProperties")
    {
        let span = super::ctx::entry_span(key, value);
        let open = match &value.kind {
            NodeKind::Bool(b) => *b,
            NodeKind::Map(entries) => entries.is_empty(),
            _ => false,
        };
        if open {
            ctx.report(
                    NO_ADDITIONAL_PROPERTIES,
                    span,
                    format!("object {} allows any additional property", label(sites, index)),
                    "remove `additionalProperties` (rampart then rejects unknown properties) or set it to \
                     `false`; for a map, give it a value schema and `maxProperties`",
                );
        } else if value.entries().is_some() {
            // Spectral flags every truthy `additionalProperties`; a value
            // schema makes the object a typed map whose entries rampart
            // validates, so the finding is informational.
            ctx.report_lowered(
                    NO_ADDITIONAL_PROPERTIES,
                    span,
                    format!(
                        "object {} accepts additional properties through a value schema",
                        label(sites, index)
                    ),
                    "if the object is not meant to be a map, remove `additionalProperties` or set it to `false`",
                );
        }
        // Any schema-valued `additionalProperties`, `{}` included, needs a bound.
        if value.entries().is_some() && !has("maxProperties") {
            ctx.report(
                    CONSTRAINED_ADDITIONAL_PROPERTIES,
                    span,
                    format!(
                        "object {} is a map (`additionalProperties` is a schema) without `maxProperties`",
                        label(sites, index)
                    ),
                    "add `maxProperties` to bound the number of entries",
                );
        }
    }

    let write_only = is_true(node, "writeOnly");
    if write_only && site.sides == RESPONSE {
        ctx.report(
            WRITE_ONLY_IN_RESPONSE,
            field_span(node, "writeOnly").unwrap_or(node.span),
            format!(
                "{} is `writeOnly` but is used only in responses",
                label(sites, index)
            ),
            "remove the property from the response schema, or drop `writeOnly` if it really is output",
        );
    }
    let password = str_field(node, "format") == Some("password");
    if (password || write_only) && !is_true(node, SENSITIVE) {
        let (field, what) = if password {
            ("format", "`format: password`")
        } else {
            ("writeOnly", "`writeOnly`")
        };
        ctx.report(
            SENSITIVE_NOT_REDACTED,
            field_span(node, field).unwrap_or(node.span),
            format!(
                "{} is {what} but not marked `x-rampart-sensitive: true`",
                label(sites, index)
            ),
            "add `x-rampart-sensitive: true` so rampart redacts the value from logs, audit records and errors",
        );
    }

    if site.sides == REQUEST {
        let properties = node.get("properties");
        for item in node
            .get("required")
            .and_then(Node::items)
            .unwrap_or_default()
        {
            let Some(name) = item.as_str() else { continue };
            let read_only = properties
                .and_then(|p| p.get(name))
                .and_then(|p| ctx.deref(p))
                .is_some_and(|p| is_true(p, "readOnly"));
            if read_only {
                ctx.report(
                    READ_ONLY_REQUIRED_IN_REQUEST,
                    item.span,
                    format!(
                        "{} requires `{name}`, which is `readOnly`, but the schema is used only in requests",
                        label(sites, index)
                    ),
                    "remove the property from `required`: clients must not send read-only properties",
                );
            }
        }
    }
}
