//! The request mix: which requests a run sends, with weights and templated fields.
//!
//! A [`RequestSpec`] is any API request as a JSON object (`type` plus its fields), a weight
//! and an optional metric name. String values may hold placeholders, filled from the pool of
//! accounts that setup created (or named):
//!
//! | placeholder | becomes |
//! |---|---|
//! | `{account}` | the `account_id` of a random pool account (the *sender*) |
//! | `{address}` | the sender's address (bech32) |
//! | `{recipient}` | the address of a random pool account other than the sender |
//!
//! A wallet request about one account that names no `account_id` gets `"{account}"`.
//!
//! Every combination of sender and recipient is rendered once, when the mix is built, into the
//! request's JSON text split around its `id`, so the hot path writes
//! `prefix + id + suffix` and never serialises or allocates (pools hold at most
//! [`ACCOUNTS_MAX`] accounts, so a template has at most 9,900 renderings).

use std::collections::BTreeMap;

use serde_json::{Map, Value};
use stegosim_api::group::Group;
use stegosim_api::message::{Request, RequestKind};
use stegosim_api::rng::Stream;

/// The largest account pool a mix renders for.
pub const ACCOUNTS_MAX: usize = 100;

/// The largest number of request specs in one mix.
pub const SPECS_MAX: usize = 256;

/// An id no real request uses, written where the id goes and then cut out.
const ID_MARKER: u64 = 18_446_744_073_709_551_557;

/// One request of the mix, as written in a profile or on the command line.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestSpec {
    /// The name its metrics go under (default: the request's `type`). Specs with the same
    /// name share histograms.
    pub name: Option<String>,
    /// Relative weight (> 0).
    pub weight: u32,
    /// The request as a JSON object: `type`, maybe `account_id`, and the body's fields.
    pub fields: Map<String, Value>,
}

impl RequestSpec {
    /// A spec of a request type with no fields and weight 1.
    pub fn of_type(type_name: &str) -> RequestSpec {
        let mut fields = Map::new();
        fields.insert("type".into(), Value::String(type_name.into()));
        RequestSpec {
            name: None,
            weight: 1,
            fields,
        }
    }

    /// Parses the command line's form: `TYPE`, `TYPE*WEIGHT`, or a JSON object with `type`,
    /// the fields, and optionally `weight` and `name`.
    pub fn parse_cli(text: &str) -> Result<RequestSpec, MixError> {
        let text = text.trim();
        if text.starts_with('{') {
            let value: Value = serde_json::from_str(text)
                .map_err(|e| MixError(format!("request {text:?} is not JSON: {e}")))?;
            let Value::Object(fields) = value else {
                return Err(MixError(format!("request {text:?} is not a JSON object")));
            };
            return RequestSpec::from_object(fields);
        }
        let (name, weight) = match text.split_once('*') {
            Some((n, w)) => (
                n.trim(),
                w.trim()
                    .parse::<u32>()
                    .map_err(|_| MixError(format!("weight {w:?} in {text:?} is not a number")))?,
            ),
            None => (text, 1),
        };
        let mut spec = RequestSpec::of_type(name);
        spec.weight = weight;
        Ok(spec)
    }

    /// A spec from a JSON object holding `type`, fields, and optional `weight` and `name`.
    pub fn from_object(mut fields: Map<String, Value>) -> Result<RequestSpec, MixError> {
        let weight = match fields.remove("weight") {
            None => 1,
            Some(w) => w
                .as_u64()
                .and_then(|w| u32::try_from(w).ok())
                .ok_or_else(|| MixError(format!("weight {w} is not a whole number")))?,
        };
        let name = match fields.remove("name") {
            None => None,
            Some(Value::String(s)) => Some(s),
            Some(other) => return Err(MixError(format!("name {other} is not a string"))),
        };
        Ok(RequestSpec {
            name,
            weight,
            fields,
        })
    }

    /// The request's `type`, if it has a string one.
    pub fn type_name(&self) -> Option<&str> {
        self.fields.get("type").and_then(Value::as_str)
    }

    /// The metric name.
    pub fn metric_name(&self) -> String {
        self.name
            .clone()
            .or_else(|| self.type_name().map(str::to_string))
            .unwrap_or_else(|| "?".into())
    }

    /// Whether any field uses `placeholder`.
    fn uses(&self, placeholder: &str) -> bool {
        fn walk(v: &Value, p: &str) -> bool {
            match v {
                Value::String(s) => s.contains(p),
                Value::Array(a) => a.iter().any(|v| walk(v, p)),
                Value::Object(o) => o.values().any(|v| walk(v, p)),
                _ => false,
            }
        }
        self.fields.values().any(|v| walk(v, placeholder))
    }
}

/// A bad request spec, or a mix that cannot be rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct MixError(pub String);

/// One account of the pool: its id and, when known, its address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolAccount {
    /// The `account_id`.
    pub id: String,
    /// Its address (bech32), when setup asked for it.
    pub address: Option<String>,
}

/// What the load generator follows after a request's response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Follow {
    /// Nothing: the response ends it.
    Nothing,
    /// A transaction: `transaction_status` notifications for the `tx_hash` of the
    /// `transaction_created` response (accepted, prepared, committed).
    Transaction,
    /// A Snowball payment: `snowball_status` of the sending account until `succeeded`, then
    /// the transaction's statuses.
    Snowball,
}

/// A request rendered as JSON text around its id.
#[derive(Debug, Clone)]
struct Rendered {
    /// Everything up to and including `"id":`.
    prefix: Box<[u8]>,
    /// Everything after the id's digits.
    suffix: Box<[u8]>,
    /// The sender's index in the pool, when the request names one.
    sender: Option<u32>,
}

/// One spec, rendered.
#[derive(Debug, Clone)]
struct Entry {
    metric: u16,
    uses_sender: bool,
    uses_recipient: bool,
    uses_address: bool,
    follow: Follow,
    variants: Vec<Rendered>,
}

/// The mix, rendered for one pool: draw a request with [`Mix::pick`].
#[derive(Debug, Clone)]
pub struct Mix {
    entries: Vec<Entry>,
    /// Cumulative weights, one per entry.
    cumulative: Vec<u64>,
    /// Metric names, by metric index.
    metrics: Vec<String>,
    /// The pool's account ids (for Snowball notifications, which name the account).
    accounts: Vec<String>,
    pool_len: u32,
}

/// A drawn request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pick {
    /// Entry index.
    entry: u32,
    /// Variant index.
    variant: u32,
}

/// Whether a wallet request names one account (and so needs `account_id`).
fn needs_account(kind: &RequestKind) -> bool {
    Group::of(kind) == Group::Wallet
        && !matches!(
            kind,
            RequestKind::AccountsInfo
                | RequestKind::CreateAccount(_)
                | RequestKind::RecoverAccount(_)
        )
}

fn follow_of(kind: &RequestKind) -> Follow {
    match kind {
        RequestKind::SecurePayment(_) => Follow::Snowball,
        RequestKind::Payment(_)
        | RequestKind::PublicPayment(_)
        | RequestKind::CloakAll(_)
        | RequestKind::Stake(_)
        | RequestKind::Unstake(_)
        | RequestKind::UnstakeAll(_)
        | RequestKind::RestakeAll => Follow::Transaction,
        _ => Follow::Nothing,
    }
}

/// Replaces the placeholders in every string of `v`.
fn substitute(v: &Value, sub: &mut dyn FnMut(&str) -> String) -> Value {
    match v {
        Value::String(s) if s.contains('{') => Value::String(sub(s)),
        Value::Array(a) => Value::Array(a.iter().map(|v| substitute(v, sub)).collect()),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, v)| (k.clone(), substitute(v, sub)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Renders a spec's fields with the given values into a typed request (validated by the
/// API's own parser) and then into JSON text split around the id.
fn render(
    spec: &RequestSpec,
    fields: &Map<String, Value>,
    account: Option<&PoolAccount>,
    recipient: Option<&PoolAccount>,
) -> Result<(Request, Rendered), MixError> {
    let name = spec.metric_name();
    let missing = |what: &str| {
        MixError(format!(
            "request {name}: {what} is not known (setup did not fetch account addresses)"
        ))
    };
    let account_id = account.map(|a| a.id.clone()).unwrap_or_default();
    let address = match account {
        Some(a) => a.address.clone(),
        None => None,
    };
    let recipient_address = match recipient {
        Some(r) => r.address.clone(),
        None => None,
    };
    let mut failure = None;
    let mut sub = |s: &str| -> String {
        let mut out = s.replace("{account}", &account_id);
        if out.contains("{address}") {
            match &address {
                Some(a) => out = out.replace("{address}", a),
                None => failure = Some(missing("the sender's address")),
            }
        }
        if out.contains("{recipient}") {
            match &recipient_address {
                Some(a) => out = out.replace("{recipient}", a),
                None => failure = Some(missing("the recipient's address")),
            }
        }
        out
    };
    let mut filled = substitute(&Value::Object(fields.clone()), &mut sub);
    if let Some(e) = failure {
        return Err(e);
    }
    if let Value::Object(o) = &mut filled {
        o.insert("id".into(), Value::from(ID_MARKER));
    }
    let text = serde_json::to_vec(&filled).map_err(|e| MixError(e.to_string()))?;
    let mut request = Request::from_json(&text).map_err(|e| {
        MixError(format!(
            "request {name} is not a valid API request: {e} (fields: {})",
            Value::Object(spec.fields.clone())
        ))
    })?;
    request.id = ID_MARKER;
    let mut json = Vec::new();
    request.to_json(&mut json);
    let marker = format!("\"id\":{ID_MARKER}");
    let at = find(&json, marker.as_bytes())
        .ok_or_else(|| MixError(format!("request {name}: the id is not where it belongs")))?;
    let prefix = json[..at + 5].to_vec().into_boxed_slice();
    let suffix = json[at + marker.len()..].to_vec().into_boxed_slice();
    request.id = 0;
    Ok((
        request,
        Rendered {
            prefix,
            suffix,
            sender: None,
        },
    ))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The mix's limits: at least one spec, at most [`SPECS_MAX`], a pool of at most
/// [`ACCOUNTS_MAX`] accounts.
fn check_sizes(specs: &[RequestSpec], pool: &[PoolAccount]) -> Result<(), MixError> {
    if specs.is_empty() {
        return Err(MixError(
            "the mix is empty: name a request (--request TYPE, or [[requests]] in the profile)"
                .into(),
        ));
    }
    if specs.len() > SPECS_MAX {
        return Err(MixError(format!(
            "{} requests in the mix, more than {SPECS_MAX}",
            specs.len()
        )));
    }
    if pool.len() > ACCOUNTS_MAX {
        return Err(MixError(format!(
            "{} accounts in the pool, more than {ACCOUNTS_MAX}",
            pool.len()
        )));
    }
    Ok(())
}

/// One spec's entry (its metric index left 0 for the caller): checked, and rendered once
/// per sender and recipient it can have in `pool`.
fn entry_of(spec: &RequestSpec, name: &str, pool: &[PoolAccount]) -> Result<Entry, MixError> {
    if spec.weight == 0 {
        return Err(MixError(format!("request {name} has weight 0")));
    }
    if spec.type_name().is_none() {
        return Err(MixError(format!(
            "request {} has no \"type\"",
            Value::Object(spec.fields.clone())
        )));
    }
    let mut fields = spec.fields.clone();
    // A first rendering with stand-in values checks the spec and tells whether it is
    // a wallet request about one account.
    let stand_in = PoolAccount {
        id: "1".into(),
        address: Some("dev1standin".into()),
    };
    let (probe, _) = render(spec, &fields, Some(&stand_in), Some(&stand_in))?;
    if needs_account(&probe.kind) && !fields.contains_key("account_id") {
        fields.insert("account_id".into(), Value::String("{account}".into()));
    }
    let with_fields = RequestSpec {
        fields: fields.clone(),
        ..spec.clone()
    };
    let uses_sender = with_fields.uses("{account}") || with_fields.uses("{address}");
    let uses_recipient = with_fields.uses("{recipient}");
    let n = pool.len();
    if uses_sender && n == 0 {
        return Err(MixError(format!(
            "request {name} needs an account, and the pool is empty: create some \
             (--accounts N, or [setup] accounts = N) or name them (--account ID)"
        )));
    }
    if uses_recipient && n < 1 + usize::from(uses_sender) {
        return Err(MixError(format!(
            "request {name} needs a recipient other than the sender: the pool needs \
             at least 2 accounts"
        )));
    }
    Ok(Entry {
        metric: 0,
        uses_sender,
        uses_recipient,
        uses_address: with_fields.uses("{address}") || uses_recipient,
        follow: follow_of(&probe.kind),
        variants: variants_of(spec, &fields, pool, uses_sender, uses_recipient)?,
    })
}

/// `spec` rendered for every sender in `pool` (when it names one) and every recipient other
/// than the sender (when it names one), senders first.
fn variants_of(
    spec: &RequestSpec,
    fields: &Map<String, Value>,
    pool: &[PoolAccount],
    uses_sender: bool,
    uses_recipient: bool,
) -> Result<Vec<Rendered>, MixError> {
    let n = pool.len();
    let mut variants = Vec::new();
    let senders: Vec<Option<usize>> = if uses_sender {
        (0..n).map(Some).collect()
    } else {
        vec![None]
    };
    for s in senders {
        let recipients: Vec<Option<usize>> = if uses_recipient {
            (0..n).filter(|r| Some(*r) != s).map(Some).collect()
        } else {
            vec![None]
        };
        for r in recipients {
            let (_, rendered) = render(spec, fields, s.map(|i| &pool[i]), r.map(|i| &pool[i]))?;
            variants.push(Rendered {
                sender: s.map(|i| i as u32),
                ..rendered
            });
        }
    }
    Ok(variants)
}

impl Mix {
    /// Renders `specs` for `pool`. Fails naming the spec when a spec is not a valid request,
    /// names an unknown placeholder value, or needs accounts the pool does not have.
    pub fn build(specs: &[RequestSpec], pool: &[PoolAccount]) -> Result<Mix, MixError> {
        check_sizes(specs, pool)?;
        let mut metrics: Vec<String> = Vec::new();
        let mut entries = Vec::new();
        let mut cumulative = Vec::new();
        let mut total = 0u64;
        for spec in specs {
            let name = spec.metric_name();
            let mut entry = entry_of(spec, &name, pool)?;
            entry.metric = match metrics.iter().position(|m| *m == name) {
                Some(i) => i,
                None => {
                    metrics.push(name);
                    metrics.len() - 1
                }
            } as u16;
            total += u64::from(spec.weight);
            cumulative.push(total);
            entries.push(entry);
        }
        Ok(Mix {
            entries,
            cumulative,
            metrics,
            accounts: pool.iter().map(|a| a.id.clone()).collect(),
            pool_len: pool.len() as u32,
        })
    }

    /// Whether some request names a sending account.
    pub fn uses_sender(&self) -> bool {
        self.entries.iter().any(|e| e.uses_sender)
    }

    /// Whether some request names a recipient from the pool.
    pub fn uses_recipient(&self) -> bool {
        self.entries.iter().any(|e| e.uses_recipient)
    }

    /// Whether some request needs account addresses.
    pub fn uses_addresses(&self) -> bool {
        self.entries.iter().any(|e| e.uses_address)
    }

    /// Metric names, by metric index.
    pub fn metric_names(&self) -> &[String] {
        &self.metrics
    }

    /// Draws a request from `rng`: an entry by weight, then sender and recipient uniformly.
    pub fn pick(&self, rng: &mut Stream) -> Pick {
        let total = *self
            .cumulative
            .last()
            .expect("a mix is never empty (checked in build)");
        let x = rng.below(total);
        let entry = self.cumulative.partition_point(|c| *c <= x);
        let e = &self.entries[entry];
        let n = u64::from(self.pool_len);
        let variant = match (e.uses_sender, e.uses_recipient) {
            (false, false) => 0,
            (true, false) | (false, true) => rng.below(n),
            (true, true) => rng.below(n) * (n - 1) + rng.below(n - 1),
        };
        Pick {
            entry: entry as u32,
            variant: variant as u32,
        }
    }

    /// Writes the JSON text of `pick` with `id` into `out` (cleared first).
    pub fn write(&self, pick: Pick, id: u64, out: &mut Vec<u8>) {
        let r = &self.entries[pick.entry as usize].variants[pick.variant as usize];
        out.clear();
        out.extend_from_slice(&r.prefix);
        write_u64(id, out);
        out.extend_from_slice(&r.suffix);
    }

    /// The metric index of `pick`.
    pub fn metric(&self, pick: Pick) -> u16 {
        self.entries[pick.entry as usize].metric
    }

    /// What to follow after `pick`'s response.
    pub fn follow(&self, pick: Pick) -> Follow {
        self.entries[pick.entry as usize].follow
    }

    /// The account id that sends `pick`, if it names one from the pool.
    pub fn sender(&self, pick: Pick) -> Option<&str> {
        let r = &self.entries[pick.entry as usize].variants[pick.variant as usize];
        r.sender.map(|i| self.accounts[i as usize].as_str())
    }

    /// How many renderings the mix holds (for tests and limits).
    pub fn variants(&self) -> usize {
        self.entries.iter().map(|e| e.variants.len()).sum()
    }

    /// Per-metric weights, for the configuration echo in results.
    pub fn weights(&self) -> BTreeMap<String, u64> {
        let mut out = BTreeMap::new();
        let mut prev = 0;
        for (e, c) in self.entries.iter().zip(&self.cumulative) {
            *out.entry(self.metrics[e.metric as usize].clone())
                .or_insert(0) += c - prev;
            prev = *c;
        }
        out
    }
}

/// Appends the decimal digits of `v`.
fn write_u64(mut v: u64, out: &mut Vec<u8>) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use stegosim_api::rng::Seed;

    fn pool(n: usize) -> Vec<PoolAccount> {
        (1..=n)
            .map(|i| PoolAccount {
                id: i.to_string(),
                address: Some(format!("dev1addr{i}")),
            })
            .collect()
    }

    #[test]
    fn renders_and_splices_the_id() {
        let mix = Mix::build(&[RequestSpec::of_type("status_info")], &[]).unwrap();
        let mut rng = Seed(1).stream("mix");
        let p = mix.pick(&mut rng);
        let mut out = Vec::new();
        mix.write(p, 42, &mut out);
        let r = Request::from_json(&out).unwrap();
        assert_eq!(r.id, 42);
        assert_eq!(r.type_name(), "status_info");
        mix.write(p, u64::MAX, &mut out);
        assert_eq!(Request::from_json(&out).unwrap().id, u64::MAX);
        mix.write(p, 0, &mut out);
        assert_eq!(Request::from_json(&out).unwrap().id, 0);
    }

    #[test]
    fn wallet_requests_get_an_account_and_recipients_differ() {
        let specs = [
            RequestSpec::parse_cli("balance_info*3").unwrap(),
            RequestSpec::parse_cli(
                r#"{"type":"payment","recipient":"{recipient}","amount":10,"payment_fee":1000,"name":"pay"}"#,
            )
            .unwrap(),
        ];
        let mix = Mix::build(&specs, &pool(4)).unwrap();
        assert_eq!(mix.metric_names(), ["balance_info", "pay"]);
        assert_eq!(mix.variants(), 4 + 4 * 3);
        let mut rng = Seed(7).stream("mix");
        let mut out = Vec::new();
        let mut counts = [0u32; 2];
        for i in 0..4000 {
            let p = mix.pick(&mut rng);
            mix.write(p, i, &mut out);
            let r = Request::from_json(&out).unwrap();
            let sender = r
                .account_id
                .clone()
                .expect("every request names an account");
            assert_eq!(mix.sender(p), Some(sender.as_str()));
            counts[usize::from(mix.metric(p))] += 1;
            if let RequestKind::Payment(pay) = &r.kind {
                assert_ne!(pay.recipient, format!("dev1addr{sender}"));
                assert_eq!(mix.follow(p), Follow::Transaction);
            }
        }
        // 3:1 weights.
        assert!((2800..3200).contains(&counts[0]), "{counts:?}");
    }

    #[test]
    fn errors_name_the_problem() {
        let e = Mix::build(&[RequestSpec::of_type("balance_info")], &[]).unwrap_err();
        assert!(e.0.contains("pool is empty"), "{e}");
        let e = Mix::build(&[RequestSpec::of_type("no_such_thing")], &[]).unwrap_err();
        assert!(e.0.contains("no_such_thing"), "{e}");
        let e = Mix::build(&[RequestSpec::of_type("macro_block_info")], &[]).unwrap_err();
        assert!(e.0.contains("epoch"), "{e}");
        let e = Mix::build(&[], &[]).unwrap_err();
        assert!(e.0.contains("empty"), "{e}");
        assert!(RequestSpec::parse_cli("status_info*x").is_err());
        let spec = RequestSpec::parse_cli(
            r#"{"type":"payment","recipient":"{recipient}","amount":1,"payment_fee":1000}"#,
        )
        .unwrap();
        let e = Mix::build(&[spec], &pool(1)).unwrap_err();
        assert!(e.0.contains("at least 2"), "{e}");
    }
}
