//! Bad scenario files give errors that name the file, the line and what was expected.

use stegosim_sim::scenario::{ScenarioError, load};

const HEAD: &str = "name = \"bad\"\nduration = \"60s\"\n\n[network]\nvalidators = 4\n";

fn error(text: &str) -> ScenarioError {
    load("bad.toml", text).expect_err("the file is bad")
}

fn assert_error(text: &str, line: usize, words: &[&str]) {
    let e = error(text);
    assert_eq!(e.file, "bad.toml");
    assert_eq!(e.line, Some(line), "{e}");
    let shown = e.to_string();
    assert!(shown.starts_with(&format!("bad.toml:{line}:")), "{shown}");
    for w in words {
        assert!(shown.contains(w), "{shown:?} lacks {w:?}");
    }
}

#[test]
fn unknown_key_in_a_step_names_its_line() {
    let text =
        format!("{HEAD}\n[[step]]\nat = \"1s\"\naction = \"pay\"\nto = \"a\"\namout_ustg = 5\n");
    assert_error(&text, 11, &["unknown field `amout_ustg`", "`amount_ustg`"]);
}

#[test]
fn unknown_top_level_key() {
    let text = format!("{HEAD}colour = \"red\"\n");
    // Inside [network] it is a network key.
    assert_error(&text, 6, &["unknown field `colour`", "`validators`"]);
    let text = "name = \"bad\"\nduration = \"60s\"\ncolour = 1\n[network]\nvalidators = 4\n";
    assert_error(text, 3, &["unknown field `colour`", "`duration`"]);
}

#[test]
fn unknown_action_lists_the_actions() {
    let text = format!("{HEAD}\n[[step]]\nat = \"1s\"\naction = \"explode\"\n");
    assert_error(
        &text,
        9,
        &["unknown variant `explode`", "`partition`", "`crash`"],
    );
}

#[test]
fn duration_without_unit() {
    assert_error(
        "name = \"bad\"\nduration = \"60\"\n[network]\nvalidators = 4\n",
        2,
        &["a number needs a unit"],
    );
}

#[test]
fn node_out_of_range() {
    let text = format!("{HEAD}\n[[step]]\nat = \"1s\"\naction = \"crash\"\nnode = 9\n");
    assert_error(&text, 7, &["node 9 does not exist", "0 to 3"]);
}

#[test]
fn unknown_chain_field_and_wrong_type() {
    let text = format!("{HEAD}\n[chain]\nblock_interval_ns = 1\nblok = 2\n");
    assert_error(&text, 9, &["unknown field `blok`", "`block_interval_ns`"]);
    let text = format!("{HEAD}\n[chain]\nstake_epochs = \"ten\"\n");
    assert_error(&text, 8, &["chain.stake_epochs", "expected integer"]);
}

#[test]
fn name_used_before_it_is_picked() {
    let text = format!("{HEAD}\n[[step]]\nat = \"1s\"\naction = \"crash\"\nnode = \"victim\"\n");
    assert_error(&text, 7, &["unknown node \"victim\"", "pick"]);
}

#[test]
fn expectation_for_an_unknown_payment() {
    let text = format!(
        "{HEAD}\n[[expect]]\nkind = \"tx_status\"\ntx = \"nope\"\nstatus = \"committed\"\nwithin = \"1m\"\n"
    );
    assert_error(&text, 7, &["tx \"nope\"", "`pay` step"]);
}

#[test]
fn deadline_after_the_end() {
    let text = format!("{HEAD}\n[[expect]]\nkind = \"epoch\"\nat_least = 2\nby = \"2m\"\n");
    assert_error(&text, 7, &["after the end of the run"]);
}

#[test]
fn no_room_to_converge_after_the_last_fault() {
    let text = format!("{HEAD}\n[[step]]\nat = \"50s\"\naction = \"heal\"\n");
    assert_error(&text, 2, &["converge_within", "lengthen duration"]);
}

#[test]
fn every_shipped_scenario_loads() {
    for (name, text) in stegosim_sim::scenario::builtin() {
        let s = load(&format!("{name}.toml"), text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.name, *name);
    }
}

#[test]
fn an_api_step_with_a_bad_request_names_its_line_and_the_problem() {
    // HEAD is 5 lines, then a blank line; the step's table starts on line 7.
    let unknown = format!(
        "{HEAD}\n[[step]]\nat = \"1s\"\naction = \"api\"\nrequest = {{ type = \"no_such_request\" }}\n"
    );
    let e = error(&unknown);
    assert!(e.line.is_some_and(|l| (7..=10).contains(&l)), "{e}");
    assert!(e.to_string().contains("no_such_request"), "{e}");
    let missing = format!(
        "{HEAD}\n[[step]]\nat = \"1s\"\naction = \"api\"\nrequest = {{ type = \"stake\", account_id = \"1\" }}\n"
    );
    let e = error(&missing);
    assert!(
        e.to_string().contains("amount"),
        "the missing field is named: {e}"
    );
    let bad_expect = format!(
        "{HEAD}\n[[step]]\nat = \"1s\"\naction = \"api\"\nrequest = {{ type = \"status_info\" }}\nexpect = \"status\"\n"
    );
    let e = error(&bad_expect);
    assert!(e.to_string().contains("not a response type"), "{e}");
}

#[test]
fn bad_accounts_name_their_line() {
    let acc = |body: &str| format!("{HEAD}\n[[account]]\n{body}\n");
    assert_error(
        &acc("node = 9\npassword = \"p\"\nfunds_ustg = 5"),
        7,
        &["node 9 does not exist"],
    );
    assert_error(
        &acc("node = 1\npassword = \"\"\nfunds_ustg = 5"),
        7,
        &["password must not be empty"],
    );
    assert_error(
        &acc("node = 1\npassword = \"p\"\nfunds_ustg = 0"),
        7,
        &["funds_ustg 0 must be positive"],
    );
    assert_error(
        &acc("node = 1\npassword = \"p\"\nfunds = 5"),
        10,
        &["unknown field `funds`"],
    );
}

#[test]
fn bad_snowball_steps_and_expectations_are_errors() {
    let text = format!(
        "{HEAD}\n[[step]]\nat = \"1s\"\naction = \"snowball_drop\"\nnode = 1\nphase = \"lunch\"\n"
    );
    let e = error(&text);
    assert!(e.to_string().contains("unknown variant `lunch`"), "{e}");
    let text = format!(
        "{HEAD}\n[[expect]]\nkind = \"snowball\"\nnode = 1\naccount_id = \"1\"\nstates = [\"pool_wait\", \"dancing\"]\nby = \"10s\"\n"
    );
    assert_error(&text, 7, &["\"dancing\" is not a Snowball state"]);
}
