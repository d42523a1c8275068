"""SAML bearer assertions: what the plugin signs verifies against the registered certificate, nothing else does.

The verifier is the one the SuccessFactors emulator uses. Where `xmlsec1` (libxmlsec1, the reference
XML-DSig implementation) is installed, it checks our signatures and we check its, so the canonical
form is not only consistent with itself.
"""

from __future__ import annotations

import base64
import hashlib
import re
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from punchbridge.plugins.sap.saml import AssertionRefusedError, build_assertion, load_signing_key, verify_assertion
from punchbridge.testing.emulators.sap import TestCredentials, make_credentials

NOW = datetime(2025, 10, 6, 9, 0, tzinfo=UTC)
CLAIMS = {
    "issuer": "www.successfactors.com",
    "audience": "www.successfactors.com",
    "client_id": "NzE2ZjQ3YTktY2xpZW50",
    "recipient": "https://api4.successfactors.com/oauth/token",
}


def _sign(credentials: TestCredentials, **overrides: object) -> bytes:
    key = load_signing_key(credentials.key_pem, credentials.certificate_pem)
    claims: dict[str, object] = {"user_id": "sfapi", "now": NOW, **CLAIMS}
    claims.update(overrides)
    return build_assertion(key, **claims)  # type: ignore[arg-type]


def _verify(xml: bytes, credentials: TestCredentials, now: datetime = NOW, **expected: str) -> object:
    wanted = {**CLAIMS, **expected}
    return verify_assertion(
        xml,
        credentials.certificate,
        issuer=wanted["issuer"],
        audience=wanted["audience"],
        client_id=wanted["client_id"],
        recipient=wanted["recipient"],
        now=now,
    )


def test_a_signed_assertion_verifies_against_the_registered_certificate(credentials: TestCredentials) -> None:
    claims = _verify(_sign(credentials), credentials)
    assert claims.user_id == "sfapi"  # type: ignore[attr-defined]
    assert claims.not_on_or_after == NOW + timedelta(minutes=10)  # type: ignore[attr-defined]


def test_hostile_values_are_escaped_and_still_verify(credentials: TestCredentials) -> None:
    user = 'o\'brien & <sons> "ltd"\t\r'
    claims = _verify(_sign(credentials, user_id=user), credentials)
    assert claims.user_id == user.strip()  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("original", "forged"),
    [(b"sfapi", b"admin"), (b"NzE2ZjQ3YTktY2xpZW50", b"NzE2ZjQ3YTktY2xpZW51")],
    ids=["user", "api_key"],
)
def test_a_tampered_assertion_is_refused(credentials: TestCredentials, original: bytes, forged: bytes) -> None:
    xml = _sign(credentials).replace(original, forged)
    expected = {"client_id": forged.decode()} if original.startswith(b"NzE") else {}
    with pytest.raises(AssertionRefusedError, match="changed after it was signed"):
        _verify(xml, credentials, **expected)


def test_an_assertion_with_a_forged_digest_is_refused_by_the_signature(credentials: TestCredentials) -> None:
    xml = _sign(credentials).replace(b"sfapi", b"admin")
    unsigned = re.sub(rb"<ds:Signature .*</ds:Signature>", b"", xml)
    digest = base64.b64encode(hashlib.sha256(unsigned).digest())
    forged = re.sub(
        rb"<ds:DigestValue>[^<]*</ds:DigestValue>", b"<ds:DigestValue>" + digest + b"</ds:DigestValue>", xml
    )
    with pytest.raises(AssertionRefusedError, match="does not verify with the client's registered certificate"):
        _verify(forged, credentials)


def test_an_assertion_signed_by_another_key_is_refused_even_with_its_own_certificate_inside(
    credentials: TestCredentials, stranger: TestCredentials
) -> None:
    xml = _sign(stranger)
    carried = xml.split(b"<ds:X509Certificate>")[1].split(b"<")[0].decode()
    assert carried == load_signing_key(stranger.key_pem, stranger.certificate_pem).certificate_base64
    with pytest.raises(AssertionRefusedError, match="does not verify"):
        _verify(xml, credentials)


def test_an_expired_assertion_is_refused(credentials: TestCredentials) -> None:
    xml = _sign(credentials, lifetime=timedelta(minutes=5))
    assert _verify(xml, credentials, now=NOW + timedelta(minutes=5))  # within the minute of clock skew
    with pytest.raises(AssertionRefusedError, match="expired at 2025-10-06T09:05:00Z"):
        _verify(xml, credentials, now=NOW + timedelta(minutes=6, seconds=1))


def test_an_assertion_from_the_future_is_refused(credentials: TestCredentials) -> None:
    with pytest.raises(AssertionRefusedError, match="not valid before"):
        _verify(_sign(credentials), credentials, now=NOW - timedelta(minutes=10))


@pytest.mark.parametrize(
    ("claim", "value", "message"),
    [
        ("audience", "www.example.com", "audience"),
        ("issuer", "evil.example.com", "issuer"),
        ("client_id", "another-client", "api_key attribute"),
        ("recipient", "https://evil.example.com/oauth/token", "recipient"),
    ],
)
def test_a_wrong_claim_is_refused(credentials: TestCredentials, claim: str, value: str, message: str) -> None:
    with pytest.raises(AssertionRefusedError, match=message):
        _verify(_sign(credentials, **{claim: value}), credentials)


def test_a_signed_assertion_wrapped_inside_a_forged_one_is_refused(credentials: TestCredentials) -> None:
    """Signature wrapping: the genuine signed assertion rides inside a forged, unsigned one."""
    genuine = _sign(credentials)
    forged = re.sub(rb"<ds:Signature .*</ds:Signature>", b"", genuine).replace(b"sfapi", b"admin")
    forged = re.sub(rb'ID="_[0-9a-f]+"', b'ID="_forged"', forged, count=1)
    wrapped = forged.replace(b"</saml2:AttributeStatement>", b"</saml2:AttributeStatement>" + genuine, 1)
    with pytest.raises(AssertionRefusedError, match="exactly one Signature"):
        _verify(wrapped, credentials)


def test_two_signatures_are_refused(credentials: TestCredentials) -> None:
    genuine = _sign(credentials)
    signature = genuine[genuine.index(b"<ds:Signature ") : genuine.index(b"</ds:Signature>") + 15]
    doubled = genuine.replace(b"</saml2:Subject>", signature + b"</saml2:Subject>", 1)
    with pytest.raises(AssertionRefusedError, match="more than one Signature"):
        _verify(doubled, credentials)


def test_a_doctype_is_refused_before_parsing(credentials: TestCredentials) -> None:
    bomb = b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x "xx">]>' + _sign(credentials).split(b"?>")[-1]
    with pytest.raises(AssertionRefusedError, match="DOCTYPE"):
        _verify(bomb, credentials)


@pytest.mark.parametrize("junk", [b"", b"not xml", b"<html><body>login</body></html>", b"\xff\xfe<a/>"])
def test_junk_is_refused_with_a_reason(credentials: TestCredentials, junk: bytes) -> None:
    with pytest.raises(AssertionRefusedError):
        _verify(junk, credentials)


def test_a_key_that_does_not_match_its_certificate_is_refused_when_loading(
    credentials: TestCredentials, stranger: TestCredentials
) -> None:
    with pytest.raises(ValueError, match="does not belong to the private key"):
        load_signing_key(credentials.key_pem, stranger.certificate_pem)
    with pytest.raises(ValueError, match="not a PEM private key") as refused:
        load_signing_key(b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", credentials.certificate_pem)
    assert "AAAA" not in str(refused.value)


# -- interoperability with libxmlsec1 -------------------------------------------------------------------

XMLSEC = shutil.which("xmlsec1")
needs_xmlsec = pytest.mark.skipif(XMLSEC is None, reason="xmlsec1 (libxmlsec1's command line) is not installed")
ID_ATTR = ["--id-attr:ID", "urn:oasis:names:tc:SAML:2.0:assertion:Assertion"]


def _xmlsec(*args: str) -> subprocess.CompletedProcess[str]:
    assert XMLSEC is not None
    return subprocess.run([XMLSEC, *args], capture_output=True, text=True, timeout=60, check=False)


@needs_xmlsec
def test_xmlsec1_verifies_what_the_plugin_signs_and_refuses_it_tampered(
    credentials: TestCredentials, tmp_path: Path
) -> None:
    certificate = tmp_path / "cert.pem"
    certificate.write_bytes(credentials.certificate_pem)
    signed, tampered = tmp_path / "signed.xml", tmp_path / "tampered.xml"
    signed.write_bytes(_sign(credentials))
    tampered.write_bytes(_sign(credentials).replace(b"sfapi", b"admin"))
    assert _xmlsec("--verify", "--pubkey-cert-pem", str(certificate), *ID_ATTR, str(signed)).returncode == 0
    assert _xmlsec("--verify", "--pubkey-cert-pem", str(certificate), *ID_ATTR, str(tampered)).returncode != 0


@needs_xmlsec
def test_the_verifier_accepts_an_assertion_xmlsec1_signed_in_another_layout(
    credentials: TestCredentials, tmp_path: Path
) -> None:
    """Default namespaces, indentation, unsorted attributes, an unused declaration, CDATA, an entity."""
    times = {
        "now": "2025-10-06T09:00:00Z",
        "before": "2025-10-06T08:59:00Z",
        "after": "2025-10-06T09:05:00Z",
    }
    template = f"""<?xml version="1.0"?>
<Assertion xmlns="urn:oasis:names:tc:SAML:2.0:assertion" Version="2.0" IssueInstant="{times["now"]}" ID="_abc">
  <Issuer>www.successfactors.com</Issuer>
  <Signature xmlns="http://www.w3.org/2000/09/xmldsig#">
    <SignedInfo>
      <CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>
      <SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>
      <Reference URI="#_abc">
        <Transforms>
          <Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>
          <Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>
        </Transforms>
        <DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/>
        <DigestValue/>
      </Reference>
    </SignedInfo>
    <SignatureValue/>
  </Signature>
  <Subject xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
    <NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified">sfapi &amp; co</NameID>
    <SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">
      <SubjectConfirmationData Recipient="{CLAIMS["recipient"]}" NotOnOrAfter="{times["after"]}"/>
    </SubjectConfirmation>
  </Subject>
  <Conditions NotOnOrAfter="{times["after"]}" NotBefore="{times["before"]}">
    <AudienceRestriction><Audience>www.successfactors.com</Audience></AudienceRestriction>
  </Conditions>
  <AttributeStatement xmlns:x="urn:unused">
    <Attribute Name="api_key"><AttributeValue><![CDATA[{CLAIMS["client_id"]}]]></AttributeValue></Attribute>
  </AttributeStatement>
</Assertion>
"""
    (tmp_path / "key.pem").write_bytes(credentials.key_pem)
    (tmp_path / "template.xml").write_text(template)
    signed = tmp_path / "signed.xml"
    made = _xmlsec("--sign", "--privkey-pem", str(tmp_path / "key.pem"), *ID_ATTR, "--output", str(signed),
                   str(tmp_path / "template.xml"))  # fmt: skip
    assert made.returncode == 0, made.stderr
    claims = _verify(signed.read_bytes(), credentials)
    assert claims.user_id == "sfapi & co"  # type: ignore[attr-defined]
    with pytest.raises(AssertionRefusedError, match="changed after it was signed"):
        _verify(signed.read_bytes().replace(b"sfapi &amp; co", b"admin"), credentials)


def test_generated_credentials_are_fresh_each_time() -> None:
    assert make_credentials().key_pem != make_credentials().key_pem
