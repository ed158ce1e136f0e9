"""Experiments: each returns plain results (numbers and arrays) that the CLI and notebooks save and plot."""
