//! `[sources.NAME]`: webhook secrets from the file or the environment, and
//! the errors, positioned, for what cannot be one.

use super::parse;
use crate::config::Secret;

#[test]
fn sources_hold_webhook_secrets_from_env_or_file() {
    let c = parse(
        "[sources.zendesk]\nwebhook_secret = { env = \"ZD_SECRET\" }\n\
         [sources.intercom]\nwebhook_secret = \"s3cret\"\n\
         [sources.script]\n",
    )
    .expect("parses");
    assert_eq!(
        c.webhook_secret("zendesk"),
        Some(&Secret::Env("ZD_SECRET".to_string()))
    );
    assert_eq!(
        c.webhook_secret("intercom"),
        Some(&Secret::Literal("s3cret".to_string()))
    );
    assert_eq!(c.sources["intercom"].name, "intercom");
    // A source with no secret, and one not configured: nothing verifies.
    assert_eq!(c.webhook_secret("script"), None);
    assert_eq!(c.webhook_secret("freshdesk"), None);
    assert!(parse("").expect("empty").sources.is_empty());
}

#[test]
fn bad_sources_are_errors_at_their_position() {
    type Case<'a> = (&'a str, (usize, usize), &'a str);
    let cases: &[Case] = &[
        (
            "[sources.zendesk]\nwebhook_secret = { env = \"\" }\n",
            (2, 18),
            "[sources.zendesk] webhook_secret: env = \"\" names no variable",
        ),
        (
            "[sources.zendesk]\nwebhook_secret = \"  \"\n",
            (2, 18),
            "[sources.zendesk] webhook_secret: is empty",
        ),
        (
            "[sources.zendesk]\nwebhook_secret = { env = \"A\" }\nticket_urll = \"x\"\n",
            (3, 1),
            "unknown field `ticket_urll`",
        ),
        ("[sources.\"a b\"]\n", (1, 1), "source name `a b`"),
        ("[sources.zendesk]\nwebhook_secret = 7\n", (2, 18), ""),
    ];
    for (text, pos, fragment) in cases {
        let e = parse(text).expect_err(text);
        assert_eq!(e.pos, Some(*pos), "{text}: {e}");
        assert!(e.message.contains(fragment), "{text}: {e}");
        assert!(!e.to_string().contains('\n'), "{e}");
    }
}

#[test]
fn config_check_names_an_unset_webhook_secret() {
    let var = "ESCALATE_TEST_SOURCES_UNSET_7F3A";
    let c = parse(&format!(
        "[sources.intercom]\nwebhook_secret = {{ env = \"{var}\" }}\n"
    ))
    .expect("parses");
    let problems = c.environment_problems();
    assert!(
        problems
            .iter()
            .any(|p| p.contains("[sources.intercom] webhook_secret") && p.contains(var)),
        "{problems:?}"
    );
    // A literal secret needs nothing from the environment, and is never
    // printed in a problem.
    let c = parse("[sources.intercom]\nwebhook_secret = \"s3cret\"\n").expect("parses");
    assert!(c
        .environment_problems()
        .iter()
        .all(|p| !p.contains("s3cret")));
}
