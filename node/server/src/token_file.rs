//! Creating the `api.token` file: what the node does at its first start. Reading and parsing a
//! token is the API crate's ([`stegosim_api::token`]); creating one needs the file system and
//! the OS's randomness, which only the server may touch.

use std::io::{self, Write};
use std::path::Path;

use stegosim_api::token::{ApiToken, TOKEN_BYTES, TOKEN_FILE_NAME, TokenError};

/// Loads `dir/api.token`, creating it (and `dir`) with a new random token if it does not
/// exist. What the node does at start.
///
/// A new token is 16 bytes from the OS, written as 24 characters of base64 with mode 0600
/// on Unix, to a temporary file in `dir` that is synced and then moved into place without
/// replacing an existing file. So a client polling for the file sees either no file or a
/// whole token, and if two processes race, both end up with the one that landed first.
/// An existing file that is not a valid token is an error, never overwritten.
pub fn load_or_create(dir: impl AsRef<Path>) -> Result<ApiToken, TokenError> {
    let dir = dir.as_ref();
    let path = dir.join(TOKEN_FILE_NAME);
    match ApiToken::load(&path) {
        Err(TokenError::Missing { .. }) => {}
        loaded => return loaded,
    }

    std::fs::create_dir_all(dir).map_err(|source| TokenError::CreateDir {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut bytes = [0u8; TOKEN_BYTES];
    #[allow(clippy::disallowed_methods)] // a new API token is a secret: OS randomness
    getrandom::fill(&mut bytes).map_err(|source| TokenError::Random {
        path: path.clone(),
        source: source.into(),
    })?;
    let token = ApiToken::from_bytes(bytes);

    let write_error = |source: io::Error| TokenError::Write {
        path: path.clone(),
        source,
    };
    // tempfile creates the file with mode 0600 on Unix, in `dir` so the rename stays on
    // one file system and is atomic.
    let mut temp = tempfile::Builder::new()
        .prefix(".api.token.")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(write_error)?;
    temp.write_all(token.to_base64().as_bytes())
        .map_err(write_error)?;
    temp.as_file().sync_all().map_err(write_error)?;
    match temp.persist_noclobber(&path) {
        Ok(_) => {
            sync_dir(dir);
            Ok(token)
        }
        // Another process created the token between our check and our rename: use its
        // token, so both agree.
        Err(error) if error.error.kind() == io::ErrorKind::AlreadyExists => ApiToken::load(&path),
        Err(error) => Err(write_error(error.error)),
    }
}
/// Makes the rename of the token file durable, where the platform allows syncing a directory.
/// Best effort: the token is already in place and readable, so a failure here is not an
/// error worth refusing to start for.
fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(handle) = std::fs::File::open(dir) {
        let _ = handle.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

#[cfg(test)]
mod tests {
    use super::*;
    use stegosim_api::token::TOKEN_TEXT_BYTES;

    #[test]
    fn load_or_create_creates_once() {
        let dir = tempfile::tempdir().unwrap();
        let data_dir = dir.path().join("nested").join("data");
        let created = load_or_create(&data_dir).unwrap();
        let path = data_dir.join(TOKEN_FILE_NAME);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.len(), TOKEN_TEXT_BYTES);
        assert_eq!(text, created.to_base64());
        assert_eq!(ApiToken::load(&path).unwrap(), created);

        // A second start loads the same token.
        assert_eq!(load_or_create(&data_dir).unwrap(), created);

        // Only the token is left in the directory: no temporary files.
        let names: Vec<_> = std::fs::read_dir(&data_dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name())
            .collect();
        assert_eq!(names, [TOKEN_FILE_NAME]);

        // Two fresh tokens differ (16 bytes from the OS).
        let other = load_or_create(dir.path().join("other")).unwrap();
        assert_ne!(other, created);
    }

    #[cfg(unix)]
    #[test]
    fn created_token_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        load_or_create(dir.path()).unwrap();
        let mode = std::fs::metadata(dir.path().join(TOKEN_FILE_NAME))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "mode {mode:o}");
    }

    #[test]
    fn load_or_create_does_not_overwrite_a_bad_token() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(TOKEN_FILE_NAME);
        std::fs::write(&path, "garbage").unwrap();
        let err = load_or_create(dir.path()).unwrap_err();
        assert!(matches!(err, TokenError::Invalid { .. }), "{err:?}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "garbage");
    }

    #[test]
    fn load_or_create_reports_an_uncreatable_dir() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("file");
        std::fs::write(&blocker, "").unwrap();
        let err = load_or_create(blocker.join("data")).unwrap_err();
        // On Unix, a path through a regular file fails with NotADirectory when loading;
        // either way the error names the path.
        assert!(
            matches!(
                err,
                TokenError::CreateDir { .. } | TokenError::Unreadable { .. }
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains("file"), "{err}");
    }

    #[test]
    fn concurrent_creators_agree() {
        let dir = tempfile::tempdir().unwrap();
        let tokens: Vec<ApiToken> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..4)
                .map(|_| scope.spawn(|| load_or_create(dir.path()).unwrap()))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for token in &tokens {
            assert_eq!(token, &tokens[0]);
        }
    }
}
