//! [`ApiDescriptor`]: everything the runtime needs from a spec, as data.
//!
//! Produced once by `rampart-spec` (`ApiModel::descriptor()`), compiled into
//! the program by the generator, `api!` and `#[operation]` (as JSON text
//! read once at startup), and handed to `Security::load(&API)`. The runtime
//! reads nothing else from the spec: the spec file is not needed at run time.

use serde::{Deserialize, Serialize};

use crate::endpoints::Endpoints;
use crate::grammar::RoleHierarchy;
use crate::policy::{CorsPolicy, OperationPolicy};
use crate::scheme::{SchemeSettings, SecuritySchemeKind};

/// The descriptor format this crate reads and writes. A descriptor of
/// another format was compiled by another rampart version: regenerate.
pub const FORMAT: u32 = 1;

/// Everything the runtime enforces and serves for one API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiDescriptor {
    /// [`FORMAT`] when written.
    pub format: u32,
    /// `info.title`.
    pub title: String,
    /// `info.version`, sent as `X-API-Version`.
    pub version: String,
    /// The path of the first server URL without a trailing `/` (`/v1`), or empty.
    pub base_path: String,
    /// Declared roles, strongest first.
    pub roles: RoleHierarchy,
    /// The declared security schemes, in document order.
    pub schemes: Vec<SchemeDescriptor>,
    /// Every operation, in document order.
    pub operations: Vec<OperationDescriptor>,
    /// `x-rampart.cors`, if CORS is answered.
    pub cors: Option<CorsPolicy>,
    /// Where the built-in endpoints are served.
    pub endpoints: Endpoints,
    /// Body and parameter fields the spec marks secret (`writeOnly`,
    /// `format: password`, `x-rampart-sensitive`, API-key names): redacted
    /// from audit logs.
    pub sensitive_fields: Vec<String>,
    /// Request headers the spec marks secret (API-key headers, sensitive
    /// header parameters).
    pub sensitive_headers: Vec<String>,
    /// The document `/openapi.json` serves (as written, external refs
    /// bundled), before the runtime adds what its configuration answers.
    pub document: serde_json::Value,
}

/// One security scheme.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchemeDescriptor {
    /// The name under `components.securitySchemes`.
    pub name: String,
    /// What it asks of a caller.
    pub kind: SecuritySchemeKind,
    /// Its `x-rampart` (JWT schemes), when it has one.
    pub settings: Option<SchemeSettings>,
}

/// One operation: its policy and what the front needs to know of its shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperationDescriptor {
    /// Its security, as the pipeline enforces it.
    pub policy: OperationPolicy,
    /// Names of its header parameters (CORS allows them).
    pub header_parameters: Vec<String>,
    /// Whether it declares any parameter.
    pub has_parameters: bool,
    /// Whether it takes a request body.
    pub has_body: bool,
}

/// A descriptor that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum DescriptorError {
    /// Not a descriptor at all.
    #[error("not a rampart API descriptor: {0}")]
    Malformed(#[from] serde_json::Error),
    /// Written by another rampart version.
    #[error(
        "the API descriptor has format {found}, this rampart reads format {FORMAT}: regenerate the API with this rampart version"
    )]
    Format {
        /// The format found.
        found: u32,
    },
}

impl ApiDescriptor {
    /// A descriptor of an API with nothing declared (for hand-built servers).
    pub fn empty(title: &str, version: &str) -> Self {
        ApiDescriptor {
            format: FORMAT,
            title: title.to_owned(),
            version: version.to_owned(),
            base_path: String::new(),
            roles: RoleHierarchy::default(),
            schemes: Vec::new(),
            operations: Vec::new(),
            cors: None,
            endpoints: Endpoints::default(),
            sensitive_fields: Vec::new(),
            sensitive_headers: Vec::new(),
            document: serde_json::Value::Null,
        }
    }

    /// Read a descriptor written by [`to_json`](Self::to_json).
    pub fn from_json(text: &str) -> Result<Self, DescriptorError> {
        #[derive(Deserialize)]
        struct Format {
            format: u32,
        }
        let Format { format } = serde_json::from_str(text)?;
        if format != FORMAT {
            return Err(DescriptorError::Format { found: format });
        }
        Ok(serde_json::from_str(text)?)
    }

    /// A descriptor compiled into the program (the generated `API` static):
    /// read once at startup.
    ///
    /// # Panics
    ///
    /// When `text` was not written by this rampart version's generator,
    /// which only a hand-edited or stale generated file can cause; the
    /// message says to regenerate.
    pub fn embedded(text: &str) -> Self {
        Self::from_json(text).unwrap_or_else(|e| panic!("{e}"))
    }

    /// The compact JSON form generated code embeds.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a descriptor is plain data and always serializes")
    }

    /// The scheme named `name`.
    pub fn scheme(&self, name: &str) -> Option<&SecuritySchemeKind> {
        self.schemes
            .iter()
            .find(|s| s.name == name)
            .map(|s| &s.kind)
    }

    /// The operation with this `operationId`.
    pub fn operation(&self, id: &str) -> Option<&OperationDescriptor> {
        self.operations.iter().find(|o| o.policy.operation_id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_descriptor_round_trips_and_a_foreign_format_is_refused() {
        let mut api = ApiDescriptor::empty("Demo", "1.0");
        api.operations.push(OperationDescriptor {
            policy: OperationPolicy::new("getThing", "GET", "/things/{id}"),
            header_parameters: vec!["x-trace".into()],
            has_parameters: true,
            has_body: false,
        });
        let text = api.to_json();
        assert_eq!(ApiDescriptor::from_json(&text).unwrap(), api);
        let other = text.replacen("\"format\":1", "\"format\":99", 1);
        let err = ApiDescriptor::from_json(&other).unwrap_err();
        assert!(err.to_string().contains("regenerate"), "{err}");
        assert!(ApiDescriptor::from_json("[]").is_err());
    }
}
