//! Witnessed identifiers against keri's own witnesses: their OOBIs resolve (replies signed with
//! receipt couples), and identifiers name only witnesses the agent knows.

use rustix::process::Signal;

use crate::harness::Start;
use crate::identifiers::Controller;
use crate::oobis::resolve;
use crate::witnesses::Witnesses;

#[test]
fn witness_oobis_resolve_with_their_receipt_couples() {
    let witnesses = Witnesses::start(2);
    let mut keria = Start::new().start();
    let controller = Controller::boot(&keria);
    for witness in witnesses.list() {
        let operation = resolve(&keria, &controller, &witness.oobi_url);
        assert_eq!(operation["done"], true, "{operation}");
        assert!(operation.get("error").is_none(), "{operation}");
    }
    assert_eq!(keria.stop_with(Signal::TERM).code(), Some(0));
    witnesses.stop();
}
