"""moto_server with KMS `MessageType=DIGEST` as AWS documents it.

moto 5.2.5 ignores `MessageType` in Sign and Verify and always hashes the message again (its docstring says DIGEST
"is not yet implemented"). AWS KMS signs a DIGEST message as the hash itself, which is how an Ethereum signer must
use it: the message is a Keccak-256 digest, and ECDSA_SHA_256 would otherwise sign SHA-256(Keccak-256(tx)), a
signature no chain accepts. This launcher adds exactly that to the real moto server and changes nothing else:
Sign and Verify with DIGEST treat the message as already hashed (cryptography's `Prehashed`), and refuse a digest
whose length is not the algorithm's, as AWS does. Started by test/peers/peers.ts `startMoto` in place of
`moto_server`, with the same arguments.

API reference: https://docs.aws.amazon.com/kms/latest/APIReference/API_Sign.html (MessageType).
"""

import sys
import threading

from cryptography.hazmat.primitives.asymmetric import ec, utils as asym_utils
from moto.kms import responses, utils
from moto.kms.exceptions import ValidationException
from moto.server import main

_digest = threading.local()
_DIGEST_SIZES = {"ECDSA_SHA_256": 32, "ECDSA_SHA_384": 48, "ECDSA_SHA_512": 64}


def _with_message_type(handler):
    def wrapped(self):
        _digest.on = self._get_param("MessageType") == "DIGEST"
        try:
            return handler(self)
        finally:
            _digest.on = False

    return wrapped


def _hash_of(algorithm):
    from cryptography.hazmat.primitives import hashes

    return {"ECDSA_SHA_256": hashes.SHA256(), "ECDSA_SHA_384": hashes.SHA384(), "ECDSA_SHA_512": hashes.SHA512()}[
        algorithm
    ]


def _check_digest(message, algorithm):
    size = _DIGEST_SIZES.get(algorithm)
    if size is not None and len(message) != size:
        raise ValidationException(
            f"Digest is invalid length for algorithm {algorithm}: expected {size} bytes, got {len(message)}"
        )


_sign = utils.ECDSAPrivateKey.sign
_verify = utils.ECDSAPrivateKey.verify


def _ecdsa_sign(self, message, signing_algorithm):
    if not getattr(_digest, "on", False):
        return _sign(self, message, signing_algorithm)
    utils.validate_signing_algorithm(signing_algorithm, self.valid_signing_algorithms)
    _check_digest(message, signing_algorithm)
    return self.private_key.sign(message, ec.ECDSA(asym_utils.Prehashed(_hash_of(signing_algorithm))))


def _ecdsa_verify(self, message, signature, signing_algorithm):
    if not getattr(_digest, "on", False):
        return _verify(self, message, signature, signing_algorithm)
    from cryptography.exceptions import InvalidSignature

    utils.validate_signing_algorithm(signing_algorithm, self.valid_signing_algorithms)
    _check_digest(message, signing_algorithm)
    try:
        self.private_key.public_key().verify(
            signature, message, ec.ECDSA(asym_utils.Prehashed(_hash_of(signing_algorithm)))
        )
        return True
    except InvalidSignature:
        return False


utils.ECDSAPrivateKey.sign = _ecdsa_sign
utils.ECDSAPrivateKey.verify = _ecdsa_verify
responses.KmsResponse.sign = _with_message_type(responses.KmsResponse.sign)
responses.KmsResponse.verify = _with_message_type(responses.KmsResponse.verify)

if __name__ == "__main__":
    sys.exit(main())
