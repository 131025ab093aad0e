"""What schemathesis cannot read from modq's OpenAPI document: the two string formats whose
grammar lives in docs/api.md. Loaded by scripts/schemathesis.sh (SCHEMATHESIS_HOOKS).

- `modq-filter`: the filter language of `q`. Random text is mostly a valid filter (plain
  words), but not always (`foo:bar` names an unknown key; a lone `"` opens a quote), so valid
  filters are drawn from the grammar instead.
- `modq-cursor`: a `next_cursor` the server made. No string the fuzzer could invent is one,
  so positive tests leave the cursor out; negative tests still send made-up cursors, which
  the server must refuse.
- `modq-image`: an intake's image, base64. The server sniffs the bytes and takes only PNG,
  JPEG, GIF or WebP (`415` otherwise), so positive tests send a real (tiny, generated) PNG.
"""

import schemathesis
from hypothesis import strategies as st

TERMS = st.sampled_from(
    [
        "spam",
        "prize",
        '"free money"',
        "cat:spam",
        "cat:hate",
        "from:@someone",
        "author:u-1",
        "reporter:user",
        "reporter:trusted_flagger",
        "lane:urgent",
        "lane:standard",
        "country:DE",
        "lang:ru",
        "prio:>50",
        "prio:>=10",
        "link:prize.example",
        "similar:post-1",
    ]
)

schemathesis.openapi.format("modq-filter", st.lists(TERMS, max_size=4).map(" ".join))
schemathesis.openapi.format("modq-cursor", st.nothing())
# A 2x2 PNG, made with zlib and struct (no image library needed here).
TINY_PNG = (
    "iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAEElEQVR4nGM4IScHRAwQCgAfJgQRoo8irwAAAABJRU5ErkJggg=="
)
schemathesis.openapi.format("modq-image", st.just(TINY_PNG))
