"""Schemathesis hooks for the gateway's OpenAPI document (SCHEMATHESIS_HOOKS).

The HL7 v2 media types are text: send generated strings as they are, like
text/plain. Without these aliases schemathesis cannot serialize a body for
application/hl7-v2 and would test /v1/hl7 only as text/plain.
"""

import schemathesis

schemathesis.serializer.alias(["application/hl7-v2", "x-application/hl7-v2+er7"], "text/plain")


@schemathesis.deserializer("application/hl7-v2")
def hl7_text(ctx, response):
    """An HL7 v2 answer as text, for its schema; ISO 8859-1 maps every byte."""
    return response.content.decode("latin-1")
