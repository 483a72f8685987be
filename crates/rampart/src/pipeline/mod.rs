//! The request pipeline, two services:
//!
//! - [`Front`] ([`front`]): one service in front of the whole router doing
//!   the global steps (request id, header limits, CORS, panics, timeout,
//!   security headers) and inserting the [`RequestContext`](crate::context::RequestContext);
//! - the per-route guard ([`GuardLayer`], [`guard`]) enforcing one
//!   operation's policy: credentials in the URL, lockout, authentication,
//!   roles and scopes, sunset, rate limit, body limit.

pub mod front;
pub mod guard;

pub use crate::auth::url::{find_url_credential, is_url_credential};
pub use crate::plan::MAX_SCHEMES_PER_ROUTE;
pub use front::{Front, FrontFuture};
pub use guard::{Guard, GuardFuture, GuardLayer};
