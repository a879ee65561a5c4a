"""Staggered-adoption difference-in-differences (Callaway & Sant'Anna 2021), one module per
stage: ``cohorts`` (the wide balanced panel and its cohorts), ``drdid`` (the 2x2 estimators
with influence functions), ``group_time`` (ATT(g,t)), ``aggregate`` (simple, group, dynamic,
calendar), ``bootstrap`` (multiplier bootstrap), ``estimator`` (the design and its inference)
and ``auto`` (``did --design auto``)."""
