"""Personal-data detection and masking for French and English review texts.

Importing this package empties ``TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS`` before any Presidio module
is imported: Presidio's email recognizer builds a ``tldextract`` extractor at import time, and with
the default setting that extractor downloads the public suffix list. Empty, it uses the copy
bundled with ``tldextract`` and makes no network call.
"""

import os

os.environ["TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS"] = ""

from governance.pii.config import (  # noqa: E402
    ENCRYPTION_KEY_ENV,
    PSEUDONYM_KEY_ENV,
    PiiConfig,
)
from governance.pii.engine import PiiEngine  # noqa: E402
from governance.pii.operators import decrypt_text, decrypt_value  # noqa: E402
from governance.pii.types import Detection, MaskResult  # noqa: E402

__all__ = [
    "ENCRYPTION_KEY_ENV",
    "PSEUDONYM_KEY_ENV",
    "Detection",
    "MaskResult",
    "PiiConfig",
    "PiiEngine",
    "decrypt_text",
    "decrypt_value",
]
