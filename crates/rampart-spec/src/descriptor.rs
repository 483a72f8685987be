//! [`ApiModel::descriptor`]: the one place a spec becomes the data the
//! runtime enforces ([`ApiDescriptor`]). Everything the runtime used to read
//! from the raw OpenAPI document (roles, schemes and their settings, each
//! operation's policy and shape, CORS, endpoints, fields to redact, the
//! document to serve) is decided here, once.

use openapiv3::{ReferenceOr, Schema, SchemaKind, StringFormat, Type, VariantOrUnknownOrEmpty};
use rampart_api::descriptor::FORMAT;
use rampart_api::scheme::SchemeSettings;
use rampart_api::{ApiDescriptor, OperationDescriptor, SchemeDescriptor};

use crate::annotations::SchemeAnnotations;
use crate::model::{ApiModel, SecuritySchemeKind, location};
use crate::resolve::{resolve, resolve_boxed};

impl ApiModel {
    /// Everything the runtime needs from this spec, as data.
    pub fn descriptor(&self) -> ApiDescriptor {
        let mut sensitive = Sensitive::default();
        sensitive.collect(self);
        ApiDescriptor {
            format: FORMAT,
            title: self.title().to_owned(),
            version: self.version().to_owned(),
            base_path: self.base_path(),
            roles: self.roles.clone(),
            schemes: self
                .schemes
                .iter()
                .map(|(name, kind)| SchemeDescriptor {
                    name: name.clone(),
                    kind: kind.clone(),
                    settings: self
                        .scheme_annotations
                        .iter()
                        .find(|(n, _)| n == name)
                        .map(|(_, a)| settings(a)),
                })
                .collect(),
            operations: self
                .operations
                .iter()
                .map(|op| OperationDescriptor {
                    policy: op.policy.clone(),
                    header_parameters: op
                        .parameters
                        .iter()
                        .filter(|p| location(p) == "header")
                        .map(|p| p.parameter_data_ref().name.clone())
                        .collect(),
                    has_parameters: !op.parameters.is_empty(),
                    has_body: op.operation.request_body.is_some(),
                })
                .collect(),
            cors: self.annotations.cors.as_ref().map(|c| c.value.clone()),
            endpoints: self
                .annotations
                .endpoints
                .as_ref()
                .map(|e| e.value.clone())
                .unwrap_or_default(),
            sensitive_fields: sensitive.fields,
            sensitive_headers: sensitive.headers,
            document: match &self.written {
                Some(written) => written.clone(),
                None => serde_json::to_value(&self.openapi).unwrap_or_default(),
            },
        }
    }
}

fn settings(a: &SchemeAnnotations) -> SchemeSettings {
    SchemeSettings {
        audience: a.audience.iter().map(|s| s.value.clone()).collect(),
        issuer: a.issuer.iter().map(|s| s.value.clone()).collect(),
        typ: a.typ.as_ref().map(|t| t.value.clone()),
        dpop: a.dpop.as_ref().map(|d| d.value),
        replay: a.replay.as_ref().map(|r| r.value),
        client_id_subject: a.client_id_subject.as_ref().map(|c| c.value),
    }
}

/// The fields and headers the spec marks secret.
#[derive(Default)]
struct Sensitive {
    fields: Vec<String>,
    headers: Vec<String>,
}

type BoxedSchema = ReferenceOr<Box<Schema>>;
type Properties = indexmap::IndexMap<String, BoxedSchema>;

fn is_sensitive_schema(schema: &Schema) -> bool {
    let data = &schema.schema_data;
    let password = match &schema.schema_kind {
        SchemaKind::Type(Type::String(s)) => {
            s.format == VariantOrUnknownOrEmpty::Item(StringFormat::Password)
        }
        SchemaKind::Any(any) => any.format.as_deref() == Some("password"),
        _ => false,
    };
    data.write_only
        || password
        || data.extensions.get("x-rampart-sensitive") == Some(&serde_json::Value::Bool(true))
}

impl Sensitive {
    fn field(&mut self, name: &str) {
        if !self.fields.iter().any(|f| f == name) {
            self.fields.push(name.to_owned());
        }
    }

    fn header(&mut self, name: &str) {
        let name = name.to_ascii_lowercase();
        if !self.headers.contains(&name) {
            self.headers.push(name);
        }
    }

    /// API-key names, and every sensitive parameter and schema property
    /// reachable from components, request bodies and responses.
    fn collect(&mut self, model: &ApiModel) {
        for (_, scheme) in &model.schemes {
            if let SecuritySchemeKind::ApiKey { name, .. } = scheme {
                self.header(name);
                self.field(name);
            }
        }
        let spec = &model.openapi;
        if let Some(components) = &spec.components {
            for schema in components.schemas.values() {
                if let ReferenceOr::Item(schema) = schema {
                    self.walk(model, schema, 0);
                }
            }
        }
        for op in &model.operations {
            for p in &op.parameters {
                let data = p.parameter_data_ref();
                let sensitive = data.extensions.get("x-rampart-sensitive")
                    == Some(&serde_json::Value::Bool(true))
                    || model
                        .parameter_schema(p)
                        .and_then(|s| resolve(spec, s))
                        .is_some_and(is_sensitive_schema);
                if sensitive {
                    self.field(&data.name);
                    if matches!(p, openapiv3::Parameter::Header { .. }) {
                        self.header(&data.name);
                    }
                }
            }
            let bodies = op
                .operation
                .request_body
                .as_ref()
                .and_then(|b| resolve(spec, b))
                .into_iter()
                .flat_map(|b| b.content.values());
            let responses = op
                .operation
                .responses
                .responses
                .values()
                .filter_map(|r| resolve(spec, r))
                .flat_map(|r| r.content.values());
            for media in bodies.chain(responses) {
                if let Some(ReferenceOr::Item(schema)) = &media.schema {
                    self.walk(model, schema, 0);
                }
            }
        }
    }

    fn walk(&mut self, model: &ApiModel, schema: &Schema, depth: usize) {
        if depth > 32 {
            return;
        }
        let spec = &model.openapi;
        let (properties, items, subs): (
            Option<&Properties>,
            Option<&BoxedSchema>,
            Vec<&ReferenceOr<Schema>>,
        ) = match &schema.schema_kind {
            SchemaKind::Type(Type::Object(o)) => (Some(&o.properties), None, Vec::new()),
            SchemaKind::Type(Type::Array(a)) => (None, a.items.as_ref(), Vec::new()),
            SchemaKind::OneOf { one_of: v }
            | SchemaKind::AllOf { all_of: v }
            | SchemaKind::AnyOf { any_of: v } => (None, None, v.iter().collect()),
            SchemaKind::Not { not } => (None, None, vec![not.as_ref()]),
            SchemaKind::Any(any) => (
                Some(&any.properties),
                any.items.as_ref(),
                any.one_of
                    .iter()
                    .chain(&any.all_of)
                    .chain(&any.any_of)
                    .chain(any.not.as_deref())
                    .collect(),
            ),
            _ => (None, None, Vec::new()),
        };
        if let Some(properties) = properties {
            for (name, prop) in properties {
                if resolve_boxed(spec, prop).is_some_and(is_sensitive_schema) {
                    self.field(name);
                }
                if let ReferenceOr::Item(s) = prop {
                    self.walk(model, s, depth + 1);
                }
            }
        }
        if let Some(ReferenceOr::Item(s)) = items {
            self.walk(model, s, depth + 1);
        }
        for sub in subs {
            if let ReferenceOr::Item(s) = sub {
                self.walk(model, s, depth + 1);
            }
        }
    }
}
