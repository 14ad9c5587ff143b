"""schemathesis hooks for the crm API (loaded through `hooks = "hooks.py"` in schemathesis.toml).

Idempotency-Key: the API answers 422 `idempotency_key_reused` when a key comes
back with a different body (as the IETF Idempotency-Key draft says). Hypothesis
draws the same short strings ("0", "00") again and again, so a schema-valid
request looks "rejected". A fresh UUID per generated case keeps the header's
positive tests meaningful; invalid values (empty / too long / non-ASCII) are
left alone for the negative tests.

This is done at generation time (map_headers). Editing case.headers in
`before_call` makes schemathesis revalidate the case, which flips a "missing
required header" case to positive and sends the header after all (a false
"missing header accepted").
"""
import re
import uuid

import schemathesis

# The documented Idempotency-Key schema: 1..255 visible ASCII characters.
_KEY = re.compile(r"[\t\x20-\x7e]*[\x21-\x7e][\t\x20-\x7e]*")


def _valid_key(value):
    return isinstance(value, str) and len(value) <= 255 and _KEY.fullmatch(value) is not None


@schemathesis.hook
def map_headers(context, headers):
    if not headers:
        return headers
    for name in list(headers):
        if name.lower() == "idempotency-key" and _valid_key(headers[name]):
            headers = {**headers, name: str(uuid.uuid4())}
    return headers
