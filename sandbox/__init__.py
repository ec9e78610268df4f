"""Tooling around the product: the Bot API emulator (tests, benchmarks) and the training sandbox."""
