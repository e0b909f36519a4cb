"""`loopc compile --target cuda`: a standalone module needing only NumPy and numba-cuda.

The written module is imported in a subprocess with loopc unimportable and
NUMBA_ENABLE_CUDASIM=1 (numba's simulator: no GPU here), and checked against NumPy.
"""
import os
import re
import subprocess
import sys
import textwrap

import pytest

from loopc.cli import main

MODEL = """\
import numpy as np
import loopc as theano
import loopc.tensor as T

x = T.fvector('x')
W = theano.shared((np.arange(6.0, dtype='float32').reshape(2, 3) - 2) / 4, name='W')
count = theano.shared(np.float32(0), name='count')
seq = T.fmatrix('seq')
h0 = T.fvector('h0')
U = T.fmatrix('U')
hs, _ = theano.scan(lambda s, h, U: T.tanh(s + T.dot(h, U)), sequences=seq, outputs_info=h0, non_sequences=U)

elementwise = theano.function([x], T.exp(x) * 2 + T.sqr(x))
rnn = theano.function([seq, h0, U], [hs, hs[-1]])
total = theano.function([seq], [seq.sum(), seq.max(axis=0)])
affine = theano.function([x], T.dot(W, x), updates={W: W * 0.5, count: count + x.sum()})
k = T.iscalar('k')
powers, _ = theano.scan(lambda prior, x: prior * x, outputs_info=T.ones_like(x), non_sequences=x, n_steps=k)
power = theano.function([x, k], powers[-1])
idx = T.lvector('idx')
picked, _ = theano.scan(lambda i: x[i] * 2, sequences=idx)
pick = theano.function([x, idx], picked)  # an index the data chooses: checked inside the kernel
"""

CHECK = """\
import sys
class Blocker:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] == 'loopc':
            raise ImportError(name + ' is blocked')
sys.meta_path.insert(0, Blocker())
sys.path.insert(0, {folder!r})
import numpy as np
from numba import cuda
import model_cuda as m

x = np.array([0.5, -1.0, 2.0], dtype=np.float32)
np.testing.assert_allclose(m.elementwise(x), np.exp(x) * 2 + x * x, rtol=1e-6)
np.testing.assert_allclose(m.elementwise(cuda.to_device(x)), np.exp(x) * 2 + x * x, rtol=1e-6)  # no copy in
np.testing.assert_allclose(m.elementwise([1, 2, 3]), np.exp([1, 2, 3]) * 2 + [1, 4, 9], rtol=1e-6)

rng = np.random.RandomState(0)
seq, h0, U = (rng.randn(4, 3).astype(np.float32), rng.randn(3).astype(np.float32),
              rng.randn(3, 3).astype(np.float32) / 2)
h, want = h0, []
for s in seq:
    h = np.tanh(s + h @ U)
    want.append(h)
hs, last = m.rnn(seq, h0, U)
assert isinstance(hs, np.ndarray) and hs.dtype == np.float32 and hs.shape == (4, 3)
np.testing.assert_allclose(hs, want, rtol=1e-5, atol=1e-6)
np.testing.assert_allclose(last, want[-1], rtol=1e-5, atol=1e-6)

s, mx = m.total(seq)
assert s.shape == () and s.dtype == np.float32
np.testing.assert_allclose(s, seq.sum(), rtol=1e-5)
np.testing.assert_array_equal(mx, seq.max(axis=0))

W = (np.arange(6.0, dtype=np.float32).reshape(2, 3) - 2) / 4
np.testing.assert_allclose(m.affine(x), W @ x, rtol=1e-6)
assert hasattr(m.SHARED['W'], 'copy_to_host')  # the shared array lives on the device
np.testing.assert_allclose(m.affine(x), W @ x / 2, rtol=1e-6)
np.testing.assert_array_equal(m.host_value('W'), W / 4)
np.testing.assert_allclose(m.host_value('count'), 2 * x.sum(), rtol=1e-6)

for bad, kind in [(np.ones((2, 2), np.float32), 'ndim'), (np.ones(3), 'precision'),
                  (cuda.to_device(np.ones(3)), 'dtype float64')]:
    try:
        m.elementwise(bad)
    except TypeError as exc:
        assert 'elementwise: input 0 (x)' in str(exc) and kind in str(exc), exc
    else:
        raise AssertionError('no error for ' + kind)
try:
    m.rnn(seq, h0[:2], U)
except ValueError as exc:
    assert type(exc).__name__ == 'ShapeError', exc
else:
    raise AssertionError('no shape error')
np.testing.assert_allclose(m.power(x, 3), x ** 3, rtol=1e-6)
np.testing.assert_array_equal(m.pick(x, np.array([2, 0, -3])), x[[2, 0, -3]] * 2)
try:
    m.pick(x, np.array([1, 7]))
except IndexError as exc:
    assert type(exc).__name__ == 'LoopcIndexError' and 'index 7 is out of bounds' in str(exc), exc
else:
    raise AssertionError('no index error')
assert not [k for k in sys.modules if k.split('.')[0] == 'loopc']
print('ok')
"""


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return str(path)


def _compile(argv, capsys):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_compile_cuda_writes_a_module_that_runs_without_loopc(tmp_path, capsys):
    model = _write(tmp_path, "model.py", MODEL)
    out = tmp_path / "model_cuda.py"
    code, stdout, err = _compile(["compile", model, "--target", "cuda", "-o", str(out)], capsys)
    assert code == 0, err
    assert "functions: elementwise, rnn, total, affine, power, pick" in stdout
    source = out.read_text()
    imports = [line for line in source.splitlines() if re.match(r"\s*(import|from)\s", line)]
    assert not [line for line in imports if "loopc" in line], imports
    assert "@cuda.jit" in source and not re.search(r"\bcu\.", source)
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1")
    done = subprocess.run([sys.executable, "-c", CHECK.format(folder=str(tmp_path))], capture_output=True,
                          text=True, cwd=str(tmp_path), env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


@pytest.mark.parametrize("body, message", [
    ("f = theano.function([v], T.sort(v))", "'sort'"),
    ("from loopc.tensor.shared_randomstreams import RandomStreams\n"
     "f = theano.function([v], v + RandomStreams(1).uniform((3,)))", "random states"),
])
def test_compile_cuda_refuses_what_it_cannot_express(tmp_path, capsys, body, message):
    model = _write(tmp_path, "bad.py", "import loopc as theano\nimport loopc.tensor as T\n"
                   f"v = T.fvector('v')\n{body}\n")
    out = tmp_path / "bad_cuda.py"
    code, _, err = _compile(["compile", model, "--target", "cuda", "-o", str(out)], capsys)
    assert code == 1
    assert "function f" in err and message in err, err
    assert len(err.strip().splitlines()) == 1 and not out.exists()
