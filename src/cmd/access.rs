//! `stegosim access add`: create an access key for a node's API.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Result, anyhow};
use clap::{Args, Subcommand};

/// Arguments of `stegosim access`.
#[derive(Debug, Args)]
pub struct AccessArgs {
    #[command(subcommand)]
    action: AccessAction,
}

#[derive(Debug, Subcommand)]
enum AccessAction {
    /// Add a key to the access file and write the client's key file.
    Add {
        /// The node's data directory (the access file is DIR/access.toml).
        #[arg(long, env = "STEGOS_DATA_DIR", value_name = "DIR")]
        data_dir: Option<PathBuf>,
        /// The key's name (shown in errors and logs).
        #[arg(long)]
        name: String,
        /// API groups the key may use: node, wallet, admin, debug, network, or * for all.
        #[arg(long, value_delimiter = ',', required = true)]
        groups: Vec<String>,
        /// Rate limit, N requests per window, e.g. 300/30s (units ms, s, m, h).
        #[arg(long, value_name = "N/T")]
        rate_limit: Option<String>,
        /// Where to write the client's key file (use it as --token-file).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
}

/// Runs `stegosim access`.
pub fn run(args: AccessArgs) -> Result<ExitCode> {
    match args.action {
        AccessAction::Add {
            data_dir,
            name,
            groups,
            rate_limit,
            out,
        } => {
            let dir = match data_dir {
                Some(d) => d,
                None => crate::cmd::node::default_data_dir()?,
            };
            let mut random = [0u8; 32];
            #[allow(clippy::disallowed_methods)] // a new access key is a secret: OS randomness
            getrandom::fill(&mut random).map_err(|e| anyhow!("no OS randomness: {e}"))?;
            let path = dir.join("access.toml");
            let key = stegosim_server::access::add_key(
                &path,
                &name,
                &groups,
                rate_limit.as_deref(),
                random,
            )
            .map_err(|e| anyhow!(e))?;
            std::fs::write(&out, format!("{key}\n"))
                .map_err(|e| anyhow!("{}: {e}", out.display()))?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o600))?;
            }
            eprintln!(
                "added key {name:?} to {}; the client's key file is {}",
                path.display(),
                out.display()
            );
            eprintln!("restart the node to load it");
        }
    }
    Ok(ExitCode::SUCCESS)
}
