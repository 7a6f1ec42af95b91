//! The day-by-day driver behind [`super::generate`].
//!
//! [`Engine`] owns the directory and the scenario plan. Each call to [`Engine::day`] appends that
//! day's rows: IdentityInfo full syncs (days 0 and 14) and change rows, UserPeerAnalytics
//! rankings (days 0 and 14), every user's ordinary activity, then scenario rows. Each day draws
//! from its own generator seeded from the tenant seed and the day number, so days are
//! independent of each other's row counts and the output is reproducible.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::activity::{DayInput, user_day};
use super::directory::{Directory, identity_row, peer_row};
use super::rowkit::{Row, TenantCtx, guid};
use super::scenarios::{self, Plan};
use super::{GroundTruth, TenantSpec};

/// Days on which Sentinel's full directory sync and peer computation run.
const SNAPSHOT_DAYS: [u32; 2] = [0, 14];
/// The dormant user's activity stops after this day.
const DORMANT_ACTIVE_UNTIL: u32 = 2;

pub struct Engine {
    ctx: TenantCtx,
    dir: Directory,
    plan: Plan,
    seed: u64,
    start: DateTime<Utc>,
    anomaly_share: f64,
    /// Users whose activity continues all period (targets of directory changes).
    active: Vec<usize>,
    /// What the ground truth reports about emitted rows.
    observed: Observed,
}

/// Facts about emitted rows that scenario ground truth reports.
#[derive(Debug, Default)]
pub struct Observed {
    /// The dormant user's last activity row, for the idle-days fact.
    pub dormant_last_seen: Option<DateTime<Utc>>,
    /// The bulk-download user's downloads per UTC date (ordinary and injected).
    pub bulk_downloads: BTreeMap<NaiveDate, u32>,
}

/// A per-purpose generator derived from the tenant seed.
fn rng_for(seed: u64, stream: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed ^ stream.wrapping_mul(0x9e37_79b9_7f4a_7c15))
}

impl Engine {
    pub fn new(spec: &TenantSpec) -> Engine {
        let mut rng = rng_for(spec.seed, u64::MAX);
        let subscription_id = guid(&mut rng);
        let (resource_group, workspace_name) = ("rg-sentinel", "law-sentinel");
        let label = spec.domain.split('.').next().unwrap_or(&spec.domain);
        let ctx = TenantCtx {
            workspace_id: spec.workspace_id.clone(),
            aad_tenant_id: spec.aad_tenant_id.clone(),
            domain: spec.domain.clone(),
            sharepoint: format!("https://{label}.sharepoint.com"),
            workspace_resource_id: TenantCtx::resource_id_of(
                &subscription_id,
                resource_group,
                workspace_name,
            ),
            subscription_id,
        };
        let mut dir = Directory::build(&mut rng, spec.users, &spec.domain, spec.start);
        let plan = Plan::build(spec, &mut dir, &mut rng);
        let dormant = plan.dormant.map(|d| d.0);
        let active = (0..dir.users.len())
            .filter(|u| Some(*u) != dormant)
            .collect();
        Engine {
            ctx,
            dir,
            plan,
            seed: spec.seed,
            start: spec.start,
            anomaly_share: spec.anomaly_share.clamp(0.0, 1.0),
            active,
            observed: Observed::default(),
        }
    }

    /// Midnight UTC of `day`.
    pub fn day_start(&self, day: u32) -> DateTime<Utc> {
        scenarios::day_start(self.start, day)
    }

    /// Append every row of `day` to `out` (unordered; the caller sorts).
    pub fn day(&mut self, day: u32, out: &mut Vec<Row>) {
        let mut rng = rng_for(self.seed, u64::from(day));
        let day_start = self.day_start(day);
        let first_new = out.len();
        if SNAPSHOT_DAYS.contains(&day) {
            self.snapshots(&mut rng, day_start, out);
        }
        self.changes(&mut rng, day_start, out);
        let weekend = scenarios::is_weekend(self.start, day);
        for user in 0..self.dir.users.len() {
            let dormant = self.plan.dormant.is_some_and(|d| d.0 == user);
            if dormant && day > DORMANT_ACTIVE_UNTIL {
                continue;
            }
            let travel = self.plan.travel(user, day);
            let input = DayInput {
                ctx: &self.ctx,
                dir: &self.dir,
                user,
                day_start,
                weekend,
                travel: travel.as_ref(),
                active: &self.active,
                anomaly_share: self.anomaly_share,
            };
            let before = out.len();
            let produced = user_day(&input, &mut rng, out);
            if dormant {
                let last = out[before..].iter().map(|r| r.time).max();
                self.observed.dormant_last_seen = self.observed.dormant_last_seen.max(last);
            }
            if travel.is_some() {
                self.plan
                    .note_trip(produced.signin_evidence, &out[before..]);
            }
        }
        self.plan
            .inject(&self.ctx, &self.dir, self.start, day, &mut rng, out);
        self.count_bulk_downloads(&out[first_new..]);
    }

    fn count_bulk_downloads(&mut self, rows: &[Row]) {
        let Some(user) = self.plan.bulk_user() else {
            return;
        };
        let upn = self.dir.users[user].upn.as_str();
        for row in rows.iter().filter(|r| r.table == "OfficeActivity") {
            let op = row.get_str("Operation");
            let who = row.get_str("UserId");
            if who == upn && matches!(op, "FileDownloaded" | "FileSyncDownloadedFull") {
                *self
                    .observed
                    .bulk_downloads
                    .entry(row.time.date_naive())
                    .or_default() += 1;
            }
        }
    }

    fn snapshots(&self, rng: &mut ChaCha8Rng, day_start: DateTime<Utc>, out: &mut Vec<Row>) {
        let sync = day_start + Duration::minutes(30);
        for (i, user) in self.dir.users.iter().enumerate() {
            let at = sync + Duration::seconds(i as i64 / 10);
            out.push(identity_row(
                &self.ctx, rng, &self.dir, user, at, "FullSync",
            ));
        }
        let computed = day_start + Duration::hours(3);
        for (i, user) in self.dir.users.iter().enumerate() {
            for (rank, peer) in self.dir.peers(rng, i).into_iter().enumerate() {
                let row = peer_row(
                    &self.ctx,
                    rng,
                    computed,
                    user,
                    &self.dir.users[peer],
                    rank + 1,
                );
                out.push(row);
            }
        }
    }

    /// IdentityInfo rows for directory changes that happen on this day.
    fn changes(&self, rng: &mut ChaCha8Rng, day_start: DateTime<Utc>, out: &mut Vec<Row>) {
        let next = day_start + Duration::days(1);
        for (at, user) in &self.plan.changes {
            if (day_start..next).contains(at) {
                // Sentinel re-ingests a changed user within 15-30 minutes.
                let seen = *at + Duration::minutes(20);
                let u = &self.dir.users[*user];
                out.push(identity_row(
                    &self.ctx,
                    rng,
                    &self.dir,
                    u,
                    seen,
                    "AzureActiveDirectory",
                ));
            }
        }
    }

    pub fn finish(self) -> GroundTruth {
        GroundTruth {
            scenarios: self.plan.finish(&self.observed),
        }
    }
}
