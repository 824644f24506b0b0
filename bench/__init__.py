"""Benchmarks and their synthetic data (bench/seed.py). Not part of the application package: the portal
imports it only in the `flask seed-bench` command."""
