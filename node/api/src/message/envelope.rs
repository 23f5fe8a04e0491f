//! The envelope codec shared by requests and server messages: the `type` / `id` /
//! `account_id` keys around a body struct. See the module docs of [`super`] for the design.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::Serialize;
use serde::de::value::{
    BorrowedStrDeserializer, MapAccessDeserializer, StrDeserializer, StringDeserializer,
};
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::ser::Serializer;
use serde_json::Value;
use serde_json::error::Category;

use super::error::{MessageError, MessageErrorKind, clip};

/// A family of message kinds (requests, or server messages): what the envelope codec needs
/// to know about it. Implemented by [`message_kinds!`] from its table only. Public but in a
/// private module (sealed): it bounds [`super::Envelope`]'s methods, and no other crate can
/// implement it.
pub trait Kind: Sized {
    /// Names a variant before its body has been read (a field-less mirror of the enum).
    type Tag: Copy;

    /// The variant a `type` name (canonical or alias) selects.
    fn tag_of(name: &str) -> Option<Self::Tag>;

    /// The canonical `type` name of a variant, for error messages.
    fn tag_name(tag: Self::Tag) -> &'static str;

    /// The canonical `type` name of this message (the kind's own `type_name`).
    fn kind_type_name(&self) -> &'static str;

    /// Reads the body of variant `tag` from the rest of the envelope's map into `slot`
    /// (written in place rather than returned: see [`EnvelopeVisitor`]).
    fn deserialize_body<'de, D: Deserializer<'de>>(
        tag: Self::Tag,
        body: D,
        slot: &mut Option<Self>,
    ) -> Result<(), D::Error>;

    /// Writes the whole envelope: `type` first, then `id` (if not 0) and `account_id` (if
    /// any), then the body's fields.
    fn serialize_envelope<S: Serializer>(
        &self,
        id: u64,
        account_id: Option<&str>,
        serializer: S,
    ) -> Result<S::Ok, S::Error>;
}

/// Declares a message-kind enum, its field-less tag enum and its [`Kind`] impl from one
/// table of `Variant(Body) = "type_name" | "alias"` lines (`(Body)` omitted for a
/// field-less message). The same table drives decoding (names and aliases) and encoding
/// (canonical names), so the two directions cannot drift.
macro_rules! message_kinds {
    (
        $(#[$meta:meta])*
        $vis:vis enum $kind:ident / $tag:ident {
            $(
                $(#[$vmeta:meta])*
                $variant:ident $( ( $body:ty ) )? = $name:literal $( | $alias:literal )*
            ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        $vis enum $kind {
            $( $(#[$vmeta])* $variant $( ($body) )?, )*
        }

        /// Which variant a `type` name selects, known before the body is read. Public only
        /// because the sealed [`Kind`] names it; its module is private, so no other crate can.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum $tag {
            $( $variant, )*
        }

        impl $kind {
            /// The canonical `type` name of every variant, in table order (aliases are
            /// accepted on input but never written).
            pub const TYPE_NAMES: &'static [&'static str] = &[$($name,)*];

            /// The canonical `type` name of this message, as written on output.
            pub fn type_name(&self) -> &'static str {
                match self {
                    $( Self::$variant { .. } => $name, )*
                }
            }
        }

        impl $crate::message::envelope::Kind for $kind {
            type Tag = $tag;

            fn tag_of(name: &str) -> Option<$tag> {
                match name {
                    $( $name $( | $alias )* => Some($tag::$variant), )*
                    _ => None,
                }
            }

            fn tag_name(tag: $tag) -> &'static str {
                match tag {
                    $( $tag::$variant => $name, )*
                }
            }

            fn kind_type_name(&self) -> &'static str {
                self.type_name()
            }

            fn deserialize_body<'de, D: serde::Deserializer<'de>>(
                tag: $tag,
                body: D,
                slot: &mut Option<Self>,
            ) -> Result<(), D::Error> {
                match tag {
                    $( $tag::$variant => {
                        *slot = Some($crate::message::envelope::message_kinds!(
                            @de body, $variant $(, $body)?
                        ));
                    } )*
                }
                Ok(())
            }

            fn serialize_envelope<S: serde::Serializer>(
                &self,
                id: u64,
                account_id: Option<&str>,
                serializer: S,
            ) -> Result<S::Ok, S::Error> {
                match self {
                    $(
                        Self::$variant $( ($crate::message::envelope::message_kinds!(@bind body, $body)) )? => {
                            let body = $crate::message::envelope::message_kinds!(@body $(body, $body)?);
                            serde::Serialize::serialize(
                                &$crate::message::envelope::EnvelopeOut {
                                    type_name: $name,
                                    id,
                                    account_id,
                                    body,
                                },
                                serializer,
                            )
                        }
                    )*
                }
            }
        }
    };
    (@de $d:ident, $variant:ident) => {{
        <serde::de::IgnoredAny as serde::Deserialize>::deserialize($d)?;
        Self::$variant
    }};
    (@de $d:ident, $variant:ident, $body:ty) => {
        Self::$variant(<$body as serde::Deserialize>::deserialize($d)?)
    };
    (@bind $b:ident, $body:ty) => { $b };
    (@body) => { &() };
    (@body $b:ident, $body:ty) => { $b };
}

pub(crate) use message_kinds;

/// The output form of an envelope. `flatten` on the serialize side writes the body's
/// fields straight into the same map (serde buffers only when *deserializing* flatten).
#[derive(Serialize)]
pub(crate) struct EnvelopeOut<'a, B: ?Sized> {
    /// Canonical type name; first, so a reader can dispatch before the body.
    #[serde(rename = "type")]
    pub(crate) type_name: &'static str,
    /// Request id; 0 means "none" and is not written.
    #[serde(skip_serializing_if = "is_zero")]
    pub(crate) id: u64,
    /// The account the message is about, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) account_id: Option<&'a str>,
    /// The variant's fields (`()` for a field-less message).
    #[serde(flatten)]
    pub(crate) body: &'a B,
}

/// For `skip_serializing_if`: an `id` of 0 is the protocol's "no id".
fn is_zero(id: &u64) -> bool {
    *id == 0
}

/// What the decoder has learnt so far; read after a failure to build a precise
/// [`MessageError`] (serde's error type alone cannot carry the `id` or the field).
#[derive(Default)]
pub(crate) struct Ctx<'de> {
    /// The map has been entered (so the input is an object, not some other JSON value).
    entered: bool,
    /// The `id` once read (duplicates are refused).
    id: Option<u64>,
    /// Whether `account_id` has been read (it may legitimately be `null`).
    account_id_seen: bool,
    /// The `account_id` once read.
    account_id: Option<String>,
    /// The canonical type name once `type` has been resolved.
    type_name: Option<&'static str>,
    /// The top-level key whose value is being read; `None` between entries. Borrowed from
    /// the input when it has no escapes, so the fast path does not allocate.
    field: Option<Cow<'de, str>>,
    /// A failure the visitor detected itself, more precise than serde's message.
    failure: Option<Failure>,
}

/// Failures the envelope visitor diagnoses itself.
enum Failure {
    /// The map ended without a `type`.
    MissingType,
    /// `type` named nothing in the table; holds the (clipped) name.
    UnknownType(String),
}

/// The error for a decoder that returned success without a message, which the visitor's
/// structure rules out; an error rather than a panic all the same.
const NO_MESSAGE: &str = "internal error: the decoder produced no message";

/// Decodes one envelope of kind `K` from a complete JSON text and hands its parts (`id`,
/// `account_id`, kind) to `build`, so the message is assembled in one place.
pub(crate) fn decode<K: Kind, M>(
    bytes: &[u8],
    build: impl FnOnce(u64, Option<String>, K) -> M,
) -> Result<M, MessageError> {
    // One UTF-8 check of the whole text is cheaper than serde_json's check of every string
    // when reading from bytes (measured: about 8% of decoding `balance_info`). Invalid
    // UTF-8 is never valid JSON, so nothing that would decode is refused here.
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(error) => {
            return Err(MessageError::new(
                0,
                MessageErrorKind::BadJson {
                    reason: format!("not UTF-8: {error}"),
                },
            ));
        }
    };
    let mut ctx = Ctx::default();
    let mut slot = None;
    let mut de = serde_json::Deserializer::from_str(text);
    let result = de
        .deserialize_map(EnvelopeVisitor::new(&mut ctx, &mut slot))
        .and_then(|()| de.end());
    match (result, slot) {
        (Ok(()), Some(kind)) => Ok(build(ctx.id.unwrap_or(0), ctx.account_id, kind)),
        (Ok(()), None) => Err(MessageError::new(
            ctx.id.unwrap_or(0),
            MessageErrorKind::Invalid {
                type_name: ctx.type_name,
                reason: NO_MESSAGE.to_owned(),
            },
        )),
        (Err(error), _) => Err(classify(bytes, ctx, &error)),
    }
}

/// Decodes one envelope of kind `K` from any serde deserializer, like [`decode`] (for
/// `Deserialize` impls: errors are then the deserializer's own, without classification).
pub(crate) fn deserialize<'de, K: Kind, M, D: Deserializer<'de>>(
    deserializer: D,
    build: impl FnOnce(u64, Option<String>, K) -> M,
) -> Result<M, D::Error> {
    let mut ctx = Ctx::default();
    let mut slot = None;
    deserializer.deserialize_map(EnvelopeVisitor::new(&mut ctx, &mut slot))?;
    match slot {
        Some(kind) => Ok(build(ctx.id.unwrap_or(0), ctx.account_id, kind)),
        None => Err(de::Error::custom(NO_MESSAGE)),
    }
}

/// Turns serde_json's error plus what the decoder learnt into a [`MessageError`].
fn classify(bytes: &[u8], ctx: Ctx<'_>, error: &serde_json::Error) -> MessageError {
    let reason = || clip(&error.to_string());
    let is_data = error.classify() == Category::Data;
    let id = match ctx.id {
        Some(id) => id,
        // The JSON is well-formed: the id may simply come after the point of failure.
        None if is_data && ctx.entered => probe_id(bytes),
        None => 0,
    };
    let kind = if let Some(failure) = ctx.failure {
        match failure {
            Failure::MissingType => MessageErrorKind::MissingType,
            Failure::UnknownType(name) => MessageErrorKind::UnknownType { name },
        }
    } else if !ctx.entered {
        // serde_json refused before reading anything: either not JSON, or not an object.
        if is_data && serde_json::from_slice::<IgnoredAny>(bytes).is_ok() {
            MessageErrorKind::NotAnObject
        } else {
            MessageErrorKind::BadJson { reason: reason() }
        }
    } else if !is_data {
        MessageErrorKind::BadJson { reason: reason() }
    } else if let Some(field) = ctx.field {
        MessageErrorKind::InvalidField {
            type_name: ctx.type_name,
            field: clip(&field),
            reason: reason(),
        }
    } else if let Some(field) = missing_field_name(&error.to_string()) {
        MessageErrorKind::MissingField {
            type_name: ctx.type_name,
            field: clip(field),
        }
    } else {
        MessageErrorKind::Invalid {
            type_name: ctx.type_name,
            reason: reason(),
        }
    };
    MessageError::new(id, kind)
}

/// The field name in serde's "missing field `x`" message (the only way serde reports it).
fn missing_field_name(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("missing field `")?;
    rest.split_once('`').map(|(name, _)| name)
}

/// Reads just the top-level `id` of a well-formed message (error path only), 0 if none.
fn probe_id(bytes: &[u8]) -> u64 {
    /// Only `id`; every other field is skipped.
    #[derive(serde::Deserialize)]
    struct IdOnly {
        /// The request id, if present and a valid u64.
        #[serde(default)]
        id: Option<u64>,
    }
    serde_json::from_slice::<IdOnly>(bytes)
        .ok()
        .and_then(|probe| probe.id)
        .unwrap_or(0)
}

/// The top-level visitor: reads envelope keys until `type`, then hands the rest of the map
/// to the body.
///
/// The decoded kind goes into `slot` and the visitor itself returns `()`: a kind is up to
/// ~200 bytes, and returning it through serde_json's layers copied it several times
/// (measured: about a tenth of the decoding time of `balance_info`).
struct EnvelopeVisitor<'c, 'de, K> {
    /// Where to record what was learnt (`id`, `account_id`, failure details).
    ctx: &'c mut Ctx<'de>,
    /// Where the decoded kind goes.
    slot: &'c mut Option<K>,
}

impl<'c, 'de, K> EnvelopeVisitor<'c, 'de, K> {
    /// A visitor recording into `ctx` and writing the kind into `slot`.
    fn new(ctx: &'c mut Ctx<'de>, slot: &'c mut Option<K>) -> Self {
        Self { ctx, slot }
    }
}

impl<'de, K: Kind> Visitor<'de> for EnvelopeVisitor<'_, 'de, K> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object with a \"type\" field")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let ctx = self.ctx;
        ctx.entered = true;
        // Entries that came before `type` and are not envelope keys (slow path, rare).
        let mut early: Vec<(String, Value)> = Vec::new();
        loop {
            let Some(key) = map.next_key_seed(EnvelopeKeySeed)? else {
                ctx.failure = Some(Failure::MissingType);
                return Err(de::Error::missing_field("type"));
            };
            match key {
                EnvelopeKey::Id => read_id(&mut map, ctx)?,
                EnvelopeKey::AccountId => read_account_id(&mut map, ctx)?,
                EnvelopeKey::Other(name) => {
                    ctx.field = Some(Cow::Owned(name.clone()));
                    let value: Value = map.next_value()?;
                    ctx.field = None;
                    early.push((name, value));
                }
                EnvelopeKey::Type => {
                    ctx.field = Some(Cow::Borrowed("type"));
                    let tag = map.next_value_seed(TypeSeed::<K> {
                        ctx: &mut *ctx,
                        kind: PhantomData,
                    })?;
                    ctx.field = None;
                    ctx.type_name = Some(K::tag_name(tag));
                    let body = BodyMap {
                        inner: &mut map,
                        early: early.into_iter(),
                        pending: None,
                        ctx: &mut *ctx,
                    };
                    return K::deserialize_body(tag, MapAccessDeserializer::new(body), self.slot);
                }
            }
        }
    }
}

/// A top-level key before `type` is known.
enum EnvelopeKey {
    /// `type`: dispatch now.
    Type,
    /// `id`: the request id.
    Id,
    /// `account_id`: the account addressed.
    AccountId,
    /// Any other key, buffered with its value until `type` is known.
    Other(String),
}

/// Reads a top-level key into an [`EnvelopeKey`].
struct EnvelopeKeySeed;

impl<'de> DeserializeSeed<'de> for EnvelopeKeySeed {
    type Value = EnvelopeKey;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<EnvelopeKey, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl Visitor<'_> for EnvelopeKeySeed {
    type Value = EnvelopeKey;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a field name")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<EnvelopeKey, E> {
        Ok(match key {
            "type" => EnvelopeKey::Type,
            "id" => EnvelopeKey::Id,
            "account_id" => EnvelopeKey::AccountId,
            other => EnvelopeKey::Other(other.to_owned()),
        })
    }
}

/// Reads the value of an `id` key (a u64, or null for "none").
fn read_id<'de, A: MapAccess<'de>>(map: &mut A, ctx: &mut Ctx<'de>) -> Result<(), A::Error> {
    ctx.field = Some(Cow::Borrowed("id"));
    if ctx.id.is_some() {
        return Err(de::Error::duplicate_field("id"));
    }
    let id: Option<u64> = map.next_value()?;
    ctx.id = Some(id.unwrap_or(0));
    ctx.field = None;
    Ok(())
}

/// Reads the value of an `account_id` key (a string, or null for "none").
fn read_account_id<'de, A: MapAccess<'de>>(
    map: &mut A,
    ctx: &mut Ctx<'de>,
) -> Result<(), A::Error> {
    ctx.field = Some(Cow::Borrowed("account_id"));
    if ctx.account_id_seen {
        return Err(de::Error::duplicate_field("account_id"));
    }
    ctx.account_id = map.next_value()?;
    ctx.account_id_seen = true;
    ctx.field = None;
    Ok(())
}

/// Reads the value of `type` and resolves it to a tag of `K`.
struct TypeSeed<'c, 'de, K> {
    /// Where to record an unknown type name.
    ctx: &'c mut Ctx<'de>,
    /// The kind family whose table is searched.
    kind: PhantomData<fn() -> K>,
}

impl<'de, K: Kind> DeserializeSeed<'de> for TypeSeed<'_, 'de, K> {
    type Value = K::Tag;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<K::Tag, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de, K: Kind> Visitor<'de> for TypeSeed<'_, 'de, K> {
    type Value = K::Tag;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a message type name")
    }

    fn visit_str<E: de::Error>(self, name: &str) -> Result<K::Tag, E> {
        match K::tag_of(name) {
            Some(tag) => Ok(tag),
            None => {
                let name = clip(name);
                let error = E::custom(format_args!("unknown type \"{name}\""));
                self.ctx.failure = Some(Failure::UnknownType(name));
                Err(error)
            }
        }
    }
}

/// The rest of the envelope's map as the body sees it: first the entries buffered before
/// `type`, then the live entries, with `id` / `account_id` taken out on the way.
struct BodyMap<'m, 'c, 'de, A> {
    /// The envelope's map, positioned after `type`.
    inner: &'m mut A,
    /// Entries that preceded `type` (usually none).
    early: std::vec::IntoIter<(String, Value)>,
    /// The value of the buffered entry whose key was just returned.
    pending: Option<Value>,
    /// Where to record envelope keys and the current field.
    ctx: &'c mut Ctx<'de>,
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for BodyMap<'_, '_, 'de, A> {
    type Error = A::Error;

    fn next_key_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, A::Error> {
        if let Some((key, value)) = self.early.next() {
            self.ctx.field = Some(Cow::Owned(key.clone()));
            self.pending = Some(value);
            return seed.deserialize(StringDeserializer::new(key)).map(Some);
        }
        let mut seed = Some(seed);
        loop {
            let key = self.inner.next_key_seed(BodyKeySeed {
                seed: &mut seed,
                ctx: &mut *self.ctx,
            })?;
            match key {
                None => return Ok(None),
                Some(BodyKey::Field(value)) => return Ok(Some(value)),
                Some(BodyKey::Id) => read_id(&mut *self.inner, self.ctx)?,
                Some(BodyKey::AccountId) => read_account_id(&mut *self.inner, self.ctx)?,
                Some(BodyKey::Type) => {
                    self.ctx.field = Some(Cow::Borrowed("type"));
                    return Err(de::Error::duplicate_field("type"));
                }
            }
        }
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, A::Error> {
        let value = match self.pending.take() {
            Some(buffered) => seed.deserialize(buffered).map_err(de::Error::custom)?,
            None => self.inner.next_value_seed(seed)?,
        };
        self.ctx.field = None;
        Ok(value)
    }
}

/// A key after `type`: an envelope key to intercept, or a body field.
enum BodyKey<V> {
    /// `type` again: refused as a duplicate.
    Type,
    /// `id` after `type`.
    Id,
    /// `account_id` after `type`.
    AccountId,
    /// A body field, already turned into the body's own field identifier.
    Field(V),
}

/// Reads a key after `type`, passing body keys to the body's own key seed without
/// allocating. The seed sits in an `Option` because an intercepted key does not consume it
/// and the next key needs it.
struct BodyKeySeed<'s, 'c, 'de, S> {
    /// The body's key seed, taken when a body key is found.
    seed: &'s mut Option<S>,
    /// Where to record the current field.
    ctx: &'c mut Ctx<'de>,
}

impl<'de, S: DeserializeSeed<'de>> BodyKeySeed<'_, '_, 'de, S> {
    /// Takes the body's seed; it is present because every key that consumes it ends the
    /// caller's loop.
    fn take_seed<E: de::Error>(&mut self) -> Result<S, E> {
        self.seed
            .take()
            .ok_or_else(|| E::custom("internal error: body key seed used twice"))
    }
}

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for BodyKeySeed<'_, '_, 'de, S> {
    type Value = BodyKey<S::Value>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de, S: DeserializeSeed<'de>> Visitor<'de> for BodyKeySeed<'_, '_, 'de, S> {
    type Value = BodyKey<S::Value>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a field name")
    }

    fn visit_borrowed_str<E: de::Error>(mut self, key: &'de str) -> Result<Self::Value, E> {
        match key {
            "type" => Ok(BodyKey::Type),
            "id" => Ok(BodyKey::Id),
            "account_id" => Ok(BodyKey::AccountId),
            _ => {
                self.ctx.field = Some(Cow::Borrowed(key));
                self.take_seed()?
                    .deserialize(BorrowedStrDeserializer::new(key))
                    .map(BodyKey::Field)
            }
        }
    }

    fn visit_str<E: de::Error>(mut self, key: &str) -> Result<Self::Value, E> {
        match key {
            "type" => Ok(BodyKey::Type),
            "id" => Ok(BodyKey::Id),
            "account_id" => Ok(BodyKey::AccountId),
            _ => {
                self.ctx.field = Some(Cow::Owned(key.to_owned()));
                self.take_seed()?
                    .deserialize(StrDeserializer::new(key))
                    .map(BodyKey::Field)
            }
        }
    }
}
