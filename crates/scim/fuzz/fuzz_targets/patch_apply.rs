//! PATCH parsing and application (RFC 7644 §3.5.2) and resource normalisation on arbitrary
//! JSON: no panics, and a failed PATCH leaves the document unchanged.
//!
//! Input: a JSON value. `[doc, body]` applies `body` to `doc`; anything else is applied as
//! the body to a fixed user document.
#![no_main]

use dirsync_scim::schema::ResourceSchema;
use dirsync_scim::{patch, resource};
use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};

fuzz_target!(|data: &[u8]| {
    let Ok(input) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let (doc, body) = match input {
        Value::Array(xs) if xs.len() == 2 => (xs[0].clone(), xs[1].clone()),
        other => (
            json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": "bjensen",
                "displayName": "Eng",
                "emails": [{"value": "b@x.org", "type": "work", "primary": true}],
                "members": [{"value": "a"}]
            }),
            other,
        ),
    };
    for rs in [ResourceSchema::user(), ResourceSchema::group()] {
        if let Ok(ops) = patch::parse_request(&body) {
            let mut target = doc.clone();
            if patch::apply(&mut target, &ops, &rs).is_err() {
                assert_eq!(target, doc);
            }
            let _ = patch::split_member_ops(ops);
        }
        if let Ok(normal) = resource::normalize(&doc, &rs) {
            assert_eq!(resource::normalize(&normal, &rs), Ok(normal.clone()));
        }
    }
});
