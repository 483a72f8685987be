//! `--rounds N`: every selected scenario runs N times, interleaved (round 1
//! runs each once, then round 2, …), so a slow drift of the machine touches
//! all of them alike. The table shows each scenario's median round (by
//! in-process requests/s), and the paired ratios against `--against`, taken
//! round by round and then reduced to their median, are what a comparison
//! should quote: on a noisy machine a ratio of two medians taken minutes
//! apart is not.

use super::{Row, ratio};

/// One scenario's ratios to the reference, one per round.
#[derive(Debug, Default)]
pub(super) struct Paired {
    pub(super) name: &'static str,
    /// requests/s ÷ the reference's, in-process load.
    pub(super) rps: Vec<f64>,
    /// The same under `wrk` (`--external`).
    pub(super) wrk_rps: Vec<f64>,
    /// The reference's server µs per request ÷ this scenario's (in-process).
    pub(super) cpu: Vec<f64>,
    /// The same under `wrk`.
    pub(super) wrk_cpu: Vec<f64>,
}

/// The ratios of every scenario but `against` to it, round by round
/// (rounds where either side was skipped or unmeasured are left out).
pub(super) fn paired(rounds: &[Vec<Row>], against: &str) -> Vec<Paired> {
    let mut out: Vec<Paired> = Vec::new();
    for round in rounds {
        let Some(base) = round
            .iter()
            .find(|r| r.name == against && r.stats.is_some())
        else {
            continue;
        };
        for row in round
            .iter()
            .filter(|r| r.name != against && r.stats.is_some())
        {
            let index = match out.iter().position(|p| p.name == row.name) {
                Some(index) => index,
                None => {
                    out.push(Paired {
                        name: row.name,
                        ..Paired::default()
                    });
                    out.len() - 1
                }
            };
            let entry = &mut out[index];
            entry.rps.extend(ratio(
                Some(row.requests_per_sec),
                Some(base.requests_per_sec),
            ));
            entry.wrk_rps.extend(ratio(row.wrk_rps(), base.wrk_rps()));
            entry
                .cpu
                .extend(ratio(base.server_cpu_us_per_req, row.server_cpu_us_per_req));
            entry.wrk_cpu.extend(ratio(base.wrk_cpu(), row.wrk_cpu()));
        }
    }
    out
}

/// Each scenario's median round (by in-process requests/s; the lower one
/// of an even count), in the order of the first round.
pub(super) fn median_rows(rounds: Vec<Vec<Row>>) -> Vec<Row> {
    let mut by_scenario: Vec<Vec<Row>> = Vec::new();
    for round in rounds {
        for row in round {
            match by_scenario.iter_mut().find(|rows| rows[0].name == row.name) {
                Some(rows) => rows.push(row),
                None => by_scenario.push(vec![row]),
            }
        }
    }
    by_scenario
        .into_iter()
        .map(|mut rows| {
            rows.sort_by(|a, b| a.requests_per_sec.total_cmp(&b.requests_per_sec));
            let middle = (rows.len() - 1) / 2;
            rows.swap_remove(middle)
        })
        .collect()
}

/// The median of `values` (the mean of the middle two of an even count),
/// with the smallest and largest; `None` when there is none.
pub(super) fn spread(values: &[f64]) -> Option<(f64, f64, f64)> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let (first, last) = (*sorted.first()?, *sorted.last()?);
    let n = sorted.len();
    let median = if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    };
    Some((median, first, last))
}

/// `0.71x [0.60–0.80]`, or `-`.
fn fmt_spread(values: &[f64]) -> String {
    spread(values).map_or_else(
        || "-".to_owned(),
        |(median, low, high)| format!("{median:.2}x [{low:.2}–{high:.2}]"),
    )
}

/// The paired ratios as a table.
pub(super) fn print(paired: &[Paired], against: &str, rounds: usize) {
    println!();
    println!(
        "paired against {against}, round by round over {rounds} interleaved rounds: median [lowest–highest]"
    );
    println!(
        "{:<20} {:>22} {:>22} {:>22} {:>22}",
        "scenario", "requests/s ratio", "server cpu ratio", "wrk req/s ratio", "wrk cpu ratio"
    );
    for p in paired {
        println!(
            "{:<20} {:>22} {:>22} {:>22} {:>22}",
            p.name,
            fmt_spread(&p.rps),
            fmt_spread(&p.cpu),
            fmt_spread(&p.wrk_rps),
            fmt_spread(&p.wrk_cpu),
        );
    }
}

/// The paired ratios as one JSON object per scenario.
pub(super) fn json(p: &Paired, against: &str) -> serde_json::Value {
    let field = |values: &[f64]| {
        spread(values).map(|(median, low, high)| {
            serde_json::json!({ "median": median, "low": low, "high": high, "rounds": values })
        })
    };
    serde_json::json!({
        "paired": p.name,
        "against": against,
        "requests_per_sec_ratio": field(&p.rps),
        "server_cpu_ratio": field(&p.cpu),
        "wrk_requests_per_sec_ratio": field(&p.wrk_rps),
        "wrk_server_cpu_ratio": field(&p.wrk_cpu),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spread_is_the_median_with_the_extremes() {
        assert_eq!(spread(&[]), None);
        assert_eq!(spread(&[0.7]), Some((0.7, 0.7, 0.7)));
        assert_eq!(spread(&[0.9, 0.5, 0.7]), Some((0.7, 0.5, 0.9)));
        assert_eq!(spread(&[0.8, 0.4, 0.6, 1.0]), Some((0.7, 0.4, 1.0)));
    }
}
