"""An empty gunicorn configuration, for the benches' servers.

gunicorn reads ./gunicorn.conf.py (the production set-up, docs/deploy.md) whenever it starts
in the repository root without `--config`. The benches give every option they measure on the
command line instead, so that what docs/benchmarks.md records stays what they run.
"""
