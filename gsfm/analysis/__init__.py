"""Analyses the notebooks run on trained models (no plotting; figures are in :mod:`gsfm.viz`).

* :mod:`gsfm.analysis.matching`: for one query pixel, the memory pixels it matches (the
  paper's Fig. 1), and how much of the readout weight lands on the target, on lookalikes and
  elsewhere; :mod:`gsfm.analysis.lookalike_shares` measures it over every target pixel of
  every video with lookalikes, for any runs and seeds (intervals by
  :mod:`gsfm.analysis.seed_video`, runs read by :mod:`gsfm.analysis.run_info`).
* :mod:`gsfm.analysis.comparison`: result tables of trained models beside the trivial
  baselines and the paper's numbers, the conclusion sentence computed from them, and the
  frames of the qualitative comparison (the paper's Fig. 5).
"""
