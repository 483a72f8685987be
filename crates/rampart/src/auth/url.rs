//! Credentials in the URL: query parameters that always count as
//! credentials, and finding one in a query string (decoded, any case).

use std::borrow::Cow;

/// Query parameters that always count as credentials in the URL.
pub const URL_CREDENTIAL_PARAMS: &[&str] = &["access_token", "api_key", "apikey", "token"];

/// Whether `name` is one of the query parameters always refused as credentials.
pub fn is_url_credential(name: &str) -> bool {
    URL_CREDENTIAL_PARAMS
        .iter()
        .any(|p| p.eq_ignore_ascii_case(name))
}

/// The first query parameter whose (decoded) name is in `names`, compared case-insensitively.
pub fn find_url_credential<'q>(query: &'q str, names: &[String]) -> Option<Cow<'q, str>> {
    query.split('&').find_map(|pair| {
        let raw = pair.split('=').next().unwrap_or("");
        let name: Cow<'q, str> = if raw.contains(['%', '+']) {
            form_urlencoded::parse(raw.as_bytes())
                .next()
                .map(|(k, _)| Cow::Owned(k.into_owned()))
                .unwrap_or(Cow::Borrowed(""))
        } else {
            Cow::Borrowed(raw)
        };
        names
            .iter()
            .any(|n| n.eq_ignore_ascii_case(&name))
            .then_some(name)
    })
}
