//! How the generated types' `serde::Serialize` (derived, see `build.rs`) writes the fields
//! prost keeps in wire form: times as RFC 3339 strings (`2026-12-01T17:00:00.123Z`), enum
//! fields by name in snake case (`attribute`, `billed`). Field names stay the proto names.
//!
//! Not the proto3 JSON mapping (`pbjson`): that would replace `prost_types::Timestamp` by
//! another type across the workspace, and write 64-bit integers as strings.

use serde::{Serialize, Serializer};

/// A time field of a message (`Option` as prost generates it); unset is `null`.
pub fn optional_timestamp<S: Serializer>(time: &Option<prost_types::Timestamp>, s: S) -> Result<S::Ok, S::Error> {
    match time {
        Some(t) => timestamp(t, s),
        None => s.serialize_none(),
    }
}

/// A time held by a oneof variant.
pub fn timestamp<S: Serializer>(time: &prost_types::Timestamp, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(time)
}

/// An enum field (`i32` in prost) by its variant's name; a number the enum does not know (from a
/// newer peer) stays a number, as in the proto3 JSON mapping.
pub fn enumeration<E, S>(value: &i32, s: S) -> Result<S::Ok, S::Error>
where
    E: TryFrom<i32> + Serialize,
    S: Serializer,
{
    match E::try_from(*value) {
        Ok(known) => known.serialize(s),
        Err(_) => s.serialize_i32(*value),
    }
}

/// A proto3 `optional` enum field (`Option<i32>` in prost); unset is `null`.
pub fn optional_enumeration<E, S>(value: &Option<i32>, s: S) -> Result<S::Ok, S::Error>
where
    E: TryFrom<i32> + Serialize,
    S: Serializer,
{
    match value {
        Some(v) => enumeration::<E, S>(v, s),
        None => s.serialize_none(),
    }
}
