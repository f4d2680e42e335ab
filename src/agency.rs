//! The agency: every agent, one per Signify controller, and the order they close in.

use std::time::Instant;

use anyhow::Result;

use crate::config::StartConfig;

/// The agents and their shared configuration.
pub struct Agency {
    name: String,
}

impl Agency {
    /// Opens the agency.
    pub fn open(config: &StartConfig) -> Result<Self> {
        Ok(Self {
            name: config.name.clone(),
        })
    }

    /// How many controllers have an agent here.
    pub fn known(&self) -> usize {
        0
    }

    /// How many agents are loaded now.
    pub fn loaded(&self) -> usize {
        0
    }

    /// One tock of agency work.
    pub fn tick(&mut self, _now: Instant) -> Result<()> {
        Ok(())
    }

    /// What is still open, for the log.
    pub fn describe_open(&self) -> Vec<String> {
        Vec::new()
    }

    /// Closes the agency.
    pub fn close(self) -> Result<()> {
        log::debug!("agency {} closed", self.name);
        Ok(())
    }
}
