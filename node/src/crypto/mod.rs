//! Cryptography: keys, addresses, signatures, payload encryption, recovery phrases.
