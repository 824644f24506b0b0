"""Bulk synthetic data for benchmarks (filled in by the seed-bench work)."""


def seed(tickets: int, customers: int, echo=print) -> None:
    raise NotImplementedError
