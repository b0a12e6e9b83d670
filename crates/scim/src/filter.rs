//! The RFC 7644 §3.4.2.2 filter language: a hand-written recursive-descent parser, a
//! canonical printer, and an in-memory evaluator for PATCH value filters and tests.
//!
//! Leniencies beyond the RFC grammar (docs/idp/notes.md B1.15, B5.2): unquoted bare values, and
//! Entra's `emails[type eq "work"] eq "x"` / `emails[type eq "work"].value eq "x"` forms.

use std::cmp::Ordering;
use std::fmt;

use serde_json::{Map, Value};

use crate::datetime::parse_rfc3339;
use crate::error::{ScimError, ScimType};
use crate::path::{AttrPath, is_attr_name};
use crate::schema::{AttrType, AttributeDef, ResourceSchema};

/// A parsed filter expression.
#[derive(Debug, Clone, PartialEq)]
///
/// `and` and `or` hold n-ary lists (never nested in themselves: [`Filter::and`] and
/// [`Filter::or`] flatten), so a filter of many terms is wide, not deep: walking or dropping it
/// recurses only as deep as its parentheses, which [`FilterLimits::max_depth`] bounds.
pub enum Filter {
    And(Vec<Filter>),
    Or(Vec<Filter>),
    Not(Box<Filter>),
    Compare(AttrPath, CompareOp, CompValue),
    Present(AttrPath),
    /// A multi-valued attribute and a filter relative to its elements (RFC 7644 `valuePath`).
    ValuePath(AttrPath, Box<Filter>),
}

/// RFC 7644 §3.4.2.2 Table 3 comparison operators (`pr` is [`Filter::Present`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

impl CompareOp {
    const ALL: [CompareOp; 9] = [
        CompareOp::Eq,
        CompareOp::Ne,
        CompareOp::Co,
        CompareOp::Sw,
        CompareOp::Ew,
        CompareOp::Gt,
        CompareOp::Ge,
        CompareOp::Lt,
        CompareOp::Le,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            CompareOp::Eq => "eq",
            CompareOp::Ne => "ne",
            CompareOp::Co => "co",
            CompareOp::Sw => "sw",
            CompareOp::Ew => "ew",
            CompareOp::Gt => "gt",
            CompareOp::Ge => "ge",
            CompareOp::Lt => "lt",
            CompareOp::Le => "le",
        }
    }

    /// RFC 7644 §3.4.2.2: operators are case-insensitive (Ping sends `Eq`).
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|op| op.as_str().eq_ignore_ascii_case(s))
    }
}

impl fmt::Display for CompareOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Filter {
    /// `a and b and ...`, with nested `and` lists flattened; one operand is returned as is.
    pub fn and(operands: Vec<Filter>) -> Filter {
        Self::flat(operands, true)
    }

    /// `a or b or ...`, with nested `or` lists flattened; one operand is returned as is.
    pub fn or(operands: Vec<Filter>) -> Filter {
        Self::flat(operands, false)
    }

    fn flat(operands: Vec<Filter>, is_and: bool) -> Filter {
        let mut out = Vec::with_capacity(operands.len());
        for f in operands {
            match f {
                Filter::And(xs) if is_and => out.extend(xs),
                Filter::Or(xs) if !is_and => out.extend(xs),
                other => out.push(other),
            }
        }
        if out.len() == 1
            && let Some(only) = out.pop()
        {
            return only;
        }
        if is_and { Filter::And(out) } else { Filter::Or(out) }
    }
}

/// A comparison literal (RFC 7644 §3.4.2.2 `compValue`).
#[derive(Debug, Clone, PartialEq)]
pub enum CompValue {
    Str(String),
    Bool(bool),
    Num(serde_json::Number),
    Null,
}

impl fmt::Display for CompValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CompValue::Str(s) => f.write_str(&serde_json::to_string(s).map_err(|_| fmt::Error)?),
            CompValue::Bool(b) => write!(f, "{b}"),
            CompValue::Num(n) => write!(f, "{n}"),
            CompValue::Null => f.write_str("null"),
        }
    }
}

/// A syntax error with the 0-based character offset of the offending token.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message} at position {position}")]
pub struct FilterError {
    pub position: usize,
    pub message: String,
}

impl From<FilterError> for ScimError {
    fn from(e: FilterError) -> Self {
        ScimError::bad_request(ScimType::InvalidFilter, format!("invalid filter: {e}"))
    }
}

/// Bounds on one filter, checked before and while it is parsed, so that neither the parser nor
/// anything downstream (conversion, SQL) does work in proportion to hostile input. Each is a
/// setting of the SCIM edge (the environment variable named in the error).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FilterLimits {
    /// Longest filter, in bytes (`DIRSYNC_MAX_FILTER_LENGTH`).
    pub max_length: usize,
    /// Most comparisons and `pr` tests in one filter (`DIRSYNC_MAX_FILTER_TERMS`).
    pub max_terms: usize,
    /// Deepest nesting of `( )`, `not ( )` and `[ ]` (`DIRSYNC_MAX_FILTER_DEPTH`).
    pub max_depth: usize,
}

impl FilterLimits {
    /// Generous for every IdP we know (their filters have one to three terms) and small
    /// enough that a filter costs the store at most a few hundred conditions.
    pub const DEFAULT: FilterLimits = FilterLimits {
        max_length: 10_000,
        max_terms: 200,
        max_depth: 16,
    };
}

impl Default for FilterLimits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Parses a complete filter expression within [`FilterLimits::DEFAULT`].
pub fn parse(input: &str) -> Result<Filter, FilterError> {
    parse_with(input, &FilterLimits::DEFAULT)
}

/// Parses a complete filter expression within `limits`.
pub fn parse_with(input: &str, limits: &FilterLimits) -> Result<Filter, FilterError> {
    Parser::new(input, false, limits)?.parse_all()
}

/// Parses the inside of a `[...]` value filter (PATCH paths), where value paths can't nest.
pub(crate) fn parse_value_filter(input: &str) -> Result<Filter, FilterError> {
    Parser::new(input, true, &FilterLimits::DEFAULT)?.parse_all()
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
    in_value_path: bool,
    depth: usize,
    terms: usize,
    limits: FilterLimits,
}

/// Characters of an attribute path or keyword token: ATTRNAME chars plus the URN's ':' and '.'.
fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, ':' | '.' | '_' | '-' | '$')
}

impl Parser {
    fn new(input: &str, in_value_path: bool, limits: &FilterLimits) -> Result<Self, FilterError> {
        if input.len() > limits.max_length {
            return Err(FilterError {
                position: input.char_indices().take_while(|(i, _)| *i < limits.max_length).count(),
                message: format!(
                    "filter is {} bytes long, more than the limit of {} (DIRSYNC_MAX_FILTER_LENGTH)",
                    input.len(),
                    limits.max_length
                ),
            });
        }
        Ok(Self {
            chars: input.chars().collect(),
            pos: 0,
            in_value_path,
            depth: 0,
            terms: 0,
            limits: *limits,
        })
    }

    /// Enters a `( )`, `not ( )` or `[ ]`: the parser recurses once per level.
    fn enter(&mut self) -> Result<(), FilterError> {
        self.depth += 1;
        if self.depth > self.limits.max_depth {
            return Err(self.err(
                self.pos,
                format!(
                    "filter is nested more than {} levels deep (DIRSYNC_MAX_FILTER_DEPTH)",
                    self.limits.max_depth
                ),
            ));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    /// Counts one comparison or `pr` test.
    fn term(&mut self, start: usize) -> Result<(), FilterError> {
        self.terms += 1;
        if self.terms > self.limits.max_terms {
            return Err(self.err(
                start,
                format!(
                    "filter has more than {} terms (DIRSYNC_MAX_FILTER_TERMS)",
                    self.limits.max_terms
                ),
            ));
        }
        Ok(())
    }

    fn err(&self, position: usize, message: impl Into<String>) -> FilterError {
        FilterError {
            position,
            message: message.into(),
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    fn read_word(&mut self) -> String {
        let start = self.pos;
        while self.peek().is_some_and(is_word_char) {
            self.pos += 1;
        }
        self.chars.get(start..self.pos).unwrap_or_default().iter().collect()
    }

    /// The word at the cursor, without consuming it.
    fn peek_word(&self) -> String {
        self.chars
            .get(self.pos..)
            .unwrap_or_default()
            .iter()
            .take_while(|c| is_word_char(**c))
            .collect()
    }

    /// Describes what sits at the cursor, for error messages.
    fn found(&self) -> String {
        match self.peek() {
            None => "end of filter".into(),
            Some(c) if is_word_char(c) => format!("'{}'", self.peek_word()),
            Some(c) => format!("'{c}'"),
        }
    }

    fn unexpected(&self, expected: &str) -> FilterError {
        if self.peek().is_none() {
            self.err(self.pos, "unexpected end of filter")
        } else {
            self.err(self.pos, format!("expected {expected}, found {}", self.found()))
        }
    }

    fn parse_all(mut self) -> Result<Filter, FilterError> {
        self.skip_ws();
        if self.peek().is_none() {
            return Err(self.err(self.pos, "empty filter"));
        }
        let f = self.parse_or()?;
        self.skip_ws();
        if self.peek().is_some() {
            return Err(self.unexpected("'and' or 'or'"));
        }
        Ok(f)
    }

    /// Consumes `kw` (case-insensitively) if it is the next whole word after optional spaces.
    fn eat_keyword(&mut self, kw: &str) -> bool {
        let save = self.pos;
        self.skip_ws();
        if self.peek_word().eq_ignore_ascii_case(kw) {
            self.pos += kw.len();
            true
        } else {
            self.pos = save;
            false
        }
    }

    /// RFC 7644 §3.4.2.2: "or" has the lowest precedence. Operands are collected in a list
    /// (a loop, not recursion), so a long chain costs no stack.
    fn parse_or(&mut self) -> Result<Filter, FilterError> {
        let mut operands = vec![self.parse_and()?];
        while self.eat_keyword("or") {
            operands.push(self.parse_and()?);
        }
        Ok(Filter::or(operands))
    }

    fn parse_and(&mut self) -> Result<Filter, FilterError> {
        let mut operands = vec![self.parse_unary()?];
        while self.eat_keyword("and") {
            operands.push(self.parse_unary()?);
        }
        Ok(Filter::and(operands))
    }

    fn expect(&mut self, c: char) -> Result<(), FilterError> {
        self.skip_ws();
        if self.peek() == Some(c) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.unexpected(&format!("'{c}'")))
        }
    }

    fn parse_unary(&mut self) -> Result<Filter, FilterError> {
        self.skip_ws();
        match self.peek() {
            None => Err(self.err(self.pos, "unexpected end of filter")),
            Some('(') => {
                self.enter()?;
                self.pos += 1;
                let f = self.parse_or()?;
                self.expect(')')?;
                self.leave();
                Ok(f)
            }
            Some(c) if !is_word_char(c) => Err(self.unexpected("an attribute path")),
            Some(_) => {
                let start = self.pos;
                let word = self.read_word();
                if word.eq_ignore_ascii_case("not") {
                    let save = self.pos;
                    self.skip_ws();
                    if self.peek() == Some('(') {
                        self.enter()?;
                        self.pos += 1;
                        let inner = self.parse_or()?;
                        self.expect(')')?;
                        self.leave();
                        return Ok(Filter::Not(Box::new(inner)));
                    }
                    self.pos = save;
                }
                let path =
                    AttrPath::parse(&word).map_err(|_| self.err(start, format!("invalid attribute path '{word}'")))?;
                if self.peek() == Some('[') {
                    return self.parse_value_path(path, start);
                }
                self.parse_comparison(path)
            }
        }
    }

    /// `attrPath "[" valFilter "]"`, plus Entra's trailing `.sub op value` / `op value`.
    fn parse_value_path(&mut self, path: AttrPath, start: usize) -> Result<Filter, FilterError> {
        if self.in_value_path {
            return Err(self.err(self.pos, "value filters cannot be nested"));
        }
        if path.sub_attr.is_some() {
            return Err(self.err(start, format!("a value filter must follow an attribute, not '{path}'")));
        }
        self.enter()?;
        self.pos += 1;
        self.in_value_path = true;
        let inner = self.parse_or()?;
        self.expect(']')?;
        self.in_value_path = false;
        self.leave();
        // `emails[type eq "work"].value eq "x"`: compare a sub-attribute of the matching elements.
        if self.peek() == Some('.') {
            self.pos += 1;
            let sub_start = self.pos;
            let sub = self.read_word();
            if !is_attr_name(&sub) {
                return Err(self.err(sub_start, format!("invalid sub-attribute '{sub}'")));
            }
            let cmp = self.parse_comparison(AttrPath::new(sub))?;
            return Ok(Filter::ValuePath(path, Box::new(Filter::and(vec![inner, cmp]))));
        }
        // `emails[type eq "work"] eq "x"` (invalid in the RFC, shown in Entra docs): compares `value`.
        let save = self.pos;
        self.skip_ws();
        let next = self.peek_word();
        let is_logical = next.eq_ignore_ascii_case("and") || next.eq_ignore_ascii_case("or");
        if next.is_empty() || is_logical {
            self.pos = save;
            return Ok(Filter::ValuePath(path, Box::new(inner)));
        }
        let cmp = self.parse_comparison(AttrPath::new("value"))?;
        Ok(Filter::ValuePath(path, Box::new(Filter::and(vec![inner, cmp]))))
    }

    fn parse_comparison(&mut self, path: AttrPath) -> Result<Filter, FilterError> {
        self.skip_ws();
        let op_start = self.pos;
        self.term(op_start)?;
        let op = self.read_word();
        if op.is_empty() {
            return Err(self.unexpected("an operator"));
        }
        if op.eq_ignore_ascii_case("pr") {
            return Ok(Filter::Present(path));
        }
        let op = CompareOp::parse(&op).ok_or_else(|| self.err(op_start, format!("unknown operator '{op}'")))?;
        self.skip_ws();
        let value = self.parse_value()?;
        Ok(Filter::Compare(path, op, value))
    }

    fn parse_value(&mut self) -> Result<CompValue, FilterError> {
        let start = self.pos;
        match self.peek() {
            None => Err(self.err(self.pos, "unexpected end of filter")),
            Some('"') => self.parse_string().map(CompValue::Str),
            Some('(' | ')' | '[' | ']') => Err(self.unexpected("a value")),
            Some(_) => {
                while self
                    .peek()
                    .is_some_and(|c| !c.is_whitespace() && !matches!(c, '(' | ')' | '[' | ']' | '"'))
                {
                    self.pos += 1;
                }
                let token: String = self.chars.get(start..self.pos).unwrap_or_default().iter().collect();
                Ok(bare_value(token))
            }
        }
    }

    /// A JSON string literal (RFC 7644 §3.4.2.2 refers to RFC 7159 for compValue).
    fn parse_string(&mut self) -> Result<String, FilterError> {
        let start = self.pos;
        self.pos += 1;
        let mut escaped = false;
        loop {
            match self.peek() {
                None => return Err(self.err(start, "unterminated string")),
                Some(c) => {
                    self.pos += 1;
                    match (escaped, c) {
                        (true, _) => escaped = false,
                        (false, '\\') => escaped = true,
                        (false, '"') => break,
                        _ => {}
                    }
                }
            }
        }
        let literal: String = self.chars.get(start..self.pos).unwrap_or_default().iter().collect();
        serde_json::from_str::<String>(&literal).map_err(|_| self.err(start, "invalid string literal"))
    }
}

/// An unquoted value: `true`/`false`/`null` in any case, a JSON number, or (lenient, B1.15)
/// a bare string such as `externalId eq jyoung`.
fn bare_value(token: String) -> CompValue {
    if token.eq_ignore_ascii_case("true") {
        CompValue::Bool(true)
    } else if token.eq_ignore_ascii_case("false") {
        CompValue::Bool(false)
    } else if token.eq_ignore_ascii_case("null") {
        CompValue::Null
    } else if let Some(n) = json_number(&token) {
        CompValue::Num(n)
    } else {
        CompValue::Str(token)
    }
}

/// A JSON number (RFC 8259 §6). Floats go through the standard library's correctly rounded
/// parser, so printed filters read back to the same value.
fn json_number(token: &str) -> Option<serde_json::Number> {
    let b = token.as_bytes();
    let mut i = usize::from(b.first() == Some(&b'-'));
    let digits = |i: &mut usize| {
        let start = *i;
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i - start
    };
    let int_start = i;
    let int_len = digits(&mut i);
    if int_len == 0 || (int_len > 1 && b.get(int_start) == Some(&b'0')) {
        return None;
    }
    let mut is_float = false;
    if b.get(i) == Some(&b'.') {
        i += 1;
        is_float = true;
        if digits(&mut i) == 0 {
            return None;
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        is_float = true;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return None;
        }
    }
    if i != b.len() {
        return None;
    }
    if !is_float {
        if let Ok(n) = token.parse::<i64>() {
            return Some(n.into());
        }
        if let Ok(n) = token.parse::<u64>() {
            return Some(n.into());
        }
    }
    token.parse::<f64>().ok().and_then(serde_json::Number::from_f64)
}

impl fmt::Display for Filter {
    /// Canonical form: lower-case keywords, JSON literals, parentheses only where precedence
    /// needs them, so that `parse(f.to_string()) == f`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn operand(f: &mut fmt::Formatter<'_>, x: &Filter, paren: bool) -> fmt::Result {
            if paren { write!(f, "({x})") } else { write!(f, "{x}") }
        }
        fn list(f: &mut fmt::Formatter<'_>, xs: &[Filter], sep: &str, paren: fn(&Filter) -> bool) -> fmt::Result {
            for (i, x) in xs.iter().enumerate() {
                if i > 0 {
                    f.write_str(sep)?;
                }
                operand(f, x, paren(x))?;
            }
            Ok(())
        }
        match self {
            Filter::And(xs) => list(f, xs, " and ", |x| matches!(x, Filter::Or(..) | Filter::And(..))),
            Filter::Or(xs) => list(f, xs, " or ", |x| matches!(x, Filter::Or(..))),
            Filter::Not(x) => write!(f, "not ({x})"),
            Filter::Compare(p, op, v) => write!(f, "{p} {op} {v}"),
            Filter::Present(p) => write!(f, "{p} pr"),
            Filter::ValuePath(p, x) => write!(f, "{p}[{x}]"),
        }
    }
}

/// In-memory evaluation against one JSON object (used for PATCH value filters and tests).
/// Attribute names match case-insensitively; string compares honour case_exact from the
/// schema (default false when unknown); "True"/"false" quoted strings compare equal to
/// booleans (Entra); dateTime compares chronologically for RFC3339 values.
///
/// With `parent` set, `item` is one element of that multi-valued attribute and paths name
/// its sub-attributes; otherwise `item` is a resource document.
pub fn matches(filter: &Filter, item: &Value, schema: Option<&ResourceSchema>, parent: Option<&AttributeDef>) -> bool {
    let ctx = match parent {
        Some(p) => Ctx::Element(Some(p)),
        None => Ctx::Resource(schema),
    };
    eval(filter, item, ctx)
}

#[derive(Clone, Copy)]
enum Ctx<'s> {
    Resource(Option<&'s ResourceSchema>),
    Element(Option<&'s AttributeDef>),
}

fn eval(filter: &Filter, item: &Value, ctx: Ctx<'_>) -> bool {
    match filter {
        Filter::And(xs) => xs.iter().all(|x| eval(x, item, ctx)),
        Filter::Or(xs) => xs.iter().any(|x| eval(x, item, ctx)),
        Filter::Not(x) => !eval(x, item, ctx),
        Filter::Present(path) => {
            let (raw, _) = lookup(item, path, ctx);
            let mut vals = Vec::new();
            if let Some(raw) = raw {
                collect(raw, path.sub_attr.as_deref(), &mut vals);
            }
            vals.into_iter().any(is_present)
        }
        Filter::Compare(path, op, value) => {
            let (raw, def) = lookup(item, path, ctx);
            let mut vals = Vec::new();
            if let Some(raw) = raw {
                collect(raw, path.sub_attr.as_deref(), &mut vals);
            }
            compare_all(&vals, *op, value, sub_def(def, path))
        }
        Filter::ValuePath(path, inner) => {
            // RFC 7644 §3.4.2.2: value filters apply to a resource's attribute and don't nest.
            if !matches!(ctx, Ctx::Resource(_)) || path.sub_attr.is_some() {
                return false;
            }
            let (raw, def) = lookup(item, path, ctx);
            let elements: Vec<&Value> = match raw {
                Some(Value::Array(items)) => items.iter().collect(),
                Some(v @ Value::Object(_)) => vec![v],
                _ => Vec::new(),
            };
            elements.into_iter().any(|el| eval(inner, el, Ctx::Element(def)))
        }
    }
}

/// Case-insensitive key lookup (RFC 7643 §2.1).
pub(crate) fn get_ci<'v>(obj: &'v Map<String, Value>, key: &str) -> Option<&'v Value> {
    obj.get(key)
        .or_else(|| obj.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v))
}

/// Finds the raw value of `path.attr` and its definition.
fn lookup<'v, 's>(item: &'v Value, path: &AttrPath, ctx: Ctx<'s>) -> (Option<&'v Value>, Option<&'s AttributeDef>) {
    match ctx {
        Ctx::Element(parent) => {
            let def = parent.and_then(|p| p.sub_attribute(&path.attr));
            let raw = match item {
                Value::Object(o) => get_ci(o, &path.attr),
                // Simple multi-valued attributes: the element itself is the `value`.
                other if path.attr.eq_ignore_ascii_case("value") && path.sub_attr.is_none() => Some(other),
                _ => None,
            };
            (raw, def)
        }
        Ctx::Resource(schema) => {
            let Some(obj) = item.as_object() else {
                return (None, None);
            };
            let attr_only = AttrPath {
                schema: path.schema.clone(),
                attr: path.attr.clone(),
                sub_attr: None,
            };
            let resolved = schema.and_then(|s| s.resolve(&attr_only).map(|r| (s, r)));
            let container = match (&resolved, &path.schema) {
                (Some((s, r)), _) if !s.is_core(r.schema) => get_ci(obj, r.schema).and_then(Value::as_object),
                (Some(_), _) => Some(obj),
                (None, Some(urn)) => get_ci(obj, urn).and_then(Value::as_object).or(Some(obj)),
                (None, None) => Some(obj),
            };
            let raw = container.and_then(|c| get_ci(c, &path.attr));
            (raw, resolved.map(|(_, r)| r.attr))
        }
    }
}

/// The definition compared against: the named sub-attribute, or `value` of a complex attribute.
fn sub_def<'s>(def: Option<&'s AttributeDef>, path: &AttrPath) -> Option<&'s AttributeDef> {
    let def = def?;
    match &path.sub_attr {
        Some(sub) => def.sub_attribute(sub),
        None if def.attr_type == AttrType::Complex => def.sub_attribute("value"),
        None => Some(def),
    }
}

/// Flattens multi-valued attributes: "the filter matches if any of the values match".
fn collect<'v>(raw: &'v Value, sub: Option<&str>, out: &mut Vec<&'v Value>) {
    let one = |v: &'v Value, out: &mut Vec<&'v Value>| match sub {
        Some(s) => {
            if let Some(x) = v.as_object().and_then(|o| get_ci(o, s)) {
                match x {
                    Value::Array(xs) => out.extend(xs.iter()),
                    other => out.push(other),
                }
            }
        }
        None => out.push(v),
    };
    match raw {
        Value::Array(items) => items.iter().for_each(|v| one(v, out)),
        other => one(other, out),
    }
}

/// RFC 7644 §3.4.2.2 `pr`: a non-empty value, or a complex node with a non-empty value.
fn is_present(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(xs) => xs.iter().any(is_present),
        Value::Object(o) => o.values().any(is_present),
        Value::Bool(_) | Value::Number(_) => true,
    }
}

fn compare_all(vals: &[&Value], op: CompareOp, expected: &CompValue, def: Option<&AttributeDef>) -> bool {
    let non_null = || vals.iter().any(|v| !v.is_null());
    match (op, expected) {
        (CompareOp::Eq, CompValue::Null) => !non_null(),
        (CompareOp::Ne, CompValue::Null) => non_null(),
        (_, CompValue::Null) => false,
        // `ne` holds when no value is equal, including when the attribute is absent.
        (CompareOp::Ne, v) => !vals.iter().any(|a| compare_one(a, CompareOp::Eq, v, def)),
        (op, v) => vals.iter().any(|a| compare_one(a, op, v, def)),
    }
}

pub(crate) fn parse_bool(s: &str) -> Option<bool> {
    if s.eq_ignore_ascii_case("true") {
        Some(true)
    } else if s.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

fn ordering_matches(op: CompareOp, o: Ordering) -> bool {
    match op {
        CompareOp::Eq => o == Ordering::Equal,
        CompareOp::Ne => o != Ordering::Equal,
        CompareOp::Gt => o == Ordering::Greater,
        CompareOp::Ge => o != Ordering::Less,
        CompareOp::Lt => o == Ordering::Less,
        CompareOp::Le => o != Ordering::Greater,
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => false,
    }
}

fn number_cmp(a: &serde_json::Number, b: &serde_json::Number) -> Option<Ordering> {
    if let (Some(x), Some(y)) = (a.as_i64(), b.as_i64()) {
        return Some(x.cmp(&y));
    }
    if let (Some(x), Some(y)) = (a.as_u64(), b.as_u64()) {
        return Some(x.cmp(&y));
    }
    a.as_f64()?.partial_cmp(&b.as_f64()?)
}

fn float_cmp(a: f64, b: f64) -> Option<Ordering> {
    a.partial_cmp(&b)
}

fn compare_one(actual: &Value, op: CompareOp, expected: &CompValue, def: Option<&AttributeDef>) -> bool {
    // A complex value compared as a whole stands for its `value` sub-attribute.
    let actual = match actual {
        Value::Object(o) => match get_ci(o, "value") {
            Some(v) => v,
            None => return false,
        },
        other => other,
    };
    let bool_eq = |a: bool, b: bool| match op {
        CompareOp::Eq => a == b,
        CompareOp::Ne => a != b,
        _ => false,
    };
    match (actual, expected) {
        (Value::Bool(a), CompValue::Bool(b)) => bool_eq(*a, *b),
        (Value::Bool(a), CompValue::Str(s)) => parse_bool(s).is_some_and(|b| bool_eq(*a, b)),
        (Value::String(a), CompValue::Bool(b)) => parse_bool(a).is_some_and(|a| bool_eq(a, *b)),
        (Value::Number(a), CompValue::Num(b)) => number_cmp(a, b).is_some_and(|o| ordering_matches(op, o)),
        (Value::Number(a), CompValue::Str(s)) => match (a.as_f64(), s.trim().parse::<f64>()) {
            (Some(x), Ok(y)) => float_cmp(x, y).is_some_and(|o| ordering_matches(op, o)),
            _ => false,
        },
        (Value::String(a), CompValue::Num(b)) => match (a.trim().parse::<f64>(), b.as_f64()) {
            (Ok(x), Some(y)) => float_cmp(x, y).is_some_and(|o| ordering_matches(op, o)),
            _ => false,
        },
        (Value::String(a), CompValue::Str(b)) => compare_strings(a, b, op, def),
        _ => false,
    }
}

fn compare_strings(a: &str, b: &str, op: CompareOp, def: Option<&AttributeDef>) -> bool {
    let ordering_op = !matches!(op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew);
    let datetime = match def {
        Some(d) => d.attr_type == AttrType::DateTime,
        None => true,
    };
    if ordering_op
        && datetime
        && let (Some(x), Some(y)) = (parse_rfc3339(a), parse_rfc3339(b))
    {
        return ordering_matches(op, x.cmp(&y));
    }
    // RFC 7644 §3.4.2.2: string comparisons honour the attribute's caseExact.
    let case_exact = def.is_some_and(|d| d.case_exact);
    let (a, b) = if case_exact {
        (a.to_string(), b.to_string())
    } else {
        (a.to_lowercase(), b.to_lowercase())
    };
    match op {
        CompareOp::Co => a.contains(&b),
        CompareOp::Sw => a.starts_with(&b),
        CompareOp::Ew => a.ends_with(&b),
        _ => ordering_matches(op, a.cmp(&b)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::ResourceSchema;
    use serde_json::json;

    fn p(s: &str) -> AttrPath {
        AttrPath::parse(s).unwrap()
    }
    fn cmp(path: &str, op: CompareOp, v: CompValue) -> Filter {
        Filter::Compare(p(path), op, v)
    }
    fn s(v: &str) -> CompValue {
        CompValue::Str(v.into())
    }
    fn eq(path: &str, v: &str) -> Filter {
        cmp(path, CompareOp::Eq, s(v))
    }
    fn and(a: Filter, b: Filter) -> Filter {
        Filter::and(vec![a, b])
    }
    fn or(a: Filter, b: Filter) -> Filter {
        Filter::or(vec![a, b])
    }
    fn not(a: Filter) -> Filter {
        Filter::Not(Box::new(a))
    }
    fn pr(path: &str) -> Filter {
        Filter::Present(p(path))
    }
    fn vp(path: &str, f: Filter) -> Filter {
        Filter::ValuePath(p(path), Box::new(f))
    }
    fn num(n: i64) -> CompValue {
        CompValue::Num(n.into())
    }

    #[test]
    fn parses_every_operator() {
        let ops = [
            ("eq", CompareOp::Eq),
            ("ne", CompareOp::Ne),
            ("co", CompareOp::Co),
            ("sw", CompareOp::Sw),
            ("ew", CompareOp::Ew),
            ("gt", CompareOp::Gt),
            ("ge", CompareOp::Ge),
            ("lt", CompareOp::Lt),
            ("le", CompareOp::Le),
        ];
        for (word, op) in ops {
            for spelled in [
                word.to_string(),
                word.to_uppercase(),
                format!("{}{}", &word[..1].to_uppercase(), &word[1..]),
            ] {
                let input = format!("userName {spelled} \"x\"");
                assert_eq!(parse(&input).unwrap(), cmp("userName", op, s("x")), "{input}");
            }
        }
        assert_eq!(parse("title pr").unwrap(), pr("title"));
        assert_eq!(parse("title PR").unwrap(), pr("title"));
    }

    #[test]
    fn parses_grammar() {
        let ent = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
        let cases: Vec<(&str, Filter)> = vec![
            ("userName eq \"bjensen\"", eq("userName", "bjensen")),
            ("username Eq \"x\"", eq("username", "x")),
            (
                "name.familyName co \"O'Malley\"",
                cmp("name.familyName", CompareOp::Co, s("O'Malley")),
            ),
            (
                "urn:ietf:params:scim:schemas:core:2.0:User:userName sw \"J\"",
                cmp(
                    "urn:ietf:params:scim:schemas:core:2.0:User:userName",
                    CompareOp::Sw,
                    s("J"),
                ),
            ),
            (
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq \"Sales\"",
                Filter::Compare(
                    AttrPath {
                        schema: Some(ent.into()),
                        attr: "department".into(),
                        sub_attr: None,
                    },
                    CompareOp::Eq,
                    s("Sales"),
                ),
            ),
            (
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq \"m1\"",
                Filter::Compare(
                    AttrPath {
                        schema: Some(ent.into()),
                        attr: "manager".into(),
                        sub_attr: Some("value".into()),
                    },
                    CompareOp::Eq,
                    s("m1"),
                ),
            ),
            (
                "meta.lastModified gt \"2011-05-13T04:42:34Z\"",
                cmp("meta.lastModified", CompareOp::Gt, s("2011-05-13T04:42:34Z")),
            ),
            (
                "title pr and userType eq \"Employee\"",
                and(pr("title"), eq("userType", "Employee")),
            ),
            (
                "title pr or userType eq \"Intern\"",
                or(pr("title"), eq("userType", "Intern")),
            ),
            // and binds tighter than or
            ("a pr or b pr and c pr", or(pr("a"), and(pr("b"), pr("c")))),
            ("a pr and b pr or c pr", or(and(pr("a"), pr("b")), pr("c"))),
            ("a pr AND b pr Or c pr", or(and(pr("a"), pr("b")), pr("c"))),
            ("(a pr or b pr) and c pr", and(or(pr("a"), pr("b")), pr("c"))),
            ("a pr and b pr and c pr", and(and(pr("a"), pr("b")), pr("c"))),
            ("a pr or b pr or c pr", or(or(pr("a"), pr("b")), pr("c"))),
            ("((a pr))", pr("a")),
            (
                "userType eq \"Employee\" and (emails co \"example.com\" or emails.value co \"example.org\")",
                and(
                    eq("userType", "Employee"),
                    or(
                        cmp("emails", CompareOp::Co, s("example.com")),
                        cmp("emails.value", CompareOp::Co, s("example.org")),
                    ),
                ),
            ),
            ("not (a pr)", not(pr("a"))),
            ("NOT(a pr)", not(pr("a"))),
            (
                "a pr and not (b eq \"x\" or c pr)",
                and(pr("a"), not(or(eq("b", "x"), pr("c")))),
            ),
            ("not pr", pr("not")),
            (
                "userType ne \"Employee\" and not (emails co \"example.com\" or emails.value co \"example.org\")",
                and(
                    cmp("userType", CompareOp::Ne, s("Employee")),
                    not(or(
                        cmp("emails", CompareOp::Co, s("example.com")),
                        cmp("emails.value", CompareOp::Co, s("example.org")),
                    )),
                ),
            ),
            (
                "emails[type eq \"work\" and value co \"@example.com\"]",
                vp(
                    "emails",
                    and(eq("type", "work"), cmp("value", CompareOp::Co, s("@example.com"))),
                ),
            ),
            (
                "userType eq \"Employee\" and emails[type eq \"work\" and value co \"@example.com\"]",
                and(
                    eq("userType", "Employee"),
                    vp(
                        "emails",
                        and(eq("type", "work"), cmp("value", CompareOp::Co, s("@example.com"))),
                    ),
                ),
            ),
            (
                "emails[type eq \"work\" and value co \"@example.com\"] or ims[type eq \"xmpp\" and value co \"@foo.com\"]",
                or(
                    vp(
                        "emails",
                        and(eq("type", "work"), cmp("value", CompareOp::Co, s("@example.com"))),
                    ),
                    vp(
                        "ims",
                        and(eq("type", "xmpp"), cmp("value", CompareOp::Co, s("@foo.com"))),
                    ),
                ),
            ),
            // Entra: value path followed by a sub-attribute comparison, or the invalid bare form.
            (
                "emails[type eq \"work\"].value eq \"x\"",
                vp("emails", and(eq("type", "work"), eq("value", "x"))),
            ),
            (
                "emails[type eq \"work\"] eq \"x\"",
                vp("emails", and(eq("type", "work"), eq("value", "x"))),
            ),
            (
                "emails[type eq \"work\"] EQ \"x\" and a pr",
                and(vp("emails", and(eq("type", "work"), eq("value", "x"))), pr("a")),
            ),
            (
                "roles[primary eq \"True\"].display pr",
                vp("roles", and(eq("primary", "True"), pr("display"))),
            ),
            ("emails[not (type eq \"work\")]", vp("emails", not(eq("type", "work")))),
            // literals
            ("a eq \"q\\\"uote\\\\ \\u00e9\"", eq("a", "q\"uote\\ é")),
            ("a eq \"\"", eq("a", "")),
            ("active eq true", cmp("active", CompareOp::Eq, CompValue::Bool(true))),
            ("active eq FALSE", cmp("active", CompareOp::Eq, CompValue::Bool(false))),
            ("active eq True", cmp("active", CompareOp::Eq, CompValue::Bool(true))),
            ("title eq null", cmp("title", CompareOp::Eq, CompValue::Null)),
            ("title eq NULL", cmp("title", CompareOp::Eq, CompValue::Null)),
            ("n gt 10", cmp("n", CompareOp::Gt, num(10))),
            (
                "n le -2.5",
                cmp(
                    "n",
                    CompareOp::Le,
                    CompValue::Num(serde_json::Number::from_f64(-2.5).unwrap()),
                ),
            ),
            (
                "n lt 1e3",
                cmp(
                    "n",
                    CompareOp::Lt,
                    CompValue::Num(serde_json::Number::from_f64(1000.0).unwrap()),
                ),
            ),
            // lenient bare values
            ("externalId eq jyoung", eq("externalId", "jyoung")),
            ("emails eq a@b.c and x pr", and(eq("emails", "a@b.c"), pr("x"))),
            ("externalId eq 01", eq("externalId", "01")),
            ("(externalId eq jyoung)", eq("externalId", "jyoung")),
            // whitespace tolerance
            ("  userName   eq   \"x\"  ", eq("userName", "x")),
            ("userName eq\"x\"", eq("userName", "x")),
            ("members[value eq \"2819c223\"]", vp("members", eq("value", "2819c223"))),
            (
                "id eq \"u1\" and manager eq \"m1\"",
                and(eq("id", "u1"), eq("manager", "m1")),
            ),
        ];
        for (input, want) in cases {
            let got = parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(got, want, "{input}");
            // The canonical form reads back to the same AST.
            assert_eq!(parse(&got.to_string()).unwrap(), got, "{input} -> {got}");
        }
    }

    #[test]
    fn reads_json_numbers() {
        let f = |x: f64| serde_json::Number::from_f64(x);
        let cases = [
            ("0", Some(0i64.into())),
            ("-12", Some((-12i64).into())),
            ("18446744073709551615", Some(u64::MAX.into())),
            ("1.5", f(1.5)),
            ("-6.1914692475861106e+203", f(-6.1914692475861106e+203)),
            ("1E3", f(1000.0)),
            ("1e999", None),
            ("01", None),
            ("1.", None),
            (".5", None),
            ("+1", None),
            ("-", None),
            ("1e", None),
            ("inf", None),
            ("NaN", None),
            ("1x", None),
        ];
        for (token, want) in cases {
            assert_eq!(json_number(token), want, "{token}");
        }
    }

    #[test]
    fn canonical_display() {
        let cases = [
            ("a pr OR b pr AND c pr", "a pr or b pr and c pr"),
            ("(a pr or b pr) and c pr", "(a pr or b pr) and c pr"),
            // Parentheses around the same operator add nothing: the lists are flattened.
            ("a pr and (b pr and c pr)", "a pr and b pr and c pr"),
            ("a pr or (b pr or c pr)", "a pr or b pr or c pr"),
            ("(a pr or b pr) or (c pr and d pr)", "a pr or b pr or c pr and d pr"),
            ("NOT (a Eq \"x\")", "not (a eq \"x\")"),
            (
                "emails[type eq \"work\"] eq \"x\"",
                "emails[type eq \"work\" and value eq \"x\"]",
            ),
            ("a eq \"\\u00e9\\n\"", "a eq \"é\\n\""),
            ("a eq jyoung", "a eq \"jyoung\""),
            ("a eq True", "a eq true"),
        ];
        for (input, want) in cases {
            assert_eq!(parse(input).unwrap().to_string(), want, "{input}");
        }
    }

    #[test]
    fn reports_errors_with_positions() {
        let cases = [
            ("", "empty filter", 0),
            ("   ", "empty filter", 3),
            ("userName eq", "unexpected end of filter", 11),
            ("userName eq \"x\" and", "unexpected end of filter", 19),
            ("userName", "unexpected end of filter", 8),
            ("userName eqq \"x\"", "unknown operator 'eqq'", 9),
            ("userName eq \"x", "unterminated string", 12),
            ("userName eq \"x\" foo", "expected 'and' or 'or', found 'foo'", 16),
            ("(userName eq \"x\"", "unexpected end of filter", 16),
            ("userName eq \"x\")", "expected 'and' or 'or', found ')'", 15),
            ("emails[type eq \"work\"", "unexpected end of filter", 21),
            ("emails[type eq \"work\"] eqq \"x\"", "unknown operator 'eqq'", 23),
            ("emails[type[value eq 1]]", "value filters cannot be nested", 11),
            ("1abc eq \"x\"", "invalid attribute path '1abc'", 0),
            ("a..b eq \"x\"", "invalid attribute path 'a..b'", 0),
            ("a eq \"\\x\"", "invalid string literal", 5),
            ("a eq )", "expected a value, found ')'", 5),
            ("and", "unexpected end of filter", 3),
            ("a pr and or", "unexpected end of filter", 11),
            ("\"x\" eq a", "expected an attribute path, found '\"'", 0),
            (
                "name.x[type eq 1]",
                "a value filter must follow an attribute, not 'name.x'",
                0,
            ),
            ("emails[type eq \"w\"].1x eq 2", "invalid sub-attribute '1x'", 20),
            ("ünicode eq 1", "expected an attribute path, found 'ü'", 0),
            ("a eq \"é\" foo", "expected 'and' or 'or', found 'foo'", 9),
        ];
        for (input, msg, pos) in cases {
            let e = parse(input).unwrap_err();
            assert_eq!((e.message.as_str(), e.position), (msg, pos), "{input}");
        }
        let e = parse("userName eqq \"x\"").unwrap_err();
        assert_eq!(e.to_string(), "unknown operator 'eqq' at position 9");
        let scim: ScimError = e.into();
        assert_eq!(scim.scim_type, Some(ScimType::InvalidFilter));
        assert_eq!(scim.status, 400);
        assert!(scim.detail.contains("position 9"), "{}", scim.detail);
    }

    #[test]
    fn bounds_are_checked_while_parsing() {
        let too_deep = "filter is nested more than 16 levels deep (DIRSYNC_MAX_FILTER_DEPTH)";
        let too_many = "filter has more than 200 terms (DIRSYNC_MAX_FILTER_TERMS)";
        let terms = |n: usize, sep: &str| vec!["a pr"; n].join(sep);
        let cases: Vec<(String, Option<&str>)> = vec![
            (format!("{}a pr{}", "(".repeat(16), ")".repeat(16)), None),
            (format!("{}a pr{}", "(".repeat(17), ")".repeat(17)), Some(too_deep)),
            (
                format!("{}a pr{}", "(".repeat(4_000), ")".repeat(4_000)),
                Some(too_deep),
            ),
            (format!("{}a pr{}", "not (".repeat(17), ")".repeat(17)), Some(too_deep)),
            ("not (".repeat(200), Some(too_deep)),
            (terms(200, " and "), None),
            (terms(200, " or "), None),
            (terms(201, " and "), Some(too_many)),
            (terms(201, " or "), Some(too_many)),
            (format!("emails[{}]", terms(201, " or ")), Some(too_many)),
        ];
        for (input, want) in cases {
            let got = parse(&input);
            match want {
                None => assert!(got.is_ok(), "{}: {got:?}", &input[..40]),
                Some(msg) => assert_eq!(got.unwrap_err().message, msg, "{}", &input[..40]),
            }
        }
        // A long filter is refused before it is read.
        let long = format!("userName eq \"{}\"", "x".repeat(10_000));
        let e = parse(&long).unwrap_err();
        assert!(e.message.contains("DIRSYNC_MAX_FILTER_LENGTH"), "{}", e.message);
        assert!(e.message.contains("limit of 10000"), "{}", e.message);
        // 100,000 terms within raised limits: parsed as one flat list, printed and dropped
        // without recursion.
        let wide = FilterLimits {
            max_length: usize::MAX,
            max_terms: usize::MAX,
            max_depth: 16,
        };
        let f = parse_with(&terms(100_000, " or "), &wide).unwrap();
        assert!(matches!(&f, Filter::Or(xs) if xs.len() == 100_000));
        assert_eq!(f.to_string().len(), terms(100_000, " or ").len());
        drop(f);
    }

    fn user() -> Value {
        json!({
            "userName": "BJensen",
            "externalId": "Ext-1",
            "active": true,
            "title": "Tour Guide",
            "nickName": "",
            "name": {"givenName": "Barbara", "familyName": "Jensen"},
            "emails": [
                {"value": "bjensen@example.com", "type": "work", "primary": true},
                {"value": "babs@jensen.org", "type": "home"}
            ],
            "roles": [{"value": "admin", "display": "Admin", "primary": "True"}],
            "meta": {"lastModified": "2011-05-13T04:42:34Z"},
            "x-count": 5,
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
                "department": "Tour Operations",
                "manager": {"value": "m1"}
            }
        })
    }

    #[test]
    fn evaluates_against_resources() {
        let rs = ResourceSchema::user();
        let doc = user();
        let cases = [
            ("userName eq \"bjensen\"", true),
            ("USERNAME eq \"BJENSEN\"", true),
            ("externalId eq \"ext-1\"", false), // caseExact
            ("externalId eq \"Ext-1\"", true),
            ("externalId eq Ext-1", true),
            ("userName ne \"bjensen\"", false),
            ("userName ne \"other\"", true),
            ("userName co \"jens\"", true),
            ("userName sw \"bj\"", true),
            ("userName ew \"SEN\"", true),
            ("userName gt \"a\"", true),
            ("userName lt \"a\"", false),
            ("userName ge \"bjensen\"", true),
            ("userName le \"bjensen\"", true),
            ("title pr", true),
            ("nickName pr", false),
            ("profileUrl pr", false),
            ("name pr", true),
            ("active eq true", true),
            ("active eq \"True\"", true),
            ("active eq \"false\"", false),
            ("active ne false", true),
            ("name.givenName eq \"barbara\"", true),
            ("emails co \"example.com\"", true),
            ("emails.value ew \"jensen.org\"", true),
            ("emails.type eq \"other\"", false),
            ("emails[type eq \"work\" and value co \"@example.com\"]", true),
            ("emails[type eq \"home\" and value co \"@example.com\"]", false),
            ("emails[type eq \"work\"].value eq \"BJENSEN@example.com\"", true),
            ("emails[type eq \"home\"] eq \"bjensen@example.com\"", false),
            ("emails[primary eq true].type eq \"work\"", true),
            ("roles[primary eq \"true\"].display eq \"admin\"", true),
            ("roles[primary eq true]", true),
            ("meta.lastModified gt \"2011-05-13T04:42:33Z\"", true),
            ("meta.lastModified gt \"2011-05-13T06:42:33+02:00\"", true),
            ("meta.lastModified lt \"2011-05-13T05:42:33+02:00\"", false),
            ("meta.lastModified eq \"2011-05-13T06:42:34+02:00\"", true),
            ("department eq \"tour operations\"", true),
            (
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department sw \"Tour\"",
                true,
            ),
            (
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq \"m1\"",
                true,
            ),
            (
                "urn:ietf:params:scim:schemas:core:2.0:User:userName eq \"bjensen\"",
                true,
            ),
            ("x-count gt 4", true),
            ("x-count ge 5.0", true),
            ("x-count lt \"10\"", true),
            ("title eq null", false),
            ("displayName eq null", true),
            ("displayName ne null", false),
            ("displayName eq \"x\"", false),
            ("displayName ne \"x\"", true),
            ("title gt null", false),
            ("not (userName eq \"bjensen\")", false),
            ("userName eq \"x\" or title pr", true),
            ("userName eq \"x\" or title pr and active eq false", false),
            ("emails co \"example.com\" and not (emails.type eq \"home\")", false),
            ("active gt true", false),
            ("userName co 5", false),
        ];
        for (input, want) in cases {
            let f = parse(input).unwrap();
            assert_eq!(matches(&f, &doc, Some(&rs), None), want, "{input}");
        }
        // Without a schema every string compare is case-insensitive.
        let f = parse("externalId eq \"ext-1\"").unwrap();
        assert!(matches(&f, &doc, None, None));
    }

    #[test]
    fn evaluates_against_elements() {
        let rs = ResourceSchema::user();
        let emails = rs.core.attribute("emails").unwrap();
        let cases = [
            (json!({"type": "Work", "value": "a@b.c"}), "type eq \"work\"", true),
            (json!({"Type": "work"}), "TYPE eq \"work\"", true),
            (json!({"type": "home"}), "type eq \"work\"", false),
            (json!({"type": "work", "primary": "true"}), "primary eq true", true),
            (json!({"type": "work", "primary": false}), "primary eq \"False\"", true),
            (json!("plain"), "value eq \"PLAIN\"", true),
            (json!({"type": "work"}), "value pr", false),
        ];
        for (el, input, want) in cases {
            let f = parse(input).unwrap();
            assert_eq!(matches(&f, &el, Some(&rs), Some(emails)), want, "{input} on {el}");
        }
        let f = parse("emails[type eq \"work\"]").unwrap();
        assert!(!matches(&f, &json!({"type": "work"}), Some(&rs), Some(emails)));
        assert!(!matches(&f, &json!("not an object"), Some(&rs), None));
    }
}
