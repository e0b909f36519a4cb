"""Theano's `theano.sandbox` namespace: `sandbox.rng_mrg.MRG_RandomStreams` (loopc's own
stream behind Theano's MRG API: see `loopc.frontend.random.MRG_RandomStreams`)."""
import types

from .frontend.random import MRG_RandomStreams

rng_mrg = types.SimpleNamespace(MRG_RandomStreams=MRG_RandomStreams)
