"""Throughput of shuyuan.core.crypto: ``python bench/bench_crypto.py [--seconds 0.5]``.

Prints operations per second for each primitive the platform uses on a hot path. Each case
runs for about ``--seconds`` (default 0.5 s) after a short warm-up, so the whole run takes a
few seconds. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cryptography
import gmssl_pyx

from shuyuan.core import crypto


def measure(func: Callable[[], object], seconds: float) -> tuple[float, int]:
    """(operations per second, operations run) for calling ``func`` for about ``seconds``."""
    for _ in range(10):
        func()
    batch, count = 1, 0
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        for _ in range(batch):
            func()
        count += batch
        now = time.perf_counter()
        if now >= deadline:
            return count / (now - start), count
        batch = min(batch * 2, 4096)


def cases() -> list[tuple[str, Callable[[], object]]]:
    """The benchmarked operations, with their inputs prepared outside the timed call."""
    kib = os.urandom(1024)
    sm4_key = os.urandom(16)
    sm2_pair = crypto.sm2_generate()
    sm2_signer = crypto.SM2Signer(sm2_pair.private_key, sm2_pair.public_key)
    sm2_signature = sm2_signer.sign(b"message")
    ed_signer = crypto.Ed25519Signer(os.urandom(32))
    ed_signature = ed_signer.sign(b"message")
    aes = crypto.get_aead("AES-GCM", os.urandom(32))
    pii = crypto.PIICipher({1: os.urandom(16)}, 1, os.urandom(32))
    blob = pii.encrypt("11010519491231002X")

    def pii_write() -> object:
        return (pii.encrypt("11010519491231002X"), pii.blind_index("11010519491231002X", "id"))

    return [
        ("SM3, 1 KiB", lambda: crypto.sm3(kib)),
        ("HMAC-SM3, 1 KiB", lambda: crypto.sm3_hmac(sm4_key, kib)),
        ("SM4-GCM encrypt, 1 KiB", lambda: crypto.sm4_gcm_encrypt(sm4_key, kib)),
        ("AES-256-GCM encrypt, 1 KiB", lambda: aes.encrypt(kib)),
        ("SM2 sign", lambda: sm2_signer.sign(b"message")),
        ("SM2 verify", lambda: sm2_signer.verify(b"message", sm2_signature)),
        ("Ed25519 sign", lambda: ed_signer.sign(b"message")),
        ("Ed25519 verify", lambda: ed_signer.verify(b"message", ed_signature)),
        ("PIICipher.encrypt + blind_index", pii_write),
        ("PIICipher.decrypt", lambda: pii.decrypt(blob)),
        (
            "SM2 public key from private (pure Python)",
            lambda: crypto.sm2_public_key_from_private(sm2_pair.private_key),
        ),
    ]


def main() -> None:
    """Run every case and print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=0.5, help="time per case")
    args = parser.parse_args()

    print(
        f"Python {platform.python_version()}, cryptography {cryptography.__version__}, "
        f"gmssl-pyx {gmssl_pyx.__version__}, {os.cpu_count()} CPUs"
    )
    print(f"{'operation':<44}{'ops/s':>14}{'us/op':>10}")
    for name, func in cases():
        rate, _count = measure(func, args.seconds)
        print(f"{name:<44}{rate:>14,.0f}{1e6 / rate:>10.1f}")


if __name__ == "__main__":
    main()
