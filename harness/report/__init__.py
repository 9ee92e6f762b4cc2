"""Reports of a run, all made from its results folder (verdict.json first).

model      typed views of verdict.json and the folder's other files
console    the verdict in the terminal
html       report.html: one self-contained page (svg: the charts, page: the frame)
junit      junit.xml for CI systems
markdown   summary.md for CI step summaries and pull-request comments
schema     verdict.json's versioned JSON Schema, and ``regenerate`` for ``harness report``
compare    two runs side by side, and whether the candidate regressed
budget     error budgets and burn-rate alerts
explain    where each failed objective broke, shared by every report
series     per-second series for the charts; tail: reading the stats file as it grows
live       the live view during a run
"""
