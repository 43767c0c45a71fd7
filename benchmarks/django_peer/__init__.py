"""The peer of the benchmark's browser part (issue 16, point 2): Django admin over our own
tables, as a team would build this back office instead of Streamlit.

Unmanaged models (``models.py``) map customers, providers and payments onto the tables
``core/db/models.py`` owns; ``admin.py`` gives them ``search_fields``, ``list_filter`` by
status and provider, 25 rows a page, ``raw_id_fields`` and a paginator without COUNT.
Django's own tables (auth, sessions, admin log) live in a separate SQLite file, never in
our database (``settings.py`` routes them). Served by gunicorn (``serve.py``). Its
packages are the benchmark extra (requirements-bench.in), not the app's requirements.
"""
