"""The customer's personal cabinet: a second Streamlit app over the same core, the screens of
the manual (``../shared/seed``) in its words. Pages (``views/``) read and write only through
``core.customer_api`` (the customer facade) and format with the ground floor's ``core.money``
and ``core.timefmt``; the session (``session``) and the demo's panel (``widgets``, through
``core.demo.inbox``) are the only other doors. Served by ``server.py`` with the back office's
security headers (``webapp``)."""
