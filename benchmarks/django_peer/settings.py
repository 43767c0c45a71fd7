"""Settings in code, from the environment ``serve.py`` sets: PEER_DATABASE_URL (our database,
the SQLAlchemy URL the suite uses: sqlite:///… or postgresql+psycopg://…), PEER_AUTH_DB
(the SQLite file of Django's own tables), PEER_SECRET_KEY."""
from __future__ import annotations

import os

from sqlalchemy.engine import make_url


def _ours(url: str) -> dict[str, object]:
    parsed = make_url(url)
    # Connections are kept (the dashboard keeps its engine's pool too).
    if parsed.get_backend_name() == "sqlite":
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": parsed.database,
                "CONN_MAX_AGE": None}
    return {"ENGINE": "django.db.backends.postgresql", "NAME": parsed.database,
            "USER": parsed.username or "", "PASSWORD": parsed.password or "",
            "HOST": parsed.host or "", "PORT": str(parsed.port or ""), "CONN_MAX_AGE": None}


DEBUG = False
SECRET_KEY = os.environ.get("PEER_SECRET_KEY", "bench-peer-" + "x" * 40)
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
INSTALLED_APPS = [
    "django.contrib.admin", "django.contrib.auth", "django.contrib.contenttypes",
    "django.contrib.sessions", "django.contrib.messages", "django.contrib.staticfiles",
    "benchmarks.django_peer",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
ROOT_URLCONF = "benchmarks.django_peer.urls"
TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True,
    "OPTIONS": {"context_processors": [
        "django.template.context_processors.request", "django.contrib.auth.context_processors.auth",
        "django.contrib.messages.context_processors.messages"]},
}]
WSGI_APPLICATION = "benchmarks.django_peer.wsgi.application"
DATABASES = {
    "default": {"ENGINE": "django.db.backends.sqlite3",
                "NAME": os.environ.get("PEER_AUTH_DB", "peer-auth.sqlite3"), "CONN_MAX_AGE": None},
    "ours": _ours(os.environ.get("PEER_DATABASE_URL", "sqlite:///data/app.db")),
}
DATABASE_ROUTERS = ["benchmarks.django_peer.routers.OursRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LANGUAGE_CODE = "ru"
TIME_ZONE = "Europe/Moscow"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
