//! Filter parser (RFC 7644 §3.4.2.2) and PATCH path parser on arbitrary text: no panics, and
//! whatever parses prints to a canonical form that parses back to the same AST.
#![no_main]

use dirsync_scim::filter;
use dirsync_scim::path::PatchPath;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    match filter::parse(s) {
        Ok(f) => {
            let printed = f.to_string();
            assert_eq!(filter::parse(&printed), Ok(f), "{s:?} printed as {printed:?}");
        }
        Err(e) => assert!(e.position <= s.chars().count()),
    }
    if let Ok(p) = PatchPath::parse(s) {
        assert_eq!(PatchPath::parse(&p.to_string()), Ok(p));
    }
});
