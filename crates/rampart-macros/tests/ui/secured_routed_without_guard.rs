//! A `#[secured]` handler is not an axum handler until `security.secured(..)`
//! has built its guard: routing it bare does not compile, so it can never
//! be served unguarded.
use rampart::__private::axum::Router;
use rampart::__private::axum::routing::get;
use rampart::secured;

#[secured(role = "admin")]
async fn purge() -> &'static str {
    "purged"
}

fn main() {
    let _app: Router = Router::new().route("/purge", get(purge));
}
