//! The type of a key event (`t`): inception, delegated inception, interaction, rotation and
//! delegated rotation, with the field labels each requires in order.

use std::fmt;

/// The type of an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Ilk {
    /// Inception.
    Icp,
    /// Delegated inception.
    Dip,
    /// Interaction.
    Ixn,
    /// Rotation.
    Rot,
    /// Delegated rotation.
    Drt,
}

impl Ilk {
    /// The `t` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Ilk::Icp => "icp",
            Ilk::Dip => "dip",
            Ilk::Ixn => "ixn",
            Ilk::Rot => "rot",
            Ilk::Drt => "drt",
        }
    }

    /// Reads a `t` value.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "icp" => Some(Ilk::Icp),
            "dip" => Some(Ilk::Dip),
            "ixn" => Some(Ilk::Ixn),
            "rot" => Some(Ilk::Rot),
            "drt" => Some(Ilk::Drt),
            _ => None,
        }
    }

    /// The field labels of this event type, in their required order.
    pub fn labels(self) -> &'static [&'static str] {
        match self {
            Ilk::Icp => &[
                "v", "t", "d", "i", "s", "kt", "k", "nt", "n", "bt", "b", "c", "a",
            ],
            Ilk::Dip => &[
                "v", "t", "d", "i", "s", "kt", "k", "nt", "n", "bt", "b", "c", "a", "di",
            ],
            Ilk::Ixn => &["v", "t", "d", "i", "s", "p", "a"],
            Ilk::Rot | Ilk::Drt => &[
                "v", "t", "d", "i", "s", "p", "kt", "k", "nt", "n", "bt", "br", "ba", "a",
            ],
        }
    }

    /// Whether the event establishes keys (an inception or a rotation).
    pub fn is_establishment(self) -> bool {
        !matches!(self, Ilk::Ixn)
    }

    /// Whether the event starts a key event log.
    pub fn is_inception(self) -> bool {
        matches!(self, Ilk::Icp | Ilk::Dip)
    }
}

impl fmt::Display for Ilk {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}
