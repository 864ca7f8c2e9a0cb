"""Where skbackprop meets other libraries: dask, saving and loading, scikit-learn's callbacks.

Each module is imported by the estimators at one seam (listed in the import
contracts of ``pyproject.toml``) and imports its optional library only when
that library's objects arrive. The public integrations, :mod:`skbackprop.onnx`
and :mod:`skbackprop.inspect`, sit beside this package.
"""
