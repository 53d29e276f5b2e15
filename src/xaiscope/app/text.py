"""User-controlled text shown in the page as plain text, never as Markdown or HTML.

File names, DICOM attributes, model-card texts and manifest descriptions come from whoever made the file. Streamlit
renders the body of ``st.caption``, ``st.error``, ``st.info``, ``st.subheader`` and metric labels as Markdown (with
GitHub's extensions, LaTeX and its own colour directives), so such text is passed through :func:`plain` first. It
backslash-escapes every character that can start a link, an image, HTML, emphasis, code, a heading, a table, LaTeX
or a ``:red[...]`` directive (``\\ ` * _ [ ] < > # ~ | $ : @``), and the ``.`` of ``www.`` (GitHub's bare
autolinks), so the text is shown exactly as written and nothing in it is live. Ordinary punctuation (``. , ( ) -``)
is left alone, so the message stays readable in the page's source.
"""

from __future__ import annotations

import re

_MARKUP = re.compile(r"([\\`*_\[\]<>#~|$:@])")
_WWW = re.compile(r"(?i)(www)\.")


def plain(text: object) -> str:
    """``text`` escaped for a Markdown body, so Streamlit shows it exactly as written.

    For example ``**x** [click](http://e.x)`` becomes ``\\*\\*x\\*\\* \\[click\\](http\\://e.x)``.
    """
    return _WWW.sub(r"\1\\.", _MARKUP.sub(r"\\\1", str(text)))
