"""The export formats, one module each. Every format turns conversations into examples (lines or blocks)."""

from .base import Format
from .csv_table import CSVFormat
from .dpo import PreferenceFormat
from .hf import HuggingFaceFormat
from .markdown import MarkdownFormat
from .openai_jsonl import OpenAIChatFormat
from .sharegpt import ShareGPTFormat

FORMATS = {
    "jsonl": OpenAIChatFormat,
    "sharegpt": ShareGPTFormat,
    "csv": CSVFormat,
    "markdown": MarkdownFormat,
    "dpo": PreferenceFormat,
    "hf": HuggingFaceFormat,
}


def get_format(name: str, *, reasoning: bool = False) -> Format:
    """A fresh format object for one export (the dpo format keeps state while pairing answers)."""
    return FORMATS[name](reasoning=reasoning)
