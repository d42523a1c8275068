"""RSA keys and self-signed certificates that emulated clients are registered with (made at test time).

The SuccessFactors emulator's OAuth clients (SAML bearer) and the Salesforce emulator's connected apps
(JWT bearer) both register a certificate; the plugin signs with the key. Keys are generated when a
test or `punchbridge emulate` runs and are never stored in the repository.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

__all__ = ["self_signed_key"]


def self_signed_key(common_name: str = "punchbridge-test", *, valid_days: int = 365) -> tuple[bytes, bytes]:
    """A new 2048-bit RSA key (PKCS#8 PEM, unencrypted) and a self-signed certificate of it (PEM),
    valid from yesterday for `valid_days`."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=valid_days))
        .sign(key, hashes.SHA256())
    )
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return pem, certificate.public_bytes(serialization.Encoding.PEM)
