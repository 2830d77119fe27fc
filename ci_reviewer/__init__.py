"""Claude in CI: blocking pre-merge review (sync) and scheduled work (Message Batches)."""

__version__ = "0.1.0"
