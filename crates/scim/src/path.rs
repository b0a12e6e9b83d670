//! Attribute paths (RFC 7644 §3.10) and PATCH target paths (RFC 7644 §3.5.2).

use std::fmt;

use crate::error::{ScimError, ScimType};
use crate::filter::{self, Filter};

/// `[URN ":"] attrName ["." subAttr]` (RFC 7644 §3.10).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttrPath {
    /// The schema URN prefix, if the client gave one, as written.
    pub schema: Option<String>,
    pub attr: String,
    pub sub_attr: Option<String>,
}

/// RFC 7643 §2.1 ATTRNAME = ALPHA *(nameChar); `$ref` is the one reserved exception.
pub(crate) fn is_attr_name(s: &str) -> bool {
    if s.eq_ignore_ascii_case("$ref") {
        return true;
    }
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn invalid_path(s: &str) -> ScimError {
    ScimError::bad_request(ScimType::InvalidPath, format!("invalid attribute path '{s}'"))
}

impl AttrPath {
    /// A path without URN or sub-attribute.
    pub fn new(attr: impl Into<String>) -> Self {
        Self {
            schema: None,
            attr: attr.into(),
            sub_attr: None,
        }
    }

    /// Parses `name.givenName`, `urn:...:User:userName`, `urn:...:enterprise:2.0:User:manager.value`.
    /// The URN prefix ends at the last ':' (RFC 7644 §3.10), so dots inside it ("2.0") are kept.
    pub fn parse(s: &str) -> Result<Self, ScimError> {
        let (schema, rest) = match s.rfind(':') {
            Some(i) => {
                let (urn, rest) = (&s[..i], &s[i + 1..]);
                let is_urn = urn.len() > 4 && urn.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("urn:"));
                if !is_urn || urn.chars().any(|c| c.is_whitespace() || "[]()\"".contains(c)) {
                    return Err(invalid_path(s));
                }
                (Some(urn.to_string()), rest)
            }
            None => (None, s),
        };
        let (attr, sub_attr) = match rest.split_once('.') {
            Some((a, sub)) => (a, Some(sub)),
            None => (rest, None),
        };
        if !is_attr_name(attr) || sub_attr.is_some_and(|sub| !is_attr_name(sub)) {
            return Err(invalid_path(s));
        }
        Ok(Self {
            schema,
            attr: attr.to_string(),
            sub_attr: sub_attr.map(str::to_string),
        })
    }
}

impl fmt::Display for AttrPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(urn) = &self.schema {
            write!(f, "{urn}:")?;
        }
        f.write_str(&self.attr)?;
        if let Some(sub) = &self.sub_attr {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

/// A PATCH `path` (RFC 7644 §3.5.2): `attrPath / valuePath [subAttr]`.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchPath {
    /// The attribute; it has no `sub_attr` when `filter` is set.
    pub attr: AttrPath,
    /// Value-selection filter, relative to the elements of the multi-valued attribute.
    pub filter: Option<Filter>,
    /// The sub-attribute after `]`, e.g. `value` in `emails[type eq "work"].value`.
    pub sub_attr: Option<String>,
}

impl PatchPath {
    /// Parses `members[value eq "2819c223"]`, `emails[type eq "work"].value`,
    /// `name.familyName` and URN-prefixed forms. Errors are 400 `invalidPath`.
    pub fn parse(s: &str) -> Result<Self, ScimError> {
        let s = s.trim();
        let Some(open) = s.find('[') else {
            return Ok(Self {
                attr: AttrPath::parse(s)?,
                filter: None,
                sub_attr: None,
            });
        };
        let attr = AttrPath::parse(&s[..open])?;
        if attr.sub_attr.is_some() {
            return Err(ScimError::bad_request(
                ScimType::InvalidPath,
                format!("invalid path '{s}': a value filter must follow an attribute, not a sub-attribute"),
            ));
        }
        let close = matching_bracket(s, open)
            .ok_or_else(|| ScimError::bad_request(ScimType::InvalidPath, format!("invalid path '{s}': missing ']'")))?;
        let inner = &s[open + 1..close];
        let filter = filter::parse_value_filter(inner)
            .map_err(|e| ScimError::bad_request(ScimType::InvalidPath, format!("invalid filter in path '{s}': {e}")))?;
        let rest = &s[close + 1..];
        let sub_attr = if rest.is_empty() {
            None
        } else {
            match rest.strip_prefix('.') {
                Some(sub) if is_attr_name(sub) => Some(sub.to_string()),
                _ => return Err(invalid_path(s)),
            }
        };
        Ok(Self {
            attr,
            filter: Some(filter),
            sub_attr,
        })
    }
}

/// Byte index of the `]` closing the `[` at `open`, skipping quoted strings.
fn matching_bracket(s: &str, open: usize) -> Option<usize> {
    let mut in_string = false;
    let mut escaped = false;
    for (i, c) in s.char_indices().skip_while(|(i, _)| *i <= open) {
        if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
        } else if c == '"' {
            in_string = true;
        } else if c == ']' {
            return Some(i);
        }
    }
    None
}

impl fmt::Display for PatchPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.attr)?;
        if let Some(filter) = &self.filter {
            write!(f, "[{filter}]")?;
        }
        if let Some(sub) = &self.sub_attr {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::{CompValue, CompareOp};

    fn ap(schema: Option<&str>, attr: &str, sub: Option<&str>) -> AttrPath {
        AttrPath {
            schema: schema.map(str::to_string),
            attr: attr.into(),
            sub_attr: sub.map(str::to_string),
        }
    }

    const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

    #[test]
    fn parses_attr_paths() {
        let cases = [
            ("userName", ap(None, "userName", None)),
            ("name.givenName", ap(None, "name", Some("givenName"))),
            ("members.$ref", ap(None, "members", Some("$ref"))),
            ("x-custom_1", ap(None, "x-custom_1", None)),
            (
                "urn:ietf:params:scim:schemas:core:2.0:User:userName",
                ap(Some("urn:ietf:params:scim:schemas:core:2.0:User"), "userName", None),
            ),
            (
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
                ap(Some(ENT), "manager", Some("value")),
            ),
            ("URN:foo:bar", ap(Some("URN:foo"), "bar", None)),
        ];
        for (s, want) in cases {
            let got = AttrPath::parse(s).unwrap();
            assert_eq!(got, want, "{s}");
            assert_eq!(got.to_string(), s);
        }
    }

    #[test]
    fn rejects_bad_attr_paths() {
        for s in [
            "",
            "1abc",
            "a.b.c",
            "name.",
            ".name",
            "a b",
            "foo:bar",
            "urn:",
            "urn:x:",
            "emails[type eq \"w\"]",
            "a..b",
            "na$me",
        ] {
            let e = AttrPath::parse(s).unwrap_err();
            assert_eq!((e.status, e.scim_type), (400, Some(ScimType::InvalidPath)), "{s}");
        }
    }

    fn eq(attr: &str, v: &str) -> Filter {
        Filter::Compare(AttrPath::new(attr), CompareOp::Eq, CompValue::Str(v.into()))
    }

    #[test]
    fn parses_patch_paths() {
        let cases = [
            (
                "members[value eq \"2819c223\"]",
                PatchPath {
                    attr: AttrPath::new("members"),
                    filter: Some(eq("value", "2819c223")),
                    sub_attr: None,
                },
            ),
            (
                "emails[type eq \"work\"].value",
                PatchPath {
                    attr: AttrPath::new("emails"),
                    filter: Some(eq("type", "work")),
                    sub_attr: Some("value".into()),
                },
            ),
            (
                "addresses[type eq \"work\"].postalCode",
                PatchPath {
                    attr: AttrPath::new("addresses"),
                    filter: Some(eq("type", "work")),
                    sub_attr: Some("postalCode".into()),
                },
            ),
            (
                "emails[type eq \"other\"].Value",
                PatchPath {
                    attr: AttrPath::new("emails"),
                    filter: Some(eq("type", "other")),
                    sub_attr: Some("Value".into()),
                },
            ),
            (
                "name.familyName",
                PatchPath {
                    attr: ap(None, "name", Some("familyName")),
                    filter: None,
                    sub_attr: None,
                },
            ),
            (
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
                PatchPath {
                    attr: ap(Some(ENT), "manager", None),
                    filter: None,
                    sub_attr: None,
                },
            ),
            (
                "urn:ietf:params:scim:schemas:core:2.0:User:emails[type eq \"work\"].value",
                PatchPath {
                    attr: ap(Some("urn:ietf:params:scim:schemas:core:2.0:User"), "emails", None),
                    filter: Some(eq("type", "work")),
                    sub_attr: Some("value".into()),
                },
            ),
            (
                "members[value eq \"a]b\"]",
                PatchPath {
                    attr: AttrPath::new("members"),
                    filter: Some(eq("value", "a]b")),
                    sub_attr: None,
                },
            ),
            (
                "  active ",
                PatchPath {
                    attr: AttrPath::new("active"),
                    filter: None,
                    sub_attr: None,
                },
            ),
        ];
        for (s, want) in cases {
            assert_eq!(PatchPath::parse(s).unwrap(), want, "{s}");
        }
        let shown = PatchPath::parse("emails[type eq \"work\"].value").unwrap().to_string();
        assert_eq!(shown, "emails[type eq \"work\"].value");
    }

    #[test]
    fn rejects_bad_patch_paths() {
        for s in [
            "emails[type eq \"work\"",
            "emails[type eqq \"work\"]",
            "emails[]",
            "emails[type eq \"work\"]value",
            "emails[type eq \"work\"].",
            "name.givenName[type eq \"x\"]",
            "emails[type eq \"work\"].value.x",
            "",
        ] {
            let e = PatchPath::parse(s).unwrap_err();
            assert_eq!(e.scim_type, Some(ScimType::InvalidPath), "{s}");
        }
    }
}
