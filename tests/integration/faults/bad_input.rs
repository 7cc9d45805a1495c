//! Bad input: broken configs and command lines (see the module docs, item 5).

use super::*;

/// Two roles, for configs that need some.
const R: &str = "[roles.a]\n[roles.b]\n";

/// A valid one-level chain on role `a`, as lines 3–4 after `R`.
fn chain_x(extra: &str) -> String {
    format!("{R}[chains.x]\nlevels = [{{ role = \"a\", wait_hours = 1 }}]\n{extra}")
}

const EMAIL_OK: &str =
    "[email]\nfrom = \"escalate@example.com\"\nsmtp = \"smtp://relay.example.com:587\"\n";

/// (what, file bytes, fragments the one stderr line must contain).
fn toml_cases() -> Vec<(&'static str, Vec<u8>, Vec<String>)> {
    let levels = |n: usize| -> String {
        let list: Vec<String> = (0..n)
            .map(|_| "{ role = \"a\", wait_hours = 1 }".to_string())
            .collect();
        format!("{R}[chains.x]\nlevels = [{}]\n", list.join(", "))
    };
    let mut big = STARTER.to_string();
    let pad = format!("# {}\n", "x".repeat(1021));
    while big.len() < 5 * 1024 * 1024 {
        big.push_str(&pad);
    }
    #[rustfmt::skip]
    let cases: Vec<(&str, String, &[&str])> = vec![
        // syntax
        ("unclosed table header", "[roles.a]\n[chains.x\n".into(), &[":2:"]),
        ("missing value", format!("{R}[chains.x]\nlevels =\n"), &[":4:"]),
        ("unterminated string", "[roles.a]\ndescription = \"abc\n".into(), &[":2:"]),
        ("duplicate key", "[roles.a]\ndescription = \"x\"\ndescription = \"y\"\n".into(), &[":3:", "duplicate key `description`"]),
        ("duplicate table", "[roles.a]\n[roles.b]\n[roles.a]\n".into(), &[":3:", "duplicate key `a`"]),
        ("not TOML at all", "this is not toml\n".into(), &[":1:"]),
        ("integer too large", format!("{R}[chains.x]\nlevels = [{{ role = \"a\", wait_hours = 99999999999999999999 }}]\n"), &[":4:"]),
        // wrong types
        ("wait_hours as a string", format!("{R}[chains.x]\nlevels = [{{ role = \"a\", wait_hours = \"4\" }}]\n"), &[":4:", "wait_hours"]),
        ("repeat as a string", chain_x("repeat = \"3\"\n"), &[":5:", "repeat"]),
        ("repeat negative", chain_x("repeat = -1\n"), &[":5:", "repeat"]),
        ("levels as a string", format!("{R}[chains.x]\nlevels = \"a, b\"\n"), &[":4:", "levels"]),
        ("role as a number", format!("{R}[chains.x]\nlevels = [{{ role = 5, wait_hours = 1 }}]\n"), &[":4:", "role"]),
        ("ack_timeout_hours as a bool", chain_x("ack_timeout_hours = true\n"), &[":5:", "ack_timeout_hours"]),
        ("chains as an array", "chains = [1, 2]\n".into(), &[":1:", "chains"]),
        ("email as a number", "[roles.a]\nemail = 5\n".into(), &[":2:9:"]),
        ("console as a string", "[roles.a]\nconsole = \"yes\"\n".into(), &[":2:", "console"]),
        ("timeout_seconds as a string", "[delivery]\ntimeout_seconds = \"1\"\n".into(), &[":2:", "timeout_seconds"]),
        ("max_attempts as a float", "[delivery]\nmax_attempts = 2.5\n".into(), &[":2:", "max_attempts"]),
        ("max_attempts negative", "[delivery]\nmax_attempts = -1\n".into(), &[":2:", "max_attempts"]),
        ("expected_interval_minutes as a string", "[checker]\nexpected_interval_minutes = \"15\"\n".into(), &[":2:", "expected_interval_minutes"]),
        ("breach_notify as a string", chain_x("resolution_hours = 4\nbreach_notify = \"b\"\n"), &[":6:", "breach_notify"]),
        // unknown keys
        ("unknown top-level table", "[chain.x]\n".into(), &[":1:", "unknown field `chain`"]),
        ("unknown role key", "[roles.a]\npager = 3\n".into(), &[":2:", "unknown field `pager`"]),
        ("unknown level key", format!("{R}[chains.x]\nlevels = [{{ role = \"a\", wait_hours = 1, wiat = 2 }}]\n"), &[":4:", "unknown field `wiat`"]),
        ("unknown chain key", chain_x("repeats = 2\n"), &[":5:", "unknown field `repeats`"]),
        ("unknown [delivery] key", "[delivery]\nretries = 3\n".into(), &[":2:", "unknown field `retries`"]),
        ("unknown [email] key", format!("{EMAIL_OK}port = 25\n"), &[":4:", "unknown field `port`"]),
        ("unknown [checker] key", "[checker]\ninterval = 5\n".into(), &[":2:", "unknown field `interval`"]),
        // missing things
        ("unknown role", format!("{R}[chains.x]\nlevels = [{{ role = \"ghost\", wait_hours = 1 }}]\n"), &[":4:", "unknown role `ghost`"]),
        ("no roles at all", "[chains.x]\nlevels = [{ role = \"a\", wait_hours = 1 }]\n".into(), &[":2:", "unknown role `a`"]),
        ("level without wait_hours", format!("{R}[chains.x]\nlevels = [{{ role = \"a\" }}]\n"), &[":4:", "wait_hours"]),
        ("level without role", format!("{R}[chains.x]\nlevels = [{{ wait_hours = 1 }}]\n"), &[":4:", "role"]),
        ("chain without levels", format!("{R}[chains.x]\nrepeat = 1\n"), &[":3:", "levels"]),
        ("chain with empty levels", format!("{R}[chains.x]\nlevels = []\n"), &[":3:", "chain `x` has no levels"]),
        // absurd values
        ("negative wait", format!("{R}[chains.x]\nlevels = [{{ role = \"a\", wait_hours = -2 }}]\n"), &[":4:", "wait_hours", "negative"]),
        ("a wait of 11 years", format!("{R}[chains.x]\nlevels = [{{ role = \"a\", wait_hours = 100000 }}]\n"), &[":4:", "wait_hours", "at most 8784 hours (a year)"]),
        ("a wait of 1e300 hours", format!("{R}[chains.x]\nlevels = [{{ role = \"a\", wait_hours = 1e300 }}]\n"), &[":4:38:", "wait_hours must be at most 8784 hours (a year), not 1e300"]),
        ("a wait of -1e300 hours", format!("{R}[chains.x]\nlevels = [{{ role = \"a\", wait_hours = -1e300 }}]\n"), &[":4:38:", "must not be negative (got -1e300)"]),
        ("a response target of 1e20 hours", chain_x("response_hours = 1e20\n"), &[":5:18:", "response_hours must be at most 8784 hours (a year), not 1e20"]),
        ("a resolution target of nan", chain_x("resolution_hours = nan\n"), &[":5:20:", "resolution_hours must be a finite number of hours, not NaN"]),
        ("a wait of nan", format!("{R}[chains.x]\nlevels = [{{ role = \"a\", wait_hours = nan }}]\n"), &[":4:", "wait_hours", "finite"]),
        ("an infinite wait", format!("{R}[chains.x]\nlevels = [{{ role = \"a\", wait_hours = inf }}]\n"), &[":4:", "wait_hours", "finite"]),
        ("repeat 5000 times", chain_x("repeat = 5000\n"), &[":5:", "repeat must be at most 1000"]),
        ("repeat with a zero last wait", format!("{R}[chains.x]\nlevels = [{{ role = \"a\", wait_hours = 0 }}]\nrepeat = 2\n"), &[":5:", "repeat needs"]),
        ("levels numbered out of order", format!("{R}[chains.x]\nlevels = [{{ level = 2, role = \"a\", wait_hours = 1 }}]\n"), &[":4:", "level 2 is listed in position 1"]),
        ("a zero ack timeout", chain_x("ack_timeout_hours = 0\n"), &[":5:", "ack_timeout_hours must be greater than 0"]),
        ("101 levels", levels(101), &[":3:", "more than 100 levels"]),
        ("a chain name with a space", "[roles.a]\n[chains.\"bad name\"]\nlevels = [{ role = \"a\", wait_hours = 1 }]\n" .into(), &[":2:", "chain name `bad name`"]),
        ("a role name with a slash", "[roles.\"a/b\"]\n".into(), &[":1:", "role name `a/b`"]),
        ("a 5 MiB file", big, &["chains.toml: file is", "bytes is refused"]),
        // SLA keys
        ("breach_notify names an unknown role", chain_x("resolution_hours = 4\nbreach_notify = [\"ghost\"]\n"), &[":6:", "breach_notify names unknown role `ghost`"]),
        ("breach_notify without a target", chain_x("breach_notify = [\"b\"]\n"), &[":5:", "breach_notify needs a target"]),
        ("at_risk over 1", chain_x("response_hours = 1\nat_risk = 1.5\n"), &[":6:", "at_risk is a fraction"]),
        ("at_risk and at_risk_hours", chain_x("response_hours = 1\nat_risk = 0.5\nat_risk_hours = 0.2\n"), &[":7:", "not both"]),
        ("at_risk without a target", chain_x("at_risk = 0.5\n"), &[":5:", "at_risk needs a target"]),
        ("at_risk_hours past the target", chain_x("response_hours = 1\nat_risk_hours = 2\n"), &[":6:", "at_risk_hours must be less than"]),
        ("a zero response target", chain_x("response_hours = 0\n"), &[":5:", "response_hours must be greater than 0"]),
        ("a negative resolution target", chain_x("resolution_hours = -4\n"), &[":5:", "resolution_hours", "negative"]),
        // [email]
        ("[email] from not an address", "[email]\nfrom = \"not-an-address\"\nsmtp = \"smtp://relay.example.com\"\n".into(), &[":2:", "[email] from", "not an email address"]),
        ("[email] smtp over http", "[email]\nfrom = \"e@example.com\"\nsmtp = \"http://relay.example.com\"\n".into(), &[":3:", "[email] smtp", "http"]),
        ("[email] smtp without a host", "[email]\nfrom = \"e@example.com\"\nsmtp = \"smtp://\"\n".into(), &[":3:", "[email] smtp"]),
        ("[email] unknown tls mode", format!("{EMAIL_OK}tls = \"maybe\"\n"), &[":4:", "[email] tls = \"maybe\""]),
        ("[email] without smtp", "[email]\nfrom = \"e@example.com\"\n".into(), &[":1:", "smtp"]),
        ("email contact without [email]", "[roles.a]\nemail = \"a@example.com\"\n".into(), &[ ":2:", "role `a` has email contacts but there is no [email] section", ]),
        ("email contact not an address", format!("{EMAIL_OK}[roles.a]\nemail = [\"a@example.com\", \"nope\"]\n"), &[":5:", "role `a` email", "`nope` is not an email address"]),
        // [delivery] and [checker]
        ("a zero timeout", "[delivery]\ntimeout_seconds = 0\n".into(), &[":2:", "timeout_seconds must be between"]),
        ("a 301 s timeout", "[delivery]\ntimeout_seconds = 301\n".into(), &[":2:", "timeout_seconds must be between"]),
        ("zero concurrency", "[delivery]\nconcurrency = 0\n".into(), &[":2:", "concurrency must be between"]),
        ("concurrency 1000", "[delivery]\nconcurrency = 1000\n".into(), &[":2:", "concurrency must be between"]),
        ("zero max_attempts", "[delivery]\nmax_attempts = 0\n".into(), &[":2:", "max_attempts must be between"]),
        ("101 max_attempts", "[delivery]\nmax_attempts = 101\n".into(), &[":2:", "max_attempts must be between"]),
        ("a zero checker interval", "[checker]\nexpected_interval_minutes = 0\n".into(), &[":2:", "expected_interval_minutes must be"]),
        // contacts
        ("slack not a URL", "[roles.a]\nslack = \"not a url\"\n".into(), &[":2:", "role `a` slack: malformed URL"]),
        ("webhook over ftp", "[roles.a]\nwebhook = \"ftp://example.com/x\"\n".into(), &[":2:", "role `a` webhook", "not an http(s) URL"]),
        ("webhook from an empty env name", "[roles.a]\nwebhook = { env = \"\" }\n".into(), &[":2:", "role `a` webhook", "names no variable"]),
        ("webhook as a table of the wrong shape", "[roles.a]\nwebhook = { variable = \"X\" }\n".into(), &[":2:11:"]),
    ];
    let mut out: Vec<(&'static str, Vec<u8>, Vec<String>)> = cases
        .into_iter()
        .map(|(what, text, frags)| {
            let mut want: Vec<String> = frags.iter().map(|f| f.to_string()).collect();
            if let Some(pos) = want.iter_mut().find(|f| f.starts_with(':')) {
                *pos = format!("chains.toml{pos}");
            }
            (what, text.into_bytes(), want)
        })
        .collect();
    out.push((
        "invalid UTF-8",
        b"[roles.a]\ndescription = \"caf\xe9\"\n".to_vec(),
        vec!["chains.toml:2:".into(), "not valid UTF-8".into()],
    ));
    out
}

#[test]
fn bad_toml_is_one_line_naming_file_line_and_key_exit_2_database_untouched() {
    let env = seeded();
    env.at(1, &["check"]).ok();
    let before = snapshot(&env);
    let cases = toml_cases();
    assert!(cases.len() >= 40, "{} cases", cases.len());
    let mut failures = Vec::new();
    let mut tried = 0;
    for (what, bytes, want) in &cases {
        std::fs::write(env.path("chains.toml"), bytes).expect("write config");
        let want: Vec<&str> = want.iter().map(String::as_str).collect();
        for args in [
            &["check"][..],
            &["config", "check"],
            &["create", "--chain", "customer_issue", "--title", "t"],
            &["ack", "1", "--by", "dana"],
        ] {
            tried += 1;
            let r = env.at(500, args);
            r.no_panic();
            if let Err(e) = check_failure(&r, 2, &want) {
                failures.push(format!("{what} {args:?}: {e}"));
            }
        }
        assert_unchanged(&env, &before, what);
    }
    eprintln!("bad TOML: {} files, {tried} commands", cases.len());
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn bad_toml_an_empty_file_refuses_new_issues_and_reports_orphans() {
    let env = seeded();
    env.at(1, &["check"]).ok();
    env.write_config("");
    let before = snapshot(&env);
    let r = env.at(2, &["create", "--chain", "customer_issue", "--title", "t"]);
    must(
        check_failure(&r, 2, &["unknown chain `customer_issue`", "none"]),
        "create with an empty config",
    );
    assert_unchanged(&env, &before, "empty config");
    // The cron job keeps the issue and says it needs a human.
    let r = env.at(3, &["check"]).code(3);
    r.one_line_error("1 open issue(s) on chain `customer_issue`, which is not in the config: #1");
    assert_eq!(issue_ids(&env), vec![1]);
}

#[test]
fn bad_cli_arguments_are_one_line_errors_with_documented_codes() {
    let env = seeded();
    env.at(1, &["check"]).ok();
    let before = snapshot(&env);
    let long_title = "t".repeat(1001);
    // (arguments, exit code, fragments; empty = a clap usage error: exit 2
    // and no panic only)
    #[rustfmt::skip]
    let cases: Vec<(Vec<&str>, i32, Vec<&str>)> = vec![
        (vec!["ack", "abc", "--by", "x"], 2, vec!["invalid issue id `abc`"]),
        (vec!["ack", "0", "--by", "x"], 2, vec!["invalid issue id `0`"]),
        (vec!["ack", "#x", "--by", "x"], 2, vec!["invalid issue id `#x`"]),
        (vec!["ack", "--by", "x", "--", "-1"], 2, vec!["invalid issue id `-1`"]),
        (vec!["ack", "-1", "--by", "x"], 2, vec![]),
        (vec!["show", ""], 2, vec!["invalid issue id ``"]),
        (vec!["show", "1.5"], 2, vec!["invalid issue id `1.5`"]),
        (vec!["show", "99999999999999999999"], 2, vec!["invalid issue id `99999999999999999999`"]),
        (vec!["outbox", "retry", "abc"], 2, vec!["`abc`"]),
        (vec!["show", "99999"], 4, vec!["#99999"]),
        (vec!["show", "#99999", "--json"], 4, vec!["#99999"]),
        (vec!["ack", "99999", "--by", "x"], 4, vec!["#99999"]),
        (vec!["assign", "99999", "--to", "x"], 4, vec!["#99999"]),
        (vec!["resolve", "99999"], 4, vec!["issue #99999 does not exist"]),
        (vec!["reopen", "99999"], 4, vec!["#99999"]),
        (vec!["reopen", "1"], 4, vec!["#1", "not resolved"]),
        (vec!["outbox", "retry", "99999"], 4, vec!["delivery 99999 does not exist"]),
        (vec!["--now", "yesterday", "check"], 2, vec!["invalid --now `yesterday`"]),
        (vec!["--now", "2026-13-01T00:00:00Z", "check"], 2, vec!["invalid --now `2026-13-01T00:00:00Z`"]),
        (vec!["--now", "2026-11-02T09:00:00", "check"], 2, vec!["invalid --now `2026-11-02T09:00:00`"]),
        (vec!["--now", "", "check"], 2, vec!["invalid --now ``"]),
        (vec!["--now", "1762074000", "list"], 2, vec!["invalid --now `1762074000`"]),
        (vec!["--busy-timeout=-1", "check"], 2, vec!["--busy-timeout must be between"]),
        (vec!["--busy-timeout", "nan", "check"], 2, vec!["--busy-timeout must be between"]),
        (vec!["--busy-timeout", "soon", "check"], 2, vec![]),
        (vec!["--stall-timeout", "0", "check"], 2, vec!["--stall-timeout must be between"]),
        (vec!["--stall-timeout", "inf", "check"], 2, vec!["--stall-timeout must be between"]),
        (vec!["create", "--chain", "nope", "--title", "x"], 2, vec!["unknown chain `nope`", "customer_issue"]),
        (vec!["create", "--chain", "customer_issue", "--title", ""], 2, vec!["--title must not be empty"]),
        (vec!["create", "--chain", "customer_issue", "--title", " \t "], 2, vec!["--title must not be empty"]),
        (vec![ "create", "--chain", "customer_issue", "--title", &long_title, ], 2, vec!["--title is longer than 1000"]),
        (vec!["create", "--title", "x"], 2, vec![]),
        (vec!["ack", "1", "--by", ""], 2, vec!["invalid name ``"]),
        (vec!["ack", "1", "--by", "a\nb"], 2, vec!["invalid name `a\\nb`"]),
        (vec!["assign", "1", "--to", " "], 2, vec!["invalid name"]),
        (vec!["escalte"], 2, vec![]),
        (vec!["list", "--status", "bogus"], 2, vec![]),
        (vec!["report", "--days", "0"], 2, vec![]),
        (vec!["status", "--max-age", "0"], 2, vec![]),
        (vec!["outbox", "retry"], 2, vec![]),
        (vec!["notify", "test", "nobody"], 2, vec!["unknown role `nobody`"]),
        (vec!["--config", "nope.toml", "check"], 2, vec!["nope.toml: no such file"]),
        (vec!["--config", ".", "check"], 2, vec!["cannot read"]),
    ];
    assert!(cases.len() >= 40, "{} cases", cases.len());
    let mut failures = Vec::new();
    for (args, code, want) in &cases {
        let mut all = vec!["--now", "2026-11-02T09:10:00Z"];
        if args.first() == Some(&"--now") {
            all.clear();
        }
        all.extend_from_slice(args);
        let r = env
            .test()
            .args(all)
            .env("RUST_BACKTRACE", "1")
            .any_code()
            .run();
        let result = if want.is_empty() {
            if r.code == *code {
                Ok(())
            } else {
                Err(format!("exit {} (want {code}): {r:?}", r.code))
            }
        } else {
            check_failure(&r, *code, want)
        };
        if let Err(e) = result {
            failures.push(format!("{args:?}: {e}"));
        }
        assert_unchanged(&env, &before, &format!("{args:?}"));
    }
    eprintln!("bad CLI: {} cases", cases.len());
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
