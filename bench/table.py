"""The results table: ours, the limit and the peer side by side, ratios against the issue's targets."""

from dataclasses import dataclass, field

from .peer import NOT_INSTALLED

PEER_KEYS = ("peer", "peer_pragmas")


@dataclass
class Line:
    """One measured line. Figures are per second (higher is better) or milliseconds (lower is better).

    `ratios` hold how many times faster ours is than each other column (>1: ours is faster), as the median
    of the ratios of rounds run back to back; `targets` the issue's lower bound for each ratio, and for
    "ours" an upper bound in the line's unit (a latency budget).
    """

    group: str
    name: str
    unit: str
    ours: float | str | None
    limit: float | str | None = None
    peer: float | str | None = None
    peer_pragmas: float | str | None = None
    ratios: dict = field(default_factory=dict)
    targets: dict = field(default_factory=dict)
    note: str = ""

    def verdicts(self) -> dict:
        verdict = {}
        for key, bound in self.targets.items():
            if key == "ours":
                if isinstance(self.ours, float):
                    verdict[key] = self.ours < bound
            elif isinstance(self.ratios.get(key), float):
                verdict[key] = self.ratios[key] >= bound
        return verdict


def _figure(value, unit: str) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    if unit == "ms":
        return f"{value:,.1f} ms" if value < 100 else f"{value:,.0f} ms"
    return f"{value:,.0f} {unit}"


def _ratio(line: Line, key: str) -> str:
    ratio = line.ratios.get(key)
    if ratio is None:
        return "—"
    text = f"{ratio:.2f}x"
    if key in line.verdicts():
        passed = line.verdicts()[key]
        text += f" (≥ {line.targets[key]:g}x {'PASS' if passed else 'MISS'})"
    return text


def _ours(line: Line) -> str:
    text = _figure(line.ours, line.unit)
    if "ours" in line.targets and "ours" in line.verdicts():
        passed = line.verdicts()["ours"]
        text += f" (< {line.targets['ours']:g} {line.unit} {'PASS' if passed else 'MISS'})"
    return text


HEADER = (
    "| line | ours | limit | ours vs limit | LangChain as installed | ours vs it "
    "| LangChain with our PRAGMAs | ours vs it |\n|---|---|---|---|---|---|---|---|"
)


def render(lines: list[Line]) -> str:
    rows = [HEADER]
    group = None
    for line in lines:
        if line.group != group:
            group = line.group
            rows.append(f"| **{group}** | | | | | | | |")
        rows.append(
            f"| {line.name} | {_ours(line)} | {_figure(line.limit, line.unit)} | {_ratio(line, 'limit')} "
            f"| {_figure(line.peer, line.unit)} | {_ratio(line, 'peer')} "
            f"| {_figure(line.peer_pragmas, line.unit)} | {_ratio(line, 'peer_pragmas')} |"
        )
    notes = [f"- {line.name}: {line.note}" for line in lines if line.note]
    return "\n".join(rows) + ("\n\nNotes:\n" + "\n".join(notes) if notes else "") + "\n"


def summary(lines: list[Line]) -> tuple[int, int]:
    """How many targets passed and how many were checked."""
    verdicts = [passed for line in lines for passed in line.verdicts().values()]
    return sum(verdicts), len(verdicts)


__all__ = ["Line", "render", "summary", "NOT_INSTALLED"]
