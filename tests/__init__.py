"""berth's Python tests, stand-in and benches, one package: each file has one module name
(`tests.standin.ecs_sim`, `tests.e2e.harness`, ...) whether pytest collects it, a bench runs as
`python -m tests.bench.rollout`, the stand-in as `python -m tests.standin.server`, or mypy checks it."""
