"""Side-by-side benchmarks, one package per pillar."""
