//! The `api.token` file: the 16-byte secret that keys every API frame.
//!
//! The node creates `api.token` in its data directory on first start: 16 random bytes from
//! the OS, stored as padded base64 text (24 characters). A client reads the file and uses the
//! decoded bytes as the AES-128 key of [`super::frame`]. Whoever can read the file can talk to
//! the node, so it is created with mode 0600 on Unix, and it is written to a temporary file
//! and renamed into place, so a client polling for it never reads half a token.
//!
//! Unlike the original node, [`ApiToken::load`] tolerates whitespace around the text (a
//! trailing newline from an editor or `echo` is the usual case).

use base64_simd::{AsOut, STANDARD as BASE64};
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// Length of an API token, in bytes: one AES-128 key.
pub const TOKEN_BYTES: usize = 16;

/// File name of the token inside the node's data directory.
pub const TOKEN_FILE_NAME: &str = "api.token";

/// Length of a token file's text, in bytes: padded base64 of [`TOKEN_BYTES`].
pub const TOKEN_TEXT_BYTES: usize = 24;

/// A token file longer than this, in bytes, is refused without reading it all: a real one is
/// 24 bytes plus a little whitespace, and a huge file in its place is a mistake.
const TOKEN_FILE_BYTES_MAX: u64 = 4096;

/// How an access key's text starts: `stegosim-access-v1:<salt base64>:<secret base64>`.
pub const ACCESS_KEY_PREFIX: &str = "stegosim-access-v1:";

/// The API token: 16 secret bytes, the AES-128 key of every frame on the API.
///
/// `Debug` does not print the bytes, so a token inside a logged config or error stays secret.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiToken([u8; TOKEN_BYTES]);

impl fmt::Debug for ApiToken {
    /// Prints `ApiToken(..)`: the bytes are a secret.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiToken(..)")
    }
}

/// Why a token's text is not a valid token, independent of where the text came from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenFormatError {
    /// The text (after trimming surrounding whitespace) is not standard padded base64.
    #[error("not standard padded base64")]
    NotBase64,
    /// The text is base64 but does not decode to exactly 16 bytes.
    #[error("decodes to {token_bytes} bytes, expected {TOKEN_BYTES}")]
    WrongLength {
        /// How many bytes the text decoded to.
        token_bytes: usize,
    },
}

/// Why the `api.token` file could not be loaded or created. Every variant names the path, so
/// an operator knows which file to look at.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// The file does not exist. A client should start the node first (which creates it) or
    /// pass the data directory the node uses.
    #[error("API token file {} does not exist", path.display())]
    Missing {
        /// The path that was looked up.
        path: PathBuf,
    },
    /// The file exists but could not be read (permissions, a directory in its place, ...).
    #[error("cannot read API token file {}: {source}", path.display())]
    Unreadable {
        /// The file that could not be read.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// The file is larger than any token file could be.
    #[error(
        "API token file {} is {file_bytes} bytes, too large for a token \
         (expected {TOKEN_TEXT_BYTES} characters of base64)",
        path.display()
    )]
    TooLarge {
        /// The file that was refused.
        path: PathBuf,
        /// Its size, in bytes.
        file_bytes: u64,
    },
    /// The file was read but its content is not a token.
    #[error("API token file {} is invalid: {source}", path.display())]
    Invalid {
        /// The file that was read.
        path: PathBuf,
        /// What is wrong with its content.
        #[source]
        source: TokenFormatError,
    },
    /// The data directory did not exist and could not be created.
    #[error("cannot create data directory {}: {source}", path.display())]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// The new token could not be written (temporary file, write, sync or rename failed).
    #[error("cannot write API token file {}: {source}", path.display())]
    Write {
        /// The token file that was being created.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// The operating system could not supply random bytes for a new token.
    #[error("cannot create API token {}: no randomness from the OS: {source}", path.display())]
    Random {
        /// The token file that was being created.
        path: PathBuf,
        /// The error from the OS's random source.
        #[source]
        source: io::Error,
    },
}

impl ApiToken {
    /// A token made of these bytes (tests, tools, and the simulator, which derives tokens
    /// from its seed).
    pub const fn from_bytes(bytes: [u8; TOKEN_BYTES]) -> Self {
        Self(bytes)
    }

    /// The token's bytes: the AES-128 key of the frame codec.
    pub const fn as_bytes(&self) -> &[u8; TOKEN_BYTES] {
        &self.0
    }

    /// The token as it is stored in `api.token`: padded standard base64, 24 characters.
    pub fn to_base64(&self) -> String {
        BASE64.encode_to_string(self.0)
    }

    /// The frame key of an access key: a salted hash of its secret (BLAKE3 in key-derivation
    /// mode over the salt and the secret, first 16 bytes). The node's access file stores only
    /// the salt and this derived key, never the secret; a client holding the access key text
    /// derives the same frame key. (AES needs the frame key on the server, so a leaked access
    /// file still lets one talk to that node: it is written with mode 0600.)
    pub fn from_access_key(salt: &[u8], secret: &[u8]) -> Self {
        let mut h = blake3::Hasher::new_derive_key("stegosim access key v1");
        h.update(&(salt.len() as u64).to_le_bytes());
        h.update(salt);
        h.update(secret);
        let mut key = [0u8; TOKEN_BYTES];
        key.copy_from_slice(&h.finalize().as_bytes()[..TOKEN_BYTES]);
        ApiToken(key)
    }

    /// Parses a token from base64 text, ignoring whitespace around it (as in a file or an
    /// environment variable). The text must be standard padded base64 of exactly 16 bytes,
    /// or an access key (`stegosim-access-v1:<salt>:<secret>`, see [`ApiToken::from_access_key`]).
    pub fn from_base64(text: &str) -> Result<Self, TokenFormatError> {
        if let Some(rest) = text.trim().strip_prefix(ACCESS_KEY_PREFIX) {
            let (salt, secret) = rest.split_once(':').ok_or(TokenFormatError::NotBase64)?;
            let salt = BASE64
                .decode_to_vec(salt)
                .map_err(|_| TokenFormatError::NotBase64)?;
            let secret = BASE64
                .decode_to_vec(secret)
                .map_err(|_| TokenFormatError::NotBase64)?;
            return Ok(Self::from_access_key(&salt, &secret));
        }
        let text = text.trim().as_bytes();
        // Text of another length cannot be a token; say whether it is base64 at all. This
        // bound also keeps `decode` below within the stack buffer.
        if text.len() != TOKEN_TEXT_BYTES {
            BASE64
                .check(text)
                .map_err(|_| TokenFormatError::NotBase64)?;
            let token_bytes = BASE64
                .decoded_length(text)
                .map_err(|_| TokenFormatError::NotBase64)?;
            return Err(TokenFormatError::WrongLength { token_bytes });
        }
        // 24 characters decode to at most 18 bytes.
        let mut decoded = [0u8; TOKEN_BYTES + 2];
        let decoded = BASE64
            .decode(text, decoded.as_mut_slice().as_out())
            .map_err(|_| TokenFormatError::NotBase64)?;
        let bytes: [u8; TOKEN_BYTES] =
            (&*decoded)
                .try_into()
                .map_err(|_| TokenFormatError::WrongLength {
                    token_bytes: decoded.len(),
                })?;
        Ok(Self(bytes))
    }

    /// Reads a token file: base64 text of 16 bytes, surrounding whitespace tolerated.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, TokenError> {
        let path = path.as_ref();
        let unreadable = |source: io::Error| {
            if source.kind() == io::ErrorKind::NotFound {
                TokenError::Missing {
                    path: path.to_path_buf(),
                }
            } else {
                TokenError::Unreadable {
                    path: path.to_path_buf(),
                    source,
                }
            }
        };
        let file_bytes = std::fs::metadata(path).map_err(unreadable)?.len();
        if file_bytes > TOKEN_FILE_BYTES_MAX {
            return Err(TokenError::TooLarge {
                path: path.to_path_buf(),
                file_bytes,
            });
        }
        let invalid = |source| TokenError::Invalid {
            path: path.to_path_buf(),
            source,
        };
        let content = std::fs::read(path).map_err(unreadable)?;
        let text =
            std::str::from_utf8(&content).map_err(|_| invalid(TokenFormatError::NotBase64))?;
        Self::from_base64(text).map_err(invalid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN_TEXT: &str = "+ZGBPKBiq50JD6BjzQQrbw==";

    #[test]
    fn base64_round_trip() {
        let token = ApiToken::from_base64(TOKEN_TEXT).unwrap();
        assert_eq!(token.to_base64(), TOKEN_TEXT);
        assert_eq!(ApiToken::from_bytes(*token.as_bytes()), token);
        assert_eq!(
            ApiToken::from_base64(&format!(" \t{TOKEN_TEXT}\r\n")).unwrap(),
            token
        );
    }

    #[test]
    fn debug_hides_the_secret() {
        let token = ApiToken::from_bytes([0xab; 16]);
        let shown = format!("{token:?}");
        assert_eq!(shown, "ApiToken(..)");
    }

    #[test]
    fn from_base64_errors() {
        assert_eq!(
            ApiToken::from_base64("AAAA"),
            Err(TokenFormatError::WrongLength { token_bytes: 3 })
        );
        assert_eq!(
            ApiToken::from_base64("AAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
            Err(TokenFormatError::WrongLength { token_bytes: 21 })
        );
        // 24 characters, but 17 bytes.
        assert_eq!(
            ApiToken::from_base64("AAAAAAAAAAAAAAAAAAAAAAA="),
            Err(TokenFormatError::WrongLength { token_bytes: 17 })
        );
        assert_eq!(
            ApiToken::from_base64(" \n"),
            Err(TokenFormatError::WrongLength { token_bytes: 0 })
        );
        for text in [
            "!!!!",
            "not base64 at all!",
            "+ZGBPKBiq50JD6BjzQQrbw=",
            "+ZGBPKBiq50J D6BjzQQrbw==",
            "-ZGBPKBiq50JD6BjzQQrbw==",
            "+ZGBPKBiq50JD6BjzQQrbx==", // non-canonical padding
        ] {
            assert_eq!(
                ApiToken::from_base64(text),
                Err(TokenFormatError::NotBase64),
                "{text:?}"
            );
        }
        assert_eq!(
            ApiToken::from_base64("!!!!").unwrap_err().to_string(),
            "not standard padded base64"
        );
    }

    #[test]
    fn load_tolerates_whitespace() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("api.token");
        std::fs::write(&path, format!("\n  {TOKEN_TEXT}\n\n")).unwrap();
        assert_eq!(ApiToken::load(&path).unwrap().to_base64(), TOKEN_TEXT);
    }

    #[test]
    fn load_errors_name_path_and_problem() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("api.token");

        let err = ApiToken::load(&path).unwrap_err();
        assert!(matches!(err, TokenError::Missing { .. }), "{err:?}");
        assert!(
            err.to_string().contains(&path.display().to_string()),
            "{err}"
        );
        assert!(err.to_string().contains("does not exist"), "{err}");

        std::fs::write(&path, "AAAA\n").unwrap();
        let err = ApiToken::load(&path).unwrap_err();
        assert!(
            matches!(
                err,
                TokenError::Invalid {
                    source: TokenFormatError::WrongLength { token_bytes: 3 },
                    ..
                }
            ),
            "{err:?}"
        );
        let message = err.to_string();
        assert!(message.contains(&path.display().to_string()), "{message}");
        assert!(message.contains("3 bytes, expected 16"), "{message}");

        std::fs::write(&path, "this is not base64!!!!!!").unwrap();
        let err = ApiToken::load(&path).unwrap_err();
        assert!(
            err.to_string().contains("not standard padded base64"),
            "{err}"
        );

        std::fs::write(&path, b"\xff\xfe").unwrap();
        let err = ApiToken::load(&path).unwrap_err();
        assert!(
            matches!(
                err,
                TokenError::Invalid {
                    source: TokenFormatError::NotBase64,
                    ..
                }
            ),
            "{err:?}"
        );

        std::fs::write(&path, vec![b'A'; 10_000]).unwrap();
        let err = ApiToken::load(&path).unwrap_err();
        assert!(
            matches!(
                err,
                TokenError::TooLarge {
                    file_bytes: 10_000,
                    ..
                }
            ),
            "{err:?}"
        );

        // A directory where the file should be.
        std::fs::remove_file(&path).unwrap();
        std::fs::create_dir(&path).unwrap();
        let err = ApiToken::load(&path).unwrap_err();
        assert!(matches!(err, TokenError::Unreadable { .. }), "{err:?}");
        assert!(err.to_string().contains("cannot read"), "{err}");
    }
}
