"""The training loop, made of parts with one job each, over the core.

Batch sources (:mod:`.loop`), step engines (:mod:`.loop`, the compiled epoch
of :mod:`.compiled_epoch`), the epoch loop and the L-BFGS iterations
(:mod:`.loop`), the end-of-epoch handlers (:mod:`.epoch_end`), the BLAS
thread limit for small products (:mod:`.threads`), and one call's run built
from an estimator's settings (:mod:`.run`). Nothing here imports the
estimators.
"""
