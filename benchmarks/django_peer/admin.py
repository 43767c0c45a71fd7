"""Django admin as a team would set it up for this back office: 25 rows a page, search by
phone, e-mail and payment number (``__exact``, so the columns' unique indexes serve them, as
ours: the admin's ``=field`` is ``iexact``, a LIKE or UPPER() that reads every customer),
filters by status (choices: no DISTINCT over the payments) and provider, raw ids for the
customer, and no COUNT of the whole table per page."""
from __future__ import annotations

from functools import cached_property

from django.contrib import admin
from django.core.paginator import Paginator

from benchmarks.django_peer.models import Customer, Payment, Provider

UNCOUNTED = 10**9


class NoCountPaginator(Paginator):
    """The usual fix of the admin over a big table: no ``SELECT COUNT(*)`` per page; the
    page says there are always more (our pages count up to a cap instead)."""

    @cached_property
    def count(self) -> int:
        return UNCOUNTED


class Fast(admin.ModelAdmin):
    list_per_page = 25
    show_full_result_count = False
    paginator = NoCountPaginator


@admin.register(Customer)
class CustomerAdmin(Fast):
    list_display = ("id", "surname", "first_name", "patronymic", "phone", "email",
                    "registered_at")
    search_fields = ("phone__exact", "email__exact")
    ordering = ("-registered_at",)


@admin.register(Payment)
class PaymentAdmin(Fast):
    list_display = ("id", "created_at", "status", "provider", "account_number", "amount",
                    "commission", "masked_pan")
    list_filter = ("status", "provider")
    search_fields = ("id",)  # the search box; the lookup: get_search_results
    list_select_related = ("provider",)
    raw_id_fields = ("customer",)
    ordering = ("-created_at",)

    def get_search_results(self, request, queryset, search_term):  # type: ignore[no-untyped-def]
        """The payment number by its primary key: the admin's own search on an integer
        field compares CAST(id AS text), which reads every payment."""
        term = search_term.strip()
        if not term:
            return queryset, False
        return (queryset.filter(pk=int(term)) if term.isdigit() else queryset.none()), False


@admin.register(Provider)
class ProviderAdmin(Fast):
    list_display = ("id", "name", "inn", "service_kind")
