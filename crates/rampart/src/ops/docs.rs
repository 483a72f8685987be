//! The interactive API page (`/docs`): one HTML page, a script and a style
//! sheet shipped inside the crate (no CDN), and its own copy of the served
//! spec, under a Content-Security-Policy that allows only them.

use http::{HeaderValue, header};

/// The page's Content-Security-Policy: its own script, style and fetches.
pub const DOCS_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const PAGE: &str = include_str!("assets/docs.html");
/// The page's script.
pub(crate) const SCRIPT: &str = include_str!("assets/docs.js");
/// The page's style sheet.
pub(crate) const STYLE: &str = include_str!("assets/docs.css");

/// One file of the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Asset {
    Page,
    Script,
    Style,
    /// The spec the page renders (also served when `/openapi.json` is off).
    Spec,
}

impl Asset {
    /// The asset at `rest`, the path after the page's own path.
    pub(crate) fn at(rest: &str) -> Option<Asset> {
        match rest {
            "" => Some(Asset::Page),
            "/rampart-docs.js" => Some(Asset::Script),
            "/rampart-docs.css" => Some(Asset::Style),
            "/openapi.json" => Some(Asset::Spec),
            _ => None,
        }
    }
}

/// The page with its title, version and asset paths filled in.
pub(crate) fn page(base: &str, title: &str, version: &str) -> String {
    PAGE.replace("{{base}}", &escape(base))
        .replace("{{title}}", &escape(title))
        .replace("{{version}}", &escape(version))
}

/// The headers every file of the page carries besides the front's.
pub(crate) fn page_headers(headers: &mut http::HeaderMap) {
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(DOCS_CSP),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
}

/// HTML text escaping.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_escapes_what_the_spec_says() {
        let html = page("/docs", "<script>alert(1)</script> & co", "1.0");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; co"));
        assert!(!html.contains("<script>alert"));
        assert!(html.contains("src=\"/docs/rampart-docs.js\""));
        assert!(
            !html.contains("<script>"),
            "no inline script: the CSP forbids it"
        );
    }

    #[test]
    fn assets_are_found_by_their_path() {
        assert_eq!(Asset::at(""), Some(Asset::Page));
        assert_eq!(Asset::at("/rampart-docs.js"), Some(Asset::Script));
        assert_eq!(Asset::at("/openapi.json"), Some(Asset::Spec));
        assert_eq!(Asset::at("/other"), None);
    }
}
