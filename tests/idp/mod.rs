//! Replays of each IdP's documented request sequence against the running service: headers,
//! casing and bodies exactly as the IdP sends them, asserting what that IdP checks.
