"""The numbers: the network, its activations and costs, the optimizers.

Arrays in, arrays out. Written once over the operations layer (:mod:`.ops`),
so the same code runs on NumPy and on any library of the Array API standard;
the optional compiled kernels (:mod:`.kernels`, numba) give the same results
faster. Nothing here imports scikit-learn, the training loop or the
estimators (the import contracts in ``pyproject.toml`` keep it so).
"""
