//! The tenant's people: users, their habits, and the IdentityInfo and UserPeerAnalytics rows.
//!
//! [`Directory::build`] draws every user from the seeded generator: department, title, manager,
//! home city, one or two addresses, one device and browser. Users change over time only through
//! [`Changes`] (title change, leaver group, granted role), which snapshot rows read at their time.
//! Invariants: the first seven users are the heads of the seven departments (so every department,
//! including IT, has a member); UPNs are unique; peers never include the user, and non-Finance
//! users never have Finance peers (Finance groups are kept apart).

use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use rand::seq::{IndexedRandom, SliceRandom};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};

use super::places::{City, Dept, GIVEN, SURNAMES};
use super::rowkit::{Row, TenantCtx, guid, jitter, ts7};

/// Time-dependent directory facts, applied to snapshots taken at or after their instant.
#[derive(Debug, Clone, Default)]
pub struct Changes {
    pub title: Option<(DateTime<Utc>, String)>,
    pub leaver: Option<DateTime<Utc>>,
    pub role: Option<(DateTime<Utc>, String)>,
}

/// One member of the tenant.
#[derive(Debug, Clone)]
pub struct User {
    pub object_id: String,
    pub upn: String,
    pub account_name: String,
    pub given: String,
    pub surname: String,
    pub dept: Dept,
    pub title: String,
    pub manager: Option<usize>,
    pub home: &'static City,
    pub ips: Vec<String>,
    pub device_id: String,
    pub device_name: String,
    pub os: &'static str,
    pub browser: &'static str,
    pub user_agent: &'static str,
    pub employee_id: String,
    pub created: DateTime<Utc>,
    /// Payroll staff are the only ones who open the payroll site.
    pub payroll: bool,
    pub changes: Changes,
}

impl User {
    pub fn display_name(&self) -> String {
        format!("{} {}", self.given, self.surname)
    }

    pub fn is_it(&self) -> bool {
        self.dept == Dept::It
    }
}

const DEVICES: [(&str, &str, &str); 3] = [
    (
        "Windows10",
        "Edge 131.0.2903",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) \
         Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
    ),
    (
        "Windows10",
        "Chrome 131.0.6778",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) \
         Chrome/131.0.0.0 Safari/537.36",
    ),
    (
        "MacOs",
        "Safari 18.2",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) \
         Version/18.2 Safari/605.1.15",
    ),
];

/// An address inside a city's block.
pub fn city_ip(rng: &mut impl Rng, city: &City) -> String {
    let [a, b, c] = city.net;
    format!(
        "{a}.{b}.{}.{}",
        c.wrapping_add(rng.random_range(0..8u8)),
        rng.random_range(2..250u8)
    )
}

/// Every user of the tenant, plus derived lookups.
#[derive(Debug, Clone)]
pub struct Directory {
    pub users: Vec<User>,
    /// Device name prefix, from the tenant's domain (`CONTOSO`).
    pub org: String,
}

impl Directory {
    pub fn build(rng: &mut ChaCha8Rng, count: usize, domain: &str, start: DateTime<Utc>) -> Self {
        let org = domain.split('.').next().unwrap_or("org").to_uppercase();
        let mut users: Vec<User> = Vec::with_capacity(count);
        let mut heads: Vec<usize> = Vec::new();
        for i in 0..count {
            let dept = if i < Dept::ALL.len() {
                Dept::ALL[i]
            } else {
                pick_dept(rng)
            };
            let upn_taken = |upn: &str| users.iter().any(|u| u.upn == upn);
            let (given, surname, account) = pick_name(rng, &upn_taken, domain);
            let head = i < Dept::ALL.len();
            let titles = dept.titles();
            let title = if head {
                titles[0]
            } else {
                titles[rng.random_range(1..titles.len())]
            };
            let home = *dept
                .cities()
                .choose(rng)
                .expect("every department has cities");
            let ip_count = rng.random_range(1..=2);
            let ips = (0..ip_count).map(|_| city_ip(rng, home)).collect();
            let (os, browser, user_agent) = *DEVICES.choose(rng).expect("device list is not empty");
            let manager = if head {
                None
            } else {
                heads
                    .get(Dept::ALL.iter().position(|d| *d == dept).unwrap_or(0))
                    .copied()
            };
            let payroll =
                dept == Dept::Finance && !head && users.iter().filter(|u| u.payroll).count() < 2;
            let created = start - Duration::days(rng.random_range(200..2000));
            users.push(User {
                object_id: guid(rng),
                upn: format!("{account}@{domain}"),
                account_name: account,
                given: given.to_string(),
                surname: surname.to_string(),
                dept,
                title: if payroll {
                    "Payroll Specialist".into()
                } else {
                    title.to_string()
                },
                manager,
                home,
                ips,
                device_id: guid(rng),
                device_name: format!("{org}-LT-{:04}", i + 1),
                os,
                browser,
                user_agent,
                employee_id: format!("E{:05}", 10_000 + i),
                created,
                payroll,
                changes: Changes::default(),
            });
            if head {
                heads.push(i);
            }
        }
        Directory { users, org }
    }

    /// Peer ranking for `user`: same department first, then others; Finance stays apart.
    pub fn peers(&self, rng: &mut ChaCha8Rng, user: usize) -> Vec<usize> {
        let me = &self.users[user];
        let allowed = |u: &User| me.dept == Dept::Finance || u.dept != Dept::Finance;
        let mut same: Vec<usize> = (0..self.users.len())
            .filter(|&i| i != user && self.users[i].dept == me.dept)
            .collect();
        let mut other: Vec<usize> = (0..self.users.len())
            .filter(|&i| i != user && self.users[i].dept != me.dept && allowed(&self.users[i]))
            .collect();
        same.shuffle(rng);
        other.shuffle(rng);
        same.into_iter().chain(other).take(20).collect()
    }
}

fn pick_dept(rng: &mut impl Rng) -> Dept {
    let mut roll = rng.random_range(0..100u32);
    for d in Dept::ALL {
        if roll < d.weight() {
            return d;
        }
        roll -= d.weight();
    }
    Dept::Engineering
}

fn pick_name(
    rng: &mut impl Rng,
    taken: &dyn Fn(&str) -> bool,
    domain: &str,
) -> (&'static str, &'static str, String) {
    let given = *GIVEN.choose(rng).expect("names");
    let surname = *SURNAMES.choose(rng).expect("names");
    let base = format!("{}.{}", given, surname.replace(' ', "")).to_lowercase();
    let mut account = base.clone();
    let mut n = 2;
    while taken(&format!("{account}@{domain}")) {
        account = format!("{base}{n}");
        n += 1;
    }
    (given, surname, account)
}

/// One UserPeerAnalytics row; the name columns are empty, as Sentinel has written them since 2022.
pub fn peer_row(
    ctx: &TenantCtx,
    rng: &mut impl Rng,
    time: DateTime<Utc>,
    user: &User,
    peer: &User,
    rank: usize,
) -> Row {
    let mut row = Row::new(ctx, "UserPeerAnalytics", time, &guid(rng), "");
    row.s("AADTenantId", &ctx.aad_tenant_id)
        .s("UserId", &user.object_id)
        .s("UserName", "")
        .s("UserPrincipalName", "")
        .s("PeerUserId", &peer.object_id)
        .s("PeerUserName", "")
        .s("PeerUserPrincipalName", "")
        .set("Rank", rank as u64);
    row.remove("SourceSystem");
    row
}

/// One IdentityInfo snapshot of `user` as of `time`.
pub fn identity_row(
    ctx: &TenantCtx,
    rng: &mut impl Rng,
    dir: &Directory,
    user: &User,
    time: DateTime<Utc>,
    change_source: &str,
) -> Row {
    let time = jitter(rng, time);
    let ch = &user.changes;
    let title = match &ch.title {
        Some((at, t)) if *at <= time => t.as_str(),
        _ => user.title.as_str(),
    };
    let mut groups = vec![
        Value::from("All Staff"),
        format!("{} Team", user.dept.name()).into(),
    ];
    if user.payroll {
        groups.push("Finance Payroll".into());
    }
    if user.is_it() {
        groups.push("IT Admins".into());
    }
    if ch.leaver.is_some_and(|at| at <= time) {
        groups.push("Leavers".into());
    }
    let mut roles: Vec<Value> = Vec::new();
    if user.is_it() && user.manager.is_some() {
        roles.push("User Administrator".into());
    }
    if let Some((at, role)) = &ch.role
        && *at <= time
    {
        roles.push(role.as_str().into());
    }
    let blast = if user.is_it() {
        "High"
    } else if user.manager.is_none() {
        "Medium"
    } else {
        "Low"
    };
    let manager = user
        .manager
        .map(|m| dir.users[m].account_name.as_str())
        .unwrap_or("");
    let mut row = Row::new(
        ctx,
        "IdentityInfo",
        time,
        &guid(rng),
        "AzureActiveDirectory",
    );
    row.s("AccountObjectId", &user.object_id)
        .s("AccountUPN", &user.upn)
        .s("AccountName", &user.account_name)
        .s("AccountDomain", &ctx.domain)
        .s("AccountDisplayName", &user.display_name())
        .s("AccountTenantId", &ctx.aad_tenant_id)
        .s("AccountCreationTime", &ts7(user.created))
        .s("GivenName", &user.given)
        .s("Surname", &user.surname)
        .s("MailAddress", &user.upn)
        .s("Department", user.dept.name())
        .s("JobTitle", title)
        .s("Manager", manager)
        .s("CompanyName", &dir.org_company())
        .s("EmployeeId", &user.employee_id)
        .s("City", user.home.name)
        .s("State", user.home.state)
        .s("Country", user.home.country)
        .s("UserType", "Member")
        .s("UserState", "Active")
        .s("BlastRadius", blast)
        .s("ChangeSource", change_source)
        .set("IsAccountEnabled", true)
        .set("AssignedRoles", Value::Array(roles))
        .set("GroupMembership", Value::Array(groups))
        .set("UserAccountControl", json!(["NormalAccount"]));
    if manager.is_empty() {
        row.remove("Manager");
    }
    row
}

impl Directory {
    /// Company name shown in IdentityInfo (`Contoso`).
    pub fn org_company(&self) -> String {
        let mut chars = self.org.chars();
        match chars.next() {
            Some(first) => first.to_string() + &chars.as_str().to_lowercase(),
            None => String::new(),
        }
    }
}
