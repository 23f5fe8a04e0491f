//! Why a message could not be decoded ([`MessageError`]) and the stable error codes that go
//! on the wire ([`ErrorCode`]).

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, Visitor};
use serde::ser::{Serialize, Serializer};

/// The longest text (in bytes) that an error copies from its input, so that a hostile
/// client cannot make the server echo a megabyte-long type name or string value back.
pub(crate) const ECHO_BYTES_MAX: usize = 200;

/// Cuts `text` to at most [`ECHO_BYTES_MAX`] bytes on a character boundary, marking the cut
/// with an ellipsis, so error messages stay short whatever the input was.
pub(crate) fn clip(text: &str) -> String {
    if text.len() <= ECHO_BYTES_MAX {
        return text.to_owned();
    }
    let mut end = ECHO_BYTES_MAX;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &text[..end])
}

/// A message that could not be decoded, with the request `id` when it could be read, so the
/// server can still address its error reply to the request that caused it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind}")]
pub struct MessageError {
    /// The `id` of the offending message; 0 when absent or unreadable (0 is also the
    /// protocol's "no id", so an error reply built from it simply carries no id).
    id: u64,
    /// What exactly was wrong; decides the [`ErrorCode`].
    kind: MessageErrorKind,
}

impl MessageError {
    /// Builds an error; used by the decoder, public so other layers (framing, the server)
    /// can report their failures in the same shape.
    pub fn new(id: u64, kind: MessageErrorKind) -> Self {
        Self { id, kind }
    }

    /// The `id` of the message that failed (0 when it had none or it was unreadable), for
    /// echoing in the error reply.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// What was wrong, for callers that react differently to different failures.
    pub fn kind(&self) -> &MessageErrorKind {
        &self.kind
    }

    /// The machine-readable code to put in the `error` reply's `code` field.
    pub fn code(&self) -> ErrorCode {
        match self.kind {
            MessageErrorKind::BadJson { .. } => ErrorCode::BadJson,
            MessageErrorKind::NotAnObject => ErrorCode::NotAnObject,
            MessageErrorKind::MissingType => ErrorCode::MissingType,
            MessageErrorKind::UnknownType { .. } => ErrorCode::UnknownType,
            MessageErrorKind::MissingField { .. } => ErrorCode::MissingField,
            MessageErrorKind::InvalidField { .. } | MessageErrorKind::Invalid { .. } => {
                ErrorCode::InvalidField
            }
        }
    }
}

/// The ways a JSON message can fail to decode, each naming what a client needs to fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageErrorKind {
    /// The bytes are not one well-formed JSON value (syntax error, truncated input,
    /// trailing garbage, nesting deeper than serde_json's limit).
    #[error("not valid JSON: {reason}")]
    BadJson {
        /// serde_json's description, with line and column.
        reason: String,
    },
    /// Well-formed JSON, but not an object: every message is an object.
    #[error("a message must be a JSON object")]
    NotAnObject,
    /// An object without a `type` field: nothing says what it is.
    #[error("the message has no \"type\" field")]
    MissingType,
    /// A `type` this side does not know (clipped to a short length).
    #[error("unknown message type \"{name}\"")]
    UnknownType {
        /// The type name as received.
        name: String,
    },
    /// A field the message's type requires is absent.
    #[error("{}missing field \"{field}\"", TypePrefix(*.type_name))]
    MissingField {
        /// The canonical type name of the message, when known.
        type_name: Option<&'static str>,
        /// The missing field (for a nested object, the innermost missing key).
        field: String,
    },
    /// A top-level field is present but has the wrong shape or value (or appears twice).
    #[error("{}invalid field \"{field}\": {reason}", TypePrefix(*.type_name))]
    InvalidField {
        /// The canonical type name of the message, when known (not yet known when `id` or
        /// `account_id` come before `type`).
        type_name: Option<&'static str>,
        /// The top-level field whose value was rejected.
        field: String,
        /// serde_json's description of what was found and what was expected.
        reason: String,
    },
    /// The body is wrong in a way not tied to one field (kept as a catch-all so the
    /// decoder never has to invent a field name).
    #[error("{}invalid message: {reason}", TypePrefix(*.type_name))]
    Invalid {
        /// The canonical type name of the message, when known.
        type_name: Option<&'static str>,
        /// serde_json's description.
        reason: String,
    },
}

/// Displays `"<type>": ` before a message when the type is known, nothing otherwise.
struct TypePrefix(Option<&'static str>);

impl fmt::Display for TypePrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(name) => write!(f, "\"{name}\": "),
            None => Ok(()),
        }
    }
}

/// Declares [`ErrorCode`] from one table of `Variant = "wire_name"` lines, so the names
/// used for output and input cannot drift apart.
macro_rules! error_codes {
    ($( $(#[$doc:meta])* $variant:ident = $name:literal, )*) => {
        /// The stable, machine-readable reason in an `error` reply's `code` field, next to
        /// the human-readable `error` text (users of the original node asked for codes).
        ///
        /// Known codes are snake_case names; any other name parses as
        /// [`ErrorCode::Other`], so a client never fails on a code that a newer server
        /// added. Invariant: `Other` never holds a known name ([`ErrorCode::from_name`]
        /// guarantees it for decoded values).
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $( $(#[$doc])* $variant, )*
            /// A code this build does not know (from a newer peer); holds its name.
            Other(String),
        }

        impl ErrorCode {
            /// Every known code, in table order: for tests and documentation generators.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];

            /// The wire name of this code.
            pub fn as_str(&self) -> &str {
                match self {
                    $( ErrorCode::$variant => $name, )*
                    ErrorCode::Other(name) => name,
                }
            }

            /// The code a wire name stands for; unknown names become [`ErrorCode::Other`].
            pub fn from_name(name: &str) -> Self {
                match name {
                    $( $name => ErrorCode::$variant, )*
                    other => ErrorCode::Other(other.to_owned()),
                }
            }
        }
    };
}

error_codes! {
    /// The message is not well-formed JSON.
    BadJson = "bad_json",
    /// The message is JSON but not an object.
    NotAnObject = "not_an_object",
    /// The message has no `type`.
    MissingType = "missing_type",
    /// The message's `type` is not known.
    UnknownType = "unknown_type",
    /// A required field is absent.
    MissingField = "missing_field",
    /// A field has the wrong shape or an unacceptable value.
    InvalidField = "invalid_field",
    /// A frame is not base64, too short, or does not decrypt to a JSON object.
    BadFrame = "bad_frame",
    /// A frame is larger than the server accepts.
    FrameTooLarge = "frame_too_large",
    /// Binary WebSocket frames are not supported: the API uses text frames.
    BinaryFrame = "binary_frame",
    /// The API key does not allow this request group.
    Forbidden = "forbidden",
    /// The key's request rate limit is exhausted; retry later.
    RateLimited = "rate_limited",
    /// Too many requests are in flight on this connection.
    TooManyRequests = "too_many_requests",
    /// No account has the given `account_id` (or it is missing).
    AccountNotFound = "account_not_found",
    /// The account is sealed and the request needs its secret key.
    AccountSealed = "account_sealed",
    /// `seal` on an account that is already sealed.
    AlreadySealed = "already_sealed",
    /// `unseal` on an account that is already unsealed.
    AlreadyUnsealed = "already_unsealed",
    /// The password does not decrypt the account.
    InvalidPassword = "invalid_password",
    /// The recovery phrase is malformed or its checksum is wrong.
    InvalidRecovery = "invalid_recovery",
    /// The account cannot pay the amount plus fees.
    NotEnoughMoney = "not_enough_money",
    /// The fee is below the minimum.
    FeeTooLow = "fee_too_low",
    /// The recipient is not a valid address for this network.
    InvalidRecipient = "invalid_recipient",
    /// The amount is zero, negative, or otherwise unacceptable (e.g. a stake not above
    /// its fee, an unstake below the active stake).
    InvalidAmount = "invalid_amount",
    /// The comment is longer than the protocol allows.
    CommentTooLong = "comment_too_long",
    /// A timestamp is out of the accepted range.
    InvalidTimestamp = "invalid_timestamp",
    /// The account already takes part in a Snowball round.
    SnowballBusy = "snowball_busy",
    /// The Snowball round failed (too few honest participants left).
    SnowballFailed = "snowball_failed",
    /// The certificate does not prove the claimed payment.
    InvalidCertificate = "invalid_certificate",
    /// `pop_micro_block` with no micro block in the current epoch.
    NothingToPop = "nothing_to_pop",
    /// The block, output or epoch asked for does not exist (or is not available here).
    NotFound = "not_found",
    /// `enable_restaking` / `disable_restaking` when restaking is already in that state.
    RestakingUnchanged = "restaking_unchanged",
    /// The node is not synchronized with the network and cannot answer reliably.
    NotSynchronized = "not_synchronized",
    /// The node is shutting down and takes no new requests.
    ShuttingDown = "shutting_down",
    /// A bug or resource failure inside the node.
    Internal = "internal",
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ErrorCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ErrorCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        /// Reads a code name; anything that is a string is acceptable.
        struct CodeVisitor;

        impl Visitor<'_> for CodeVisitor {
            type Value = ErrorCode;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an error code name")
            }

            fn visit_str<E: de::Error>(self, name: &str) -> Result<ErrorCode, E> {
                Ok(ErrorCode::from_name(name))
            }
        }

        deserializer.deserialize_str(CodeVisitor)
    }
}
