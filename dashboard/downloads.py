"""Downloads of files we prepared, and how long Streamlit keeps them.

Streamlit serves a download button's file from ``/media/<id>`` to anyone holding the
URL: that route knows nothing of our login. So a file goes there only when its button
is clicked, and leaves as soon as nothing shows the button any more.
"""
from __future__ import annotations

import streamlit as st


def download(label: str, data: bytes, file_name: str, mime: str, *, key: str,
             container: object = st) -> None:
    """A download of a file we prepared (and journaled). The button holds a callable,
    not the file: Streamlit puts the file at a /media URL (which answers without our
    login) only when the button is clicked, and drops it once nothing shows the button
    (at the latest two script runs later; at once after a logout, see
    ``purge_downloads``)."""
    button = container.download_button  # type: ignore[attr-defined]
    button(label, lambda: data, file_name=file_name, mime=mime, key=key, on_click="ignore")


def purge_downloads() -> None:
    """Delete every file no session shows any more from Streamlit's media store now,
    rather than after two more script runs: after a logout the last member's exports
    must not be fetchable from /media by anyone who kept the link. Streamlit offers no
    per-session call; files other sessions still show are referenced and stay."""
    from streamlit import runtime

    if not runtime.exists():  # a bare script run (tests without a server)
        return
    media = runtime.get_instance().media_file_mgr
    media.remove_orphaned_files()  # marks a download nobody shows…
    media.remove_orphaned_files()  # …and deletes it
