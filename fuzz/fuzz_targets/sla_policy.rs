//! Feeds arbitrary text to the SLA policy file's reader as the CLI reads it
//! (`serde_json` into `kpi::SlaPolicy`, then `validate`): no panic, and a
//! policy it accepts survives its own JSON form unchanged.
#![no_main]

use caseledger::kpi::SlaPolicy;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(policy) = serde_json::from_str::<SlaPolicy>(text) else {
        return;
    };
    if policy.validate().is_err() {
        return;
    }
    let json = serde_json::to_string(&policy).expect("a policy serialises");
    let again: SlaPolicy = serde_json::from_str(&json).expect("its own JSON is read back");
    assert_eq!(again, policy);
    assert!(again.validate().is_ok());
});
