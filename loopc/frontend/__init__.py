"""The user-facing layer: builds IR graphs from Theano-style code."""
