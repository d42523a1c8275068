"""Signatures go through well-kept libraries: no module of ours canonicalises XML, assembles a JWS, or
compares Standard Webhooks signatures by hand (signxml, PyJWT and standardwebhooks do).

Each check reads the source of `core/`, `plugins/` and `jobs/`; each is also run on a sample of the
hand-written code it replaced, so none of them passes by being unable to fail.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SOURCES = sorted(path for folder in ("core", "plugins", "jobs") for path in (REPO / folder).rglob("*.py"))


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def canonicalises_xml(source: str) -> bool:
    """A DOM walk that renders canonical XML, or a function named for canonicalising."""
    return "minidom" in source or re.search(r"def \w*(canonicali[sz]e|c14n)\w*\(", source) is not None


def assembles_jws(source: str) -> bool:
    """A JWS put together from base64url parts and a raw RSA signature, rather than by a JWT library."""
    raw_signature = "PKCS1v15" in source or "hmac.new" in source
    return raw_signature and ("urlsafe_b64encode" in source or "urlsafe_b64decode" in source)


def compares_standard_webhooks(source: str) -> list[str]:
    """Functions that handle the `webhook-signature` header and compute or compare an HMAC themselves."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        strings = {n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)}
        names = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)} | {
            n.attr for n in ast.walk(node) if isinstance(n, ast.Attribute)
        }
        if "webhook-signature" in strings and names & {"hmac", "compare_digest", "_matches"}:
            found.append(node.name)
    return found


# -- the code base ------------------------------------------------------------------------------------


def test_no_module_canonicalises_xml_and_the_saml_module_uses_signxml() -> None:
    assert [p.name for p in SOURCES if canonicalises_xml(_read(p))] == []
    assert not (REPO / "plugins" / "sap" / "c14n.py").exists()
    saml = _read(REPO / "plugins" / "sap" / "saml.py")
    assert "XMLSigner" in saml and "XMLVerifier" in saml
    assert "hashlib" not in saml and "PKCS1v15" not in saml, "digests and signatures are signxml's"


def test_no_module_assembles_a_jws_and_the_salesforce_code_uses_pyjwt() -> None:
    assert [p.name for p in SOURCES if assembles_jws(_read(p))] == []
    for path in (
        REPO / "plugins" / "salesforce" / "auth.py",
        REPO / "core" / "testing" / "emulators" / "salesforce" / "oauth.py",
    ):
        source = _read(path)
        assert "import jwt" in source and ("jwt.encode(" in source or "jwt.decode(" in source), path.name


def test_no_module_compares_standard_webhooks_signatures_and_the_receiver_uses_the_library() -> None:
    assert {p.name: compares_standard_webhooks(_read(p)) for p in SOURCES if compares_standard_webhooks(_read(p))} == {}
    signatures = _read(REPO / "core" / "receiver" / "signatures.py")
    assert "from standardwebhooks" in signatures and ".verify(body" in signatures


# -- each check can fail ------------------------------------------------------------------------------

HAND_WRITTEN_C14N = """
from xml.dom import minidom
def canonicalize(element, *, exclude=None):
    return "".join(render(element))
"""

HAND_WRITTEN_JWS = """
def jwt_assertion(key, claims):
    header = base64.urlsafe_b64encode(json.dumps({"alg": "RS256"}).encode()).rstrip(b"=")
    body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=")
    signature = key.sign(header + b"." + body, padding.PKCS1v15(), hashes.SHA256())
    return b".".join([header, body, base64.urlsafe_b64encode(signature).rstrip(b"=")])
"""

HAND_WRITTEN_STANDARD_WEBHOOKS = """
def _verify_standard(values, body, keys):
    header = values("webhook-signature")
    expected = [hmac.new(key, body, hashlib.sha256).digest() for key in keys]
    return any(hmac.compare_digest(e, p) for e in expected for p in parse(header))
"""


@pytest.mark.parametrize(
    ("check", "sample"),
    [
        (canonicalises_xml, HAND_WRITTEN_C14N),
        (assembles_jws, HAND_WRITTEN_JWS),
        (compares_standard_webhooks, HAND_WRITTEN_STANDARD_WEBHOOKS),
    ],
    ids=["c14n", "jws", "standard-webhooks"],
)
def test_each_check_finds_the_hand_written_code_it_replaced(check: object, sample: str) -> None:
    assert callable(check)
    assert check(sample)
