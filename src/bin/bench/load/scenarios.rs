//! Each scenario: which requests its clients send, on which server, and the checks after it when
//! it writes.

use std::sync::atomic::{AtomicUsize, Ordering};

use moralbank::app::config::Config;
use moralbank::kernel::AccountId;

use super::checks::{self, Totals};
use super::client::{drive, drive_until, Request, Server};
use super::prepare::Fixture;
use super::report::{Rate, Results, Row};
use super::Options;

/// The writer's batch size on the server of every scenario but "redeem (batching off)".
const BATCH_MAX: usize = 256;
/// The writer's batch size with batching off: one command a transaction.
const UNBATCHED: usize = 1;
/// Lines on each statement page read.
const STATEMENT_PAGE: usize = 20;
/// Deeds approved by one bulk approval.
const DEEDS_PER_APPROVAL: usize = 20;
/// Two primes that spread a client's requests over the members, so clients seldom touch the same
/// member at once.
const SPREAD: (usize, usize) = (7919, 104_729);

/// What every scenario reads: the run's options, its database and the fixture's ids.
pub(super) struct Bench<'a> {
    pub opts: &'a Options,
    pub config: &'a Config,
    pub fixture: &'a Fixture,
}

/// The `Authorization` header line for `token`.
fn auth(token: &str) -> String {
    format!("Authorization: Bearer {token}\r\n")
}

impl Bench<'_> {
    /// The scenarios that share one server with batching on, in the table's order: healthz,
    /// balance, statement, redeem, mint. The server stops when they are done.
    pub fn on_batching_server(&self, url: &str, results: &mut Results) -> Result<(), String> {
        let server = Server::start(url, BATCH_MAX)?;
        let admin = server.login("admin")?;
        let clerks = server.login_all(&self.fixture.clerks)?;
        if self.opts.wants("healthz") {
            results.add(self.healthz(&server), Some(Rate::Healthz));
        }
        if self.opts.wants("balance") {
            let row = self.reads(&server, &admin, "balance (GET account)", |account| {
                format!("/api/v1/accounts/{}", account.0)
            });
            results.add(row, Some(Rate::Balance));
        }
        if self.opts.wants("statement") {
            let row = self.reads(&server, &admin, "statement (one page)", |account| {
                format!(
                    "/api/v1/accounts/{}/statement?limit={STATEMENT_PAGE}",
                    account.0
                )
            });
            results.add(row, None);
        }
        if self.opts.wants("redeem") {
            results.add_redeem(self.redeem(&server, &clerks, "redeem (batching on)", None)?);
        }
        if self.opts.wants("redeem-signing") {
            let row = self.redeem(
                &server,
                &clerks,
                "redeem, a head signed every 10th request of one client",
                Some(&admin),
            )?;
            results.add(row, None);
            // The same redemptions again after it, unsigned: a control for the drift of a
            // server that has written more (signing is sandwiched between the two).
            let control = self.redeem(&server, &clerks, "redeem again, no signing", None)?;
            results.add(control, None);
        }
        if self.opts.wants("mint") {
            results.add(self.mint(&server, &admin)?, None);
        }
        Ok(())
    }

    /// The redemptions again on a server of their own with batching off: what batching buys.
    pub fn redeem_unbatched(&self, url: &str) -> Result<Row, String> {
        let server = Server::start(url, UNBATCHED)?;
        let clerks = server.login_all(&self.fixture.clerks)?;
        self.redeem(&server, &clerks, "redeem (batching off)", None)
    }

    /// Which member a client's `n`th request is about: an index into the fixture's members.
    fn pick(&self, client: usize, n: usize) -> usize {
        (client * SPREAD.0 + n * SPREAD.1) % self.fixture.accounts.len()
    }

    /// `GET /healthz`: the server's floor, no database and no login.
    fn healthz(&self, server: &Server) -> Row {
        let o = drive(server, self.opts.clients, self.opts.duration, |_, _| {
            Request {
                method: "GET",
                path: "/healthz".into(),
                headers: String::new(),
                body: String::new(),
                units: 1,
            }
        });
        Row::new("healthz", o, server.peak_rss_mib())
    }

    /// GETs of `path(account)` as the admin, over the members' accounts.
    fn reads(
        &self,
        server: &Server,
        admin: &str,
        label: &str,
        path: impl Fn(AccountId) -> String + Sync,
    ) -> Row {
        let o = drive(server, self.opts.clients, self.opts.duration, |c, n| {
            Request {
                method: "GET",
                path: path(self.fixture.accounts[self.pick(c, n)]),
                headers: auth(admin),
                body: String::new(),
                units: 1,
            }
        });
        Row::new(label, o, server.peak_rss_mib())
    }

    /// Redemptions of one item each by the clerks (`tokens`, one a client in turn), each with its
    /// own idempotency key; then the ledger is checked against what was acknowledged. With
    /// `signer` (an admin's token), every 10th request of the first client signs a ledger head
    /// instead (`POST /ledger/heads`, tens a second: far more than the service's every ten
    /// minutes), so the rate shows what signing takes from the writer at its worst.
    fn redeem(
        &self,
        server: &Server,
        tokens: &[String],
        label: &str,
        signer: Option<&str>,
    ) -> Result<Row, String> {
        let before = Totals::read(self.config, self.fixture.goods)?;
        let tag: String = label
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect();
        let seq = AtomicUsize::new(0);
        let o = drive(server, self.opts.clients, self.opts.duration, |c, n| {
            if let Some(admin) = signer.filter(|_| c == 0 && n % 10 == 9) {
                return Request {
                    method: "POST",
                    path: "/api/v1/ledger/heads".into(),
                    headers: format!("{}Content-Type: application/json\r\n", auth(admin)),
                    body: "{}".into(),
                    units: 0,
                };
            }
            let key = format!("{tag}-{}-{c}-{n}", seq.fetch_add(1, Ordering::Relaxed));
            let body = format!(
                "{{\"member_id\":\"{}\",\"lines\":[{{\"goods_id\":\"{}\",\"quantity\":1}}]}}",
                self.fixture.member_ids[self.pick(c, n)],
                self.fixture.goods
            );
            Request {
                method: "POST",
                path: "/api/v1/redemptions".into(),
                headers: format!(
                    "{}Content-Type: application/json\r\nIdempotency-Key: {key}\r\n",
                    auth(&tokens[c % tokens.len()])
                ),
                body,
                units: 1,
            }
        });
        let after = Totals::read(self.config, self.fixture.goods)?;
        // A signing request is worth no units: units are the acknowledged redemptions.
        checks::redemptions_match(self.config, label, &before, &after, o.units as i64)?;
        Ok(Row::new(label, o, server.peak_rss_mib()))
    }

    /// Bulk approvals of the prepared deeds, [`DEEDS_PER_APPROVAL`] a request, until they run
    /// out: the rate is deeds a second over the time they lasted. Then the ledger is verified.
    fn mint(&self, server: &Server, admin: &str) -> Result<Row, String> {
        let next = AtomicUsize::new(0);
        let o = drive_until(server, self.opts.clients, self.opts.duration, |_, _| {
            let start = next.fetch_add(DEEDS_PER_APPROVAL, Ordering::Relaxed);
            let ids: Vec<String> = (start..start + DEEDS_PER_APPROVAL)
                .filter_map(|i| self.fixture.deeds.get(i))
                .map(|id| format!("\"{id}\""))
                .collect();
            if ids.is_empty() {
                return None;
            }
            Some(Request {
                method: "POST",
                path: "/api/v1/deeds/approve".into(),
                headers: format!("{}Content-Type: application/json\r\n", auth(admin)),
                body: format!("{{\"ids\":[{}]}}", ids.join(",")),
                units: ids.len(),
            })
        });
        checks::verify_clean(self.config)?;
        println!("ledger checked after mint: verify clean");
        Ok(Row::new(
            "mint (bulk approval, deeds/s)",
            o,
            server.peak_rss_mib(),
        ))
    }
}
