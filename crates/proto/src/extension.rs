//! `ExtensionSchema` <-> [`ExtensionDefinition`], written once: the core, the edge and the
//! admin CLI all convert through these (the domain, the store and the SCIM layer use the
//! definition itself). Times and the tenant id are the core's to fill in.

use dirsync_scim::extension::{ExtensionAttribute, ExtensionDefinition};

use crate::v1::{ExtensionSchema, SchemaAttribute};

impl From<SchemaAttribute> for ExtensionAttribute {
    fn from(a: SchemaAttribute) -> Self {
        Self {
            name: a.name,
            attr_type: a.r#type,
            multi_valued: a.multi_valued,
            required: a.required,
            case_exact: a.case_exact,
            canonical_values: a.canonical_values,
            description: a.description,
            separator: a.separator,
            mutability: a.mutability,
            kept_on_removal: a.kept_on_removal,
        }
    }
}

impl From<ExtensionAttribute> for SchemaAttribute {
    fn from(a: ExtensionAttribute) -> Self {
        Self {
            name: a.name,
            r#type: a.attr_type,
            multi_valued: a.multi_valued,
            required: a.required,
            case_exact: a.case_exact,
            canonical_values: a.canonical_values,
            description: a.description,
            separator: a.separator,
            mutability: a.mutability,
            kept_on_removal: a.kept_on_removal,
        }
    }
}

impl From<ExtensionSchema> for ExtensionDefinition {
    fn from(s: ExtensionSchema) -> Self {
        Self {
            urn: s.urn,
            name: s.name,
            description: s.description,
            resource_type: s.resource_type,
            attributes: s.attributes.into_iter().map(Into::into).collect(),
        }
    }
}

impl From<ExtensionDefinition> for ExtensionSchema {
    /// The definition's fields; `tenant_id`, `created` and `updated` stay empty.
    fn from(d: ExtensionDefinition) -> Self {
        Self {
            urn: d.urn,
            name: d.name,
            description: d.description,
            resource_type: d.resource_type,
            attributes: d.attributes.into_iter().map(Into::into).collect(),
            ..Default::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_definition_survives_the_round_trip() {
        let def = ExtensionDefinition {
            urn: "urn:ietf:params:scim:schemas:extension:acme:2.0:User".into(),
            name: "User".into(),
            description: "Acme".into(),
            resource_type: "User".into(),
            attributes: vec![ExtensionAttribute {
                name: "teams".into(),
                attr_type: "string".into(),
                multi_valued: true,
                required: true,
                case_exact: true,
                canonical_values: vec!["a".into(), "b".into()],
                description: "Teams".into(),
                separator: ",".into(),
                mutability: "writeOnly".into(),
                kept_on_removal: true,
            }],
        };
        let schema = ExtensionSchema::from(def.clone());
        assert_eq!(schema.attributes[0].r#type, "string");
        assert_eq!(ExtensionDefinition::from(schema), def);
    }
}
