"""Checks for ex09_batch_normalisation: the BatchNorm backward, the running statistics,
evaluation mode, and what a batch of one does in training mode."""

from __future__ import annotations

import numpy as np

from backprop.grade.checks.compare import compare_array, compare_choice
from backprop.grade.checks.core import Case, Question, call, register
from backprop.grade.plain import type_name

EXERCISE = "ex09_batch_normalisation"

BIASED_HINT = ("normalise with the biased variance (divide by N, np.var's default ddof=0); "
               "the unbiased N/(N-1) variance is only for the running statistics")


def _first_failure(cases):
    for c in cases:
        if not c.passed:
            return c
    return cases[-1]


def _tuple(case, name, got, k, labels):
    if not isinstance(got, (tuple, list)) or len(got) != k:
        return Case(case, False, f"{name} must return a tuple ({', '.join(labels)})",
                    f"got {type_name(got)}"
                    + (f" of length {len(got)}" if isinstance(got, (tuple, list)) else ""))
    return None


# --------------------------------------------------------------------------- q1

def backward_cases(rng):
    out = []
    for n, d, scale in [(4, 3, 2.0), (8, 5, 0.5), (16, 2, 3.0)]:
        x = scale * rng.standard_normal((n, d)) + rng.standard_normal(d)
        out.append((f"N={n}, D={d}",
                    (rng.standard_normal((n, d)), x, rng.uniform(0.5, 2.0, d), 1e-5)))
    return out


def reference_backward_variants(dout, x, gamma, eps):
    """The reference and the gradients of the hinted mistakes, as a dict of arrays."""
    n = x.shape[0]
    xc = x - x.mean(axis=0)
    s = 1 / np.sqrt(np.mean(xc**2, axis=0) + eps)
    xhat = xc * s
    g = dout * gamma
    su = 1 / np.sqrt(np.sum(xc**2, axis=0) / (n - 1) + eps)      # unbiased variance
    xu = xc * su
    return {
        "dx": s / n * (n * g - g.sum(axis=0) - xhat * np.sum(g * xhat, axis=0)),
        "dgamma": np.sum(dout * xhat, axis=0),
        "dbeta": dout.sum(axis=0),
        "no_mean": s * (g - xhat * np.mean(g * xhat, axis=0)),
        "no_var": s * (g - g.mean(axis=0)),
        "constants": s * g,
        "no_gamma": s / n * (n * dout - dout.sum(axis=0) - xhat * np.sum(dout * xhat, axis=0)),
        "unbiased_closed": su / n * (n * g - g.sum(axis=0) - xu * np.sum(g * xu, axis=0)),
        "unbiased_exact": su * (g - g.mean(axis=0) - xu * np.sum(g * xu, axis=0) / (n - 1)),
        "dgamma_unbiased": np.sum(dout * xu, axis=0),
        "dgamma_x": np.sum(dout * x, axis=0),
    }


def check_q1(ans, cases):
    fn = ans["batchnorm_backward"]
    out = []
    for name, (dout, x, gamma, eps) in cases:
        n = x.shape[0]
        got = call("batchnorm_backward", fn, dout.copy(), x.copy(), gamma.copy(), eps)
        bad = _tuple(name, "batchnorm_backward", got, 3, ("dx", "dgamma", "dbeta"))
        if bad:
            out.append(bad)
            continue
        w = reference_backward_variants(dout, x, gamma, eps)
        per = [
            compare_array(name, "dx", got[0], w["dx"], n=n, mistakes=(
                (w["constants"], "you treated the mean and the variance as constants (that is "
                                 "evaluation mode); in training mode both depend on every x_i"),
                (w["no_mean"], "the path through the mean is missing: every x_i moves mu, which "
                               "adds the term -sum_k g_k / N (times s)"),
                (w["no_var"], "the path through the variance is missing: every x_i moves var, "
                              "which adds the term -xhat_i sum_k g_k xhat_k / N (times s)"),
                (w["no_gamma"], "dL/dxhat is dout * gamma: multiply by gamma before the rest"),
                (w["unbiased_closed"], BIASED_HINT),
                (w["unbiased_exact"], BIASED_HINT),
            )),
            compare_array(name, "dgamma", got[1], w["dgamma"], n=n, mistakes=(
                (w["dgamma_unbiased"], BIASED_HINT),
                (w["dgamma_x"], "dgamma sums dout times the normalised xhat, not times x"),
                (w["dbeta"], "dgamma sums dout * xhat over the batch; dout alone is dbeta"),
            )),
            compare_array(name, "dbeta", got[2], w["dbeta"], n=n),
        ]
        out.append(_first_failure(per))
    return out


# --------------------------------------------------------------------------- q2

def running_cases(rng):
    return [(f"N={n}, D={d}, momentum={m}",
             (rng.standard_normal(d), rng.uniform(0.5, 2.0, d),
              3 * rng.standard_normal((n, d)) + 1.0, m))
            for n, d, m in [(4, 3, 0.1), (10, 2, 0.3), (2, 4, 0.1)]]


def check_q2(ans, cases):
    fn = ans["update_running_stats"]
    out = []
    for name, (rm, rv, x, m) in cases:
        args = (rm.copy(), rv.copy(), x.copy(), m)
        got = call("update_running_stats", fn, *args)
        if not (np.array_equal(args[0], rm) and np.array_equal(args[1], rv)):
            out.append(Case(name, False, "update_running_stats changed running_mean or "
                            "running_var in place", "return new arrays; never write into an "
                            "argument (a += b changes the caller's array)"))
            continue
        bad = _tuple(name, "update_running_stats", got, 2, ("new_mean", "new_var"))
        if bad:
            out.append(bad)
            continue
        mu, var_u, var_b = x.mean(axis=0), x.var(axis=0, ddof=1), x.var(axis=0)
        per = [
            compare_array(name, "new_mean", got[0], (1 - m) * rm + m * mu, mistakes=(
                (m * rm + (1 - m) * mu, "momentum weighs the NEW batch statistic: "
                                        "(1 - momentum) * old + momentum * batch"),)),
            compare_array(name, "new_var", got[1], (1 - m) * rv + m * var_u, mistakes=(
                ((1 - m) * rv + m * var_b, "the running variance uses the unbiased batch "
                                           "variance, N/(N-1) times np.var (ddof=1), as torch"),
                (m * rv + (1 - m) * var_u, "momentum weighs the NEW batch statistic: "
                                           "(1 - momentum) * old + momentum * batch"),
            )),
        ]
        out.append(_first_failure(per))
    return out


# --------------------------------------------------------------------------- q3

def eval_cases(rng):
    out = []
    for n, d, small in [(5, 3, False), (1, 4, False), (6, 2, True)]:
        rv = rng.uniform(1e-5, 3e-5, d) if small else rng.uniform(0.5, 2.0, d)
        label = f"N={n}, D={d}" + (", running_var near eps" if small else "")
        out.append((label, (2 * rng.standard_normal((n, d)), rng.uniform(0.5, 2.0, d),
                            rng.standard_normal(d), rng.standard_normal(d), rv, 1e-5)))
    return out


def check_q3(ans, cases):
    fn = ans["batchnorm_eval_forward"]
    out = []
    for name, (x, gamma, beta, rm, rv, eps) in cases:
        got = call("batchnorm_eval_forward", fn, x.copy(), gamma.copy(), beta.copy(),
                   rm.copy(), rv.copy(), eps)
        exp = gamma * (x - rm) / np.sqrt(rv + eps) + beta
        mistakes = [
            (gamma * (x - rm) / np.sqrt(rv) + beta, "add eps to the running variance before "
                                                    "the square root"),
            (gamma * (x - rm) / (rv + eps) + beta, "divide by the standard deviation, "
                                                   "sqrt(running_var + eps), not the variance"),
        ]
        # the batch's own statistics (for N = 1 they give beta whatever x is)
        batch = gamma * (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + eps) + beta
        mistakes.append((batch, "evaluation mode normalises with the running statistics, "
                                "not with the batch's mean and variance"))
        out.append(compare_array(name, "out", got, exp, mistakes=tuple(mistakes)))
    return out


# --------------------------------------------------------------------------- q4

Q4_HINTS = {
    "b": "eps > 0 keeps the division finite: x - mu is 0 and 0 / sqrt(eps) is 0, not NaN",
    "c": "that is evaluation mode; training mode uses the statistics of the batch itself",
    "d": "with one example mu = x, so x - mu = 0 before anything is scaled",
}


def check_q4(ans):
    return [compare_choice("q4_answer", "q4_answer", ans["q4_answer"], "a",
                           ("a", "b", "c", "d"), Q4_HINTS)]


QUESTIONS = (
    Question("q1", "the BatchNorm backward pass", 4, ("batchnorm_backward",), check_q1,
             forbidden=("backprop.batchnorm.batchnorm_backward",
                        "backprop.batchnorm.batchnorm_backward_staged",
                        "backprop.batchnorm.batchnorm_forward"),
             cases=backward_cases, numpy_only=True),
    Question("q2", "running statistics", 2, ("update_running_stats",), check_q2,
             forbidden=("backprop.batchnorm.batchnorm_forward",), cases=running_cases,
             numpy_only=True),
    Question("q3", "the forward pass in evaluation mode", 2, ("batchnorm_eval_forward",),
             check_q3, forbidden=("backprop.batchnorm.batchnorm_forward",), cases=eval_cases,
             numpy_only=True),
    Question("q4", "a batch of one in training mode", 1, ("q4_answer",), check_q4),
)

register(EXERCISE, QUESTIONS)
