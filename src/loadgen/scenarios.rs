//! Scenario planning and injection, with the ground truth each scenario leaves behind.
//!
//! [`Plan::build`] picks one distinct user per requested [`ScenarioKind`], fixes its days
//! relative to the end of the period (always after the 21-day baseline) and records directory
//! changes the scenario implies (leaver group, granted role). [`Plan::inject`] then adds the
//! scenario's rows on their days and notes every injected row's evidence id and time.
//! Scenario days, for a period of `n` days (moved back to the previous weekday if they fall on a
//! weekend): trip `n-20..n-17`, new country `n-13`, inbox rule `n-11`, role `n-9`, impossible
//! travel `n-6`, bulk downloads `n-17..n-3` with the resignation on `n-3`, dormant wake `n-2`
//! (the dormant user is active only on days 0-2). A scenario that does not fit is skipped with
//! a warning.

use chrono::{DateTime, Datelike, Duration, Utc, Weekday};
use rand::Rng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use super::activity::Travel;
use super::directory::{Directory, User, city_ip};
use super::engine::Observed;
use super::inject::{self, Env};
use super::places::{self, City, Dept, PAYROLL_SITE};
use super::rowkit::{Row, TenantCtx};
use super::{ScenarioKind, ScenarioTruth, TenantSpec};

/// The forwarding target of the malicious inbox rule.
pub const FORWARD_TO: &str = "external.collector@proton.example";
/// The role granted in the privileged-role scenario.
pub const GRANTED_ROLE: &str = "Global Administrator";
const FIRST_SCENARIO_DAY: u32 = 22;

/// One scenario placed on a user and days.
#[derive(Debug, Clone)]
pub struct Planned {
    pub kind: ScenarioKind,
    pub user: usize,
    pub day: u32,
    /// Who grants the role (privileged-role scenario); otherwise the user.
    pub actor: usize,
    /// Bulk-download days and download counts.
    pub bulk: Vec<(u32, u32)>,
    pub site: &'static str,
    pub truth: ScenarioTruth,
    span: Option<(DateTime<Utc>, DateTime<Utc>)>,
}

impl Planned {
    pub fn note(&mut self, evidence: String, time: DateTime<Utc>) {
        self.truth.evidence_ids.push(evidence);
        self.note_time(time);
    }

    fn note_time(&mut self, time: DateTime<Utc>) {
        self.span = Some(match self.span {
            Some((a, b)) => (a.min(time), b.max(time)),
            None => (time, time),
        });
    }
}

/// A business trip of the benign-travel user.
#[derive(Debug, Clone)]
pub struct Trip {
    pub user: usize,
    pub first: u32,
    pub last: u32,
    pub city: &'static City,
    pub ip: String,
}

/// Every scenario of the tenant.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub items: Vec<Planned>,
    /// The dormant user and the day they wake.
    pub dormant: Option<(usize, u32)>,
    pub trip: Option<Trip>,
    /// IdentityInfo change rows to emit: when, and whose.
    pub changes: Vec<(DateTime<Utc>, usize)>,
}

/// Midnight UTC of `day`.
pub fn day_start(start: DateTime<Utc>, day: u32) -> DateTime<Utc> {
    start + Duration::days(i64::from(day))
}

pub fn is_weekend(start: DateTime<Utc>, day: u32) -> bool {
    matches!(day_start(start, day).weekday(), Weekday::Sat | Weekday::Sun)
}

/// `day`, or the weekday before it.
fn weekday_at_or_before(start: DateTime<Utc>, mut day: u32) -> u32 {
    while day > 0 && is_weekend(start, day) {
        day -= 1;
    }
    day
}

/// Local `hour:minute` at the user's home on `day`, as UTC.
pub fn local(start: DateTime<Utc>, day: u32, city: &City, hour: i64, minute: i64) -> DateTime<Utc> {
    day_start(start, day) + Duration::minutes((hour - city.utc_offset) * 60 + minute)
}

impl Plan {
    pub fn build(spec: &TenantSpec, dir: &mut Directory, rng: &mut ChaCha8Rng) -> Plan {
        let mut plan = Plan::default();
        let mut order: Vec<usize> = (0..dir.users.len()).collect();
        order.shuffle(rng);
        let mut used: Vec<usize> = Vec::new();
        let mut kinds = spec.scenarios.clone();
        kinds.dedup();
        for kind in kinds {
            let Some(day) = scenario_day(spec, kind) else {
                tracing::warn!(
                    ?kind,
                    days = spec.days,
                    "period too short, scenario skipped"
                );
                continue;
            };
            let fits = |u: &User| candidate(kind, u);
            let pick = order
                .iter()
                .copied()
                .find(|i| !used.contains(i) && fits(&dir.users[*i]));
            let Some(user) = pick else {
                tracing::warn!(
                    ?kind,
                    users = spec.users,
                    "no suitable user, scenario skipped"
                );
                continue;
            };
            used.push(user);
            let mut item = new_item(kind, user, day, &dir.users[user], spec.start);
            plan.prepare(spec, dir, rng, &mut item, &mut used, &order);
            plan.items.push(item);
        }
        plan.title_changes(spec, dir, &used, &order);
        plan.changes.sort();
        plan
    }

    /// Kind-specific planning: directory changes, trip, bulk counts, dormant window.
    fn prepare(
        &mut self,
        spec: &TenantSpec,
        dir: &mut Directory,
        rng: &mut ChaCha8Rng,
        item: &mut Planned,
        used: &mut Vec<usize>,
        order: &[usize],
    ) {
        let user = item.user;
        let home = dir.users[user].home;
        match item.kind {
            ScenarioKind::BulkDownloadBeforeResignation => {
                item.site = dir.users[user].dept.sites()[0];
                item.bulk = bulk_days(spec, rng, item.day);
                item.truth.key_facts = vec![String::new(), item.site.to_string()];
                let at = local(spec.start, item.day, home, 16, 30);
                dir.users[user].changes.leaver = Some(at);
                self.changes.push((at, user));
            }
            ScenarioKind::NewPrivilegedRole => {
                let actor = order
                    .iter()
                    .copied()
                    .find(|i| !used.contains(i) && dir.users[*i].is_it())
                    .unwrap_or(Dept::ALL.iter().position(|d| *d == Dept::It).unwrap_or(0));
                used.push(actor);
                item.actor = actor;
                let at = local(spec.start, item.day, dir.users[actor].home, 15, 5);
                let role_at = at + Duration::minutes(20);
                dir.users[user].changes.role = Some((role_at, GRANTED_ROLE.to_string()));
                self.changes.push((role_at, user));
            }
            ScenarioKind::DormantAccountWakes => self.dormant = Some((user, item.day)),
            ScenarioKind::BenignTravel => {
                self.trip = Some(Trip {
                    user,
                    first: item.day,
                    last: item.day + 3,
                    city: &places::BERLIN,
                    ip: city_ip(rng, &places::BERLIN),
                });
            }
            _ => {}
        }
    }

    /// Two ordinary users get a new job title mid-period (directory churn).
    fn title_changes(
        &mut self,
        spec: &TenantSpec,
        dir: &mut Directory,
        used: &[usize],
        order: &[usize],
    ) {
        let days = [9u32, 20];
        let free: Vec<usize> = order
            .iter()
            .copied()
            .filter(|i| !used.contains(i) && dir.users[*i].manager.is_some())
            .collect();
        let mut free = free.into_iter();
        for day in days.into_iter().filter(|d| *d < spec.days) {
            let Some(u) = free.next() else { break };
            let at = day_start(spec.start, day) + Duration::hours(11);
            let new_title = format!("Senior {}", dir.users[u].title);
            dir.users[u].changes.title = Some((at, new_title));
            self.changes.push((at, u));
        }
    }

    /// The trip that covers `user` on `day`, if any.
    pub fn travel(&self, user: usize, day: u32) -> Option<Travel> {
        let t = self.trip.as_ref()?;
        (t.user == user && (t.first..=t.last).contains(&day)).then(|| Travel {
            city: t.city,
            ip: t.ip.clone(),
            first_day: day == t.first,
        })
    }

    /// Record evidence of the benign trip (ordinary activity made abroad).
    pub fn note_trip(&mut self, ids: Vec<String>, rows: &[Row]) {
        if let Some(item) = self
            .items
            .iter_mut()
            .find(|i| i.kind == ScenarioKind::BenignTravel)
        {
            for row in rows {
                item.note_time(row.time);
            }
            item.truth.evidence_ids.extend(ids);
        }
    }

    /// Add every scenario row that happens on `day`.
    pub fn inject(
        &mut self,
        ctx: &TenantCtx,
        dir: &Directory,
        start: DateTime<Utc>,
        day: u32,
        rng: &mut ChaCha8Rng,
        out: &mut Vec<Row>,
    ) {
        for item in &mut self.items {
            let env = Env {
                ctx,
                dir,
                start,
                day,
            };
            match item.kind {
                ScenarioKind::BulkDownloadBeforeResignation => inject::bulk(&env, rng, item, out),
                _ if item.day != day => {}
                ScenarioKind::NewCountryFinanceAccess => inject::new_country(&env, rng, item, out),
                ScenarioKind::InboxForwardAfterRiskySignIn => {
                    inject::inbox_forward(&env, rng, item, out)
                }
                ScenarioKind::NewPrivilegedRole => inject::privileged_role(&env, rng, item, out),
                ScenarioKind::DormantAccountWakes => inject::dormant_wakes(&env, rng, item, out),
                ScenarioKind::ImpossibleTravel => inject::impossible_travel(&env, rng, item, out),
                ScenarioKind::BenignTravel => {}
            }
        }
    }

    /// The user of the bulk-download scenario, if planned.
    pub fn bulk_user(&self) -> Option<usize> {
        let bulk = ScenarioKind::BulkDownloadBeforeResignation;
        self.items.iter().find(|i| i.kind == bulk).map(|i| i.user)
    }

    /// Close the ground truth with facts observed in the emitted rows.
    pub fn finish(mut self, observed: &Observed) -> Vec<ScenarioTruth> {
        for item in &mut self.items {
            if let Some((a, b)) = item.span {
                item.truth.start = a;
                item.truth.end = b;
            }
            if item.kind == ScenarioKind::BulkDownloadBeforeResignation {
                let largest = observed.bulk_downloads.values().max().copied().unwrap_or(0);
                item.truth.key_facts[0] = largest.to_string();
            }
            if item.kind == ScenarioKind::DormantAccountWakes
                && let Some(last) = observed.dormant_last_seen
            {
                let idle = (item.truth.start - last).num_days();
                item.truth.key_facts = vec![idle.to_string()];
            }
        }
        self.items.into_iter().map(|i| i.truth).collect()
    }
}

fn scenario_day(spec: &TenantSpec, kind: ScenarioKind) -> Option<u32> {
    let back = match kind {
        ScenarioKind::BenignTravel => 20,
        ScenarioKind::BulkDownloadBeforeResignation => 3,
        ScenarioKind::NewCountryFinanceAccess => 13,
        ScenarioKind::InboxForwardAfterRiskySignIn => 11,
        ScenarioKind::NewPrivilegedRole => 9,
        ScenarioKind::ImpossibleTravel => 6,
        ScenarioKind::DormantAccountWakes => 2,
    };
    let day = weekday_at_or_before(spec.start, spec.days.checked_sub(back)?);
    let earliest = match kind {
        ScenarioKind::BulkDownloadBeforeResignation => FIRST_SCENARIO_DAY + 14,
        ScenarioKind::DormantAccountWakes => 38,
        _ => FIRST_SCENARIO_DAY,
    };
    (day >= earliest).then_some(day)
}

fn candidate(kind: ScenarioKind, u: &User) -> bool {
    let ordinary = u.manager.is_some();
    match kind {
        ScenarioKind::NewCountryFinanceAccess => {
            u.dept != Dept::Finance && !u.is_it() && u.home.utc_offset >= 0 && ordinary
        }
        ScenarioKind::NewPrivilegedRole => !u.is_it() && u.dept != Dept::Finance && ordinary,
        ScenarioKind::DormantAccountWakes => !u.is_it() && ordinary,
        ScenarioKind::BenignTravel => u.home.country != "DE" && ordinary,
        // Evenings stay inside the same UTC day, so daily counts read the same in UTC.
        ScenarioKind::BulkDownloadBeforeResignation => u.home.utc_offset >= 0 && ordinary,
        _ => ordinary && !u.payroll,
    }
}

fn new_item(kind: ScenarioKind, user: usize, day: u32, u: &User, start: DateTime<Utc>) -> Planned {
    let (triggers, facts, malicious, description): (&[&str], Vec<String>, bool, &str) = match kind {
        ScenarioKind::NewCountryFinanceAccess => (
            &[
                "ueba_priority",
                "first_time_country",
                "sensitive_resource_first_access",
            ],
            vec!["BR".into(), PAYROLL_SITE.into(), "02:15".into()],
            true,
            "Sign-in at 02:15 UTC from Sao Paulo (BR), a country, address and ISP the user \
             never used, followed within 30 minutes by file access and downloads on the \
             Finance-Payroll site that neither the user nor any peer had opened.",
        ),
        ScenarioKind::BulkDownloadBeforeResignation => (
            &["bulk_download"],
            vec![],
            true,
            "Downloads from the user's team site climb from a few a day to hundreds a day over the \
             last two weeks (150-300 on each of the last four working days), partly in the \
             evening, before the account is added to the Leavers \
             group. The count key fact is the largest number of the user's download rows \
             (FileDownloaded and FileSyncDownloadedFull) on one UTC calendar day.",
        ),
        ScenarioKind::InboxForwardAfterRiskySignIn => (
            &[
                "risky_sign_in",
                "security_alert",
                "inbox_forwarding_rule",
                "first_time_country",
            ],
            vec![FORWARD_TO.into(), "New-InboxRule".into()],
            true,
            "High-risk sign-in (unfamiliar features) from Bucharest (RO) on an unknown device, an \
             Identity Protection alert, and 20 minutes later an inbox rule forwarding mail that \
             mentions invoices to an external address.",
        ),
        ScenarioKind::NewPrivilegedRole => (
            &["privileged_role_assigned", "anomaly"],
            vec![GRANTED_ROLE.into()],
            true,
            "An IT administrator adds the user, who never held a directory role, to Global \
             Administrator; UEBA raises an Anomalous Role Assignment anomaly.",
        ),
        ScenarioKind::DormantAccountWakes => (
            &["dormant_account_active", "ueba_priority"],
            vec![],
            true,
            "The account was used only in the first three days, then stayed silent for five \
             weeks before a sign-in from a new address. The key fact is the idle time in whole \
             days: wake sign-in time minus the user's last activity row, rounded down.",
        ),
        ScenarioKind::ImpossibleTravel => (
            &["impossible_travel", "first_time_country"],
            vec![u.home.country.into(), "SG".into()],
            true,
            "Two successful sign-ins 40 minutes apart, one from the user's home city and one from \
             Singapore (SG) on an unknown device, more than 5,000 km apart.",
        ),
        ScenarioKind::BenignTravel => (
            &["first_time_country"],
            vec!["DE".into()],
            false,
            "A four-day business trip to Berlin (DE): sign-ins during working hours with the \
             user's usual device, browser and apps from a hotel address, and no sensitive access.",
        ),
    };
    let at = day_start(start, day);
    Planned {
        kind,
        user,
        day,
        actor: user,
        bulk: Vec::new(),
        site: "",
        span: None,
        truth: ScenarioTruth {
            kind,
            user: u.upn.clone(),
            object_id: u.object_id.clone(),
            start: at,
            end: at,
            expected_triggers: triggers.iter().map(|t| t.to_string()).collect(),
            key_facts: facts,
            evidence_ids: Vec::new(),
            malicious,
            description: description.split_whitespace().collect::<Vec<_>>().join(" "),
        },
    }
}

/// Download counts per day of the bulk phase: a two-week ramp on working days (about 10, then
/// 20-60, then 150-300 a day in the last four working days), weekends left alone.
fn bulk_days(spec: &TenantSpec, rng: &mut ChaCha8Rng, last: u32) -> Vec<(u32, u32)> {
    let first = last - 14;
    let working: Vec<u32> = (first..=last)
        .filter(|d| !is_weekend(spec.start, *d))
        .collect();
    let n = working.len();
    working
        .into_iter()
        .enumerate()
        .map(|(k, d)| {
            let count = match n - k {
                1..=4 => rng.random_range(150..=300),
                5..=7 => rng.random_range(20..=60),
                _ => rng.random_range(6..=15),
            };
            (d, count)
        })
        .collect()
}
