//! Property tests across modules: filter printing round-trips, and that parsing, PATCH and
//! normalisation never panic on arbitrary input.

use proptest::prelude::*;
use serde_json::{Map, Value, json};

use crate::filter::{self, CompValue, CompareOp, Filter};
use crate::patch;
use crate::path::{AttrPath, PatchPath};
use crate::resource;
use crate::schema::{ENTERPRISE_USER_SCHEMA, ResourceSchema};

fn attr_name() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z][a-zA-Z0-9_-]{0,6}",
        // Keywords are legal attribute names and must survive printing.
        prop::sample::select(vec!["and", "or", "not", "pr", "eq", "true", "null", "$ref", "value"])
            .prop_map(String::from),
    ]
}

fn urn() -> impl Strategy<Value = Option<String>> {
    prop::option::weighted(
        0.2,
        prop::sample::select(vec![
            "urn:ietf:params:scim:schemas:core:2.0:User",
            ENTERPRISE_USER_SCHEMA,
            "urn:x:y.z",
        ])
        .prop_map(String::from),
    )
}

fn attr_path() -> impl Strategy<Value = AttrPath> {
    (urn(), attr_name(), prop::option::weighted(0.3, attr_name())).prop_map(|(schema, attr, sub_attr)| AttrPath {
        schema,
        attr,
        sub_attr,
    })
}

fn simple_path() -> impl Strategy<Value = AttrPath> {
    attr_name().prop_map(AttrPath::new)
}

fn comp_value() -> impl Strategy<Value = CompValue> {
    prop_oneof![
        any::<String>().prop_map(CompValue::Str),
        "[a-z \"\\\\é]{0,6}".prop_map(CompValue::Str),
        any::<bool>().prop_map(CompValue::Bool),
        any::<i64>().prop_map(|n| CompValue::Num(n.into())),
        any::<f64>()
            .prop_filter_map("finite", serde_json::Number::from_f64)
            .prop_map(CompValue::Num),
        Just(CompValue::Null),
    ]
}

fn compare_op() -> impl Strategy<Value = CompareOp> {
    prop::sample::select(vec![
        CompareOp::Eq,
        CompareOp::Ne,
        CompareOp::Co,
        CompareOp::Sw,
        CompareOp::Ew,
        CompareOp::Gt,
        CompareOp::Ge,
        CompareOp::Lt,
        CompareOp::Le,
    ])
}

fn combine(leaf: BoxedStrategy<Filter>) -> BoxedStrategy<Filter> {
    leaf.prop_recursive(4, 24, 2, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 2..4).prop_map(Filter::and),
            prop::collection::vec(inner.clone(), 2..4).prop_map(Filter::or),
            inner.prop_map(|a| Filter::Not(Box::new(a))),
        ]
    })
    .boxed()
}

/// Filters valid inside a value path: relative, un-nested.
fn element_filter() -> BoxedStrategy<Filter> {
    let leaf = prop_oneof![
        (simple_path(), compare_op(), comp_value()).prop_map(|(p, op, v)| Filter::Compare(p, op, v)),
        simple_path().prop_map(Filter::Present),
    ]
    .boxed();
    combine(leaf)
}

fn any_filter() -> BoxedStrategy<Filter> {
    let leaf = prop_oneof![
        3 => (attr_path(), compare_op(), comp_value()).prop_map(|(p, op, v)| Filter::Compare(p, op, v)),
        1 => attr_path().prop_map(Filter::Present),
        1 => ((urn(), attr_name()), element_filter()).prop_map(|((schema, attr), f)| {
            Filter::ValuePath(AttrPath { schema, attr, sub_attr: None }, Box::new(f))
        }),
    ]
    .boxed();
    combine(leaf)
}

/// Strings drawn from the filter language's own alphabet, to reach deep parser states.
fn filterish() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop::sample::select(vec![
            "userName",
            "emails",
            "name.givenName",
            "urn:a:b:c",
            "type",
            "value",
            " ",
            "  ",
            "eq",
            "Eq",
            "pr",
            "co",
            "gt",
            "and",
            "OR",
            "not",
            "(",
            ")",
            "[",
            "]",
            ".",
            "\"x\"",
            "\"a\\\"b\"",
            "\"\\u00e9\"",
            "\"",
            "\\",
            "true",
            "null",
            "1",
            "-2.5e3",
            "bare",
            "é",
            "$ref",
        ]),
        0..16,
    )
    .prop_map(|parts| parts.concat())
}

fn json_key() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "userName",
            "USERNAME",
            "name",
            "givenName",
            "name.givenName",
            "emails",
            "value",
            "type",
            "primary",
            "active",
            "manager",
            "members",
            "display",
            "displayName",
            "id",
            "meta",
            "schemas",
            "password",
            "groups",
            "addresses",
            "phoneNumbers",
            "$ref",
            "employeeNumber",
            ENTERPRISE_USER_SCHEMA,
            "urn:scim:schemas:extension:enterprise:2.0",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
            "urn:ietf:params:scim:schemas:core:2.0:User",
        ])
        .prop_map(String::from),
        "[a-zA-Z$.:]{1,8}",
    ]
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        "[a-zA-Z0-9 @.]{0,8}".prop_map(Value::String),
        prop::sample::select(vec!["True", "false", "work", "home", "", "2011-08-01T18:29:49Z"]).prop_map(|s| json!(s)),
    ];
    leaf.prop_recursive(3, 32, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(json_key(), inner, 0..5).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn arb_object() -> impl Strategy<Value = Value> {
    prop::collection::btree_map(json_key(), arb_json(), 0..8).prop_map(|m| {
        let mut obj: Map<String, Value> = m.into_iter().collect();
        obj.insert("userName".into(), json!("u"));
        obj.insert("displayName".into(), json!("g"));
        Value::Object(obj)
    })
}

fn patch_path() -> impl Strategy<Value = Option<String>> {
    let known = prop::sample::select(vec![
        "userName",
        "name",
        "name.givenName",
        "NAME.FAMILYNAME",
        "emails",
        "emails.value",
        "emails[type eq \"work\"]",
        "emails[type eq \"work\"].value",
        "emails[type eq \"work\" and primary eq \"True\"].display",
        "emails[value co \"x\" or not (type pr)].type",
        "phoneNumbers[type eq \"mobile\"].value",
        "addresses[type eq \"work\"].postalCode",
        "members",
        "members[value eq \"a\"]",
        "members[value eq \"a\" or value eq \"b\"]",
        "members[display eq \"a\"]",
        "members.value",
        "manager",
        "manager.value",
        "manager.displayName",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
        "urn:ietf:params:scim:schemas:core:2.0:User",
        "active",
        "id",
        "meta.created",
        "groups",
        "password",
        "displayName",
        "x509Certificates[value eq \"x\"]",
        "bogus",
        "",
    ])
    .prop_map(String::from);
    prop::option::weighted(0.85, prop_oneof![4 => known, 1 => "[a-zA-Z.\\[\\]\" =]{0,12}"])
}

fn patch_body() -> impl Strategy<Value = Value> {
    let op = (
        prop::sample::select(vec!["add", "Add", "replace", "REPLACE", "remove", "Remove", "move"]),
        patch_path(),
        prop::option::weighted(0.9, arb_json()),
    )
        .prop_map(|(op, path, value)| {
            let mut m = Map::new();
            m.insert("op".into(), json!(op));
            if let Some(p) = path {
                m.insert("path".into(), json!(p));
            }
            if let Some(v) = value {
                m.insert("value".into(), v);
            }
            Value::Object(m)
        });
    prop::collection::vec(op, 0..5).prop_map(|ops| json!({"Operations": ops}))
}

proptest! {
    #[test]
    fn filter_display_round_trips(f in any_filter()) {
        let printed = f.to_string();
        let parsed = filter::parse(&printed);
        prop_assert_eq!(parsed.as_ref(), Ok(&f), "printed: {}", printed);
    }

    #[test]
    fn filter_parse_never_panics_and_reparses(s in prop_oneof![filterish(), any::<String>()]) {
        if let Ok(f) = filter::parse(&s) {
            let printed = f.to_string();
            prop_assert_eq!(filter::parse(&printed), Ok(f), "input: {:?} printed: {}", s, printed);
        } else if let Err(e) = filter::parse(&s) {
            prop_assert!(e.position <= s.chars().count());
        }
    }

    #[test]
    fn patch_path_parse_never_panics(s in prop_oneof![filterish(), any::<String>()]) {
        let with_bracket = format!("emails[{s}]");
        for input in [s.as_str(), with_bracket.as_str()] {
            if let Ok(p) = PatchPath::parse(input) {
                prop_assert_eq!(PatchPath::parse(&p.to_string()), Ok(p));
            }
        }
    }

    #[test]
    fn matches_never_panics(f in any_filter(), doc in arb_object()) {
        let rs = ResourceSchema::user();
        let _ = filter::matches(&f, &doc, Some(&rs), None);
        let _ = filter::matches(&f, &doc, None, rs.core.attribute("emails"));
    }

    #[test]
    fn patch_apply_never_panics_and_is_atomic(doc in arb_object(), body in patch_body(), group in any::<bool>()) {
        let rs = if group { ResourceSchema::group() } else { ResourceSchema::user() };
        if let Ok(ops) = patch::parse_request(&body) {
            let mut target = doc.clone();
            match patch::apply(&mut target, &ops, &rs) {
                Ok(()) => prop_assert!(target.is_object()),
                Err(e) => {
                    prop_assert_eq!(&target, &doc);
                    prop_assert!(e.status == 400, "{:?}", e);
                }
            }
            let _ = patch::split_member_ops(ops);
        }
    }

    #[test]
    fn normalize_never_panics_and_is_idempotent(body in prop_oneof![arb_json(), arb_object()], group in any::<bool>()) {
        let rs = if group { ResourceSchema::group() } else { ResourceSchema::user() };
        if let Ok(doc) = resource::normalize(&body, &rs) {
            prop_assert_eq!(resource::normalize(&doc, &rs), Ok(doc.clone()));
            let _ = resource::get_str(&doc, "name.givenName");
            let _ = resource::primary_email(&doc);
            prop_assert!(resource::check_immutable(&doc, &doc, &rs).is_ok());
            let mut d = doc;
            let _ = resource::take_members(&mut d);
        }
    }
}
