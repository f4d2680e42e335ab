//! The controller's own events, staged through its agent: the approval of the agent's
//! delegation (`ixn`) and the passcode rotation (`rot`, with every identifier's re-encrypted
//! key-manager parameters). Each is checked by the one KEL validator (`keri::kel`) against the
//! controller's KEL, and a rotation's event and parameters are staged in the open batch
//! together or not at all: a refusal stages nothing, a storage failure abandons the batch.

use std::time::Instant;

use serde_json::Value;

use super::agent::{Accepted, Refusal};
use super::{identifiers, open_staging, Agency, Failure};
use crate::keri::ilk::Ilk;
use crate::keri::kel::SignedEvent;

impl Agency {
    /// Stages the controller's interaction event (the delegation approval); None when the
    /// controller has no agent here.
    pub fn stage_interaction(
        &mut self,
        controller: &str,
        ixn: SignedEvent,
        first_seen: &str,
        now: Instant,
    ) -> Result<Option<Accepted>, Failure> {
        if ixn.event.ilk() != Ilk::Ixn {
            return Err(Failure::Invalid(format!(
                "expected an interaction event (t \"ixn\"), got {:?}",
                ixn.event.ilk().as_str()
            )));
        }
        self.stage_controller_event(controller, ixn, None, first_seen, now)
    }

    /// Stages the controller's rotation with the identifiers' re-encrypted parameters `keys`
    /// (prefix → `{sxlt}` or `{prxs, nxts}`); None when the controller has no agent here.
    /// From the commit on, signed requests verify against the rotation's first key.
    pub fn stage_rotation(
        &mut self,
        controller: &str,
        rot: SignedEvent,
        keys: &Value,
        first_seen: &str,
        now: Instant,
    ) -> Result<Option<Accepted>, Failure> {
        if rot.event.ilk() != Ilk::Rot {
            return Err(Failure::Invalid(format!(
                "rot must be a rotation event (t \"rot\"), not {:?}",
                rot.event.ilk().as_str()
            )));
        }
        self.stage_controller_event(controller, rot, Some(keys), first_seen, now)
    }

    fn stage_controller_event(
        &mut self,
        controller: &str,
        signed: SignedEvent,
        keys: Option<&Value>,
        first_seen: &str,
        now: Instant,
    ) -> Result<Option<Accepted>, Failure> {
        if self.agent(controller, now)?.is_none() {
            return Ok(None);
        }
        let staging = open_staging(&mut self.staging, &self.store)?;
        let Some(loaded) = self.loaded.get_mut(controller) else {
            return Ok(None);
        };
        let agent = &mut loaded.agent;
        let mut rows = staging.batch.owner(controller);
        let outcome = (|| -> Result<Accepted, Failure> {
            let checked = agent
                .check_event(&rows, signed, first_seen)?
                .map_err(|Refusal(reason)| Failure::Invalid(reason))?;
            if checked.is_duplicate() {
                return Ok(Accepted::Duplicate);
            }
            let recrypted = match keys {
                Some(keys) => identifiers::recrypt(&rows, keys)?,
                None => Vec::new(),
            };
            let accepted = agent.stage_event(&mut rows, checked)?;
            identifiers::stage_recrypted(&mut rows, &recrypted)?;
            Ok(accepted)
        })();
        match &outcome {
            Ok(Accepted::Added) => {
                staging.touched.push(controller.to_owned());
                self.writes += 1;
            }
            Err(Failure::Storage(err)) => {
                log::error!("abandoning the batch: {err:#}");
                self.poisoned = true;
                // Its cached key state may have moved with what the batch will not keep.
                self.loaded.remove(controller);
            }
            _ => {}
        }
        outcome.map(Some)
    }
}
