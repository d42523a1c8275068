"""Exclusive XML Canonicalization 1.0 (without comments) of one element, on the standard library's DOM.

XML-DSig signs the canonical bytes of a document, not its text, so that re-serialising it (attribute
order, namespace declarations, `<a/>` against `<a></a>`, character references) does not break the
signature. SAML-bearer assertions use the exclusive form (`http://www.w3.org/2001/10/xml-exc-c14n#`):
an element declares only the namespaces it or its attributes visibly use, so the assertion can be
moved into another document and still verify.

Python's standard library has C14N 2.0 (`xml.etree.ElementTree.canonicalize`) but not exclusive
C14N 1.0, and ElementTree forgets namespace prefixes, which c14n needs; `xml.dom.minidom` keeps them.
This module implements the parts of the W3C recommendation a signed SAML assertion needs: elements,
attributes, namespace declarations (rendered where visibly utilised, sorted), text and CDATA
(escaped), processing instructions; comments dropped; one subtree may be left out (the enveloped
signature). An `InclusiveNamespaces PrefixList` is not supported: the verifier refuses a signature
that asks for one. Documents with a DOCTYPE are refused before parsing (no entity tricks).
"""

from __future__ import annotations

from xml.dom import minidom
from xml.parsers.expat import ExpatError

__all__ = ["EXC_C14N", "XmlRefused", "attribute_text", "canonicalize", "parse_xml", "text"]

EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
_XMLNS = "http://www.w3.org/2000/xmlns/"


class XmlRefused(ValueError):
    """The text is not XML this module accepts (malformed, a DOCTYPE, too large)."""


def parse_xml(text: bytes, *, max_bytes: int = 64 * 1024) -> minidom.Document:
    """Parse `text` with namespaces, refusing a DOCTYPE (entity expansion) and anything over `max_bytes`."""
    if len(text) > max_bytes:
        raise XmlRefused(f"the XML is {len(text)} bytes, more than the {max_bytes} accepted")
    if b"<!DOCTYPE" in text.upper() or b"<!ENTITY" in text.upper():
        raise XmlRefused("the XML has a DOCTYPE or an entity declaration, which is not accepted")
    try:
        return minidom.parseString(text)
    except (ExpatError, ValueError) as exc:
        raise XmlRefused(f"the XML does not parse: {exc}") from None


def canonicalize(element: minidom.Element, *, exclude: minidom.Element | None = None) -> bytes:
    """The exclusive canonical form (UTF-8) of `element` and its descendants, leaving out `exclude`."""
    parts: list[str] = []
    _element(element, _in_scope(element.parentNode), {"": ""}, exclude, parts)
    return "".join(parts).encode("utf-8")


def _in_scope(node: object) -> dict[str, str]:
    """The namespace declarations in scope at `node` (prefix -> URI; "" is the default namespace)."""
    chain = []
    while isinstance(node, minidom.Element):
        chain.append(node)
        node = node.parentNode
    scope: dict[str, str] = {}
    for ancestor in reversed(chain):
        scope.update(_declared(ancestor))
    return scope


def _attributes(element: minidom.Element) -> list[minidom.Attr]:
    found = [element.attributes.item(index) for index in range(element.attributes.length)]
    return [attribute for attribute in found if isinstance(attribute, minidom.Attr)]


def _declared(element: minidom.Element) -> dict[str, str]:
    declared: dict[str, str] = {}
    for attribute in _attributes(element):
        if attribute.namespaceURI == _XMLNS:
            prefix = "" if attribute.name == "xmlns" else str(attribute.localName)
            declared[prefix] = attribute.value or ""
    return declared


def _element(
    element: minidom.Element,
    outer_scope: dict[str, str],
    rendered: dict[str, str],
    exclude: minidom.Element | None,
    parts: list[str],
) -> None:
    scope = {**outer_scope, **_declared(element)}
    attributes: list[tuple[str, str, str, str]] = []
    used = {element.prefix or ""}
    for attribute in _attributes(element):
        if attribute.namespaceURI == _XMLNS:
            continue
        if attribute.prefix:
            used.add(attribute.prefix)
        uri = attribute.namespaceURI or ""
        attributes.append((uri, str(attribute.localName), attribute.name, attribute.value or ""))
    declarations = []
    now_rendered = dict(rendered)
    for prefix in sorted(used):
        if prefix == "xml":
            continue
        uri = scope.get(prefix, "")
        if rendered.get(prefix) != uri:
            declarations.append(("xmlns" if not prefix else f"xmlns:{prefix}", uri))
            now_rendered[prefix] = uri
    parts.append(f"<{element.tagName}")
    for name, uri in declarations:
        parts.append(f' {name}="{attribute_text(uri)}"')
    for _, _, name, value in sorted(attributes):
        parts.append(f' {name}="{attribute_text(value)}"')
    parts.append(">")
    for child in element.childNodes:
        if isinstance(child, minidom.Element):
            if child is not exclude:
                _element(child, scope, now_rendered, exclude, parts)
        elif isinstance(child, minidom.Text):  # CDATASection is a Text
            parts.append(text(child.data))
        elif isinstance(child, minidom.ProcessingInstruction):
            parts.append(f"<?{child.target}" + (f" {child.data}" if child.data else "") + "?>")
    parts.append(f"</{element.tagName}>")


def text(value: str) -> str:
    """`value` escaped as canonical XML character data."""
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#xD;")


def attribute_text(value: str) -> str:
    """`value` escaped as a canonical XML attribute value (inside double quotes)."""
    return (
        value.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace('"', "&quot;")
        .replace("\t", "&#x9;")
        .replace("\n", "&#xA;")
        .replace("\r", "&#xD;")
    )
