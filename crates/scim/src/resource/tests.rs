use super::*;
use crate::schema::{AttrType, ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, USER_SCHEMA};
use serde_json::json;

const ENT: &str = ENTERPRISE_USER_SCHEMA;

#[test]
fn normalizes_user_bodies() {
    let rs = ResourceSchema::user();
    let cases = [
        (
            "plain body",
            json!({"schemas": [USER_SCHEMA], "userName": "bjensen", "name": {"givenName": "B"}}),
            json!({"schemas": [USER_SCHEMA], "userName": "bjensen", "name": {"givenName": "B"}}),
        ),
        (
            "keys renamed to canonical case",
            json!({"USERNAME": "x", "Name": {"GIVENNAME": "B"}, "EMAILS": [{"Value": "a@b.c", "PRIMARY": "true"}]}),
            json!({"schemas": [USER_SCHEMA], "userName": "x", "name": {"givenName": "B"}, "emails": [{"value": "a@b.c", "primary": true}]}),
        ),
        (
            "OneLogin URNs (B3.1)",
            json!({
                "schemas": ["urn:scim:schemas:core:2.0", "urn:scim:schemas:extension:enterprise:2.0"],
                "userName": "x",
                "urn:scim:schemas:extension:enterprise:2.0": {"department": "D"}
            }),
            json!({"schemas": [USER_SCHEMA, ENT], "userName": "x", ENT: {"department": "D"}}),
        ),
        (
            "Entra docs' URN typo and upper-case URN keys",
            json!({
                "userName": "x",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0User": {"Department": "D"},
                "URN:IETF:PARAMS:SCIM:SCHEMAS:EXTENSION:ENTERPRISE:2.0:USER": {"costCenter": "C"}
            }),
            json!({"schemas": [USER_SCHEMA, ENT], "userName": "x", ENT: {"department": "D", "costCenter": "C"}}),
        ),
        (
            "Entra POST: nulls, empty lists, meta, foreign schemas (B1.11)",
            json!({
                "schemas": [USER_SCHEMA, ENT, "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
                "externalId": "0a21f0f2",
                "userName": "Test_User_ab6490ee@testuser.com",
                "active": true,
                "addresses": null,
                "preferredLanguage": null,
                "roles": [],
                "displayName": null,
                "meta": {"resourceType": "User"},
                "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName", "middleName": null},
                ENT: {"manager": null}
            }),
            json!({
                "schemas": [USER_SCHEMA],
                "externalId": "0a21f0f2",
                "userName": "Test_User_ab6490ee@testuser.com",
                "active": true,
                "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"}
            }),
        ),
        (
            "Okta POST: password and groups dropped (B2.2)",
            json!({
                "schemas": [USER_SCHEMA],
                "userName": "test.user@okta.local",
                "name": {"givenName": "Test", "familyName": "User"},
                "emails": [{"primary": true, "value": "test.user@okta.local", "type": "work"}],
                "displayName": "Test User",
                "locale": "en-US",
                "externalId": "00ujl29u0le5T6Aj10h7",
                "groups": [],
                "password": "1mz050nq",
                "active": true
            }),
            json!({
                "schemas": [USER_SCHEMA],
                "userName": "test.user@okta.local",
                "name": {"givenName": "Test", "familyName": "User"},
                "emails": [{"primary": true, "value": "test.user@okta.local", "type": "work"}],
                "displayName": "Test User",
                "locale": "en-US",
                "externalId": "00ujl29u0le5T6Aj10h7",
                "active": true
            }),
        ),
        (
            "string booleans and manager shapes (B1.2, B1.9)",
            json!({"userName": "x", "active": "False", ENT: {"manager": "m1"}}),
            json!({"schemas": [USER_SCHEMA, ENT], "userName": "x", "active": false, ENT: {"manager": {"value": "m1"}}}),
        ),
        (
            "manager as one-element array",
            json!({"userName": "x", ENT: {"manager": [{"value": "m1", "$ref": "../Users/m1", "displayName": "ro"}]}}),
            json!({"schemas": [USER_SCHEMA, ENT], "userName": "x", ENT: {"manager": {"value": "m1", "$ref": "../Users/m1"}}}),
        ),
        (
            "values kept exactly as sent",
            json!({"userName": " Bob ", "phoneNumbers": [{"value": "55555555555", "type": "work"}], "preferredLanguage": "de-AT", "timezone": "Europe/Vienna", "nickName": ""}),
            json!({"schemas": [USER_SCHEMA], "userName": " Bob ", "phoneNumbers": [{"value": "55555555555", "type": "work"}], "preferredLanguage": "de-AT", "timezone": "Europe/Vienna", "nickName": ""}),
        ),
        (
            "unknown attributes kept, id dropped",
            json!({"id": "abc", "userName": "x", "x-custom": {"a": 1}, "x-null": null, "x-empty": []}),
            json!({"schemas": [USER_SCHEMA], "userName": "x", "x-custom": {"a": 1}}),
        ),
        (
            "dotted and URN-prefixed keys",
            json!({"userName": "x", "name": {"familyName": "F"}, "name.givenName": "G", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": 701984}),
            json!({"schemas": [USER_SCHEMA, ENT], "userName": "x", "name": {"familyName": "F", "givenName": "G"}, ENT: {"employeeNumber": "701984"}}),
        ),
        (
            "attributes nested under the core URN",
            json!({"urn:ietf:params:scim:schemas:core:2.0:User": {"userName": "x", "title": "T"}}),
            json!({"schemas": [USER_SCHEMA], "userName": "x", "title": "T"}),
        ),
        (
            "unknown keys inside an extension are kept there",
            json!({"userName": "x", ENT: {"x-foo": "bar"}}),
            json!({"schemas": [USER_SCHEMA, ENT], "userName": "x", ENT: {"x-foo": "bar"}}),
        ),
    ];
    for (name, input, want) in cases {
        let got = normalize(&input, &rs).unwrap_or_else(|e| panic!("{name}: {e:?}"));
        assert_eq!(got, want, "{name}");
    }
}

#[test]
fn rejects_bad_bodies() {
    let rs = ResourceSchema::user();
    let cases = [
        (
            json!([]),
            ScimType::InvalidSyntax,
            "resource body must be a JSON object",
        ),
        (
            json!({"userName": "x", "active": "maybe"}),
            ScimType::InvalidValue,
            "attribute 'active' must be a boolean, got \"maybe\"",
        ),
        (
            json!({"userName": "x", "emails": "x"}),
            ScimType::InvalidValue,
            "attribute 'emails' must be a list of objects, got \"x\"",
        ),
        (
            json!({"userName": "x", "name": {"givenName": true}}),
            ScimType::InvalidValue,
            "attribute 'name.givenName' must be a string, got true",
        ),
        (
            json!({"name": {"givenName": "G"}}),
            ScimType::InvalidValue,
            "required attribute 'userName' is missing",
        ),
        (
            json!({"userName": ""}),
            ScimType::InvalidValue,
            "required attribute 'userName' is missing",
        ),
        (
            json!({"userName": null}),
            ScimType::InvalidValue,
            "required attribute 'userName' is missing",
        ),
        (
            json!({"userName": "x", ENT: "sales"}),
            ScimType::InvalidValue,
            "attribute 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User' must be an object",
        ),
        (
            json!({"userName": "x", "emails.value": "a@b.c"}),
            ScimType::InvalidValue,
            "attribute 'emails.value' can only be sent inside the 'emails' list",
        ),
    ];
    for (input, t, detail) in cases {
        let e = normalize(&input, &rs).unwrap_err();
        assert_eq!(
            (e.status, e.scim_type, e.detail.as_str()),
            (400, Some(t), detail),
            "{input}"
        );
    }
}

#[test]
fn normalizes_groups_and_takes_members() {
    let rs = ResourceSchema::group();
    let cases = [
        (
            json!({"schemas": [GROUP_SCHEMA], "displayName": "Eng", "members": [{"value": "a", "$ref": null, "display": "A"}, {"value": "b"}]}),
            json!({"schemas": [GROUP_SCHEMA], "displayName": "Eng"}),
            vec!["a", "b"],
        ),
        (
            json!({"displayName": "Empty", "members": []}),
            json!({"schemas": [GROUP_SCHEMA], "displayName": "Empty"}),
            vec![],
        ),
        (
            json!({"displayName": "NoMembers", "members": null, "id": "g1"}),
            json!({"schemas": [GROUP_SCHEMA], "displayName": "NoMembers"}),
            vec![],
        ),
    ];
    for (input, want_doc, want_members) in cases {
        let mut doc = normalize(&input, &rs).unwrap();
        let members = take_members(&mut doc).unwrap();
        assert_eq!(doc, want_doc, "{input}");
        assert_eq!(members, want_members, "{input}");
    }
    let e = normalize(&json!({"members": []}), &rs).unwrap_err();
    assert_eq!(e.detail, "required attribute 'displayName' is missing");
    assert_eq!(take_members(&mut json!("x")).unwrap(), Vec::<String>::new());
}

#[test]
fn reads_values() {
    let doc = json!({
        "userName": "bjensen",
        "name": {"givenName": "Barbara"},
        "emails": [{"value": "first@x.org"}, {"value": "primary@x.org", "primary": true}],
        ENT: {"employeeNumber": "42", "manager": {"value": "m1"}}
    });
    let cases = [
        ("userName", Some("bjensen")),
        ("USERNAME", Some("bjensen")),
        ("name.givenName", Some("Barbara")),
        ("name.familyName", None),
        ("emails.value", Some("first@x.org")),
        (
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
            Some("42"),
        ),
        (
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
            Some("m1"),
        ),
        ("urn:ietf:params:scim:schemas:core:2.0:User:userName", Some("bjensen")),
        ("name", None),
        ("not a path", None),
    ];
    for (path, want) in cases {
        assert_eq!(get_str(&doc, path), want, "{path}");
    }
    let emails = [
        (
            json!({"emails": [{"value": "a"}, {"value": "b", "primary": true}]}),
            Some("b"),
        ),
        (
            json!({"emails": [{"value": "a"}, {"value": "b", "primary": "True"}]}),
            Some("b"),
        ),
        (json!({"emails": [{"value": "a"}, {"value": "b"}]}), Some("a")),
        (
            json!({"emails": [{"value": "h", "type": "home"}, {"value": "w", "type": "work"}]}),
            Some("w"),
        ),
        (
            json!({"emails": [{"value": "h", "type": "home"}, {"value": "w", "type": "Work"}, {"value": "p", "type": "other", "primary": true}]}),
            Some("p"),
        ),
        (
            json!({"emails": [{"value": "h", "type": "home"}, {"value": "o", "type": "other"}]}),
            Some("h"),
        ),
        (
            json!({"emails": [{"type": "work"}, {"value": "h", "type": "home"}]}),
            Some("h"),
        ),
        (
            json!({"emails": [{"type": "work", "primary": true}, {"value": "b"}]}),
            Some("b"),
        ),
        (json!({"emails": []}), None),
        (json!({"userName": "x"}), None),
        (json!("x"), None),
    ];
    for (doc, want) in emails {
        assert_eq!(primary_email(&doc), want, "{doc}");
    }
}

#[test]
fn checks_immutable_attributes() {
    let mut rs = ResourceSchema::user();
    rs.core
        .attributes
        .push(AttributeDef::new("badge", AttrType::String, "test").mutability(Mutability::Immutable));
    rs.core.attributes.push(AttributeDef::complex(
        "origin",
        "test",
        vec![AttributeDef::new("system", AttrType::String, "test").mutability(Mutability::Immutable)],
    ));
    let cases = [
        (json!({"userName": "a"}), json!({"userName": "b"}), None),
        (json!({"userName": "a"}), json!({"userName": "a", "badge": "1"}), None),
        (json!({"badge": "1"}), json!({"badge": "1"}), None),
        (json!({"badge": "abc"}), json!({"Badge": "ABC"}), None),
        (
            json!({"badge": "1"}),
            json!({"badge": "2"}),
            Some("attribute 'badge' is immutable"),
        ),
        (json!({"badge": "1"}), json!({}), Some("attribute 'badge' is immutable")),
        (
            json!({"origin": {"system": "hr"}}),
            json!({"origin": {"system": "hr"}}),
            None,
        ),
        (
            json!({"origin": {"system": "hr"}}),
            json!({"origin": {"system": "crm"}}),
            Some("attribute 'origin.system' is immutable"),
        ),
        (json!({"origin": {}}), json!({"origin": {"system": "crm"}}), None),
    ];
    for (old, new, want) in cases {
        let got = check_immutable(&old, &new, &rs).err();
        assert_eq!(got.as_ref().map(|e| e.detail.as_str()), want, "{old} -> {new}");
        if let Some(e) = got {
            assert_eq!(e.scim_type, Some(ScimType::Mutability));
        }
    }
    let group = ResourceSchema::group();
    let old = json!({"displayName": "g", "members": [{"value": "a"}]});
    let new = json!({"displayName": "g", "members": [{"value": "b"}]});
    assert!(check_immutable(&old, &new, &group).is_ok());
}
