"""Snapshots of random states, so that a call that fails can undo its draws.

A call draws from the users' `RandomState`s in place and keeps a snapshot of each
from before it ran; a call that fails puts the snapshots back (`restore`), one
that succeeds drops them. A snapshot is taken on every call and put back only
on a failure, so taking one must be cheap, while putting one back may be slow.

NumPy's own copy of the state (`RandomState.get_state`) costs about 30 us: the
bit generator builds its 624-word key one element at a time. `save` copies the
same bytes at C speed instead (about 1 us):
- the Mersenne Twister's key and position, from the bit generator's state struct,
  whose address NumPy publishes as `bit_generator.ctypes.state_address`;
- the legacy normal draws' cached second Gaussian (`has_gauss`, `gauss`), which
  only `get_state` exposes, from its offset in the `RandomState` object.
Neither layout is a documented interface, so both are found and checked against
`get_state` once, on first use (`_probe`), and used for exact `RandomState`s with
an `MT19937` only (a subclass or another bit generator may lay its fields out
differently). Where the check fails, a snapshot is `get_state` itself.
`restore` is always NumPy's `set_state`.
"""
import ctypes
import functools
import struct

import numpy as np

KEY_WORDS = 624  # the Mersenne Twister's state struct: uint32_t key[624]; int pos
MT_BYTES = 4 * KEY_WORDS + struct.calcsize("i")


class Raw:
    """A snapshot as bytes: the state struct (`mt`), and the Gaussian cache (`aug`)."""

    __slots__ = ("mt", "aug")

    def __init__(self, mt, aug):
        self.mt, self.aug = mt, aug


def save(state):
    """A snapshot of `state` (a RandomState) that `restore` puts back."""
    layout = _layout()
    if layout is None or type(state) is not np.random.RandomState:
        return state.get_state(legacy=False)
    bits = state._bit_generator
    if type(bits) is not np.random.MT19937:
        return state.get_state(legacy=False)
    start, length, _, _ = layout
    return Raw(ctypes.string_at(bits.ctypes.state_address, MT_BYTES), ctypes.string_at(id(state) + start, length))


def restore(state, snapshot):
    """Put `state` back as `save` found it."""
    if not isinstance(snapshot, Raw):
        state.set_state(snapshot)
        return
    state.set_state(_legacy_tuple(snapshot, _layout()))


def _legacy_tuple(snapshot, layout):
    """The `get_state()` tuple a Raw snapshot holds."""
    _, _, has_gauss_at, gauss_at = layout
    key = np.frombuffer(snapshot.mt, np.uint32, KEY_WORDS).copy()
    (pos,) = struct.unpack_from("i", snapshot.mt, 4 * KEY_WORDS)
    (has_gauss,) = struct.unpack_from("i", snapshot.aug, has_gauss_at)
    (gauss,) = struct.unpack_from("d", snapshot.aug, gauss_at)
    return ("MT19937", key, pos, has_gauss, gauss)


@functools.cache
def _layout():
    """(start, length, has_gauss offset, gauss offset): the bytes of a RandomState
    object that hold its Gaussian cache, and where in them; None where the fast
    snapshot cannot be trusted."""
    try:
        return _probe()
    except Exception:  # any surprise in NumPy's layout: fall back to get_state
        return None


def _probe():
    state = np.random.RandomState(20240611)
    if type(state._bit_generator) is not np.random.MT19937:
        return None
    size = type(state).__basicsize__
    _, key, pos, _, _ = state.get_state()
    # distinct cached values and flags; only these two fields differ between the images
    planted = [(1, -2.718281828459045e-301), (0, 6.02214076e+123), (1, 1.2345678901234567)]
    images = []
    for has_gauss, gauss in planted:
        state.set_state(("MT19937", key, pos, has_gauss, gauss))
        images.append(ctypes.string_at(id(state), size))
    gauss_at = [k for k in range(0, size - 7, 8)
                if all(struct.unpack_from("d", image, k)[0] == g for image, (_, g) in zip(images, planted))]
    flag_at = [k for k in range(0, size - 3, 4)
               if all(struct.unpack_from("i", image, k)[0] == h for image, (h, _) in zip(images, planted))]
    flag_at = [k for k in flag_at if not (gauss_at and gauss_at[0] <= k < gauss_at[0] + 8)]
    if len(gauss_at) != 1 or len(flag_at) != 1:
        return None
    start = min(gauss_at[0], flag_at[0])
    length = max(gauss_at[0] + 8, flag_at[0] + 4) - start
    layout = (start, length, flag_at[0] - start, gauss_at[0] - start)
    return layout if _agrees(layout) else None


def _agrees(layout):
    """Whether snapshots taken with `layout` read what get_state reads, through draws
    that fill and empty the Gaussian cache, and restore to the same stream."""
    state = np.random.RandomState(7)
    for size in (3, 1, 2, 5):
        state.normal(size=size)
        want = state.get_state()
        start, length, _, _ = layout
        raw = Raw(ctypes.string_at(state._bit_generator.ctypes.state_address, MT_BYTES),
                  ctypes.string_at(id(state) + start, length))
        got = _legacy_tuple(raw, layout)
        if not (np.array_equal(got[1], want[1]) and got[2:] == tuple(want[2:])):
            return False
    return True
