//! Test vectors from a recorded session of signify-ts 0.3.0 with KERIA 0.4.1: identifier
//! `aid1` (`icp`, `ixn`, `rot`, each with its signature), its end-role reply and the key state
//! and event answers KERIA gave for it, and the agent OOBI stream KERIA served for `bob`.

/// `AID1_ICP` as signed.
pub(super) const AID1_ICP: &str = r#"{"v":"KERI10JSON00012b_","t":"icp","d":"EGc7Zir5bH1REg7wVjSGhj0jkfZPoXYTc1CNE3EWHj8N","i":"EGc7Zir5bH1REg7wVjSGhj0jkfZPoXYTc1CNE3EWHj8N","s":"0","kt":"1","k":["DOrj0gtYYhbck3KYUVzyBQIWQ7AGiQrfsqBJzec9JwjM"],"nt":"1","n":["EMlUQa_m72evU4_1VXEi6NzUWncULKieArG4UHP9jLCt"],"bt":"0","b":[],"c":[],"a":[]}"#;
/// Signature of `AID1_ICP` by its key 0.
pub(super) const AID1_ICP_SIG: &str =
    "AAAvi9uFH_VkdGz5PCWvud89NcfCj16gv_vpWeV-pNZ4ShUwLfr0gUWcaqjxjMY-ftiW40oddfHBqzCKk3PIdnMN";
/// `AID1_IXN` as signed.
pub(super) const AID1_IXN: &str = r#"{"v":"KERI10JSON0000f9_","t":"ixn","d":"ECtqs5EzziS6dxs7T3EDW-Kwx3lLIXWve_l6JvgOIdLo","i":"EGc7Zir5bH1REg7wVjSGhj0jkfZPoXYTc1CNE3EWHj8N","s":"1","p":"EGc7Zir5bH1REg7wVjSGhj0jkfZPoXYTc1CNE3EWHj8N","a":["EGc7Zir5bH1REg7wVjSGhj0jkfZPoXYTc1CNE3EWHj8N"]}"#;
/// Signature of `AID1_IXN`.
pub(super) const AID1_IXN_SIG: &str =
    "AACz_T0_u2WIxRHiNQwwtkTbHxw3G-8sf_uGbe_xv0CgJz3W_q4DfL8lfsibSIHu4jpbbQdUHoyJPl_JlmJII68I";
/// `AID1_ROT` as signed.
pub(super) const AID1_ROT: &str = r#"{"v":"KERI10JSON000160_","t":"rot","d":"EF4z1gLJa6kMdBTl3RzKjJr8sZ7sO9_esenPI5Kw7T8b","i":"EGc7Zir5bH1REg7wVjSGhj0jkfZPoXYTc1CNE3EWHj8N","s":"2","p":"ECtqs5EzziS6dxs7T3EDW-Kwx3lLIXWve_l6JvgOIdLo","kt":"1","k":["DEx_JsUOwIspEcIKW-iKX28uSO97VZaVU3rOCTE8h7sT"],"nt":"1","n":["ELqSVmdEMjumiu77fwVu56nfO5A2ulEyfuihmtyAeZyt"],"bt":"0","br":[],"ba":[],"a":[]}"#;
/// Signature of `AID1_ROT` by its new key 0.
pub(super) const AID1_ROT_SIG: &str =
    "AACS5zy4elS83Gnz_GdKqaYOFRiNcdKjirVPOjKgKc1FZgNlZg1KjLy2tuG_zQYaU09Y_8ljyLWkRrqlqi_THWIG";
/// `AID1_END_ROLE` as signed.
pub(super) const AID1_END_ROLE: &str = r#"{"v":"KERI10JSON000111_","t":"rpy","d":"ECPiOTi2LkxXZZJDdJkXzlwuKG7fLRNCNyyXWJ1ZtlH5","dt":"2026-11-24T21:59:12.366000+00:00","r":"/end/role/add","a":{"cid":"EGc7Zir5bH1REg7wVjSGhj0jkfZPoXYTc1CNE3EWHj8N","role":"agent","eid":"EH9JrxG_QgTgLjRorzwe0YpM5kyOT8-qgVhGy2jTTodD"}}"#;
/// Signature of `AID1_END_ROLE` by aid1 after its rotation.
pub(super) const AID1_END_ROLE_SIG: &str =
    "AABSqDjyTFfkiLdJbW0pKftHJD7lqbL306FidncIotZMU7XrmWUBLSLdgiIyws6-v2_FKY-2raIxbykGzJS2X5EK";
/// `state` of `GET /identifiers/aid1` after inception.
pub(super) const AID1_STATE_AFTER_ICP: &str = r#"{"vn":[1,0],"i":"EGc7Zir5bH1REg7wVjSGhj0jkfZPoXYTc1CNE3EWHj8N","s":"0","p":"","d":"EGc7Zir5bH1REg7wVjSGhj0jkfZPoXYTc1CNE3EWHj8N","f":"0","dt":"2026-11-24T21:59:10.739045+00:00","et":"icp","kt":"1","k":["DOrj0gtYYhbck3KYUVzyBQIWQ7AGiQrfsqBJzec9JwjM"],"nt":"1","n":["EMlUQa_m72evU4_1VXEi6NzUWncULKieArG4UHP9jLCt"],"bt":"0","b":[],"c":[],"ee":{"s":"0","d":"EGc7Zir5bH1REg7wVjSGhj0jkfZPoXYTc1CNE3EWHj8N","br":[],"ba":[]},"di":""}"#;
/// `GET /states?pre=aid1` after the rotation.
pub(super) const AID1_STATE_AFTER_ROT: &str = r#"{"vn":[1,0],"i":"EGc7Zir5bH1REg7wVjSGhj0jkfZPoXYTc1CNE3EWHj8N","s":"2","p":"ECtqs5EzziS6dxs7T3EDW-Kwx3lLIXWve_l6JvgOIdLo","d":"EF4z1gLJa6kMdBTl3RzKjJr8sZ7sO9_esenPI5Kw7T8b","f":"2","dt":"2026-11-24T21:59:12.020623+00:00","et":"rot","kt":"1","k":["DEx_JsUOwIspEcIKW-iKX28uSO97VZaVU3rOCTE8h7sT"],"nt":"1","n":["ELqSVmdEMjumiu77fwVu56nfO5A2ulEyfuihmtyAeZyt"],"bt":"0","b":[],"c":[],"ee":{"s":"2","d":"EF4z1gLJa6kMdBTl3RzKjJr8sZ7sO9_esenPI5Kw7T8b","br":[],"ba":[]},"di":""}"#;
/// `atc` of the events in `GET /events?pre=aid1`.
pub(super) const AID1_ATC: [&str; 3] = [
    "-VAn-AABAAAvi9uFH_VkdGz5PCWvud89NcfCj16gv_vpWeV-pNZ4ShUwLfr0gUWcaqjxjMY-ftiW40oddfHBqzCKk3PIdnMN-EAB0AAAAAAAAAAAAAAAAAAAAAAA1AAG2026-11-24T21c59c10d739045p00c00",
    "-VAn-AABAACz_T0_u2WIxRHiNQwwtkTbHxw3G-8sf_uGbe_xv0CgJz3W_q4DfL8lfsibSIHu4jpbbQdUHoyJPl_JlmJII68I-EAB0AAAAAAAAAAAAAAAAAAAAAAB1AAG2026-11-24T21c59c11d239146p00c00",
    "-VAn-AABAACS5zy4elS83Gnz_GdKqaYOFRiNcdKjirVPOjKgKc1FZgNlZg1KjLy2tuG_zQYaU09Y_8ljyLWkRrqlqi_THWIG-EAB0AAAAAAAAAAAAAAAAAAAAAAC1AAG2026-11-24T21c59c12d020623p00c00",
];
/// The agent of the controller of aid1.
pub(super) const AGENT1: &str = "EH9JrxG_QgTgLjRorzwe0YpM5kyOT8-qgVhGy2jTTodD";
/// What KERIA served for `GET /oobi/{bob}/agent/{agent}`.
pub(super) const AGENT_OOBI: &[u8] = include_bytes!("testdata/keria-0.4.1-agent-oobi.cesr");
/// What a keri 1.2.13 witness served for `GET /oobi/{witness}/controller`: its non-transferable
/// inception, then its location and end-role replies signed with receipt couples (`-C`).
pub(super) const WITNESS_OOBI: &[u8] = include_bytes!("testdata/keri-1.2.13-witness-oobi.cesr");
/// That witness.
pub(super) const WITNESS: &str = "BC11WdZjwiyjayUNmuRuYNrIwlUgy-EAQk3qPZbS0GKi";
