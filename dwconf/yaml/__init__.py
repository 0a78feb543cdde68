"""Reading YAML: bytes and a display name in, a document with positions and diagnostics out.

    with Reader.opened() as reader:          # one per command: the parse cache is opened once
        document, diagnostics = reader.read(raw, "solutions/x/maps/a.yaml")
    document, diagnostics = read(raw, display)   # one file on its own, no cache
    load_plain(text)                         # trusted package data: plain values

Inside, and nobody else's business: a compiled YAML 1.2 parser reads most files fast (fast.py),
PyYAML reads the rest with every value's position (careful.py) and works positions out for
the others when a diagnostic needs them (document.py), and the fast reader's data is
remembered by file content (cache.py). The careful reader decides: where the two disagree, its
reading is the one used (document.Disagreement).
"""

from dwconf.yaml.careful import TEMPLATE_MARKERS, YamlPath
from dwconf.yaml.document import Disagreement, Document
from dwconf.yaml.reader import MAX_FILE_BYTES, Read, Reader, load_plain, read, too_large

__all__ = [
    "MAX_FILE_BYTES",
    "TEMPLATE_MARKERS",
    "Disagreement",
    "Document",
    "Read",
    "Reader",
    "YamlPath",
    "load_plain",
    "read",
    "too_large",
]
