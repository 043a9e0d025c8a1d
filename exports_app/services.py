"""Exports of chat sessions as training data, the month archive, and imports of other tools' exports.

`export_sessions` (files) and `stream_export` (an HTTP download) share one pipeline, used by the
command, the endpoint, the admin action and `LoggingSystem.export_for_training`.
"""

import hashlib
import itertools
import os
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from curation_app.models import MessageFeedback
from sessions_app import services as session_services
from sessions_app.models import ChatSession

from .archive import ARCHIVE_TURN, archive_document, archive_path, parse_archive
from .conversations import Conversation, iter_conversations, turn_type
from .formats import FORMATS, get_format
from .formats.base import Format, Skip, prompt_tokens
from .importers import (
    ImportFileError,
    IncomingConversation,
    SkippedConversation,
    parse_chatgpt,
    parse_claude,
    parse_jsonl,
)
from .models import ImportedConversation
from .redaction import redact, redact_turn

RATING_FILTERS = ("any", "positive")
# Bytes gathered before a streamed download sends a chunk.
STREAM_CHUNK_BYTES = 64 * 1024


@dataclass(frozen=True)
class ExportOptions:
    redact_pii: bool = False
    dedupe: bool | None = None  # None: the format's default (training formats dedupe, csv and markdown not)
    max_tokens: int | None = None
    validation_fraction: float = 0.0
    rating: str = "any"
    reasoning: bool = False  # include the model's thinking where the format has a place for it


@dataclass
class ExportReport:
    fmt: str
    paths: list[Path] = field(default_factory=list)
    sessions: int = 0  # sessions read
    examples: int = 0  # lines or blocks written (a dpo example is one pair)
    messages: int = 0  # messages in the written examples
    tokens: int = 0  # cl100k_base tokens of the written messages (stored counts; system prompts not counted)
    skipped: Counter = field(default_factory=Counter)  # reason -> examples or sessions left out

    def skipped_reasons(self) -> str:
        return ", ".join(f"{count} {reason}" for reason, count in self.skipped.most_common())

    def summary(self) -> str:
        skipped = sum(self.skipped.values())
        reasons = self.skipped_reasons()
        where = " and ".join(str(path) for path in self.paths) or "the response"
        return (
            f"Exported {self.examples} {self.fmt} examples from {self.sessions} sessions "
            f"({self.messages} messages, {self.tokens} message tokens) to {where}; "
            f"skipped {skipped}{f' ({reasons})' if reasons else ''}."
        )


def check_export_options(*, fmt: str, options: ExportOptions) -> None:
    """Raise ValidationError keyed by option for a combination that cannot be exported."""
    errors = {}
    if fmt not in FORMATS:
        errors["format"] = f"Unknown format {fmt!r}; choose one of {', '.join(FORMATS)}."
    if options.max_tokens is not None and options.max_tokens < 1:
        errors["max_tokens"] = "Must be 1 or more."
    if not 0 <= options.validation_fraction < 1:
        errors["validation_fraction"] = "Must be at least 0 and less than 1."
    if options.rating not in RATING_FILTERS:
        errors["rating"] = f"Choose one of {', '.join(RATING_FILTERS)}."
    elif fmt == "dpo" and options.rating == "positive":
        errors["rating"] = "dpo pairs need downvoted answers; use rating 'any'."
    if errors:
        raise ValidationError(errors)


class NothingToExport(Exception):
    """The export would hold no example; the message says why (counts of what was read and skipped)."""

    def __init__(self, message: str, report: "ExportReport"):
        super().__init__(message)
        self.report = report


def default_export_path(fmt: str, *, validation_fraction: float = 0.0) -> Path:
    """The first default name under <data dir>/training_data/ that no export holds yet.

    chat_sessions_YYYYMMDD<suffix>.<ext> (e.g. chat_sessions_20260101_dpo.jsonl) for the day's first
    export; once that is taken, the time is added (chat_sessions_20260101_143005_dpo.jsonl), then a
    counter (..._143005_2_dpo.jsonl), so a default name never replaces an earlier export.
    """
    export_format = FORMATS[fmt]
    directory = Path(settings.DATA_DIR) / "training_data"
    moment = timezone.localtime()
    day, second = moment.strftime("%Y%m%d"), moment.strftime("%Y%m%d_%H%M%S")
    for stamp in itertools.chain([day, second], (f"{second}_{n}" for n in itertools.count(2))):
        target = directory / export_filename(export_format, stamp=stamp)
        if not any(path.exists() for path in _split_paths(target, validation_fraction).values()):
            return target
    raise AssertionError("unreachable: the counter always finds a free name")


def export_filename(export_format: type[Format] | Format, *, stamp: str | None = None) -> str:
    """chat_sessions_<stamp><suffix>.<ext>; the stamp defaults to today, YYYYMMDD."""
    stamp = stamp or timezone.localdate().strftime("%Y%m%d")
    return f"chat_sessions_{stamp}{export_format.file_suffix}.{export_format.extension}"


def _split_paths(target: Path, validation_fraction: float) -> dict[str, Path]:
    """split -> file: `target` alone, or `<name>_train<ext>` and `<name>_validation<ext>` beside it."""
    if not validation_fraction:
        return {"train": target}
    return {split: target.with_name(f"{target.stem}_{split}{target.suffix}") for split in ("train", "validation")}


def _publish(partial: dict[str, Path], paths: dict[str, Path], *, overwrite: bool) -> None:
    """Move the finished files into place; without `overwrite`, never over a file that exists.

    A hard link fails when its name exists, so even a file that appeared during the export (another
    export picking the same name) is never replaced; what was already moved in this call is undone.
    """
    if overwrite:
        for split, path in paths.items():
            os.replace(partial[split], path)
        return
    published = []
    for split, path in paths.items():
        try:
            os.link(partial[split], path)
        except FileExistsError:
            for done in published:
                done.unlink()
            raise ValidationError(
                {"output": f"{path} appeared during the export; nothing was replaced, export again."}
            ) from None
        published.append(path)


def in_validation_split(split_key: str, fraction: float) -> bool:
    """Deterministic: the same key lands in the same split on every run and every machine."""
    if not fraction:
        return False
    position = int.from_bytes(hashlib.blake2b(split_key.encode(), digest_size=8).digest(), "big")
    return position < fraction * 2**64


def _positive_only_reason(conversation: Conversation) -> str | None:
    ratings = [turn.rating for turn in conversation.turns if turn.role == "assistant" and turn.rating is not None]
    if not ratings:
        return "not rated"
    if -1 in ratings:
        return "an answer rated down"
    return None


def _redacted(conversation: Conversation) -> Conversation:
    conversation.title = redact(conversation.title)
    conversation.system_prompt = redact(conversation.system_prompt)
    conversation.turns = [redact_turn(turn) for turn in conversation.turns]
    return conversation


def _examples(
    sessions, export_format: Format, options: ExportOptions, report: ExportReport, on_progress
) -> Iterator[tuple[str, bytes]]:
    """(split, body) for every example to write, counting what is written and what is skipped and why.

    Per session: rating filter, redaction, the format's own checks; per example: the token cut,
    duplicates (by the format's identity of a conversation), then the train/validation split.
    """
    seen: set[bytes] = set()
    dedupe = export_format.dedupes if options.dedupe is None else options.dedupe
    turns = turn_type(f"{export_format.name.title()}Turn", export_format.columns)
    conversations = iter_conversations(sessions, turn=turns, on_progress=on_progress, branches=export_format.branches)
    for conversation in conversations:
        report.sessions += 1
        if options.rating == "positive":
            reason = _positive_only_reason(conversation)
            if reason:
                report.skipped[reason] += 1
                continue
        if options.redact_pii:
            conversation = _redacted(conversation)
        try:
            for example in export_format.examples(conversation):
                if options.max_tokens and example.token_count + prompt_tokens(example.system_prompt) > options.max_tokens:
                    report.skipped[f"over {options.max_tokens} tokens"] += 1
                    continue
                if dedupe:
                    if example.identity in seen:
                        report.skipped["duplicate"] += 1
                        continue
                    seen.add(example.identity)
                report.examples += 1
                report.messages += example.message_count
                report.tokens += example.token_count
                split = "validation" if in_validation_split(example.split_key, options.validation_fraction) else "train"
                yield split, example.body
        except Skip as skip:
            report.skipped[str(skip)] += 1
    report.skipped.update(export_format.leftovers())


def nothing_to_export(export_format: Format, report: ExportReport) -> NothingToExport:
    """The error for an export that produced no example, saying why in counts."""
    if not report.sessions:
        why = "no sessions selected"
    else:
        why = f"{export_format.empty_reason() or f'no {export_format.name} examples'}, from {report.sessions} sessions read"
        if report.skipped:
            why += f" (skipped: {report.skipped_reasons()})"
    return NothingToExport(f"Nothing to export as {export_format.name}: {why}.", report)


def export_sessions(
    *,
    sessions,
    fmt: str,
    output: Path | str | None = None,
    overwrite: bool = False,
    on_progress: Callable[[int], None] | None = None,
    **options,
) -> ExportReport:
    """Write the sessions of queryset `sessions` as `fmt` to `output` (default under <data dir>/training_data/).

    With `validation_fraction` the examples go to two files, `<name>_train<ext>` and
    `<name>_validation<ext>`. Files appear complete or not at all (written aside, then renamed).
    No existing file is replaced: the default name is a free one (see default_export_path), and an
    `output` that exists is a ValidationError unless `overwrite`. An export with no example writes
    nothing and raises NothingToExport. `on_progress(n)` is called with the number of messages read,
    session by session.
    """
    export_options = ExportOptions(**options)
    check_export_options(fmt=fmt, options=export_options)
    export_format = get_format(fmt, reasoning=export_options.reasoning)
    if output:
        paths = _split_paths(Path(output), export_options.validation_fraction)
        taken = [str(path) for path in paths.values() if path.exists()]
        if taken and not overwrite:
            raise ValidationError(
                {"output": f"{' and '.join(taken)} exists already; choose another path, or replace it with --overwrite."}
            )
    else:
        paths = _split_paths(
            default_export_path(fmt, validation_fraction=export_options.validation_fraction),
            export_options.validation_fraction,
        )
    report = ExportReport(fmt=fmt, paths=list(paths.values()))
    partial = {split: path.with_name(f".{path.name}.partial") for split, path in paths.items()}
    files = {}
    try:
        for split, path in partial.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            files[split] = open(path, "wb", buffering=1024 * 1024)  # noqa: SIM115 (closed below)
            files[split].write(export_format.header())
        for split, body in _examples(sessions, export_format, export_options, report, on_progress):
            files[split].write(body)
        for handle in files.values():
            handle.close()
        if not report.examples:
            raise nothing_to_export(export_format, report)
        _publish(partial, paths, overwrite=overwrite)
    finally:
        for split, handle in files.items():
            handle.close()
            partial[split].unlink(missing_ok=True)
    return report


def stream_export(*, sessions, fmt: str, **options) -> tuple[Format, Iterator[bytes]]:
    """The export of `sessions` as `fmt`, as chunks of one file for a download (no validation split).

    Reads until the first example before returning, so an export with none raises NothingToExport
    while an error answer can still be sent.
    """
    export_options = ExportOptions(**options)
    check_export_options(fmt=fmt, options=export_options)
    if export_options.validation_fraction:
        raise ValidationError({"validation_fraction": "A download is one file; export with the command to split."})
    export_format = get_format(fmt, reasoning=export_options.reasoning)
    report = ExportReport(fmt=fmt)
    examples = _examples(sessions, export_format, export_options, report, None)
    first = next(examples, None)
    if first is None:
        raise nothing_to_export(export_format, report)

    def chunks() -> Iterator[bytes]:
        pending = [export_format.header()]
        size = len(pending[0])
        for _split, body in itertools.chain([first], examples):
            pending.append(body)
            size += len(body)
            if size >= STREAM_CHUNK_BYTES:
                yield b"".join(pending)
                pending, size = [], 0
        yield b"".join(pending)

    return export_format, chunks()


# The month archive --------------------------------------------------------------------------------


@dataclass
class ArchiveReport:
    directory: Path
    written: int = 0
    unchanged: int = 0

    def summary(self) -> str:
        return f"Archived {self.written + self.unchanged} sessions to {self.directory}: {self.written} written, {self.unchanged} unchanged."


def archive_sessions(
    *, sessions, output_dir: Path | str | None = None, on_progress: Callable[[int], None] | None = None
) -> ArchiveReport:
    """Write each session of `sessions` to <dir>/YYYY-MM/<session_id>.json (default dir: <data dir>/sessions).

    Safe to rerun: a file whose content would not change is left alone, and a changed one is
    replaced whole (written aside, then renamed), so a reader never sees half a file.
    """
    directory = Path(output_dir) if output_dir else Path(settings.DATA_DIR) / "sessions"
    report = ArchiveReport(directory=directory)
    for conversation in iter_conversations(sessions, turn=ARCHIVE_TURN, on_progress=on_progress):
        path = archive_path(directory, conversation)
        document = archive_document(conversation)
        if path.exists() and path.read_bytes() == document:
            report.unchanged += 1
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.partial")
        partial.write_bytes(document)
        os.replace(partial, path)
        report.written += 1
    return report


# Imports ------------------------------------------------------------------------------------------

PARSERS = {"archive": parse_archive, "chatgpt": parse_chatgpt, "claude": parse_claude, "jsonl": parse_jsonl}


def export_for_python_api(*, sessions, fmt: str, **options) -> str:
    """LoggingSystem.export_for_training: the export's (first) file, as a path string."""
    return str(export_sessions(sessions=sessions, fmt=fmt, **options).paths[0])


def archive_for_retention(sender, *, session: ChatSession, **kwargs) -> None:
    """Retention's request to archive `session` before deleting it (curation_app's archive_requested)."""
    archive_sessions(sessions=ChatSession.objects.filter(pk=session.pk))


@dataclass
class ImportReport:
    sessions: int = 0  # new sessions
    messages: int = 0  # messages stored, in new sessions and grown ones
    grown: int = 0  # conversations imported before that gained messages or moved their active branch
    already_imported: int = 0  # conversations imported before, unchanged
    empty: int = 0  # conversations with no visible message, not imported
    unknown_blocks: int = 0  # blocks of a type we do not know, kept as "unknown" parts
    skipped: list[SkippedConversation] = field(default_factory=list)

    def summary(self) -> str:
        text = (
            f"Imported {self.sessions} sessions ({self.messages} messages); {self.grown} imported before had grown "
            f"and were brought up to date, {self.already_imported} imported before were left alone, "
            f"{self.empty} empty were skipped."
        )
        if self.unknown_blocks:
            text += f" {self.unknown_blocks} blocks of unknown types were kept as 'unknown' parts."
        if self.skipped:
            text += f" Skipped {len(self.skipped)} invalid: " + "; ".join(map(str, self.skipped)) + "."
        return text


def import_sessions(
    *, path: Path | str, fmt: str, owner=None, strict: bool = False, on_progress: Callable[[int], None] | None = None
) -> ImportReport:
    """Store the conversations of the export at `path` for `owner`; each invalid one is skipped and named
    in the report (with `strict`, one invalid conversation imports nothing).

    1. Read the file as a stream, one conversation at a time: a file that is not JSON raises
       ImportFileError naming where, and the one transaction leaves nothing behind.
    2. Store each conversation in a savepoint of its own: a new one starts a session; one imported
       before (ImportedConversation) gains the messages it has not seen, by message id, and its active
       branch moves to the export's. Messages go through sessions_app.services, as history.
    3. An archive restores its session exactly (id, times, feedback, active branch) under its recorded
       owner unless `owner` is given. A conversation from another source is history: it ended, and was
       last active, at its last message. consolidate_memory builds the episodes of ended sessions.
    """
    report = ImportReport()
    owners = _Owners(owner)
    with transaction.atomic():
        for conversation in PARSERS[fmt](Path(path), on_progress=on_progress):
            if isinstance(conversation, SkippedConversation):
                if strict:
                    raise ImportFileError(f"{path}: {conversation} (--strict imports nothing when one is invalid)")
                report.skipped.append(conversation)
                continue
            try:
                with transaction.atomic():
                    _import_conversation(conversation, fmt=fmt, owner=owners.of(conversation), report=report)
            except ValidationError as error:
                # The write path refused it (a tool result answering no call on its branch, ...).
                skipped = SkippedConversation(where="conversation", external_id=conversation.external_id, reason="; ".join(error.messages))
                if strict:
                    raise ImportFileError(f"{path}: {skipped} (--strict imports nothing when one is invalid)") from None
                report.skipped.append(skipped)
    return report


class _Owners:
    """The owner of each conversation: the one given, or an archive's recorded owner, looked up once."""

    def __init__(self, owner):
        self.owner, self.known = owner, {}

    def of(self, conversation: IncomingConversation):
        if self.owner is not None:
            return self.owner
        if conversation.owner not in self.known:
            user = get_user_model().objects.filter(username=conversation.owner).first()
            if user is None:
                raise ImportFileError(f"No user {conversation.owner}; create them or pass --user.")
            self.known[conversation.owner] = user
        return self.known[conversation.owner]


def _import_conversation(conversation: IncomingConversation, *, fmt: str, owner, report: ImportReport) -> None:
    if fmt == "archive":
        if ChatSession.objects.filter(session_id=conversation.session_id).exists():
            report.already_imported += 1
        else:
            _restore_archived(conversation, owner=owner, report=report)
        return
    report.unknown_blocks += conversation.unknown_blocks
    record = (
        ImportedConversation.objects.filter(owner=owner, source=fmt, external_id=conversation.external_id)
        .select_related("session")
        .first()
    )
    if record is not None and conversation.parents is None:
        report.already_imported += 1  # a JSONL line is its own id: seen once, seen whole
    elif record is not None:
        _grow(record.session, conversation, report)
    elif not conversation.messages:
        report.empty += 1
    else:
        session = _start_session_of(conversation, owner=owner)
        ImportedConversation.objects.create(owner=owner, session=session, source=fmt, external_id=conversation.external_id)
        report.messages += _append_tree(session, conversation, known={})[0]
        report.sessions += 1


def _grow(session: ChatSession, conversation: IncomingConversation, report: ImportReport) -> None:
    """Add what a conversation imported before has gained; an unchanged one is left alone."""
    known = dict(session.messages.filter(message_id__isnull=False).values_list("message_id", "seq"))
    added, moved = _append_tree(session, conversation, known=known)
    if added or moved:
        report.grown += 1
        report.messages += added
    else:
        report.already_imported += 1


def _append_tree(session: ChatSession, conversation: IncomingConversation, *, known: dict[str, int]) -> tuple[int, bool]:
    """Append the messages of `conversation` not in `known` (message_id -> seq), each under its parent,
    then make the export's active branch the session's; return how many were stored and whether the
    active branch moved.

    Seqs are given in append order, so each new message's seq, and so its parent's, is known before
    the append: the whole conversation goes in one call.
    """
    # The session's last activity so far: its start, or the end an earlier import gave it.
    last_at = max(filter(None, [session.started_at, session.ended_at]))
    seqs, next_seq, fresh = dict(known), session.message_count + 1, []
    for message in conversation.messages:
        if message.message_id is not None and message.message_id in seqs:
            continue
        if conversation.parents is not None:
            parent = conversation.parents.get(message.message_id)
            message = replace(message, parent_seq=seqs[parent] if parent is not None else None)
        fresh.append(message)
        seqs[message.message_id] = next_seq
        next_seq += 1
    if fresh:
        # The session ended at its last message and append_messages takes no message after an end;
        # the import ends it again at its new last message, in the same transaction.
        ChatSession.objects.filter(pk=session.pk).update(ended_at=None)
        appended = session_services.append_messages(session=session, messages=fresh, live=False)
        session = appended.session
        last_at = max(last_at, *(row.created_at for row in appended.messages))
    leaf = seqs.get(conversation.current)
    moved = bool(leaf) and leaf != session.current_seq
    if moved:
        session_services.update_session(session=session, current_seq=leaf)
    if fresh or moved:
        _end_as_history(session, last_at)
    return len(fresh), moved


def _start_session_of(conversation: IncomingConversation, *, owner, session_id: str | None = None):
    return session_services.start_session(
        owner=owner,
        title=conversation.title,
        system_prompt=conversation.system_prompt,
        metadata=conversation.metadata,
        tools=conversation.tools,
        started_at=conversation.started_at,
        session_id=session_id,
    )


def _restore_archived(conversation: IncomingConversation, *, owner, report: ImportReport) -> None:
    session = _start_session_of(conversation, owner=owner, session_id=conversation.session_id)
    # A restored archive that was still open is live again.
    live = conversation.ended_at is None
    stored = session_services.append_messages(session=session, messages=conversation.messages, live=live).messages
    _restore_archived_fields(session, conversation, stored)
    report.sessions += 1
    report.messages += len(stored)


def _end_as_history(session: ChatSession, last_at) -> None:
    """An imported conversation ended, and was last active, when its last message was written (`last_at`)."""
    # A plain update, as for an archive: the session did not end now, so nothing that reacts to a
    # session ending now should run; consolidate_memory builds its episode.
    ChatSession.objects.filter(pk=session.pk).update(updated_at=last_at, ended_at=last_at)


def _restore_archived_fields(session: ChatSession, conversation: IncomingConversation, stored) -> None:
    """What the write path sets to 'now' or leaves out: last activity, end, mode, active branch, feedback."""
    by_seq = {message.seq: message for message in stored}
    MessageFeedback.objects.bulk_create(
        MessageFeedback(message=by_seq[seq], **fields) for seq, fields in conversation.feedback.items()
    )
    changes = {}
    if conversation.current_seq is not None and conversation.current_seq != len(stored):
        if conversation.current_seq not in by_seq:
            raise ImportFileError(f"Session {conversation.session_id}: current_seq {conversation.current_seq} is not one of its messages")
        changes = {"current_seq": conversation.current_seq, "is_branched": True}
    # A plain update, not end_session(): the session ended at its archived time, and nothing that
    # reacts to a session ending now should run for a restore.
    ChatSession.objects.filter(pk=session.pk).update(
        updated_at=conversation.updated_at, ended_at=conversation.ended_at, mode=conversation.mode, **changes
    )
