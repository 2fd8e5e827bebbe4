"""Stage 6, the studies: the ways the model is used on top of single solves.

Owns measure packages side by side (:mod:`compare`) and scripted what-if batches (:mod:`batch`,
the batch file :mod:`batchfile`, the resumable store :mod:`store`, the summary
:mod:`batchsummary`). May import every stage below it.
"""
