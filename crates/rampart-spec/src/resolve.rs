//! Following `#/components/...` references to the values they name.

use openapiv3::{
    Components, Header, OpenAPI, Parameter, ReferenceOr, RequestBody, Response, Schema,
    SecurityScheme,
};

/// Longest chain of refs followed before giving up (cycles are reported at load).
const MAX_HOPS: usize = 64;

/// A kind of component that can be the target of a reference.
pub trait Component: Sized {
    /// The `components` section name (`schemas`, `parameters`, ...).
    const SECTION: &'static str;
    /// The section's map.
    fn section(components: &Components) -> &indexmap::IndexMap<String, ReferenceOr<Self>>;
}

macro_rules! component {
    ($ty:ty, $section:literal, $field:ident) => {
        impl Component for $ty {
            const SECTION: &'static str = $section;
            fn section(components: &Components) -> &indexmap::IndexMap<String, ReferenceOr<Self>> {
                &components.$field
            }
        }
    };
}

component!(Schema, "schemas", schemas);
component!(Parameter, "parameters", parameters);
component!(RequestBody, "requestBodies", request_bodies);
component!(Response, "responses", responses);
component!(Header, "headers", headers);
component!(SecurityScheme, "securitySchemes", security_schemes);

/// The component name a reference points at, if it is `#/components/<section>/<name>`.
pub fn component_name<T: Component>(reference: &str) -> Option<String> {
    let rest = reference.strip_prefix("#/components/")?;
    let (section, name) = rest.split_once('/')?;
    (section == T::SECTION && !name.contains('/'))
        .then(|| crate::node::unescape_pointer_token(name))
}

/// Follow refs from `item` until a value is reached.
pub fn resolve<'a, T: Component>(spec: &'a OpenAPI, item: &'a ReferenceOr<T>) -> Option<&'a T> {
    let mut current = item;
    for _ in 0..MAX_HOPS {
        match current {
            ReferenceOr::Item(value) => return Some(value),
            ReferenceOr::Reference { reference } => {
                let name = component_name::<T>(reference)?;
                current = T::section(spec.components.as_ref()?).get(&name)?;
            }
        }
    }
    None
}

/// Like [`resolve`] for boxed schemas (`ReferenceOr<Box<Schema>>`).
pub fn resolve_boxed<'a>(
    spec: &'a OpenAPI,
    item: &'a ReferenceOr<Box<Schema>>,
) -> Option<&'a Schema> {
    match item {
        ReferenceOr::Item(value) => Some(value),
        ReferenceOr::Reference { reference } => {
            let name = component_name::<Schema>(reference)?;
            resolve(spec, spec.components.as_ref()?.schemas.get(&name)?)
        }
    }
}
