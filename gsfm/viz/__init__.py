"""Plotting functions the notebooks call; one submodule per topic (e.g. :mod:`gsfm.viz.spectral`).

Each function returns a matplotlib Figure and writes it to ``out_path`` when one is given.
"""
