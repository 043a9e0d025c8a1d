"""NovaForge's benchmark suite: `make bench` (full) and `make bench-quick`; see bench/__main__.py."""
