//! Schema definitions (RFC 7643 §2, §4, §7, §8.7) as runtime data, with the built-in
//! User, Group and Enterprise User schemas. Tenants register extension schemas of their own
//! (the core's `Schemas` service), so nothing else in the crate hard-codes attribute names
//! that a schema can tell it.

use serde_json::{Map, Value, json};

use crate::path::AttrPath;

pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const ENTERPRISE_USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
/// Schema URN of schema representations themselves (RFC 7643 §7).
pub const SCHEMA_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";

/// RFC 7643 §2.3 data types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttrType {
    String,
    Boolean,
    Decimal,
    Integer,
    DateTime,
    Binary,
    Reference,
    Complex,
}

impl AttrType {
    pub fn as_str(&self) -> &'static str {
        match self {
            AttrType::String => "string",
            AttrType::Boolean => "boolean",
            AttrType::Decimal => "decimal",
            AttrType::Integer => "integer",
            AttrType::DateTime => "dateTime",
            AttrType::Binary => "binary",
            AttrType::Reference => "reference",
            AttrType::Complex => "complex",
        }
    }

    /// Reads an RFC 7643 §7 type name, case-insensitively.
    pub fn parse(s: &str) -> Option<Self> {
        use AttrType::*;
        [String, Boolean, Decimal, Integer, DateTime, Binary, Reference, Complex]
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(s.trim()))
    }
}

/// RFC 7643 §7 `mutability`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutability {
    ReadOnly,
    ReadWrite,
    Immutable,
    WriteOnly,
}

impl Mutability {
    /// Reads an RFC 7643 §7 mutability name, case-insensitively.
    pub fn parse(s: &str) -> Option<Self> {
        use Mutability::*;
        [ReadOnly, ReadWrite, Immutable, WriteOnly]
            .into_iter()
            .find(|m| m.as_str().eq_ignore_ascii_case(s.trim()))
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            Mutability::ReadOnly => "readOnly",
            Mutability::ReadWrite => "readWrite",
            Mutability::Immutable => "immutable",
            Mutability::WriteOnly => "writeOnly",
        }
    }
}

/// RFC 7643 §7 `returned`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Returned {
    Always,
    Never,
    Default,
    Request,
}

impl Returned {
    pub fn as_str(&self) -> &'static str {
        match self {
            Returned::Always => "always",
            Returned::Never => "never",
            Returned::Default => "default",
            Returned::Request => "request",
        }
    }
}

/// RFC 7643 §7 `uniqueness`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Uniqueness {
    None,
    Server,
    Global,
}

impl Uniqueness {
    pub fn as_str(&self) -> &'static str {
        match self {
            Uniqueness::None => "none",
            Uniqueness::Server => "server",
            Uniqueness::Global => "global",
        }
    }
}

/// One attribute definition (RFC 7643 §7 "attributes").
#[derive(Debug, Clone)]
pub struct AttributeDef {
    pub name: String,
    pub attr_type: AttrType,
    pub multi_valued: bool,
    pub description: String,
    pub required: bool,
    pub case_exact: bool,
    pub mutability: Mutability,
    pub returned: Returned,
    pub uniqueness: Uniqueness,
    pub canonical_values: Vec<String>,
    pub reference_types: Vec<String>,
    pub sub_attributes: Vec<AttributeDef>,
    /// dirsync's addition for tenant schemas: a string holding a list ("Blue,Red") whose
    /// trimmed items are each checked against `canonical_values`.
    pub separator: Option<String>,
    /// dirsync's addition for tenant schemas (`keptOnRemoval`): the IdP sets and changes the
    /// value but never clears it; a removal, a "" or null, or a PUT without it keeps it.
    pub kept_on_removal: bool,
    /// A `writeOnly` value that is stored (for the product, over gRPC) though never returned
    /// over SCIM: tenant attributes. Built-in writeOnly values (password) are never stored.
    pub stores_write_only: bool,
}

impl AttributeDef {
    /// A single-valued, optional, read-write, case-insensitive attribute: the RFC 7643 §2.2
    /// defaults, which most attributes use.
    pub fn new(name: &str, attr_type: AttrType, description: &str) -> Self {
        Self {
            name: name.into(),
            attr_type,
            multi_valued: false,
            description: description.into(),
            required: false,
            case_exact: false,
            mutability: Mutability::ReadWrite,
            returned: Returned::Default,
            uniqueness: Uniqueness::None,
            canonical_values: Vec::new(),
            reference_types: Vec::new(),
            sub_attributes: Vec::new(),
            separator: None,
            kept_on_removal: false,
            stores_write_only: false,
        }
    }

    /// A complex attribute with the given sub-attributes.
    pub fn complex(name: &str, description: &str, subs: Vec<AttributeDef>) -> Self {
        Self {
            sub_attributes: subs,
            ..Self::new(name, AttrType::Complex, description)
        }
    }

    pub fn multi(mut self) -> Self {
        self.multi_valued = true;
        self
    }

    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }

    pub fn case_exact(mut self) -> Self {
        self.case_exact = true;
        self
    }

    pub fn mutability(mut self, m: Mutability) -> Self {
        self.mutability = m;
        self
    }

    pub fn returned(mut self, r: Returned) -> Self {
        self.returned = r;
        self
    }

    pub fn uniqueness(mut self, u: Uniqueness) -> Self {
        self.uniqueness = u;
        self
    }

    pub fn canonical(mut self, values: &[&str]) -> Self {
        self.canonical_values = values.iter().map(|v| (*v).to_string()).collect();
        self
    }

    pub fn references(mut self, types: &[&str]) -> Self {
        self.reference_types = types.iter().map(|v| (*v).to_string()).collect();
        self
    }

    /// Marks the attribute and all its sub-attributes read-only (e.g. User `groups`, `meta`).
    fn read_only_tree(mut self) -> Self {
        self.mutability = Mutability::ReadOnly;
        self.sub_attributes = self
            .sub_attributes
            .into_iter()
            .map(AttributeDef::read_only_tree)
            .collect();
        self
    }

    /// Looks a sub-attribute up case-insensitively (RFC 7643 §2.1: names are case-insensitive).
    pub fn sub_attribute(&self, name: &str) -> Option<&AttributeDef> {
        self.sub_attributes.iter().find(|a| a.name.eq_ignore_ascii_case(name))
    }

    /// RFC 7643 §7 attribute representation.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("name".into(), json!(self.name));
        m.insert("type".into(), json!(self.attr_type.as_str()));
        m.insert("multiValued".into(), json!(self.multi_valued));
        m.insert("description".into(), json!(self.description));
        m.insert("required".into(), json!(self.required));
        if self.attr_type != AttrType::Complex {
            m.insert("caseExact".into(), json!(self.case_exact));
        }
        m.insert("mutability".into(), json!(self.mutability.as_str()));
        m.insert("returned".into(), json!(self.returned.as_str()));
        m.insert("uniqueness".into(), json!(self.uniqueness.as_str()));
        if !self.canonical_values.is_empty() {
            m.insert("canonicalValues".into(), json!(self.canonical_values));
        }
        if self.attr_type == AttrType::Reference {
            m.insert("referenceTypes".into(), json!(self.reference_types));
        }
        if self.attr_type == AttrType::Complex {
            let subs: Vec<Value> = self.sub_attributes.iter().map(|s| s.to_json()).collect();
            m.insert("subAttributes".into(), Value::Array(subs));
        }
        if let Some(sep) = &self.separator {
            m.insert("separator".into(), json!(sep));
        }
        if self.kept_on_removal {
            m.insert("keptOnRemoval".into(), json!(true));
        }
        Value::Object(m)
    }
}

/// A schema (RFC 7643 §7): an id URN and its attributes.
#[derive(Debug, Clone)]
pub struct Schema {
    pub id: String,
    pub name: String,
    pub description: String,
    pub attributes: Vec<AttributeDef>,
    /// A tenant-defined extension: documents are validated against it strictly (unknown
    /// attributes and values outside `canonicalValues` are refused; see `crate::extension`).
    pub strict: bool,
}

/// RFC 7643 §3.1 common attributes: they belong to every resource, not to a schema, so the
/// §7 representation leaves them out even though our core schemas carry their definitions.
const COMMON_ATTRIBUTES: [&str; 3] = ["id", "externalId", "meta"];

impl Schema {
    /// Case-insensitive lookup (RFC 7643 §2.1).
    pub fn attribute(&self, name: &str) -> Option<&AttributeDef> {
        self.attributes.iter().find(|a| a.name.eq_ignore_ascii_case(name))
    }

    /// RFC 7643 §7 representation, as served by `GET /Schemas/<id>` (RFC 7644 §4).
    pub fn to_json(&self, base_url: &str) -> Value {
        let attrs: Vec<Value> = self
            .attributes
            .iter()
            .filter(|a| !COMMON_ATTRIBUTES.contains(&a.name.as_str()))
            .map(AttributeDef::to_json)
            .collect();
        json!({
            "schemas": [SCHEMA_SCHEMA],
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "attributes": attrs,
            "meta": {
                "resourceType": "Schema",
                "location": format!("{}/Schemas/{}", base_url.trim_end_matches('/'), self.id),
            }
        })
    }
}

/// `id`, `externalId` and `meta` (RFC 7643 §3.1), carried by every core schema here so that
/// path resolution, projection and mutability checks treat them like any other attribute.
fn common_attributes() -> Vec<AttributeDef> {
    use AttrType::*;
    vec![
        AttributeDef::new(
            "id",
            String,
            "Unique identifier for the resource, assigned by the service provider.",
        )
        .case_exact()
        .mutability(Mutability::ReadOnly)
        .returned(Returned::Always)
        .uniqueness(Uniqueness::Server),
        AttributeDef::new(
            "externalId",
            String,
            "Identifier for the resource as defined by the provisioning client.",
        )
        .case_exact(),
        AttributeDef::complex(
            "meta",
            "Resource metadata.",
            vec![
                AttributeDef::new("resourceType", String, "Name of the resource type.").case_exact(),
                AttributeDef::new("created", DateTime, "When the resource was added."),
                AttributeDef::new("lastModified", DateTime, "When the resource was last updated."),
                AttributeDef::new("location", Reference, "URI of the resource.")
                    .case_exact()
                    .references(&["uri"]),
                AttributeDef::new("version", String, "Version (ETag) of the resource.").case_exact(),
            ],
        )
        .read_only_tree(),
    ]
}

/// The usual sub-attributes of a multi-valued attribute (RFC 7643 §2.4).
fn value_display_type_primary(value_type: AttrType, types: &[&str]) -> Vec<AttributeDef> {
    vec![
        AttributeDef::new("value", value_type, "The attribute's significant value."),
        AttributeDef::new(
            "display",
            AttrType::String,
            "A human-readable name, primarily used for display purposes.",
        ),
        AttributeDef::new("type", AttrType::String, "A label indicating the attribute's function.").canonical(types),
        AttributeDef::new(
            "primary",
            AttrType::Boolean,
            "Whether this is the preferred value; at most one may be true.",
        ),
    ]
}

/// RFC 7643 §4.1 and §8.7.1: the core User schema.
pub fn user_schema() -> Schema {
    use AttrType::*;
    let mut attributes = vec![
        AttributeDef::new(
            "userName",
            String,
            "Unique identifier for the User, used to authenticate.",
        )
        .required()
        .uniqueness(Uniqueness::Server),
        AttributeDef::complex(
            "name",
            "The components of the user's real name.",
            vec![
                AttributeDef::new("formatted", String, "The full name, formatted for display."),
                AttributeDef::new("familyName", String, "The family name (last name)."),
                AttributeDef::new("givenName", String, "The given name (first name)."),
                AttributeDef::new("middleName", String, "The middle name(s)."),
                AttributeDef::new("honorificPrefix", String, "The honorific prefix(es), e.g. 'Ms.'."),
                AttributeDef::new("honorificSuffix", String, "The honorific suffix(es), e.g. 'III'."),
            ],
        ),
        AttributeDef::new("displayName", String, "The name of the User, suitable for display."),
        AttributeDef::new("nickName", String, "The casual way to address the user."),
        AttributeDef::new(
            "profileUrl",
            Reference,
            "A fully qualified URL pointing to the User's online profile.",
        )
        .references(&["external"]),
        AttributeDef::new("title", String, "The user's title, such as 'Vice President'."),
        AttributeDef::new(
            "userType",
            String,
            "The relationship between the organization and the user.",
        ),
        AttributeDef::new(
            "preferredLanguage",
            String,
            "Preferred written or spoken language (RFC 7231 Accept-Language).",
        ),
        AttributeDef::new(
            "locale",
            String,
            "Default location for localizing currency, dates and numbers.",
        ),
        AttributeDef::new(
            "timezone",
            String,
            "Time zone in IANA 'Olson' format, e.g. 'America/Los_Angeles'.",
        ),
        AttributeDef::new("active", Boolean, "The User's administrative status."),
        AttributeDef::new("password", String, "The User's cleartext password; never returned.")
            .mutability(Mutability::WriteOnly)
            .returned(Returned::Never),
        AttributeDef::complex(
            "emails",
            "Email addresses for the user.",
            value_display_type_primary(String, &["work", "home", "other"]),
        )
        .multi(),
        AttributeDef::complex(
            "phoneNumbers",
            "Phone numbers for the User.",
            value_display_type_primary(String, &["work", "home", "mobile", "fax", "pager", "other"]),
        )
        .multi(),
        AttributeDef::complex(
            "ims",
            "Instant messaging addresses for the User.",
            value_display_type_primary(String, &["aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo"]),
        )
        .multi(),
        AttributeDef::complex("photos", "URLs of photos of the User.", {
            let mut subs = value_display_type_primary(Reference, &["photo", "thumbnail"]);
            if let Some(v) = subs.first_mut() {
                v.reference_types = vec!["external".into()];
            }
            subs
        })
        .multi(),
        AttributeDef::complex(
            "addresses",
            "A physical mailing address for this User.",
            vec![
                AttributeDef::new("formatted", String, "The full mailing address, formatted for display."),
                AttributeDef::new("streetAddress", String, "The full street address component."),
                AttributeDef::new("locality", String, "The city or locality component."),
                AttributeDef::new("region", String, "The state or region component."),
                AttributeDef::new("postalCode", String, "The zip code or postal code component."),
                AttributeDef::new("country", String, "The country name component (ISO 3166-1 alpha-2)."),
                AttributeDef::new("type", String, "A label indicating the attribute's function.")
                    .canonical(&["work", "home", "other"]),
                AttributeDef::new("primary", Boolean, "Whether this is the preferred mailing address."),
            ],
        )
        .multi(),
        AttributeDef::complex(
            "groups",
            "Groups the user belongs to; maintained by the service provider.",
            vec![
                AttributeDef::new("value", String, "The identifier of the User's group."),
                AttributeDef::new("$ref", Reference, "The URI of the Group resource.").references(&["User", "Group"]),
                AttributeDef::new("display", String, "A human-readable name of the group."),
                AttributeDef::new("type", String, "How the membership was derived.").canonical(&["direct", "indirect"]),
            ],
        )
        .multi()
        .read_only_tree(),
        AttributeDef::complex(
            "entitlements",
            "Entitlements for the User.",
            value_display_type_primary(String, &[]),
        )
        .multi(),
        AttributeDef::complex("roles", "Roles for the User.", value_display_type_primary(String, &[])).multi(),
        AttributeDef::complex(
            "x509Certificates",
            "DER-encoded X.509 certificates issued to the User.",
            value_display_type_primary(Binary, &[]),
        )
        .multi(),
    ];
    attributes.extend(common_attributes());
    Schema {
        id: USER_SCHEMA.into(),
        name: "User".into(),
        description: "User Account".into(),
        attributes,
        strict: false,
    }
}

/// RFC 7643 §4.2 and §8.7.1: the core Group schema. `displayName` is required here (the RFC
/// leaves it optional) because every IdP sends it and the directory keys groups on it.
pub fn group_schema() -> Schema {
    use AttrType::*;
    let mut attributes = vec![
        AttributeDef::new("displayName", String, "A human-readable name for the Group.").required(),
        AttributeDef::complex(
            "members",
            "A list of members of the Group.",
            vec![
                AttributeDef::new("value", String, "Identifier of the member of this Group.")
                    .mutability(Mutability::Immutable),
                AttributeDef::new("$ref", Reference, "The URI of the member resource.")
                    .references(&["User", "Group"])
                    .mutability(Mutability::Immutable),
                // RFC 7643 §2.4: `display` is READ-ONLY; it is the member's current name.
                AttributeDef::new("display", String, "A human-readable name of the member.")
                    .mutability(Mutability::ReadOnly),
                AttributeDef::new("type", String, "The type of the member.")
                    .canonical(&["User", "Group"])
                    .mutability(Mutability::Immutable),
            ],
        )
        .multi(),
    ];
    attributes.extend(common_attributes());
    Schema {
        id: GROUP_SCHEMA.into(),
        name: "Group".into(),
        description: "Group".into(),
        attributes,
        strict: false,
    }
}

/// RFC 7643 §4.3 and §8.7.1: the Enterprise User extension.
pub fn enterprise_user_schema() -> Schema {
    use AttrType::*;
    Schema {
        id: ENTERPRISE_USER_SCHEMA.into(),
        name: "EnterpriseUser".into(),
        description: "Enterprise User".into(),
        attributes: vec![
            AttributeDef::new(
                "employeeNumber",
                String,
                "Numeric or alphanumeric identifier assigned by the organization.",
            ),
            AttributeDef::new("costCenter", String, "Identifies the name of a cost center."),
            AttributeDef::new("organization", String, "Identifies the name of an organization."),
            AttributeDef::new("division", String, "Identifies the name of a division."),
            AttributeDef::new("department", String, "Identifies the name of a department."),
            AttributeDef::complex(
                "manager",
                "The User's manager.",
                vec![
                    AttributeDef::new("value", String, "The id of the SCIM resource representing the manager."),
                    AttributeDef::new("$ref", Reference, "The URI of the manager's User resource.")
                        .references(&["User"]),
                    AttributeDef::new("displayName", String, "The displayName of the manager.")
                        .mutability(Mutability::ReadOnly),
                ],
            ),
        ],
        strict: false,
    }
}

/// Non-standard schema URNs sent by real clients, mapped to the standard ones (docs/idp/notes.md
/// B1.11, B3.1/B3.2). `None` in the target means "the resource type's core schema".
const URN_ALIASES: [(&str, Option<&str>); 5] = [
    ("urn:scim:schemas:core:2.0", None),
    ("urn:scim:schemas:core:1.0", None),
    (
        "urn:scim:schemas:extension:enterprise:2.0",
        Some(ENTERPRISE_USER_SCHEMA),
    ),
    (
        "urn:scim:schemas:extension:enterprise:1.0",
        Some(ENTERPRISE_USER_SCHEMA),
    ),
    (
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0User",
        Some(ENTERPRISE_USER_SCHEMA),
    ),
];

/// A resource type's core schema plus its extensions; all lookups go through this.
#[derive(Debug, Clone)]
pub struct ResourceSchema {
    /// Resource type name, e.g. "User".
    pub name: String,
    /// Endpoint relative to the base URL, e.g. "/Users".
    pub endpoint: String,
    pub core: Schema,
    /// Extension schemas and whether each is required (RFC 7643 §6 `schemaExtensions`).
    pub extensions: Vec<(Schema, bool)>,
}

/// The outcome of resolving an attribute path against a [`ResourceSchema`].
#[derive(Debug, Clone, Copy)]
pub struct Resolved<'a> {
    /// Id of the schema the attribute belongs to.
    pub schema: &'a str,
    pub attr: &'a AttributeDef,
    pub sub_attr: Option<&'a AttributeDef>,
}

impl ResourceSchema {
    /// Core User with the (optional) Enterprise User extension.
    pub fn user() -> Self {
        Self {
            name: "User".into(),
            endpoint: "/Users".into(),
            core: user_schema(),
            extensions: vec![(enterprise_user_schema(), false)],
        }
    }

    pub fn group() -> Self {
        Self {
            name: "Group".into(),
            endpoint: "/Groups".into(),
            core: group_schema(),
            extensions: Vec::new(),
        }
    }

    /// All schema ids, core first.
    pub fn schema_ids(&self) -> Vec<&str> {
        std::iter::once(self.core.id.as_str())
            .chain(self.extensions.iter().map(|(s, _)| s.id.as_str()))
            .collect()
    }

    /// All schemas, core first.
    pub fn schemas(&self) -> impl Iterator<Item = &Schema> {
        std::iter::once(&self.core).chain(self.extensions.iter().map(|(s, _)| s))
    }

    /// Finds the schema a URN names: exact ids case-insensitively (RFC 7643 §2.1 via B7), then
    /// the known non-standard aliases.
    pub fn schema_by_urn(&self, urn: &str) -> Option<&Schema> {
        if let Some(s) = self.schemas().find(|s| s.id.eq_ignore_ascii_case(urn)) {
            return Some(s);
        }
        let (_, target) = URN_ALIASES.iter().find(|(alias, _)| alias.eq_ignore_ascii_case(urn))?;
        match target {
            None => Some(&self.core),
            Some(id) => self.schemas().find(|s| s.id == *id),
        }
    }

    /// The extension schema a URN names, if it is one of this resource's extensions.
    pub fn extension_by_urn(&self, urn: &str) -> Option<&Schema> {
        self.schema_by_urn(urn).filter(|s| s.id != self.core.id)
    }

    /// Resolves an attribute path (case-insensitively, with or without URN prefix) to its
    /// schema id and definition (+ sub-attribute def). Unprefixed names are looked up in the
    /// core schema first, then in the extensions.
    pub fn resolve(&self, path: &AttrPath) -> Option<Resolved<'_>> {
        let (schema, attr) = match &path.schema {
            Some(urn) => {
                let s = self.schema_by_urn(urn)?;
                (s, s.attribute(&path.attr)?)
            }
            None => self.schemas().find_map(|s| s.attribute(&path.attr).map(|a| (s, a)))?,
        };
        let sub_attr = match &path.sub_attr {
            Some(sub) => Some(attr.sub_attribute(sub)?),
            None => None,
        };
        Some(Resolved {
            schema: &schema.id,
            attr,
            sub_attr,
        })
    }

    /// Whether `schema_id` names the core schema (attributes live at the document root).
    pub fn is_core(&self, schema_id: &str) -> bool {
        self.core.id.eq_ignore_ascii_case(schema_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(s: &str) -> AttrPath {
        AttrPath::parse(s).unwrap()
    }

    #[test]
    fn resolves_paths() {
        let rs = ResourceSchema::user();
        // (path, schema id, attr, sub)
        let cases = [
            ("userName", USER_SCHEMA, "userName", None),
            ("USERNAME", USER_SCHEMA, "userName", None),
            ("name.givenName", USER_SCHEMA, "name", Some("givenName")),
            ("Name.GIVENNAME", USER_SCHEMA, "name", Some("givenName")),
            (
                "urn:ietf:params:scim:schemas:core:2.0:User:userName",
                USER_SCHEMA,
                "userName",
                None,
            ),
            (
                "URN:IETF:PARAMS:SCIM:SCHEMAS:CORE:2.0:USER:name.familyName",
                USER_SCHEMA,
                "name",
                Some("familyName"),
            ),
            (
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
                ENTERPRISE_USER_SCHEMA,
                "manager",
                Some("value"),
            ),
            (
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
                ENTERPRISE_USER_SCHEMA,
                "department",
                None,
            ),
            ("department", ENTERPRISE_USER_SCHEMA, "department", None),
            (
                "urn:scim:schemas:extension:enterprise:2.0:costCenter",
                ENTERPRISE_USER_SCHEMA,
                "costCenter",
                None,
            ),
            (
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0User:division",
                ENTERPRISE_USER_SCHEMA,
                "division",
                None,
            ),
            ("urn:scim:schemas:core:2.0:title", USER_SCHEMA, "title", None),
            ("emails.value", USER_SCHEMA, "emails", Some("value")),
            ("id", USER_SCHEMA, "id", None),
            ("meta.lastModified", USER_SCHEMA, "meta", Some("lastModified")),
        ];
        for (p, schema, attr, sub) in cases {
            let r = rs.resolve(&path(p)).unwrap_or_else(|| panic!("{p} should resolve"));
            assert_eq!(r.schema, schema, "{p}");
            assert_eq!(r.attr.name, attr, "{p}");
            assert_eq!(r.sub_attr.map(|s| s.name.as_str()), sub, "{p}");
        }
    }

    #[test]
    fn unresolvable_paths() {
        let rs = ResourceSchema::user();
        for p in [
            "nope",
            "name.nope",
            "urn:ietf:params:scim:schemas:core:2.0:Group:displayName2",
            "urn:example:unknown:foo",
            "urn:ietf:params:scim:schemas:core:2.0:User:employeeNumber",
            "members",
        ] {
            assert!(rs.resolve(&path(p)).is_none(), "{p}");
        }
        let g = ResourceSchema::group();
        assert!(g.resolve(&path("members.value")).is_some());
        assert!(g.resolve(&path("department")).is_none());
    }

    #[test]
    fn attribute_characteristics() {
        let u = user_schema();
        let cases: [(&str, Mutability, Returned, bool, bool); 6] = [
            ("userName", Mutability::ReadWrite, Returned::Default, true, false),
            ("id", Mutability::ReadOnly, Returned::Always, false, true),
            ("externalId", Mutability::ReadWrite, Returned::Default, false, true),
            ("password", Mutability::WriteOnly, Returned::Never, false, false),
            ("groups", Mutability::ReadOnly, Returned::Default, false, false),
            ("meta", Mutability::ReadOnly, Returned::Default, false, false),
        ];
        for (name, m, r, required, case_exact) in cases {
            let a = u.attribute(name).unwrap();
            assert_eq!(a.mutability, m, "{name}");
            assert_eq!(a.returned, r, "{name}");
            assert_eq!(a.required, required, "{name}");
            assert_eq!(a.case_exact, case_exact, "{name}");
        }
        assert_eq!(u.attribute("userName").unwrap().uniqueness, Uniqueness::Server);
        assert_eq!(u.attribute("active").unwrap().attr_type, AttrType::Boolean);
        let groups = u.attribute("groups").unwrap();
        assert!(
            groups
                .sub_attributes
                .iter()
                .all(|s| s.mutability == Mutability::ReadOnly)
        );
        let g = group_schema();
        let members = g.attribute("members").unwrap();
        assert!(members.multi_valued);
        assert_eq!(
            members.sub_attribute("VALUE").unwrap().mutability,
            Mutability::Immutable
        );
        assert!(g.attribute("displayName").unwrap().required);
        let e = enterprise_user_schema();
        let manager = e.attribute("manager").unwrap();
        assert_eq!(
            manager.sub_attribute("displayName").unwrap().mutability,
            Mutability::ReadOnly
        );
    }

    #[test]
    fn schema_json_representation() {
        let j = user_schema().to_json("https://x.test/scim/v2/");
        assert_eq!(j["id"], USER_SCHEMA);
        assert_eq!(j["meta"]["resourceType"], "Schema");
        assert_eq!(
            j["meta"]["location"],
            format!("https://x.test/scim/v2/Schemas/{USER_SCHEMA}")
        );
        let attrs = j["attributes"].as_array().unwrap();
        assert!(attrs.iter().all(|a| a["name"] != "id" && a["name"] != "meta"));
        let user_name = attrs.iter().find(|a| a["name"] == "userName").unwrap();
        assert_eq!(
            user_name,
            &json!({"name":"userName","type":"string","multiValued":false,
                "description":"Unique identifier for the User, used to authenticate.","required":true,
                "caseExact":false,"mutability":"readWrite","returned":"default","uniqueness":"server"})
        );
        let emails = attrs.iter().find(|a| a["name"] == "emails").unwrap();
        assert_eq!(emails["multiValued"], true);
        assert_eq!(emails["subAttributes"].as_array().unwrap().len(), 4);
        assert_eq!(
            emails["subAttributes"][2]["canonicalValues"],
            json!(["work", "home", "other"])
        );
        let profile = attrs.iter().find(|a| a["name"] == "profileUrl").unwrap();
        assert_eq!(profile["referenceTypes"], json!(["external"]));
    }

    #[test]
    fn schema_ids_and_urns() {
        let rs = ResourceSchema::user();
        assert_eq!(rs.schema_ids(), vec![USER_SCHEMA, ENTERPRISE_USER_SCHEMA]);
        assert_eq!(ResourceSchema::group().schema_ids(), vec![GROUP_SCHEMA]);
        let cases = [
            ("urn:scim:schemas:core:2.0", Some(USER_SCHEMA)),
            (
                "urn:scim:schemas:extension:enterprise:2.0",
                Some(ENTERPRISE_USER_SCHEMA),
            ),
            (
                "URN:IETF:PARAMS:SCIM:SCHEMAS:EXTENSION:ENTERPRISE:2.0:USER",
                Some(ENTERPRISE_USER_SCHEMA),
            ),
            (
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0User",
                Some(ENTERPRISE_USER_SCHEMA),
            ),
            ("urn:other", None),
        ];
        for (urn, want) in cases {
            assert_eq!(rs.schema_by_urn(urn).map(|s| s.id.as_str()), want, "{urn}");
        }
        assert!(rs.extension_by_urn(USER_SCHEMA).is_none());
        assert_eq!(
            ResourceSchema::group()
                .schema_by_urn("urn:scim:schemas:core:2.0")
                .map(|s| s.id.as_str()),
            Some(GROUP_SCHEMA)
        );
    }
}
