//! The bench's external side: `wrk` as the load generator (`--external`) and
//! CPU pinning (`--pin`), so the server's cost is not hidden by a load
//! generator competing for the same cores.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use http::{HeaderName, HeaderValue, Method};

/// The CPUs this process may run on (`Cpus_allowed_list` of
/// `/proc/self/status`, e.g. `0-1` or `2,5-7`), in order.
fn allowed_cpus() -> Vec<usize> {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let Some(list) = status
        .lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
    else {
        return Vec::new();
    };
    let mut cpus = Vec::new();
    for part in list.trim().split(',').filter(|p| !p.is_empty()) {
        let (from, to) = part.split_once('-').unwrap_or((part, part));
        if let (Ok(from), Ok(to)) = (from.parse::<usize>(), to.parse::<usize>()) {
            cpus.extend(from..=to);
        }
    }
    cpus
}

/// The CPUs `--pin` uses: the server's, then the load generators'.
pub(crate) fn pinned_cpus() -> Option<(usize, usize)> {
    match allowed_cpus()[..] {
        [server, load, ..] => Some((server, load)),
        _ => None,
    }
}

/// Whether `program` runs (`program --version` or `-v` exits at all).
fn available(program: &str, arg: &str) -> bool {
    Command::new(program).arg(arg).output().is_ok()
}

/// Refuse early, with the fix, when `--external` or `--pin` cannot work here.
pub(crate) fn preflight(external: bool, pin: bool, cpus: usize) -> Result<()> {
    if external && !available("wrk", "-v") {
        bail!("--external needs `wrk` on PATH; install it with `bash scripts/ensure-wrk.sh`");
    }
    if pin {
        if cpus < 2 || pinned_cpus().is_none() {
            bail!("--pin needs two CPUs this process may run on (it has {cpus})");
        }
        if !available("taskset", "--version") {
            bail!("--pin needs `taskset` (util-linux)");
        }
    }
    Ok(())
}

/// Pin the calling thread to `cpu` (with `taskset -p` on its thread id, read
/// from `/proc/thread-self`). Errors are reported, not fatal: the figures are
/// then those of an unpinned run, and the report says so.
pub(crate) fn pin_current_thread(cpu: usize) -> bool {
    let Ok(link) = std::fs::read_link("/proc/thread-self") else {
        return false;
    };
    let Some(tid) = link.file_name().and_then(|t| t.to_str()).map(str::to_owned) else {
        return false;
    };
    Command::new("taskset")
        .args(["-pc", &cpu.to_string(), &tid])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// What `wrk` sends.
pub(crate) struct WrkRequest<'a> {
    pub(crate) url: String,
    pub(crate) method: &'a Method,
    pub(crate) headers: &'a [(HeaderName, HeaderValue)],
    pub(crate) body: &'a [u8],
}

/// What `wrk` measured.
#[derive(Debug, Clone, Default)]
pub(crate) struct WrkStats {
    pub(crate) requests: u64,
    pub(crate) requests_per_sec: f64,
    pub(crate) p50_us: Option<f64>,
    pub(crate) p99_us: Option<f64>,
    /// `Non-2xx or 3xx responses`.
    pub(crate) non_2xx: u64,
    /// Socket errors (connect, read, write, timeout).
    pub(crate) errors: u64,
}

/// A Lua string literal in long brackets that cannot be closed by `text`.
fn lua_string(text: &str) -> String {
    let mut level = 0;
    loop {
        let close = format!("]{}]", "=".repeat(level));
        if !text.contains(&close) {
            let eq = "=".repeat(level);
            return format!("[{eq}[{text}]{eq}]");
        }
        level += 1;
    }
}

/// The Lua script setting the method, headers and body of every request.
fn script(request: &WrkRequest<'_>) -> String {
    let mut lua = format!("wrk.method = {}\n", lua_string(request.method.as_str()));
    for (name, value) in request.headers {
        if name == http::header::HOST {
            continue;
        }
        let value = String::from_utf8_lossy(value.as_bytes());
        lua.push_str(&format!(
            "wrk.headers[ {} ] = {}\n",
            lua_string(name.as_str()),
            lua_string(&value)
        ));
    }
    if !request.body.is_empty() {
        lua.push_str(&format!(
            "wrk.body = {}\n",
            lua_string(&String::from_utf8_lossy(request.body))
        ));
    }
    if std::env::var_os("RAMPART_BENCH_WRK_DEBUG").is_some() {
        lua.push_str("local seen = false\nresponse = function(status, headers, body)\n  if status >= 300 and not seen then seen = true; print(\"first failure: \" .. status .. \" \" .. body) end\nend\n");
    }
    lua
}

/// Run `wrk` once: one thread, `connections` connections, for `duration`,
/// pinned to the load generators' CPU when `pin`.
pub(crate) fn run(
    request: &WrkRequest<'_>,
    connections: usize,
    duration: Duration,
    pin: bool,
    dir: &Path,
) -> Result<WrkStats> {
    let script_path = dir.join("wrk-request.lua");
    std::fs::write(&script_path, script(request))
        .with_context(|| format!("writing {}", script_path.display()))?;
    let secs = duration.as_secs_f64().ceil().max(1.0) as u64;
    let mut command = if pin {
        let mut c = Command::new("taskset");
        let load = pinned_cpus().map_or(1, |(_, load)| load);
        c.args(["-c", &load.to_string(), "wrk"]);
        c
    } else {
        Command::new("wrk")
    };
    command
        .args(["-t", "1", "-c", &connections.max(1).to_string()])
        .args(["-d", &format!("{secs}s"), "--latency", "-s"])
        .arg(&script_path)
        .arg(&request.url);
    let output = command.output().context("running wrk")?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        bail!(
            "wrk failed ({}): {}{}",
            output.status,
            stdout,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    if std::env::var_os("RAMPART_BENCH_WRK_DEBUG").is_some() {
        eprintln!("{}\n{stdout}", script(request));
    }
    parse(&stdout).with_context(|| format!("reading wrk's report:\n{stdout}"))
}

/// A wrk duration (`812.00us`, `1.20ms`, `2.00s`) in microseconds.
fn micros(text: &str) -> Option<f64> {
    let (number, factor) = if let Some(n) = text.strip_suffix("us") {
        (n, 1.0)
    } else if let Some(n) = text.strip_suffix("ms") {
        (n, 1e3)
    } else if let Some(n) = text.strip_suffix('m') {
        (n, 60e6)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1e6)
    } else {
        return None;
    };
    number.parse::<f64>().ok().map(|n| n * factor)
}

/// Read wrk's text report.
fn parse(report: &str) -> Result<WrkStats> {
    let mut stats = WrkStats::default();
    let mut saw_rate = false;
    for line in report.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["Requests/sec:", rate] => {
                stats.requests_per_sec = rate.parse().context("Requests/sec")?;
                saw_rate = true;
            }
            ["50%", value] => stats.p50_us = micros(value),
            ["99%", value] => stats.p99_us = micros(value),
            [count, "requests", "in", ..] => {
                stats.requests = count.parse().context("request count")?;
            }
            ["Non-2xx", "or", "3xx", "responses:", count] => {
                stats.non_2xx = count.parse().context("non-2xx count")?;
            }
            ["Socket", "errors:", rest @ ..] => {
                stats.errors = rest
                    .iter()
                    .filter_map(|w| w.trim_end_matches(',').parse::<u64>().ok())
                    .sum();
            }
            _ => {}
        }
    }
    if !saw_rate {
        bail!("no `Requests/sec:` line");
    }
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPORT: &str = "Running 5s test @ http://127.0.0.1:4000/hello
  1 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   312.11us   80.00us   2.10ms   90.00%
    Req/Sec   102.31k     3.10k  110.00k    70.00%
  Latency Distribution
     50%  300.00us
     75%  330.00us
     90%  380.00us
     99%    1.02ms
  509999 requests in 5.00s, 70.04MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 7
Requests/sec: 101999.80
Transfer/sec:     14.01MB
";

    #[test]
    fn reads_the_report() {
        let stats = parse(REPORT).unwrap();
        assert_eq!(stats.requests, 509_999);
        assert!((stats.requests_per_sec - 101_999.8).abs() < 1e-6);
        assert_eq!(stats.p50_us, Some(300.0));
        assert_eq!(stats.p99_us, Some(1020.0));
        assert_eq!(stats.non_2xx, 7);
        assert_eq!(stats.errors, 3);
        assert!(parse("garbage").is_err());
    }

    #[test]
    fn lua_strings_cannot_be_closed_early() {
        assert_eq!(lua_string("a"), "[[a]]");
        assert_eq!(lua_string("x]]y"), "[=[x]]y]=]");
        let headers = [(
            HeaderName::from_static("origin"),
            HeaderValue::from_static("https://a.example"),
        )];
        let lua = script(&WrkRequest {
            url: String::new(),
            method: &Method::GET,
            headers: &headers,
            body: b"",
        });
        // `[[[` would open a long string: the key needs a space.
        assert!(
            lua.contains("wrk.headers[ [[origin]] ] = [[https://a.example]]"),
            "{lua}"
        );
    }
}
