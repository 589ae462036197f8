//! The server over real HTTP: each test starts the app on port 0 with a temporary data
//! folder and the repository's catalog, and talks to it with an HTTP client.

mod api;
mod common;
mod deliveries;
mod flow;
mod inbox;
mod layout;
mod recorded;
mod schema;
mod upgrade;
