//! The config unit tests: the starter file, waits, error positions and
//! messages, schedule fingerprints, unused roles.

use std::path::Path;

use chrono::TimeDelta;

use super::{Chain, Config, ConfigError, STARTER};

fn parse(s: &str) -> Result<Config, ConfigError> {
    Config::parse(s, Path::new("t.toml"))
}

const ROLES: &str = "[roles.a]\n[roles.b]\n";

#[test]
fn starter_file_parses_with_seed_chains() {
    let c = Config::parse(STARTER, Path::new("chains.toml")).expect("starter parses");
    let ci = c.chain("customer_issue").expect("customer_issue");
    let hours: Vec<f64> = ci
        .offsets()
        .iter()
        .map(|d| d.num_milliseconds() as f64 / 3.6e6)
        .collect();
    assert_eq!(hours, vec![0.0, 4.0, 12.0, 36.0]);
    let so = c.chain("system_outage").expect("system_outage");
    assert_eq!(so.levels[0].wait, TimeDelta::minutes(15));
    assert_eq!(so.levels.len(), 3);
}

#[test]
fn fractional_and_integer_waits() {
    let c = parse(&format!(
        "{ROLES}[chains.x]\nlevels = [{{ role = \"a\", wait_hours = 0.25 }}, {{ role = \"b\", wait_hours = 2 }}]\n"
    ))
    .expect("parses");
    let x = c.chain("x").expect("x");
    assert_eq!(x.levels[0].wait, TimeDelta::minutes(15));
    assert_eq!(x.levels[1].wait, TimeDelta::hours(2));
}

#[test]
fn errors_name_line_and_column() {
    // (input, expected position, fragment of the message)
    type Case<'a> = (&'a str, Option<(usize, usize)>, &'a str);
    let cases: &[Case] = &[
        ("[chains.x]\nlevels = []\n", Some((1, 1)), "has no levels"),
        (
            "[roles.a]\n[chains.x]\nlevels = [{ role = \"zz\", wait_hours = 1 }]\n",
            Some((3, 20)),
            "unknown role `zz`",
        ),
        (
            "[roles.a]\n[chains.x]\nlevels = [{ role = \"a\", wait_hours = -1 }]\n",
            Some((3, 38)),
            "must not be negative",
        ),
        (
            "[roles.a]\n[chains.x]\nlevels = [{ role = \"a\", wait_hours = nan }]\n",
            Some((3, 38)),
            "finite",
        ),
        (
            "[roles.a]\n[chains.x]\nlevels = [{ role = \"a\", wait_hours = inf }]\n",
            Some((3, 38)),
            "finite",
        ),
        (
            "[roles.a]\n[chains.x]\nlevels = [{ role = \"a\", wait_hours = 1, colour = 1 }]\n",
            Some((3, 41)),
            "unknown field `colour`",
        ),
        ("[roles.a]\nbogus = 1\n", Some((2, 1)), "unknown field `bogus`"),
        ("[roles.a]\n[roles.a]\n", Some((2, 8)), "duplicate key `a`"),
        (
            "[roles.a]\n[chains.x]\nlevels = [{ level = 2, role = \"a\", wait_hours = 1 }]\n",
            Some((3, 21)),
            "position 1",
        ),
        (
            "[roles.a]\n[chains.x]\nlevels = [{ role = \"a\", wait_hours = 100000 }]\n",
            Some((3, 38)),
            "at most 8784 hours (a year)",
        ),
        (
            "[roles.a]\n[chains.x]\nrepeat = 2\nlevels = [{ role = \"a\", wait_hours = 0 }]\n",
            Some((3, 10)),
            "repeat interval",
        ),
        (
            "[roles.a]\n[chains.x]\nack_timeout_hours = 0\nlevels = [{ role = \"a\", wait_hours = 1 }]\n",
            Some((3, 21)),
            "greater than 0",
        ),
        (
            "[roles.a]\n[chains.x]\nrepeat = -1\nlevels = [{ role = \"a\", wait_hours = 1 }]\n",
            Some((3, 10)),
            "",
        ),
        (
            "[roles.a]\n[chains.x]\nlevels = [{ role = \"a\", wait_hours = \"4\" }]\n",
            Some((3, 38)),
            "",
        ),
        ("[roles.a\n", Some((1, 9)), ""),
        ("[roles.\"a b\"]\n", Some((1, 1)), "must be 1–64 characters"),
        (
            "[roles.a]\n[chains.x]\nlevels = [{ wait_hours = 1 }]\n",
            Some((3, 11)),
            "missing field `role`",
        ),
        (
            "[[subscriptions]]\nurl = \"https://h.example\"\nfrom = \"yesterday\"\n",
            Some((3, 8)),
            "use \"now\" (only new events) or \"start\"",
        ),
        (
            "[server]\ntrusted_proxies = [\"10.0.0.0/8\", \"nginx\"]\n",
            Some((2, 34)),
            "`nginx` is not an IP address or a range",
        ),
    ];
    for (input, pos, fragment) in cases {
        let e = parse(input).expect_err(input);
        assert_eq!(e.pos, *pos, "position for {input:?}: {e}");
        assert!(
            e.message.contains(fragment),
            "message for {input:?} lacks {fragment:?}: {e}"
        );
        assert!(!e.to_string().contains('\n'), "one line: {e}");
        assert!(e.to_string().starts_with("t.toml:"), "{e}");
    }
}

#[test]
fn absurd_hours_are_refused_with_the_bound_and_a_short_echo() {
    // (the chain's lines after `[chains.x]`, expected position, fragment)
    let lv = |w: &str| format!("levels = [{{ role = \"a\", wait_hours = {w} }}]\n");
    let cases: Vec<(String, (usize, usize), &str)> = vec![
        (
            lv("1e300"),
            (3, 38),
            "must be at most 8784 hours (a year), not 1e300",
        ),
        (lv("-1e300"), (3, 38), "must not be negative (got -1e300)"),
        (
            lv("1.7976931348623157e308"),
            (3, 38),
            "not 1.7976931348623157e308",
        ),
        (lv("8785"), (3, 38), "at most 8784 hours (a year), not 8785"),
        (lv("-0.5"), (3, 38), "must not be negative (got -0.5)"),
        (lv("nan"), (3, 38), "finite number of hours, not NaN"),
        (lv("-inf"), (3, 38), "finite number of hours, not -inf"),
        (
            format!("response_hours = 1e20\n{}", lv("1")),
            (3, 18),
            "response_hours must be at most 8784 hours (a year), not 1e20",
        ),
        (
            format!("resolution_hours = -1e-300\n{}", lv("1")),
            (3, 20),
            "resolution_hours must not be negative (got -1e-300)",
        ),
        (
            format!("ack_timeout_hours = 1e300\n{}", lv("1")),
            (3, 21),
            "ack_timeout_hours must be at most 8784 hours",
        ),
        (
            format!("response_hours = 4\nat_risk_hours = nan\n{}", lv("1")),
            (4, 17),
            "at_risk_hours must be a finite number",
        ),
        (
            format!("response_hours = 4\nat_risk = 1e300\n{}", lv("1")),
            (4, 11),
            "between 0 and 1 (got 1e300;",
        ),
    ];
    for (chain, pos, fragment) in &cases {
        let input = format!("[roles.a]\n[chains.x]\n{chain}");
        let e = parse(&input).expect_err(&input);
        assert_eq!(e.pos, Some(*pos), "position for {input:?}: {e}");
        assert!(
            e.message.contains(fragment),
            "message for {input:?} lacks {fragment:?}: {e}"
        );
        let line = e.to_string();
        assert!(!line.contains('\n'), "one line: {line}");
        assert!(line.len() < 200, "short: {line}");
        assert!(!line.contains("0000000000"), "no digit runs: {line}");
    }
    // The bound itself is allowed.
    parse(&format!("[roles.a]\n[chains.x]\n{}", lv("8784"))).expect("a year parses");
}

#[test]
fn subscriptions_start_at_the_start_unless_from_says_now() {
    use super::SubscriptionFrom;
    let sub = |line: &str| {
        parse(&format!(
            "[[subscriptions]]\nurl = \"https://h.example\"\n{line}"
        ))
        .expect("parses")
        .subscriptions[0]
            .from
    };
    assert_eq!(sub(""), SubscriptionFrom::Start);
    assert_eq!(sub("from = \"now\"\n"), SubscriptionFrom::Now);
    assert_eq!(sub("from = \"start\"\n"), SubscriptionFrom::Start);
    assert_eq!(SubscriptionFrom::Start.as_str(), "start");
}

#[test]
fn fingerprint_tracks_schedule_changes_only() {
    let a = parse(&format!(
        "{ROLES}[chains.x]\ndescription = \"one\"\nlevels = [{{ role = \"a\", wait_hours = 1 }}]\n"
    ))
    .expect("a");
    let b = parse(&format!(
        "{ROLES}[chains.x]\ndescription = \"two\"\nlevels = [{{ role = \"a\", wait_hours = 1 }}]\n"
    ))
    .expect("b");
    let c = parse(&format!(
        "{ROLES}[chains.x]\nlevels = [{{ role = \"a\", wait_hours = 2 }}]\n"
    ))
    .expect("c");
    let fp = |c: &Config| c.chain("x").map(Chain::fingerprint);
    assert_eq!(fp(&a), fp(&b));
    assert_ne!(fp(&a), fp(&c));
}

#[test]
fn unused_roles_are_listed() {
    let c = parse(&format!(
        "{ROLES}[chains.x]\nlevels = [{{ role = \"a\", wait_hours = 1 }}]\n"
    ))
    .expect("c");
    assert_eq!(c.unused_roles(), vec!["b"]);
}

/// `slack`/`webhook` as one value, a list of one and a list of two: every
/// element is a URL (or `{ env = … }`), never a variable name made of a URL.
#[test]
fn url_lists_of_one_and_two_mean_the_same_as_one_value() {
    use super::{Contact, Secret};
    let a = "https://hooks.example.com/services/T1/SECRET-A";
    let b = "http://127.0.0.1:9/hook/SECRET-B";
    for key in ["slack", "webhook"] {
        let cases: &[(String, Vec<Secret>)] = &[
            (format!("\"{a}\""), vec![Secret::Literal(a.into())]),
            (format!("[\"{a}\"]"), vec![Secret::Literal(a.into())]),
            (
                format!("[\"{a}\", \"{b}\"]"),
                vec![Secret::Literal(a.into()), Secret::Literal(b.into())],
            ),
            (
                "{ env = \"HOOK\" }".into(),
                vec![Secret::Env("HOOK".into())],
            ),
            (
                "[{ env = \"HOOK\" }]".into(),
                vec![Secret::Env("HOOK".into())],
            ),
            (
                format!("[{{ env = \"HOOK\" }}, \"{b}\"]"),
                vec![Secret::Env("HOOK".into()), Secret::Literal(b.into())],
            ),
        ];
        for (value, want) in cases {
            let toml = format!("[roles.a]\n{key} = {value}\n");
            let c = parse(&toml).unwrap_or_else(|e| panic!("{toml}: {e}"));
            let got: Vec<Secret> = c.roles["a"]
                .contacts
                .iter()
                .map(|c| match c {
                    Contact::Slack(s) | Contact::Webhook { url: s, .. } => s.clone(),
                    other => panic!("{toml}: unexpected {other:?}"),
                })
                .collect();
            assert_eq!(&got, want, "{toml}");
            for contact in &c.roles["a"].contacts {
                assert!(!contact.target().contains("SECRET"), "{toml}: {contact:?}");
            }
        }
        // A list of one bad URL is checked as a URL, not taken as a name.
        let e = parse(&format!("[roles.a]\n{key} = [\"not a url\"]\n")).expect_err(key);
        assert!(e.message.contains("malformed URL"), "{e}");
        // `env` tables still refuse other keys.
        let e = parse(&format!("[roles.a]\n{key} = [{{ env = \"X\", y = 1 }}]\n")).expect_err(key);
        assert_eq!(e.pos.map(|p| p.0), Some(2), "{e}");
    }
    // Email lists of one and two.
    let email =
        "[email]\nfrom = \"e@example.com\"\nsmtp = \"smtp://127.0.0.1:2525\"\ntls = \"none\"\n";
    for (value, n) in [
        ("[\"x@example.com\"]", 1),
        ("[\"x@example.com\", \"y@example.com\"]", 2),
    ] {
        let c = parse(&format!("{email}[roles.a]\nemail = {value}\n")).expect(value);
        assert_eq!(c.roles["a"].contacts.len(), n, "{value}");
    }
}

#[cfg(test)]
#[path = "tests_calendars.rs"]
mod calendars;

#[cfg(test)]
#[path = "tests_policies.rs"]
mod policies;

#[cfg(test)]
#[path = "tests_sources.rs"]
mod sources;
