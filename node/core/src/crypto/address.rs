//! Bech32 addresses: a public key shown with its network's prefix, e.g. `dev1…`.
//!
//! The checksum is classic Bech32 (BIP-173), as the original node and `PROTOCOL.md` use, not
//! Bech32m: a Bech32m string is refused with [`AddressError::BadChecksum`]. The prefix is
//! checked against the network the node runs, so a mainnet address pasted into a test node
//! is refused with a message that names both prefixes.

use std::fmt;
use std::str::FromStr;

use bech32::primitives::decode::{CheckedHrpstring, CheckedHrpstringError, ChecksumError};
use bech32::{Bech32, Hrp};
use serde::{Deserialize, Serialize};

use super::keys::{KeyError, PublicKey};

/// The network an address belongs to; it fixes the bech32 prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Network {
    /// Tests, simulations and this project's `dev` chain: prefix `dev`.
    Dev,
    /// The original's development network: prefix `str`.
    Devnet,
    /// The test network: prefix `stt`.
    Testnet,
    /// The main network: prefix `stg`.
    Mainnet,
}

impl Network {
    /// Every network, for iteration and for help texts.
    pub const ALL: [Network; 4] = [
        Network::Dev,
        Network::Devnet,
        Network::Testnet,
        Network::Mainnet,
    ];

    /// The bech32 human-readable prefix.
    pub const fn prefix(self) -> &'static str {
        match self {
            Network::Dev => "dev",
            Network::Devnet => "str",
            Network::Testnet => "stt",
            Network::Mainnet => "stg",
        }
    }

    /// The network whose prefix is `prefix` (lower case), if any.
    pub fn from_prefix(prefix: &str) -> Option<Network> {
        Network::ALL.into_iter().find(|n| n.prefix() == prefix)
    }

    fn hrp(self) -> Hrp {
        // The four prefixes are short lower-case ASCII, which is always a valid HRP.
        Hrp::parse_unchecked(self.prefix())
    }
}

impl fmt::Display for Network {
    /// Shows the network's name as serde writes it (`dev`, `devnet`, `testnet`, `mainnet`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Network::Dev => "dev",
            Network::Devnet => "devnet",
            Network::Testnet => "testnet",
            Network::Mainnet => "mainnet",
        })
    }
}

/// The error of parsing an unknown network name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown network {0:?}: expected dev, devnet, testnet or mainnet")]
pub struct UnknownNetwork(pub String);

impl FromStr for Network {
    type Err = UnknownNetwork;

    /// Parses a network name as [`Display`](fmt::Display) writes it.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Network::ALL
            .into_iter()
            .find(|n| n.to_string() == s)
            .ok_or_else(|| UnknownNetwork(s.to_owned()))
    }
}

/// Why a string was refused as an address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    /// Not a bech32 string: no `1` separator, a character outside the bech32 alphabet,
    /// mixed case, or too long. The text is the bech32 crate's explanation.
    #[error("not a bech32 string: {0}")]
    Malformed(String),
    /// The checksum does not match: a typo, or a Bech32m string.
    #[error("bad bech32 checksum (mistyped, or Bech32m instead of Bech32)")]
    BadChecksum,
    /// A valid bech32 string for another network.
    #[error("wrong address prefix: expected {expected:?}, found {found:?}")]
    WrongPrefix {
        /// The prefix of the network the node runs.
        expected: &'static str,
        /// The prefix the string had (lower-cased).
        found: String,
    },
    /// The data is not 32 bytes.
    #[error("wrong address length: expected 32 bytes of data, found {found}")]
    WrongLength {
        /// Bytes of data the string held.
        found: usize,
    },
    /// The unused bits after the data are not zero, so the string is not the one canonical
    /// encoding of its bytes.
    #[error("non-canonical bech32 padding")]
    BadPadding,
    /// The 32 bytes are not a usable public key.
    #[error("not a valid public key: {0}")]
    InvalidKey(#[from] KeyError),
}

/// Encodes 32 bytes as a Bech32 string with `network`'s prefix (lower case).
pub fn encode(network: Network, data: &[u8; 32]) -> String {
    bech32::encode::<Bech32>(network.hrp(), data)
        .expect("3-letter prefix plus 32 bytes is far below Bech32's length limit")
}

/// Decodes a Bech32 string of `network` holding exactly 32 bytes (either case, not mixed).
///
/// This checks only the encoding; [`PublicKey::from_bech32`] also checks the point.
pub fn decode(s: &str, network: Network) -> Result<[u8; 32], AddressError> {
    let checked = CheckedHrpstring::new::<Bech32>(s).map_err(|e| match e {
        CheckedHrpstringError::Checksum(ChecksumError::InvalidResidue(_)) => {
            AddressError::BadChecksum
        }
        other => AddressError::Malformed(other.to_string()),
    })?;
    let hrp = checked.hrp();
    if hrp != network.hrp() {
        return Err(AddressError::WrongPrefix {
            expected: network.prefix(),
            found: hrp.to_lowercase(),
        });
    }
    checked
        .validate_segwit_padding()
        .map_err(|_| AddressError::BadPadding)?;
    let mut out = [0u8; 32];
    let mut found = 0usize;
    for byte in checked.byte_iter() {
        if let Some(slot) = out.get_mut(found) {
            *slot = byte;
        }
        found += 1;
    }
    if found != out.len() {
        return Err(AddressError::WrongLength { found });
    }
    Ok(out)
}

impl PublicKey {
    /// The key as a Bech32 address of `network`, e.g. `dev1…`.
    pub fn to_bech32(&self, network: Network) -> String {
        encode(network, self.as_bytes())
    }

    /// Parses a Bech32 address of `network`, checking the encoding and that it is a valid
    /// public key.
    pub fn from_bech32(s: &str, network: Network) -> Result<PublicKey, AddressError> {
        Ok(PublicKey::from_bytes(decode(s, network)?)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::SecretKey;

    #[test]
    fn network_names_and_prefixes() {
        for n in Network::ALL {
            assert_eq!(Network::from_prefix(n.prefix()), Some(n));
            assert_eq!(n.to_string().parse::<Network>(), Ok(n));
            let json = serde_json::to_string(&n).unwrap();
            assert_eq!(json, format!("\"{n}\""));
        }
        assert!("stg".parse::<Network>().is_err());
    }

    #[test]
    fn key_round_trip_every_network() {
        let pk = SecretKey::from_seed([9; 32]).public_key();
        for n in Network::ALL {
            let s = pk.to_bech32(n);
            assert!(s.starts_with(&format!("{}1", n.prefix())));
            assert_eq!(PublicKey::from_bech32(&s, n), Ok(pk));
            assert_eq!(PublicKey::from_bech32(&s.to_uppercase(), n), Ok(pk));
        }
    }
}
