//! The subcommands, one module each.

pub mod access;
pub mod frame;
pub mod load;
pub mod node;
pub mod report;
pub mod sim;
