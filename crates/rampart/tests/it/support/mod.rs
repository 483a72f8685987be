//! What the integration tests share.
#![allow(dead_code, unreachable_pub)]

pub mod auth;
pub mod logs;
pub mod net;
pub mod process;
pub mod rate;
