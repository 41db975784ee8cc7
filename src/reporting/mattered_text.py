"""What mattered, in words: a job's importances and Pareto front for its summary, and the
importances across a sweep's jobs for the sweep's (src/reporting/summary.py)."""

from __future__ import annotations

import statistics

from src.model import OBJECTIVE

# Imported inside functions: the importance module (and its statistics) loads only where a
# summary has importances to say.


def job_lines(result) -> list[str]:
    """A JobResult's (src/reporting/outcome.py) importances, beside its repeats' seed noise
    when it has repeats, and its Pareto front of accuracy against latency."""
    from src.reporting.importance import MIN_TRIALS, within_noise

    found, lines = result.mattered, [""]
    if found.importance:
        shares = ", ".join(f"{k} {v:.2f}" for k, v in found.importance.items())
        lines.append(f"Importance for {OBJECTIVE} (fANOVA, share of its variance): {shares}.")
        seeds = [r.val_accuracy for r in result.repeats]
        if called := within_noise(found.importance, found.variance, seeds):
            names = ", ".join(k for k, v in called.items() if v) or "none"
            lines.append(
                f"Seed-to-seed sd of the best configuration's {OBJECTIVE}: "
                f"{statistics.stdev(seeds):.4f}; effects within its 95% band (noise): {names}."
            )
    elif result.trials - result.failed < MIN_TRIALS:
        lines.append(f"Importance: needs at least {MIN_TRIALS} finished trials.")
    rows = {r["trial_id"]: r for r in result.rows}
    members = [rows[t] for t in found.front if t in rows]
    if members:
        front = "; ".join(
            f"trial {r['trial_id']} {r[OBJECTIVE]:.4f} at {r['latency_ms']:.2f} ms, "
            f"{int(r['n_parameters']):,} parameters"
            for r in members
        )
        lines.append(f"Pareto front ({OBJECTIVE} against latency_ms): {front}.")
    return lines if len(lines) > 1 else []


def sweep_section(results: list, shares: dict[str, float]) -> str:
    """The importances across a sweep's jobs (src/reporting/importance.py `across_jobs`)."""
    text = ", ".join(f"{k} {v:.2f}" for k, v in shares.items())
    trials = sum(r.trials - r.failed for r in results)
    return (
        f"## Importance across the jobs\n\nFor {OBJECTIVE} over the {trials} finished trials "
        f"of {len(results)} jobs (fANOVA, share of its variance): {text}."
        f"{_seed_noise(results, shares)}\n"
    )


def _seed_noise(results: list, shares: dict[str, float]) -> str:
    """Which of the sweep's importances are within seed noise, when every job has repeats:
    the variance each explains against the jobs' pooled seed-to-seed variance."""
    from src.reporting.importance import noise, spread

    seeds = [[r.val_accuracy for r in res.repeats] for res in results]
    if not all(len(s) > 1 for s in seeds):
        return ""
    sd = statistics.fmean(statistics.variance(s) for s in seeds) ** 0.5
    rows = [row for res in results for row in res.rows]
    within = [k for k, v in noise(shares, spread(rows), sd).items() if v]
    names = ", ".join(within) if within else "none"
    return f" Pooled seed-to-seed sd {sd:.4f}; effects within its 95% band (noise): {names}."
