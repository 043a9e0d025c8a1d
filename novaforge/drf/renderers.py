import orjson
from rest_framework import renderers


class JSONRenderer(renderers.JSONRenderer):
    """DRF's renderer, with orjson writing the compact form: a 10,000-message load is ~8 MB of JSON, which
    the standard library takes several times longer to write. The same JSON: datetimes, dataclasses and
    what orjson does not know (decimals, lazy strings) go through DRF's encoder, anything orjson refuses
    (an integer beyond 64 bits, a non-string key) falls back to DRF's rendering, and so does indented output.
    One difference: a NaN or infinite float becomes null where DRF's strict mode would fail the request."""

    OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if data is None or self.get_indent(accepted_media_type, renderer_context or {}) is not None:
            return super().render(data, accepted_media_type, renderer_context)
        try:
            body = orjson.dumps(data, default=self.encoder_class().default, option=self.OPTIONS)
        except TypeError:
            return super().render(data, accepted_media_type, renderer_context)
        # As DRF does: U+2028 and U+2029 escaped, so the output is also valid JavaScript.
        return body.replace("\u2028".encode(), b"\\u2028").replace("\u2029".encode(), b"\\u2029")
