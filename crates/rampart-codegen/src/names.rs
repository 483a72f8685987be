//! Turning whatever a spec calls things into valid, unique, idiomatic Rust names.

use std::collections::HashSet;

use proc_macro2::{Ident, Span};

const KEYWORDS: &[&str] = &[
    "as", "break", "const", "continue", "crate", "else", "enum", "extern", "false", "fn", "for",
    "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return",
    "self", "Self", "static", "struct", "super", "trait", "true", "type", "unsafe", "use", "where",
    "while", "async", "await", "dyn", "abstract", "become", "box", "do", "final", "macro",
    "override", "priv", "typeof", "unsized", "virtual", "yield", "try", "gen",
];

/// Words split out of an arbitrary name: `petId` → `pet`, `id`; `$ref` → `ref`.
fn words(name: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let chars: Vec<char> = name.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_alphanumeric() {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            continue;
        }
        let boundary = c.is_uppercase()
            && !current.is_empty()
            && (chars[i - 1].is_lowercase()
                || chars[i - 1].is_ascii_digit()
                || chars.get(i + 1).is_some_and(|n| n.is_lowercase())
                    && chars[i - 1].is_uppercase());
        if boundary {
            words.push(std::mem::take(&mut current));
        }
        current.push(c);
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
        .into_iter()
        .map(|w| {
            w.chars()
                .filter(char::is_ascii_alphanumeric)
                .collect::<String>()
        })
        .filter(|w| !w.is_empty())
        .collect()
}

/// `snake_case` for fields, functions and modules.
pub(crate) fn snake(name: &str) -> String {
    let joined = words(name)
        .iter()
        .map(|w| w.to_ascii_lowercase())
        .collect::<Vec<_>>()
        .join("_");
    fix_start(
        if joined.is_empty() {
            "value".to_owned()
        } else {
            joined
        },
        '_',
    )
}

/// `CamelCase` for types and variants.
pub(crate) fn camel(name: &str) -> String {
    let joined: String = words(name)
        .iter()
        .map(|w| {
            let mut cs = w.chars();
            match cs.next() {
                Some(f) => {
                    f.to_ascii_uppercase().to_string() + &cs.as_str().to_ascii_lowercase_if_shouty()
                }
                None => String::new(),
            }
        })
        .collect();
    fix_start(
        if joined.is_empty() {
            "Value".to_owned()
        } else {
            joined
        },
        'V',
    )
}

trait ShoutyExt {
    fn to_ascii_lowercase_if_shouty(&self) -> String;
}

impl ShoutyExt for str {
    /// `ID` → `Id`, `URL` → `Url`, but `Name` stays `Name`.
    fn to_ascii_lowercase_if_shouty(&self) -> String {
        if self.chars().all(|c| !c.is_lowercase()) {
            self.to_ascii_lowercase()
        } else {
            self.to_owned()
        }
    }
}

fn fix_start(name: String, prefix: char) -> String {
    if name.chars().next().is_some_and(|c| c.is_ascii_digit()) {
        if prefix == '_' {
            format!("n{name}")
        } else {
            format!("{prefix}{name}")
        }
    } else {
        name
    }
}

/// An identifier, escaping keywords (`type` → `r#type`, `self` → `self_`).
pub(crate) fn ident(name: &str) -> Ident {
    if KEYWORDS.contains(&name) {
        if matches!(name, "self" | "Self" | "super" | "crate") {
            return Ident::new(&format!("{name}_"), Span::call_site());
        }
        return Ident::new_raw(name, Span::call_site());
    }
    Ident::new(name, Span::call_site())
}

/// Hands out unique names within one scope.
#[derive(Debug, Default, Clone)]
pub(crate) struct Namer {
    used: HashSet<String>,
}

impl Namer {
    /// A scope with some names already taken.
    pub(crate) fn with_reserved<I: IntoIterator<Item = S>, S: Into<String>>(reserved: I) -> Self {
        Namer {
            used: reserved.into_iter().map(Into::into).collect(),
        }
    }

    /// `base`, or `base2`, `base3`, ... if taken.
    pub(crate) fn unique(&mut self, base: &str) -> String {
        let mut candidate = base.to_owned();
        let mut n = 2;
        while self.used.contains(&candidate)
            || (KEYWORDS.contains(&candidate.as_str()) && candidate.starts_with(char::is_uppercase))
        {
            candidate = format!("{base}{n}");
            n += 1;
        }
        self.used.insert(candidate.clone());
        candidate
    }
}

/// A doc attribute from spec text (summary/description), trimmed.
pub(crate) fn doc(text: Option<&str>) -> proc_macro2::TokenStream {
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        Some(text) => {
            let lines = text.lines().map(|l| format!(" {}", l.trim_end()));
            quote::quote! { #(#[doc = #lines])* }
        }
        None => proc_macro2::TokenStream::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_idiomatic() {
        assert_eq!(snake("petId"), "pet_id");
        assert_eq!(snake("X-Request-Id"), "x_request_id");
        assert_eq!(snake("$ref"), "ref");
        assert_eq!(snake("+1"), "n1");
        assert_eq!(snake(""), "value");
        assert_eq!(snake("HTTPServer"), "http_server");
        assert_eq!(camel("pet_owner"), "PetOwner");
        assert_eq!(camel("account.business_profile"), "AccountBusinessProfile");
        assert_eq!(camel("list pets"), "ListPets");
        assert_eq!(camel("get-user-by-ID"), "GetUserById");
        assert_eq!(camel("2fa"), "V2fa");
    }

    #[test]
    fn keywords_are_escaped() {
        assert_eq!(ident("type").to_string(), "r#type");
        assert_eq!(ident("self").to_string(), "self_");
        assert_eq!(ident("name").to_string(), "name");
    }

    #[test]
    fn namer_dedupes() {
        let mut n = Namer::default();
        assert_eq!(n.unique("Pet"), "Pet");
        assert_eq!(n.unique("Pet"), "Pet2");
        assert_eq!(n.unique("Self"), "Self2");
    }
}
