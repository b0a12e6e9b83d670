//! Filter compatibility rules: rewrites of a parsed filter that let IdPs' matching queries
//! find what they mean, applied before the filter reaches the store. Each rule is a row of
//! data, named after the IdP behaviour it serves (docs/idp/notes.md), and applies to every client:
//! a rule only fires on paths the schema would otherwise not resolve to a comparable value,
//! so it never changes the meaning of a filter that already works.

use crate::filter::Filter;
use crate::path::AttrPath;
use crate::schema::{AttrType, ResourceSchema};

/// An attribute name some IdP uses in filters for an attribute the schema spells differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FilterAlias {
    /// Why the rule exists, with its source.
    pub rule: &'static str,
    /// The resource type it applies to ("User", "Group").
    pub resource: &'static str,
    /// The name as the IdP writes it (case-insensitive, without URN or sub-attribute).
    pub from: &'static str,
    /// The attribute and sub-attribute it stands for.
    pub to: (&'static str, Option<&'static str>),
}

/// Attribute aliases in filters. `email` is not a SCIM 2.0 attribute, yet PingOne's
/// documented matching filter is `email Co "%s"` ([PING-p1], docs/idp/notes.md B5.2); it means the
/// user's e-mail addresses.
pub const FILTER_ALIASES: &[FilterAlias] = &[FilterAlias {
    rule: "pingone-email-filter: `email` in a filter is `emails.value` ([PING-p1] B5.2)",
    resource: "User",
    from: "email",
    to: ("emails", Some("value")),
}];

/// Applies the filter compatibility rules for resource type `rs`:
/// - [`FILTER_ALIASES`] for names the schema does not know;
/// - a single-valued complex attribute compared as a whole compares its `value`
///   sub-attribute, as RFC 7644 §3.4.2.2 does for multi-valued ones: Entra's reference
///   check `id eq "…" and manager eq "<manager id>"` ([MS-tut] Example 4, docs/idp/notes.md B1.16).
pub fn rewrite_filter(f: &Filter, rs: &ResourceSchema) -> Filter {
    match f {
        Filter::And(xs) => Filter::And(xs.iter().map(|x| rewrite_filter(x, rs)).collect()),
        Filter::Or(xs) => Filter::Or(xs.iter().map(|x| rewrite_filter(x, rs)).collect()),
        Filter::Not(inner) => Filter::Not(Box::new(rewrite_filter(inner, rs))),
        Filter::Compare(p, op, v) => Filter::Compare(rewrite_path(p, rs), *op, v.clone()),
        Filter::Present(p) => Filter::Present(rewrite_path(p, rs)),
        // Paths inside a value filter are relative to the element: no rule applies there.
        Filter::ValuePath(p, inner) => {
            Filter::ValuePath(alias(p, rs, false).unwrap_or_else(|| p.clone()), inner.clone())
        }
    }
}

/// `p` renamed by [`FILTER_ALIASES`]; `with_sub` adds the alias's sub-attribute (not for the
/// attribute of a value path, whose filter addresses the elements).
fn alias(p: &AttrPath, rs: &ResourceSchema, with_sub: bool) -> Option<AttrPath> {
    if p.schema.is_some() || rs.resolve(&AttrPath::new(p.attr.clone())).is_some() {
        return None;
    }
    let a = FILTER_ALIASES
        .iter()
        .find(|a| a.resource.eq_ignore_ascii_case(&rs.name) && a.from.eq_ignore_ascii_case(&p.attr))?;
    Some(AttrPath {
        schema: None,
        attr: a.to.0.to_owned(),
        sub_attr: p
            .sub_attr
            .clone()
            .or_else(|| a.to.1.filter(|_| with_sub).map(str::to_owned)),
    })
}

fn rewrite_path(p: &AttrPath, rs: &ResourceSchema) -> AttrPath {
    if let Some(aliased) = alias(p, rs, true) {
        return aliased;
    }
    match rs.resolve(p) {
        Some(r)
            if r.sub_attr.is_none()
                && !r.attr.multi_valued
                && r.attr.attr_type == AttrType::Complex
                && r.attr.sub_attribute("value").is_some() =>
        {
            AttrPath {
                sub_attr: Some("value".to_owned()),
                ..p.clone()
            }
        }
        _ => p.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::parse;

    #[test]
    fn rewrites_filters() {
        let user = ResourceSchema::user();
        let group = ResourceSchema::group();
        let cases = [
            // PingOne's example matching filters (B5.2).
            (&user, "email Co \"a@b.c\"", "emails.value co \"a@b.c\""),
            (&user, "EMAIL eq \"a@b.c\"", "emails.value eq \"a@b.c\""),
            (&user, "email pr", "emails.value pr"),
            (&user, "email[type eq \"work\"]", "emails[type eq \"work\"]"),
            // Entra's manager reference check (B1.16).
            (
                &user,
                "id eq \"u1\" and manager eq \"m1\"",
                "id eq \"u1\" and manager.value eq \"m1\"",
            ),
            (
                &user,
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager eq \"m1\"",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq \"m1\"",
            ),
            (&user, "not (manager pr)", "not (manager.value pr)"),
            // Filters that already mean something are left alone.
            (&user, "userName eq \"x\"", "userName eq \"x\""),
            (&user, "emails eq \"x\"", "emails eq \"x\""),
            (&user, "name.givenName eq \"x\"", "name.givenName eq \"x\""),
            (&user, "emails[value eq \"x\"]", "emails[value eq \"x\"]"),
            (&group, "members eq \"u1\"", "members eq \"u1\""),
            (&group, "email eq \"x\"", "email eq \"x\""),
        ];
        for (rs, input, want) in cases {
            let got = rewrite_filter(&parse(input).unwrap(), rs);
            assert_eq!(got, parse(want).unwrap(), "{input}");
        }
    }
}
