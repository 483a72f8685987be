//! The xtask CLI's tests, in one test binary (every test binary links the
//! whole dependency tree): each runs the built `xtask` as a user would.

mod audit_cli;
mod bench_cli;
mod check_cli;
mod serve_mock;
mod served;
mod user_workspace;
