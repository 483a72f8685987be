//! End-to-end tests of servers generated from `specs/` through `rampart::api!`,
//! over real sockets, in one test binary.

mod api_macro_server;
mod validation_server;
