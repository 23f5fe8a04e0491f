//! Access keys, API groups and rate limits (from `seeds/api-access-and-restrictions.txt` and
//! `seeds/api-keys-and-rate-limits.txt`).
//!
//! Besides `api.token` (every group, unlimited unless configured), an optional access file
//! (`DIR/access.toml`) lists further keys. Each key has a name, the API groups it may use and
//! an optional rate limit ("N requests per T seconds", a token bucket). The file stores, per
//! key, a salt and the frame key derived from the key's secret with that salt
//! ([`ApiToken::from_access_key`]); the secret is only in the client's key file.
//!
//! ```toml
//! # Optional: a rate limit for api.token itself.
//! [token]
//! rate_limit = "1000/1s"
//!
//! [[keys]]
//! name = "monitor"
//! salt = "q83vEjRWeJA="            # base64
//! frame_key = "Zm9vYmFyYmF6cXV4cXV1eA=="  # base64 of 16 bytes
//! groups = ["node"]                # node, wallet, admin, debug, network, or "*"
//! rate_limit = "300/30s"
//! ```

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use stegosim_api::group::Group;
use stegosim_api::token::{ACCESS_KEY_PREFIX, ApiToken};

/// "N requests per T": a token bucket of N tokens refilled at N per T.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests allowed per window (the bucket's size).
    pub requests: u32,
    /// The window.
    pub per: Duration,
}

impl RateLimit {
    /// Parses `N/T` where T is a number with a unit (`ms`, `s`, `m`, `h`), e.g. `300/30s`.
    pub fn parse(text: &str) -> Result<RateLimit, String> {
        let (n, t) = text
            .split_once('/')
            .ok_or_else(|| format!("rate limit {text:?}: expected N/T, e.g. 300/30s"))?;
        let requests: u32 = n
            .trim()
            .parse()
            .map_err(|_| format!("rate limit {text:?}: {n:?} is not a whole number"))?;
        let t = t.trim();
        let split = t
            .find(|c: char| !c.is_ascii_digit())
            .ok_or_else(|| format!("rate limit {text:?}: the window needs a unit (ms, s, m, h)"))?;
        let (num, unit) = t.split_at(split);
        let num: u64 = num
            .parse()
            .map_err(|_| format!("rate limit {text:?}: {num:?} is not a whole number"))?;
        let per = match unit {
            "ms" => Duration::from_millis(num),
            "s" => Duration::from_secs(num),
            "m" => Duration::from_secs(num * 60),
            "h" => Duration::from_secs(num * 3600),
            other => {
                return Err(format!(
                    "rate limit {text:?}: unknown unit {other:?} (ms, s, m, h)"
                ));
            }
        };
        if requests == 0 || per.is_zero() {
            return Err(format!("rate limit {text:?}: both numbers must be above 0"));
        }
        Ok(RateLimit { requests, per })
    }
}

impl std::fmt::Display for RateLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}ms", self.requests, self.per.as_millis())
    }
}

/// A token bucket, driven by the caller's clock (elapsed time in ns).
#[derive(Debug, Clone)]
pub struct TokenBucket {
    limit: RateLimit,
    /// Tokens available, scaled by 1e9 to stay integral.
    tokens_nano: u128,
    last_ns: u64,
}

impl TokenBucket {
    /// A full bucket.
    pub fn new(limit: RateLimit, now_ns: u64) -> Self {
        TokenBucket {
            limit,
            tokens_nano: limit.requests as u128 * 1_000_000_000,
            last_ns: now_ns,
        }
    }

    /// Takes one token; `Err(wait)` says how long until one is available.
    pub fn take(&mut self, now_ns: u64) -> Result<(), Duration> {
        let cap = self.limit.requests as u128 * 1_000_000_000;
        let per_ns = self.limit.per.as_nanos().max(1);
        let elapsed = now_ns.saturating_sub(self.last_ns) as u128;
        self.last_ns = self.last_ns.max(now_ns);
        // Refill: requests per `per`, in nano-tokens per ns.
        self.tokens_nano = (self.tokens_nano
            + elapsed * self.limit.requests as u128 * 1_000_000_000 / per_ns)
            .min(cap);
        if self.tokens_nano >= 1_000_000_000 {
            self.tokens_nano -= 1_000_000_000;
            Ok(())
        } else {
            let missing = 1_000_000_000 - self.tokens_nano;
            let wait_ns = missing * per_ns / (self.limit.requests as u128 * 1_000_000_000);
            Err(Duration::from_nanos(
                wait_ns.min(u64::MAX as u128) as u64 + 1,
            ))
        }
    }
}

/// One key the server accepts.
#[derive(Debug, Clone)]
pub struct AccessKey {
    /// The key's name, for logs and errors.
    pub name: String,
    /// The AES key of its frames.
    pub frame_key: ApiToken,
    /// Groups it may use.
    pub groups: BTreeSet<Group>,
    /// Its rate limit, if any.
    pub rate_limit: Option<RateLimit>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct AccessFile {
    #[serde(default)]
    token: Option<TokenSection>,
    #[serde(default)]
    keys: Vec<KeyEntry>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenSection {
    rate_limit: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyEntry {
    name: String,
    salt: String,
    frame_key: String,
    groups: Vec<String>,
    #[serde(default)]
    rate_limit: Option<String>,
}

fn parse_groups(list: &[String], key: &str) -> Result<BTreeSet<Group>, String> {
    let mut groups = BTreeSet::new();
    for g in list {
        if g == "*" {
            groups.extend(Group::ALL);
            continue;
        }
        let group = Group::ALL
            .into_iter()
            .find(|x| x.name() == g)
            .ok_or_else(|| {
                format!(
                    "key {key:?}: unknown group {g:?} (node, wallet, admin, debug, network or *)"
                )
            })?;
        groups.insert(group);
    }
    Ok(groups)
}

/// The keys a server accepts: `api.token` first, then the access file's keys.
#[derive(Debug, Clone)]
pub struct AccessList {
    /// Every accepted key; index 0 is `api.token`.
    pub keys: Vec<AccessKey>,
}

impl AccessList {
    /// Only `api.token`, with every group and no limit.
    pub fn token_only(token: ApiToken) -> Self {
        AccessList {
            keys: vec![AccessKey {
                name: "api.token".into(),
                frame_key: token,
                groups: Group::ALL.into_iter().collect(),
                rate_limit: None,
            }],
        }
    }

    /// `api.token` plus the keys of the access file at `path` (if it exists). Errors name the
    /// file and, for TOML errors, the line.
    pub fn load(token: ApiToken, path: &Path) -> Result<Self, String> {
        let mut list = Self::token_only(token);
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(list),
            Err(e) => return Err(format!("{}: {e}", path.display())),
        };
        let file: AccessFile =
            toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        if let Some(t) = file.token.and_then(|t| t.rate_limit) {
            list.keys[0].rate_limit = Some(
                RateLimit::parse(&t).map_err(|e| format!("{}: [token]: {e}", path.display()))?,
            );
        }
        for k in file.keys {
            let bad = |what: &str| format!("{}: key {:?}: {what}", path.display(), k.name);
            let frame_key =
                ApiToken::from_base64(&k.frame_key).map_err(|e| bad(&format!("frame_key: {e}")))?;
            let groups =
                parse_groups(&k.groups, &k.name).map_err(|e| format!("{}: {e}", path.display()))?;
            let rate_limit = match &k.rate_limit {
                Some(r) => Some(RateLimit::parse(r).map_err(|e| bad(&e))?),
                None => None,
            };
            if list.keys.iter().any(|x| x.name == k.name) {
                return Err(bad("the name is used twice"));
            }
            list.keys.push(AccessKey {
                name: k.name,
                frame_key,
                groups,
                rate_limit,
            });
        }
        Ok(list)
    }
}

/// Adds a key to the access file at `path` (created with mode 0600 when missing) and returns
/// the client's key text (`stegosim-access-v1:<salt>:<secret>`), to be saved by the client in
/// a file it passes as `--token-file`. `random` supplies 32 bytes of OS randomness.
pub fn add_key(
    path: &Path,
    name: &str,
    groups: &[String],
    rate_limit: Option<&str>,
    random: [u8; 32],
) -> Result<String, String> {
    if name.is_empty() || name == "api.token" {
        return Err("a key needs a name other than api.token".into());
    }
    parse_groups(groups, name)?;
    if let Some(r) = rate_limit {
        RateLimit::parse(r)?;
    }
    let mut file: AccessFile = match std::fs::read_to_string(path) {
        Ok(t) => toml::from_str(&t).map_err(|e| format!("{}: {e}", path.display()))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => AccessFile::default(),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    if file.keys.iter().any(|k| k.name == name) {
        return Err(format!(
            "{}: a key named {name:?} exists already",
            path.display()
        ));
    }
    let (salt, secret) = random.split_at(16);
    let b64 = base64_simd::STANDARD;
    let frame_key = ApiToken::from_access_key(salt, secret);
    file.keys.push(KeyEntry {
        name: name.to_string(),
        salt: b64.encode_to_string(salt),
        frame_key: frame_key.to_base64(),
        groups: groups.to_vec(),
        rate_limit: rate_limit.map(str::to_string),
    });
    let text = toml::to_string_pretty(&file).map_err(|e| e.to_string())?;
    write_private(path, &text).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(format!(
        "{ACCESS_KEY_PREFIX}{}:{}",
        b64.encode_to_string(salt),
        b64.encode_to_string(secret)
    ))
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    std::io::Write::write_all(&mut tmp, text.as_bytes())?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o600))?;
    }
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limits_parse_and_buckets_refill() {
        let r = RateLimit::parse("3/1s").unwrap();
        assert_eq!(
            r,
            RateLimit {
                requests: 3,
                per: Duration::from_secs(1)
            }
        );
        assert!(RateLimit::parse("3").is_err());
        assert!(RateLimit::parse("0/1s").is_err());
        assert!(RateLimit::parse("3/1y").unwrap_err().contains("unit"));
        let mut b = TokenBucket::new(r, 0);
        assert!(b.take(0).is_ok() && b.take(0).is_ok() && b.take(0).is_ok());
        let wait = b.take(0).unwrap_err();
        assert!(
            wait <= Duration::from_millis(334) && wait >= Duration::from_millis(333),
            "{wait:?}"
        );
        assert!(
            b.take(340_000_000).is_ok(),
            "a third of a second refills one token"
        );
        assert!(b.take(340_000_000).is_err());
    }

    #[test]
    fn keys_round_trip_through_the_access_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("access.toml");
        let random: [u8; 32] = std::array::from_fn(|i| i as u8 * 7 + 1);
        let client = add_key(&path, "monitor", &["node".into()], Some("300/30s"), random).unwrap();
        assert!(
            add_key(&path, "monitor", &["node".into()], None, [8; 32])
                .unwrap_err()
                .contains("exists")
        );
        assert!(
            add_key(&path, "x", &["nope".into()], None, [8; 32])
                .unwrap_err()
                .contains("unknown group")
        );
        let list = AccessList::load(ApiToken::from_bytes([1; 16]), &path).unwrap();
        assert_eq!(list.keys.len(), 2);
        let k = &list.keys[1];
        assert_eq!(
            k.frame_key,
            ApiToken::from_base64(&client).unwrap(),
            "the client derives the same frame key"
        );
        assert_eq!(k.groups, [Group::Node].into_iter().collect());
        assert_eq!(k.rate_limit.unwrap().requests, 300);
        let text = std::fs::read_to_string(&path).unwrap();
        let secret = client.rsplit(':').next().unwrap();
        assert!(!text.contains(secret), "the secret is not stored");
        std::fs::write(&path, "[[keys]]\nname = 1\n").unwrap();
        let err = AccessList::load(ApiToken::from_bytes([1; 16]), &path).unwrap_err();
        assert!(err.contains("line"), "{err}");
    }
}
