"""What every API endpoint shares, one module each: pagination, the JSON parser and renderer, the
exception handler, the schema hook and the throttles (named in settings.REST_FRAMEWORK)."""
