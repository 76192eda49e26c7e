"""TLS for the embedded API server: a private CA and a serving certificate for 127.0.0.1.

kubectl sends a bearer token only over HTTPS, exactly as against kind or any real
cluster, so the embedded server serves TLS with its own CA, written into the kubeconfig
as `certificate-authority-data`.  The CA and certificate live in the state folder (key
files mode 0600) and are reused across restarts so kubeconfigs stay valid.  Keys are
P-256 (fast to generate).
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

VALIDITY = datetime.timedelta(days=3650)


@dataclass(frozen=True)
class Certificates:
    folder: Path
    ca_pem: bytes

    @property
    def ca_file(self) -> Path:
        return self.folder / "ca.crt"

    @property
    def cert_file(self) -> Path:
        return self.folder / "apiserver.crt"

    @property
    def key_file(self) -> Path:
        return self.folder / "apiserver.key"

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(str(self.cert_file), str(self.key_file))
        return context


def ensure_certificates(folder: Path) -> Certificates:
    """Load the CA and serving certificate from `folder`, creating them if missing."""
    folder.mkdir(parents=True, exist_ok=True)
    names = ("ca.crt", "apiserver.crt", "apiserver.key")
    if not all((folder / n).exists() for n in names):
        _create(folder)
    return Certificates(folder, (folder / "ca.crt").read_bytes())


def _create(folder: Path) -> None:
    now = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=5)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kubecourse-ca")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    san = x509.SubjectAlternativeName(
        [x509.DNSName("localhost"), x509.DNSName("kubernetes"), x509.DNSName("kubernetes.default"),
         x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.IPAddress(ipaddress.ip_address("10.96.0.1"))]
    )  # fmt: skip
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + VALIDITY)
        .add_extension(san, critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    _write(folder / "apiserver.key", key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))  # fmt: skip
    _write(folder / "apiserver.crt", cert.public_bytes(serialization.Encoding.PEM))
    _write(folder / "ca.crt", ca.public_bytes(serialization.Encoding.PEM))


def _write(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
