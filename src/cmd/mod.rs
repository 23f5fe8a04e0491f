//! The subcommands, one module each.

pub mod access;
pub mod frame;
pub mod node;
pub mod report;
pub mod sim;
