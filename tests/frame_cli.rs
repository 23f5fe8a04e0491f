//! `stegosim frame` as a user runs it: the built binary, a token file, pipes.

use std::io::Write;
use std::process::{Command, Stdio};

fn stegosim() -> Command {
    Command::new(env!("CARGO_BIN_EXE_stegosim"))
}

fn vectors() -> serde_json::Value {
    // The API crate's copy of the independent framing vectors.
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/node/api/tests/vectors/framing.json"
    );
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
    serde_json::from_str(&text).unwrap()
}

fn run(args: &[&str], stdin: &str) -> (i32, String, String) {
    let mut child = stegosim()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn decode_prints_the_plaintext_of_every_vector_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    for v in vectors()["vectors"].as_array().unwrap() {
        let token = dir.path().join("api.token");
        // Trailing whitespace in the token file is tolerated.
        std::fs::write(&token, format!("{}\n", v["token"].as_str().unwrap())).unwrap();
        let (code, out, err) = run(
            &[
                "frame",
                "decode",
                "--token-file",
                token.to_str().unwrap(),
                v["frame"].as_str().unwrap(),
            ],
            "",
        );
        assert_eq!(code, 0, "{err}");
        assert_eq!(out.trim_end_matches('\n'), v["plaintext"].as_str().unwrap());
    }
}

#[test]
fn encode_with_iv_reproduces_the_vector_and_pipes_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let v = &vectors()["vectors"][1];
    let token = dir.path().join("api.token");
    std::fs::write(&token, v["token"].as_str().unwrap()).unwrap();
    let tf = token.to_str().unwrap();
    let (code, out, err) = run(
        &[
            "frame",
            "encode",
            "--token-file",
            tf,
            "--iv",
            v["iv_hex"].as_str().unwrap(),
            "-",
        ],
        v["plaintext"].as_str().unwrap(),
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, format!("{}\n", v["frame"].as_str().unwrap()));

    let json = r#"{"type":"balance_info","id":7,"account_id":"1"}"#;
    let (_, frame, _) = run(&["frame", "encode", "--token-file", tf], json);
    let (code, back, err) = run(&["frame", "decode", "--token-file", tf, "-"], &frame);
    assert_eq!(code, 0, "{err}");
    assert_eq!(back.trim_end(), json);
}

#[test]
fn bad_input_gets_a_clear_error_and_exit_code_1() {
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("api.token");
    std::fs::write(&token, "+ZGBPKBiq50JD6BjzQQrbw==").unwrap();
    let tf = token.to_str().unwrap();
    let cases: &[(&[&str], &str, &str)] = &[
        (
            &["frame", "decode", "--token-file", tf, "not base64!"],
            "",
            "base64",
        ),
        (
            &["frame", "decode", "--token-file", tf, "AAAA"],
            "",
            "shorter",
        ),
        (
            &["frame", "encode", "--token-file", tf, "[1, 2]"],
            "",
            "JSON object",
        ),
        (
            &["frame", "encode", "--token-file", tf, "{oops"],
            "",
            "not valid JSON",
        ),
        (
            &["frame", "encode", "--token-file", tf, "--iv", "12", "{}"],
            "",
            "32 hex",
        ),
        (
            &[
                "frame",
                "decode",
                "--token-file",
                "/no/such/api.token",
                "AAAA",
            ],
            "",
            "does not exist",
        ),
    ];
    for (args, stdin, needle) in cases {
        let (code, _, err) = run(args, stdin);
        assert_eq!(code, 1, "{args:?}: {err}");
        assert!(
            err.contains(needle),
            "{args:?}: expected {needle:?} in {err:?}"
        );
    }
    // A frame made with another key does not decrypt to a JSON object.
    let (_, frame, _) = run(&["frame", "encode", "--token-file", tf, "{}"], "");
    std::fs::write(&token, "6EhWI93jZMGE8F6asfZvmQ==").unwrap();
    let (code, _, err) = run(&["frame", "decode", "--token-file", tf, frame.trim()], "");
    assert_eq!(code, 1);
    assert!(err.contains("wrong API token"), "{err}");
}
