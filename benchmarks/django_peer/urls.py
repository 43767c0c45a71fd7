from __future__ import annotations

from django.contrib import admin
from django.contrib.staticfiles.views import serve
from django.urls import path, re_path

urlpatterns = [
    path("admin/", admin.site.urls),
    # The admin's CSS and JS from the app itself (a deployment puts them behind nginx);
    # the browser caches them, so warm views do not fetch them again.
    re_path(r"^static/(?P<path>.*)$", serve, {"insecure": True}),
]
