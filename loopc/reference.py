"""`loopc.reference.evaluate`: the reference evaluator, for users and tests; it lives
in the IR (`loopc.ir.interpret`)."""
from .ir.interpret import evaluate  # noqa: F401
