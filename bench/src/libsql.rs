//! fn-host over libSQL, as issue 13 scales the app out: one sqld per database of the app's
//! runtime config, the hosts given that config with every database moved onto its sqld, and
//! HAProxy in front of several, configured from `deploy/haproxy.cfg` as the scale-out tests
//! run it (`testkit` starts sqld and HAProxy for both). The whole shape is one system: its
//! memory is that of every process in it.

use crate::launch::{self, App, FnHost, Running, Server};
use crate::probe;
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use testkit::RuntimeConfig;

/// How many hosts a balanced shape runs.
pub const BALANCED_HOSTS: usize = 2;

/// How long the balancer may take to find a host up.
const BALANCER_READY_DEADLINE: Duration = Duration::from_secs(30);

/// One shape: the host configuration, the libSQL server and, for several hosts, the balancer.
#[derive(Clone, Debug)]
pub struct Shape {
    pub host: FnHost,
    pub sqld: PathBuf,
    pub balancer: Option<Balancer>,
}

/// HAProxy in front of [`BALANCED_HOSTS`] hosts.
#[derive(Clone, Debug)]
pub struct Balancer {
    pub haproxy: PathBuf,
    /// The repository's configuration (its `bind` and `server` lines are replaced).
    pub shipped_config: PathBuf,
}

impl Shape {
    /// Starts the servers, the hosts and the balancer, everything in `dir`; the system
    /// answers where the balancer listens, or the single host.
    pub fn start(&self, name: &str, app: &App, dir: &Path) -> Result<Running> {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let config = RuntimeConfig::read(&app.runtime_config)?;
        // Each stopped when dropped, should a later one fail to start.
        let mut parts = Vec::new();
        let mut urls = Vec::new();
        for label in config.database_labels() {
            let port = launch::free_port()?;
            let sqld =
                testkit::Sqld::try_start(&self.sqld, &dir.join(format!("{label}.sqld")), port)
                    .with_context(|| format!("sqld for {label}"))?;
            urls.push(sqld.url.clone());
            parts.push(Running::server(
                &format!("sqld {label}"),
                port,
                Server::Sqld(sqld),
            )?);
        }
        let app = App {
            runtime_config: dir.join("runtime.libsql.toml"),
            ..app.clone()
        };
        std::fs::write(&app.runtime_config, config.on_libsql(&urls)?)
            .with_context(|| format!("cannot write {}", app.runtime_config.display()))?;

        let hosts = if self.balancer.is_some() {
            BALANCED_HOSTS
        } else {
            1
        };
        let mut host_urls = Vec::new();
        for n in 1..=hosts {
            let host_dir = dir.join(format!("host{n}"));
            let (host, _) = launch::start_host(
                &format!("{name}: host {n}"),
                app.fn_host(&self.host, &host_dir),
                app.ready_path,
                &dir.join(format!("host{n}.log")),
            )?;
            host_urls.push(format!("http://127.0.0.1:{}", host.ports.public));
            parts.push(host);
        }
        let Some(balancer) = &self.balancer else {
            let port = parts
                .last()
                .map(|host| host.ports.public)
                .context("no host")?;
            return Ok(Running::together(name, port, parts));
        };
        let port = launch::free_port()?;
        let hosts: Vec<&str> = host_urls.iter().map(String::as_str).collect();
        let haproxy = testkit::Balancer::try_start(
            &balancer.haproxy,
            &balancer.shipped_config,
            dir,
            port,
            &hosts,
        )?;
        parts.push(Running::server("HAProxy", port, Server::Balancer(haproxy))?);
        probe::wait_for_2xx(
            port,
            app.ready_path,
            Instant::now(),
            BALANCER_READY_DEADLINE,
            || Ok(()),
        )
        .map_err(anyhow::Error::msg)
        .context("the app through HAProxy")?;
        Ok(Running::together(name, port, parts))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rss;

    /// The balanced shape as a run starts it: both databases on sqld, two hosts, HAProxy in
    /// front; a user created through it is read through it; everything it started is gone
    /// once it is stopped. Needs sqld, HAProxy and `target/release/fn-host`.
    #[test]
    fn two_hosts_over_sqld_behind_haproxy() -> Result<()> {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .canonicalize()?;
        let fn_host = repo.join("target/release/fn-host");
        let programs =
            testkit::sqld_program().and_then(|sqld| Ok((sqld, testkit::balancer_program()?)));
        let (sqld, haproxy) = match programs {
            Ok(programs) if fn_host.is_file() => programs,
            Ok(_) => {
                println!(
                    "skipped: no {} (cargo build --release -p host)",
                    fn_host.display()
                );
                return Ok(());
            }
            Err(reason) => {
                println!("skipped: {reason}");
                return Ok(());
            }
        };
        let built = repo.join("spin.toml");
        testkit::HostProgram::FnHost(fn_host.clone()).build(&built);
        let manifest = testkit::with_routes(&built, &testkit::SERVICE_ROUTES);
        let shape = Shape {
            host: FnHost {
                binary: fn_host,
                args: Vec::new(),
                cache_dir: testkit::shared_cache_dir(),
                manifest: None,
            },
            sqld,
            balancer: Some(Balancer {
                haproxy,
                shipped_config: repo.join(testkit::SHIPPED_CONFIG),
            }),
        };
        let app = App {
            manifest,
            runtime_config: repo.join("runtime.toml"),
            env: Vec::new(),
            ready_path: "/listings?page_size=1",
        };
        let dir = testkit::fresh_dir();
        let mut running = shape.start("shape", &app, &dir)?;
        // Two sqld, two hosts, HAProxy: the system's memory is theirs.
        assert_eq!(running.pids.len(), 5, "{:?}", running.pids);
        assert!(rss::current_kib(&running.pids) > 0);

        let config = seed::Config {
            progress: false,
            ..seed::Config::new(format!("http://127.0.0.1:{}", running.ports.public), 2, 3)
        };
        let seeded = tokio::runtime::Runtime::new()?.block_on(seed::run(&config))?;
        assert_eq!(seeded.failures(), 0, "{}", seeded.summary());
        // Round robin: each host in turn reads what either wrote.
        for user in seeded.created_user_ids().iter().cycle().take(4) {
            let path = format!("/users/{}", user.get());
            let status = probe::get_status(running.ports.public, &path, Duration::from_secs(5));
            assert_eq!(status, Ok(200), "{path}");
        }
        // The data is on sqld, not in the hosts' files.
        for host in ["host1", "host2"] {
            assert!(!dir.join(host).join(".spin/users.db").exists());
        }
        assert!(dir.join("users.sqld").is_dir());

        let pids = running.pids.clone();
        running.stop()?;
        let gone = |pid: &u32| !Path::new(&format!("/proc/{pid}")).exists();
        assert!(pids.iter().all(gone), "{pids:?}");
        Ok(())
    }
}
