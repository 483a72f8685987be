//! The petstore server's tests, in one test binary (every test binary links
//! the whole dependency tree): the demo binary, the generated petstore end
//! to end, and SQL injection against SQLite and PostgreSQL. `support` holds
//! the per-test databases and the server on them.
//!
//! Run one file's tests with `cargo test -p petstore-server --test it e2e::`.

mod support;

mod demo;
mod e2e;
mod sql_injection;
