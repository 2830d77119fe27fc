"""`ci-reviewer eval`: review quality on golden-comment datasets (precision, recall, F1,
cost and time), measured with the real review engine and an LLM judge."""
