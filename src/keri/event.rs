//! KERI v1 JSON key events: inception (`icp`), delegated inception (`dip`), rotation (`rot`),
//! delegated rotation (`drt`) and interaction (`ixn`).
//!
//! An `Event` is verified from received JSON (`Event::verify`), or built (`incept`,
//! `delegated_incept`, `interact`, `rotate`, in `build`) and verified the same way; it keeps
//! the compact serialization that signatures cover. Its type is an `Ilk` (`ilk`), its anchors
//! are `Seal`s (`seal`), its refusals are `EventError`s (`error`), and its signatures are
//! counted against a threshold by `signatures`.
//! Serialization is compact JSON in the received key order; the version string carries the
//! serialized size; the SAID is the Blake3-256 digest of the event with `#` dummies in its
//! SAID fields. An inception's prefix is either self-addressing (`i` is the SAID) or basic (`i`
//! is the single key; a non-transferable `B` key commits to no next keys, backers or seals).

use serde_json::Value;

use super::error::EventError;
use super::fields::{check_backers, Fields};
use super::ilk::Ilk;
use super::primitives::{Diger, Siger, Verfer};
use super::seal::Seal;
use super::serder::{sealed, shown, version_size};
use super::signatures::check_signatures;
use super::threshold::Threshold;

/// A verified or freshly built key event.
#[derive(Debug, Clone)]
pub struct Event {
    raw: Vec<u8>,
    value: Value,
    ilk: Ilk,
    said: String,
    prefix: String,
    sn: u64,
    keys: Vec<Verfer>,
    signing_threshold: Option<Threshold>,
    next_digests: Vec<Diger>,
    next_threshold: Option<Threshold>,
    backer_threshold: Option<u64>,
    backers: Vec<String>,
    removed_backers: Vec<String>,
    added_backers: Vec<String>,
    traits: Vec<String>,
    seals: Vec<Seal>,
    prior: Option<String>,
    delegator: Option<String>,
}

impl PartialEq for Event {
    fn eq(&self, other: &Self) -> bool {
        self.raw == other.raw
    }
}

impl Eq for Event {}

impl Event {
    /// Parses and verifies an event from its JSON bytes.
    pub fn parse(bytes: &[u8]) -> Result<Self, EventError> {
        let value: Value = serde_json::from_slice(bytes)
            .map_err(|error| EventError::NotJson(error.to_string()))?;
        Self::verify(&value)
    }

    /// Verifies a received event: version string, type, field labels and their order, field
    /// types, thresholds, serialized size and SAID (and prefix for an inception).
    pub fn verify(value: &Value) -> Result<Self, EventError> {
        let map = value.as_object().ok_or(EventError::NotObject)?;
        let fields = Fields { map };
        let version_value = fields.get("v")?;
        let declared = version_value
            .as_str()
            .and_then(version_size)
            .ok_or_else(|| EventError::Version(shown(version_value)))?;
        let ilk_value = fields.get("t")?;
        let ilk = ilk_value
            .as_str()
            .and_then(Ilk::parse)
            .ok_or_else(|| EventError::Ilk(shown(ilk_value)))?;
        if !map
            .keys()
            .map(String::as_str)
            .eq(ilk.labels().iter().copied())
        {
            return Err(EventError::FieldOrder {
                ilk,
                got: map.keys().cloned().collect(),
            });
        }
        let said = fields.string("d")?;
        let prefix = fields.string("i")?;
        let sn = fields.hex("s")?;
        let seals = fields.seals(ilk.is_inception())?;
        let mut event = Event {
            raw: Vec::new(),
            value: value.clone(),
            ilk,
            said: said.to_owned(),
            prefix: prefix.to_owned(),
            sn,
            keys: Vec::new(),
            signing_threshold: None,
            next_digests: Vec::new(),
            next_threshold: None,
            backer_threshold: None,
            backers: Vec::new(),
            removed_backers: Vec::new(),
            added_backers: Vec::new(),
            traits: Vec::new(),
            seals,
            prior: None,
            delegator: None,
        };
        if ilk.is_inception() {
            event.read_inception(&fields)?;
        } else {
            event.prior = Some(fields.string("p")?.to_owned());
            if sn == 0 {
                return Err(EventError::Invalid(format!(
                    "{} sequence number s must be at least 1",
                    ilk.as_str()
                )));
            }
            if ilk.is_establishment() {
                event.read_rotation(&fields)?;
            }
        }
        let self_addressing = ilk.is_inception() && Verfer::parse(prefix).is_err();
        let (raw, computed) = sealed(value, map, declared, said, self_addressing)
            .map_err(|sealing| EventError::unsealed(sealing, said))?;
        event.raw = raw;
        if self_addressing && prefix != computed {
            return Err(EventError::SaidMismatch {
                field: "i",
                got: prefix.to_owned(),
                computed,
            });
        }
        Ok(event)
    }

    /// Reads and checks the key and threshold fields of an establishment event.
    fn read_keys(&mut self, fields: &Fields<'_>) -> Result<(), EventError> {
        let signing_threshold = fields.threshold("kt")?;
        self.keys = fields.primitives("k", Verfer::parse)?;
        let next_threshold = fields.threshold("nt")?;
        self.next_digests = fields.primitives("n", Diger::parse)?;
        self.backer_threshold = Some(fields.hex_or_number("bt")?);
        if !signing_threshold.fits(self.keys.len(), true) {
            return Err(EventError::Invalid(format!(
                "signing threshold kt {signing_threshold} does not fit the {} keys in k",
                self.keys.len()
            )));
        }
        if !next_threshold.fits(self.next_digests.len(), false) {
            return Err(EventError::Invalid(format!(
                "next threshold nt {next_threshold} does not fit the {} digests in n",
                self.next_digests.len()
            )));
        }
        if self.next_digests.is_empty() != (next_threshold.as_count() == Some(0)) {
            return Err(EventError::Invalid(format!(
                "next threshold nt {next_threshold} must be 0 exactly when n is empty"
            )));
        }
        self.signing_threshold = Some(signing_threshold);
        self.next_threshold = Some(next_threshold);
        Ok(())
    }

    /// Reads and checks an inception's keys, backers, traits, delegator and prefix kind.
    fn read_inception(&mut self, fields: &Fields<'_>) -> Result<(), EventError> {
        if self.sn != 0 {
            return Err(EventError::Invalid(format!(
                "inception sequence number s must be 0; got {:x}",
                self.sn
            )));
        }
        self.read_keys(fields)?;
        self.backers = fields.owned_strings("b")?;
        self.traits = fields.owned_strings("c")?;
        if self.ilk == Ilk::Dip {
            let delegator = fields.string("di")?;
            if delegator.is_empty() {
                return Err(EventError::Invalid("delegator di must not be empty".into()));
            }
            self.delegator = Some(delegator.to_owned());
        }
        check_backers(&self.backers, "b")?;
        self.check_backer_threshold(self.backers.len())?;
        if let Ok(basic) = Verfer::parse(&self.prefix) {
            if self.keys != [basic.clone()] {
                return Err(EventError::Invalid(format!(
                    "basic prefix i {} must be the one key in k",
                    self.prefix
                )));
            }
            let no_data = fields.get("a")?.as_array().is_some_and(Vec::is_empty);
            let empty = self.next_digests.is_empty() && self.backers.is_empty() && no_data;
            if !basic.is_transferable() && !empty {
                return Err(EventError::Invalid(format!(
                    "non-transferable prefix i {} must have empty n, b and a",
                    self.prefix
                )));
            }
        }
        Ok(())
    }

    /// Reads and checks a rotation's keys and backer changes.
    fn read_rotation(&mut self, fields: &Fields<'_>) -> Result<(), EventError> {
        self.read_keys(fields)?;
        self.removed_backers = fields.owned_strings("br")?;
        self.added_backers = fields.owned_strings("ba")?;
        check_backers(&self.removed_backers, "br")?;
        check_backers(&self.added_backers, "ba")?;
        Ok(())
    }

    /// Checks `bt` against the number of backers the event leaves.
    pub(super) fn check_backer_threshold(&self, backers: usize) -> Result<(), EventError> {
        let threshold = self.backer_threshold.unwrap_or_default();
        let fits = usize::try_from(threshold)
            .is_ok_and(|threshold| threshold <= backers && (backers == 0 || threshold > 0));
        if !fits {
            return Err(EventError::Invalid(format!(
                "backer threshold bt {threshold:x} does not fit the {backers} backers"
            )));
        }
        Ok(())
    }

    /// The compact serialization that signatures cover.
    pub fn raw(&self) -> &[u8] {
        &self.raw
    }

    /// The event as JSON, in its serialized key order.
    pub fn value(&self) -> &Value {
        &self.value
    }

    /// The event type.
    pub fn ilk(&self) -> Ilk {
        self.ilk
    }

    /// The identifier prefix `i`.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The event's SAID `d`.
    pub fn said(&self) -> &str {
        &self.said
    }

    /// The sequence number `s`.
    pub fn sn(&self) -> u64 {
        self.sn
    }

    /// The signing keys `k` (empty for an interaction).
    pub fn keys(&self) -> Vec<Verfer> {
        self.keys.clone()
    }

    /// The numeric signing threshold `kt` (`None` for an interaction or a weighted threshold).
    pub fn signing_threshold(&self) -> Option<u64> {
        self.signing_threshold
            .as_ref()
            .and_then(Threshold::as_count)
    }

    /// The signing threshold `kt`, numeric or weighted (`None` for an interaction).
    pub fn kt(&self) -> Option<&Threshold> {
        self.signing_threshold.as_ref()
    }

    /// The next threshold `nt`, numeric or weighted (`None` for an interaction).
    pub fn nt(&self) -> Option<&Threshold> {
        self.next_threshold.as_ref()
    }

    /// The next key digests `n` (empty for an interaction).
    pub fn next_digests(&self) -> Vec<Diger> {
        self.next_digests.clone()
    }

    /// The numeric next threshold `nt` (`None` for an interaction or a weighted threshold).
    pub fn next_threshold(&self) -> Option<u64> {
        self.next_threshold.as_ref().and_then(Threshold::as_count)
    }

    /// The backer threshold `bt` (`None` for an interaction).
    pub fn backer_threshold(&self) -> Option<u64> {
        self.backer_threshold
    }

    /// The backers `b` (empty for an interaction).
    pub fn backers(&self) -> Vec<String> {
        self.backers.clone()
    }

    /// The backers a rotation removes (`br`).
    pub fn removed_backers(&self) -> &[String] {
        &self.removed_backers
    }

    /// The backers a rotation adds (`ba`).
    pub fn added_backers(&self) -> &[String] {
        &self.added_backers
    }

    /// The configuration traits `c` (empty for an interaction).
    pub fn traits(&self) -> Vec<String> {
        self.traits.clone()
    }

    /// The prior event's SAID `p` (`None` for an inception).
    pub fn prior(&self) -> Option<&str> {
        self.prior.as_deref()
    }

    /// The delegator `di` (delegated inceptions only).
    pub fn delegator(&self) -> Option<&str> {
        self.delegator.as_deref()
    }

    /// The anchored seals: the objects in `a` (other data there is kept in the event only).
    pub fn seals(&self) -> Vec<Seal> {
        self.seals.clone()
    }

    /// Checks indexed signatures of this event against `keys` with a signing threshold of 1.
    pub fn verify_signatures(&self, keys: &[Verfer], sigs: &[Siger]) -> Result<(), EventError> {
        check_signatures(&self.raw, keys, &Threshold::count(1), sigs).map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keri::build::{delegated_incept, incept, interact};
    use crate::keri::primitives::Signer;
    use crate::keri::serder::DUMMY;
    use proptest::prelude::*;
    use serde_json::Map;

    /// The controller's keys of section 7.1.
    const CONTROLLER_KEY: &str = "DAbWjobbaLqRB94KiAutAHb_qzPpOHm3LURA_ksxetVc";
    const CONTROLLER_NEXT: &str = "EIFG_uqfr1yN560LoHYHfvPAhxQ5sN6xZZT_E3h7d2tL";
    const CONTROLLER_AID: &str = "ELI7pg979AdhmvrjDeam2eAO2SR5niCgnjAJXJHtJose";
    const CONTROLLER_SEED: &str = "ACap1vZ_Xe0kvmhZ7UIqhsajzzYIUbKnJlxe6vbd_1uI";
    const AGENT_AID: &str = "EI4mlQjhXlBFHrCD4_2jzh_SSwfeSL5IDmaZQyEjn0wX";

    const ICP_DUMMIED: &str = r#"{"v":"KERI10JSON00012b_","t":"icp","d":"DUMMY","i":"DUMMY","s":"0","kt":"1","k":["DAbWjobbaLqRB94KiAutAHb_qzPpOHm3LURA_ksxetVc"],"nt":"1","n":["EIFG_uqfr1yN560LoHYHfvPAhxQ5sN6xZZT_E3h7d2tL"],"bt":"0","b":[],"c":[],"a":[]}"#;
    const ICP: &str = r#"{"v":"KERI10JSON00012b_","t":"icp","d":"ELI7pg979AdhmvrjDeam2eAO2SR5niCgnjAJXJHtJose","i":"ELI7pg979AdhmvrjDeam2eAO2SR5niCgnjAJXJHtJose","s":"0","kt":"1","k":["DAbWjobbaLqRB94KiAutAHb_qzPpOHm3LURA_ksxetVc"],"nt":"1","n":["EIFG_uqfr1yN560LoHYHfvPAhxQ5sN6xZZT_E3h7d2tL"],"bt":"0","b":[],"c":[],"a":[]}"#;
    const ICP_SIG: &str =
        "AACJwsJ0mvb4VgxD87H4jIsiT1QtlzznUy9zrX3lGdd48jjQRTv8FxlJ8ClDsGtkvK4Eekg5p-oPYiPvK_1eTXEG";
    const BOOT_BODY: &str = r#"{"icp":{"v":"KERI10JSON00012b_","t":"icp","d":"ELI7pg979AdhmvrjDeam2eAO2SR5niCgnjAJXJHtJose","i":"ELI7pg979AdhmvrjDeam2eAO2SR5niCgnjAJXJHtJose","s":"0","kt":"1","k":["DAbWjobbaLqRB94KiAutAHb_qzPpOHm3LURA_ksxetVc"],"nt":"1","n":["EIFG_uqfr1yN560LoHYHfvPAhxQ5sN6xZZT_E3h7d2tL"],"bt":"0","b":[],"c":[],"a":[]},"sig":"AACJwsJ0mvb4VgxD87H4jIsiT1QtlzznUy9zrX3lGdd48jjQRTv8FxlJ8ClDsGtkvK4Eekg5p-oPYiPvK_1eTXEG","stem":"signify:controller","pidx":1,"tier":"low"}"#;
    const DIP: &str = r#"{"v":"KERI10JSON00015f_","t":"dip","d":"EI4mlQjhXlBFHrCD4_2jzh_SSwfeSL5IDmaZQyEjn0wX","i":"EI4mlQjhXlBFHrCD4_2jzh_SSwfeSL5IDmaZQyEjn0wX","s":"0","kt":"1","k":["DHm1Vi6P5lT5QHixEuipi6eQH4U65pW-1-DjkQutBJZk"],"nt":"1","n":["EKhiv10xES0bSVWgHNl2AMk5iynd4C2C8L-bpXndrksw"],"bt":"0","b":[],"c":[],"a":[],"di":"ELI7pg979AdhmvrjDeam2eAO2SR5niCgnjAJXJHtJose"}"#;
    const APPROVAL_BODY: &str = r#"{"ixn":{"v":"KERI10JSON00013a_","t":"ixn","d":"EEvm6LZjrpjep3wer1oRL-qOxwNkN1bghuexiksUt4L1","i":"ELI7pg979AdhmvrjDeam2eAO2SR5niCgnjAJXJHtJose","s":"1","p":"ELI7pg979AdhmvrjDeam2eAO2SR5niCgnjAJXJHtJose","a":[{"i":"EI4mlQjhXlBFHrCD4_2jzh_SSwfeSL5IDmaZQyEjn0wX","s":"0","d":"EI4mlQjhXlBFHrCD4_2jzh_SSwfeSL5IDmaZQyEjn0wX"}]},"sigs":["AAAqMSbr3G64K658vv2EB3zzXWQGtjjDSE4H5guGnEFA-QG9zqZs0QR1Mebsy-9DbO6_ENLEHWwAnZVivaNb6fYL"]}"#;
    const IXN_DUMMIED: &str = r#"{"v":"KERI10JSON00013a_","t":"ixn","d":"DUMMY","i":"ELI7pg979AdhmvrjDeam2eAO2SR5niCgnjAJXJHtJose","s":"1","p":"ELI7pg979AdhmvrjDeam2eAO2SR5niCgnjAJXJHtJose","a":[{"i":"EI4mlQjhXlBFHrCD4_2jzh_SSwfeSL5IDmaZQyEjn0wX","s":"0","d":"EI4mlQjhXlBFHrCD4_2jzh_SSwfeSL5IDmaZQyEjn0wX"}]}"#;

    fn json(text: &str) -> Value {
        serde_json::from_str(text).unwrap()
    }

    fn controller_signer() -> Signer {
        Signer::parse(CONTROLLER_SEED).unwrap()
    }

    /// The synthetic agent of section 7.4: seed bytes 01..20, next seed bytes 65..84.
    fn agent_signers() -> (Signer, Signer) {
        let current: [u8; 32] = std::array::from_fn(|at| u8::try_from(at).unwrap() + 0x01);
        let next: [u8; 32] = std::array::from_fn(|at| u8::try_from(at).unwrap() + 0x65);
        (Signer::from_seed(&current), Signer::from_seed(&next))
    }

    fn controller_icp() -> Event {
        incept(
            &[Verfer::parse(CONTROLLER_KEY).unwrap()],
            &[Diger::parse(CONTROLLER_NEXT).unwrap()],
        )
    }

    fn agent_dip() -> Event {
        let (current, next) = agent_signers();
        delegated_incept(
            &[current.verfer()],
            &[Diger::blake3(next.verfer().qb64().as_bytes())],
            CONTROLLER_AID,
        )
    }

    #[test]
    fn controller_inception_matches_the_vector() {
        let event = controller_icp();
        assert_eq!(std::str::from_utf8(event.raw()).unwrap(), ICP);
        assert_eq!(event.raw().len(), 0x12b);
        assert_eq!(event.said(), CONTROLLER_AID);
        assert_eq!(event.prefix(), CONTROLLER_AID);
        assert_eq!(
            Diger::blake3(ICP_DUMMIED.replace("DUMMY", DUMMY).as_bytes()).qb64(),
            CONTROLLER_AID
        );
        let siger = controller_signer().sign_indexed(event.raw(), 0);
        assert_eq!(siger.qb64(), ICP_SIG);
        event.verify_signatures(&event.keys(), &[siger]).unwrap();
    }

    #[test]
    fn boot_body_icp_verifies_with_its_signature() {
        let body = json(BOOT_BODY);
        let event = Event::verify(&body["icp"]).unwrap();
        assert_eq!(std::str::from_utf8(event.raw()).unwrap(), ICP);
        assert_eq!(event, controller_icp());
        assert_eq!(event.ilk(), Ilk::Icp);
        assert_eq!(event.sn(), 0);
        assert_eq!(event.signing_threshold(), Some(1));
        assert_eq!(event.next_threshold(), Some(1));
        assert_eq!(event.backer_threshold(), Some(0));
        assert_eq!(event.keys()[0].qb64(), CONTROLLER_KEY);
        assert_eq!(event.next_digests()[0].qb64(), CONTROLLER_NEXT);
        assert_eq!(event.delegator(), None);
        assert_eq!(event.prior(), None);
        let siger = Siger::parse(body["sig"].as_str().unwrap()).unwrap();
        event.verify_signatures(&event.keys(), &[siger]).unwrap();
        let rebuilt = serde_json::json!({
            "icp": event.value(), "sig": ICP_SIG, "stem": "signify:controller", "pidx": 1, "tier": "low"
        });
        assert_eq!(rebuilt.to_string(), BOOT_BODY);
    }

    #[test]
    fn agent_delegated_inception_matches_the_vector() {
        let event = agent_dip();
        assert_eq!(std::str::from_utf8(event.raw()).unwrap(), DIP);
        assert_eq!(event.prefix(), AGENT_AID);
        assert_eq!(event.delegator(), Some(CONTROLLER_AID));
        let verified = Event::verify(&json(DIP)).unwrap();
        assert_eq!(verified, event);
        assert_eq!(verified.ilk(), Ilk::Dip);
        assert_eq!(verified.delegator(), Some(CONTROLLER_AID));
    }

    #[test]
    fn delegation_approval_matches_the_vector() {
        let seal = Seal::event(AGENT_AID, 0, AGENT_AID);
        let event = interact(CONTROLLER_AID, 1, CONTROLLER_AID, vec![seal.clone()]);
        assert_eq!(
            Diger::blake3(IXN_DUMMIED.replace("DUMMY", DUMMY).as_bytes()).qb64(),
            event.said()
        );
        let siger = controller_signer().sign_indexed(event.raw(), 0);
        let body = serde_json::json!({"ixn": event.value(), "sigs": [siger.qb64()]});
        assert_eq!(body.to_string(), APPROVAL_BODY);
        let received = json(APPROVAL_BODY);
        let verified = Event::verify(&received["ixn"]).unwrap();
        assert_eq!(verified, event);
        assert_eq!(
            verified.said(),
            "EEvm6LZjrpjep3wer1oRL-qOxwNkN1bghuexiksUt4L1"
        );
        assert_eq!(verified.prior(), Some(CONTROLLER_AID));
        assert_eq!(verified.sn(), 1);
        assert_eq!(verified.seals(), vec![seal]);
        assert_eq!(verified.seals()[0].sn(), Some(0));
        assert_eq!(verified.seals()[0].prefix(), Some(AGENT_AID));
        assert_eq!(verified.seals()[0].said(), Some(AGENT_AID));
        let sigs = [Siger::parse(received["sigs"][0].as_str().unwrap()).unwrap()];
        verified
            .verify_signatures(&controller_icp().keys(), &sigs)
            .unwrap();
    }

    #[test]
    fn parse_reads_bytes() {
        assert_eq!(Event::parse(ICP.as_bytes()).unwrap(), controller_icp());
        assert!(matches!(Event::parse(b"{"), Err(EventError::NotJson(_))));
    }

    fn error_of(text: &str) -> String {
        Event::verify(&json(text)).unwrap_err().to_string()
    }

    #[test]
    fn tampered_said_is_refused() {
        let tampered = ICP.replacen("ELI7pg979", "ELI7pg978", 1);
        assert_eq!(
            error_of(&tampered),
            "SAID mismatch: d is ELI7pg978AdhmvrjDeam2eAO2SR5niCgnjAJXJHtJose, \
             computed ELI7pg979AdhmvrjDeam2eAO2SR5niCgnjAJXJHtJose"
        );
        let prefix = ICP.replacen("\"i\":\"ELI7pg979", "\"i\":\"ELI7pg978", 1);
        assert_eq!(
            error_of(&prefix),
            "prefix mismatch: i is ELI7pg978AdhmvrjDeam2eAO2SR5niCgnjAJXJHtJose, \
             computed ELI7pg979AdhmvrjDeam2eAO2SR5niCgnjAJXJHtJose"
        );
        let changed_key = ICP.replace(
            CONTROLLER_KEY,
            "DHm1Vi6P5lT5QHixEuipi6eQH4U65pW-1-DjkQutBJZk",
        );
        assert!(error_of(&changed_key).starts_with("SAID mismatch: d is ELI7"));
    }

    #[test]
    fn wrong_field_order_and_extra_fields_are_refused() {
        let swapped = ICP.replacen(r#""s":"0","kt":"1""#, r#""kt":"1","s":"0""#, 1);
        assert_eq!(
            error_of(&swapped),
            "field order must be v, t, d, i, s, kt, k, nt, n, bt, b, c, a; \
             got v, t, d, i, kt, s, k, nt, n, bt, b, c, a"
        );
        let extra = ICP.replacen(r#""a":[]}"#, r#""a":[],"x":1}"#, 1);
        assert_eq!(
            error_of(&extra),
            "field order must be v, t, d, i, s, kt, k, nt, n, bt, b, c, a; \
             got v, t, d, i, s, kt, k, nt, n, bt, b, c, a, x"
        );
        let missing = ICP.replacen(r#","c":[]"#, "", 1);
        assert!(error_of(&missing).ends_with("got v, t, d, i, s, kt, k, nt, n, bt, b, a"));
        let dip_without_delegator = DIP.replacen(
            r#","di":"ELI7pg979AdhmvrjDeam2eAO2SR5niCgnjAJXJHtJose""#,
            "",
            1,
        );
        assert!(error_of(&dip_without_delegator)
            .starts_with("field order must be v, t, d, i, s, kt, k, nt, n, bt, b, c, a, di;"));
    }

    #[test]
    fn wrong_version_size_is_refused() {
        let wrong = ICP.replacen("00012b_", "00012c_", 1);
        assert_eq!(
            error_of(&wrong),
            "version string size 0x12c does not match serialized size 0x12b"
        );
        let malformed = ICP.replacen("KERI10JSON00012b_", "KERI10JSON00012B_", 1);
        assert_eq!(
            error_of(&malformed),
            "version string v must be KERI10JSON, 6 lowercase hex digits of size and _; got \"KERI10JSON00012B_\""
        );
        assert!(error_of(&ICP.replacen("KERI10JSON", "KERI10CBOR", 1))
            .starts_with("version string v must be"));
        assert_eq!(error_of(r#"{"t":"icp"}"#), "event has no field v");
    }

    #[test]
    fn wrong_field_types_are_refused() {
        assert_eq!(error_of("[]"), "event must be a JSON object");
        assert_eq!(
            error_of(&ICP.replacen(r#""t":"icp""#, r#""t":"rct""#, 1)),
            "event type t must be icp, dip, rot, drt or ixn; got \"rct\""
        );
        assert_eq!(
            error_of(&ICP.replacen(r#""kt":"1""#, r#""kt":1"#, 1)),
            "field kt: threshold 1 must be a hex string or a non-empty list of weights"
        );
        assert!(error_of(&ICP.replacen(r#""s":"0""#, r#""s":"00""#, 1))
            .starts_with("field s must be a lowercase hex"));
        assert_eq!(
            error_of(&ICP.replacen(r#""b":[]"#, r#""b":[1]"#, 1)),
            "field b must be an array of strings; got [1]"
        );
        assert_eq!(
            error_of(&ICP.replacen(r#""a":[]"#, r#""a":["x"]"#, 1)),
            "field a must be an array of seal objects; got [\"x\"]"
        );
        assert_eq!(
            error_of(&ICP.replacen(CONTROLLER_KEY, "Xbc", 1)),
            "field k[0]: not a qb64 Ed25519 verification key: code \"X\" is not D or B"
        );
        assert_eq!(
            error_of(&ICP.replacen(r#""kt":"1""#, r#""kt":"2""#, 1)),
            "signing threshold kt 2 does not fit the 1 keys in k"
        );
        assert_eq!(
            error_of(&ICP.replacen(r#""s":"0""#, r#""s":"1""#, 1)),
            "inception sequence number s must be 0; got 1"
        );
    }

    #[test]
    fn a_backer_threshold_may_be_a_number_as_signify_ts_0_4_writes_it() {
        let mut map: Map<String, Value> = serde_json::from_str(ICP).unwrap();
        map.insert("bt".into(), serde_json::json!(0));
        let (value, _, _) = crate::keri::serder::saidify(map, true);
        let event = Event::verify(&value).unwrap();
        assert_eq!(event.value()["bt"], serde_json::json!(0));
        assert!(event.raw().windows(7).any(|window| window == br#""bt":0,"#));
        let mut map: Map<String, Value> = serde_json::from_str(ICP).unwrap();
        map.insert("bt".into(), serde_json::json!(-1));
        let (value, _, _) = crate::keri::serder::saidify(map, true);
        assert!(Event::verify(&value)
            .unwrap_err()
            .to_string()
            .contains("a non-negative integer"));
    }

    #[test]
    fn bad_signatures_are_refused() {
        let event = controller_icp();
        let keys = event.keys();
        let mut raw = *controller_signer().sign_indexed(event.raw(), 0).raw();
        raw[10] ^= 0x40;
        let bad = Siger::new(raw, 0).unwrap();
        assert_eq!(
            event
                .verify_signatures(&keys, &[bad])
                .unwrap_err()
                .to_string(),
            "0 of 1 signatures verify against the current keys, the signing threshold 1 is not met"
        );
        let misplaced = controller_signer().sign_indexed(event.raw(), 1);
        assert_eq!(
            event
                .verify_signatures(&keys, &[misplaced])
                .unwrap_err()
                .to_string(),
            "signature index 1 has no key among the 1 current keys"
        );
        assert!(event.verify_signatures(&keys, &[]).is_err());
        let (agent, _) = agent_signers();
        assert!(event
            .verify_signatures(&keys, &[agent.sign_indexed(event.raw(), 0)])
            .is_err());
    }

    /// Any JSON value, with keys and strings drawn partly from event vocabulary.
    fn any_json() -> impl Strategy<Value = Value> {
        let vocabulary = vec![
            "icp",
            "dip",
            "ixn",
            "0",
            "1",
            "00",
            CONTROLLER_KEY,
            CONTROLLER_NEXT,
            CONTROLLER_AID,
        ];
        let text = prop_oneof![
            "[a-z0-9#_-]{0,12}".boxed(),
            "KERI10JSON[0-9a-f]{6}_".boxed(),
            prop::sample::select(vocabulary)
                .prop_map(str::to_owned)
                .boxed(),
            ".{0,20}".boxed(),
        ];
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            text.clone().prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 64, 14, move |inner| {
            let label = prop_oneof![
                prop::sample::select(Ilk::Dip.labels().to_vec())
                    .prop_map(str::to_owned)
                    .boxed(),
                "[a-z]{1,2}".boxed(),
            ];
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::vec((label, inner), 0..15)
                    .prop_map(|entries| Value::Object(entries.into_iter().collect())),
            ]
        })
    }

    /// Objects with the exact labels of some event type and arbitrary values.
    fn labelled_event() -> impl Strategy<Value = Value> {
        let ilk = prop::sample::select(vec![Ilk::Icp, Ilk::Dip, Ilk::Ixn]);
        (ilk, prop::collection::vec(any_json(), 14)).prop_map(|(ilk, values)| {
            let mut map: Map<String, Value> = ilk
                .labels()
                .iter()
                .zip(values)
                .map(|(label, value)| ((*label).to_owned(), value))
                .collect();
            map.insert("t".into(), ilk.as_str().into());
            Value::Object(map)
        })
    }

    proptest! {
        #[test]
        fn verify_never_panics_on_arbitrary_json(value in any_json()) {
            let _ = Event::verify(&value);
        }

        #[test]
        fn verify_never_panics_on_labelled_events(value in labelled_event()) {
            let _ = Event::verify(&value);
        }

        #[test]
        fn verify_never_panics_on_mutated_events(at in 0..ICP.len(), byte in any::<u8>()) {
            let mut bytes = ICP.as_bytes().to_vec();
            bytes[at] = byte;
            if let Ok(event) = Event::parse(&bytes) {
                prop_assert_eq!(event.raw(), ICP.as_bytes());
            }
        }
    }
}
