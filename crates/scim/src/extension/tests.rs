use serde_json::json;

use super::*;
use crate::patch::{apply, parse_request};
use crate::resource::normalize;

const ACME: &str = "urn:ietf:params:scim:schemas:extension:acme:2.0:User";

fn acme() -> ExtensionDefinition {
    let attr = |name: &str, ty: &str| ExtensionAttribute {
        name: name.into(),
        attr_type: ty.into(),
        ..Default::default()
    };
    ExtensionDefinition {
        urn: ACME.into(),
        name: "AcmeUser".into(),
        description: "Acme".into(),
        resource_type: "User".into(),
        attributes: vec![
            ExtensionAttribute {
                canonical_values: vec!["Blue".into(), "Red".into(), "Green Team".into()],
                separator: ",".into(),
                ..attr("teams", "string")
            },
            ExtensionAttribute {
                canonical_values: vec!["EU".into(), "US".into()],
                ..attr("absenceRegion", "string")
            },
            attr("userRole", "string"),
            ExtensionAttribute {
                multi_valued: true,
                canonical_values: vec!["a".into(), "b".into()],
                ..attr("tags", "string")
            },
            attr("level", "integer"),
            attr("since", "dateTime"),
            ExtensionAttribute {
                required: true,
                ..attr("badge", "string")
            },
            attr("broken", "complex"),
        ],
    }
}

fn rs() -> ResourceSchema {
    ResourceSchema::user().with_extensions([acme().to_schema()])
}

fn user(ext: serde_json::Value) -> serde_json::Value {
    json!({"userName": "bjensen", ACME: ext})
}

#[test]
fn builds_the_schema() {
    let s = acme().to_schema();
    assert!(s.strict);
    assert_eq!(s.attributes.len(), 7, "the complex attribute is left out");
    let teams = s.attribute("TEAMS").unwrap();
    assert_eq!(teams.separator.as_deref(), Some(","));
    assert_eq!(teams.to_json()["separator"], ",");
    assert!(s.attribute("tags").unwrap().multi_valued);
    let r = rs();
    assert_eq!(r.schema_ids().len(), 3);
    // Registering a built-in URN again does not shadow it.
    let mut dup = acme();
    dup.urn = crate::schema::ENTERPRISE_USER_SCHEMA.into();
    assert_eq!(
        ResourceSchema::user()
            .with_extensions([dup.to_schema()])
            .extensions
            .len(),
        1
    );
}

#[test]
fn accepts_valid_documents() {
    let cases = [
        json!({"badge": "x", "teams": "Blue,Red", "absenceRegion": "EU", "userRole": "anything"}),
        json!({"badge": "x", "teams": " Blue , Green Team ,", "tags": ["a", "b"], "level": 3}),
        json!({"badge": "x", "tags": "a", "since": "2026-01-01T00:00:00Z"}),
        json!({"Badge": "x", "TEAMS": "Red"}),
    ];
    for ext in cases {
        let doc = normalize(&user(ext.clone()), &rs()).unwrap_or_else(|e| panic!("{ext}: {e}"));
        assert_eq!(doc["schemas"], json!([crate::schema::USER_SCHEMA, ACME]), "{ext}");
        validate(&doc, &rs()).unwrap();
    }
}

#[test]
fn refuses_invalid_documents() {
    let cases = [
        (
            json!({"badge": "x", "absenceRegion": "eu"}),
            "has value \"eu\", which is not one of \"EU\", \"US\"",
        ),
        (
            json!({"badge": "x", "absenceRegion": "APAC"}),
            "absenceRegion' has value \"APAC\"",
        ),
        (
            json!({"badge": "x", "teams": "Blue,Purple"}),
            "teams' has value \"Purple\"",
        ),
        (json!({"badge": "x", "teams": "blue"}), "teams' has value \"blue\""),
        (json!({"badge": "x", "tags": ["a", "c"]}), "tags' has value \"c\""),
        (json!({"badge": "x", "level": "high"}), "must be an integer"),
        (json!({"badge": "x", "level": 1.5}), "must be an integer"),
        (
            json!({"badge": "x", "since": "yesterday"}),
            "must be an RFC 3339 date-time",
        ),
        (
            json!({"badge": "x", "teems": "Blue"}),
            "attribute 'teems' is not defined in schema",
        ),
        (json!({"teams": "Blue"}), "required attribute 'badge' is missing"),
        (json!({"badge": "x", "absenceRegion": ["EU", "US"]}), "must be a string"),
    ];
    for (ext, want) in cases {
        let e = normalize(&user(ext.clone()), &rs()).unwrap_err();
        assert_eq!((e.status, e.scim_type), (400, Some(ScimType::InvalidValue)), "{ext}");
        assert!(e.detail.contains(want), "{ext}: {}", e.detail);
    }
}

#[test]
fn validate_checks_stored_shapes() {
    let cases = [
        (json!({"absenceRegion": ["EU"]}), "is single-valued"),
        (json!({"tags": "a"}), "must be a list"),
        (json!({"level": true}), "must be of type integer"),
        (json!("x"), "must be an object"),
    ];
    for (ext, want) in cases {
        let e = validate(&user(ext.clone()), &rs()).unwrap_err();
        assert!(e.detail.contains(want), "{ext}: {}", e.detail);
    }
    // Built-in schemas are not strict: unknown enterprise attributes stay as sent.
    let doc = json!({"userName": "b", crate::schema::ENTERPRISE_USER_SCHEMA: {"nope": 1}});
    validate(&doc, &rs()).unwrap();
}

#[test]
fn patch_validates_only_what_changed() {
    let stored = json!({"userName": "b", ACME: {"badge": "x", "absenceRegion": "OLD"}});
    let patch = |ops: serde_json::Value| {
        let ops = parse_request(&json!({"Operations": ops})).unwrap();
        let mut doc = stored.clone();
        apply(&mut doc, &ops, &rs()).map(|()| doc)
    };
    // An unrelated change goes through although a stored value is no longer canonical.
    let doc = patch(json!([{"op": "replace", "path": format!("{ACME}:teams"), "value": "Blue"}])).unwrap();
    assert_eq!(doc[ACME]["teams"], "Blue");
    let doc = patch(json!([{"op": "replace", "value": {ACME: {"absenceRegion": "US"}}}])).unwrap();
    assert_eq!(doc[ACME]["absenceRegion"], "US");
    let doc = patch(json!([{"op": "remove", "path": format!("{ACME}:absenceRegion")}])).unwrap();
    assert!(doc[ACME].get("absenceRegion").is_none());
    let bad = [
        (
            json!([{"op": "replace", "path": format!("{ACME}:absenceRegion"), "value": "us"}]),
            ScimType::InvalidValue,
        ),
        (
            json!([{"op": "add", "value": {ACME: {"teams": "Red,Nope"}}}]),
            ScimType::InvalidValue,
        ),
        (
            json!([{"op": "add", "path": format!("{ACME}:nope"), "value": "x"}]),
            ScimType::InvalidPath,
        ),
        (
            json!([{"op": "remove", "path": format!("{ACME}:badge")}]),
            ScimType::InvalidValue,
        ),
    ];
    for (ops, t) in bad {
        let e = patch(ops.clone()).unwrap_err();
        assert_eq!(e.scim_type, Some(t), "{ops}: {}", e.detail);
    }
}

#[test]
fn reads_the_schema_representation_back() {
    let def = acme();
    let mut expected = def.clone();
    expected.attributes.retain(|a| a.attr_type != "complex");
    for a in &mut expected.attributes {
        a.attr_type = AttrType::parse(&a.attr_type).unwrap().as_str().into();
        // Served with the RFC 7643 default spelled out.
        a.mutability = "readWrite".into();
    }
    assert_eq!(ExtensionDefinition::from_json(&def.to_json()).unwrap(), expected);
    let served = def.to_schema().to_json("https://x.test");
    let read = ExtensionDefinition::from_json(&served).unwrap();
    assert_eq!(read.resource_type, "User");
    assert_eq!(read.attributes, expected.attributes);
    let bad = [
        (json!([]), "must be a JSON object"),
        (json!({"attributes": []}), "needs an 'id'"),
        (json!({"id": ACME}), "needs an 'attributes' list"),
        (json!({"id": ACME, "attributes": ["x"]}), "must be an object"),
        (
            json!({"id": ACME, "attributes": [{"name": "a", "multiValued": "yes"}]}),
            "'multiValued' must be true or false",
        ),
        (
            json!({"id": ACME, "attributes": [{"name": "a", "canonicalValues": [1]}]}),
            "must be strings",
        ),
        (
            json!({"id": ACME, "attributes": [{"name": "a", "subAttributes": [{"name": "b"}]}]}),
            "not supported",
        ),
    ];
    for (doc, want) in bad {
        let e = ExtensionDefinition::from_json(&doc).unwrap_err();
        assert!(e.detail.contains(want), "{doc}: {}", e.detail);
    }
}

mod properties {
    use proptest::prelude::*;
    use serde_json::json;

    use super::{ACME, rs, user};
    use crate::resource::normalize;

    const TEAMS: [&str; 3] = ["Blue", "Red", "Green Team"];

    proptest! {
        /// Any separator list of canonical team names, with any spacing and empty items, is valid.
        #[test]
        fn canonical_lists_pass(items in prop::collection::vec((prop::sample::select(TEAMS.to_vec()), " {0,2}", " {0,2}"), 0..6)) {
            let list: Vec<String> = items.iter().map(|(t, a, b)| format!("{a}{t}{b}")).collect();
            let doc = user(json!({"badge": "x", "teams": list.join(",")}));
            prop_assert!(normalize(&doc, &rs()).is_ok());
        }

        /// One item that is not exactly a canonical value (any other case or spelling) fails,
        /// and the detail names it.
        #[test]
        fn one_bad_item_fails(good in prop::collection::vec(prop::sample::select(TEAMS.to_vec()), 0..4), bad in "[A-Za-z][A-Za-z ]{0,10}[A-Za-z]", at in 0usize..5) {
            prop_assume!(!TEAMS.contains(&bad.as_str()));
            let mut list: Vec<String> = good.iter().map(|s| (*s).to_string()).collect();
            list.insert(at.min(list.len()), bad.clone());
            let doc = user(json!({"badge": "x", "teams": list.join(",")}));
            let e = normalize(&doc, &rs()).unwrap_err();
            prop_assert_eq!(e.status, 400);
            prop_assert!(e.detail.contains(&format!("{bad:?}")), "{}", e.detail);
            prop_assert!(e.detail.contains(&format!("{ACME}:teams")), "{}", e.detail);
        }
    }
}

/// A schema with an absence region kept on removal and one attribute of each mutability.
fn kept_schema() -> ResourceSchema {
    let def = ExtensionDefinition::from_json(&json!({
        "id": ACME,
        "attributes": [
            {"name": "absenceRegion", "type": "string", "keptOnRemoval": true},
            {"name": "note", "type": "string"},
            {"name": "employeeNo", "type": "string", "mutability": "immutable"},
            {"name": "score", "type": "integer", "mutability": "readOnly"},
            {"name": "pin", "type": "string", "mutability": "WRITEONLY"},
        ]
    }))
    .unwrap();
    ResourceSchema::user().with_extensions([def.to_schema()])
}

#[test]
fn mutability_is_read_and_served() {
    let rs = kept_schema();
    let s = rs.schema_by_urn(ACME).unwrap();
    let shown: Vec<(String, serde_json::Value, serde_json::Value)> = s
        .attributes
        .iter()
        .map(|a| {
            let j = a.to_json();
            (a.name.clone(), j["mutability"].clone(), j["returned"].clone())
        })
        .collect();
    assert_eq!(
        shown,
        [
            ("absenceRegion".into(), json!("readWrite"), json!("default")),
            ("note".into(), json!("readWrite"), json!("default")),
            ("employeeNo".into(), json!("immutable"), json!("default")),
            ("score".into(), json!("readOnly"), json!("default")),
            ("pin".into(), json!("writeOnly"), json!("never")),
        ]
    );
    assert_eq!(s.attribute("absenceRegion").unwrap().to_json()["keptOnRemoval"], true);
    // readOnly values from the IdP are ignored; writeOnly ones are stored for the product.
    let doc = normalize(&user(json!({"score": 3, "pin": "1234", "note": "n"})), &rs).unwrap();
    assert_eq!(doc[ACME], json!({"pin": "1234", "note": "n"}));
    // immutable: set once, then a PUT may not change or remove it.
    let old = normalize(&user(json!({"employeeNo": "E1"})), &rs).unwrap();
    for new in [json!({"employeeNo": "E2"}), json!({})] {
        let new = normalize(&user(new), &rs).unwrap();
        let e = crate::resource::check_immutable(&old, &new, &rs).unwrap_err();
        assert_eq!(e.scim_type, Some(crate::error::ScimType::Mutability), "{e:?}");
    }
}

#[test]
fn kept_values_survive_every_kind_of_removal() {
    let rs = kept_schema();
    let old = normalize(&user(json!({"absenceRegion": "EU", "note": "n"})), &rs).unwrap();
    let patched = |ops: serde_json::Value| {
        let mut doc = old.clone();
        let req = parse_request(&json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops
        }))
        .unwrap();
        apply(&mut doc, &req, &rs).unwrap();
        doc
    };
    let path = format!("{ACME}:absenceRegion");
    // (case, the document after the IdP's request, the region it keeps, whether kept)
    let cases = [
        (
            "PATCH remove",
            patched(json!([{"op": "remove", "path": path}])),
            "EU",
            true,
        ),
        (
            "PATCH replace with \"\"",
            patched(json!([{"op": "replace", "path": path, "value": ""}])),
            "EU",
            true,
        ),
        (
            "PATCH replace with null",
            patched(json!([{"op": "replace", "path": path, "value": null}])),
            "EU",
            true,
        ),
        (
            "PUT without the extension",
            normalize(&json!({"userName": "bjensen"}), &rs).unwrap(),
            "EU",
            true,
        ),
        (
            "PUT without the attribute",
            normalize(&user(json!({"note": "m"})), &rs).unwrap(),
            "EU",
            true,
        ),
        (
            "a change is a change",
            patched(json!([{"op": "replace", "path": path, "value": "US"}])),
            "US",
            false,
        ),
    ];
    for (case, mut new, region, was_kept) in cases {
        let kept = keep_on_removal(&old, &mut new, &rs);
        assert_eq!(new[ACME]["absenceRegion"], region, "{case}: {new}");
        assert_eq!(kept, if was_kept { vec![path.clone()] } else { vec![] }, "{case}");
        assert_eq!(new["schemas"][1], ACME, "{case}: {new}");
    }
    // Other attributes are removed as asked.
    let mut new = patched(json!([{"op": "remove", "path": format!("{ACME}:note")}]));
    assert!(keep_on_removal(&old, &mut new, &rs).is_empty());
    assert!(new[ACME].get("note").is_none());
}
