"""What customers owe: providers and their account registers (``providers``), personal accounts
and their bindings to cabinets (``accounts``, rules in ``account_rules``), invoices (``invoices``,
rules in ``invoice_rules``) and the providers' billing-registry import (``invoice_import``); the files a provider sent, known by checksum
(``registry_files``).

May import: the ground floor, ``files``, ``staff``, ``customers`` (the cabinet session) and
``notifications`` (the new-invoice messages).
"""
