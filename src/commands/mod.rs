//! The subcommands, one file each and thin: `start` runs the agency; `status`, `boot`, `backup`
//! and `restore` are short-lived clients or offline tools that share `client`'s HTTP setup.

pub mod backup;
pub mod boot;
pub mod client;
pub mod restore;
pub mod start;
pub mod status;
