"""braze_async's benchmarks: ``python -m benchmarks [--quick]`` (or ``nox -s bench``).

Every figure is a ratio against a baseline measured in the same run, because this machine is
shared and noisy; absolute times are printed but never asserted.
"""
