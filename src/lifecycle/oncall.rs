//! Pages that reach a person: the person on call for a role when a page is
//! decided (overrides from the store, layers from the config), and the
//! override commands. A catch-up after missed checks resolves the person at
//! the decision, not at the missed instant: the page goes to whoever can
//! act now.

use crate::store::Tx;
use anyhow::Result;

use crate::config::Config;
use crate::engine::oncall::{self, OnCall, Override};
use crate::error::{conflict, usage};
use crate::model::time::rfc3339;
use crate::model::Ts;
use crate::store::oncall::{self as store, NewOverride, OverrideRow};

/// Who a page of `role` decided at `now` reaches besides the role's own
/// contacts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Reach {
    /// The person on call (None: the role has no rotation, or a gap).
    pub person: Option<String>,
    /// The role has rotations and nobody is on call: the page falls back
    /// to the role's own channels.
    pub gap: bool,
}

/// The person on call for `role` at `now`. Roles without rotations cost
/// nothing (no query).
pub fn reach(tx: &Tx, config: &Config, role: &str, now: Ts) -> Result<Reach> {
    let Some(r) = config.roles.get(role).filter(|r| !r.rotations.is_empty()) else {
        return Ok(Reach::default());
    };
    let overrides = store::live(tx, Some(role), now)?;
    Ok(match oncall::on_call(r, now, &overrides) {
        Some(OnCall { person, .. }) => Reach {
            person: Some(person),
            gap: false,
        },
        None => Reach {
            person: None,
            gap: true,
        },
    })
}

/// `oncall override ROLE --person P --from T --until T`: P is on call for
/// ROLE in [from, until). Overrides of one role may not overlap (which
/// would win is not obvious): the existing one is named.
pub fn add_override(tx: &Tx, config: &Config, o: &NewOverride, now: Ts) -> Result<i64> {
    let role = config.roles.get(o.role).ok_or_else(|| {
        let known: Vec<&str> = config.roles.keys().map(String::as_str).collect();
        usage(format!(
            "no role `{}` (roles: {})",
            o.role,
            known.join(", ")
        ))
    })?;
    if role.rotations.is_empty() {
        return Err(usage(format!(
            "role `{}` has no rotations: an override replaces who is on call, so it needs \
             [[roles.{}.rotations]]",
            o.role, o.role
        )));
    }
    if !config.people.contains_key(o.person) {
        let known: Vec<&str> = config.people.keys().map(String::as_str).collect();
        return Err(usage(format!(
            "no person `{}` (people: {})",
            o.person,
            known.join(", ")
        )));
    }
    if o.until <= o.from {
        return Err(usage("--until must be after --from"));
    }
    if o.until <= now {
        return Err(usage(format!(
            "the override ends at {}, which has passed",
            rfc3339(o.until)
        )));
    }
    if let Some(other) = store::overlapping(tx, o.role, o.from, o.until)? {
        return Err(conflict(format!(
            "override {} already puts {} on call for {} from {} until {}; cancel it first \
             (`escalate oncall cancel {}`)",
            other.o.id,
            other.o.person,
            other.o.role,
            rfc3339(other.o.from),
            rfc3339(other.o.until),
            other.o.id
        )));
    }
    store::add(tx, o, now)
}

/// `oncall cancel ID`.
pub fn cancel_override(tx: &Tx, id: i64, by: &str, now: Ts) -> Result<OverrideRow> {
    let row = store::get(tx, id)?
        .ok_or_else(|| crate::error::no_such_issue(format!("override {id} does not exist")))?;
    if let Some(at) = row.cancelled_at {
        return Err(conflict(format!(
            "override {id} was cancelled at {} by {}",
            rfc3339(at),
            row.cancelled_by.as_deref().unwrap_or("someone")
        )));
    }
    store::cancel(tx, id, by, now)?;
    store::get(tx, id)?.ok_or_else(|| anyhow::anyhow!("override {id} vanished"))
}

/// Live overrides ending after `after` (all roles), for schedules.
pub fn overrides(tx: &Tx, after: Ts) -> Result<Vec<Override>> {
    store::live(tx, None, after)
}
