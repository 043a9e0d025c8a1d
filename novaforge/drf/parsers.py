from rest_framework import exceptions, parsers


class JSONParser(parsers.JSONParser):
    """DRF's parser, with JSON nested too deeply to parse answered as a 400 rather than a 500."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError("JSON parse error - nested too deeply.") from None
