"""One import in a process of its own, so its peak memory is its own: `python -m bench.import_child
PATH USERNAME` prints {"seconds", "peak_mb", "started_mb"} as JSON (see bench.export_child)."""

import json
import sys
import time

from novaforge.standalone import ensure_django

from .export_child import peak_rss_mb


def main() -> None:
    path, username = sys.argv[1:3]
    ensure_django()
    started_mb = peak_rss_mb()
    began = time.perf_counter()
    from django.core.management import call_command

    call_command("import_sessions", path, format="chatgpt", user=username, verbosity=0)
    print(json.dumps({"seconds": time.perf_counter() - began, "peak_mb": peak_rss_mb(), "started_mb": started_mb}))


if __name__ == "__main__":
    main()
