"""Mutation check: plant realistic bugs in the lowering, the passes and the compiler
flags one at a time, run the tests on each, and print which tests kill which bug.

    python tools/mutants.py                      # every mutant against the default suite
    python tools/mutants.py --only L01,P02       # some of them
    python tools/mutants.py --tests tests/test_differential.py   # what one file kills
    python tools/mutants.py --jobs 2 --list      # run two at a time; --list only prints them
    python tools/mutants.py --tests-from HEAD~5  # today's code against an older test suite

Each mutant is one exact text replacement in one file, made in a scratch copy of the
repository (the files git knows, committed or not) and tested there with a fresh
compile cache (`LOOPC_CACHE_DIR`), so a warm cache never hides a bug that only a cold
compile shows. pytest stops at the first failure (`-x`): a mutant is killed by the
test named in the table, or survives. The unmutated copy runs first and must pass:
otherwise every kill would be a false one (`--pytest-args "--deselect ..."` leaves out
tests that an older suite fails on today's code). A mutant whose text no longer occurs in the
source is reported as stale: rewrite it when the lowering changes, so the list keeps
up with the code. Mutants marked equivalent (no input can tell them from the
original) are listed and left out of the score.

It runs the suite dozens of times, so it is never part of the suite itself. Target:
at least 90% of the non-equivalent mutants killed by the default suite.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LOWERING = "loopc/backends/pysource.py"
COMPILER = "loopc/backends/compiler.py"
# The default suite, ordered so that the files that kill most mutants run first.
SUITE = ["tests/test_differential.py", "tests/test_regressions.py", "tests/test_ops.py", "tests/test_scan.py",
         "tests/test_passes.py", "tests/test_errors.py", "tests/test_seeds.py", "tests"]


@dataclass(frozen=True)
class Mutant:
    id: str
    path: str
    old: str
    new: str
    what: str
    equivalent: str = ""  # why no input can tell it from the original, when it cannot


MUTANTS = [
    # -- broadcasting and elementwise ------------------------------------------------------
    Mutant("L01", LOWERING, 'with r.block(f"if {a}.shape[{axis}] != {first}.shape[{axis}]:"):',
           'with r.block(f"if {a}.shape[{axis}] != {first}.shape[{axis}] and {a}.shape[{axis}] != 1:"):',
           "a run-time length-1 operand on a non-broadcastable axis is accepted"),
    Mutant("L02", LOWERING, "    if all(weak):\n        return [scalar_of(operands[0], node.inputs[0].dtype)] + list(operands[1:])\n",
           "", "all-Python-number operands keep Python's rules (no NumPy type)"),
    Mutant("L03", LOWERING, 'if is_float(out_dtype) and op != "switch":', 'if False:',
           "integer operands of a float op are not converted to the result type first"),
    Mutant("L04", LOWERING, 'return f"({text})" if text.startswith("-") else text', "return text",
           "negative literals lose their parentheses (`-1 ** x`)"),
    Mutant("L05", LOWERING, '"sub": "({0} - {1})"', '"sub": "({1} - {0})"',
           "subtraction with its operands swapped"),
    Mutant("L06", LOWERING, '"true_div": "({0} / {1})"', '"true_div": "({0} * (1.0 / {1}))"',
           "division as multiplication by the reciprocal (off by an ulp)"),
    # -- reductions --------------------------------------------------------------------------
    Mutant("L07", LOWERING, 'return "-np.inf" if kind == "max" else "np.inf"',
           'return repr(-np.finfo(dtype).max) if kind == "max" else repr(float(np.finfo(dtype).max))',
           "float max/min start from the largest finite value instead of -inf/+inf"),
    Mutant("L08", LOWERING, 'empty = " or ".join(f"{x}.shape[{a}] == 0" for a in axes) or "False"',
           'empty = " or ".join(f"{x}.shape[{a}] == 0" for a in axes[:1]) or "False"',
           "the empty-axis check of max/min looks at the first reduced axis only"),
    Mutant("L09", LOWERING, 'f"if {v} {cmp} {acc} or ({v} != {v} and {acc} == {acc}):"',
           'f"if {v} {cmp} {acc}:"', "max/min let a NaN lose"),
    Mutant("L10", LOWERING, 'if {elem(j)} {cmp} {best} or ({elem(j)} != {elem(j)} and {best} == {best}):',
           'if {elem(j)} {cmp} {best}:', "argmax/argmin skip a NaN"),
    Mutant("L11", LOWERING, '    if kind in ("prod", "all"):\n        return "True" if kind == "all" else "1"',
           '    if kind in ("prod", "all"):\n        return "True" if kind == "all" else "0"',
           "prod starts from 0"),
    # -- indexing ----------------------------------------------------------------------------
    Mutant("L12", LOWERING, 'return f"{n} <= {k}" if k >= 0 else f"{n} < {-k}"',
           'return f"{n} < {k}" if k >= 0 else f"{n} < {-k}"', "a constant index equal to the length passes"),
    Mutant("L30", LOWERING, 'return f"{i} < -{n} or {i} >= {n}"', 'return f"{i} < -{n} or {i} > {n}"',
           "a symbolic index equal to the length passes"),
    Mutant("L13", LOWERING, 'with r.block(f"if {idx}[{k}] < -{x}.shape[0] or {idx}[{k}] >= {x}.shape[0]:"):',
           'with r.block(f"if {idx}[{k}] >= {x}.shape[0]:"):', "a take index below -length passes"),
    Mutant("L14", LOWERING, 'r.emit(f"{out}[{idx}[{k}]] = {out}[{idx}[{k}]] + {yk}")',
           'r.emit(f"{out}[{idx}[{k}]] = {x}[{idx}[{k}]] + {yk}")',
           "inc_subtensor with an index vector adds a repeated index once"),
    Mutant("L15", LOWERING, "perm = [ranks.index(a) for a in kept]", "perm = list(range(len(kept)))",
           "dimshuffle drops its transposition"),
    # -- scan --------------------------------------------------------------------------------
    Mutant("L16", LOWERING, 'r.emit(f"{done} = {t} + 1")', 'r.emit(f"{done} = {t}")',
           "until drops the step whose condition stopped the loop"),
    Mutant("L17", LOWERING, 'need = f"{n} + {hi - lo}" if hi - lo else n', "need = n",
           "the sequence length check forgets the taps' span"),
    Mutant("L18", LOWERING, 'with r.block(f"if {init}.shape[0] < {rows}:"):',
           'with r.block(f"if {init}.shape[0] < {rows} - 1:"):', "a state's initial value may lack one row"),
    Mutant("L19", LOWERING, 'r.emit(f"{\', \'.join(shared)} = {\', \'.join(values)}")',
           'r.emit("; ".join(f"{a} = {b}" for a, b in zip(shared, values)))',
           "shared updates in a scan are stored one after the other (a swap reads a new value)"),
    Mutant("L20", LOWERING, "if r.readers.get(var, 0) <= 1:", "if r.readers.get(var, 0) <= 2:",
           "two draws from one random state share it"),
    Mutant("L21", LOWERING, 'r.emit(f"{rev} = {x}[::-1]")', 'r.emit(f"{rev} = {x}")',
           "go_backwards does not reverse the sequences"),
    Mutant("L22", LOWERING, "if var.ndim:  # a store would broadcast a row of another shape silently",
           "if False:", "a state's new value of another shape is broadcast into its row"),
    Mutant("L23", LOWERING, 'r.emit(f"{r.name(var)} = {buf}[{offset(t, rows + k)}]")',
           'r.emit(f"{r.name(var)} = {buf}[{offset(t, -k - 1)}]")',
           "a state's taps read each other's rows (taps [-2, -1] swapped)"),
    # -- shapes, creation ----------------------------------------------------------------------
    Mutant("L24", LOWERING, 'return f"{size} % {known} != 0" if -1 in lengths else f"{size} != {known}"',
           'return "False" if -1 in lengths else f"{size} != {known}"',
           "reshape with -1 does not check that the size divides"),
    Mutant("L25", LOWERING, 'with r.block(f"if {value}.shape[{axis}] != 1 and {value}.shape[{axis}] != {target}:"):',
           'with r.block(f"if {value}.shape[{axis}] != {target}:"):',
           "alloc rejects a length-1 value that broadcasts"),
    Mutant("L26", LOWERING, "            if d == axis:\n                continue\n",
           "            if d != 0:\n                continue\n", "concatenate checks only the first axis"),
    Mutant("L27", LOWERING, 'r.raise_("LoopcIndexError", "index %d is out of bounds for axis 0 of %s with length %d"',
           'r.raise_("LoopcValueError", "index %d is out of bounds for axis 0 of %s with length %d"',
           "a take index out of bounds raises the wrong error class"),
    # -- dot -----------------------------------------------------------------------------------
    Mutant("L28", LOWERING, "ta, tb = (in_dtype(x, v, dtype) for x, v in ((a, va), (b, vb)))", "ta, tb = a, b",
           "dot with a 0-d operand computes in the operands' types (float32 * int64 stays float32)"),
    Mutant("L29", LOWERING, 'with r.block(f"if {a}.shape[{va.ndim - 1}] != {inner_b}:"):',
           'with r.block(f"if {a}.shape[{va.ndim - 1}] < {inner_b}:"):',
           "dot accepts a longer inner axis on the left"),
    # -- passes --------------------------------------------------------------------------------
    Mutant("P01", "loopc/passes/dce.py", "if not keep[\"states\"][i] and any(v in deps for v in taps):",
           "if not keep[\"states\"][i] and taps[0] in deps:",
           "dce drops a state read only through a later tap"),
    Mutant("P02", "loopc/passes/dce.py", "return any(y is x and k >= hi - lo for y, k in bounded)",
           "return any(y is x for y, k in bounded)",
           "dce drops a dead sequence whose length check could fail"),
    Mutant("P03", "loopc/passes/dce.py", "            if not keep[\"shared\"][i] and current in deps:\n"
           "                keep[\"shared\"][i] = woken = True\n", "            pass\n",
           "dce drops a shared update that a kept output reads"),
    Mutant("P04", "loopc/passes/canonicalize.py", '"sub": (0, (1,))', '"sub": (0, (0, 1))',
           "canonicalize rewrites 0 - x to x"),
    Mutant("P05", "loopc/passes/canonicalize.py", '"true_div": (1, (1,))', '"true_div": (1, (0, 1))',
           "canonicalize rewrites 1 / x to x"),
    Mutant("P06", "loopc/passes/canonicalize.py",
           "    return isinstance(var, Constant) and all(var.broadcastable) and bool(np.all(var.data == value))",
           "    return isinstance(var, Constant) and bool(np.all(var.data == value))",
           "x + zeros(n) becomes x even where the constant would decide the length"),
    Mutant("P07", "loopc/passes/canonicalize.py",
           '    order = tuple("x" if a == "x" else inner.op.order[a] for a in node.op.order)',
           '    order = tuple("x" if a == "x" or inner.op.order[a] == "x" else a for a in node.op.order)',
           "merged dimshuffles drop the inner permutation"),
    Mutant("P08", "loopc/passes/canonicalize.py",
           "    if not all(value.broadcastable) or not all(isinstance(n, Constant) and int(n.data) >= 0 for n in lengths):\n"
           "        return None\n", "", "shape_i of an alloc drops the alloc's checks"),
    Mutant("P09", "loopc/passes/canonicalize.py",
           '    return [Constant(out.type, np.array(value, dtype=out.dtype, order="C"))',
           '    return [Constant(out.type, np.array(value, order="C"))',
           "constant folding keeps NumPy's result dtype instead of the node's",
           equivalent="every op's perform already returns its output's dtype (the differential tests check it)"),
    Mutant("P12", "loopc/passes/canonicalize.py",
           "        if _is_neutral(const, neutral) and other.type == node.out.type:",
           "        if _is_neutral(const, neutral) and other.ndim == node.out.ndim:",
           "canonicalize drops `x * 1` even where the 1 widens x's dtype"),
    Mutant("P10", "loopc/passes/cse.py", "    key = (node.op, node.inputs)", "    key = (node.op.name, node.inputs)",
           "cse merges nodes whose ops differ only in their parameters"),
    Mutant("P11", "loopc/passes/cse.py", "NEVER_MERGED = (RandomOp, Print)", "NEVER_MERGED = (Print,)",
           "cse merges two random draws into one"),
    # -- compiler flags ------------------------------------------------------------------------
    Mutant("F01", COMPILER, 'NJIT_OPTIONS = {"error_model": "numpy"}', 'NJIT_OPTIONS = {"error_model": "python"}',
           "Numba's Python error model: division by zero raises in NUMBA mode"),
    Mutant("F02", COMPILER, 'NJIT_OPTIONS = {"error_model": "numpy"}',
           'NJIT_OPTIONS = {"error_model": "numpy", "fastmath": True}',
           "fastmath=True: NaN and inf handling is undefined"),
]


def snapshot(dest, tests_from=None):
    """The files git knows (committed or not, less the ignored ones) copied under `dest`;
    with `tests_from`, tests/ as it was at that git revision instead. Taken once, so
    edits made while the mutants run do not leak into them."""
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, check=True,
                           capture_output=True, text=True).stdout.split()
    for rel in files:
        src = os.path.join(ROOT, rel)
        if os.path.isfile(src) and not (tests_from and rel.startswith("tests/")):
            os.makedirs(os.path.dirname(os.path.join(dest, rel)), exist_ok=True)
            shutil.copy2(src, os.path.join(dest, rel))
    if tests_from:
        archive = subprocess.run(["git", "archive", tests_from, "tests"], cwd=ROOT, check=True, capture_output=True)
        subprocess.run(["tar", "-x", "-C", dest], input=archive.stdout, check=True)
        conftest = os.path.join(dest, "tests", "conftest.py")
        with open(conftest) as f:
            known = '"mutants"' in f.read()
        if not known:  # an older suite: the same examples, its failures not shrunk either
            with open(conftest, "a") as f:
                f.write(OLD_SUITE_PROFILE)


# What an older tests/conftest.py gets appended: the `mutants` Hypothesis profile.
OLD_SUITE_PROFILE = """
from hypothesis import Phase as _Phase, settings as _settings
_settings.register_profile("mutants", parent=_settings.get_profile("ci"),
                           phases=[_Phase.explicit, _Phase.reuse, _Phase.generate])
_settings.load_profile("mutants")
"""


def stale(m, root=ROOT):
    with open(os.path.join(root, m.path)) as f:
        return f.read().count(m.old) != 1


def run_one(m, tests, options):
    """(result, first failing test or '', seconds) of the suite on mutant `m` (None: on
    the unmutated copy)."""
    if m is not None and stale(m, options.snapshot):
        return "stale", "", 0.0
    work = tempfile.mkdtemp(prefix=f"loopc-mutant-{m.id if m else 'none'}-")
    try:
        repo = os.path.join(work, "repo")
        shutil.copytree(options.snapshot, repo)
        if m is not None:
            path = os.path.join(repo, m.path)
            with open(path) as f:
                text = f.read()
            with open(path, "w") as f:
                f.write(text.replace(m.old, m.new))
        env = dict(os.environ, LOOPC_CACHE_DIR=os.path.join(work, "cache"), PYTHONDONTWRITEBYTECODE="1")
        if not options.tests_from:
            env["LOOPC_HYPOTHESIS_PROFILE"] = "mutants"  # the ci examples, failures not shrunk
        env.pop("LOOPC_TEST_CACHE_DIR", None)
        env["PYTHONPATH"] = repo + os.pathsep + env.get("PYTHONPATH", "")
        where = subprocess.run([sys.executable, "-c", "import loopc; print(loopc.__file__)"], cwd=repo, env=env,
                               capture_output=True, text=True).stdout.strip()
        if not where.startswith(repo):
            raise RuntimeError(f"the scratch copy imports loopc from {where!r}, not from {repo}")
        start = time.perf_counter()
        try:
            proc = subprocess.run([sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider",
                                   "--no-header", "-rfE", *options.pytest_args.split(), *tests], cwd=repo,
                                  env=env, capture_output=True, text=True, timeout=options.timeout)
        except subprocess.TimeoutExpired:
            return "timeout", "", time.perf_counter() - start
        seconds = time.perf_counter() - start
        if proc.returncode == 0:
            return "survived", "", seconds
        failed = [line.split()[1] for line in proc.stdout.splitlines() if line.startswith(("FAILED ", "ERROR "))]
        if proc.returncode != 1 or not failed:  # no test ran to fail: the mutant does not even import
            return "broken", f"(pytest exit {proc.returncode})", seconds
        return "killed", failed[0], seconds
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", help="comma-separated mutant ids")
    ap.add_argument("--tests", nargs="*", default=None, help="test paths (default: the whole suite)")
    ap.add_argument("--jobs", type=int, default=1, help="mutants run at once (each is one pytest process)")
    ap.add_argument("--timeout", type=int, default=1200, help="seconds per mutant")
    ap.add_argument("--list", action="store_true", help="print the mutants (and stale ones) and stop")
    ap.add_argument("--tests-from", help="take tests/ from this git revision (today's code, an older suite)")
    ap.add_argument("--pytest-args", default="", help="extra pytest arguments, e.g. --deselect ...")
    args = ap.parse_args(argv)
    chosen = MUTANTS if not args.only else [m for m in MUTANTS if m.id in set(args.only.split(","))]
    if args.list:
        for m in chosen:
            print(f"{m.id}  {'STALE ' if stale(m) else ''}{m.path}: {m.what}"
                  + (f"  [equivalent: {m.equivalent}]" if m.equivalent else ""))
        return 0
    tests = args.tests or SUITE
    args.snapshot = os.path.join(tempfile.mkdtemp(prefix="loopc-mutants-"), "repo")
    snapshot(args.snapshot, args.tests_from)
    print(f"{len(chosen)} mutants, tests: {' '.join(tests)}"
          + (f" (tests/ from {args.tests_from})" if args.tests_from else ""))
    result, test, seconds = run_one(None, tests, args)
    if result != "survived":
        print(f"the unmutated copy does not pass ({result}: {test}); nothing to measure")
        return 1
    print(f"the unmutated copy passes in {seconds:.0f} s\n")
    print("| id | planted bug | result | killed by | s |")
    print("|---|---|---|---|---|")
    rows = []
    with ThreadPoolExecutor(args.jobs) as pool:
        futures = [(m, pool.submit(run_one, m, tests, args)) for m in chosen]
        for m, future in futures:
            result, test, seconds = future.result()
            result = "equivalent" if m.equivalent else result
            rows.append((m, result))
            print(f"| {m.id} | {m.what} | {result} | {test} | {seconds:.0f} |", flush=True)
    shutil.rmtree(os.path.dirname(args.snapshot), ignore_errors=True)
    scored = [r for m, r in rows if r not in ("equivalent", "stale", "broken")]
    killed = scored.count("killed")
    print(f"\nkilled {killed} of {len(scored)} non-equivalent mutants ({100 * killed / max(len(scored), 1):.0f}%)"
          + "".join(f"; {r}: {', '.join(m.id for m, x in rows if x == r)}"
                    for r in ("survived", "timeout", "broken", "stale", "equivalent") if any(x == r for _, x in rows)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
