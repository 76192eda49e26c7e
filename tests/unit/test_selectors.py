"""Label and field selectors parse, print and match as the API server's do."""

from __future__ import annotations

import pytest

from kubecourse.embedded.selectors import (
    FieldSelector,
    LabelSelector,
    SelectorError,
    format_labels,
    label_selector_from_set,
    label_selector_from_spec,
    parse_field_selector,
    parse_label_selector,
    selector_spec_to_string,
    service_selector,
    supported_fields,
)

WEB = {"app": "web", "tier": "frontend", "track": "stable"}


# ---------------------------------------------------------------- label grammar


@pytest.mark.parametrize(
    ("text", "matches"),
    [
        ("app=web", True),
        ("app==web", True),
        ("app!=web", False),
        ("app!=db", True),
        ("tier in (frontend,backend)", True),
        ("tier in (backend)", False),
        ("tier notin (backend)", True),
        ("tier notin (frontend)", False),
        ("app", True),
        ("missing", False),
        ("!missing", True),
        ("!app", False),
        ("app=web,tier=frontend", True),
        ("app=web,tier=backend", False),
        ("missing!=x", True),
        ("missing notin (x)", True),
        ("missing in (x)", False),
    ],
)
def test_label_selector_matches_like_the_api_server(text: str, matches: bool) -> None:
    assert parse_label_selector(text).matches(WEB) is matches


def test_empty_label_selector_text_matches_everything() -> None:
    for text in (None, "", "   "):
        selector = parse_label_selector(text)
        assert selector.empty()
        assert selector.matches({})
        assert selector.matches(None)


def test_selector_against_no_labels_treats_them_as_empty() -> None:
    assert parse_label_selector("!app").matches(None)
    assert not parse_label_selector("app").matches(None)


def test_whitespace_around_tokens_is_ignored() -> None:
    selector = parse_label_selector("  app = web ,  tier  in  ( frontend , backend ) ")
    assert str(selector) == "app=web,tier in (backend,frontend)"


def test_canonical_string_sorts_requirements_by_key_and_set_values() -> None:
    selector = parse_label_selector("tier in (b,a),app==web,!gone,track")
    assert str(selector) == "app==web,!gone,tier in (a,b),track"


def test_canonical_string_keeps_the_equality_operator_written() -> None:
    assert str(parse_label_selector("a=1,b==2,c!=3")) == "a=1,b==2,c!=3"


def test_numeric_operators_compare_integers() -> None:
    assert parse_label_selector("replicas>2").matches({"replicas": "3"})
    assert not parse_label_selector("replicas>2").matches({"replicas": "2"})
    assert parse_label_selector("replicas<2").matches({"replicas": "1"})
    assert not parse_label_selector("replicas<2").matches({"replicas": "x"})
    assert not parse_label_selector("replicas<2").matches({})


def test_numeric_operator_needs_an_integer_value() -> None:
    with pytest.raises(SelectorError, match="must be an integer"):
        parse_label_selector("replicas>two")


def test_prefixed_keys_are_accepted() -> None:
    selector = parse_label_selector("app.kubernetes.io/name=web")
    assert selector.matches({"app.kubernetes.io/name": "web"})


def test_empty_value_for_equality_selects_empty_label() -> None:
    selector = parse_label_selector("app=")
    assert selector.matches({"app": ""})
    assert not selector.matches({"app": "web"})


def test_empty_members_in_a_set_mean_the_empty_value() -> None:
    assert str(parse_label_selector("x in (a,)")) == "x in (,a)"
    assert parse_label_selector("x in (,a)").matches({"x": ""})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a in b", "unable to parse requirement: found 'b', expected: '('"),
        (
            "a b",
            "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt",
        ),
        ("a,", "found '', expected: identifier after ','"),
        ("a=b c", "found 'c', expected: ',' or 'end of string'"),
        ("=a", "found '=', expected: !, identifier, or 'end of string'"),
        ("a in (x y)", "found 'y', expected: ',' or ')'"),
        ("!", "unable to parse requirement: found '', expected: identifier"),
        ("a in ()", "values set can't be empty"),
    ],
)
def test_malformed_label_selectors_give_the_parser_message(
    text: str, message: str
) -> None:
    with pytest.raises(SelectorError) as caught:
        parse_label_selector(text)
    assert message in str(caught.value)


def test_invalid_key_is_reported_with_its_value() -> None:
    with pytest.raises(SelectorError) as caught:
        parse_label_selector("bad@key=x")
    text = str(caught.value)
    assert text.startswith('unable to parse requirement: key: Invalid value: "bad@key"')
    assert "name part must consist of alphanumeric characters" in text


def test_key_name_longer_than_63_characters_is_rejected() -> None:
    with pytest.raises(SelectorError, match="no more than 63 characters"):
        parse_label_selector("a" * 64)


def test_uppercase_prefix_is_not_a_dns_subdomain() -> None:
    with pytest.raises(
        SelectorError, match="prefix part a lowercase RFC 1123 subdomain"
    ):
        parse_label_selector("Example.com/app=x")


def test_key_with_two_slashes_is_rejected() -> None:
    with pytest.raises(SelectorError, match="a qualified name"):
        parse_label_selector("a/b/c")


def test_invalid_value_is_reported_with_its_index() -> None:
    with pytest.raises(SelectorError) as caught:
        parse_label_selector("app=-web")
    assert 'values[0]: Invalid value: "-web": a valid label must be' in str(
        caught.value
    )


def test_selector_error_is_a_value_error() -> None:
    assert issubclass(SelectorError, ValueError)


# ---------------------------------------------------------------- LabelSelector specs


def test_none_spec_selects_nothing() -> None:
    selector = label_selector_from_spec(None)
    assert selector.selects_nothing
    assert not selector.matches(WEB)
    assert not selector.matches({})
    assert not selector.empty()


def test_empty_spec_selects_everything() -> None:
    selector = label_selector_from_spec({})
    assert selector.empty()
    assert selector.matches(WEB)
    assert selector.matches(None)


def test_match_labels_and_expressions_are_all_required() -> None:
    selector = label_selector_from_spec(
        {
            "matchLabels": {"app": "web"},
            "matchExpressions": [
                {"key": "tier", "operator": "In", "values": ["frontend", "edge"]},
                {"key": "track", "operator": "NotIn", "values": ["canary"]},
                {"key": "app", "operator": "Exists"},
                {"key": "legacy", "operator": "DoesNotExist"},
            ],
        }
    )
    assert selector.matches(WEB)
    assert not selector.matches({**WEB, "legacy": "yes"})
    assert not selector.matches({**WEB, "tier": "backend"})
    assert not selector.matches({**WEB, "track": "canary"})


def test_unknown_expression_operator_is_rejected() -> None:
    with pytest.raises(
        SelectorError, match='"Gt" is not a valid label selector operator'
    ):
        label_selector_from_spec({"matchExpressions": [{"key": "a", "operator": "Gt"}]})


def test_exists_expression_with_values_is_rejected() -> None:
    with pytest.raises(SelectorError, match="must be empty"):
        label_selector_from_spec(
            {"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]}
        )


def test_scale_selector_string_form() -> None:
    spec = {
        "matchLabels": {"app": "web"},
        "matchExpressions": [{"key": "tier", "operator": "In", "values": ["b", "a"]}],
    }
    assert selector_spec_to_string(spec) == "app=web,tier in (a,b)"
    assert selector_spec_to_string({"matchLabels": {"z": "1", "a": "2"}}) == "a=2,z=1"
    assert selector_spec_to_string({}) == ""


def test_string_form_parses_back_to_the_same_selector() -> None:
    spec = {
        "matchLabels": {"app": "web"},
        "matchExpressions": [
            {"key": "tier", "operator": "NotIn", "values": ["x", "y"]},
            {"key": "gone", "operator": "DoesNotExist"},
        ],
    }
    original = label_selector_from_spec(spec)
    assert parse_label_selector(str(original)) == original


def test_selectors_compare_and_hash_by_requirements() -> None:
    assert parse_label_selector("a=1,b=2") == parse_label_selector("b=2,a=1")
    assert len({parse_label_selector("a=1"), parse_label_selector("a=1")}) == 1
    assert LabelSelector.nothing() != LabelSelector.everything()
    assert parse_label_selector("a=1") != "a=1"
    assert repr(LabelSelector.nothing()) == "LabelSelector.nothing()"
    assert repr(parse_label_selector("a=1")) == "LabelSelector('a=1')"


def test_service_with_no_selector_selects_no_pods() -> None:
    assert not service_selector(None).matches(WEB)
    assert not service_selector({}).matches(WEB)


def test_service_selector_matches_every_label() -> None:
    selector = service_selector({"app": "web", "tier": "frontend"})
    assert selector.matches(WEB)
    assert not selector.matches({"app": "web"})


def test_plain_label_map_becomes_equality_requirements() -> None:
    assert str(label_selector_from_set({"b": "2", "a": "1"})) == "a=1,b=2"
    assert label_selector_from_set({}).empty()


def test_format_labels_sorts_keys_or_says_none() -> None:
    assert format_labels({"b": "2", "a": "1"}) == "a=1,b=2"
    assert format_labels({}) == "<none>"
    assert format_labels(None) == "<none>"


# ---------------------------------------------------------------- field selectors

POD = {
    "metadata": {"name": "web-1", "namespace": "default"},
    "spec": {"nodeName": "worker-1", "restartPolicy": "Always"},
    "status": {
        "phase": "Running",
        "podIP": "10.244.1.5",
        "podIPs": [{"ip": "10.244.1.5"}],
    },
}


def test_field_selector_by_name_matches_one_object() -> None:
    selector = parse_field_selector("metadata.name=web-1", "Pod")
    assert selector.matches(POD)
    assert not selector.matches({"metadata": {"name": "web-2"}})


def test_describe_node_pod_query_excludes_terminal_pods() -> None:
    text = "spec.nodeName=worker-1,status.phase!=Failed,status.phase!=Succeeded"
    selector = parse_field_selector(text, "Pod")
    assert selector.matches(POD)
    assert not selector.matches({**POD, "status": {"phase": "Succeeded"}})
    assert not selector.matches({**POD, "spec": {"nodeName": "worker-2"}})


def test_double_equals_is_equality() -> None:
    assert parse_field_selector("status.podIP==10.244.1.5", "Pod").matches(POD)


def test_missing_field_compares_as_empty_string() -> None:
    unscheduled = {"metadata": {"name": "p"}, "spec": {}}
    assert parse_field_selector("spec.nodeName=", "Pod").matches(unscheduled)
    assert not parse_field_selector("spec.nodeName!=", "Pod").matches(unscheduled)


def test_boolean_fields_compare_as_true_or_false() -> None:
    cordoned = {"metadata": {"name": "n"}, "spec": {"unschedulable": True}}
    assert parse_field_selector("spec.unschedulable=true", "Node").matches(cordoned)
    assert parse_field_selector("spec.unschedulable=false", "Node").matches(
        {"spec": {}}
    )


def test_pod_ips_field_lists_every_ip() -> None:
    assert parse_field_selector("status.podIPs=10.244.1.5", "Pod").matches(POD)


def test_event_fields_used_by_kubectl_describe() -> None:
    event = {
        "metadata": {"name": "e", "namespace": "default"},
        "involvedObject": {
            "kind": "Pod",
            "name": "web-1",
            "namespace": "default",
            "uid": "u1",
        },
        "reason": "Scheduled",
        "type": "Normal",
        "source": {"component": "default-scheduler"},
        "reportingComponent": "default-scheduler",
    }
    text = (
        "involvedObject.name=web-1,involvedObject.namespace=default,"
        "involvedObject.uid=u1,reason=Scheduled,type=Normal,source=default-scheduler,"
        "reportingComponent=default-scheduler"
    )
    assert parse_field_selector(text, "Event").matches(event)
    assert not parse_field_selector("involvedObject.uid=u2", "Event").matches(event)


def test_namespace_phase_and_secret_type_fields() -> None:
    namespace = {"metadata": {"name": "x"}, "status": {"phase": "Terminating"}}
    secret = {"metadata": {"name": "s"}, "type": "kubernetes.io/tls"}
    assert parse_field_selector("status.phase=Terminating", "Namespace").matches(
        namespace
    )
    assert parse_field_selector("type=kubernetes.io/tls", "Secret").matches(secret)


def test_unsupported_field_label_is_rejected_with_the_upstream_message() -> None:
    with pytest.raises(SelectorError) as caught:
        parse_field_selector("spec.replicas=3", "Deployment")
    assert str(caught.value) == "field label not supported: spec.replicas"


def test_pod_field_is_not_supported_on_other_kinds() -> None:
    with pytest.raises(SelectorError, match="field label not supported: spec.nodeName"):
        parse_field_selector("spec.nodeName=x", "Service")


def test_every_kind_supports_name_and_namespace() -> None:
    for kind in ("Pod", "Deployment", "Node", "Anything"):
        assert {"metadata.name", "metadata.namespace"} <= set(supported_fields(kind))


def test_term_without_operator_cannot_be_understood() -> None:
    with pytest.raises(SelectorError) as caught:
        parse_field_selector("metadata.name", "Pod")
    assert str(caught.value) == (
        "invalid selector: 'metadata.name'; can't understand 'metadata.name'"
    )


def test_escaped_commas_and_equals_belong_to_the_value() -> None:
    selector = parse_field_selector(r"metadata.name=a\,b\=c", "Pod")
    assert selector.matches({"metadata": {"name": "a,b=c"}})
    assert str(selector) == r"metadata.name=a\,b\=c"


def test_unknown_escape_is_rejected() -> None:
    with pytest.raises(SelectorError, match="invalid escape sequence"):
        parse_field_selector(r"metadata.name=a\x", "Pod")


def test_empty_field_selector_matches_everything() -> None:
    selector = parse_field_selector(None, "Pod")
    assert isinstance(selector, FieldSelector)
    assert selector.empty()
    assert selector.matches({})


def test_value_for_reports_the_pinned_name_of_a_watch() -> None:
    selector = parse_field_selector("metadata.name=web,status.phase!=Failed", "Pod")
    assert selector.value_for("metadata.name") == "web"
    assert selector.value_for("status.phase") is None
    assert selector.value_for("spec.nodeName") is None
