"""From a trained model to results: load it (run, registered model or files), run it over a
dataset or loose images, score it as the benchmark does, and record what came out
(``detlab test``, ``detlab predict``, ``detlab model register``; see docs/results.md)."""
