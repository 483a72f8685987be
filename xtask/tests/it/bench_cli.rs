//! Smoke test of `cargo xtask bench`: the whole machinery (servers on real
//! sockets, the load generator, the generation timing) with a very short
//! duration, asserting the structure of the report only. Never speed.

use std::process::Command;

use serde_json::Value;

/// Every scenario the report must contain, baseline first.
const SCENARIOS: &[&str] = &[
    "bare",
    "bare+headers",
    "bare+static-headers",
    "public",
    "jwt",
    "api-key",
    "jwt-rate-memory",
    "jwt-rate-redis",
    "jwt-rate-redis-lease",
    "jwt-rate-redis-2",
    "jwt-rate-memory-hot",
    "jwt-rate-redis-hot",
    "validated-json",
    "api-key-flood-sqlite",
    "api-key-flood-redis",
    "recursive-one-of",
];

#[test]
fn bench_reports_every_scenario_with_only_expected_responses() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let output = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .current_dir(root)
        .args([
            "bench",
            "--debug",
            "--json",
            "--duration",
            "0.3",
            "--warmup",
            "0.1",
            "--connections",
            "2",
            "--gen-runs",
            "1",
            "--gen-spec",
            "specs/petstore.yaml",
        ])
        .output()
        .expect("xtask runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "bench failed ({}):\nstdout:\n{stdout}\nstderr:\n{stderr}",
        output.status
    );
    let rows: Vec<Value> = stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let names: Vec<&str> = rows
        .iter()
        .map(|r| {
            r["scenario"]
                .as_str()
                .expect("every row names its scenario")
        })
        .collect();
    let mut expected: Vec<&str> = SCENARIOS.to_vec();
    expected.push("one-of-budget-refusal");
    expected.push("generation");
    assert_eq!(names, expected, "rows in order:\n{stdout}");

    for row in &rows[..SCENARIOS.len()] {
        let name = row["scenario"].as_str().unwrap();
        if let Some(reason) = row.get("skipped") {
            // Only the Redis scenarios may be skipped, and only for want of Redis.
            assert!(
                name.starts_with("jwt-rate-redis") || name == "api-key-flood-redis",
                "{row}"
            );
            assert_eq!(reason, "redis unreachable", "{row}");
            continue;
        }
        let requests = row["requests"].as_u64().expect("requests");
        assert!(requests > 0, "no measured request: {row}");
        let rps = row["requests_per_sec"].as_f64().expect("requests_per_sec");
        assert!(rps.is_finite() && rps > 0.0, "{row}");
        let ratio = row["ratio_to_bare"].as_f64().expect("ratio_to_bare");
        assert!(ratio.is_finite() && ratio > 0.0, "{row}");
        let expected = if name.ends_with("-hot") { 429 } else { 200 };
        assert_eq!(row["expected_status"].as_u64(), Some(expected), "{row}");
        assert_eq!(
            row["unexpected"].as_u64(),
            Some(0),
            "an answer with another status (misconfigured auth?): {row}"
        );
        assert_eq!(row["errors"].as_u64(), Some(0), "{row}");
        assert!(row["p50_us"].as_u64().is_some(), "{row}");
        assert!(row["p99_us"].as_u64().is_some(), "{row}");
        if name.starts_with("api-key-flood") {
            // The flood was sent and answered, and is reported.
            let note = row["note"].as_str().expect("the flood's line");
            assert!(note.contains("requests with random keys"), "{row}");
            assert!(note.contains("401:"), "unknown keys are refused: {row}");
        }
    }
    if name_skipped(&rows, "jwt-rate-redis") && std::env::var("CI").as_deref() == Ok("true") {
        panic!("Redis is required under CI=true (REDIS_URL or redis://127.0.0.1:6379)");
    }

    // The timed refusal of a body past the oneOf work budget: the budget ran
    // out (steps past the limit) and the figure is a time.
    let refusal = &rows[SCENARIOS.len()];
    let limit = refusal["limit_steps"].as_u64().expect("limit_steps");
    assert!(
        refusal["steps"].as_u64().expect("steps") > limit,
        "{refusal}"
    );
    let best = refusal["best_us"].as_f64().expect("best_us");
    assert!(best.is_finite() && best > 0.0, "{refusal}");

    let generation = &rows[SCENARIOS.len() + 1];
    assert!(
        generation["spec"]
            .as_str()
            .is_some_and(|s| s.ends_with("petstore.yaml")),
        "{generation}"
    );
    let ms = generation["best_ms"].as_f64().expect("best_ms");
    assert!(ms.is_finite() && ms > 0.0, "{generation}");
    assert!(
        generation["generated_lines"].as_u64().unwrap_or(0) > 0,
        "{generation}"
    );
}

/// Whether scenario `name` was skipped.
fn name_skipped(rows: &[Value], name: &str) -> bool {
    rows.iter()
        .any(|r| r["scenario"] == name && r.get("skipped").is_some())
}

/// `--external --pin --rounds 2`: every row also carries wrk's figures, all
/// 2xx, the baselines are the two bare servers, and every other scenario's
/// ratios to `--against` are paired round by round.
#[test]
fn bench_external_pinned_reports_wrk_figures() {
    let have_wrk = Command::new("wrk").arg("-v").output().is_ok();
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    if !have_wrk || cpus < 2 {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "wrk (bash scripts/ensure-wrk.sh) and two CPUs are required under CI=true"
        );
        eprintln!("skipped: needs wrk and two CPUs");
        return;
    }
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let output = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .current_dir(root)
        .args([
            "bench",
            "--debug",
            "--json",
            "--external",
            "--pin",
            "--rounds",
            "2",
            "--against",
            "bare+static-headers",
            "--only",
            "public",
            "--duration",
            "0.5",
            "--warmup",
            "0",
            "--connections",
            "4",
            "--gen-runs",
            "0",
        ])
        .output()
        .expect("xtask runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "bench failed ({}):\nstdout:\n{stdout}\nstderr:\n{stderr}",
        output.status
    );
    let rows: Vec<Value> = stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let (paired, rows): (Vec<Value>, Vec<Value>) =
        rows.into_iter().partition(|r| r.get("paired").is_some());
    let names: Vec<&str> = rows.iter().filter_map(|r| r["scenario"].as_str()).collect();
    assert_eq!(
        names,
        ["bare", "bare+headers", "bare+static-headers", "public"],
        "one row per scenario, its median round: {stdout}"
    );
    let paired_names: Vec<&str> = paired.iter().filter_map(|r| r["paired"].as_str()).collect();
    assert_eq!(paired_names, ["bare", "bare+headers", "public"], "{stdout}");
    for p in &paired {
        assert_eq!(p["against"], "bare+static-headers", "{p}");
        for field in ["requests_per_sec_ratio", "wrk_requests_per_sec_ratio"] {
            let ratio = &p[field];
            let rounds = ratio["rounds"].as_array().expect("one ratio per round");
            assert_eq!(rounds.len(), 2, "{p}");
            let [median, low, high] =
                ["median", "low", "high"].map(|k| ratio[k].as_f64().expect("a number"));
            assert!(low > 0.0 && low <= median && median <= high, "{p}");
        }
    }
    for row in &rows {
        let external = &row["external"];
        assert_eq!(external["tool"], "wrk", "{row}");
        assert!(external["requests"].as_u64().unwrap_or(0) > 0, "{row}");
        assert_eq!(external["unexpected"].as_u64(), Some(0), "{row}");
        assert_eq!(external["errors"].as_u64(), Some(0), "{row}");
        let ratio = external["ratio_to_bare"].as_f64().expect("wrk ratio");
        assert!(ratio.is_finite() && ratio > 0.0, "{row}");
        assert!(row["ratio_to_bare_headers"].as_f64().is_some(), "{row}");
    }
    // The security headers are on the wire: rampart and bare+headers send
    // the same set, bare sends none of them.
    let headers = |name: &str| {
        rows.iter().find(|r| r["scenario"] == name).unwrap()["response_headers"]
            .as_u64()
            .unwrap()
    };
    assert!(headers("bare+headers") >= headers("bare") + 8, "{stdout}");
    assert_eq!(headers("public"), headers("bare+headers"), "{stdout}");
    assert_eq!(
        headers("public"),
        headers("bare+static-headers"),
        "{stdout}"
    );
}

#[test]
fn bench_refuses_unknown_scenarios() {
    let output = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["bench", "--debug", "--only", "nope", "--gen-runs", "0"])
        .output()
        .expect("xtask runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("unknown scenario `nope`") && stderr.contains("jwt-rate-redis"),
        "{stderr}"
    );
    let output = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args([
            "bench",
            "--debug",
            "--against",
            "bare+hdrs",
            "--gen-runs",
            "0",
        ])
        .output()
        .expect("xtask runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("unknown scenario `bare+hdrs`"), "{stderr}");
}
