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
LOWER = "loopc/loops/lower.py"  # graph IR -> loop IR, one rule per op
PRINTER = "loopc/backends/pyprinter.py"  # loop IR -> Python source (SCALAR, CALLS)
HOIST = "loopc/loops/hoist.py"
FUSE = "loopc/loops/fuse.py"
PUSH_OUT = "loopc/passes/push_out.py"
SAVE_MEMORY = "loopc/passes/save_memory.py"
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


# L: the lowering (loopc/loops/lower.py) and the printer's scalar table; the ids are the
# old pysource.py mutants', each planting the same bug in the code that now does the job.
# R: scan's ring buffers (Scan.keep). H: hoist. U: fuse. O: push_out. S: save_memory.
# P: the graph passes. F: the compiler's njit flags.
MUTANTS = [
    # -- broadcasting and elementwise ------------------------------------------------------
    Mutant("L01", LOWER, 'lw.check(op("neq", length, first), "ShapeError",',
           'lw.check(op("and", op("neq", length, first), op("neq", length, INT1)), "ShapeError",',
           "a run-time length-1 operand on a non-broadcastable axis is accepted"),
    Mutant("L02", LOWER, "    if all(weak):\n        return [Cast(operands[0], node.inputs[0].dtype)] + list(operands[1:])\n",
           "", "all-Python-number operands keep Python's rules (no NumPy type)"),
    Mutant("L03", LOWER, 'if is_float(out_dtype) and fn != "switch":', "if False:",
           "integer operands of a float op are not converted to the result type first"),
    Mutant("L04", PRINTER, 'return f"({text})" if text.startswith("-") else text', "return text",
           "negative literals lose their parentheses (`-1 ** x`)"),
    Mutant("L05", PRINTER, '"sub": "({0} - {1})"', '"sub": "({1} - {0})"',
           "subtraction with its operands swapped"),
    Mutant("L06", PRINTER, '"true_div": "({0} / {1})"', '"true_div": "({0} * (1.0 / {1}))"',
           "division as multiplication by the reciprocal (off by an ulp)"),
    # -- reductions --------------------------------------------------------------------------
    Mutant("L07", LOWER, 'return Const(-math.inf if kind == "max" else math.inf, "float64")',
           'return Const(float(-np.finfo(dtype).max) if kind == "max" else float(np.finfo(dtype).max), "float64")',
           "float max/min start from the largest finite value instead of -inf/+inf"),
    Mutant("L08", LOWER, 'lw.check(either(*(op("eq", lw.shape(var, a), INT0) for a in axes)), "LoopcValueError",',
           'lw.check(either(*(op("eq", lw.shape(var, a), INT0) for a in axes[:1])), "LoopcValueError",',
           "the empty-axis check of max/min looks at the first reduced axis only"),
    Mutant("L09", LOWER,
           'return op("switch", op("or", better, op("and", op("neq", v, v), op("eq", acc, acc))), v, acc)',
           'return op("switch", better, v, acc)', "max/min let a NaN lose"),
    Mutant("L10", LOWER,
           'better = op("or", op(cmp, v, Var(best)), op("and", op("neq", v, v), op("eq", Var(best), Var(best))))',
           "better = op(cmp, v, Var(best))", "argmax/argmin skip a NaN"),
    Mutant("L11", LOWER, 'return Const(True, "bool") if kind == "all" else INT1',
           'return Const(True, "bool") if kind == "all" else INT0', "prod starts from 0"),
    # -- indexing ----------------------------------------------------------------------------
    Mutant("L12", LOWER, 'return op("le", n, Const(k, "int64")) if k >= 0 else',
           'return op("lt", n, Const(k, "int64")) if k >= 0 else', "a constant index equal to the length passes"),
    Mutant("L30", LOWER, 'return op("or", op("lt", i, op("neg", n)), op("ge", i, n))',
           'return op("or", op("lt", i, op("neg", n)), op("gt", i, n))',
           "a symbolic index equal to the length passes"),
    Mutant("L13", LOWER, 'Check(op("or", op("lt", i, op("neg", n)), op("ge", i, n)), "LoopcIndexError",',
           'Check(op("ge", i, n), "LoopcIndexError",', "a take index below -length passes"),
    Mutant("L14", LOWER, 'new = yk if node.op.set_instead_of_inc else op("add", Load(name, target), yk)',
           'new = yk if node.op.set_instead_of_inc else op("add", Load(lw.name(xvar), target), yk)',
           "inc_subtensor with an index vector adds a repeated index once"),
    Mutant("L15", LOWER, "perm = [ranks.index(a) for a in kept]", "perm = list(range(len(kept)))",
           "dimshuffle drops its transposition"),
    # -- scan --------------------------------------------------------------------------------
    Mutant("L16", LOWER, "lw.emit(If(Var(stop), (Let(done, plus(Var(t), 1)), Break())))",
           "lw.emit(If(Var(stop), (Let(done, Var(t)), Break())))",
           "until drops the step whose condition stopped the loop"),
    Mutant("L17", LOWER, "need = plus(n, hi - lo)", "need = n",
           "the sequence length check forgets the taps' span"),
    Mutant("L18", LOWER, 'lw.check(op("lt", lw.shape(var, 0), Const(rows, "int64")), "ScanError",',
           'lw.check(op("lt", lw.shape(var, 0), Const(rows - 1, "int64")), "ScanError",',
           "a state's initial value may lack one row"),
    Mutant("L19", LOWER, "lw.emit(Assign(tuple(shared), tuple(values)))",
           "lw.emit_all([Let(a, b) for a, b in zip(shared, values)])",
           "shared updates in a scan are stored one after the other (a swap reads a new value)"),
    Mutant("L20", LOWER, "if lw.readers.get(var, 0) <= 1:", "if lw.readers.get(var, 0) <= 2:",
           "two draws from one random state share it"),
    Mutant("L21", LOWER, 'lw.emit(Let(rev, Load(x, (Slice(None, None, Const(-1, "int64")),))))',
           "lw.emit(Let(rev, Var(x)))", "go_backwards does not reverse the sequences"),
    Mutant("L31", LOWER, "lw.emit(Let(lw.name(tap), Load(x, (plus(t, self.op.sequence_offset(i, k)),))))",
           "lw.emit(Let(lw.name(tap), Load(x, (plus(t, k - self.op.sequence_window(i)[0]),))))",
           "go_backwards: the taps are applied to the reversed sequence (not Theano's slices)"),
    Mutant("L22", LOWER, 'lw.check(either(*mismatch), "ScanError",', 'lw.check(either(), "ScanError",',
           "a state's new value of another shape is broadcast into its row (no shape check)"),
    Mutant("L23", LOWER, 'lw.emit(Let(lw.name(tap), Load(buf, (self.row(("state", i), t, rows + k),))))',
           'lw.emit(Let(lw.name(tap), Load(buf, (self.row(("state", i), t, -k - 1),))))',
           "a state's taps read each other's rows (taps [-2, -1] swapped)"),
    # -- shapes, creation ----------------------------------------------------------------------
    Mutant("L24", LOWER, 'return op("neq", op("mod", size, Const(known, "int64")), INT0)',
           'return Const(False, "bool")', "reshape with -1 does not check that the size divides"),
    Mutant("L25", LOWER,
           'lw.check(op("and", op("neq", length, INT1), op("neq", length, target)), "ShapeError",',
           'lw.check(op("neq", length, target), "ShapeError",', "alloc rejects a length-1 value that broadcasts"),
    Mutant("L26", LOWER, "if d == axis or lw.shape(v, d) == lw.shape(first, d):",
           "if d != 0 or lw.shape(v, d) == lw.shape(first, d):", "concatenate checks only the first axis"),
    Mutant("L27", LOWER, '"LoopcIndexError",\n              "index %d is out of bounds for axis 0 of %s with length %d"',
           '"LoopcValueError",\n              "index %d is out of bounds for axis 0 of %s with length %d"',
           "a take index out of bounds raises the wrong error class"),
    # -- dot -----------------------------------------------------------------------------------
    Mutant("L28", LOWER, 'product = op("mul", as_dtype(lw, va, dtype), as_dtype(lw, vb, dtype))',
           'product = op("mul", lw.value(va), lw.value(vb))',
           "dot with a 0-d operand computes in the operands' types (float32 * int64 stays float32)"),
    Mutant("L29", LOWER, 'lw.check(op("neq", inner_a, inner_b), "ShapeError",',
           'lw.check(op("lt", inner_a, inner_b), "ShapeError",', "dot accepts a longer inner axis on the left"),
    # -- scan's ring buffers (Scan.keep) ---------------------------------------------------
    Mutant("R01", LOWER, 'return plus(t, k) if size is None else op("mod", plus(t, k), size)',
           "return plus(t, k)", "a ring buffer's row index is not taken modulo its length"),
    Mutant("R02", LOWER, 'length = self.ring(("state", i), buf, max(rows + 1, keep), plus(n, rows))',
           'length = self.ring(("state", i), buf, max(rows, keep), plus(n, rows))',
           "a state's ring has no spare row: a step writes the row its oldest tap still reads"),
    Mutant("R03", LOWER, 'at = op("mod", op("add", op("sub", end, Var(count)), Var(j)), self.ring_rows[key])',
           'at = op("mod", op("sub", op("sub", end, INT1), Var(j)), self.ring_rows[key])',
           "the kept rows are copied out of the ring newest first"),
    Mutant("R04", LOWER, 'lw.emit(Let(count, op("min", Const(keep, "int64"), Var(done))))',
           'lw.emit(Let(count, Const(keep, "int64")))',
           "a kept result has k rows even when fewer steps ran"),
    Mutant("R05", LOWER,
           'self.last_rows(res, buf, ("state", i), plus(Var(done), rows), self.op.state_keep(i), done)',
           'self.last_rows(res, buf, ("state", i), Var(done), self.op.state_keep(i), done)',
           "a kept state's last rows forget the initial rows ahead of the new ones"),
    Mutant("R06", LOWER, 'carry = "copy" if any(key[0] == "state" for key in self.ring_rows) else "contiguous"',
           'carry = "contiguous"', "a shared update that is a view of a ring row is carried uncopied"),
    # -- hoist: step-invariant checks before scan loops ---------------------------------------
    Mutant("H01", HOIST, "if clean and isinstance(s, Check) and not (names_read(s.bad) & local):",
           "if clean and isinstance(s, Check):", "a check that reads the step's values is hoisted"),
    Mutant("H02", HOIST, "hoisted.append(Check(Op(\"and\", (runs, s.bad)), s.error, s.message, args))",
           "hoisted.append(Check(s.bad, s.error, s.message, args))",
           "a hoisted check runs without the \"loop runs at least once\" guard (fails a 0-step scan)"),
    Mutant("H03", HOIST, "        if _may_raise(s):\n            clean = False\n", "",
           "a check is hoisted past an earlier check or effect of the step (the first error changes)"),
    Mutant("H04", HOIST, "if names_read(Op(\"tuple\", args)) & local:", "if False:",
           "a check whose message names a step's value is hoisted"),
    # -- fuse: elementwise nests into their only reader ------------------------------------------
    Mutant("U01", FUSE, "    if len(readers) != 1:\n        return\n    (j,) = readers\n",
           "    if not readers:\n        return\n    j = min(readers)\n",
           "a temporary read by two nests is fused into the first"),
    Mutant("U02", FUSE, "mapping = {loop.var: item for loop, item in zip(loops, load.index)}",
           "mapping = {loop.var: item for loop, item in zip(loops, load.index[::-1])}",
           "the producer's index variables map to the reader's in reverse (a transposed read)"),
    Mutant("U03", FUSE, "    if _dtype(value, dtypes) != alloc.dtype:\n        value = Cast(value, alloc.dtype)\n", "",
           "the fused local is not cast to the dtype of the buffer it replaces"),
    Mutant("U04", FUSE,
           "if row.value != Var(alloc.name) or any(isinstance(n, (Check, Host)) for s in between for n in walk(s)):",
           "if row.value != Var(alloc.name) or any(isinstance(n, Host) for s in between for n in walk(s)):",
           "a state's new value is written into its row although a check stands between the two"),
    Mutant("U05", FUSE, "if producer is None or alloc.name in returned:", "if producer is None:",
           "a temporary the function returns is fused away"),
    # -- push_out: invariants and sequence products out of scan bodies ---------------------------
    Mutant("O01", PUSH_OUT, "batched = _batched(seq, op.sequence_offset(i, k), outer.n_steps, u_outer, flipped)",
           "batched = _batched(seq, k, outer.n_steps, u_outer, flipped)",
           "a batched sequence product takes its rows from the tap, forgetting the window's lowest tap"),
    Mutant("O05", PUSH_OUT, "batched = _batched(seq, op.sequence_offset(i, k), outer.n_steps, u_outer, flipped)",
           "batched = _batched(seq, k - op.sequence_window(i)[0], outer.n_steps, u_outer, flipped)",
           "go_backwards: a batched product applies the taps to the reversed sequence (not Theano's slices)"),
    Mutant("O02", PUSH_OUT, "    if op.go_backwards:\n        flipped = reversed_seqs.setdefault(seq, _reversed(seq))\n", "",
           "go_backwards: a batched product reads the rows of the unreversed sequence"),
    Mutant("O03", PUSH_OUT, "if all(v in invariant or _free(v, body) for v in node.inputs):",
           "if any(v in invariant or _free(v, body) for v in node.inputs):",
           "a body node with one invariant input is moved out of the scan"),
    Mutant("O04", PUSH_OUT, "return product if flipped is None else _reversed(product)", "return product",
           "go_backwards: a batched product of a window is not reversed back"),
    # -- save_memory: Scan.keep for results read only by their last rows ---------------------------
    Mutant("S01", SAVE_MEMORY, "return -i if i < 0 else None", "return -i if i < 0 else i + 1",
           "h[i] with i >= 0 keeps the last i + 1 rows (h[0] reads the last row)"),
    Mutant("S02", SAVE_MEMORY, "rows = max(rows, need)", "rows = max(rows, need - 1)",
           "keep is one row short of what h[-k] reads"),
    Mutant("S03", SAVE_MEMORY, "return 1 if node.op.axis >= 1 else None", "return 1",
           "a result whose length (shape_i 0) is read keeps one row"),
    Mutant("S04", SAVE_MEMORY, "    if var in outputs:\n        return None\n", "",
           "a result that is a graph output keeps only its last rows"),
    Mutant("S05", SAVE_MEMORY, "if not isinstance(node.op, Subtensor) or node.op.idx_list[:1] != (\"i\",):",
           "if not isinstance(node.op, Subtensor):", "a constant slice bound on axis 0 counts as an index"),
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
    """True unless the mutant's text occurs exactly once in its file (which must exist)."""
    return occurrences(m, root) != 1


def occurrences(m, root=ROOT):
    path = os.path.join(root, m.path)
    if not os.path.isfile(path):
        return -1
    with open(path) as f:
        return f.read().count(m.old)


def stale_text(m):
    found = occurrences(m)
    if found == 1:
        return ""
    return "STALE (no such file) " if found < 0 else f"STALE (found {found} times) "


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
            print(f"{m.id}  {stale_text(m)}{m.path}: {m.what}"
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
