//! A protocol-neutral filter and sort (RFC 7644 §3.4.2.2 and §3.4.2.3 semantics): what the
//! store translates to SQL. The SCIM edge resolves SCIM filters against the tenant's schema and
//! sends them as typed protobuf trees; the core turns those into this tree once.

/// A path to an attribute, resolved against the resource schema by the caller.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AttributePath {
    /// Schema URN of an extension; empty for the resource's core schema.
    pub schema: String,
    /// Attribute name in its canonical case (e.g. "userName", "emails", "meta").
    pub name: String,
    /// Sub-attribute name ("givenName", "value", "lastModified"), empty if none.
    pub sub_attribute: String,
    /// The attribute holds an array (emails, members, ...).
    pub multi_valued: bool,
}

impl AttributePath {
    /// A core-schema attribute.
    pub fn new(name: &str, sub_attribute: &str, multi_valued: bool) -> Self {
        AttributePath {
            schema: String::new(),
            name: name.to_owned(),
            sub_attribute: sub_attribute.to_owned(),
            multi_valued,
        }
    }
}

/// A filter expression. `And` and `Or` are n-ary, so the tree is as deep as the filter's
/// parentheses, never as long as its list of terms.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    And(Vec<Filter>),
    Or(Vec<Filter>),
    Not(Box<Filter>),
    Compare(Comparison),
    Present(AttributePath),
    /// Elements of a multi-valued attribute matching a filter whose paths are relative to the
    /// element (`emails[type eq "work" and value co "@example.com"]`).
    ValuePath {
        path: AttributePath,
        filter: Box<Filter>,
    },
}

/// The comparison operators are SCIM's (RFC 7644 §3.4.2.2), whoever sends the filter.
pub use dirsync_scim::filter::CompareOp;

#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    pub path: AttributePath,
    pub op: CompareOp,
    pub value: FilterValue,
    /// Compare strings case-sensitively (the attribute's caseExact).
    pub case_exact: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum FilterValue {
    String(String),
    Boolean(bool),
    Number(f64),
    /// A date-time, in milliseconds since the Unix epoch.
    DateTime(i64),
    Null,
}

impl Filter {
    /// `path op "value"`, compared case-insensitively.
    pub fn compare(path: AttributePath, op: CompareOp, value: &str) -> Filter {
        Filter::Compare(Comparison {
            path,
            op,
            value: FilterValue::String(value.to_owned()),
            case_exact: false,
        })
    }
}

/// `sortBy` and `sortOrder`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sort {
    pub path: AttributePath,
    pub descending: bool,
}
