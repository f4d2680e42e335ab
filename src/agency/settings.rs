//! What the agency is opened with, apart from the command line's own configuration: the agency
//! takes these and never reads `config`.

use std::path::PathBuf;
use std::time::Duration;

/// What the agency is opened with: where its store is, how it is sealed, what its agents
/// advertise and when they are released.
#[derive(Debug, Clone)]
pub struct Settings {
    pub data_dir: PathBuf,
    /// Extra path segment under `<data-dir>/keri/adb`.
    pub base: String,
    /// The store's file name, without its extension.
    pub name: String,
    /// Bound of the store's page cache, in bytes.
    pub store_cache: usize,
    pub passcode: Option<String>,
    pub urls: Urls,
    pub release_timeout: Duration,
}

/// OOBI URLs kept in each agent's configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Urls {
    pub curls: Vec<String>,
    pub iurls: Vec<String>,
    pub durls: Vec<String>,
}
