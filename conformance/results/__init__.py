"""Layer 6, results: one check's result, the results document (results.json), the expectations files and the
comparison of runs. May import ``core`` and ``checks`` (the registry's metadata), never the running or the
reports."""
