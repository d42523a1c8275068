"""SAML 2.0 bearer assertions for SAP SuccessFactors' OAuth token endpoint: made, signed and verified.

SuccessFactors' SAML-bearer grant takes an assertion signed with the private key whose X.509
certificate is registered for the OAuth client (the deprecated `/oauth/idp` would sign it on SAP's
side with the key sent over the wire; punchbridge never does that). The assertion names the
SuccessFactors user the API acts as (`NameID`), the audience (`www.successfactors.com` by default),
the token URL as `Recipient`, and the client's API key as the attribute `api_key`; it is valid for
a few minutes.

The signature is an XML-DSig enveloped signature made and checked by signxml (on lxml and
libxml2's canonicaliser): RSA-SHA256 over the exclusive canonical form (`xml-exc-c14n#`) of
`SignedInfo`, whose one `Reference` to the assertion's `ID` carries the SHA-256 digest of the
assertion without the signature. `verify_assertion` is what the emulator in
`punchbridge.testing.emulators.sap` uses. On top of signxml it refuses what SuccessFactors'
profile does not need rather than trying to understand it: a DOCTYPE or an oversized document
before any parser sees it, a second signature, one not on the assertion itself (signature
wrapping), other algorithms or transforms; and it reads the claims only from what was signed.
"""

from __future__ import annotations

import base64
import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from lxml import etree
from signxml import (
    CanonicalizationMethod,
    DigestAlgorithm,
    SignatureConfiguration,
    SignatureConstructionMethod,
    SignatureMethod,
    XMLSigner,
    XMLVerifier,
)
from signxml.exceptions import InvalidDigest, InvalidSignature, SignXMLException

__all__ = [
    "AssertionClaims",
    "AssertionRefusedError",
    "SigningKey",
    "build_assertion",
    "load_signing_key",
    "verify_assertion",
]

SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
DSIG = "http://www.w3.org/2000/09/xmldsig#"
EXC_C14N = CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0.value
ENVELOPED = SignatureConstructionMethod.enveloped.value
BEARER = "urn:oasis:names:tc:SAML:2.0:cm:bearer"
UNSPECIFIED = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"
PASSWORD_TRANSPORT = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
#: Clock difference between the signer and SuccessFactors that a verifier tolerates.
CLOCK_SKEW = timedelta(seconds=60)
#: The largest assertion a verifier reads; one this plugin signs is about 3 KB.
MAX_ASSERTION_BYTES = 64 * 1024


class _DropCanonicalForms(logging.Filter):
    """Drop signxml's DEBUG record of each canonical form: it holds the whole assertion, a bearer credential."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (isinstance(record.msg, str) and record.msg.startswith("Canonicalized string"))


_signxml_log = logging.getLogger("signxml.processor")
if not any(isinstance(f, _DropCanonicalForms) for f in _signxml_log.filters):
    _signxml_log.addFilter(_DropCanonicalForms())


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


def _saml(parent: etree._Element, name: str, text: str | None = None, **attributes: str) -> etree._Element:
    element = etree.SubElement(parent, f"{{{SAML}}}{name}", attributes)
    element.text = text
    return element


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
    assertion = etree.Element(
        f"{{{SAML}}}Assertion", {"ID": assertion_id, "IssueInstant": issued, "Version": "2.0"}, nsmap={"saml2": SAML}
    )
    _saml(assertion, "Issuer", issuer)
    # signxml puts its signature where this placeholder stands: SAML's schema wants it right after Issuer.
    etree.SubElement(assertion, f"{{{DSIG}}}Signature", {"Id": "placeholder"}, nsmap={"ds": DSIG})
    subject = _saml(assertion, "Subject")
    _saml(subject, "NameID", user_id, Format=UNSPECIFIED)
    confirmation = _saml(subject, "SubjectConfirmation", Method=BEARER)
    _saml(confirmation, "SubjectConfirmationData", NotOnOrAfter=expires, Recipient=recipient)
    conditions = _saml(assertion, "Conditions", NotBefore=_instant(now - CLOCK_SKEW), NotOnOrAfter=expires)
    _saml(_saml(conditions, "AudienceRestriction"), "Audience", audience)
    authn = _saml(assertion, "AuthnStatement", AuthnInstant=issued, SessionIndex=assertion_id)
    _saml(_saml(authn, "AuthnContext"), "AuthnContextClassRef", PASSWORD_TRANSPORT)
    attribute = _saml(_saml(assertion, "AttributeStatement"), "Attribute", Name="api_key")
    _saml(attribute, "AttributeValue", client_id)
    signer = XMLSigner(
        method=SignatureConstructionMethod.enveloped,
        signature_algorithm=SignatureMethod.RSA_SHA256,
        digest_algorithm=DigestAlgorithm.SHA256,
        c14n_algorithm=CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0,
    )
    # The certificate as one base64 line (signxml keeps a PEM body's line breaks inside X509Certificate).
    signed = signer.sign(assertion, key=key.private_key, cert=[key.certificate_base64], id_attribute="ID")
    # Sent in its exclusive canonical form (lxml's serialiser): the bytes on the wire are the bytes
    # digested, whatever XML serialiser the receiving side compares them with.
    return etree.tostring(signed, method="c14n", exclusive=True)


# -- verifying ----------------------------------------------------------------------------------------


class AssertionRefusedError(ValueError):
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


def _children(element: etree._Element, namespace: str, name: str) -> list[etree._Element]:
    return list(element.iterchildren(f"{{{namespace}}}{name}"))


def _one(element: etree._Element, namespace: str, name: str, where: str) -> etree._Element:
    found = _children(element, namespace, name)
    if len(found) != 1:
        raise AssertionRefusedError(f"{where} must have exactly one {name} (found {len(found)})")
    return found[0]


def _content(element: etree._Element) -> str:
    return "".join(element.itertext()).strip()


def _time(value: str, name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise AssertionRefusedError(f"{name} {value!r} is not an xs:dateTime") from None
    if moment.tzinfo is None:
        raise AssertionRefusedError(f"{name} {value!r} has no time zone (SAML times are UTC, ending in Z)")
    return moment


def _parse(xml: bytes) -> etree._Element:
    """The document's root; refused when too large, with a DOCTYPE, or not well-formed."""
    # signxml has no size limit, and refuses a DTD only after lxml has parsed it: both are refused
    # here before any parser sees the bytes.
    if len(xml) > MAX_ASSERTION_BYTES:
        raise AssertionRefusedError(f"the XML is {len(xml)} bytes, more than the {MAX_ASSERTION_BYTES} accepted")
    if b"<!DOCTYPE" in xml.upper() or b"<!ENTITY" in xml.upper():
        raise AssertionRefusedError("the XML has a DOCTYPE or an entity declaration, which is not accepted")
    try:
        return etree.fromstring(xml, _parser())
    except etree.XMLSyntaxError as exc:
        raise AssertionRefusedError(f"the XML does not parse: {exc}") from None


def _parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def _check_profile(root: etree._Element) -> None:
    """Refuse signatures outside SuccessFactors' profile, which signxml would otherwise try to verify."""
    # signxml finds the signature wherever `location` says and verifies what its Reference points
    # at; one signature, directly on the assertion, referring to the assertion's own ID, leaves no
    # room for a signed element beside forged claims (signature wrapping).
    signature = _one(root, DSIG, "Signature", "the Assertion")
    if len(list(root.iter(f"{{{DSIG}}}Signature"))) != 1:
        raise AssertionRefusedError("the assertion holds more than one Signature")
    signed_info = _one(signature, DSIG, "SignedInfo", "Signature")
    reference = _one(signed_info, DSIG, "Reference", "SignedInfo")
    assertion_id = root.get("ID")
    if not assertion_id or reference.get("URI") != f"#{assertion_id}":
        raise AssertionRefusedError("the signature's Reference does not point at the assertion's own ID")
    # signxml limits signature and digest methods by configuration but takes any canonicalisation
    # and transform list it knows (base64, inclusive C14N, none at all).
    method = _one(signed_info, DSIG, "CanonicalizationMethod", "SignedInfo").get("Algorithm")
    if method != EXC_C14N:
        raise AssertionRefusedError(f"CanonicalizationMethod must be {EXC_C14N}, not {method!r}")
    transforms = _children(_one(reference, DSIG, "Transforms", "Reference"), DSIG, "Transform")
    if [transform.get("Algorithm") for transform in transforms] != [ENVELOPED, EXC_C14N]:
        raise AssertionRefusedError("the Reference's transforms must be enveloped-signature, then exclusive c14n")


def _signed_assertion(xml: bytes, certificate: x509.Certificate) -> etree._Element:
    """The assertion as signed (without its signature), verified with `certificate` by signxml."""
    profile = SignatureConfiguration(
        location="./",  # the Signature is a child of the root Assertion, nowhere else
        signature_methods=frozenset({SignatureMethod.RSA_SHA256}),
        digest_algorithms=frozenset({DigestAlgorithm.SHA256}),
        expect_references=1,
        # The certificate is pinned (registered for the OAuth client): trust comes from the
        # registration, not from its validity dates, which signxml would check at the wall clock.
        verification_time=certificate.not_valid_before_utc,
    )
    try:
        result = XMLVerifier().verify(
            xml, x509_cert=certificate, id_attribute="ID", parser=_parser(), expect_config=profile
        )
    except InvalidDigest:
        raise AssertionRefusedError(
            "the assertion was changed after it was signed (its digest does not match)"
        ) from None
    except InvalidSignature:
        raise AssertionRefusedError("the signature does not verify with the client's registered certificate") from None
    except (SignXMLException, etree.LxmlError, ValueError) as exc:  # InvalidInput, schema, base64
        raise AssertionRefusedError(f"the signature is not usable: {exc}") from None
    assert not isinstance(result, list)  # expect_references=1: one result
    if result.signed_xml is None:
        raise AssertionRefusedError("what the signature covers is not an XML element")
    return result.signed_xml


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
    """The claims of a signed assertion, checked as SuccessFactors does; AssertionRefusedError says what failed.

    Checks, in order: well-formed XML without DOCTYPE; a SAML 2.0 Assertion; the enveloped signature
    against `certificate` (the one registered for the client, never one the assertion carries);
    issuer, audience, `api_key` attribute, bearer confirmation (and `recipient` when given); the
    validity window at `now` with `CLOCK_SKEW`. Claims are read from what the signature covers.
    """
    document = _parse(xml)
    if document.tag != f"{{{SAML}}}Assertion" or document.get("Version") != "2.0":
        raise AssertionRefusedError("the document is not a SAML 2.0 Assertion")
    _check_profile(document)
    root = _signed_assertion(xml, certificate)
    found_issuer = _content(_one(root, SAML, "Issuer", "the Assertion"))
    if found_issuer != issuer:
        raise AssertionRefusedError(f"issuer {found_issuer!r} is not the expected {issuer!r}")
    subject = _one(root, SAML, "Subject", "the Assertion")
    user_id = _content(_one(subject, SAML, "NameID", "Subject"))
    confirmation = _one(subject, SAML, "SubjectConfirmation", "Subject")
    if confirmation.get("Method") != BEARER:
        raise AssertionRefusedError("the subject confirmation is not bearer")
    data = _one(confirmation, SAML, "SubjectConfirmationData", "SubjectConfirmation")
    found_recipient = data.get("Recipient", "")
    if recipient is not None and found_recipient != recipient:
        raise AssertionRefusedError(f"recipient {found_recipient!r} is not this token endpoint {recipient!r}")
    conditions = _one(root, SAML, "Conditions", "the Assertion")
    restriction = _one(conditions, SAML, "AudienceRestriction", "Conditions")
    audiences = [_content(a) for a in _children(restriction, SAML, "Audience")]
    if audience not in audiences:
        raise AssertionRefusedError(f"audience {audiences} does not include {audience!r}")
    names = {
        attribute.get("Name"): [_content(v) for v in _children(attribute, SAML, "AttributeValue")]
        for statement in _children(root, SAML, "AttributeStatement")
        for attribute in _children(statement, SAML, "Attribute")
    }
    if names.get("api_key") != [client_id]:
        raise AssertionRefusedError("the api_key attribute does not name this OAuth client")
    not_before = _time(conditions.get("NotBefore") or _instant(now), "NotBefore")
    ends = [_time(conditions.get("NotOnOrAfter", ""), "Conditions NotOnOrAfter")]
    if data.get("NotOnOrAfter"):
        ends.append(_time(data.get("NotOnOrAfter", ""), "SubjectConfirmationData NotOnOrAfter"))
    if now + CLOCK_SKEW < not_before:
        raise AssertionRefusedError(f"the assertion is not valid before {_instant(not_before)}")
    if now - CLOCK_SKEW >= min(ends):
        raise AssertionRefusedError(f"the assertion expired at {_instant(min(ends))}")
    return AssertionClaims(found_issuer, user_id, client_id, audience, found_recipient, min(ends))
