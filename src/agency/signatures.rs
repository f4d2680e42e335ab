//! Indexed signatures as the store keeps them: qb64, comma-separated.

use anyhow::{anyhow, Result};

use crate::keri::primitives::Siger;

/// Stored signatures: qb64, comma-separated.
pub fn parse(text: &str) -> Result<Vec<Siger>> {
    text.split(',')
        .filter(|sig| !sig.is_empty())
        .map(|sig| Siger::parse(sig).map_err(|err| anyhow!("{err}")))
        .collect()
}

/// Stored signatures from qb64 signatures.
pub fn join(sigs: &[Siger]) -> String {
    sigs.iter().map(Siger::qb64).collect::<Vec<_>>().join(",")
}
