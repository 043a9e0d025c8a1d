"""Large inline data in content parts (base64 images, audio, files) is stored once, by the SHA-256 of
its text, in the Blob table, and each message keeps a reference where the data was. Reads put the data
back exactly as it came."""

import hashlib
import re
from collections.abc import Iterable

from .models import Blob

# Shorter strings stay in the message row: a blob costs a row and a lookup of its own.
BLOB_MIN_CHARS = 1024
DATA_URL = re.compile(r"data:(?P<media_type>[\w.+-]+/[\w.+-]+)?(?P<params>(?:;[^,;]*)*?)(?P<base64>;base64)?,")
# Where content-part types hold their payload: a part {"type": T, T: {...}} keeps its fields under T.
TEXT_FIELDS = {"text", "type"}


def store_parts(parts: list) -> tuple[list, list | None, dict[str, str]]:
    """`parts` with every long string replaced by its hash; the references (part, path, sha256, media
    type, size, name) to keep beside them; and the blobs to store, {sha256: data}."""
    stored, references, data = [], [], {}
    for index, part in enumerate(parts):
        if not isinstance(part, dict):
            stored.append(part)
            continue
        part = dict(part)
        for path, value in _long_strings(part):
            sha256 = hashlib.sha256(value.encode()).hexdigest()
            data[sha256] = value
            _copy_path(part, path)  # never change the caller's nested object
            _set(part, path, sha256)
            references.append({"part": index, "path": list(path), "sha256": sha256, **_described(part, path, value)})
        stored.append(part)
    return stored, references or None, data


def save(blobs: dict[str, str]) -> None:
    """Store the blobs not stored yet (inside the caller's transaction)."""
    if blobs:
        Blob.objects.bulk_create([Blob(sha256=sha, data=value) for sha, value in blobs.items()], ignore_conflicts=True)


def restore(rows: Iterable[dict]) -> None:
    """Put the data back into the `parts` of message rows (dicts with parts and part_blobs), in place,
    reading every blob they name in one query."""
    rows = [row for row in rows if row.get("part_blobs")]
    if not rows:
        return
    wanted = {reference["sha256"] for row in rows for reference in row["part_blobs"]}
    found = dict(Blob.objects.filter(sha256__in=wanted).values_list("sha256", "data"))
    for row in rows:
        parts = [dict(part) if isinstance(part, dict) else part for part in row["parts"]]
        for reference in row["part_blobs"]:
            part = parts[reference["part"]]
            _copy_path(part, reference["path"])
            _set(part, reference["path"], found[reference["sha256"]])
        row["parts"] = parts


def _long_strings(part: dict) -> list[tuple[tuple[str, ...], str]]:
    """(path, value) of each long string of `part`, at its top level or in its typed object."""
    found = []
    for key, value in part.items():
        if key in TEXT_FIELDS:
            continue
        if isinstance(value, str) and len(value) >= BLOB_MIN_CHARS:
            found.append(((key,), value))
        elif isinstance(value, dict):
            found += [
                ((key, inner), nested)
                for inner, nested in value.items()
                if isinstance(nested, str) and len(nested) >= BLOB_MIN_CHARS
            ]
    return found


def _described(part: dict, path: tuple[str, ...], value: str) -> dict:
    """Media type, size in bytes and file name of the data at `path`, as far as the part says."""
    holder = part.get(path[0]) if len(path) > 1 else part
    media_type, size = None, len(value.encode())
    match = DATA_URL.match(value)
    if match:
        media_type = match["media_type"]
        payload = value[match.end() :]
        size = len(payload) * 3 // 4 - payload[-2:].count("=") if match["base64"] else len(payload.encode())
    elif isinstance(holder, dict) and isinstance(holder.get("format"), str):
        media_type = f"audio/{holder['format']}"  # input_audio: raw base64 with its format beside it
        size = len(value) * 3 // 4 - value[-2:].count("=")
    name = None
    if isinstance(holder, dict):
        name = holder.get("filename") or holder.get("name")
    return {"media_type": media_type, "size": size, "name": name if isinstance(name, str) else None}


def _set(part: dict, path, value) -> None:
    if len(path) == 1:
        part[path[0]] = value
    else:
        part[path[0]][path[1]] = value


def _copy_path(part: dict, path) -> None:
    """Copy the nested object on `path` so that restoring never changes a shared stored value."""
    if len(path) > 1:
        part[path[0]] = dict(part[path[0]])
