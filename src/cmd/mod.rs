//! The subcommands, one module each.
//!
//! ## Layout
//! - [`sim`]: `run`, `sweep`, `shrink`, `bench`: scenario files in the simulator.
//! - [`node`]: `node`: a local network of real nodes on the wall clock, serving the API.
//! - [`access`]: `access`: API keys with groups and rate limits in a node's data directory.
//! - [`load`]: `load`, `load merge`: the load generator against a node or a simulation.
//! - [`report`]: `report`, `report merge`: HTML and Markdown from run results.
//! - [`frame`]: `frame encode|decode`: API frames by hand.

pub mod access;
pub mod frame;
pub mod load;
pub mod node;
pub mod report;
pub mod sim;
