"""Tests of shuyuan.core.crypto against published vectors and independent implementations.

The vectors are a verbatim copy of the project's reference file, kept beside the tests so a
fresh clone can run them: ``vectors/crypto-vectors.json``.
"""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path
from typing import Any

import gmssl_pyx
import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from shuyuan.core import crypto

VECTORS_FILE = Path(__file__).parent / "vectors" / "crypto-vectors.json"

# RFC 8032 section 7.1, tests 1 (empty message) and 2 (one byte 0x72).
RFC8032 = [
    {
        "secret": "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        "public": "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        "message": "",
        "signature": "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
        "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
    },
    {
        "secret": "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
        "public": "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        "message": "72",
        "signature": "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
        "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
    },
]


@cache
def vectors() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(VECTORS_FILE.read_text("utf-8"))
    return data


def h(text: str) -> bytes:
    return bytes.fromhex(text)


def flip(data: bytes, index: int = -1) -> bytes:
    """``data`` with one bit of one byte flipped."""
    out = bytearray(data)
    out[index] ^= 0x01
    return bytes(out)


def sm2_vector() -> dict[str, str]:
    result: dict[str, str] = vectors()["sm2"]["sign_sm2p256v1"]
    return result


def sm2_vector_public() -> bytes:
    v = sm2_vector()
    return h(v["pub_x"] + v["pub_y"])


def test_vectors_file_is_present_and_complete() -> None:
    assert {"sm3", "sm4", "sm2", "totp"} <= set(vectors())


# --------------------------------------------------------------------------------------------
# SM3, HMAC-SM3, HKDF-SM3
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("index", [0, 1])
def test_sm3_matches_gbt32905_vectors(index: int) -> None:
    v = vectors()["sm3"]["vectors"][index]
    assert crypto.sm3(h(v["msg_hex"])).hex() == v["digest"]


def test_sm3_agrees_with_gmssl() -> None:
    for data in (b"", b"a", b"x" * 55, b"x" * 56, b"x" * 64, os.urandom(1000)):
        assert crypto.sm3(data) == gmssl_pyx.sm3_hash(data)


@pytest.mark.parametrize("key_size", [1, 16, 32, 64, 65, 200])
def test_sm3_hmac_agrees_with_gmssl(key_size: int) -> None:
    key, data = os.urandom(key_size), os.urandom(300)
    mac = crypto.sm3_hmac(key, data)
    assert len(mac) == 32
    assert mac == gmssl_pyx.sm3_hmac(key, data)


def _hkdf_sm3_reference(master: bytes, info: bytes, length: int) -> bytes:
    """RFC 5869 written out with HMAC-SM3 (no salt = 32 zero bytes)."""
    prk = crypto.sm3_hmac(b"\x00" * 32, master)
    out, block, counter = b"", b"", 1
    while len(out) < length:
        block = crypto.sm3_hmac(prk, block + info + bytes([counter]))
        out += block
        counter += 1
    return out[:length]


@pytest.mark.parametrize("length", [16, 32, 33, 100])
def test_derive_key_is_hkdf_sm3(length: int) -> None:
    master = b"master secret"
    key = crypto.derive_key(master, "shuyuan-test", length)
    assert len(key) == length
    assert key == _hkdf_sm3_reference(master, b"shuyuan-test", length)


def test_derive_key_separates_labels_and_is_deterministic() -> None:
    assert crypto.derive_key(b"m", "a") == crypto.derive_key(b"m", "a")
    assert crypto.derive_key(b"m", "a") != crypto.derive_key(b"m", "b")
    assert crypto.derive_key(b"m", "a") != crypto.derive_key(b"n", "a")
    assert len(crypto.derive_key(b"m", "a")) == 16


def test_derive_key_rejects_bad_arguments() -> None:
    with pytest.raises(crypto.InvalidKeyError):
        crypto.derive_key(b"", "a")
    with pytest.raises(ValueError, match="8160"):
        crypto.derive_key(b"m", "a", 0)


# --------------------------------------------------------------------------------------------
# SM4 block cipher and SM4-GCM
# --------------------------------------------------------------------------------------------


def _ecb() -> modes.ECB:
    """ECB, which the standards' block-level test vectors need (never used for data)."""
    return modes.ECB()  # noqa: S305  # single-block test vectors need raw ECB


def _sm4(key: bytes, data: bytes, mode: modes.ECB | modes.CBC) -> bytes:
    encryptor = Cipher(algorithms.SM4(key), mode).encryptor()
    return encryptor.update(data) + encryptor.finalize()


def test_sm4_gbt32907_example_1() -> None:
    v = vectors()["sm4"]["gbt32907_example_1"]
    assert _sm4(h(v["key"]), h(v["plaintext"]), _ecb()).hex() == v["ciphertext"]


def test_sm4_gbt32907_example_2_one_million_rounds() -> None:
    v = vectors()["sm4"]["gbt32907_example_2"]
    encryptor = Cipher(algorithms.SM4(h(v["key"])), _ecb()).encryptor()
    block = h(v["plaintext"])
    for _ in range(v["rounds"]):
        block = encryptor.update(block)
    assert block.hex() == v["ciphertext"]


@pytest.mark.parametrize("index", [0, 1])
def test_sm4_ecb_multiblock(index: int) -> None:
    v = vectors()["sm4"]["ecb_multiblock"]
    case = v["cases"][index]
    assert _sm4(h(case["key"]), h(v["plaintext"]), _ecb()).hex() == case["ciphertext"]


@pytest.mark.parametrize("index", [0, 1])
def test_sm4_cbc_multiblock(index: int) -> None:
    v = vectors()["sm4"]["cbc_multiblock"]
    case = v["cases"][index]
    ciphertext = _sm4(h(case["key"]), h(v["plaintext"]), modes.CBC(h(v["iv"])))
    assert ciphertext.hex() == case["ciphertext"]


def test_sm4_gcm_rfc8998_vector() -> None:
    v = vectors()["sm4"]["gcm_rfc8998_a1"]
    key, nonce, aad, plaintext = h(v["key"]), h(v["iv"]), h(v["aad"]), h(v["plaintext"])
    blob = crypto.sm4_gcm_encrypt(key, plaintext, aad, nonce=nonce)
    assert blob == nonce + h(v["ciphertext"]) + h(v["tag"])
    assert crypto.sm4_gcm_decrypt(key, blob, aad) == plaintext


def test_sm4_gcm_agrees_with_gmssl() -> None:
    key, aad, plaintext = os.urandom(16), b"header", os.urandom(100)
    blob = crypto.sm4_gcm_encrypt(key, plaintext, aad)
    nonce, ciphertext, tag = blob[:12], blob[12:-16], blob[-16:]
    assert gmssl_pyx.sm4_gcm_encrypt(key, nonce, aad, plaintext) == (ciphertext, tag)
    assert gmssl_pyx.sm4_gcm_decrypt(key, nonce, aad, ciphertext, tag) == plaintext


def test_sm4_gcm_round_trip_uses_fresh_nonces() -> None:
    key = os.urandom(16)
    first, second = crypto.sm4_gcm_encrypt(key, b"same"), crypto.sm4_gcm_encrypt(key, b"same")
    assert first != second
    assert len(first) == 12 + 4 + 16
    assert crypto.sm4_gcm_decrypt(key, first) == crypto.sm4_gcm_decrypt(key, second) == b"same"
    assert crypto.sm4_gcm_decrypt(key, crypto.sm4_gcm_encrypt(key, b"")) == b""


def test_sm4_gcm_accepts_memoryview_and_bytearray() -> None:
    key = os.urandom(16)
    blob = crypto.sm4_gcm_encrypt(key, b"pg bytea")
    assert crypto.sm4_gcm_decrypt(key, memoryview(blob)) == b"pg bytea"
    assert crypto.sm4_gcm_decrypt(key, bytearray(blob)) == b"pg bytea"


@pytest.mark.parametrize("index", [0, 5, 12, 20, -1])
def test_sm4_gcm_detects_tampering(index: int) -> None:
    key = os.urandom(16)
    blob = crypto.sm4_gcm_encrypt(key, b"tamper with me", b"aad")
    with pytest.raises(crypto.DecryptionError):
        crypto.sm4_gcm_decrypt(key, flip(blob, index), b"aad")


def test_sm4_gcm_rejects_wrong_key_aad_and_short_blob() -> None:
    key = os.urandom(16)
    blob = crypto.sm4_gcm_encrypt(key, b"secret", b"aad")
    with pytest.raises(crypto.DecryptionError):
        crypto.sm4_gcm_decrypt(os.urandom(16), blob, b"aad")
    with pytest.raises(crypto.DecryptionError):
        crypto.sm4_gcm_decrypt(key, blob, b"other")
    with pytest.raises(crypto.DecryptionError):
        crypto.sm4_gcm_decrypt(key, blob)
    for short in (b"", blob[:27]):
        with pytest.raises(crypto.DecryptionError, match="too short"):
            crypto.sm4_gcm_decrypt(key, short)


def test_sm4_gcm_rejects_bad_key_and_nonce() -> None:
    for key in (b"", b"k" * 15, b"k" * 32):
        with pytest.raises(crypto.InvalidKeyError):
            crypto.sm4_gcm_encrypt(key, b"x")
        with pytest.raises(crypto.InvalidKeyError):
            crypto.sm4_gcm_decrypt(key, b"x" * 40)
    with pytest.raises(ValueError, match="nonce"):
        crypto.sm4_gcm_encrypt(b"k" * 16, b"x", nonce=b"n" * 16)


# --------------------------------------------------------------------------------------------
# SM2
# --------------------------------------------------------------------------------------------


def test_sm2_verifies_gmt0003_vector() -> None:
    v = sm2_vector()
    signature = h(v["signature_der"])
    assert crypto.sm2_verify(sm2_vector_public(), b"message digest", signature)
    assert crypto.sm2_verify(b"\x04" + sm2_vector_public(), b"message digest", signature)


def test_sm2_vector_signature_is_der_of_r_and_s() -> None:
    v = sm2_vector()
    der = h(v["signature_der"])
    assert crypto._parse_sm2_signature(der) == (int(v["r"], 16), int(v["s"], 16))


def test_sm2_rejects_tampered_message_signature_and_id() -> None:
    v = sm2_vector()
    public, signature = sm2_vector_public(), h(v["signature_der"])
    assert not crypto.sm2_verify(public, b"message digesT", signature)
    assert not crypto.sm2_verify(public, b"message digest", flip(signature))  # s changed
    assert not crypto.sm2_verify(public, b"message digest", flip(signature, 10))  # r changed
    assert not crypto.sm2_verify(public, b"message digest", signature, signer_id=b"ALICE")


def _der(r: bytes, s: bytes) -> bytes:
    body = b"\x02" + bytes([len(r)]) + r + b"\x02" + bytes([len(s)]) + s
    return b"\x30" + bytes([len(body)]) + body


N_BYTES = crypto.SM2P256V1.n.to_bytes(32, "big")


@pytest.mark.parametrize(
    "signature",
    [
        b"",
        b"\x30",
        b"\x30\x00",
        b"not a signature at all",
        b"\xff" * 72,
        b"\x30" * 200,
        _der(b"\x00", b"\x01"),  # r = 0
        _der(b"\x01", b"\x00"),  # s = 0
        _der(b"\x00" + N_BYTES, b"\x01"),  # r = n
        _der(b"\x80", b"\x01"),  # negative r
        _der(b"\x00\x01", b"\x01"),  # non-minimal r
        _der(b"", b"\x01"),  # empty integer
    ],
)
def test_sm2_verify_returns_false_for_malformed_signatures(signature: bytes) -> None:
    assert crypto.sm2_verify(sm2_vector_public(), b"message digest", signature) is False


def test_sm2_verify_returns_false_for_truncated_or_padded_vector() -> None:
    signature = h(sm2_vector()["signature_der"])
    public = sm2_vector_public()
    assert crypto.sm2_verify(public, b"message digest", signature[:-1]) is False
    assert crypto.sm2_verify(public, b"message digest", signature + b"\x00") is False
    assert crypto.sm2_verify(public, b"message digest", b"\x31" + signature[1:]) is False
    assert crypto.sm2_verify(public, b"message digest", "text") is False  # type: ignore[arg-type]  # hostile input on purpose
    assert crypto.sm2_verify(public, b"message digest", None) is False  # type: ignore[arg-type]  # hostile input on purpose


@pytest.mark.parametrize(
    "public_key",
    [b"", b"\x00" * 64, b"\x05" + b"\x00" * 64, b"\x04" + b"\x01" * 64, b"x" * 63],
)
def test_sm2_verify_raises_for_invalid_public_keys(public_key: bytes) -> None:
    with pytest.raises(crypto.InvalidKeyError):
        crypto.sm2_verify(public_key, b"m", h(sm2_vector()["signature_der"]))


def test_sm2_off_curve_public_key_is_rejected() -> None:
    public = flip(sm2_vector_public())
    with pytest.raises(crypto.InvalidKeyError, match="not a point"):
        crypto.sm2_verify(public, b"m", h(sm2_vector()["signature_der"]))


def test_sm2_sign_verify_round_trip_with_generated_key() -> None:
    pair = crypto.sm2_generate()
    assert len(pair.private_key) == 32
    assert len(pair.public_key) == 64
    signature = crypto.sm2_sign(pair.private_key, pair.public_key, b"hello SM2")
    assert signature[0] == 0x30
    assert crypto.sm2_verify(pair.public_key, b"hello SM2", signature)
    assert not crypto.sm2_verify(pair.public_key, b"hello SM3", signature)
    assert not crypto.sm2_verify(crypto.sm2_generate().public_key, b"hello SM2", signature)
    custom = crypto.sm2_sign(pair.private_key, pair.public_key, b"m", signer_id=b"ALICE123")
    assert crypto.sm2_verify(pair.public_key, b"m", custom, signer_id=b"ALICE123")
    assert not crypto.sm2_verify(pair.public_key, b"m", custom)


@pytest.mark.parametrize(
    "signer_id", [b"1234567812345678", b"ALICE123@YAHOO.COM", b"I", b"x" * 8191]
)
@pytest.mark.parametrize("message", [b"", b"message digest", os.urandom(5000)])
def test_sm2_interoperates_with_gmssl_message_signing(signer_id: bytes, message: bytes) -> None:
    """Our sign (own ZA, GmSSL digest signing) against GmSSL's own message sign and verify."""
    pair = crypto.sm2_generate()
    ours = crypto.sm2_sign(pair.private_key, pair.public_key, message, signer_id)
    assert gmssl_pyx.sm2_verify(pair.public_key, message, ours, signer_id)
    theirs = gmssl_pyx.sm2_sign(pair.private_key, pair.public_key, message, signer_id)
    assert crypto.sm2_verify(pair.public_key, message, theirs, signer_id)
    assert crypto.sm2_verify(b"\x04" + pair.public_key, message, theirs, signer_id)


def test_sm2_signer_id_length_limits() -> None:
    pair = crypto.sm2_generate()
    for signer_id in (b"", b"x" * 8192):
        with pytest.raises(ValueError, match="signer id"):
            crypto.sm2_sign(pair.private_key, pair.public_key, b"m", signer_id)
        with pytest.raises(ValueError, match="signer id"):
            crypto.sm2_verify(pair.public_key, b"m", b"\x30\x00", signer_id)


def test_sm2_signatures_are_randomised() -> None:
    v = sm2_vector()
    first = crypto.sm2_sign(h(v["d"]), sm2_vector_public(), b"m")
    second = crypto.sm2_sign(h(v["d"]), sm2_vector_public(), b"m")
    assert first != second
    assert crypto.sm2_verify(sm2_vector_public(), b"m", first)
    assert crypto.sm2_verify(sm2_vector_public(), b"m", second)


def test_sm2_keypair_repr_hides_private_key() -> None:
    pair = crypto.sm2_generate()
    assert pair.private_key.hex() not in repr(pair)


def test_sm2_public_key_from_private_matches_vector() -> None:
    assert crypto.sm2_public_key_from_private(h(sm2_vector()["d"])) == sm2_vector_public()


def test_sm2_public_key_from_private_matches_gmssl_keys() -> None:
    for _ in range(3):
        pair = crypto.sm2_generate()
        assert crypto.sm2_public_key_from_private(pair.private_key) == pair.public_key


@pytest.mark.parametrize(
    "private_key",
    [b"", b"\x00" * 32, b"\x01" * 31, (crypto.SM2P256V1.n - 1).to_bytes(32, "big")],
)
def test_sm2_rejects_invalid_private_keys(private_key: bytes) -> None:
    with pytest.raises(crypto.InvalidKeyError):
        crypto.sm2_public_key_from_private(private_key)
    with pytest.raises(crypto.InvalidKeyError):
        crypto.sm2_sign(private_key, sm2_vector_public(), b"m")


def _za(curve: Any, x: bytes, y: bytes, signer_id: bytes) -> bytes:
    """ZA written out from GB/T 32918.2: SM3(ENTL || ID || a || b || gx || gy || xA || yA)."""
    parts = [curve.a, curve.b, curve.gx, curve.gy]
    entl = (len(signer_id) * 8).to_bytes(2, "big")
    return crypto.sm3(entl + signer_id + b"".join(p.to_bytes(32, "big") for p in parts) + x + y)


def test_sm2_za_and_e_for_sm2p256v1_vector() -> None:
    v = sm2_vector()
    x, y = h(v["pub_x"]), h(v["pub_y"])
    za = _za(crypto.SM2P256V1, x, y, b"1234567812345678")
    assert za.hex() == v["za"]
    assert crypto.sm2_za(x + y).hex() == v["za"]
    e = crypto.sm3(za + b"message digest")
    assert e.hex() == v["e"]
    # GmSSL agrees that the vector's signature signs exactly this e.
    assert gmssl_pyx.sm2_verify_sm3_digest(x + y, e, h(v["signature_der"]))


def _test_curve() -> tuple[Any, dict[str, str]]:
    v = vectors()["sm2"]["sign_gbt32918_test_curve"]
    c = v["curve"]
    curve = crypto._Curve(
        p=int(c["p"], 16),
        a=int(c["a"], 16),
        b=int(c["b"], 16),
        gx=int(c["gx"], 16),
        gy=int(c["gy"], 16),
        n=int(c["n"], 16),
    )
    return curve, v


def test_sm2_test_curve_za_and_e_reproduce_gbt32918_example() -> None:
    """No library takes custom curves, so the worked example checks our SM3 and ZA layout."""
    curve, v = _test_curve()
    x, y = h(v["pub_x"]), h(v["pub_y"])
    za = _za(curve, x, y, v["user_id_ascii"].encode("ascii"))
    assert za.hex() == v["za"]
    x_int, y_int = int(v["pub_x"], 16), int(v["pub_y"], 16)
    assert crypto._sm2_za(curve, x_int, y_int, v["user_id_ascii"].encode()).hex() == v["za"]
    assert crypto.sm3(za + v["msg_ascii"].encode("ascii")).hex() == v["e"]


def _sign_with_k(curve: Any, d: int, k: int, e: int) -> tuple[int, int]:
    """GB/T 32918.2 section 6.1, steps A4-A7, with a fixed k."""
    point = crypto._ec_mul(curve, k)
    assert point is not None
    r = (e + point[0]) % curve.n
    s = pow(1 + d, -1, curve.n) * (k - r * d) % curve.n
    return r, s


@pytest.mark.parametrize("which", ["sign_gbt32918_test_curve", "sign_sm2p256v1"])
def test_sm2_worked_examples_reproduce_public_key_and_signature(which: str) -> None:
    if which == "sign_sm2p256v1":
        curve, v = crypto.SM2P256V1, sm2_vector()
    else:
        curve, v = _test_curve()
    d = int(v["d"], 16)
    assert crypto._ec_mul(curve, d) == (int(v["pub_x"], 16), int(v["pub_y"], 16))
    r, s = _sign_with_k(curve, d, int(v["k"], 16), int(v["e"], 16))
    assert (r, s) == (int(v["r"], 16), int(v["s"], 16))


# --------------------------------------------------------------------------------------------
# Signers
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("vector", RFC8032, ids=["test1", "test2"])
def test_ed25519_rfc8032(vector: dict[str, str]) -> None:
    signer = crypto.Ed25519Signer(h(vector["secret"]))
    assert signer.public_key_bytes().hex() == vector["public"]
    assert signer.sign(h(vector["message"])).hex() == vector["signature"]
    assert crypto.verify_signature(
        "Ed25519", h(vector["public"]), h(vector["message"]), h(vector["signature"])
    )


def _signers() -> list[crypto.Signer]:
    return [
        crypto.get_signer("SM2", crypto.sm2_generate().private_key),
        crypto.get_signer("ed25519", os.urandom(32)),
    ]


@pytest.mark.parametrize("index", [0, 1], ids=["SM2", "Ed25519"])
def test_signer_round_trip_tamper_and_wrong_key(index: int) -> None:
    signer, other = _signers()[index], _signers()[index]
    message = "学籍证明 #42".encode()
    signature = signer.sign(message)
    assert signer.verify(message, signature)
    assert crypto.verify_signature(signer.algorithm, signer.public_key_bytes(), message, signature)
    assert not signer.verify(message + b"!", signature)
    assert not signer.verify(message, flip(signature))
    assert not signer.verify(message, b"")
    assert not signer.verify(message, b"\x00" * 64)
    assert not other.verify(message, signature)
    assert not crypto.verify_signature(
        signer.algorithm, other.public_key_bytes(), message, signature
    )


def test_signer_algorithms_and_key_sizes() -> None:
    sm2, ed = _signers()
    assert (sm2.algorithm, len(sm2.public_key_bytes())) == ("SM2", 64)
    assert (ed.algorithm, len(ed.public_key_bytes())) == ("Ed25519", 32)
    assert isinstance(sm2, crypto.SM2Signer)
    assert isinstance(ed, crypto.Ed25519Signer)


def test_sm2_signer_derives_and_checks_public_key() -> None:
    v = sm2_vector()
    signer = crypto.SM2Signer(h(v["d"]))
    assert signer.public_key_bytes() == sm2_vector_public()
    assert signer.verify(b"message digest", h(v["signature_der"]))
    assert crypto.SM2Signer(h(v["d"]), b"\x04" + sm2_vector_public()).public_key_bytes()
    with pytest.raises(crypto.InvalidKeyError, match="does not belong"):
        crypto.SM2Signer(h(v["d"]), crypto.sm2_generate().public_key)


def test_signer_repr_hides_private_key() -> None:
    secret = os.urandom(32)
    assert secret.hex() not in repr(crypto.Ed25519Signer(secret))


def test_get_signer_rejects_unknown_algorithm_and_bad_keys() -> None:
    with pytest.raises(ValueError, match="Unknown signature algorithm"):
        crypto.get_signer("RSA", b"k" * 32)
    with pytest.raises(crypto.InvalidKeyError):
        crypto.get_signer("Ed25519", b"short")
    with pytest.raises(crypto.InvalidKeyError):
        crypto.get_signer("SM2", b"short")


# --------------------------------------------------------------------------------------------
# AEAD
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("algorithm", "key_size"), [("SM4-GCM", 16), ("AES-GCM", 16), ("aes-gcm", 32)]
)
def test_aead_round_trip_tamper_and_wrong_key(algorithm: str, key_size: int) -> None:
    aead = crypto.get_aead(algorithm, os.urandom(key_size))
    blob = aead.encrypt("成绩单".encode(), b"record-7")
    assert len(blob) == 12 + 9 + 16
    assert aead.decrypt(blob, b"record-7") == "成绩单".encode()
    assert aead.decrypt(memoryview(blob), b"record-7") == "成绩单".encode()
    assert aead.encrypt(b"x") != aead.encrypt(b"x")
    for bad_blob, aad in ((flip(blob), b"record-7"), (blob, b"record-8"), (blob[:20], b"")):
        with pytest.raises(crypto.DecryptionError):
            aead.decrypt(bad_blob, aad)
    with pytest.raises(crypto.DecryptionError):
        crypto.get_aead(algorithm, os.urandom(key_size)).decrypt(blob, b"record-7")


def test_sm4gcm_class_is_interoperable_with_functions() -> None:
    key = os.urandom(16)
    aead = crypto.SM4GCM(key)
    assert aead.algorithm == "SM4-GCM"
    assert crypto.sm4_gcm_decrypt(key, aead.encrypt(b"a", b"b"), b"b") == b"a"
    assert aead.decrypt(crypto.sm4_gcm_encrypt(key, b"a", b"b"), b"b") == b"a"
    assert key.hex() not in repr(aead)


def test_get_aead_rejects_unknown_algorithm_and_bad_keys() -> None:
    with pytest.raises(ValueError, match="Unknown AEAD algorithm"):
        crypto.get_aead("ChaCha20", b"k" * 32)
    with pytest.raises(crypto.InvalidKeyError):
        crypto.get_aead("SM4-GCM", b"k" * 32)
    with pytest.raises(crypto.InvalidKeyError):
        crypto.get_aead("AES-GCM", b"k" * 20)


# --------------------------------------------------------------------------------------------
# PII
# --------------------------------------------------------------------------------------------

KEY_V1, KEY_V2, INDEX_KEY = b"1" * 16, b"2" * 16, b"i" * 32


def _pii(active: int = 1) -> crypto.PIICipher:
    keys = {1: KEY_V1} if active == 1 else {1: KEY_V1, 2: KEY_V2}
    return crypto.PIICipher(keys, active, INDEX_KEY)


def test_pii_round_trip_and_layout() -> None:
    cipher = _pii()
    blob = cipher.encrypt("11010519491231002X")
    assert blob[0] == 1
    assert len(blob) == 1 + 12 + 18 + 16
    assert cipher.decrypt(blob) == "11010519491231002X"
    assert cipher.decrypt(memoryview(blob)) == "11010519491231002X"
    assert crypto.sm4_gcm_decrypt(KEY_V1, blob[1:], b"shuyuan-pii") == b"11010519491231002X"
    assert cipher.encrypt("张三") != cipher.encrypt("张三")
    assert cipher.decrypt(cipher.encrypt("张三")) == "张三"
    assert cipher.decrypt(cipher.encrypt("")) == ""


def test_pii_key_rotation() -> None:
    old_blob = _pii(active=1).encrypt("13812345678")
    rotated = _pii(active=2)
    assert rotated.decrypt(old_blob) == "13812345678"
    assert rotated.needs_rotation(old_blob)
    new_blob = rotated.rotate(old_blob)
    assert new_blob[0] == 2
    assert not rotated.needs_rotation(new_blob)
    assert rotated.rotate(new_blob) == new_blob
    assert rotated.decrypt(new_blob) == "13812345678"
    with pytest.raises(crypto.DecryptionError, match="version 2"):
        _pii(active=1).decrypt(new_blob)


def test_pii_decrypt_failures_raise_decryption_error() -> None:
    cipher = _pii()
    blob = cipher.encrypt("secret")
    for bad in (b"", b"\x01", b"\x09" + blob[1:], flip(blob), blob[:-1], b"\x02" + blob[1:]):
        with pytest.raises(crypto.DecryptionError):
            cipher.decrypt(bad)
    other = crypto.PIICipher({1: KEY_V2}, 1, INDEX_KEY)
    with pytest.raises(crypto.DecryptionError):
        other.decrypt(blob)
    # The AAD binds blobs to PII use: a plain SM4-GCM blob under the same key is refused.
    with pytest.raises(crypto.DecryptionError):
        cipher.decrypt(b"\x01" + crypto.sm4_gcm_encrypt(KEY_V1, b"secret"))


def test_pii_blind_index() -> None:
    cipher = _pii()
    index = cipher.blind_index("11010519491231002X", "id_number")
    assert len(index) == 64
    assert int(index, 16) >= 0
    expected = crypto.sm3_hmac(INDEX_KEY, b"id_number\x0011010519491231002X").hex()
    assert index == expected
    assert index == _pii(active=2).blind_index("11010519491231002X", "id_number")
    assert index != cipher.blind_index("11010519491231002X", "mobile")
    assert index != cipher.blind_index("11010519491231002x", "id_number")
    other = crypto.PIICipher({1: KEY_V1}, 1, b"j" * 32)
    assert index != other.blind_index("11010519491231002X", "id_number")
    # The NUL separator keeps (purpose, value) pairs apart.
    assert cipher.blind_index("b", "a") != cipher.blind_index("", "ab")
    with pytest.raises(ValueError, match="NUL"):
        cipher.blind_index("x", "a\x00b")


@pytest.mark.parametrize(
    ("keys", "active", "index_key"),
    [
        ({}, 1, INDEX_KEY),
        ({1: KEY_V1}, 2, INDEX_KEY),
        ({1: b"short"}, 1, INDEX_KEY),
        ({256: KEY_V1}, 256, INDEX_KEY),
        ({1: KEY_V1}, 1, b"short"),
    ],
)
def test_pii_cipher_rejects_bad_configuration(
    keys: dict[int, bytes], active: int, index_key: bytes
) -> None:
    with pytest.raises(crypto.InvalidKeyError):
        crypto.PIICipher(keys, active, index_key)


def test_pii_cipher_repr_hides_keys() -> None:
    text = repr(_pii(active=2))
    assert "versions=[1, 2]" in text
    assert "1111" not in text
    assert "iiii" not in text


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("110101199003071234", "1101**********1234"),
        ("11010519491231002X", "1101**********002X"),
        ("12345678", "********"),
        ("", ""),
    ],
)
def test_mask_id_number(value: str, masked: str) -> None:
    assert crypto.mask_id_number(value) == masked


@pytest.mark.parametrize(
    ("value", "masked"),
    [("13812345678", "138****5678"), ("1381234", "*******"), ("", "")],
)
def test_mask_mobile(value: str, masked: str) -> None:
    assert crypto.mask_mobile(value) == masked


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("张三丰", "张**"),
        ("张三", "张*"),
        ("欧阳娜娜", "欧***"),
        ("张", "*"),
        (" 李四 ", "李*"),
        ("", ""),
    ],
)
def test_mask_name(value: str, masked: str) -> None:
    assert crypto.mask_name(value) == masked
