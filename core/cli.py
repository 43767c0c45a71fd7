"""``python -m core ...``: the operator's command line.

    python -m core db upgrade               apply migrations to DATABASE_URL
    python -m core db check                 fail if models and migrations disagree
    python -m core staff add --login L --role R [--name N] [--email E]   (password from a prompt or stdin)
    python -m core staff deactivate --login L
    python -m core demo --customers N --seed S [--if-empty]
    python -m core notify send [--every S]  drain the notifications outbox (once, or every S s)
    python -m core secrets init             create .streamlit/secrets.toml if absent
"""
from __future__ import annotations

import argparse
import getpass
import logging
import sys

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
    differences = schema_differences(engine)
    for diff in differences:
        print(diff)
    return 1 if differences else 0


def _read_password() -> str:
    if sys.stdin.isatty():
        first = getpass.getpass("Пароль: ")
        if first != getpass.getpass("Пароль ещё раз: "):
            raise DomainError("Пароль: введённые пароли не совпадают")
        return first
    return sys.stdin.readline().rstrip("\n")


def cmd_staff(args: argparse.Namespace) -> int:
    from core.services import staff

    app = _app()
    if args.action == "add":
        role = staff.parse_role(args.role)
        staff_id = staff.add_staff(app, None, login=args.login, name=args.name or args.login,
                                   email=args.email or f"{args.login}@example.ru", role=role,
                                   password=_read_password())
        print(f"Сотрудник {args.login.strip().lower()} ({role.value}) создан, id {staff_id}")
    elif args.action == "deactivate":
        staff.set_active(app, None, staff.find_staff_id(app, args.login), False)
        print(f"Сотрудник {args.login} отключён, его сеансы завершены")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from core.demo import seed_demo

    seed_demo(_app(), customers=args.customers, seed=args.seed, if_empty=args.if_empty,
              progress=True)
    return 0


def cmd_notify(args: argparse.Namespace) -> int:
    import signal
    import threading

    from core.services.notifications import send_pending

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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m core", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    db = sub.add_parser("db", help="миграции базы данных")
    db.add_argument("action", choices=["upgrade", "check"])
    db.set_defaults(func=cmd_db)
    st = sub.add_parser("staff", help="сотрудники")
    st.add_argument("action", choices=["add", "deactivate"])
    st.add_argument("--login", required=True)
    st.add_argument("--role", default="agent")
    st.add_argument("--name")
    st.add_argument("--email")
    st.set_defaults(func=cmd_staff)
    demo = sub.add_parser("demo", help="демонстрационные данные")
    demo.add_argument("--customers", type=int, default=2000)
    demo.add_argument("--seed", type=int, default=1)
    demo.add_argument("--if-empty", action="store_true",
                      help="ничего не делать, если клиенты уже есть")
    demo.set_defaults(func=cmd_demo)
    notify = sub.add_parser("notify", help="рассылка уведомлений")
    notify.add_argument("action", choices=["send"])
    notify.add_argument("--every", type=float, default=0,
                        help="повторять каждые N секунд, пока процесс не остановят")
    notify.set_defaults(func=cmd_notify)
    sec = sub.add_parser("secrets", help="секреты")
    sec.add_argument("action", choices=["init"])
    sec.set_defaults(func=cmd_secrets)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except DomainError as error:
        print(f"Ошибка: {error}", file=sys.stderr)
        return 2
