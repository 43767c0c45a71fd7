"""``python -m core ...``: the operator's command line.

    python -m core db upgrade               apply migrations to DATABASE_URL
    python -m core db check                 fail if models and migrations disagree
    python -m core db analyze               refresh the planner statistics (after bulk loads)
    python -m core db grant-app-role ROLE [--sql]   as the tables' owner: ROLE may only read and
                                            add rows to the append-only tables (PostgreSQL)
    python -m core staff add --login L --role R [--name N] [--email E]   (password from a prompt or stdin)
    python -m core staff deactivate --login L
    python -m core staff reset-password --login L   a temporary password, printed once
    python -m core staff reset-2fa --login L        the second factor off: enrol again at login
    python -m core demo --customers N --seed S [--if-empty]   only into an empty database
    python -m core demo --customers N --payments M --seed S   a real-sized data set in bulk
    python -m core notify send [--every S]  drain the notifications outbox (once, or every S s)
    python -m core secrets init             create .streamlit/secrets.toml if absent
    python -m core providers add --name N --inn I --phone P --kind K --pattern RE --hint H
                             [--commission 1,5] [--commission-min 10] [--no-invoicing] [--ownership-proof]
    python -m core providers list
    python -m core providers import-register FILE --provider ID   (exit 2: file refused)
    python -m core invoices import FILE --provider ID   billing registry, CSV or XLSX (exit 2: refused)
    python -m core ledger check             prove the ledger's invariants (exit 1: problems)
    python -m core ledger settle --day D    book the acquirer's registry of a Moscow day (YYYY-MM-DD)
    python -m core payments recover         ask the gateway about every payment due a check
    python -m core reconcile FILE [--profile NAME] [--confirm-overlap]
                                            reconcile the acquirer's registry file, as «Сверка»
                                            does, as the system (exit 0: all matched, 1:
                                            discrepancies to resolve, 2: refused, nothing stored;
                                            days another run covers: refused unless confirmed)
    python -m core payouts make --day D [--provider ID]   payout registries of a Moscow day
                                            (every provider with something to pay, or one)
    python -m core payouts list [--day D] [--provider ID]   produced payout registries
    python -m core analytics rebuild [--since D]   recompute the daily payment rollups, invoice snapshot, subscription counts
                                            (all days, or from the Moscow day D)
    python -m core worker                   periodic jobs (outbox, recovery, expiry, receipts)
                                            until SIGTERM
    python -m core serve [--port P] [--cabinet-port C] [--check]   the operator's start: the
                                            worker, the dashboard (P, 8501) and the customer's
                                            cabinet (C, 8502) on DATABASE_URL, refused while a demo
                                            login works or no staff exists (--check: only check)
"""
from __future__ import annotations

import argparse
import getpass
import logging
import os
import sys
from pathlib import Path

from core.errors import DomainError


def _app():  # type: ignore[no-untyped-def]
    from core.app import build_app

    return build_app()


def cmd_db(args: argparse.Namespace) -> int:
    from core.config import load_settings
    from core.db.engine import make_engine
    from core.db.migrate import schema_differences, upgrade

    engine = make_engine(load_settings().database_url)
    if args.action == "upgrade":
        upgrade(engine)
        print("База данных обновлена до последней миграции")
        return 0
    if args.action == "analyze":
        from core.db.statistics import refresh_statistics

        print(f"База данных: {refresh_statistics(engine)}")
        return 0
    if args.action == "grant-app-role":
        return _grant_app_role(engine, args)
    differences = schema_differences(engine)
    for diff in differences:
        print(diff)
    return 1 if differences else 0


def _grant_app_role(engine, args: argparse.Namespace) -> int:  # type: ignore[no-untyped-def]
    from core.db import app_role, append_only

    if not args.role:
        print("Ошибка: укажите роль: python -m core db grant-app-role ROLE", file=sys.stderr)
        return 2
    if args.sql:
        with engine.connect() as connection:
            print(";\n".join(app_role.plan(connection, args.role)) + ";")
        return 0
    app_role.grant_app_role(engine, args.role)
    print(f"Роль {args.role}: чтение и добавление строк в журналах "
          f"({', '.join(append_only.TABLES)}), чтение и запись в остальных таблицах")
    return 0


def _read_password() -> str:
    if sys.stdin.isatty():
        first = getpass.getpass("Пароль: ")
        if first != getpass.getpass("Пароль ещё раз: "):
            raise DomainError("Пароль: введённые пароли не совпадают")
        return first
    return sys.stdin.readline().rstrip("\n")


def cmd_staff(args: argparse.Namespace) -> int:
    from core.staff import members

    app = _app()
    if args.action == "add":
        role = members.parse_role(args.role)
        staff_id = members.add_staff(app, None, login=args.login, name=args.name or args.login,
                                     email=args.email or f"{args.login}@example.ru", role=role,
                                     password=_read_password())
        print(f"Сотрудник {args.login.strip().lower()} ({role.value}) создан, id {staff_id}")
    elif args.action == "deactivate":
        members.set_active(app, None, members.find_staff_id(app, args.login), False)
        print(f"Сотрудник {args.login} отключён, его сеансы завершены")
    elif args.action == "reset-password":
        # The operator's way in when no administrator can log in (the last one forgot it).
        temporary = members.reset_password(app, None, members.find_staff_id(app, args.login))
        print(f"Временный пароль сотрудника {args.login} (сменит при входе): {temporary}")
    elif args.action == "reset-2fa":
        members.reset_second_factor(app, None, members.find_staff_id(app, args.login))
        print(f"Двухфакторный вход сотрудника {args.login} сброшен, сеансы завершены")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from core.demo.rich import seed_demo
    from core.demo.bank import seed_bank

    if args.payments is not None:
        return _demo_scale(args)
    from core.db.statistics import refresh_statistics
    from core.analytics import invoice_snapshot

    from core.demo.guard import DemoRefused

    app = _app()
    try:
        added = seed_demo(app, customers=args.customers, seed=args.seed, progress=True)
    except DemoRefused as refused:
        if not args.if_empty:
            raise  # exit 2 with the reason: demo rows never join real ones
        print(refused.skipped)
        added = 0
    if added:
        print(f"Аналитика: {invoice_snapshot.refresh_all(app)}")
        print(f"База данных: {refresh_statistics(app.engine)}")
    # Also when the data was already there: a fresh clone's bank file starts empty.
    added = seed_bank(app)
    if added:
        print(f"Симулятор эквайера: загружено операций из истории: {added}")
    return 0


def _count_option(text: str, option: str) -> int:
    """A count option (``--payments``, ``--customers``) as a positive integer."""
    try:
        value = int(str(text).strip())
    except ValueError:
        value = 0
    if value < 1:
        raise DomainError(f"{option}: укажите целое число больше нуля, например 1000000")
    return value


def _demo_scale(args: argparse.Namespace) -> int:
    """The bulk loader of a real-sized data set (``core.demo.scale.load``), then the bank."""
    from core.demo.bank import seed_bank
    from core.demo.scale.load import seed_scale

    payments = _count_option(args.payments, "--payments")
    customers = _count_option(args.customers, "--customers")
    app = _app()
    report = seed_scale(app, customers=customers, payments=payments, seed=args.seed,
                        if_empty=args.if_empty, progress=True)
    if report is None:
        print("В базе уже есть данные: массовая загрузка пропущена (--if-empty)")
    else:
        speed = f"{report.total_rows / report.load_seconds:,.0f}".replace(",", " ")
        print(f"Загружено строк: {report.total_rows} за {report.load_seconds:.1f} с (из них "
              f"индексы {report.index_seconds:.1f} с), {speed} строк/с; со сводками для "
              f"аналитики — {report.seconds:.1f} с")
        for table, rows in report.rows.items():
            print(f"  {table}: {rows}")
    print("Симулятор эквайера: загрузка истории операций…", flush=True)
    added = seed_bank(app)
    if added:
        print(f"Симулятор эквайера: загружено операций из истории: {added}")
    return 0


def cmd_notify(args: argparse.Namespace) -> int:
    import signal
    import threading

    from core.notifications.outbox import send_pending

    app = _app()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    while True:
        try:
            report = send_pending(app)
        except Exception:  # noqa: BLE001 - a loop that sends must outlive one bad pass
            logging.getLogger("core.notify").exception("outbox pass failed")
        else:
            if report.sent or report.failed or report.retrying or not args.every:
                print(f"Отправлено: {report.sent}, повтор позже: {report.retrying}, "
                      f"не доставлено: {report.failed}", flush=True)
        if not args.every or stop.wait(args.every):
            return 0


def cmd_secrets(args: argparse.Namespace) -> int:
    from core.config import load_settings
    from core.secrets import load_or_create

    path = load_settings().secrets_file
    load_or_create(path)
    print(f"Секреты: {path}")
    return 0


def cmd_providers(args: argparse.Namespace) -> int:
    from core.billing import providers

    app = _app()
    if args.action == "add":
        form = providers.ProviderForm(
            name=args.name, inn=args.inn, contact_phone=args.phone, service_kind=args.kind,
            account_pattern=args.pattern, account_hint=args.hint,
            invoicing_enabled=not args.no_invoicing, commission_percent=args.commission,
            commission_min=args.commission_min, ownership_proof=args.ownership_proof)
        provider_id = providers.add_provider(app, None, form)
        print(f"Поставщик «{providers.get_provider(app, provider_id).name}» добавлен, "
              f"id {provider_id}")
    elif args.action == "list":
        for p in providers.list_providers(app):
            invoicing = "счета выставляются" if p.invoicing_enabled else "без счетов"
            proof = "; подтверждение суммой последнего счёта" if p.ownership_proof else ""
            print(f"{p.id}\t{p.name}\tИНН {p.inn}\t{p.service_label}\t"
                  f"номер: {p.account_rule}\tкомиссия: {p.commission_text}\t"
                  f"{invoicing}{proof}\tсчетов в реестре: {p.accounts_count}")
    elif args.action == "import-register":
        return _import_register(app, args)
    return 0


def _run_import(file_name: str, title: str, importer) -> int:  # type: ignore[no-untyped-def]
    """Read a provider's file, import it with a progress bar, print the report.
    ``importer(name, data, progress)`` returns a report with summary/problems/accepted."""
    from tqdm import tqdm

    path = Path(file_name)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise DomainError(f"Файл: не удалось открыть {path} ({error.strerror})") from None
    bar = None

    def progress(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=total, unit="стр", desc=title, file=sys.stderr)
        bar.update(done - bar.n)

    try:
        report = importer(path.name, data, progress)
    finally:
        if bar is not None:
            bar.close()
    print(report.summary)
    for problem in report.problems:
        print(f"  {problem.text}")
    return 0 if report.accepted else 2


def _import_register(app, args: argparse.Namespace) -> int:  # type: ignore[no-untyped-def]
    from core.billing import providers

    return _run_import(args.file, "Реестр", lambda name, data, progress:
                       providers.import_account_register(app, None, args.provider, name, data,
                                                         progress))


def cmd_invoices(args: argparse.Namespace) -> int:
    from core.billing.invoice_import import import_billing_registry

    app = _app()
    # The bar counts rows twice over: half when checked, half when saved.
    return _run_import(args.file, "Реестр начислений", lambda name, data, progress:
                       import_billing_registry(app, None, args.provider, name, data, progress))


def cmd_ledger(args: argparse.Namespace) -> int:
    from core.money import Money
    from core.finance import ledger

    if args.action == "settle":
        return _settle(args.day)

    with _app().uow(write=False) as uow:
        result = ledger.check(uow.session)
        balances = ledger.balances(uow.session) if result.ok else None
    if balances is None:
        print(f"Журнал проводок: найдено проблем: {len(result.problems)}")
        for problem in result.problems:
            print(f"  {problem}")
        return 1
    print(f"Журнал проводок в порядке: {result.journals} журналов, {result.entries} проводок")
    print(f"Клиринг у эквайера: {Money(balances.clearing)}")
    print(f"Расчётный счёт: {Money(balances.bank)}")
    print(f"Комиссионный доход: {Money(balances.commission_income)}")
    for provider_id, owed in balances.payable.items():
        print(f"Долг поставщику {provider_id}: {Money(owed)}")
    return 0

def _day(text: str | None, option: str):  # type: ignore[no-untyped-def]
    """A --day style option as a date; None (after saying why) when it is not one."""
    from datetime import date

    try:
        return date.fromisoformat(text or "")
    except ValueError:
        print(f"Ошибка: {option}: дата в виде ГГГГ-ММ-ДД, например 2026-11-24", file=sys.stderr)
        return None


def _settle(day_text: str | None) -> int:
    from core.finance.settlement import settle_day

    day = _day(day_text, "--day")
    if day is None:
        return 2
    result = settle_day(_app(), day)
    print(f"Реестр эквайера за {day:%d.%m.%Y}: операций {result.lines}, платежи "
          f"{result.payments_total}, возвраты {result.refunds_total}, к зачислению {result.net}")
    return 0


def cmd_payments(args: argparse.Namespace) -> int:
    from core.payments import recovery

    app = _app()
    expired = recovery.expire_stale(app)
    report = recovery.recover_due(app)
    print(f"Просрочено и закрыто: {expired}")
    print(f"Уточнено в банке: {report}")
    return 0


def cmd_reconcile(args: argparse.Namespace) -> int:
    """The page's reconciliation from a scheduler: the summary, and an exit code that
    says whether anything is left to resolve (``core.finance.run_cli``)."""
    from core.finance import reconciliation, run_cli

    path = Path(args.file)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise DomainError(f"Файл: не удалось открыть {path} ({error.strerror})") from None
    app = _app()
    profile = run_cli.profile_by_name(app, args.profile) if args.profile else None
    try:
        view = reconciliation.reconcile(app, None, path.name, data, profile=profile,
                                        confirm_overlap=args.confirm_overlap)
    except reconciliation.RegistryRejected as rejected:
        print(f"Ошибка: {rejected}", file=sys.stderr)
        for problem in rejected.problems:
            print(f"  {problem.text}", file=sys.stderr)
        return run_cli.REFUSED
    for line in run_cli.summary_lines(view):
        print(line)
    return run_cli.exit_code(view)


def cmd_payouts(args: argparse.Namespace) -> int:
    """Payout registries: ``make`` produces a day's payouts (as the operator), ``list``
    prints the produced ones. Exit 2 when nothing could be produced."""
    from core.money import Money
    from core.finance import payouts

    day = _day(args.day, "--day") if args.day else None
    if args.day and day is None:
        return 2
    app = _app()
    if args.action == "list":
        for view in payouts.cli_list(app, day, args.provider):
            print(f"Реестр № {view.id} за {view.day:%d.%m.%Y}: «{view.provider_name}», платежей "
                  f"{view.payments_count}, к перечислению {Money(view.net_amount)}")
        return 0
    if day is None:
        print("Ошибка: --day: укажите день реестра (ГГГГ-ММ-ДД)", file=sys.stderr)
        return 2
    provider_ids = ([args.provider] if args.provider is not None
                    else payouts.providers_to_pay(app, day))
    if not provider_ids:
        print(f"За {day:%d.%m.%Y} перечислять некому: платежей нет или всё уже перечислено")
        return 0
    failed = 0
    for provider_id in provider_ids:
        try:
            view = payouts.produce(app, None, day, provider_id)
        except DomainError as error:
            failed += 1
            print(f"Ошибка: {error}", file=sys.stderr)
            continue
        print(f"Реестр № {view.id} за {view.day:%d.%m.%Y}: «{view.provider_name}», платежей "
              f"{view.payments_count} на {Money(view.payments_total)}, возвраты "
              f"{Money(view.refunds_total)}, к перечислению {Money(view.net_amount)}")
    return 2 if failed else 0


def cmd_analytics(args: argparse.Namespace) -> int:
    """Recompute the analytics' daily rollups from the payments, the invoice snapshot
    and the subscription counts (after a bulk load)."""
    from core.analytics import invoice_snapshot, rollups
    from core.notifications import subscription_rollup

    since = _day(args.since, "--since") if args.since else None
    if args.since and since is None:
        return 2
    app = _app()
    with app.uow() as uow:
        rows = rollups.rebuild(uow.session, since=since)
        uow.commit()
    print(f"Сводки платежей по дням пересчитаны{f' с {since:%d.%m.%Y}' if since else ''}: "
          f"строк {rows}")
    print(f"Аналитика: {invoice_snapshot.refresh_all(app)}")
    print(f"Подписки: {subscription_rollup.refresh(app)}")
    return 0


DASHBOARD = Path(__file__).resolve().parent.parent / "dashboard" / "server.py"
CABINET = Path(__file__).resolve().parent.parent / "cabinet" / "server.py"


def serve_commands(port: int, cabinet_port: int = 8502) -> list[list[str]]:
    """The operator's start on DATABASE_URL, checked: the worker's, the dashboard's and the
    customer cabinet's command lines, or ``DomainError`` saying what to do first (migrations
    are the operator's own step, ``db upgrade``: serving never changes the schema)."""
    from core.db.migrate import unapplied
    from core.demo.guard import require_servable

    app = _app()
    current, heads = unapplied(app.engine)
    if current != heads:
        raise DomainError("База данных не обновлена до последней миграции (в базе: "
                          f"{', '.join(sorted(current)) or 'пусто'}, в коде: "
                          f"{', '.join(sorted(heads))}): выполните python -m core db upgrade "
                          "и запустите снова")
    require_servable(app)
    app.engine.dispose()
    if port == cabinet_port:
        raise DomainError(f"Бэк-офис и личный кабинет не могут работать на одном порту {port}: "
                          "укажите разные --port и --cabinet-port")
    return [[sys.executable, "-m", "core", "worker"],
            [sys.executable, "-m", "streamlit", "run", str(DASHBOARD), "--server.port",
             str(port), "--server.headless", "true"],
            [sys.executable, "-m", "streamlit", "run", str(CABINET), "--server.port",
             str(cabinet_port), "--server.headless", "true"]]


def cmd_serve(args: argparse.Namespace) -> int:
    import shlex
    import signal
    import subprocess

    worker_command, dashboard_command, cabinet_command = serve_commands(args.port,
                                                                        args.cabinet_port)
    if args.check:
        print("Проверки пройдены: база обновлена, демо-логинов нет, сотрудники есть")
        for command in (worker_command, dashboard_command, cabinet_command):
            print(f"  {shlex.join(command)}")
        return 0
    print(f"Бэк-офис: http://localhost:{args.port}  Личный кабинет клиента: "
          f"http://localhost:{args.cabinet_port}", flush=True)
    worker_process = subprocess.Popen(worker_command)
    cabinet = subprocess.Popen(cabinet_command)
    # «Смотреть как клиент» links go to the cabinet: this one, unless the operator says
    # where staff browsers reach it (a proxy's public address).
    dashboard = subprocess.Popen(dashboard_command, env={
        **os.environ, "CABINET_URL": os.environ.get("CABINET_URL")
        or f"http://localhost:{args.cabinet_port}"})
    # Stopped by SIGTERM (a service manager) or Ctrl-C: every child goes with us, the
    # worker after the job in progress (its own SIGTERM handling).
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: dashboard.terminate())
    try:
        return dashboard.wait()
    finally:
        for child in (cabinet, worker_process):
            child.terminate()
            child.wait()


def cmd_worker(args: argparse.Namespace) -> int:
    from core import jobs, worker

    return worker.main(_app(), jobs.all_jobs())


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m core", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    db = sub.add_parser("db", help="миграции базы данных")
    db.add_argument("action", choices=["upgrade", "check", "analyze", "grant-app-role"])
    db.add_argument("role", nargs="?", help="для grant-app-role: роль, от имени которой "
                    "работает приложение")
    db.add_argument("--sql", action="store_true",
                    help="для grant-app-role: только напечатать команды, не выполняя")
    db.set_defaults(func=cmd_db)
    staff_parser = sub.add_parser("staff", help="сотрудники")
    staff_parser.add_argument("action",
                              choices=["add", "deactivate", "reset-password", "reset-2fa"])
    staff_parser.add_argument("--login", required=True)
    staff_parser.add_argument("--role", default="agent")
    staff_parser.add_argument("--name")
    staff_parser.add_argument("--email")
    staff_parser.set_defaults(func=cmd_staff)
    demo = sub.add_parser("demo", help="демонстрационные данные")
    demo.add_argument("--customers", type=int, default=2000)
    demo.add_argument("--payments",
                      help="массовая загрузка: ровно столько платежей за год (в пустую базу), "
                           "например --customers 200000 --payments 1000000")
    demo.add_argument("--seed", type=int, default=1)
    demo.add_argument("--if-empty", action="store_true",
                      help="ничего не делать (пропущено), если в базе уже есть сотрудники "
                           "или клиенты; без флага такая база — ошибка")
    demo.set_defaults(func=cmd_demo)
    notify = sub.add_parser("notify", help="рассылка уведомлений")
    notify.add_argument("action", choices=["send"])
    notify.add_argument("--every", type=float, default=0,
                        help="повторять каждые N секунд, пока процесс не остановят")
    notify.set_defaults(func=cmd_notify)
    sec = sub.add_parser("secrets", help="секреты")
    sec.add_argument("action", choices=["init"])
    sec.set_defaults(func=cmd_secrets)
    prov = sub.add_parser("providers", help="поставщики услуг и реестры лицевых счетов")
    prov_sub = prov.add_subparsers(dest="action", required=True)
    add = prov_sub.add_parser("add", help="новый поставщик")
    add.add_argument("--name", required=True)
    add.add_argument("--inn", required=True)
    add.add_argument("--phone", required=True, help="контактный телефон поставщика")
    add.add_argument("--kind", required=True, help="вид услуг: water, heating, electricity, "
                     "gas, management, waste, internet, other")
    add.add_argument("--pattern", required=True,
                     help=r"регулярное выражение номера счёта без пробелов и дефисов, например \d{10}")
    add.add_argument("--hint", required=True, help="правило номера словами, например «10 цифр»")
    add.add_argument("--commission", default="0", help="комиссия в процентах, например 1,5")
    add.add_argument("--commission-min", default="0", help="минимальная комиссия в рублях")
    add.add_argument("--no-invoicing", action="store_true",
                     help="поставщик не выставляет счета через кабинет")
    add.add_argument("--ownership-proof", action="store_true",
                     help="при привязке счёта спрашивать сумму последнего счёта")
    prov_sub.add_parser("list", help="список поставщиков")
    imp = prov_sub.add_parser("import-register", help="загрузить реестр лицевых счетов")
    imp.add_argument("file")
    imp.add_argument("--provider", type=int, required=True, help="id поставщика")
    prov.set_defaults(func=cmd_providers)
    inv = sub.add_parser("invoices", help="счета поставщиков")
    inv_sub = inv.add_subparsers(dest="action", required=True)
    inv_import = inv_sub.add_parser("import", help="загрузить реестр начислений (CSV или XLSX)")
    inv_import.add_argument("file")
    inv_import.add_argument("--provider", type=int, required=True, help="id поставщика")
    inv.set_defaults(func=cmd_invoices)
    led = sub.add_parser("ledger", help="журнал проводок")
    led.add_argument("action", choices=["check", "settle"])
    led.add_argument("--day", help="день реестра эквайера (ГГГГ-ММ-ДД), для settle")
    led.set_defaults(func=cmd_ledger)
    pay = sub.add_parser("payments", help="платежи")
    pay.add_argument("action", choices=["recover"])
    pay.set_defaults(func=cmd_payments)
    recon = sub.add_parser("reconcile", help="сверка реестра эквайера с нашими платежами")
    recon.add_argument("file", help="файл реестра банка (CSV или XLSX)")
    recon.add_argument("--profile", help="профиль банка: встроенный или сохранённый на "
                       "странице «Сверка», по названию")
    recon.add_argument("--confirm-overlap", action="store_true",
                       help="сверить, даже если за эти дни уже есть сверка (иначе отказ с "
                       "кодом 2, номерами прежних сверок и их периодами)")
    recon.set_defaults(func=cmd_reconcile)
    pout = sub.add_parser("payouts", help="реестры перечислений поставщикам")
    pout.add_argument("action", choices=["make", "list"])
    pout.add_argument("--day", help="московский день реестра (ГГГГ-ММ-ДД)")
    pout.add_argument("--provider", type=int, help="id поставщика (по умолчанию все)")
    pout.set_defaults(func=cmd_payouts)
    anl = sub.add_parser("analytics", help="аналитика: сводки платежей по дням")
    anl.add_argument("action", choices=["rebuild"])
    anl.add_argument("--since", help="пересчитать с московского дня (ГГГГ-ММ-ДД)")
    anl.set_defaults(func=cmd_analytics)
    work = sub.add_parser("worker", help="периодические задачи до SIGTERM")
    work.set_defaults(func=cmd_worker)
    serve = sub.add_parser("serve", help="рабочий запуск: воркер, дашборд и личный кабинет, без демо-данных")
    serve.add_argument("--port", type=int, default=8501, help="порт бэк-офиса")
    serve.add_argument("--cabinet-port", type=int, default=8502,
                       help="порт личного кабинета клиента")
    serve.add_argument("--check", action="store_true",
                       help="только проверить базу и напечатать команды запуска")
    serve.set_defaults(func=cmd_serve)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except DomainError as error:
        print(f"Ошибка: {error}", file=sys.stderr)
        return 2
