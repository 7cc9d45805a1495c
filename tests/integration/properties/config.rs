//! The config parser (`Config::parse`): arbitrary text, bytes, token soup,
//! mutations of the starter and structured configs never panic, and every
//! error stays one line.

use super::*;

/// `Config::parse` returns (never panics — proptest fails a case that does)
/// either a config that holds what validation promises, or an error whose
/// message is one non-empty line.
///
/// Messages quote keys and values the user wrote (names, addresses, URLs);
/// a line break inside one is shown escaped, so even then the message is
/// one line (`config_errors_quoting_line_breaks_stay_one_line` pins the
/// cases found by these properties).
fn parses_cleanly(text: &str) -> Result<(), TestCaseError> {
    match Config::parse(text, Path::new("chains.toml")) {
        Ok(config) => {
            for (name, chain) in &config.chains {
                prop_assert_eq!(name, &chain.name);
                prop_assert!((1..=MAX_LEVELS).contains(&chain.levels.len()));
                prop_assert!(chain.repeat <= MAX_REPEAT);
                for l in &chain.levels {
                    prop_assert!(l.wait >= TimeDelta::zero() && l.wait <= TimeDelta::days(366));
                    prop_assert!(
                        config.roles.contains_key(&l.role),
                        "unknown role {}",
                        l.role
                    );
                }
                if chain.repeat > 0 {
                    prop_assert!(chain
                        .levels
                        .last()
                        .is_some_and(|l| l.wait > TimeDelta::zero()));
                }
                prop_assert!(chain.ack_timeout.is_none_or(|d| d > TimeDelta::zero()));
            }
        }
        Err(e) => {
            let m = &e.message;
            prop_assert!(!m.trim().is_empty(), "empty message for {text:?}");
            prop_assert!(
                !m.contains(['\n', '\r']),
                "message is not one line: {m:?}\nfor input {text:?}"
            );
        }
    }
    Ok(())
}

/// A byte-level edit of a file.
#[derive(Debug, Clone)]
enum Edit {
    Flip(prop::sample::Index, u8),
    Set(prop::sample::Index, u8),
    Delete(prop::sample::Index, usize),
    Insert(prop::sample::Index, Vec<u8>),
    Duplicate(prop::sample::Index, usize),
    Truncate(prop::sample::Index),
}

fn edits() -> impl Strategy<Value = Vec<Edit>> {
    let edit = prop_oneof![
        (any::<prop::sample::Index>(), 0u8..8).prop_map(|(i, b)| Edit::Flip(i, 1 << b)),
        (
            any::<prop::sample::Index>(),
            prop::sample::select(b"\"'[]{}=,.#\n\\ 0123456789-+eE_aztf".to_vec())
        )
            .prop_map(|(i, b)| Edit::Set(i, b)),
        (any::<prop::sample::Index>(), 1usize..40).prop_map(|(i, n)| Edit::Delete(i, n)),
        (
            any::<prop::sample::Index>(),
            prop::collection::vec(any::<u8>(), 1..8)
        )
            .prop_map(|(i, b)| Edit::Insert(i, b)),
        (any::<prop::sample::Index>(), 1usize..200).prop_map(|(i, n)| Edit::Duplicate(i, n)),
        any::<prop::sample::Index>().prop_map(Edit::Truncate),
    ];
    prop::collection::vec(edit, 1..8)
}

fn apply(text: &str, edits: &[Edit]) -> String {
    let mut b = text.as_bytes().to_vec();
    for e in edits {
        if b.is_empty() {
            break;
        }
        match e {
            Edit::Flip(i, mask) => {
                let i = i.index(b.len());
                b[i] ^= mask;
            }
            Edit::Set(i, v) => {
                let i = i.index(b.len());
                b[i] = *v;
            }
            Edit::Delete(i, n) => {
                let i = i.index(b.len());
                b.drain(i..(i + n).min(b.len()));
            }
            Edit::Insert(i, v) => {
                let i = i.index(b.len() + 1);
                b.splice(i..i, v.iter().copied());
            }
            Edit::Duplicate(i, n) => {
                let i = i.index(b.len());
                let piece = b[i..(i + n).min(b.len())].to_vec();
                b.splice(i..i, piece);
            }
            Edit::Truncate(i) => b.truncate(i.index(b.len())),
        }
    }
    String::from_utf8_lossy(&b).into_owned()
}

/// A TOML basic string holding `s` exactly.
fn toml_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Short strings from the characters that break things: line breaks,
/// quotes, backticks, non-ASCII, anything.
fn nasty_string() -> impl Strategy<Value = String> {
    let c = prop_oneof![
        3 => any::<char>(),
        1 => prop::sample::select(vec!['\n', '\r', '"', '`', '\\', '\u{2028}', '\t', '@', ':', '/']),
        3 => prop::sample::select(vec!['a', 'b', '_', '.', '-', '1']),
    ];
    prop::collection::vec(c, 0..12).prop_map(String::from_iter)
}

/// A value of the wrong type for any key (rarely drawn).
fn wrong_type() -> impl Strategy<Value = String> {
    prop::sample::select(vec!["\"4\"", "true", "[1]", "{ x = 1 }", "1979-05-27"])
        .prop_map(str::to_string)
}

/// A string value: plausible for some key, or nasty.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => prop::sample::select(vec![
            "agent", "a@example.com", "https://hooks.example.com/x", "smtp://localhost:25",
            "smtps://mail.example.com", "starttls", "none", "tls", "ftp://x", "",
        ]).prop_map(toml_string),
        6 => nasty_string().prop_map(|s| toml_string(&s)),
        1 => wrong_type(),
    ]
}

/// A string or an environment reference.
fn secret() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => text(),
        1 => nasty_string().prop_map(|s| format!("{{ env = {} }}", toml_string(&s))),
        1 => Just("{ env = \"ESCALATE_PROPERTIES_UNSET\" }".to_string()),
    ]
}

/// A number of hours or minutes, with the boundaries validation draws.
fn float() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => prop::sample::select(vec![
            "0", "1", "0.25", "4", "-1", "-0.0", "nan", "-nan", "inf", "-inf", "1e300", "8784",
            "8784.0001", "0.0000001", "0.5", "0.8", "1.0", "300", "300.5", "527040", "527041",
        ]).prop_map(str::to_string),
        2 => any::<f64>().prop_map(|v| if v.is_nan() {
            "nan".to_string()
        } else if v.is_infinite() {
            if v > 0.0 { "inf".to_string() } else { "-inf".to_string() }
        } else {
            format!("{v:?}")
        }),
        1 => any::<i64>().prop_map(|v| v.to_string()),
        1 => wrong_type(),
    ]
}

/// An integer (level, repeat, concurrency, max_attempts).
fn int() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => prop::sample::select(vec![
            "0", "1", "2", "3", "-1", "100", "101", "256", "257", "1000", "1001", "4294967296",
        ]).prop_map(str::to_string),
        2 => any::<i64>().prop_map(|v| v.to_string()),
        1 => wrong_type(),
    ]
}

/// A table key: mostly the usual one (None), sometimes anything (quoted).
fn key() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        6 => Just(None),
        1 => nasty_string().prop_map(|s| Some(toml_string(&s))),
    ]
}

/// A role reference: mostly `agent` (the first role's usual key).
fn role_ref() -> impl Strategy<Value = String> {
    prop_oneof![6 => Just("\"agent\"".to_string()), 1 => text()]
}

/// `key = value` lines, each present with its probability.
fn lines(keys: Vec<(&'static str, f64, BoxedStrategy<String>)>) -> impl Strategy<Value = String> {
    let picks: Vec<_> = keys
        .into_iter()
        .map(|(k, p, v)| {
            prop::option::weighted(p, v).prop_map(move |v| v.map(|v| format!("{k} = {v}\n")))
        })
        .collect();
    picks.prop_map(|v| v.into_iter().flatten().collect::<String>())
}

/// A config laid out like a real one, with each value drawn from
/// plausible, boundary and nasty values of (mostly) the right type: reaches
/// the validation code behind the TOML parser, where messages quote what the
/// user wrote.
fn structured_config() -> impl Strategy<Value = String> {
    let level = (
        prop::option::weighted(0.3, int()),
        role_ref(),
        float(),
        prop::option::weighted(
            0.2,
            prop_oneof![3 => Just("\"gh\"".to_string()), 1 => text()],
        ),
    )
        .prop_map(|(n, r, w, task)| {
            let n = n.map(|n| format!("level = {n}, ")).unwrap_or_default();
            let task = task
                .map(|t| format!(", create_task = {t}"))
                .unwrap_or_default();
            format!("{{ {n}role = {r}, wait_hours = {w}{task} }}")
        });
    let chain = (
        key(),
        prop::collection::vec(level, 0..4),
        lines(vec![
            ("description", 0.2, text().boxed()),
            ("repeat", 0.3, int().boxed()),
            ("ack_timeout_hours", 0.3, float().boxed()),
            ("response_hours", 0.4, float().boxed()),
            ("resolution_hours", 0.4, float().boxed()),
            ("at_risk", 0.2, float().boxed()),
            ("at_risk_hours", 0.2, float().boxed()),
            (
                "breach_notify",
                0.3,
                prop::collection::vec(role_ref(), 0..3)
                    .prop_map(|v| format!("[{}]", v.join(", ")))
                    .boxed(),
            ),
        ]),
    )
        .prop_map(|(k, levels, rest)| (k, format!("levels = [{}]\n{rest}", levels.join(", "))));
    let role = (
        key(),
        lines(vec![
            ("description", 0.2, text().boxed()),
            ("email", 0.3, text().boxed()),
            ("slack", 0.3, secret().boxed()),
            ("webhook", 0.3, secret().boxed()),
            ("webhook_secret", 0.2, secret().boxed()),
            (
                "console",
                0.2,
                prop::sample::select(vec!["true", "false", "1"])
                    .prop_map(str::to_string)
                    .boxed(),
            ),
        ]),
    );
    let email = lines(vec![
        ("from", 0.9, text().boxed()),
        ("smtp", 0.9, secret().boxed()),
        ("tls", 0.4, text().boxed()),
        ("username", 0.2, secret().boxed()),
        ("password", 0.2, secret().boxed()),
        ("ca_file", 0.2, text().boxed()),
    ])
    .prop_map(|rest| format!("[email]\n{rest}"));
    let checker = lines(vec![("expected_interval_minutes", 0.8, float().boxed())])
        .prop_map(|r| format!("[checker]\n{r}"));
    let delivery = lines(vec![
        ("timeout_seconds", 0.5, float().boxed()),
        ("concurrency", 0.5, int().boxed()),
        ("max_attempts", 0.5, int().boxed()),
    ])
    .prop_map(|r| format!("[delivery]\n{r}"));
    let tracker = (
        key(),
        lines(vec![
            (
                "kind",
                0.9,
                prop_oneof![
                    3 => prop::sample::select(vec!["\"github\"", "\"jira\"", "\"linear\""])
                        .prop_map(str::to_string),
                    1 => text(),
                ]
                .boxed(),
            ),
            (
                "url",
                0.9,
                prop_oneof![3 => Just("\"https://api.example.com/\"".to_string()), 1 => text()]
                    .boxed(),
            ),
            ("token", 0.9, secret().boxed()),
            (
                "project",
                0.9,
                prop_oneof![3 => Just("\"o/r\"".to_string()), 1 => text()].boxed(),
            ),
            ("issue_type", 0.2, text().boxed()),
            ("email", 0.2, text().boxed()),
        ]),
    )
        .prop_map(|(k, rest)| format!("[trackers.{}]\n{rest}", k.unwrap_or("gh".into())));
    let one_or_many = || {
        prop_oneof![
            text(),
            prop::collection::vec(text(), 0..3).prop_map(|v| format!("[{}]", v.join(", "))),
        ]
    };
    let route = lines(vec![
        ("name", 0.4, text().boxed()),
        ("source", 0.3, one_or_many().boxed()),
        ("priority", 0.3, one_or_many().boxed()),
        ("tags", 0.3, one_or_many().boxed()),
        (
            "title",
            0.4,
            prop_oneof![
                2 => prop::sample::select(vec!["^db", "(", "[a-", "a{99999999}", "(?i)down", ""])
                    .prop_map(toml_string),
                1 => text(),
            ]
            .boxed(),
        ),
        (
            "chain",
            0.9,
            prop_oneof![3 => Just("\"c0\"".to_string()), 1 => text()].boxed(),
        ),
        ("owner", 0.2, text().boxed()),
    ])
    .prop_map(|r| format!("[[routes]]\n{r}"));
    let kinds = prop::collection::vec(
        prop_oneof![
            3 => prop::sample::select(
                escalate::model::EventKind::ALL.iter().map(|k| k.as_str()).collect::<Vec<_>>()
            )
            .prop_map(toml_string),
            1 => text(),
        ],
        0..3,
    )
    .prop_map(|v| format!("[{}]", v.join(", ")));
    let subscription = lines(vec![
        ("url", 0.9, secret().boxed()),
        ("secret", 0.3, secret().boxed()),
        ("kinds", 0.5, kinds.boxed()),
    ])
    .prop_map(|r| format!("[[subscriptions]]\n{r}"));
    let extras = (
        prop::collection::vec(tracker, 0..2),
        prop::collection::vec(route, 0..3),
        prop::collection::vec(subscription, 0..2),
    )
        .prop_map(|(t, r, s)| [t, r, s].concat());
    (
        prop::collection::vec(chain, 0..3),
        prop::collection::vec(role, 0..3),
        prop::option::weighted(0.4, email),
        prop::option::weighted(0.3, checker),
        prop::option::weighted(0.3, delivery),
        extras,
    )
        .prop_map(|(chains, roles, email, checker, delivery, extras)| {
            // Usual keys: chains c0, c1…; roles agent (which role_ref
            // names), agent1…
            let mut doc = String::new();
            for (i, (k, body)) in chains.into_iter().enumerate() {
                let k = k.unwrap_or_else(|| format!("c{i}"));
                doc.push_str(&format!("[chains.{k}]\n{body}\n"));
            }
            for (i, (k, body)) in roles.into_iter().enumerate() {
                let usual = if i == 0 {
                    "agent".to_string()
                } else {
                    format!("agent{i}")
                };
                doc.push_str(&format!("[roles.{}]\n{body}\n", k.unwrap_or(usual)));
            }
            for s in [email, checker, delivery]
                .into_iter()
                .flatten()
                .chain(extras)
            {
                doc.push('\n');
                doc.push_str(&s);
            }
            doc
        })
}

/// TOML-ish tokens in random order.
fn token_soup() -> impl Strategy<Value = String> {
    let token = prop::sample::select(vec![
        "[chains.c]",
        "[roles.agent]",
        "[email]",
        "[delivery]",
        "[checker]",
        "[[chains.c]]",
        "levels",
        "role",
        "wait_hours",
        "repeat",
        "level",
        "at_risk",
        "at_risk_hours",
        "response_hours",
        "email",
        "slack",
        "webhook",
        "env",
        "from",
        "smtp",
        " = ",
        "=",
        "[",
        "]",
        "{",
        "}",
        ",",
        "\"",
        "'",
        "\"\"\"",
        "\n",
        " ",
        "#",
        "1",
        "0.5",
        "-1",
        "nan",
        "inf",
        "\"agent\"",
        "\"a\\nb\"",
        "\\u00e9",
        "é",
        "\r\n",
        "true",
        "1979-05-27T07:32:00Z",
    ]);
    prop::collection::vec(token, 0..60).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(config(256))]

    /// Arbitrary Unicode text.
    #[test]
    fn parse_survives_arbitrary_text(text in any::<String>()) {
        parses_cleanly(&text)?;
    }

    /// Arbitrary bytes, read as the loader would see them after a lossy
    /// UTF-8 decode.
    #[test]
    fn parse_survives_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        parses_cleanly(&String::from_utf8_lossy(&bytes))?;
    }

    /// TOML tokens in random order.
    #[test]
    fn parse_survives_token_soup(text in token_soup()) {
        parses_cleanly(&text)?;
    }
}

proptest! {
    #![proptest_config(config(1024))]

    /// The repo's chains.toml with 1–7 random byte edits (bit flips, bytes
    /// set to TOML punctuation, deletions, insertions, duplications,
    /// truncation).
    #[test]
    fn parse_survives_mutations_of_the_starter(edits in edits()) {
        parses_cleanly(&apply(escalate::config::STARTER, &edits))?;
    }

    /// Configs laid out like real ones with boundary and nasty values.
    #[test]
    fn parse_survives_structured_configs(text in structured_config()) {
        parses_cleanly(&text)?;
    }
}

/// The starter file itself parses (the mutation property starts from it).
#[test]
fn starter_parses() {
    let c = Config::parse(escalate::config::STARTER, Path::new("chains.toml")).expect("parses");
    assert!(c.chain("customer_issue").is_some());
}

/// Values quoted raw once broke "a config error is one line"; each input is
/// a minimal counterexample the properties found (now shown escaped).
#[test]
fn config_errors_quoting_line_breaks_stay_one_line() {
    let cases = [
        "[roles.agent]\nwebhook = \"\\n\"\n",
        "[roles.agent]\nwebhook = \"\\r\"\n",
        "[roles.agent]\nemail = \"a\\nb\"\n",
        "[roles.agent]\n[chains.c]\nlevels = [{ role = \"x\\ny\", wait_hours = 1 }]\n",
        "[roles.agent]\n[chains.c]\nlevels = [{ role = \"agent\", wait_hours = 1 }]\n\
         response_hours = 1\nbreach_notify = [\"x\\ny\"]\n",
        "[email]\nfrom = \"a\\nb\"\nsmtp = \"smtp://h\"\n",
        "[email]\nfrom = \"a@b.c\"\nsmtp = \"smtp://h\"\ntls = \"x\\ny\"\n",
        "[roles.\"a\\nb\"]\n",
        "[chains.\"a\\nb\"]\nlevels = []\n",
        "\"a\\rb\" = 1\n",
        "[trackers.gh]\nkind = \"x\\ny\"\nurl = \"https://h\"\ntoken = \"t\"\nproject = \"o/r\"\n",
        "[[routes]]\nchain = \"x\\ny\"\n",
        "[[routes]]\nname = \"a\\nb\"\nchain = \"x\"\n",
        "[[subscriptions]]\nurl = \"https://h\"\nkinds = [\"x\\ny\"]\n",
    ];
    let mut bad = Vec::new();
    for text in cases {
        let e = Config::parse(text, Path::new("chains.toml")).expect_err("invalid");
        if e.message.contains('\n') || e.message.contains('\r') {
            bad.push(format!("{text:?} -> {:?}", e.message));
        }
    }
    assert!(bad.is_empty(), "multi-line messages:\n{}", bad.join("\n"));
}
