"""What both web apps (the back office ``dashboard/`` and the customer's ``cabinet/``) share
below their pages: the security headers of every HTTP answer (``security``), the login
steps' widget code named in the HTML page (``preload``), the escaping of person-typed text
for Streamlit's markdown (``text``) and the entry scripts' run counter (``script_runs``).
Written once, imported by both.

May import: nothing of ``core``, ``dashboard`` or ``cabinet`` (both apps import it).
"""
