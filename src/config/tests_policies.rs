//! `[[chains.NAME.sla]]` policies: first match wins, the chain is the
//! fallback, a policy's calendar governs waits too; refusals with positions.

use std::path::Path;

use chrono::TimeDelta;

use crate::config::{AtRisk, Config, ConfigError};
use crate::model::sla::Target;

const BASE: &str = r#"[roles.a]
[roles.boss]
[calendars.office]
timezone = "Europe/Berlin"
hours = { mon-fri = "09:00-17:00" }
[chains.x]
calendar = "office"
response_hours = 8
breach_notify = ["boss"]
levels = [{ role = "a", wait_hours = 4 }]
"#;

fn parse(policies: &str) -> Result<Config, ConfigError> {
    Config::parse(&format!("{BASE}{policies}"), Path::new("t.toml"))
}

#[test]
fn the_first_matching_policy_wins_and_the_chain_is_the_fallback() {
    let c = parse(
        r#"[[chains.x.sla]]
priority = ["Urgent", "high"]
response_hours = 1
at_risk_hours = 0.25
calendar = "always"
pause = ["resolution"]
[[chains.x.sla]]
priority = "normal"
resolution_hours = 40
"#,
    )
    .expect("parses");
    let x = c.chain("x").expect("x");
    let urgent = x.for_priority(Some("URGENT"));
    assert_eq!(urgent.policy, Some(1));
    assert_eq!(urgent.sla.response, Some(TimeDelta::hours(1)));
    assert_eq!(urgent.sla.at_risk, AtRisk::Before(TimeDelta::minutes(15)));
    assert!(
        urgent.calendar.is_always(),
        "the policy's calendar governs waits too"
    );
    assert_eq!(urgent.sla.pause, vec![Target::Resolution]);
    assert_eq!(urgent.sla.breach_notify, vec!["boss".to_string()]);
    assert_eq!(urgent.levels, x.levels);
    let normal = x.for_priority(Some(" normal "));
    assert_eq!(normal.policy, Some(2));
    assert_eq!(
        normal.sla.response, None,
        "a policy's targets replace the chain's"
    );
    assert_eq!(normal.sla.resolution, Some(TimeDelta::hours(40)));
    assert_eq!(
        normal.calendar.name, "office",
        "the chain's calendar by default"
    );
    assert_eq!(normal.sla.pause, Target::ALL.to_vec());
    for other in [Some("low"), None] {
        let fallback = x.for_priority(other);
        assert_eq!(fallback.policy, None);
        assert_eq!(fallback.sla.response, Some(TimeDelta::hours(8)));
    }
}

#[test]
fn a_policy_without_priority_takes_everything_left() {
    let c = parse("[[chains.x.sla]]\npriority = \"urgent\"\nresponse_hours = 1\n[[chains.x.sla]]\nresponse_hours = 2\n")
        .expect("parses");
    let x = c.chain("x").expect("x");
    assert_eq!(x.for_priority(None).policy, Some(2));
    assert_eq!(x.for_priority(Some("low")).policy, Some(2));
    assert_eq!(x.for_priority(Some("urgent")).policy, Some(1));
}

#[test]
fn policies_change_the_fingerprint() {
    let fp = |p: &str| {
        parse(p)
            .expect("parses")
            .chain("x")
            .expect("x")
            .fingerprint()
    };
    let none = fp("");
    let one = fp("[[chains.x.sla]]\npriority = \"urgent\"\nresponse_hours = 1\n");
    let two = fp("[[chains.x.sla]]\npriority = \"urgent\"\nresponse_hours = 2\n");
    let paused = fp("[[chains.x.sla]]\npriority = \"urgent\"\nresponse_hours = 1\npause = []\n");
    assert!(
        none != one && one != two && one != paused,
        "{none} {one} {two} {paused}"
    );
}

#[test]
fn refusals_name_line_and_column() {
    // Policies start on line 11.
    let cases: &[(&str, (usize, usize), &str)] = &[
        ("[[chains.x.sla]]\nresponse_hours = 1\n[[chains.x.sla]]\npriority = \"high\"\n", (13, 1),
         "sla policy 2 never applies"),
        ("[[chains.x.sla]]\npriority = \"high\"\n[[chains.x.sla]]\npriority = [\"low\", \"HIGH\"]\n", (14, 12),
         "priority `high` is already taken"),
        ("[[chains.x.sla]]\npriority = []\n", (12, 12), "matches nothing"),
        ("[[chains.x.sla]]\npriority = \"high\"\ncalendar = \"nope\"\n", (13, 12),
         "chain `x`, sla policy 1: no calendar `nope`"),
        ("[[chains.x.sla]]\npriority = \"high\"\npause = [\"lunch\"]\n", (13, 9), "pause names `lunch`"),
        ("[[chains.x.sla]]\npriority = \"high\"\nresponse_hours = 0\n", (13, 18),
         "chain `x`, sla policy 1: response_hours must be greater than 0"),
        ("[[chains.x.sla]]\npriority = \"high\"\nat_risk = 0.5\n", (13, 11), "at_risk needs a target"),
        ("[[chains.x.sla]]\npriority = \"high\"\nresponse_hours = 1\ncolour = 1\n", (14, 1),
         "unknown field `colour`"),
    ];
    for (policies, pos, fragment) in cases {
        let e = parse(policies).expect_err(policies);
        assert!(e.message.contains(fragment), "{policies}: {e}");
        assert_eq!(e.pos, Some(*pos), "{policies}: {e}");
    }
}

#[test]
fn a_calendar_only_a_policy_uses_is_used() {
    let c = parse(
        "[calendars.night]\ntimezone = \"UTC\"\nhours = { mon-sun = \"24h\" }\n\
         [[chains.x.sla]]\npriority = \"urgent\"\nresponse_hours = 1\ncalendar = \"night\"\n",
    );
    assert!(c.is_ok(), "{c:?}");
}

#[test]
fn breach_notify_may_rest_on_policy_targets() {
    let text = BASE.replace("response_hours = 8\n", "")
        + "[[chains.x.sla]]\npriority = \"urgent\"\nresponse_hours = 1\n";
    assert!(Config::parse(&text, Path::new("t.toml")).is_ok());
}
