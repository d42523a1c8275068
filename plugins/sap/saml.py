"""SAML 2.0 bearer assertions for SAP SuccessFactors' OAuth token endpoint: made, signed and verified.

SuccessFactors' SAML-bearer grant takes an assertion signed with the private key whose X.509
certificate is registered for the OAuth client (the deprecated `/oauth/idp` would sign it on SAP's
side with the key sent over the wire; punchbridge never does that). The assertion names the
SuccessFactors user the API acts as (`NameID`), the audience (`www.successfactors.com` by default),
the token URL as `Recipient`, and the client's API key as the attribute `api_key`; it is valid for
a few minutes.

The signature is a real XML-DSig enveloped signature: RSA-SHA256 over the exclusive canonical form
(`xml-exc-c14n#`) of `SignedInfo`, whose one `Reference` to the assertion's `ID` carries the SHA-256
digest of the assertion's exclusive canonical form without the signature. `build_assertion` writes
the XML directly in canonical form (sorted attributes, one namespace declaration on the root,
explicit end tags, canonical escaping), so what it digests is exactly what a verifier computes after
parsing; `verify_assertion` checks that independently through `punchbridge.plugins.sap.c14n`, and
is what the emulator in `punchbridge.testing.emulators.sap` uses. A verifier refuses anything unusual rather
than trying to understand it: a second signature, one not on the assertion itself (signature
wrapping), other algorithms or transforms, a DOCTYPE.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from xml.dom import Node, minidom

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from punchbridge.plugins.sap.c14n import EXC_C14N, XmlRefused, attribute_text, canonicalize, parse_xml, text

__all__ = [
    "AssertionClaims",
    "AssertionRefused",
    "SigningKey",
    "build_assertion",
    "load_signing_key",
    "verify_assertion",
]

SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
DSIG = "http://www.w3.org/2000/09/xmldsig#"
RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
BEARER = "urn:oasis:names:tc:SAML:2.0:cm:bearer"
UNSPECIFIED = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"
PASSWORD_TRANSPORT = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
#: Clock difference between the signer and SuccessFactors that a verifier tolerates.
CLOCK_SKEW = timedelta(seconds=60)


@dataclass(frozen=True)
class SigningKey:
    """An RSA private key and the X.509 certificate registered for it in SuccessFactors."""

    private_key: rsa.RSAPrivateKey
    certificate: x509.Certificate

    @property
    def certificate_base64(self) -> str:
        """The certificate's DER bytes in base64, as `X509Certificate` carries it."""
        return base64.b64encode(self.certificate.public_bytes(serialization.Encoding.DER)).decode("ascii")


def load_signing_key(key_pem: bytes, certificate_pem: bytes, password: bytes | None = None) -> SigningKey:
    """The signing key from PEM bytes; ValueError (never quoting the key) when they do not fit together."""
    try:
        private_key = serialization.load_pem_private_key(key_pem, password=password)
    except TypeError:
        raise ValueError("the private key is encrypted: give its password (private_key_password)") from None
    except ValueError:
        raise ValueError("the private key is not a PEM private key (or its password is wrong)") from None
    if not isinstance(private_key, rsa.RSAPrivateKey):
        raise ValueError(
            f"the private key is {type(private_key).__name__.removeprefix('_')}; SAML RSA-SHA256 needs RSA"
        )
    try:
        certificate = x509.load_pem_x509_certificate(certificate_pem)
    except ValueError:
        raise ValueError("the certificate is not a PEM X.509 certificate") from None
    public = certificate.public_key()
    if not isinstance(public, rsa.RSAPublicKey) or public.public_numbers() != private_key.public_key().public_numbers():
        raise ValueError("the certificate does not belong to the private key (their public keys differ)")
    return SigningKey(private_key, certificate)


def _instant(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def build_assertion(
    key: SigningKey,
    *,
    issuer: str,
    user_id: str,
    client_id: str,
    audience: str,
    recipient: str,
    now: datetime,
    lifetime: timedelta = timedelta(minutes=10),
) -> bytes:
    """A signed SAML 2.0 assertion (UTF-8 XML) for the SAML-bearer grant (see the module docstring)."""
    assertion_id = "_" + secrets.token_hex(16)
    issued, expires = _instant(now), _instant(now + lifetime)
    not_before = _instant(now - CLOCK_SKEW)

    def element(name: str, content: str = "", **attributes: str) -> str:
        rendered = "".join(f' {k}="{attribute_text(v)}"' for k, v in sorted(attributes.items()))
        return f"<saml2:{name}{rendered}>{content}</saml2:{name}>"

    subject = element(
        "Subject",
        element("NameID", text(user_id), Format=UNSPECIFIED)
        + element(
            "SubjectConfirmation",
            element("SubjectConfirmationData", NotOnOrAfter=expires, Recipient=recipient),
            Method=BEARER,
        ),
    )
    conditions = element(
        "Conditions",
        element("AudienceRestriction", element("Audience", text(audience))),
        NotBefore=not_before,
        NotOnOrAfter=expires,
    )
    authn = element(
        "AuthnStatement",
        element("AuthnContext", element("AuthnContextClassRef", PASSWORD_TRANSPORT)),
        AuthnInstant=issued,
        SessionIndex=assertion_id,
    )
    attributes = element(
        "AttributeStatement", element("Attribute", element("AttributeValue", text(client_id)), Name="api_key")
    )
    issuer_element = element("Issuer", text(issuer))
    body = subject + conditions + authn + attributes
    root = f'<saml2:Assertion xmlns:saml2="{SAML}" ID="{assertion_id}" IssueInstant="{issued}" Version="2.0">'
    unsigned = f"{root}{issuer_element}{body}</saml2:Assertion>".encode()
    digest = base64.b64encode(hashlib.sha256(unsigned).digest()).decode("ascii")
    signed_info = (
        f'<ds:CanonicalizationMethod Algorithm="{EXC_C14N}"></ds:CanonicalizationMethod>'
        f'<ds:SignatureMethod Algorithm="{RSA_SHA256}"></ds:SignatureMethod>'
        f'<ds:Reference URI="#{assertion_id}"><ds:Transforms>'
        f'<ds:Transform Algorithm="{ENVELOPED}"></ds:Transform>'
        f'<ds:Transform Algorithm="{EXC_C14N}"></ds:Transform></ds:Transforms>'
        f'<ds:DigestMethod Algorithm="{SHA256}"></ds:DigestMethod>'
        f"<ds:DigestValue>{digest}</ds:DigestValue></ds:Reference>"
    )
    # Canonicalised on its own, SignedInfo declares the ds namespace it inherits in the document.
    canonical_signed_info = f'<ds:SignedInfo xmlns:ds="{DSIG}">{signed_info}</ds:SignedInfo>'.encode()
    signature_value = key.private_key.sign(canonical_signed_info, padding.PKCS1v15(), hashes.SHA256())
    signature = (
        f'<ds:Signature xmlns:ds="{DSIG}"><ds:SignedInfo>{signed_info}</ds:SignedInfo>'
        f"<ds:SignatureValue>{base64.b64encode(signature_value).decode('ascii')}</ds:SignatureValue>"
        f"<ds:KeyInfo><ds:X509Data><ds:X509Certificate>{key.certificate_base64}</ds:X509Certificate>"
        "</ds:X509Data></ds:KeyInfo></ds:Signature>"
    )
    return f"{root}{issuer_element}{signature}{body}</saml2:Assertion>".encode()


# -- verifying ----------------------------------------------------------------------------------------


class AssertionRefused(ValueError):
    """The assertion is not one SuccessFactors would accept; the text says why (no key material)."""


@dataclass(frozen=True)
class AssertionClaims:
    """What a verified assertion says."""

    issuer: str
    user_id: str
    client_id: str
    audience: str
    recipient: str
    not_on_or_after: datetime


def _children(element: minidom.Element, namespace: str, name: str) -> list[minidom.Element]:
    return [
        child
        for child in element.childNodes
        if isinstance(child, minidom.Element) and child.namespaceURI == namespace and child.localName == name
    ]


def _one(element: minidom.Element, namespace: str, name: str, where: str) -> minidom.Element:
    found = _children(element, namespace, name)
    if len(found) != 1:
        raise AssertionRefused(f"{where} must have exactly one {name} (found {len(found)})")
    return found[0]


def _content(element: minidom.Element) -> str:
    return "".join(
        child.data for child in element.childNodes if child.nodeType in (Node.TEXT_NODE, Node.CDATA_SECTION_NODE)
    ).strip()


def _time(value: str, name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise AssertionRefused(f"{name} {value!r} is not an xs:dateTime") from None
    if moment.tzinfo is None:
        raise AssertionRefused(f"{name} {value!r} has no time zone (SAML times are UTC, ending in Z)")
    return moment


def _algorithm(element: minidom.Element, namespace: str, name: str, expected: str, where: str) -> minidom.Element:
    found = _one(element, namespace, name, where)
    if found.getAttribute("Algorithm") != expected:
        raise AssertionRefused(f"{name} must be {expected}, not {found.getAttribute('Algorithm')!r}")
    if any(child.nodeType == Node.ELEMENT_NODE for child in found.childNodes):
        raise AssertionRefused(f"{name} takes no parameters (an InclusiveNamespaces list is not accepted)")
    return found


def _b64(value: str, name: str) -> bytes:
    try:
        return base64.b64decode("".join(value.split()), validate=True)
    except (binascii.Error, ValueError):
        raise AssertionRefused(f"{name} is not base64") from None


def _check_signature(root: minidom.Element, certificate: x509.Certificate) -> None:
    """Check the one enveloped signature on `root` against `certificate` (AssertionRefused if not)."""
    everywhere = root.getElementsByTagNameNS(DSIG, "Signature")
    signature = _one(root, DSIG, "Signature", "the Assertion")
    if len(everywhere) != 1:
        raise AssertionRefused("the assertion holds more than one Signature")
    signed_info = _one(signature, DSIG, "SignedInfo", "Signature")
    _algorithm(signed_info, DSIG, "CanonicalizationMethod", EXC_C14N, "SignedInfo")
    _algorithm(signed_info, DSIG, "SignatureMethod", RSA_SHA256, "SignedInfo")
    reference = _one(signed_info, DSIG, "Reference", "SignedInfo")
    assertion_id = root.getAttribute("ID")
    if not assertion_id or reference.getAttribute("URI") != f"#{assertion_id}":
        raise AssertionRefused("the signature's Reference does not point at the assertion's own ID")
    if any(node.getAttribute("ID") == assertion_id for node in root.getElementsByTagName("*")):
        raise AssertionRefused(f"the ID {assertion_id!r} appears more than once")
    transforms = _children(_one(reference, DSIG, "Transforms", "Reference"), DSIG, "Transform")
    if [t.getAttribute("Algorithm") for t in transforms] != [ENVELOPED, EXC_C14N] or any(
        child.nodeType == Node.ELEMENT_NODE for t in transforms for child in t.childNodes
    ):
        raise AssertionRefused("the Reference's transforms must be enveloped-signature, then exclusive c14n")
    _algorithm(reference, DSIG, "DigestMethod", SHA256, "Reference")
    expected_digest = _b64(_content(_one(reference, DSIG, "DigestValue", "Reference")), "DigestValue")
    if hashlib.sha256(canonicalize(root, exclude=signature)).digest() != expected_digest:
        raise AssertionRefused("the assertion was changed after it was signed (its digest does not match)")
    value = _b64(_content(_one(signature, DSIG, "SignatureValue", "Signature")), "SignatureValue")
    public = certificate.public_key()
    if not isinstance(public, rsa.RSAPublicKey):
        raise AssertionRefused("the configured certificate has no RSA key")
    try:
        public.verify(value, canonicalize(signed_info), padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        raise AssertionRefused("the signature does not verify with the client's registered certificate") from None


def verify_assertion(
    xml: bytes,
    certificate: x509.Certificate,
    *,
    issuer: str,
    audience: str,
    client_id: str,
    now: datetime,
    recipient: str | None = None,
) -> AssertionClaims:
    """The claims of a signed assertion, checked as SuccessFactors does; AssertionRefused says what failed.

    Checks, in order: well-formed XML without DOCTYPE; a SAML 2.0 Assertion; the enveloped signature
    against `certificate` (the one registered for the client, never one the assertion carries);
    issuer, audience, `api_key` attribute, bearer confirmation (and `recipient` when given); the
    validity window at `now` with `CLOCK_SKEW`.
    """
    try:
        document = parse_xml(xml)
    except XmlRefused as exc:
        raise AssertionRefused(str(exc)) from None
    root = document.documentElement
    if (
        root is None
        or root.namespaceURI != SAML
        or root.localName != "Assertion"
        or root.getAttribute("Version") != "2.0"
    ):
        raise AssertionRefused("the document is not a SAML 2.0 Assertion")
    _check_signature(root, certificate)
    found_issuer = _content(_one(root, SAML, "Issuer", "the Assertion"))
    if found_issuer != issuer:
        raise AssertionRefused(f"issuer {found_issuer!r} is not the expected {issuer!r}")
    subject = _one(root, SAML, "Subject", "the Assertion")
    user_id = _content(_one(subject, SAML, "NameID", "Subject"))
    confirmation = _one(subject, SAML, "SubjectConfirmation", "Subject")
    if confirmation.getAttribute("Method") != BEARER:
        raise AssertionRefused("the subject confirmation is not bearer")
    data = _one(confirmation, SAML, "SubjectConfirmationData", "SubjectConfirmation")
    found_recipient = data.getAttribute("Recipient")
    if recipient is not None and found_recipient != recipient:
        raise AssertionRefused(f"recipient {found_recipient!r} is not this token endpoint {recipient!r}")
    conditions = _one(root, SAML, "Conditions", "the Assertion")
    restriction = _one(conditions, SAML, "AudienceRestriction", "Conditions")
    audiences = [_content(a) for a in _children(restriction, SAML, "Audience")]
    if audience not in audiences:
        raise AssertionRefused(f"audience {audiences} does not include {audience!r}")
    names = {
        attribute.getAttribute("Name"): [_content(v) for v in _children(attribute, SAML, "AttributeValue")]
        for statement in _children(root, SAML, "AttributeStatement")
        for attribute in _children(statement, SAML, "Attribute")
    }
    if names.get("api_key") != [client_id]:
        raise AssertionRefused("the api_key attribute does not name this OAuth client")
    not_before = _time(conditions.getAttribute("NotBefore") or _instant(now), "NotBefore")
    ends = [_time(conditions.getAttribute("NotOnOrAfter"), "Conditions NotOnOrAfter")]
    if data.getAttribute("NotOnOrAfter"):
        ends.append(_time(data.getAttribute("NotOnOrAfter"), "SubjectConfirmationData NotOnOrAfter"))
    if now + CLOCK_SKEW < not_before:
        raise AssertionRefused(f"the assertion is not valid before {_instant(not_before)}")
    if now - CLOCK_SKEW >= min(ends):
        raise AssertionRefused(f"the assertion expired at {_instant(min(ends))}")
    return AssertionClaims(found_issuer, user_id, client_id, audience, found_recipient, min(ends))
