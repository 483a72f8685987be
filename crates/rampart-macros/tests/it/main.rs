//! rampart-macros' tests, in one test binary (every test binary links the
//! whole dependency tree): handlers routed with `#[operation]` and
//! `#[secured]` over real sockets, and the compile errors (trybuild, `ui`).

mod expansions;
mod operation_routes;
mod secured_routes;
mod ui;
