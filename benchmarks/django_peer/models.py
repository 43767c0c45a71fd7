"""Unmanaged models over our tables (``core/db/models.py``): Django never creates, alters or
migrates them. Foreign keys without database constraints of Django's own; the columns
a page does not show are left out."""
from __future__ import annotations

from django.db import models

from core.payments.machine import STATUS_LABELS


class Provider(models.Model):
    name = models.CharField("Поставщик", max_length=200)
    inn = models.CharField("ИНН", max_length=12)
    service_kind = models.CharField("Услуга", max_length=30)
    created_at = models.DateTimeField()

    class Meta:
        managed = False
        db_table = "providers"
        verbose_name = "поставщик"
        verbose_name_plural = "поставщики"

    def __str__(self) -> str:
        return self.name


class Customer(models.Model):
    phone = models.CharField("Телефон", max_length=12)
    email = models.CharField("E-mail", max_length=254)
    surname = models.CharField("Фамилия", max_length=100, null=True)
    first_name = models.CharField("Имя", max_length=100, null=True)
    patronymic = models.CharField("Отчество", max_length=100, null=True)
    birth_date = models.DateField(null=True)
    address = models.CharField(max_length=300, null=True)
    registered_at = models.DateTimeField("Дата регистрации")
    activated_at = models.DateTimeField(null=True)

    class Meta:
        managed = False
        db_table = "customers"
        verbose_name = "клиент"
        verbose_name_plural = "клиенты"

    def __str__(self) -> str:
        return " ".join(p for p in (self.surname, self.first_name, self.patronymic) if p) \
            or self.phone


class Payment(models.Model):
    customer = models.ForeignKey(Customer, models.DO_NOTHING, null=True, db_constraint=False)
    receipt_email = models.CharField(max_length=254, null=True)
    provider = models.ForeignKey(Provider, models.DO_NOTHING, db_constraint=False,
                                 verbose_name="Поставщик")
    provider_account_id = models.IntegerField(null=True)
    account_number = models.CharField("Лицевой счёт", max_length=30)
    invoice_id = models.IntegerField(null=True)
    amount = models.IntegerField("Сумма, коп.")
    commission = models.IntegerField("Комиссия, коп.")
    status = models.CharField("Статус", max_length=20,
                              choices=[(s.value, label) for s, label in STATUS_LABELS.items()])
    card_brand = models.CharField(max_length=20, null=True)
    masked_pan = models.CharField("Карта", max_length=19, null=True)
    gateway_txn_id = models.CharField(max_length=64, null=True)
    rrn = models.CharField(max_length=12, null=True)
    auth_code = models.CharField(max_length=12, null=True)
    decline_code = models.CharField(max_length=30, null=True)
    decline_reason = models.CharField(max_length=200, null=True)
    refunded_amount = models.IntegerField("Возвращено, коп.")
    created_at = models.DateTimeField("Создан")
    updated_at = models.DateTimeField()
    finalized_at = models.DateTimeField(null=True)

    class Meta:
        managed = False
        db_table = "payments"
        verbose_name = "платёж"
        verbose_name_plural = "платежи"

    def __str__(self) -> str:
        return f"Платёж № {self.pk}"
