"""What the SAML verifier refuses on top of signxml: oversized or DTD-bearing documents, signatures outside the profile.

Each signature here is genuine (made by signxml with the registered key). Where a refusal is ours,
the test first checks that signxml alone would accept the document, so no check here is redundant.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from lxml import etree
from signxml import CanonicalizationMethod, SignatureConfiguration, XMLSigner, XMLVerifier

from punchbridge.plugins.sap.saml import AssertionRefusedError, build_assertion, load_signing_key, verify_assertion
from punchbridge.testing.emulators.sap import TestCredentials

NOW = datetime(2025, 10, 6, 9, 0, tzinfo=UTC)
DSIG = "http://www.w3.org/2000/09/xmldsig#"
SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
CLAIMS = {"issuer": "www.successfactors.com", "audience": "www.successfactors.com", "client_id": "api-key-1"}


def _signed(credentials: TestCredentials) -> bytes:
    key = load_signing_key(credentials.key_pem, credentials.certificate_pem)
    return build_assertion(key, user_id="sfapi", recipient="https://sf.example/oauth/token", now=NOW, **CLAIMS)


def _verify(xml: bytes, credentials: TestCredentials) -> object:
    return verify_assertion(xml, credentials.certificate, now=NOW, **CLAIMS)


def _resigned(credentials: TestCredentials, *, c14n: CanonicalizationMethod, **sign: object) -> bytes:
    """The plugin's assertion with its signature made again by signxml with other options."""
    root = etree.fromstring(_signed(credentials))
    signature = root.find(f"{{{DSIG}}}Signature")
    assert signature is not None
    for child in list(signature):
        signature.remove(child)
    signature.set("Id", "placeholder")
    signer = XMLSigner(c14n_algorithm=c14n)
    signed = signer.sign(root, key=credentials.key_pem, cert=credentials.certificate_pem.decode(), **sign)  # type: ignore[arg-type]
    return etree.tostring(signed)


def _signxml_accepts(xml: bytes, credentials: TestCredentials) -> bool:
    config = SignatureConfiguration(location="./", verification_time=credentials.certificate.not_valid_before_utc)
    XMLVerifier().verify(xml, x509_cert=credentials.certificate, id_attribute="ID", expect_config=config)
    return True


def test_a_plugin_assertion_passes_the_profile(credentials: TestCredentials) -> None:
    assert _verify(_signed(credentials), credentials)


def test_inclusive_canonicalization_is_refused_though_the_signature_is_genuine(credentials: TestCredentials) -> None:
    xml = _resigned(credentials, c14n=CanonicalizationMethod.CANONICAL_XML_1_1, id_attribute="ID")
    assert _signxml_accepts(xml, credentials)
    with pytest.raises(AssertionRefusedError, match=r"CanonicalizationMethod must be .*xml-exc-c14n#, not"):
        _verify(xml, credentials)


def test_a_reference_without_the_c14n_transform_is_refused(credentials: TestCredentials) -> None:
    xml = _resigned(
        credentials,
        c14n=CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0,
        id_attribute="ID",
        exclude_c14n_transform_element=True,
    )
    assert _signxml_accepts(xml, credentials)
    with pytest.raises(AssertionRefusedError, match="transforms must be enveloped-signature, then exclusive c14n"):
        _verify(xml, credentials)


def test_a_signature_covering_only_the_issuer_is_refused(credentials: TestCredentials) -> None:
    """Signed, but not the claims: the Reference must point at the assertion's own ID."""
    root = etree.fromstring(_signed(credentials))
    issuer = root.find(f"{{{SAML}}}Issuer")
    assert issuer is not None
    issuer.set("ID", "_issuer")
    signature = root.find(f"{{{DSIG}}}Signature")
    assert signature is not None
    root.remove(signature)
    signer = XMLSigner(c14n_algorithm=CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0)
    signed = signer.sign(
        root, key=credentials.key_pem, cert=credentials.certificate_pem.decode(), reference_uri="#_issuer",
        id_attribute="ID",
    )  # fmt: skip
    xml = etree.tostring(signed)
    assert _signxml_accepts(xml, credentials)
    with pytest.raises(AssertionRefusedError, match="does not point at the assertion's own ID"):
        _verify(xml, credentials)


def test_an_inclusive_namespaces_prefix_list_is_still_refused(credentials: TestCredentials) -> None:
    """No longer by our code: signxml's XML-DSig schema check has no declaration for InclusiveNamespaces."""
    xml = _resigned(
        credentials,
        c14n=CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0,
        id_attribute="ID",
        inclusive_ns_prefixes=["saml2"],
    )
    assert b"PrefixList" in xml
    with pytest.raises(AssertionRefusedError, match=r"signature is not usable.*InclusiveNamespaces"):
        _verify(xml, credentials)


def test_an_oversized_document_is_refused_before_parsing(credentials: TestCredentials) -> None:
    padded = _signed(credentials).replace(b"</saml2:Assertion>", b"<!--" + b"x" * 70_000 + b"--></saml2:Assertion>")
    with pytest.raises(AssertionRefusedError, match="more than the 65536 accepted"):
        _verify(padded, credentials)


@pytest.mark.parametrize(
    "prologue",
    [
        b'<!DOCTYPE saml2:Assertion SYSTEM "file:///etc/passwd">',
        b'<!DOCTYPE a [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>',
        b"<!doctype a>",
    ],
    ids=["external", "entities", "lowercase"],
)
def test_a_doctype_is_refused_before_any_parser_sees_it(credentials: TestCredentials, prologue: bytes) -> None:
    with pytest.raises(AssertionRefusedError, match="DOCTYPE or an entity declaration"):
        _verify(prologue + _signed(credentials), credentials)


def test_broken_xml_is_refused_saying_it_does_not_parse(credentials: TestCredentials) -> None:
    with pytest.raises(AssertionRefusedError, match="does not parse"):
        _verify(_signed(credentials)[:-5], credentials)
