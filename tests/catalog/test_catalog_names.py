"""Identifier rules: what a name may be, and that no accepted name can leave the warehouse."""

from __future__ import annotations

import os
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from catalog import InvalidName, TableIdent, parse_namespace, parse_table_name
from lakehouse.errors import LakehouseError


@pytest.mark.parametrize(
    "name,expected",
    [
        ("orders", ("main", "orders")),
        ("Sales.Orders", ("sales", "orders")),
        ("_x1._Y2", ("_x1", "_y2")),
        (("SALES", "orders"), ("sales", "orders")),
        (["orders"], ("main", "orders")),
        ("a" * 255, ("main", "a" * 255)),
    ],
)
def test_valid_table_names(name, expected):
    ident = parse_table_name(name)
    assert ident == TableIdent(*expected)
    assert ident.qualified == ".".join(expected) and ident.path == "/".join(expected)


@pytest.mark.parametrize(
    "name,reason",
    [
        ("../x", "path separator"),
        ("a/b", "path separator"),
        ("a\\b", "path separator"),
        ("/abs", "looks like a path"),
        ("C:\\x", "looks like a path"),
        ("s3://b/k", "looks like a path"),
        ("..", r"'\.\.'"),
        ("a..b", r"'\.\.'"),
        ("x\x00", "NUL"),
        ("", "empty part"),
        ("sales.", "empty part"),
        (".orders", "empty part"),
        ("a.b.c", "3 parts"),
        ("1abc", "'1abc' is not an identifier"),
        ("a-b", "'a-b' is not an identifier"),
        ("é", "'é' is not an identifier"),
        (" orders", "not an identifier"),
        ("a" * 256, "longer than 255"),
        ("_DELTA_LOG", "reserved"),
        (("a", "b/c"), "path separator"),
        ((), "expected a string"),
        (42, "expected a string"),
    ],
)
def test_invalid_table_names(name, reason):
    with pytest.raises(InvalidName, match=reason) as info:
        parse_table_name(name)
    assert isinstance(info.value, ValueError) and isinstance(info.value, LakehouseError)
    assert "invalid table name" in str(info.value)


def test_namespace_names():
    assert parse_namespace("Sales") == "sales"
    assert parse_namespace(("hr",)) == "hr"
    with pytest.raises(InvalidName, match="a namespace is one identifier"):
        parse_namespace("a.b")
    with pytest.raises(InvalidName, match="path separator"):
        parse_namespace("../etc")


@given(st.one_of(st.text(alphabet="ab_.-/\\\x00:1Z ", max_size=12), st.text(max_size=8)))
def test_accepted_names_stay_inside_the_warehouse(text):
    try:
        ident = parse_table_name(text)
    except InvalidName:
        return
    for part in ident:
        assert re.fullmatch(r"[a-z_][a-z0-9_]*", part), ident
    warehouse = "/srv/warehouse"
    resolved = os.path.normpath(os.path.join(warehouse, ident.path))
    assert resolved.startswith(warehouse + "/") and resolved.count("/") == warehouse.count("/") + 2
    assert parse_table_name(ident.qualified) == ident  # the qualified form is a fixed point
