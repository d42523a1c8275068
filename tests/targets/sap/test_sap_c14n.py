"""Exclusive XML canonicalization: the cases of the W3C recommendation a signed SAML assertion meets."""

from __future__ import annotations

import pytest

from punchbridge.plugins.sap.c14n import XmlRefused, canonicalize, parse_xml


def _c14n(xml: str, path: tuple[int, ...] = (), exclude: tuple[int, ...] | None = None) -> str:
    document = parse_xml(xml.encode())

    def walk(steps: tuple[int, ...]) -> object:
        node = document.documentElement
        for step in steps:
            node = [child for child in node.childNodes if child.nodeType == child.ELEMENT_NODE][step]
        return node

    excluded = walk(exclude) if exclude is not None else None
    return canonicalize(walk(path), exclude=excluded).decode()  # type: ignore[arg-type]


def test_a_subtree_declares_only_the_namespaces_it_uses_sorted() -> None:
    xml = '<a:root xmlns:a="urn:a" xmlns:b="urn:b" xmlns:unused="urn:u"><b:child z="1" a:y="2" x="3"/></a:root>'
    assert _c14n(xml, (0,)) == '<b:child xmlns:a="urn:a" xmlns:b="urn:b" x="3" z="1" a:y="2"></b:child>'


def test_a_namespace_already_declared_by_an_output_ancestor_is_not_repeated() -> None:
    xml = '<a:r xmlns:a="urn:a"><a:c xmlns:a="urn:a"><a:d/></a:c></a:r>'
    assert _c14n(xml) == '<a:r xmlns:a="urn:a"><a:c><a:d></a:d></a:c></a:r>'


def test_a_redeclared_prefix_is_declared_again() -> None:
    xml = '<a:r xmlns:a="urn:a"><a:c xmlns:a="urn:other"/></a:r>'
    assert _c14n(xml) == '<a:r xmlns:a="urn:a"><a:c xmlns:a="urn:other"></a:c></a:r>'


def test_the_default_namespace_is_undeclared_where_a_child_leaves_it() -> None:
    xml = '<root xmlns="urn:d"><inner xmlns=""><leaf/></inner></root>'
    assert _c14n(xml) == '<root xmlns="urn:d"><inner xmlns=""><leaf></leaf></inner></root>'


def test_text_and_attributes_are_escaped_canonically_and_comments_dropped() -> None:
    xml = '<e b="&quot;&#9;&#10;x" a="&lt;&gt;">1 &lt; 2 &amp;&#13; 3 &gt; 2<!-- note --><![CDATA[<x>]]></e>'
    assert _c14n(xml) == '<e a="&lt;>" b="&quot;&#x9;&#xA;x">1 &lt; 2 &amp;&#xD; 3 &gt; 2&lt;x&gt;</e>'


def test_an_excluded_subtree_leaves_no_trace_but_whitespace_around_it_stays() -> None:
    xml = '<r xmlns:s="urn:s">\n  <s:sig><s:v>1</s:v></s:sig>\n  <k/>\n</r>'
    assert _c14n(xml, exclude=(0,)) == "<r>\n  \n  <k></k>\n</r>"


def test_a_doctype_and_broken_xml_are_refused() -> None:
    with pytest.raises(XmlRefused, match="DOCTYPE"):
        parse_xml(b'<!DOCTYPE r [<!ENTITY e "x">]><r>&e;</r>')
    with pytest.raises(XmlRefused, match="does not parse"):
        parse_xml(b"<r><unclosed></r>")
    with pytest.raises(XmlRefused, match="more than"):
        parse_xml(b"<r>" + b"x" * 70_000 + b"</r>")
