use super::*;
use crate::schema::{ENTERPRISE_USER_SCHEMA, USER_SCHEMA};
use serde_json::json;

const ENT: &str = ENTERPRISE_USER_SCHEMA;

fn body(ops: Value) -> Value {
    json!({"schemas": [PATCH_SCHEMA], "Operations": ops})
}

fn run(doc: &Value, ops: Value, rs: &ResourceSchema) -> Result<Value, ScimError> {
    let ops = parse_request(&body(ops))?;
    let mut out = doc.clone();
    match apply(&mut out, &ops, rs) {
        Ok(()) => Ok(out),
        Err(e) => {
            assert_eq!(&out, doc, "a failed PATCH must leave the document unchanged");
            Err(e)
        }
    }
}

fn base_user() -> Value {
    json!({
        "schemas": [USER_SCHEMA],
        "userName": "bjensen",
        "active": true,
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
        "emails": [
            {"value": "bjensen@example.com", "type": "work", "primary": true},
            {"value": "babs@jensen.org", "type": "home"}
        ]
    })
}

/// Applies `ops` to `base_user()` and compares with `base_user()` changed by `edit`.
fn user_case(ops: Value, edit: impl FnOnce(&mut Value)) -> (Value, Value) {
    let rs = ResourceSchema::user();
    let got = run(&base_user(), ops.clone(), &rs).unwrap_or_else(|e| panic!("{ops}: {e:?}"));
    let mut want = base_user();
    edit(&mut want);
    (got, want)
}

#[test]
fn parses_requests() {
    let cases = [
        (
            json!({"schemas": [PATCH_SCHEMA], "Operations": [{"op": "Replace", "path": "active", "value": "False"}]}),
            vec![PatchOperation {
                op: PatchOpKind::Replace,
                path: Some(PatchPath::parse("active").unwrap()),
                value: Some(json!("False")),
            }],
        ),
        (
            json!({"Operations": [{"op": "ADD", "value": {"active": true}}]}),
            vec![PatchOperation {
                op: PatchOpKind::Add,
                path: None,
                value: Some(json!({"active": true})),
            }],
        ),
        (
            json!({"schemas": "odd", "operations": [{"OP": "remove", "Path": "members[value eq \"a\"]"}]}),
            vec![PatchOperation {
                op: PatchOpKind::Remove,
                path: Some(PatchPath::parse("members[value eq \"a\"]").unwrap()),
                value: None,
            }],
        ),
        (
            json!({"Operations": [{"op": "replace", "path": "", "value": {"a": 1}}, {"op": "replace", "path": null, "value": null}]}),
            vec![
                PatchOperation {
                    op: PatchOpKind::Replace,
                    path: None,
                    value: Some(json!({"a": 1})),
                },
                PatchOperation {
                    op: PatchOpKind::Replace,
                    path: None,
                    value: Some(Value::Null),
                },
            ],
        ),
        (json!({"schemas": [PATCH_SCHEMA], "Operations": []}), vec![]),
    ];
    for (input, want) in cases {
        assert_eq!(parse_request(&input).unwrap(), want, "{input}");
    }
}

#[test]
fn rejects_bad_requests() {
    let cases = [
        (json!([]), ScimType::InvalidSyntax, "PATCH body must be a JSON object"),
        (
            json!({"schemas": [PATCH_SCHEMA]}),
            ScimType::InvalidSyntax,
            "PATCH body has no 'Operations'",
        ),
        (
            json!({"Operations": {}}),
            ScimType::InvalidSyntax,
            "'Operations' must be an array",
        ),
        (
            json!({"Operations": [1]}),
            ScimType::InvalidSyntax,
            "operation 0 must be an object",
        ),
        (
            json!({"Operations": [{"path": "x"}]}),
            ScimType::InvalidSyntax,
            "operation 0 has no 'op'",
        ),
        (
            json!({"Operations": [{"op": "move", "path": "x"}]}),
            ScimType::InvalidSyntax,
            "operation 0 has unknown op 'move'",
        ),
        (
            json!({"Operations": [{"op": "add", "path": "emails[type eq]"}]}),
            ScimType::InvalidPath,
            "invalid filter in path 'emails[type eq]': unexpected end of filter at position 7",
        ),
        (
            json!({"Operations": [{"op": "add", "path": 5, "value": 1}]}),
            ScimType::InvalidPath,
            "operation 0 has a non-string path 5",
        ),
        (
            json!({"Operations": [{"op": "remove", "path": "a"}, {"op": "add", "path": "title"}]}),
            ScimType::InvalidValue,
            "operation 1 (add) needs a 'value'",
        ),
        (
            json!({"Operations": [{"op": "Replace", "path": "displayName"}]}),
            ScimType::InvalidValue,
            "operation 0 (replace) needs a 'value'",
        ),
    ];
    for (input, t, detail) in cases {
        let e = parse_request(&input).unwrap_err();
        assert_eq!(
            (e.status, e.scim_type, e.detail.as_str()),
            (400, Some(t), detail),
            "{input}"
        );
    }
}

#[test]
fn applies_user_operations() {
    type Edit = Box<dyn FnOnce(&mut Value)>;
    let cases: Vec<(&str, Value, Edit)> = vec![
        (
            "Entra string boolean in path form",
            json!([{"op": "Replace", "path": "active", "value": "False"}]),
            Box::new(|d| d["active"] = json!(false)),
        ),
        (
            "Okta deactivate: no-path value object",
            json!([{"op": "replace", "value": {"active": false}}]),
            Box::new(|d| d["active"] = json!(false)),
        ),
        (
            "Entra reactivate with string boolean in no-path form",
            json!([{"op": "replace", "value": {"active": "TRUE"}}]),
            Box::new(|_| {}),
        ),
        (
            "Entra no-path dotted and URN-prefixed keys (B1.4)",
            json!([{"op": "replace", "value": {
                "displayName": "Babs",
                "name.givenName": "Barb",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "42"
            }}]),
            Box::new(|d| {
                d["displayName"] = json!("Babs");
                d["name"]["givenName"] = json!("Barb");
                d[ENT] = json!({"employeeNumber": "42"});
                d["schemas"] = json!([USER_SCHEMA, ENT]);
            }),
        ),
        (
            "Entra flagged no-path replace with value-filtered keys ([MS-compat], B1.4, B1.7)",
            json!([{"op": "replace", "value": {
                "emails[type eq \"work\"].value": "flag@example.com",
                "phoneNumbers[type eq \"work\"].value": "555-0101",
                "addresses[type eq \"work\"].locality": "Vienna"
            }}]),
            Box::new(|d| {
                d["emails"][0]["value"] = json!("flag@example.com");
                d["phoneNumbers"] = json!([{"type": "work", "value": "555-0101"}]);
                d["addresses"] = json!([{"type": "work", "locality": "Vienna"}]);
            }),
        ),
        (
            "Okta sends read-only id inside a no-path value",
            json!([{"op": "replace", "value": {"id": "abc", "meta": {"created": "x"}, "groups": [], "schemas": ["x"], "userName": "babs"}}]),
            Box::new(|d| d["userName"] = json!("babs")),
        ),
        (
            "Entra update: filtered e-mail and family name",
            json!([
                {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "updated@example.com"},
                {"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"}
            ]),
            Box::new(|d| {
                d["emails"][0]["value"] = json!("updated@example.com");
                d["name"]["familyName"] = json!("updatedFamilyName");
            }),
        ),
        (
            "filtered replace on a missing entry creates it (B1.7)",
            json!([{"op": "Replace", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "555-0100"}]),
            Box::new(|d| d["phoneNumbers"] = json!([{"type": "mobile", "value": "555-0100"}])),
        ),
        (
            "filtered add on a missing entry creates it",
            json!([{"op": "Add", "path": "addresses[type eq \"work\"].postalCode", "value": "98039"}]),
            Box::new(|d| d["addresses"] = json!([{"type": "work", "postalCode": "98039"}])),
        ),
        (
            "filtered add with an and of eqs materialises every pair",
            json!([{"op": "add", "path": "emails[type eq \"other\" and primary eq \"false\"].value", "value": "o@x.org"}]),
            Box::new(|d| {
                d["emails"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!({"type": "other", "primary": false, "value": "o@x.org"}))
            }),
        ),
        (
            "sub-attribute names are case-insensitive (Entra `.Value`)",
            json!([{"op": "replace", "path": "emails[type eq \"other\"].Value", "value": "o@x.org"}]),
            Box::new(|d| {
                d["emails"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!({"type": "other", "value": "o@x.org"}))
            }),
        ),
        (
            "filtered replace of whole elements merges sub-attributes",
            json!([{"op": "replace", "path": "emails[type eq \"home\"]", "value": {"display": "Home"}}]),
            Box::new(|d| d["emails"][1]["display"] = json!("Home")),
        ),
        (
            "filtered remove",
            json!([{"op": "remove", "path": "emails[type eq \"home\"]"}]),
            Box::new(|d| {
                d["emails"].as_array_mut().unwrap().pop();
            }),
        ),
        (
            "removing the value of a filtered entry drops the entry",
            json!([{"op": "Remove", "path": "emails[type eq \"home\"].value"}]),
            Box::new(|d| {
                d["emails"].as_array_mut().unwrap().pop();
            }),
        ),
        (
            "removing a filtered sub-attribute",
            json!([{"op": "remove", "path": "emails[type eq \"work\"].primary"}]),
            Box::new(|d| {
                d["emails"][0].as_object_mut().unwrap().remove("primary");
            }),
        ),
        (
            "add on a multi-valued attribute appends without duplicates",
            json!([{"op": "add", "path": "emails", "value": [
                {"value": "bjensen@example.com", "type": "work", "primary": true},
                {"value": "new@x.org", "type": "other"}
            ]}]),
            Box::new(|d| {
                d["emails"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!({"value": "new@x.org", "type": "other"}))
            }),
        ),
        (
            "replace on a multi-valued attribute replaces all values",
            json!([{"op": "replace", "path": "emails", "value": [{"value": "only@x.org", "primary": "True"}]}]),
            Box::new(|d| d["emails"] = json!([{"value": "only@x.org", "primary": true}])),
        ),
        (
            "adding a primary value clears the others",
            json!([{"op": "add", "path": "emails", "value": {"value": "p@x.org", "primary": true}}]),
            Box::new(|d| {
                d["emails"][0]["primary"] = json!(false);
                d["emails"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!({"value": "p@x.org", "primary": true}));
            }),
        ),
        (
            "setting primary through a filter clears the others",
            json!([{"op": "replace", "path": "emails[type eq \"home\"].primary", "value": "true"}]),
            Box::new(|d| {
                d["emails"][0]["primary"] = json!(false);
                d["emails"][1]["primary"] = json!(true);
            }),
        ),
        (
            "remove with a value list removes only the listed values",
            json!([{"op": "remove", "path": "emails", "value": [{"value": "BABS@jensen.org"}]}]),
            Box::new(|d| {
                d["emails"].as_array_mut().unwrap().pop();
            }),
        ),
        (
            "replace with empty string removes (B1.12)",
            json!([{"op": "replace", "path": "name.givenName", "value": ""}]),
            Box::new(|d| {
                d["name"].as_object_mut().unwrap().remove("givenName");
            }),
        ),
        (
            "replace with null removes; absent targets are fine",
            json!([
                {"op": "replace", "path": "active", "value": null},
                {"op": "replace", "path": "nickName", "value": null},
                {"op": "Replace", "path": "title", "value": ""}
            ]),
            Box::new(|d| {
                d.as_object_mut().unwrap().remove("active");
            }),
        ),
        (
            "no-path replace with null and empty values removes them",
            json!([{"op": "replace", "value": {"name": null, "emails": []}}]),
            Box::new(|d| {
                d.as_object_mut().unwrap().remove("name");
                d.as_object_mut().unwrap().remove("emails");
            }),
        ),
        (
            "remove a whole complex attribute and a sub-attribute",
            json!([{"op": "remove", "path": "name.familyName"}, {"op": "remove", "path": "name.givenName"}]),
            Box::new(|d| {
                d.as_object_mut().unwrap().remove("name");
            }),
        ),
        (
            "names are written back in canonical case",
            json!([{"op": "replace", "path": "USERNAME", "value": "x"}, {"op": "add", "path": "NAME.middlename", "value": "M"}]),
            Box::new(|d| {
                d["userName"] = json!("x");
                d["name"]["middleName"] = json!("M");
            }),
        ),
        (
            "complex values merge sub-attributes",
            json!([{"op": "replace", "path": "name", "value": {"GivenName": "B", "formatted": "B J"}}]),
            Box::new(|d| {
                d["name"]["givenName"] = json!("B");
                d["name"]["formatted"] = json!("B J");
            }),
        ),
        (
            "manager as a plain string (B1.9)",
            json!([{"op": "add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": "m1"}]),
            Box::new(|d| {
                d[ENT] = json!({"manager": {"value": "m1"}});
                d["schemas"] = json!([USER_SCHEMA, ENT]);
            }),
        ),
        (
            "manager as a one-element array with $ref null (B1.9)",
            json!([{"op": "Add", "path": "manager", "value": [{"$ref": null, "value": "m2"}]}]),
            Box::new(|d| {
                d[ENT] = json!({"manager": {"value": "m2"}});
                d["schemas"] = json!([USER_SCHEMA, ENT]);
            }),
        ),
        (
            "no-path value keyed by the extension URN",
            json!([{"op": "add", "value": {"urn:ietf:params:scim:schemas:extension:enterprise:2.0:user": {"Department": "Ops", "manager": {"value": "m3", "displayName": "ignored"}}}}]),
            Box::new(|d| {
                d[ENT] = json!({"department": "Ops", "manager": {"value": "m3"}});
                d["schemas"] = json!([USER_SCHEMA, ENT]);
            }),
        ),
        (
            "the extension URN as the path",
            json!([{"op": "replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User", "value": {"costCenter": "4130"}}]),
            Box::new(|d| {
                d[ENT] = json!({"costCenter": "4130"});
                d["schemas"] = json!([USER_SCHEMA, ENT]);
            }),
        ),
        (
            "unprefixed extension attribute names resolve to the extension",
            json!([{"op": "replace", "path": "department", "value": "Sales"}]),
            Box::new(|d| {
                d[ENT] = json!({"department": "Sales"});
                d["schemas"] = json!([USER_SCHEMA, ENT]);
            }),
        ),
        (
            "password is never stored",
            json!([{"op": "replace", "path": "password", "value": "s3cret"}, {"op": "replace", "value": {"password": "x"}}]),
            Box::new(|_| {}),
        ),
        (
            "string booleans inside array elements",
            json!([{"op": "add", "path": "roles", "value": [{"value": "admin", "primary": "True"}]}]),
            Box::new(|d| d["roles"] = json!([{"value": "admin", "primary": true}])),
        ),
        (
            "mixed add and remove in one request",
            json!([
                {"op": "add", "path": "title", "value": "Boss"},
                {"op": "remove", "path": "emails[type eq \"home\"]"},
                {"op": "REPLACE", "path": "displayName", "value": "B"}
            ]),
            Box::new(|d| {
                d["title"] = json!("Boss");
                d["displayName"] = json!("B");
                d["emails"].as_array_mut().unwrap().pop();
            }),
        ),
        ("empty operations are a no-op", json!([]), Box::new(|_| {})),
    ];
    for (name, ops, edit) in cases {
        let (got, want) = user_case(ops, edit);
        assert_eq!(got, want, "{name}");
    }
}

#[test]
fn extension_removal_drops_empty_container() {
    let rs = ResourceSchema::user();
    let mut doc = base_user();
    doc[ENT] = json!({"manager": {"value": "m1"}});
    doc["schemas"] = json!([USER_SCHEMA, ENT]);
    let cases = [
        json!([{"op": "remove", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"}]),
        json!([{"op": "Replace", "path": "manager", "value": ""}]),
        json!([{"op": "remove", "path": "manager.value"}]),
        json!([{"op": "remove", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"}]),
    ];
    for ops in cases {
        let got = run(&doc, ops.clone(), &rs).unwrap();
        assert_eq!(got, base_user(), "{ops}");
    }
}

#[test]
fn rejects_bad_operations() {
    let rs = ResourceSchema::user();
    let cases = [
        (
            json!([{"op": "replace", "path": "id", "value": "x"}]),
            ScimType::Mutability,
            "attribute 'id' is readOnly",
        ),
        (
            json!([{"op": "add", "path": "groups", "value": [{"value": "g"}]}]),
            ScimType::Mutability,
            "attribute 'groups' is readOnly",
        ),
        (
            json!([{"op": "replace", "path": "meta.created", "value": "2011-08-01T18:29:49Z"}]),
            ScimType::Mutability,
            "attribute 'meta.created' is readOnly",
        ),
        (
            json!([{"op": "replace", "path": "manager.displayName", "value": "x"}]),
            ScimType::Mutability,
            "attribute 'manager.displayName' is readOnly",
        ),
        (
            json!([{"op": "replace", "path": "foo", "value": 1}]),
            ScimType::InvalidPath,
            "unknown attribute path 'foo'",
        ),
        (
            json!([{"op": "replace", "path": "name.nope", "value": 1}]),
            ScimType::InvalidPath,
            "unknown attribute path 'name.nope'",
        ),
        (
            json!([{"op": "replace", "path": "emails[type eq \"work\"].nope", "value": 1}]),
            ScimType::InvalidPath,
            "unknown attribute path 'emails[type eq \"work\"].nope'",
        ),
        (
            json!([{"op": "replace", "value": {"nickName": "n", "foo": 1}}]),
            ScimType::InvalidPath,
            "unknown attribute path 'foo'",
        ),
        (
            json!([{"op": "replace", "value": {"not a path": 1}}]),
            ScimType::InvalidPath,
            "unknown attribute path 'not a path'",
        ),
        (
            json!([{"op": "replace", "path": "name[givenName eq \"x\"]", "value": 1}]),
            ScimType::InvalidPath,
            "'name[givenName eq \"x\"]' filters a single-valued attribute",
        ),
        (json!([{"op": "remove"}]), ScimType::NoTarget, "remove requires a path"),
        (
            json!([{"op": "remove", "path": "emails[type eq \"other\"]"}]),
            ScimType::NoTarget,
            "no value matches the path 'emails[type eq \"other\"]'",
        ),
        (
            json!([{"op": "remove", "path": "ims[type eq \"xmpp\"].value"}]),
            ScimType::NoTarget,
            "no value matches the path 'ims[type eq \"xmpp\"].value'",
        ),
        (
            json!([{"op": "replace", "path": "emails[value co \"zzz\"].type", "value": "work"}]),
            ScimType::NoTarget,
            "no value matches the path 'emails[value co \"zzz\"].type'",
        ),
        (
            json!([{"op": "replace", "path": "emails[type eq \"a\" or type eq \"b\"].value", "value": "v"}]),
            ScimType::NoTarget,
            "no value matches the path 'emails[type eq \"a\" or type eq \"b\"].value'",
        ),
        (
            json!([{"op": "replace", "path": "active", "value": "maybe"}]),
            ScimType::InvalidValue,
            "attribute 'active' must be a boolean, got \"maybe\"",
        ),
        (
            json!([{"op": "replace", "value": {"active": "maybe"}}]),
            ScimType::InvalidValue,
            "attribute 'active' must be a boolean, got \"maybe\"",
        ),
        (
            json!([{"op": "add", "path": "emails", "value": "x"}]),
            ScimType::InvalidValue,
            "attribute 'emails' must be a list of objects, got \"x\"",
        ),
        (
            json!([{"op": "remove", "path": "userName"}]),
            ScimType::InvalidValue,
            "required attribute 'userName' is missing",
        ),
        (
            json!([{"op": "replace", "path": "userName", "value": ""}]),
            ScimType::InvalidValue,
            "required attribute 'userName' is missing",
        ),
        (
            json!([{"op": "replace", "value": "x"}]),
            ScimType::InvalidValue,
            "replace without a path needs an object value",
        ),
        (
            json!([{"op": "add", "value": {"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": 5}}]),
            ScimType::InvalidValue,
            "value for 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User' must be an object, got 5",
        ),
        (
            json!([{"op": "replace", "path": "urn:ietf:params:scim:schemas:core:2.0:User", "value": null}]),
            ScimType::NoTarget,
            "the core schema cannot be removed as a whole",
        ),
    ];
    for (ops, t, detail) in cases {
        let e = run(&base_user(), ops.clone(), &rs).unwrap_err();
        assert_eq!(
            (e.status, e.scim_type, e.detail.as_str()),
            (400, Some(t), detail),
            "{ops}"
        );
    }
}

#[test]
fn failed_request_is_atomic() {
    let rs = ResourceSchema::user();
    let doc = base_user();
    let ops = parse_request(&body(json!([
        {"op": "replace", "path": "displayName", "value": "changed"},
        {"op": "add", "path": "emails", "value": [{"value": "x@y.z"}]},
        {"op": "replace", "path": "id", "value": "nope"}
    ])))
    .unwrap();
    let mut target = doc.clone();
    assert!(apply(&mut target, &ops, &rs).is_err());
    assert_eq!(target, doc);
    let mut not_object = json!([1]);
    assert_eq!(apply(&mut not_object, &ops, &rs).unwrap_err().status, 500);
}

#[test]
fn applies_group_operations() {
    let rs = ResourceSchema::group();
    let group = json!({"displayName": "Eng", "members": [{"value": "a", "display": "A"}]});
    let cases = [
        (
            json!([{"op": "Add", "path": "members", "value": [{"$ref": null, "value": "a"}, {"value": "b"}]}]),
            json!({"displayName": "Eng", "members": [{"value": "a", "display": "A"}, {"value": "b"}]}),
        ),
        (
            json!([{"op": "remove", "path": "members[value eq \"zzz\"]"}]),
            group.clone(),
        ),
        (
            json!([{"op": "Remove", "path": "members", "value": [{"value": "a"}]}]),
            json!({"displayName": "Eng"}),
        ),
        (
            json!([{"op": "replace", "value": {"id": "g1", "displayName": "Eng2"}}]),
            json!({"displayName": "Eng2", "members": [{"value": "a", "display": "A"}]}),
        ),
        (
            json!([{"op": "replace", "path": "members", "value": []}]),
            json!({"displayName": "Eng"}),
        ),
    ];
    for (ops, want) in cases {
        assert_eq!(run(&group, ops.clone(), &rs).unwrap(), want, "{ops}");
    }
    let errors = [
        (
            json!([{"op": "replace", "path": "members[value eq \"a\"].value", "value": "b"}]),
            ScimType::Mutability,
        ),
        (
            json!([{"op": "remove", "path": "members[value eq \"a\"].value"}]),
            ScimType::Mutability,
        ),
        (
            json!([{"op": "replace", "path": "displayName", "value": null}]),
            ScimType::InvalidValue,
        ),
    ];
    for (ops, t) in errors {
        assert_eq!(run(&group, ops.clone(), &rs).unwrap_err().scim_type, Some(t), "{ops}");
    }
}

fn split(ops: Value) -> Result<(Vec<PatchOperation>, Vec<MemberChange>), ScimError> {
    split_member_ops(parse_request(&body(ops))?)
}

fn ids(xs: &[&str]) -> Vec<String> {
    xs.iter().map(|x| x.to_string()).collect()
}

#[test]
fn splits_member_operations() {
    let cases = [
        (
            "Entra add with $ref null, several members",
            json!([{"op": "Add", "path": "members", "value": [{"$ref": null, "value": "a"}, {"value": "b"}, {"value": "a"}]}]),
            json!([]),
            vec![MemberChange::Add(ids(&["a", "b"]))],
        ),
        (
            "filtered remove",
            json!([{"op": "remove", "path": "members[value eq \"a\"]"}]),
            json!([]),
            vec![MemberChange::Remove(ids(&["a"]))],
        ),
        (
            "filtered remove of several ids",
            json!([{"op": "remove", "path": "members[value eq \"a\" or value eq \"b\" or VALUE EQ \"c\"]"}]),
            json!([]),
            vec![MemberChange::Remove(ids(&["a", "b", "c"]))],
        ),
        (
            "Entra remove with a value list never removes everyone (B1.5)",
            json!([{"op": "Remove", "path": "members", "value": [{"value": "a"}]}]),
            json!([]),
            vec![MemberChange::Remove(ids(&["a"]))],
        ),
        (
            "remove with an empty value list removes nobody",
            json!([{"op": "Remove", "path": "members", "value": []}]),
            json!([]),
            vec![],
        ),
        (
            "remove without value removes all (RFC 7644 §3.5.2.2)",
            json!([{"op": "remove", "path": "members"}]),
            json!([]),
            vec![MemberChange::RemoveAll],
        ),
        (
            "Okta empty group push: replace members []",
            json!([{"op": "replace", "path": "members", "value": []}]),
            json!([]),
            vec![MemberChange::Replace(vec![])],
        ),
        (
            "Okta full sync: replace members",
            json!([{"op": "replace", "path": "urn:ietf:params:scim:schemas:core:2.0:Group:members", "value": [{"value": "a", "display": "A"}]}]),
            json!([]),
            vec![MemberChange::Replace(ids(&["a"]))],
        ),
        (
            "Okta membership update: remove by filter, add by list, in order",
            json!([
                {"op": "remove", "path": "members[value eq \"89bb1940\"]"},
                {"op": "add", "path": "members", "value": [{"value": "23a35c27", "display": "test.user@okta.local"}]}
            ]),
            json!([]),
            vec![
                MemberChange::Remove(ids(&["89bb1940"])),
                MemberChange::Add(ids(&["23a35c27"])),
            ],
        ),
        (
            "Okta rename: no-path replace without members leaves members alone (B1.14)",
            json!([{"op": "replace", "value": {"id": "abf4dd94", "displayName": "Test SCIMv2"}}]),
            json!([{"op": "replace", "value": {"id": "abf4dd94", "displayName": "Test SCIMv2"}}]),
            vec![],
        ),
        (
            "no-path replace with members splits both ways",
            json!([{"op": "Replace", "value": {"displayName": "X", "Members": [{"value": "a"}]}}]),
            json!([{"op": "replace", "value": {"displayName": "X"}}]),
            vec![MemberChange::Replace(ids(&["a"]))],
        ),
        (
            "no-path add of members only",
            json!([{"op": "add", "value": {"members": [{"value": "a"}]}}]),
            json!([]),
            vec![MemberChange::Add(ids(&["a"]))],
        ),
        (
            "other paths stay document ops",
            json!([{"op": "replace", "path": "displayName", "value": "Y"}, {"op": "add", "path": "members", "value": [{"value": "b"}]}]),
            json!([{"op": "replace", "path": "displayName", "value": "Y"}]),
            vec![MemberChange::Add(ids(&["b"]))],
        ),
    ];
    for (name, ops, want_doc_ops, want_changes) in cases {
        let (doc_ops, changes) = split(ops).unwrap_or_else(|e| panic!("{name}: {e:?}"));
        assert_eq!(doc_ops, parse_request(&body(want_doc_ops)).unwrap(), "{name}");
        assert_eq!(changes, want_changes, "{name}");
    }
}

#[test]
fn rejects_bad_member_operations() {
    let cases = [
        (
            json!([{"op": "remove", "path": "members[display eq \"x\"]"}]),
            ScimType::InvalidFilter,
            "members can only be selected by id, as members[value eq \"<id>\"] optionally joined with 'or'; got members[display eq \"x\"]",
        ),
        (
            json!([{"op": "remove", "path": "members[value eq \"a\" and type eq \"User\"]"}]),
            ScimType::InvalidFilter,
            "members can only be selected by id, as members[value eq \"<id>\"] optionally joined with 'or'; got members[value eq \"a\" and type eq \"User\"]",
        ),
        (
            json!([{"op": "remove", "path": "members[value co \"a\"]"}]),
            ScimType::InvalidFilter,
            "members can only be selected by id, as members[value eq \"<id>\"] optionally joined with 'or'; got members[value co \"a\"]",
        ),
        (
            json!([{"op": "remove", "path": "members[value eq \"a\"].display"}]),
            ScimType::InvalidPath,
            "'members[value eq \"a\"].display': members are patched as a whole or selected with members[value eq \"<id>\"]",
        ),
        (
            json!([{"op": "replace", "path": "members.value", "value": "a"}]),
            ScimType::InvalidPath,
            "'members.value': members are patched as a whole or selected with members[value eq \"<id>\"]",
        ),
        (
            json!([{"op": "add", "path": "members[value eq \"a\"]", "value": {"value": "a"}}]),
            ScimType::InvalidPath,
            "'add members[value eq \"a\"]': members cannot be added or replaced through a filter; use remove and add",
        ),
        (
            json!([{"op": "add", "path": "members", "value": [{"display": "x"}]}]),
            ScimType::InvalidValue,
            "member {\"display\":\"x\"} needs a string 'value' with the member id",
        ),
        (
            json!([{"op": "add", "path": "members", "value": [{"value": ""}]}]),
            ScimType::InvalidValue,
            "member 'value' must not be empty",
        ),
        (
            json!([{"op": "add", "path": "members", "value": [5]}]),
            ScimType::InvalidValue,
            "member 5 must be an object with a 'value'",
        ),
        (
            json!([{"op": "add", "value": {"members": [{"value": 7}]}}]),
            ScimType::InvalidValue,
            "member {\"value\":7} needs a string 'value' with the member id",
        ),
    ];
    for (ops, t, detail) in cases {
        let e = split(ops.clone()).unwrap_err();
        assert_eq!((e.scim_type, e.detail.as_str()), (Some(t), detail), "{ops}");
    }
}

#[test]
fn requests_over_the_limits_are_refused_before_they_are_read() {
    let limits = PatchLimits {
        max_operations: 3,
        max_values: 4,
    };
    let op = |n: usize| json!({"op": "add", "path": "members", "value": vec![json!({"value": "x"}); n]});
    let no_path = |n: usize| json!({"op": "add", "value": {"members": vec![json!({"value": "x"}); n]}});
    let cases = [
        (vec![op(1); 3], None),
        (
            vec![op(1); 4],
            Some("4 operations, more than the limit of 3 (DIRSYNC_MAX_PATCH_OPERATIONS)"),
        ),
        (vec![op(4)], None),
        (
            vec![op(5)],
            Some("operation 0 has 5 values, more than the limit of 4 (DIRSYNC_MAX_PATCH_VALUES)"),
        ),
        (vec![op(1), no_path(5)], Some("operation 1 has 5 values")),
    ];
    for (ops, want) in cases {
        let got = parse_request_with(&json!({"Operations": ops}), &limits);
        match want {
            None => assert!(got.is_ok(), "{got:?}"),
            Some(detail) => {
                let e = got.unwrap_err();
                assert_eq!((e.status, e.scim_type), (400, Some(ScimType::TooMany)));
                assert!(e.detail.contains(detail), "{}", e.detail);
            }
        }
    }
}
