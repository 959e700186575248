//! Label and field selectors: the `labelSelector` and `fieldSelector` list parameters and the
//! `metav1.LabelSelector` object, parsed, printed and matched as upstream 1.33 does.
//!
//! # Source
//!
//! Mirrors k8s.io/apimachinery v0.33 (Kubernetes 1.33):
//!
//! - `pkg/labels/selector.go`: the label selector lexer and parser, `Requirement` matching and
//!   printing (`String()`);
//! - `pkg/fields/selector.go`: the field selector syntax, its value escaping and its errors;
//! - `pkg/apis/meta/v1/helpers.go` `LabelSelectorAsSelector`: `metav1.LabelSelector` to a
//!   selector;
//! - `pkg/util/validation` `IsQualifiedName` and `IsValidLabelValue`: label key and value rules.
//!
//! # Errors
//!
//! Error texts are upstream's byte for byte, because the API server returns them verbatim in a
//! 400 `Status` and kubectl prints them. That includes upstream's quirks: a bad key in a parsed
//! selector is reported at field path `<nil>`, validation hints contain a double space
//! (`'MyValue',  or 'my_value'`), and an unescaped `=` in a field selector value is reported by
//! its code point (`61`).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::{self, Write as _};

use serde_json::Value;

/// A selector that could not be parsed or converted; the message is upstream's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SelectorError(pub String);

// ---------------------------------------------------------------------------------------------
// Label selectors
// ---------------------------------------------------------------------------------------------

/// A label selector: a conjunction of [`LabelRequirement`]s, or the selector that matches
/// nothing.
///
/// Three selectors look alike and differ:
///
/// - [`LabelSelector::everything`] (the empty string, or an empty `metav1.LabelSelector` `{}`)
///   matches every object;
/// - [`LabelSelector::nothing`] (a null `metav1.LabelSelector`, e.g. a `NetworkPolicy` peer
///   without one) matches no object, and prints as the empty string like upstream's
///   `labels.Nothing()`;
/// - any other selector matches an object whose labels meet every requirement.
///
/// Requirements are kept sorted by key (stably, so requirements on one key keep their order),
/// which makes [`Display`](fmt::Display) deterministic as upstream's `String()` is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelSelector {
    scope: Scope,
}

/// What a [`LabelSelector`] selects.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Scope {
    /// Upstream's `labels.Nothing()`.
    Nothing,
    /// Every requirement must match; an empty list matches everything.
    Requirements(Vec<LabelRequirement>),
}

/// The operator of a [`LabelRequirement`], as upstream's `selection.Operator`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LabelOp {
    /// `key in (a,b)`: the label exists and its value is one of the values.
    In,
    /// `key notin (a,b)`: the label is missing or its value is none of the values.
    NotIn,
    /// `key=value`: the label exists with this value.
    Equals,
    /// `key==value`: the same as [`LabelOp::Equals`], printed as written.
    DoubleEquals,
    /// `key!=value`: the label is missing or has another value.
    NotEquals,
    /// `key`: the label exists.
    Exists,
    /// `!key`: the label does not exist.
    DoesNotExist,
    /// `key>5`: the label exists and, read as a 64-bit integer, is greater.
    GreaterThan,
    /// `key<5`: the label exists and, read as a 64-bit integer, is smaller.
    LessThan,
}

/// One requirement of a [`LabelSelector`]: a key, an operator and its values.
///
/// A requirement built by this module is always valid: the key is a qualified name, every value
/// a valid label value, and the number of values fits the operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelRequirement {
    key: String,
    op: LabelOp,
    /// Sorted and deduplicated when parsed from a string (upstream parses into a set); in the
    /// order given when converted from a `metav1.LabelSelector`, as upstream keeps them.
    values: Vec<String>,
}

impl LabelRequirement {
    /// The label key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The operator.
    pub fn op(&self) -> LabelOp {
        self.op
    }

    /// The values: none for [`LabelOp::Exists`] and [`LabelOp::DoesNotExist`], exactly one for
    /// the exact-match and integer operators, one or more for the set operators.
    pub fn values(&self) -> &[String] {
        &self.values
    }

    /// Whether labels, looked up by `label`, meet this requirement (upstream's
    /// `Requirement.Matches`).
    fn matches_by<'a>(&self, label: &impl Fn(&str) -> Option<&'a str>) -> bool {
        let has_value = |value: &str| self.values.iter().any(|v| v == value);
        match self.op {
            LabelOp::In | LabelOp::Equals | LabelOp::DoubleEquals => {
                label(&self.key).is_some_and(has_value)
            }
            LabelOp::NotIn | LabelOp::NotEquals => !label(&self.key).is_some_and(has_value),
            LabelOp::Exists => label(&self.key).is_some(),
            LabelOp::DoesNotExist => label(&self.key).is_none(),
            LabelOp::GreaterThan | LabelOp::LessThan => {
                // A label that is not an integer never matches, as upstream.
                let Some(actual) = label(&self.key).and_then(|v| v.parse::<i64>().ok()) else {
                    return false;
                };
                let [bound] = self.values.as_slice() else {
                    return false;
                };
                let Ok(bound) = bound.parse::<i64>() else {
                    return false;
                };
                if self.op == LabelOp::GreaterThan {
                    actual > bound
                } else {
                    actual < bound
                }
            }
        }
    }
}

/// Prints the requirement as upstream's `Requirement.String()`: `!key`, `key`, `key=v`,
/// `key==v`, `key!=v`, `key>v`, `key<v`, `key in (a,b)`, `key notin (a,b)`, with several values
/// sorted.
impl fmt::Display for LabelRequirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let operator = match self.op {
            LabelOp::Exists => return f.write_str(&self.key),
            LabelOp::DoesNotExist => return write!(f, "!{}", self.key),
            LabelOp::Equals => "=",
            LabelOp::DoubleEquals => "==",
            LabelOp::NotEquals => "!=",
            LabelOp::GreaterThan => ">",
            LabelOp::LessThan => "<",
            LabelOp::In => " in ",
            LabelOp::NotIn => " notin ",
        };
        let values = if let [single] = self.values.as_slice() {
            single.clone()
        } else {
            let mut sorted: Vec<&str> = self.values.iter().map(String::as_str).collect();
            sorted.sort_unstable();
            sorted.join(",")
        };
        match self.op {
            LabelOp::In | LabelOp::NotIn => write!(f, "{}{operator}({values})", self.key),
            _ => write!(f, "{}{operator}{values}", self.key),
        }
    }
}

impl LabelSelector {
    /// Parses the `labelSelector` syntax (upstream's `labels.Parse`).
    ///
    /// Grammar: requirements separated by `,` (all must hold); a requirement is `key`, `!key`,
    /// `key=value`, `key==value`, `key!=value`, `key>int`, `key<int`, `key in (v,...)` or
    /// `key notin (v,...)`. Blanks (space, tab, CR, LF) may surround any token. A value may be
    /// empty (`key=`, `key in ()`, `key in (a,)`). The empty string selects everything.
    ///
    /// # Errors
    ///
    /// A syntax error, an invalid key or value, or a non-integer `>`/`<` operand, with
    /// upstream's message (e.g. `unable to parse requirement: found '', expected: ',' or ')'`).
    pub fn parse(text: &str) -> Result<LabelSelector, SelectorError> {
        let mut requirements = Parser::new(text).parse().map_err(SelectorError)?;
        requirements.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(LabelSelector {
            scope: Scope::Requirements(requirements),
        })
    }

    /// The selector that matches every object (upstream's `labels.Everything()`).
    pub fn everything() -> Self {
        LabelSelector {
            scope: Scope::Requirements(Vec::new()),
        }
    }

    /// The selector that matches no object (upstream's `labels.Nothing()`), which a null
    /// `metav1.LabelSelector` converts to. It prints as the empty string.
    pub fn nothing() -> Self {
        LabelSelector {
            scope: Scope::Nothing,
        }
    }

    /// Whether this selector matches everything, i.e. has no requirement (upstream's
    /// `Empty()`). False for [`LabelSelector::nothing`].
    pub fn is_everything(&self) -> bool {
        matches!(&self.scope, Scope::Requirements(r) if r.is_empty())
    }

    /// Whether this is [`LabelSelector::nothing`].
    pub fn is_nothing(&self) -> bool {
        matches!(self.scope, Scope::Nothing)
    }

    /// The requirements, sorted by key; `None` for [`LabelSelector::nothing`] (upstream's
    /// `Requirements()` answering "not selectable").
    pub fn requirements(&self) -> Option<&[LabelRequirement]> {
        match &self.scope {
            Scope::Nothing => None,
            Scope::Requirements(requirements) => Some(requirements),
        }
    }

    /// Whether these labels meet every requirement.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.matches_by(&|key: &str| labels.get(key).map(String::as_str))
    }

    /// Whether the labels of a JSON object (`metadata.labels`) meet every requirement. Missing
    /// labels count as none; a label whose value is not a string counts as missing.
    pub fn matches_object(&self, object: &Value) -> bool {
        let labels = object
            .get("metadata")
            .and_then(|metadata| metadata.get("labels"))
            .and_then(Value::as_object);
        self.matches_by(&|key: &str| labels.and_then(|l| l.get(key)).and_then(Value::as_str))
    }

    fn matches_by<'a>(&self, label: &impl Fn(&str) -> Option<&'a str>) -> bool {
        match &self.scope {
            Scope::Nothing => false,
            Scope::Requirements(requirements) => requirements.iter().all(|r| r.matches_by(label)),
        }
    }

    /// Converts a `metav1.LabelSelector` object (`matchLabels` and `matchExpressions`), as
    /// upstream's `metav1.LabelSelectorAsSelector`.
    ///
    /// JSON `null` converts to [`LabelSelector::nothing`]; an object with no `matchLabels` and
    /// no `matchExpressions` (e.g. `{}`) to [`LabelSelector::everything`]. `matchLabels` become
    /// `key=value` requirements; `matchExpressions` take the operators `In`, `NotIn`, `Exists`
    /// and `DoesNotExist`.
    ///
    /// # Errors
    ///
    /// With upstream's messages: an unknown operator (`"Gt" is not a valid label selector
    /// operator`), `In`/`NotIn` without values, `Exists`/`DoesNotExist` with values, or an
    /// invalid key or value. A field of the wrong JSON type fails with a message shaped like
    /// Go's `encoding/json` error (the API server's decoder normally rejects those first).
    /// `matchLabels` are checked in key order, where upstream's order is random.
    pub fn from_label_selector_json(selector: &Value) -> Result<LabelSelector, SelectorError> {
        let object = match selector {
            Value::Null => return Ok(LabelSelector::nothing()),
            Value::Object(object) => object,
            other => return Err(json_type_error(other, "Go value", "v1.LabelSelector")),
        };
        let match_labels = json_string_map(object.get("matchLabels"))?;
        let match_expressions = match object.get("matchExpressions") {
            None | Some(Value::Null) => &[][..],
            Some(Value::Array(expressions)) => expressions.as_slice(),
            Some(other) => {
                return Err(json_type_error(
                    other,
                    "Go struct field LabelSelector.matchExpressions",
                    "[]v1.LabelSelectorRequirement",
                ));
            }
        };
        if match_labels.is_empty() && match_expressions.is_empty() {
            return Ok(LabelSelector::everything());
        }

        let mut requirements = Vec::with_capacity(match_labels.len() + match_expressions.len());
        for (key, value) in match_labels {
            requirements.push(new_requirement(key, LabelOp::Equals, vec![value])?);
        }
        for expression in match_expressions {
            let Value::Object(expression) = expression else {
                return Err(json_type_error(
                    expression,
                    "Go struct field LabelSelector.matchExpressions",
                    "v1.LabelSelectorRequirement",
                ));
            };
            let key = json_string(expression.get("key"), "key")?;
            let operator = json_string(expression.get("operator"), "operator")?;
            let values = json_string_list(expression.get("values"))?;
            let op = match operator.as_str() {
                "In" => LabelOp::In,
                "NotIn" => LabelOp::NotIn,
                "Exists" => LabelOp::Exists,
                "DoesNotExist" => LabelOp::DoesNotExist,
                _ => {
                    return Err(SelectorError(format!(
                        "{} is not a valid label selector operator",
                        go_quote(&operator)
                    )));
                }
            };
            requirements.push(new_requirement(key, op, values)?);
        }
        requirements.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(LabelSelector {
            scope: Scope::Requirements(requirements),
        })
    }
}

impl Default for LabelSelector {
    /// [`LabelSelector::everything`].
    fn default() -> Self {
        LabelSelector::everything()
    }
}

/// Prints the canonical form upstream's `String()` prints: requirements sorted by key, joined
/// by `,` without blanks; the empty string for [`LabelSelector::everything`] and for
/// [`LabelSelector::nothing`]. Parsing the output gives back an equal selector (except that
/// `nothing` prints like `everything`).
impl fmt::Display for LabelSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Scope::Requirements(requirements) = &self.scope else {
            return Ok(());
        };
        for (i, requirement) in requirements.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{requirement}")?;
        }
        Ok(())
    }
}

/// Builds a requirement, checking it as upstream's `labels.NewRequirement` does: every problem
/// is reported, at field paths `key`, `values`, `values[i]` and `values[i][key]`.
fn new_requirement(
    key: String,
    op: LabelOp,
    values: Vec<String>,
) -> Result<LabelRequirement, SelectorError> {
    let mut errors = Vec::new();
    if let Some(detail) = label_key_error(&key) {
        errors.push(invalid_value("key", &go_quote(&key), &detail));
    }
    let bad_count =
        match op {
            LabelOp::In | LabelOp::NotIn => (values.is_empty())
                .then_some("for 'in', 'notin' operators, values set can't be empty"),
            LabelOp::Equals | LabelOp::DoubleEquals | LabelOp::NotEquals => {
                (values.len() != 1).then_some("exact-match compatibility requires one single value")
            }
            LabelOp::Exists | LabelOp::DoesNotExist => (!values.is_empty())
                .then_some("values set must be empty for exists and does not exist"),
            LabelOp::GreaterThan | LabelOp::LessThan => (values.len() != 1)
                .then_some("for 'Gt', 'Lt' operators, exactly one value is required"),
        };
    if let Some(detail) = bad_count {
        errors.push(invalid_value("values", &go_string_slice(&values), detail));
    }
    if matches!(op, LabelOp::GreaterThan | LabelOp::LessThan) {
        for (i, value) in values.iter().enumerate() {
            // Go's strconv.ParseInt(v, 10, 64) and Rust's i64 parsing accept the same strings.
            if value.parse::<i64>().is_err() {
                errors.push(invalid_value(
                    &format!("values[{i}]"),
                    &go_quote(value),
                    "for 'Gt', 'Lt' operators, the value must be an integer",
                ));
            }
        }
    }
    for (i, value) in values.iter().enumerate() {
        if let Some(detail) = label_value_error(value) {
            errors.push(invalid_value(
                &format!("values[{i}][{key}]"),
                &go_quote(value),
                &detail,
            ));
        }
    }
    if errors.is_empty() {
        Ok(LabelRequirement { key, op, values })
    } else {
        Err(SelectorError(aggregate(errors)))
    }
}

// ---------------------------------------------------------------------------------------------
// The label selector lexer and parser (upstream's Lexer and Parser)
// ---------------------------------------------------------------------------------------------

/// A lexical token of the label selector syntax. Upstream also has an error token, which its
/// lexer can never produce (every special character alone is a token), so it is left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    EndOfString,
    ClosedPar,
    Comma,
    /// `!`
    DoesNotExist,
    DoubleEquals,
    Equals,
    GreaterThan,
    Identifier,
    /// The keyword `in`.
    In,
    LessThan,
    NotEquals,
    /// The keyword `notin`.
    NotIn,
    OpenPar,
}

/// Blanks the lexer skips between tokens.
fn is_whitespace(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\r' | b'\n')
}

/// Characters that start an operator and end an identifier.
fn is_special(byte: u8) -> bool {
    matches!(byte, b'=' | b'!' | b'(' | b')' | b',' | b'>' | b'<')
}

/// Splits a label selector into tokens, byte by byte as upstream does.
///
/// Upstream reads a NUL byte as "end of input" but has still consumed it: at the start of a
/// token it ends the selector, inside a token it only ends that token. That is mirrored so that
/// no selector parses differently here.
struct Lexer<'a> {
    input: &'a str,
    pos: usize,
}

impl Lexer<'_> {
    fn peek(&self) -> Option<u8> {
        self.input.as_bytes().get(self.pos).copied()
    }

    fn next_token(&mut self) -> (Token, String) {
        while self.peek().is_some_and(is_whitespace) {
            self.pos += 1;
        }
        match self.peek() {
            None | Some(0) => (Token::EndOfString, String::new()),
            Some(byte) if is_special(byte) => self.symbol(byte),
            Some(_) => self.word(),
        }
    }

    /// An operator or punctuation: the longest token among `!=` and `==`, else one character.
    fn symbol(&mut self, first: u8) -> (Token, String) {
        let second = self.input.as_bytes().get(self.pos + 1).copied();
        let (token, len) = match (first, second) {
            (b'!', Some(b'=')) => (Token::NotEquals, 2),
            (b'=', Some(b'=')) => (Token::DoubleEquals, 2),
            (b'!', _) => (Token::DoesNotExist, 1),
            (b'=', _) => (Token::Equals, 1),
            (b'(', _) => (Token::OpenPar, 1),
            (b')', _) => (Token::ClosedPar, 1),
            (b',', _) => (Token::Comma, 1),
            (b'>', _) => (Token::GreaterThan, 1),
            _ => (Token::LessThan, 1),
        };
        let literal = self.input[self.pos..self.pos + len].to_owned();
        self.pos += len;
        if self.peek() == Some(0) {
            self.pos += 1;
        }
        (token, literal)
    }

    /// A keyword (`in`, `notin`) or an identifier: everything up to a blank or special character.
    fn word(&mut self) -> (Token, String) {
        let start = self.pos;
        let mut end = None;
        while let Some(byte) = self.peek() {
            if is_whitespace(byte) || is_special(byte) {
                break;
            }
            self.pos += 1;
            if byte == 0 {
                end = Some(self.pos - 1);
                break;
            }
        }
        // Every boundary is an ASCII byte, hence a char boundary.
        let literal = self.input[start..end.unwrap_or(self.pos)].to_owned();
        let token = match literal.as_str() {
            "in" => Token::In,
            "notin" => Token::NotIn,
            _ => Token::Identifier,
        };
        (token, literal)
    }
}

/// Whether the parser expects a key and operator, or values. In values the keywords `in` and
/// `notin` are plain identifiers (`x in (in)`, `notin=in`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Context {
    KeyAndOperator,
    Values,
}

/// A recursive-descent parser over the whole token list, as upstream's.
struct Parser {
    tokens: Vec<(Token, String)>,
    position: usize,
}

impl Parser {
    fn new(text: &str) -> Self {
        let mut lexer = Lexer {
            input: text,
            pos: 0,
        };
        let mut tokens = Vec::new();
        loop {
            let (token, literal) = lexer.next_token();
            tokens.push((token, literal));
            if token == Token::EndOfString {
                break;
            }
        }
        Parser {
            tokens,
            position: 0,
        }
    }

    fn lookahead(&self, context: Context) -> (Token, String) {
        let (token, literal) = self
            .tokens
            .get(self.position)
            .cloned()
            .unwrap_or((Token::EndOfString, String::new()));
        match (context, token) {
            (Context::Values, Token::In | Token::NotIn) => (Token::Identifier, literal),
            _ => (token, literal),
        }
    }

    fn consume(&mut self, context: Context) -> (Token, String) {
        let item = self.lookahead(context);
        self.position += 1;
        item
    }

    fn parse(&mut self) -> Result<Vec<LabelRequirement>, String> {
        let mut requirements = Vec::new();
        loop {
            let (token, literal) = self.lookahead(Context::Values);
            match token {
                Token::Identifier | Token::DoesNotExist => {
                    let requirement = self
                        .requirement()
                        .map_err(|e| format!("unable to parse requirement: {e}"))?;
                    requirements.push(requirement);
                    let (token, literal) = self.consume(Context::Values);
                    match token {
                        Token::EndOfString => return Ok(requirements),
                        Token::Comma => {
                            let (next, literal) = self.lookahead(Context::Values);
                            if next != Token::Identifier && next != Token::DoesNotExist {
                                return Err(format!(
                                    "found '{literal}', expected: identifier after ','"
                                ));
                            }
                        }
                        _ => {
                            return Err(format!(
                                "found '{literal}', expected: ',' or 'end of string'"
                            ));
                        }
                    }
                }
                Token::EndOfString => return Ok(requirements),
                _ => {
                    return Err(format!(
                        "found '{literal}', expected: !, identifier, or 'end of string'"
                    ));
                }
            }
        }
    }

    fn requirement(&mut self) -> Result<LabelRequirement, String> {
        let (key, inferred) = self.key_and_inferred_operator()?;
        if let Some(op) = inferred {
            return new_requirement(key, op, Vec::new()).map_err(|e| e.0);
        }
        let op = self.operator()?;
        let values = match op {
            LabelOp::In | LabelOp::NotIn => self.value_set()?,
            _ => self.exact_value()?,
        };
        new_requirement(key, op, values.into_iter().collect()).map_err(|e| e.0)
    }

    /// Reads `[!]key`; the operator is inferred as `DoesNotExist` after `!`, or `Exists` when
    /// the key ends the requirement.
    fn key_and_inferred_operator(&mut self) -> Result<(String, Option<LabelOp>), String> {
        let mut operator = None;
        let (mut token, mut literal) = self.consume(Context::Values);
        if token == Token::DoesNotExist {
            operator = Some(LabelOp::DoesNotExist);
            (token, literal) = self.consume(Context::Values);
        }
        if token != Token::Identifier {
            return Err(format!("found '{literal}', expected: identifier"));
        }
        if let Some(detail) = label_key_error(&literal) {
            // Upstream validates the key here with no field path, which prints as `<nil>`.
            return Err(invalid_value("<nil>", &go_quote(&literal), &detail));
        }
        let (next, _) = self.lookahead(Context::Values);
        if matches!(next, Token::EndOfString | Token::Comma) && operator.is_none() {
            operator = Some(LabelOp::Exists);
        }
        Ok((literal, operator))
    }

    fn operator(&mut self) -> Result<LabelOp, String> {
        let (token, literal) = self.consume(Context::KeyAndOperator);
        Ok(match token {
            Token::In => LabelOp::In,
            Token::Equals => LabelOp::Equals,
            Token::DoubleEquals => LabelOp::DoubleEquals,
            Token::GreaterThan => LabelOp::GreaterThan,
            Token::LessThan => LabelOp::LessThan,
            Token::NotIn => LabelOp::NotIn,
            Token::NotEquals => LabelOp::NotEquals,
            _ => {
                return Err(format!(
                    "found '{literal}', expected: in, notin, =, ==, !=, gt, lt"
                ));
            }
        })
    }

    /// Reads `( values )`; `()` is the set holding the empty string.
    fn value_set(&mut self) -> Result<BTreeSet<String>, String> {
        let (token, literal) = self.consume(Context::Values);
        if token != Token::OpenPar {
            // Upstream's message has no colon here.
            return Err(format!("found '{literal}' expected: '('"));
        }
        let (token, literal) = self.lookahead(Context::Values);
        match token {
            Token::Identifier | Token::Comma => {
                let values = self.identifier_list()?;
                if self.consume(Context::Values).0 != Token::ClosedPar {
                    return Err(format!("found '{literal}', expected: ')'"));
                }
                Ok(values)
            }
            Token::ClosedPar => {
                self.consume(Context::Values);
                Ok(BTreeSet::from([String::new()]))
            }
            _ => Err(format!(
                "found '{literal}', expected: ',', ')' or identifier"
            )),
        }
    }

    /// Reads comma-separated, possibly empty values up to (not including) `)`. Mirrors v0.33,
    /// where `,,` consumes its second comma (so `(,,)` is an error there).
    fn identifier_list(&mut self) -> Result<BTreeSet<String>, String> {
        let mut values = BTreeSet::new();
        loop {
            let (token, literal) = self.consume(Context::Values);
            match token {
                Token::Identifier => {
                    values.insert(literal);
                    let (next, literal) = self.lookahead(Context::Values);
                    match next {
                        Token::Comma => {}
                        Token::ClosedPar => return Ok(values),
                        _ => return Err(format!("found '{literal}', expected: ',' or ')'")),
                    }
                }
                Token::Comma => {
                    if values.is_empty() {
                        // A leading comma: `(,a)` holds "" and "a".
                        values.insert(String::new());
                    }
                    match self.lookahead(Context::Values).0 {
                        Token::ClosedPar => {
                            values.insert(String::new());
                            return Ok(values);
                        }
                        Token::Comma => {
                            self.consume(Context::Values);
                            values.insert(String::new());
                        }
                        _ => {}
                    }
                }
                _ => return Err(format!("found '{literal}', expected: ',', or identifier")),
            }
        }
    }

    /// Reads the value after `=`, `==`, `!=`, `>` or `<`; none means the empty string.
    fn exact_value(&mut self) -> Result<BTreeSet<String>, String> {
        let (next, _) = self.lookahead(Context::Values);
        if matches!(next, Token::EndOfString | Token::Comma) {
            return Ok(BTreeSet::from([String::new()]));
        }
        let (token, literal) = self.consume(Context::Values);
        if token == Token::Identifier {
            Ok(BTreeSet::from([literal]))
        } else {
            Err(format!("found '{literal}', expected: identifier"))
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Label key and value validation (upstream's pkg/util/validation)
// ---------------------------------------------------------------------------------------------

const QUALIFIED_NAME_MAX_LENGTH: usize = 63;
const LABEL_VALUE_MAX_LENGTH: usize = 63;
const DNS1123_SUBDOMAIN_MAX_LENGTH: usize = 253;

const QUALIFIED_NAME_FMT: &str = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
const QUALIFIED_NAME_MSG: &str = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const LABEL_VALUE_FMT: &str = "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?";
const LABEL_VALUE_MSG: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const DNS1123_SUBDOMAIN_FMT: &str =
    "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";
const DNS1123_SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";

/// Upstream's `RegexError`: the message, examples and pattern, e.g. `... (e.g. 'MyName',  or
/// 'my.name', regex used for validation is '...')`, its double space included.
fn regex_error(message: &str, pattern: &str, examples: &[&str]) -> String {
    let mut text = format!("{message} (e.g. ");
    for (i, example) in examples.iter().enumerate() {
        if i > 0 {
            text.push_str(" or ");
        }
        let _ = write!(text, "'{example}', ");
    }
    let _ = write!(text, "regex used for validation is '{pattern}')");
    text
}

/// `[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?`: what a label name and a non-empty label value
/// must be.
fn is_qualified_name_part(text: &str) -> bool {
    let bytes = text.as_bytes();
    match (bytes.first(), bytes.last()) {
        (Some(first), Some(last)) => {
            first.is_ascii_alphanumeric()
                && last.is_ascii_alphanumeric()
                && bytes
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        }
        _ => false,
    }
}

/// Dot-separated RFC 1123 labels: lower-case alphanumerics and `-`, each starting and ending
/// alphanumeric.
fn is_dns1123_subdomain(text: &str) -> bool {
    let is_label = |label: &str| {
        let bytes = label.as_bytes();
        let end_ok = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
        bytes.first().is_some_and(end_ok)
            && bytes.last().is_some_and(end_ok)
            && bytes.iter().all(|b| end_ok(b) || *b == b'-')
    };
    text.split('.').all(is_label)
}

/// Upstream's `IsDNS1123Subdomain` messages.
fn dns1123_subdomain_errors(text: &str) -> Vec<String> {
    let mut errors = Vec::new();
    if text.len() > DNS1123_SUBDOMAIN_MAX_LENGTH {
        errors.push(max_len_error(DNS1123_SUBDOMAIN_MAX_LENGTH));
    }
    if !is_dns1123_subdomain(text) {
        errors.push(regex_error(
            DNS1123_SUBDOMAIN_MSG,
            DNS1123_SUBDOMAIN_FMT,
            &["example.com"],
        ));
    }
    errors
}

fn max_len_error(length: usize) -> String {
    format!("must be no more than {length} characters")
}

/// Why `key` is not a valid label key (upstream's `IsQualifiedName`, messages joined by `; `):
/// an optional DNS-subdomain prefix and `/`, then a name of at most 63 characters.
fn label_key_error(key: &str) -> Option<String> {
    let name_hint = || {
        regex_error(
            QUALIFIED_NAME_MSG,
            QUALIFIED_NAME_FMT,
            &["MyName", "my.name", "123-abc"],
        )
    };
    let mut errors = Vec::new();
    let parts: Vec<&str> = key.split('/').collect();
    let name = match parts.as_slice() {
        [name] => *name,
        [prefix, name] => {
            if prefix.is_empty() {
                errors.push("prefix part must be non-empty".to_owned());
            } else {
                errors.extend(
                    dns1123_subdomain_errors(prefix)
                        .into_iter()
                        .map(|e| format!("prefix part {e}")),
                );
            }
            *name
        }
        _ => {
            return Some(format!(
                "a qualified name {} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
                name_hint()
            ));
        }
    };
    if name.is_empty() {
        errors.push("name part must be non-empty".to_owned());
    } else if name.len() > QUALIFIED_NAME_MAX_LENGTH {
        errors.push(format!(
            "name part {}",
            max_len_error(QUALIFIED_NAME_MAX_LENGTH)
        ));
    }
    if !is_qualified_name_part(name) {
        errors.push(format!("name part {}", name_hint()));
    }
    (!errors.is_empty()).then(|| errors.join("; "))
}

/// Why `value` is not a valid label value (upstream's `IsValidLabelValue`, joined by `; `): at
/// most 63 characters, empty or alphanumeric at both ends with `-`, `_`, `.` inside.
fn label_value_error(value: &str) -> Option<String> {
    let mut errors = Vec::new();
    if value.len() > LABEL_VALUE_MAX_LENGTH {
        errors.push(max_len_error(LABEL_VALUE_MAX_LENGTH));
    }
    if !value.is_empty() && !is_qualified_name_part(value) {
        errors.push(regex_error(
            LABEL_VALUE_MSG,
            LABEL_VALUE_FMT,
            &["MyValue", "my_value", "12345"],
        ));
    }
    (!errors.is_empty()).then(|| errors.join("; "))
}

// ---------------------------------------------------------------------------------------------
// Upstream's error formatting (field.Error, utilerrors.Aggregate, Go's %q and %#v)
// ---------------------------------------------------------------------------------------------

/// A `field.Invalid` error's text: `path: Invalid value: <bad value>: detail`.
fn invalid_value(path: &str, bad_value: &str, detail: &str) -> String {
    format!("{path}: Invalid value: {bad_value}: {detail}")
}

/// An aggregate error's text: duplicates dropped, one error as itself, several as `[a, b]`.
fn aggregate(errors: Vec<String>) -> String {
    let mut unique: Vec<String> = Vec::with_capacity(errors.len());
    for error in errors {
        if !unique.contains(&error) {
            unique.push(error);
        }
    }
    if let [single] = unique.as_slice() {
        single.clone()
    } else {
        format!("[{}]", unique.join(", "))
    }
}

/// Go's `%#v` of a `[]string`. Only the metav1 conversion reports a values list, and it passes
/// a nil slice when there are no values.
fn go_string_slice(values: &[String]) -> String {
    if values.is_empty() {
        return "[]string(nil)".to_owned();
    }
    let quoted: Vec<String> = values.iter().map(|v| go_quote(v)).collect();
    format!("[]string{{{}}}", quoted.join(", "))
}

/// Go's `%q` (`strconv.Quote`). Go keeps a character as is when `unicode.IsPrint` holds; that
/// is approximated here by escaping control, blank and common format and private-use
/// characters, which covers what a selector realistically contains.
fn go_quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            ' '..='~' => out.push(c),
            c if c.is_ascii() => {
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            }
            c if !is_go_printable(c) => {
                if u32::from(c) < 0x1_0000 {
                    let _ = write!(out, "\\u{:04x}", u32::from(c));
                } else {
                    let _ = write!(out, "\\U{:08x}", u32::from(c));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// An approximation of Go's `unicode.IsPrint` for non-ASCII characters: false for controls,
/// blanks (Go prints only U+0020 as is), common format characters and private use.
fn is_go_printable(c: char) -> bool {
    let format_or_private = matches!(
        c,
        '\u{ad}'
            | '\u{200b}'..='\u{200f}'
            | '\u{2060}'..='\u{2064}'
            | '\u{feff}'
            | '\u{e000}'..='\u{f8ff}'
            | '\u{f0000}'..
    );
    !(c.is_control() || c.is_whitespace() || format_or_private)
}

// ---------------------------------------------------------------------------------------------
// metav1.LabelSelector JSON decoding
// ---------------------------------------------------------------------------------------------

/// The name Go's `encoding/json` gives a JSON value's type in its errors.
fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn json_type_error(value: &Value, target: &str, go_type: &str) -> SelectorError {
    SelectorError(format!(
        "json: cannot unmarshal {} into {target} of type {go_type}",
        json_kind(value)
    ))
}

/// `matchLabels`, sorted by key; null or absent is empty, a null value is "" (as Go decodes).
fn json_string_map(value: Option<&Value>) -> Result<Vec<(String, String)>, SelectorError> {
    const FIELD: &str = "Go struct field LabelSelector.matchLabels";
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Object(map)) => {
            let mut pairs = Vec::with_capacity(map.len());
            for (key, value) in map {
                let value = match value {
                    Value::String(s) => s.clone(),
                    Value::Null => String::new(),
                    other => return Err(json_type_error(other, FIELD, "string")),
                };
                pairs.push((key.clone(), value));
            }
            pairs.sort();
            Ok(pairs)
        }
        Some(other) => Err(json_type_error(other, FIELD, "map[string]string")),
    }
}

/// A `matchExpressions[].key` or `.operator`; null or absent is "".
fn json_string(value: Option<&Value>, field: &str) -> Result<String, SelectorError> {
    match value {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(other) => Err(json_type_error(
            other,
            &format!("Go struct field LabelSelector.matchExpressions.{field}"),
            "string",
        )),
    }
}

/// A `matchExpressions[].values`; null or absent is empty, a null element is "".
fn json_string_list(value: Option<&Value>) -> Result<Vec<String>, SelectorError> {
    const FIELD: &str = "Go struct field LabelSelector.matchExpressions.values";
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| match item {
                Value::String(s) => Ok(s.clone()),
                Value::Null => Ok(String::new()),
                other => Err(json_type_error(other, FIELD, "string")),
            })
            .collect(),
        Some(other) => Err(json_type_error(other, FIELD, "[]string")),
    }
}

// ---------------------------------------------------------------------------------------------
// Field selectors
// ---------------------------------------------------------------------------------------------

/// A field selector (the `fieldSelector` list parameter): a conjunction of
/// [`FieldRequirement`]s, as upstream's `fields.ParseSelector`.
///
/// Field names are not checked here: which fields a kind supports is the API server's business.
/// Field names and values are taken as written, blanks included.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FieldSelector {
    requirements: Vec<FieldRequirement>,
}

/// One requirement of a [`FieldSelector`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldRequirement {
    /// The field path, e.g. `metadata.name` or `spec.nodeName`.
    pub field: String,
    /// Whether the field must equal the value or differ from it.
    pub op: FieldOp,
    /// The value, unescaped.
    pub value: String,
}

/// The operator of a [`FieldRequirement`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldOp {
    /// `field=value` or `field==value`.
    Equals,
    /// `field!=value`.
    NotEquals,
}

impl FieldSelector {
    /// Parses the `fieldSelector` syntax: terms `field=value`, `field==value` or
    /// `field!=value` separated by `,` (all must hold).
    ///
    /// A field name cannot be escaped: the first `!=`, `==` or `=` ends it. In a value, `\,`,
    /// `\=` and `\\` stand for `,`, `=` and `\`; any other escape, a trailing `\` and a bare `=`
    /// are errors (a bare `,` separates terms). Empty terms are skipped, and so, as upstream,
    /// is a term whose field and value are both empty (`=`). Terms are kept sorted by their
    /// text as written, as upstream sorts them.
    ///
    /// # Errors
    ///
    /// With upstream's messages: `invalid selector: '<selector>'; can't understand '<term>'`
    /// for a term without operator, `invalid field selector: invalid escape sequence: \x`, and
    /// `invalid field selector: unescaped character in value: 61` (the code point of `=`).
    pub fn parse(text: &str) -> Result<FieldSelector, SelectorError> {
        let mut terms = split_terms(text);
        terms.sort_unstable();
        let mut requirements = Vec::with_capacity(terms.len());
        for term in terms {
            if term.is_empty() {
                continue;
            }
            let Some((field, op, raw_value)) = split_term(term) else {
                return Err(SelectorError(format!(
                    "invalid selector: '{text}'; can't understand '{term}'"
                )));
            };
            let value = unescape_value(raw_value)?;
            if field.is_empty() && value.is_empty() {
                // Upstream's transform step turns such a term into "everything".
                continue;
            }
            requirements.push(FieldRequirement {
                field: field.to_owned(),
                op,
                value,
            });
        }
        Ok(FieldSelector { requirements })
    }

    /// The selector that matches every object.
    pub fn everything() -> Self {
        FieldSelector::default()
    }

    /// Whether this selector has no requirement.
    pub fn is_everything(&self) -> bool {
        self.requirements.is_empty()
    }

    /// The requirements, in upstream's order (sorted by the terms' text as written).
    pub fn requirements(&self) -> &[FieldRequirement] {
        &self.requirements
    }

    /// Whether an object's fields meet every requirement. `field_value` answers a field's value
    /// for the object; a field it does not know (`None`) compares as the empty string, as
    /// upstream's `fields.Set` does.
    pub fn matches(&self, field_value: impl Fn(&str) -> Option<String>) -> bool {
        self.requirements.iter().all(|requirement| {
            let actual = field_value(&requirement.field).unwrap_or_default();
            match requirement.op {
                FieldOp::Equals => actual == requirement.value,
                FieldOp::NotEquals => actual != requirement.value,
            }
        })
    }

    /// The value this selector requires `field` to equal, if it has such a requirement (the
    /// first one), as upstream's `RequiresExactMatch`; list and watch use it to narrow a scan
    /// (e.g. `metadata.name`, `spec.nodeName`).
    pub fn requires_exact_match(&self, field: &str) -> Option<&str> {
        self.requirements
            .iter()
            .find(|r| r.op == FieldOp::Equals && r.field == field)
            .map(|r| r.value.as_str())
    }
}

/// Prints upstream's `String()` form: `field=value` and `field!=value` terms (`==` prints as
/// `=`) joined by `,`, values escaped; parsing it gives back an equal selector.
impl fmt::Display for FieldSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, requirement) in self.requirements.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            let op = match requirement.op {
                FieldOp::Equals => "=",
                FieldOp::NotEquals => "!=",
            };
            write!(
                f,
                "{}{op}{}",
                requirement.field,
                escape_value(&requirement.value)
            )?;
        }
        Ok(())
    }
}

/// Escapes a field selector value: `\`, `,` and `=` get a leading backslash.
fn escape_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if matches!(c, '\\' | ',' | '=') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Splits a field selector at the commas that are not escaped; escapes stay in the terms. The
/// empty selector has no terms.
fn split_terms(selector: &str) -> Vec<&str> {
    if selector.is_empty() {
        return Vec::new();
    }
    let mut terms = Vec::new();
    let mut start = 0;
    let mut escaped = false;
    for (i, c) in selector.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == ',' {
            terms.push(&selector[start..i]);
            start = i + 1;
        }
    }
    terms.push(&selector[start..]);
    terms
}

/// Splits a term at its first operator, trying `!=`, then `==`, then `=` at each position.
/// The value is returned still escaped.
fn split_term(term: &str) -> Option<(&str, FieldOp, &str)> {
    const OPERATORS: [(&str, FieldOp); 3] = [
        ("!=", FieldOp::NotEquals),
        ("==", FieldOp::Equals),
        ("=", FieldOp::Equals),
    ];
    term.char_indices().find_map(|(i, _)| {
        let rest = &term[i..];
        OPERATORS.iter().find_map(|&(operator, op)| {
            rest.strip_prefix(operator)
                .map(|value| (&term[..i], op, value))
        })
    })
}

/// Undoes [`escape_value`], rejecting unknown escapes, a trailing `\` and a bare `,` or `=`.
fn unescape_value(raw: &str) -> Result<String, SelectorError> {
    let mut value = String::with_capacity(raw.len());
    let mut escaped = false;
    for c in raw.chars() {
        if escaped {
            if !matches!(c, '\\' | ',' | '=') {
                return Err(SelectorError(format!(
                    "invalid field selector: invalid escape sequence: \\{c}"
                )));
            }
            value.push(c);
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if matches!(c, ',' | '=') {
            // Upstream prints the rune with %v, i.e. as its code point.
            return Err(SelectorError(format!(
                "invalid field selector: unescaped character in value: {}",
                u32::from(c)
            )));
        } else {
            value.push(c);
        }
    }
    if escaped {
        return Err(SelectorError(
            "invalid field selector: invalid escape sequence: \\".to_owned(),
        ));
    }
    Ok(value)
}

#[cfg(test)]
#[path = "selector_tests.rs"]
mod tests;
