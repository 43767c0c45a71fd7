from __future__ import annotations

from django.apps import AppConfig


class PeerConfig(AppConfig):
    name = "benchmarks.django_peer"
    label = "django_peer"
    verbose_name = "Бэк-офис (Django admin)"
