//! `stegosim frame encode|decode`: the API's framing by hand.
//!
//! `decode` prints the decrypted plaintext of a captured frame unchanged (any JSON object,
//! known message type or not: it is a debugging tool); `encode` prints a frame and a newline.
//! With `-` (or no argument) they read standard input and trim surrounding whitespace, so
//! `stegosim frame encode ... | stegosim frame decode ... -` round-trips.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use stegosim_api::frame::{FRAME_BYTES_MAX_DEFAULT, FrameCodec};
use stegosim_api::token::ApiToken;

/// Arguments of `stegosim frame`.
#[derive(Debug, Args)]
pub struct FrameArgs {
    #[command(subcommand)]
    action: FrameAction,
}

#[derive(Debug, Subcommand)]
enum FrameAction {
    /// Print the JSON inside a frame (the frame's plaintext, unchanged).
    Decode(Io),
    /// Print the frame of a JSON object, with a fresh random IV.
    Encode(EncodeIo),
}

#[derive(Debug, Args)]
struct Io {
    /// The node's `api.token` file (base64 of 16 bytes).
    #[arg(long, value_name = "FILE")]
    token_file: PathBuf,
    /// The frame text, or `-` to read it from standard input.
    #[arg(value_name = "FRAME|-", default_value = "-")]
    input: String,
}

#[derive(Debug, Args)]
struct EncodeIo {
    /// The node's `api.token` file (base64 of 16 bytes).
    #[arg(long, value_name = "FILE")]
    token_file: PathBuf,
    /// The JSON object to frame, or `-` to read it from standard input.
    #[arg(value_name = "JSON|-", default_value = "-")]
    input: String,
    /// Use this IV (32 hex characters) instead of a random one, for reproducible frames.
    #[arg(long, value_name = "HEX")]
    iv: Option<String>,
}

fn read_input(input: &str) -> Result<String> {
    if input == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .context("reading standard input")?;
        Ok(s.trim().to_string())
    } else {
        Ok(input.to_string())
    }
}

fn codec(token_file: &PathBuf) -> Result<FrameCodec> {
    let token = ApiToken::load(token_file)?;
    Ok(FrameCodec::new(&token).with_frame_bytes_max(FRAME_BYTES_MAX_DEFAULT))
}

fn parse_iv(hex: &str) -> Result<[u8; 16]> {
    if hex.len() != 32 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        bail!("--iv must be 32 hex characters (16 bytes), got {:?}", hex);
    }
    let mut iv = [0u8; 16];
    for (i, byte) in iv.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).context("--iv is not hex")?;
    }
    Ok(iv)
}

/// Runs `stegosim frame`.
pub fn run(args: FrameArgs) -> Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    match args.action {
        FrameAction::Decode(io) => {
            let codec = codec(&io.token_file)?;
            let frame = read_input(&io.input)?;
            let plaintext = codec
                .decode_json_object(frame.as_bytes())
                .context("cannot decode the frame")?;
            out.write_all(&plaintext)?;
            out.write_all(b"\n")?;
        }
        FrameAction::Encode(io) => {
            let codec = codec(&io.token_file)?;
            let json = read_input(&io.input)?;
            let value: serde_json::Value = serde_json::from_str(&json)
                .with_context(|| "the input is not valid JSON".to_string())?;
            if !value.is_object() {
                bail!("the input must be a JSON object (every API message is one)");
            }
            let iv = match io.iv {
                Some(hex) => parse_iv(&hex)?,
                None => {
                    let mut iv = [0u8; 16];
                    #[allow(clippy::disallowed_methods)]
                    // a hand-made frame gets a fresh random IV unless --iv is given
                    getrandom::fill(&mut iv)
                        .map_err(|e| anyhow::anyhow!("no OS randomness for the IV: {e}"))?;
                    iv
                }
            };
            let frame = codec.encode(json.as_bytes(), iv);
            writeln!(out, "{frame}")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
