"""The key and certificate an OAuth client of the SuccessFactors emulator is registered with (made at test time)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cryptography import x509

from punchbridge.testing.emulators.keys import self_signed_key

__all__ = ["TestCredentials", "make_credentials"]


@dataclass(frozen=True)
class TestCredentials:
    """A generated RSA key and self-signed certificate (PEM), as registered for an OAuth client."""

    __test__ = False  # not a pytest test class, despite its name

    key_pem: bytes
    certificate_pem: bytes

    @property
    def certificate(self) -> x509.Certificate:
        """The parsed certificate."""
        return x509.load_pem_x509_certificate(self.certificate_pem)

    def write(self, folder: Path, stem: str = "sf") -> dict[str, Path]:
        """Write `stem.key.pem` (mode 0600) and `stem.cert.pem` into `folder`; their paths as plugin settings."""
        folder.mkdir(parents=True, exist_ok=True)
        key_path, cert_path = folder / f"{stem}.key.pem", folder / f"{stem}.cert.pem"
        key_path.touch(mode=0o600)
        key_path.write_bytes(self.key_pem)
        cert_path.write_bytes(self.certificate_pem)
        return {"private_key": key_path, "certificate": cert_path}


def make_credentials(common_name: str = "punchbridge-test", *, valid_days: int = 365) -> TestCredentials:
    """A fresh 2048-bit RSA key and a self-signed certificate for it (made at test time, never committed)."""
    return TestCredentials(*self_signed_key(common_name, valid_days=valid_days))
