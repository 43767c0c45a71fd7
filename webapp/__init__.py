"""What both web apps (the back office ``dashboard/`` and the customer's ``cabinet/``) share
below their pages: the security headers of every HTTP answer (``security``) and the escaping
of person-typed text for Streamlit's markdown (``text``). Written once, imported by both.

May import: nothing of ``core``, ``dashboard`` or ``cabinet`` (both apps import it).
"""
