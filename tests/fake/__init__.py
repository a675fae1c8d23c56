"""A fake GLM-4.5V provider for end-to-end tests, in three parts with one job each:

* :mod:`tests.fake.dialects`: what each provider accepts and the shape of its answers;
* :mod:`tests.fake.model`: what the fake model answers, computed from what it is sent (frames,
  questions with evidence, consolidation data);
* :mod:`tests.fake.server`: the loopback HTTP server, its scripted faults and streams.

``tests.fake_provider`` re-exports the names tests import.
"""
