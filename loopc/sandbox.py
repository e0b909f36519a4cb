"""Theano's `theano.sandbox` namespace: `sandbox.rng_mrg.MRG_RandomStreams` maps to RandomStreams."""
import types

from .frontend.random import RandomStreams

rng_mrg = types.SimpleNamespace(MRG_RandomStreams=RandomStreams)
