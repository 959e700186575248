use std::collections::BTreeMap;

use serde_json::json;

use super::*;

/// Upstream's hint for a bad label value (`IsValidLabelValue`), double space included.
const VALUE_HINT: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";

/// Upstream's hint for a bad label key name (`IsQualifiedName`).
const NAME_HINT: &str = "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn label_matches(selector: &str, pairs: &[(&str, &str)]) -> bool {
    LabelSelector::parse(selector)
        .unwrap()
        .matches(&labels(pairs))
}

fn label_error(selector: &str) -> String {
    LabelSelector::parse(selector).unwrap_err().0
}

fn field_error(selector: &str) -> String {
    FieldSelector::parse(selector).unwrap_err().0
}

fn fields<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
    move |field| {
        pairs
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, v)| (*v).to_owned())
    }
}

// --- label selectors: parsing and matching ---------------------------------------------------

#[test]
fn empty_and_blank_label_selectors_match_everything() {
    for text in ["", " ", "\t\r\n"] {
        let selector = LabelSelector::parse(text).unwrap();
        assert!(selector.is_everything(), "{text:?}");
        assert!(selector.matches(&labels(&[])));
        assert!(selector.matches(&labels(&[("x", "y")])));
        assert_eq!(selector.to_string(), "");
    }
    assert_eq!(
        LabelSelector::everything(),
        LabelSelector::parse("").unwrap()
    );
    assert_eq!(LabelSelector::default(), LabelSelector::everything());
}

#[test]
fn equality_requirements_match_as_upstream() {
    assert!(label_matches("x=y", &[("x", "y")]));
    assert!(label_matches("x==y", &[("x", "y")]));
    assert!(!label_matches("x=y", &[("x", "z")]));
    assert!(!label_matches("x=z", &[]));
    assert!(label_matches("x=y,z=w", &[("x", "y"), ("z", "w")]));
    assert!(!label_matches("x=y,z=w", &[("x", "w"), ("z", "w")]));
    // `!=` also matches a missing label.
    assert!(label_matches("x!=y,z!=w", &[("x", "z"), ("z", "a")]));
    assert!(label_matches("x!=y", &[]));
    assert!(!label_matches("x!=y,z!=w", &[("x", "z"), ("z", "w")]));
    // An empty value is allowed and matches only an empty label.
    assert!(label_matches("x=", &[("x", "")]));
    assert!(!label_matches("x=", &[]));
    assert!(label_matches("x= ,z=", &[("x", ""), ("z", "")]));
}

#[test]
fn set_based_requirements_match_as_upstream() {
    assert!(label_matches("x in (a,b)", &[("x", "b")]));
    assert!(!label_matches("x in (a,b)", &[("x", "c")]));
    assert!(!label_matches("x in (a,b)", &[]));
    assert!(label_matches("x notin (a,b)", &[("x", "c")]));
    assert!(label_matches("x notin (a,b)", &[]));
    assert!(!label_matches("x notin (a,b)", &[("x", "a")]));
    // `()` and trailing or doubled commas hold the empty value.
    assert!(label_matches("x in ()", &[("x", "")]));
    assert!(label_matches("x in (a,)", &[("x", "")]));
    assert!(label_matches("x notin (, a)", &[("x", "b")]));
    assert!(!label_matches("x notin (, a)", &[("x", "")]));
    assert!(label_matches("x in (a,,b)", &[("x", "")]));
    // Keywords are plain values inside a set and after an exact-match operator.
    assert!(label_matches("a in (x,y,notin, z,in)", &[("a", "in")]));
    assert!(label_matches("notin=in", &[("notin", "in")]));
    assert!(label_matches("in in (notin)", &[("in", "notin")]));
}

#[test]
fn existence_requirements_match_as_upstream() {
    assert!(label_matches("x", &[("x", "z")]));
    assert!(label_matches("x", &[("x", "")]));
    assert!(!label_matches("x", &[("y", "z")]));
    assert!(label_matches("!x", &[("y", "z")]));
    assert!(!label_matches("!x", &[("x", "")]));
    assert!(label_matches("x,!y", &[("x", "1")]));
    assert!(label_matches("\rx", &[("x", "1")]));
    assert!(label_matches("a ", &[("a", "1")]));
}

#[test]
fn integer_comparisons_match_as_upstream() {
    assert!(label_matches("x>1", &[("x", "2")]));
    assert!(!label_matches("x>1", &[("x", "1")]));
    assert!(!label_matches("x>1", &[("x", "0")]));
    assert!(label_matches("x<1", &[("x", "0")]));
    assert!(label_matches("x<1", &[("x", "-5")]));
    assert!(!label_matches("x<1", &[("x", "2")]));
    assert!(label_matches("x>1,z<5", &[("x", "2"), ("z", "4")]));
    // Missing labels and labels that are not integers never match.
    assert!(!label_matches("x>1", &[]));
    assert!(!label_matches("x<1", &[]));
    assert!(!label_matches("x>1", &[("x", "two")]));
    assert!(!label_matches("x<100", &[("x", "1.5")]));
    assert!(!label_matches("x<100", &[("x", "99999999999999999999")]));
    assert!(label_matches("x>9000000000", &[("x", "9000000001")]));
}

#[test]
fn blanks_around_tokens_are_ignored() {
    let expected = LabelSelector::parse("foo in (abc),x notin (abc,def),y!=a").unwrap();
    let spaced =
        LabelSelector::parse(" foo  in\t (abc) ,\nx  notin\t\t(abc , def) , y != a ").unwrap();
    assert_eq!(spaced, expected);
    assert_eq!(
        LabelSelector::parse("x notin ( )").unwrap().to_string(),
        "x notin ()"
    );
}

#[test]
fn qualified_keys_with_a_dns_prefix_are_accepted() {
    let selector = LabelSelector::parse(
        "this-is-a-dns.domain.com/key-with-dash,0.1.2.domain/99 notin (10.10.100.1, tick.tack.clock)",
    )
    .unwrap();
    assert_eq!(
        selector.to_string(),
        "0.1.2.domain/99 notin (10.10.100.1,tick.tack.clock),this-is-a-dns.domain.com/key-with-dash"
    );
    assert!(selector.matches(&labels(&[("this-is-a-dns.domain.com/key-with-dash", "")])));
    let max_name = "k".repeat(63);
    assert!(LabelSelector::parse(&max_name).is_ok());
}

#[test]
fn requirements_are_sorted_by_key_and_set_values_deduplicated() {
    let selector = LabelSelector::parse("z in (b,a,b),x,y in (a)").unwrap();
    let requirements = selector.requirements().unwrap();
    let keys: Vec<&str> = requirements.iter().map(LabelRequirement::key).collect();
    assert_eq!(keys, ["x", "y", "z"]);
    assert_eq!(requirements[0].op(), LabelOp::Exists);
    assert!(requirements[0].values().is_empty());
    assert_eq!(requirements[2].op(), LabelOp::In);
    assert_eq!(requirements[2].values(), ["a", "b"]);
    assert_eq!(
        LabelSelector::parse("x=a,a=x").unwrap(),
        LabelSelector::parse("a=x,x=a").unwrap()
    );
}

#[test]
fn display_prints_upstreams_canonical_form_and_round_trips() {
    let cases = [
        ("x=a,y=b,z=c", "x=a,y=b,z=c"),
        ("x!=a,y=b", "x!=a,y=b"),
        ("x=", "x="),
        ("x= ", "x="),
        ("x= ,z= ", "x=,z="),
        ("!x", "!x"),
        ("x>1", "x>1"),
        ("x>1,z<5", "x>1,z<5"),
        ("y==jkl,x=abc", "x=abc,y==jkl"),
        (
            "x in (def,abc),y notin (jkl),z",
            "x in (abc,def),y notin (jkl),z",
        ),
        ("z notin (), x notin (abc)", "x notin (abc),z notin ()"),
        (
            "x notin (abc,,def),bar,z in (),w",
            "bar,w,x notin (,abc,def),z in ()",
        ),
        ("b,a=1,!c,d in (x)", "a=1,b,!c,d in (x)"),
    ];
    for (input, printed) in cases {
        let selector = LabelSelector::parse(input).unwrap();
        assert_eq!(selector.to_string(), printed, "{input}");
        assert_eq!(
            LabelSelector::parse(printed).unwrap(),
            selector,
            "{printed}"
        );
    }
}

#[test]
fn matches_object_reads_metadata_labels() {
    let selector = LabelSelector::parse("app=web,!canary").unwrap();
    let web = json!({"metadata": {"name": "a", "labels": {"app": "web"}}});
    let canary = json!({"metadata": {"labels": {"app": "web", "canary": "true"}}});
    assert!(selector.matches_object(&web));
    assert!(!selector.matches_object(&canary));

    // Missing labels (or metadata) count as none.
    let bare = json!({"metadata": {"name": "a"}});
    assert!(!selector.matches_object(&bare));
    assert!(!selector.matches_object(&json!({})));
    assert!(LabelSelector::parse("!app").unwrap().matches_object(&bare));
    assert!(LabelSelector::everything().matches_object(&json!(null)));
    // A label whose value is not a string counts as missing.
    let odd = json!({"metadata": {"labels": {"app": 1}}});
    assert!(!LabelSelector::parse("app").unwrap().matches_object(&odd));
}

// --- label selectors: errors -----------------------------------------------------------------

#[test]
fn syntax_errors_carry_upstreams_messages() {
    let cases = [
        ("x==a==b", "found '==', expected: ',' or 'end of string'"),
        ("!x=a", "found '=', expected: ',' or 'end of string'"),
        ("a=b c", "found 'c', expected: ',' or 'end of string'"),
        (
            "a in (xyz)b notin ()",
            "found 'b', expected: ',' or 'end of string'",
        ),
        ("x,,y", "found ',', expected: identifier after ','"),
        ("a in (xyz),", "found '', expected: identifier after ','"),
        (
            ",x,y",
            "found ',', expected: !, identifier, or 'end of string'",
        ),
        (
            "(",
            "found '(', expected: !, identifier, or 'end of string'",
        ),
        (
            "=a",
            "found '=', expected: !, identifier, or 'end of string'",
        ),
        (
            "x nott in (y)",
            "unable to parse requirement: found 'nott', expected: in, notin, =, ==, !=, gt, lt",
        ),
        (
            "a (",
            "unable to parse requirement: found '(', expected: in, notin, =, ==, !=, gt, lt",
        ),
        (
            "x!y",
            "unable to parse requirement: found '!', expected: in, notin, =, ==, !=, gt, lt",
        ),
        (
            "!",
            "unable to parse requirement: found '', expected: identifier",
        ),
        (
            "!=a",
            "found '!=', expected: !, identifier, or 'end of string'",
        ),
        (
            "x=(a)",
            "unable to parse requirement: found '(', expected: identifier",
        ),
    ];
    for (input, message) in cases {
        assert_eq!(label_error(input), message, "{input}");
    }
    // `|` is no operator: `a||y` is read as one (invalid) value.
    assert_eq!(
        label_error("x=a||y=b"),
        format!("unable to parse requirement: values[0][x]: Invalid value: \"a||y\": {VALUE_HINT}")
    );
}

#[test]
fn malformed_value_sets_carry_upstreams_messages() {
    let cases = [
        ("x in", "found '' expected: '('"),
        ("x in a", "found 'a' expected: '('"),
        ("x in (", "found '', expected: ',', ')' or identifier"),
        ("a notin(", "found '', expected: ',', ')' or identifier"),
        ("x in (a", "found '', expected: ',' or ')'"),
        ("a in (xyz abc)", "found 'abc', expected: ',' or ')'"),
        ("x in (a,", "found '', expected: ',', or identifier"),
        ("x in (a,=)", "found '=', expected: ',', or identifier"),
        ("x in ((a)", "found '(', expected: ',', ')' or identifier"),
        // v0.33 consumes the second comma of `,,`, so a following `)` is unexpected.
        ("x in (,,)", "found ')', expected: ',', or identifier"),
    ];
    for (input, message) in cases {
        assert_eq!(
            label_error(input),
            format!("unable to parse requirement: {message}"),
            "{input}"
        );
    }
}

#[test]
fn missing_integer_operand_is_reported_as_upstream() {
    assert_eq!(
        label_error("x<a"),
        "unable to parse requirement: values[0]: Invalid value: \"a\": for 'Gt', 'Lt' operators, the value must be an integer"
    );
    assert_eq!(
        label_error("x>"),
        "unable to parse requirement: values[0]: Invalid value: \"\": for 'Gt', 'Lt' operators, the value must be an integer"
    );
    // Not an integer and not a label value: both problems, aggregated.
    assert_eq!(
        label_error("x>_a"),
        format!(
            "unable to parse requirement: [values[0]: Invalid value: \"_a\": for 'Gt', 'Lt' operators, the value must be an integer, values[0][x]: Invalid value: \"_a\": {VALUE_HINT}]"
        )
    );
    // An integer that is not a label value (a sign) is still rejected.
    assert_eq!(
        label_error("x<-1"),
        format!("unable to parse requirement: values[0][x]: Invalid value: \"-1\": {VALUE_HINT}")
    );
}

#[test]
fn invalid_keys_are_reported_at_upstreams_nil_path() {
    assert_eq!(
        label_error("a@b=c"),
        format!("unable to parse requirement: <nil>: Invalid value: \"a@b\": {NAME_HINT}")
    );
    assert_eq!(
        label_error("-x"),
        format!("unable to parse requirement: <nil>: Invalid value: \"-x\": {NAME_HINT}")
    );
    assert_eq!(
        label_error("/x"),
        "unable to parse requirement: <nil>: Invalid value: \"/x\": prefix part must be non-empty"
    );
    assert_eq!(
        label_error("example.com/"),
        format!(
            "unable to parse requirement: <nil>: Invalid value: \"example.com/\": name part must be non-empty; {NAME_HINT}"
        )
    );
    assert_eq!(
        label_error("Example.com/x"),
        "unable to parse requirement: <nil>: Invalid value: \"Example.com/x\": prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
    );
    assert_eq!(
        label_error("a/b/c"),
        "unable to parse requirement: <nil>: Invalid value: \"a/b/c\": a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
    );
    let long = "k".repeat(64);
    assert_eq!(
        label_error(&long),
        format!(
            "unable to parse requirement: <nil>: Invalid value: \"{long}\": name part must be no more than 63 characters"
        )
    );
    // Go's %q escapes quotes and backslashes in the echoed key.
    assert_eq!(
        label_error("a\"\\b"),
        format!("unable to parse requirement: <nil>: Invalid value: \"a\\\"\\\\b\": {NAME_HINT}")
    );
}

#[test]
fn invalid_values_are_reported_at_their_index_and_key() {
    assert_eq!(
        label_error("app=web_"),
        format!(
            "unable to parse requirement: values[0][app]: Invalid value: \"web_\": {VALUE_HINT}"
        )
    );
    // Set values are sorted before they are checked, so the index is the sorted one.
    assert_eq!(
        label_error("app in (b.,a)"),
        format!("unable to parse requirement: values[1][app]: Invalid value: \"b.\": {VALUE_HINT}")
    );
    let long = "v".repeat(64);
    assert_eq!(
        label_error(&format!("app={long}")),
        format!(
            "unable to parse requirement: values[0][app]: Invalid value: \"{long}\": must be no more than 63 characters"
        )
    );
    let long_and_bad = format!("{}-", "v".repeat(63));
    assert_eq!(
        label_error(&format!("app!={long_and_bad}")),
        format!(
            "unable to parse requirement: values[0][app]: Invalid value: \"{long_and_bad}\": must be no more than 63 characters; {VALUE_HINT}"
        )
    );
    assert_eq!(
        label_error("app=\u{e9}t\u{e9}"),
        format!(
            "unable to parse requirement: values[0][app]: Invalid value: \"\u{e9}t\u{e9}\": {VALUE_HINT}"
        )
    );
}

#[test]
fn a_nul_byte_at_a_token_start_ends_the_selector_as_upstream() {
    assert_eq!(
        LabelSelector::parse("a=b,c \0 garbage ((")
            .unwrap()
            .to_string(),
        "a=b,c"
    );
}

#[test]
fn go_quoting_escapes_control_and_blank_characters() {
    assert_eq!(go_quote("a\tb\u{1}\u{7f}"), "\"a\\tb\\x01\\x7f\"");
    assert_eq!(
        go_quote("\u{a0}\u{feff}h\u{e9}"),
        "\"\\u00a0\\ufeffh\u{e9}\""
    );
    assert_eq!(go_quote("\u{f0000}"), "\"\\U000f0000\"");
}

// --- metav1.LabelSelector --------------------------------------------------------------------

#[test]
fn a_null_label_selector_matches_nothing_and_an_empty_one_everything() {
    let nothing = LabelSelector::from_label_selector_json(&json!(null)).unwrap();
    assert!(nothing.is_nothing());
    assert!(!nothing.is_everything());
    assert!(!nothing.matches(&labels(&[])));
    assert!(!nothing.matches_object(&json!({"metadata": {"labels": {"a": "b"}}})));
    assert_eq!(nothing.requirements(), None);
    assert_eq!(nothing.to_string(), "");
    assert_eq!(nothing, LabelSelector::nothing());

    for empty in [
        json!({}),
        json!({"matchLabels": {}}),
        json!({"matchLabels": null, "matchExpressions": []}),
    ] {
        let selector = LabelSelector::from_label_selector_json(&empty).unwrap();
        assert!(selector.is_everything(), "{empty}");
        assert!(selector.matches(&labels(&[])));
    }
}

#[test]
fn match_labels_and_expressions_convert_to_sorted_requirements() {
    let selector = LabelSelector::from_label_selector_json(&json!({
        "matchLabels": {"tier": "web", "app": "shop"},
        "matchExpressions": [
            {"key": "env", "operator": "In", "values": ["prod", "dev", "prod"]},
            {"key": "track", "operator": "NotIn", "values": ["canary"]},
            {"key": "owner", "operator": "Exists"},
            {"key": "legacy", "operator": "DoesNotExist", "values": []},
        ]
    }))
    .unwrap();
    // Values keep their given order (duplicates too) and print sorted, as upstream.
    let env = &selector.requirements().unwrap()[1];
    assert_eq!(env.values(), ["prod", "dev", "prod"]);
    assert_eq!(
        selector.to_string(),
        "app=shop,env in (dev,prod,prod),!legacy,owner,tier=web,track notin (canary)"
    );
    let matching = labels(&[
        ("app", "shop"),
        ("tier", "web"),
        ("env", "dev"),
        ("owner", "me"),
    ]);
    assert!(selector.matches(&matching));
    let mut canary = matching.clone();
    canary.insert("track".to_owned(), "canary".to_owned());
    assert!(!selector.matches(&canary));
    let mut legacy = matching;
    legacy.insert("legacy".to_owned(), String::new());
    assert!(!selector.matches(&legacy));
}

#[test]
fn label_selector_operators_and_value_counts_are_validated_as_upstream() {
    let error = |value: serde_json::Value| {
        LabelSelector::from_label_selector_json(&value)
            .unwrap_err()
            .0
    };
    assert_eq!(
        error(json!({"matchExpressions": [{"key": "a", "operator": "Gt", "values": ["1"]}]})),
        "\"Gt\" is not a valid label selector operator"
    );
    assert_eq!(
        error(json!({"matchExpressions": [{"key": "a"}]})),
        "\"\" is not a valid label selector operator"
    );
    assert_eq!(
        error(json!({"matchExpressions": [{"key": "a", "operator": "In"}]})),
        "values: Invalid value: []string(nil): for 'in', 'notin' operators, values set can't be empty"
    );
    assert_eq!(
        error(json!({"matchExpressions": [{"key": "a", "operator": "NotIn", "values": []}]})),
        "values: Invalid value: []string(nil): for 'in', 'notin' operators, values set can't be empty"
    );
    assert_eq!(
        error(
            json!({"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x", "y"]}]})
        ),
        "values: Invalid value: []string{\"x\", \"y\"}: values set must be empty for exists and does not exist"
    );
    assert_eq!(
        error(
            json!({"matchExpressions": [{"key": "a", "operator": "DoesNotExist", "values": ["x_"]}]})
        ),
        format!(
            "[values: Invalid value: []string{{\"x_\"}}: values set must be empty for exists and does not exist, values[0][a]: Invalid value: \"x_\": {VALUE_HINT}]"
        )
    );
    assert_eq!(
        error(json!({"matchLabels": {"bad key": "v"}})),
        format!("key: Invalid value: \"bad key\": {NAME_HINT}")
    );
    assert_eq!(
        error(json!({"matchLabels": {"app": "-web"}})),
        format!("values[0][app]: Invalid value: \"-web\": {VALUE_HINT}")
    );
    assert_eq!(
        error(json!({"matchExpressions": [{"operator": "Exists"}]})),
        format!("key: Invalid value: \"\": name part must be non-empty; {NAME_HINT}")
    );
}

#[test]
fn label_selector_json_of_the_wrong_shape_is_rejected() {
    let error = |value: serde_json::Value| {
        LabelSelector::from_label_selector_json(&value)
            .unwrap_err()
            .0
    };
    assert_eq!(
        error(json!("app=web")),
        "json: cannot unmarshal string into Go value of type v1.LabelSelector"
    );
    assert_eq!(
        error(json!({"matchLabels": ["a"]})),
        "json: cannot unmarshal array into Go struct field LabelSelector.matchLabels of type map[string]string"
    );
    assert_eq!(
        error(json!({"matchLabels": {"a": 1}})),
        "json: cannot unmarshal number into Go struct field LabelSelector.matchLabels of type string"
    );
    assert_eq!(
        error(json!({"matchExpressions": {}})),
        "json: cannot unmarshal object into Go struct field LabelSelector.matchExpressions of type []v1.LabelSelectorRequirement"
    );
    assert_eq!(
        error(json!({"matchExpressions": [{"key": "a", "operator": "In", "values": "x"}]})),
        "json: cannot unmarshal string into Go struct field LabelSelector.matchExpressions.values of type []string"
    );
}

// --- field selectors -------------------------------------------------------------------------

#[test]
fn field_selectors_parse_every_operator() {
    let selector =
        FieldSelector::parse("status.phase!=Failed,metadata.name==web,spec.nodeName=n1").unwrap();
    assert_eq!(
        selector.requirements(),
        [
            FieldRequirement {
                field: "metadata.name".to_owned(),
                op: FieldOp::Equals,
                value: "web".to_owned(),
            },
            FieldRequirement {
                field: "spec.nodeName".to_owned(),
                op: FieldOp::Equals,
                value: "n1".to_owned(),
            },
            FieldRequirement {
                field: "status.phase".to_owned(),
                op: FieldOp::NotEquals,
                value: "Failed".to_owned(),
            },
        ]
    );
    assert_eq!(selector.requires_exact_match("metadata.name"), Some("web"));
    assert_eq!(selector.requires_exact_match("status.phase"), None);
    assert_eq!(
        selector.to_string(),
        "metadata.name=web,spec.nodeName=n1,status.phase!=Failed"
    );
}

#[test]
fn field_selectors_match_missing_fields_as_empty_strings() {
    let selector = FieldSelector::parse("metadata.name=web,status.phase!=Failed").unwrap();
    assert!(selector.matches(fields(&[
        ("metadata.name", "web"),
        ("status.phase", "Running")
    ])));
    assert!(selector.matches(fields(&[("metadata.name", "web")])));
    assert!(!selector.matches(fields(&[
        ("metadata.name", "web"),
        ("status.phase", "Failed")
    ])));
    assert!(!selector.matches(fields(&[("metadata.name", "db")])));
    // `field=` requires the field to be empty or missing.
    let empty = FieldSelector::parse("spec.nodeName=").unwrap();
    assert!(empty.matches(fields(&[])));
    assert!(!empty.matches(fields(&[("spec.nodeName", "n1")])));
    assert!(
        !FieldSelector::parse("spec.nodeName!=")
            .unwrap()
            .matches(fields(&[]))
    );
}

#[test]
fn empty_field_selectors_and_empty_terms_select_everything() {
    for text in ["", ",", ",,", "=", "!=", "==,"] {
        let selector = FieldSelector::parse(text).unwrap();
        assert!(selector.is_everything(), "{text:?}");
        assert!(selector.matches(fields(&[])));
    }
    assert_eq!(
        FieldSelector::everything(),
        FieldSelector::parse("").unwrap()
    );
    assert_eq!(FieldSelector::parse(",a=b,").unwrap().to_string(), "a=b");
}

#[test]
fn field_selectors_keep_blanks_and_the_first_operator_splits() {
    let selector = FieldSelector::parse(" a = b ").unwrap();
    assert_eq!(selector.requirements()[0].field, " a ");
    assert_eq!(selector.requirements()[0].value, " b ");
    let selector = FieldSelector::parse("a!b=c").unwrap();
    assert_eq!(selector.requirements()[0].field, "a!b");
    assert_eq!(selector.requirements()[0].value, "c");
    let selector = FieldSelector::parse("\u{d568}=\u{c218},\u{baa9}=\u{b85d}").unwrap();
    assert_eq!(selector.requirements().len(), 2);
}

#[test]
fn field_selector_values_unescape_commas_equals_and_backslashes() {
    let selector = FieldSelector::parse(r"k=\,,k2=v\=\=\\").unwrap();
    // Terms sort by their text as written: `k2...` before `k=...`.
    assert_eq!(selector.requirements()[0].value, r"v==\");
    assert_eq!(selector.requirements()[1].value, ",");
    assert_eq!(selector.requires_exact_match("k"), Some(","));
    assert!(selector.matches(fields(&[("k", ","), ("k2", r"v==\")])));
}

#[test]
fn field_selector_display_escapes_values_and_round_trips() {
    let cases = [
        ("x=a,y=b,z=c", "x=a,y=b,z=c"),
        ("x!=a,y=b", "x!=a,y=b"),
        (r"x=a||y\=b", r"x=a||y\=b"),
        (r"x=a\=\=b", r"x=a\=\=b"),
        (r"k=\\\,", r"k=\\\,"),
        ("b==1,a=2", "a=2,b=1"),
    ];
    for (input, printed) in cases {
        let selector = FieldSelector::parse(input).unwrap();
        assert_eq!(selector.to_string(), printed, "{input}");
        assert_eq!(
            FieldSelector::parse(printed).unwrap(),
            selector,
            "{printed}"
        );
    }
    assert_eq!(
        FieldSelector::parse("x=a,a=x").unwrap(),
        FieldSelector::parse("a=x,x=a").unwrap()
    );
}

#[test]
fn field_selector_errors_carry_upstreams_messages() {
    assert_eq!(
        field_error("x"),
        "invalid selector: 'x'; can't understand 'x'"
    );
    assert_eq!(
        field_error("x in (a,b,c)"),
        "invalid selector: 'x in (a,b,c)'; can't understand 'b'"
    );
    assert_eq!(
        field_error("x=a,b"),
        "invalid selector: 'x=a,b'; can't understand 'b'"
    );
    assert_eq!(
        field_error("x=a||y=b"),
        "invalid field selector: unescaped character in value: 61"
    );
    assert_eq!(
        field_error("x==a==b"),
        "invalid field selector: unescaped character in value: 61"
    );
    assert_eq!(
        field_error(r"k=\a"),
        r"invalid field selector: invalid escape sequence: \a"
    );
    // Upstream knows no `\!` escape.
    assert_eq!(
        field_error(r"k=\!"),
        r"invalid field selector: invalid escape sequence: \!"
    );
    assert_eq!(
        field_error(r"k=\"),
        r"invalid field selector: invalid escape sequence: \"
    );
    assert_eq!(
        field_error(r"k=\\\"),
        r"invalid field selector: invalid escape sequence: \"
    );
}
