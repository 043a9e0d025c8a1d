"""One export in a process of its own, so its peak memory is its own: `python -m bench.export_child
{ours|limit} OUTPUT USERNAME` prints {"seconds", "peak_mb", "started_mb"} as JSON: the export's time
(after Django's start-up), the process's peak memory, and its memory once Django had started."""

import json
import resource
import sys
import time

from novaforge.standalone import ensure_django


def plain_export(output: str, username: str) -> None:
    """The limit: the same join streamed through the bare driver, the same lines written with orjson."""
    import orjson
    from django.conf import settings

    from .limit import Plain

    plain = Plain(settings.DATABASES["default"])
    query = plain.sql(
        "SELECT s.id, s.system_prompt, m.role, m.content FROM sessions_app_message m"
        " JOIN sessions_app_chatsession s ON s.id = m.session_id JOIN auth_user u ON u.id = s.owner_id"
        " WHERE u.username = ? ORDER BY m.session_id, m.seq")
    cursor = plain.connection.cursor() if plain.is_sqlite else plain.connection.cursor(name="export", withhold=True)
    cursor.execute(query, (username,))
    with open(output, "wb", buffering=1024 * 1024) as out:
        current, turns, answered = None, [], False
        for session, system_prompt, role, content in cursor:
            if session != current:
                if answered:
                    out.write(orjson.dumps({"messages": turns}) + b"\n")
                current, answered = session, False
                turns = [{"role": "system", "content": system_prompt}] if system_prompt else []
            if content and role in ("system", "user", "assistant"):
                turns.append({"role": role, "content": content})
                answered = answered or role == "assistant"
        if answered:
            out.write(orjson.dumps({"messages": turns}) + b"\n")


def peak_rss_mb() -> float:
    """This process's peak resident memory. Linux's VmHWM, not getrusage's ru_maxrss: ru_maxrss survives
    exec, so a child of the bench (which holds the corpus builder's memory when it forks) would report
    the parent's peak as its own."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    which, output, username = sys.argv[1:4]
    ensure_django()
    started_mb = peak_rss_mb()
    began = time.perf_counter()
    if which == "ours":
        from django.core.management import call_command

        call_command("export_sessions", format="jsonl", output=output, user=username, verbosity=0)
    else:
        plain_export(output, username)
    seconds = time.perf_counter() - began
    peak_mb = peak_rss_mb()
    print(json.dumps({"seconds": seconds, "peak_mb": peak_mb, "started_mb": started_mb}))


if __name__ == "__main__":
    main()
