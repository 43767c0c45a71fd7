"""Person-typed text made safe for Streamlit's markdown, the same in both apps."""
from __future__ import annotations

import re
import string

_MARKDOWN_ESCAPES = str.maketrans({c: "\\" + c for c in string.punctuation})


# GFM still turns «http://…», «www.…» and «a@b.ru» into links after the escapes are
# read; an invisible word joiner inside each trigger stops it.
_AUTOLINK = re.compile(r"(?i)(https?|ftp|www|mailto)(?=\\[:.])|(?=\\@)")
WORD_JOINER = "\u2060"


def plain(text: object) -> str:
    """Text that came from a person (a name, a reason, an address, a note), made safe
    for the elements that render markdown (st.markdown, st.warning, st.table cells,
    labels): every ASCII punctuation mark is backslash-escaped, which CommonMark allows
    for each of them, and autolinks are broken by an invisible word joiner. So an image
    (a tracking pixel), a link, an address or e-mail that would become a link,
    emphasis, HTML, «:material/…:» icons and «$…$» formulas all show as the characters
    that were typed."""
    escaped = str(text).translate(_MARKDOWN_ESCAPES)
    return _AUTOLINK.sub(lambda m: (m.group(1) or "") + WORD_JOINER, escaped)
