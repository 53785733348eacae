"""The seed paper's studies (Elich et al.), each one module: plan → run → analyse → render.

- :mod:`mtlx.studies.toy`: the CAGrad toy task (Section 4.1.1, Table 1 and Table A3).
- :mod:`mtlx.studies.invariance`: loss-scale invariance of SGD, Adam, UW-O and per-task Adam
  (Section 4.1.3, appendix A1–A2).
- :mod:`mtlx.studies.grads`: inter-task vs inter-sample gradient similarity while a run trains
  (Section 4.2, Figure 4), through a step observer of the training loop.
- :mod:`mtlx.studies.corruptions`: the common corruptions of Hendrycks & Dietterich for the
  robustness study (appendix A6).
- :mod:`mtlx.studies.robustness`: multi-task vs single-task features under those corruptions,
  heads fine-tuned over frozen backbones (appendix A6).

A study reuses the method registry, the optimizer registry and the training step; its results go
to the database (:mod:`mtlx.store.studies`) and its command lives in ``mtlx/cli/<study>.py``.
Planning, analysing and rendering import no torch; running does.
"""
