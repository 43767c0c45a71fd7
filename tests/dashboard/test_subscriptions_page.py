"""«Подписки и рассылки», tab «Подписки»: the worker's counts and the moment they were
made. Before, the page counted every active cabinet itself (kept a minute per staff
member) and said only «Обновляется раз в 60 секунд»."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from core.actors import StaffRole
from core.app import App
from core.db.models import SubscriptionCountStat
from core.notifications import subscription_rollup, subscriptions
from core.timefmt import MOSCOW, as_utc
from tests.factories.customers import register_and_activate


def _news_sms(at) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    table = at.dataframe[0].value
    row = table[(table["Тема"] == "Новости сервиса") & (table["Канал"] == "SMS")]
    return int(row["Подписано"].iloc[0]), int(row["Всего активных"].iloc[0])


def _counted_at(app: App):  # type: ignore[no-untyped-def]
    with app.uow(write=False) as uow:
        return min(uow.session.scalars(select(SubscriptionCountStat.computed_at)))


def test_the_page_shows_the_workers_counts_and_when_they_were_made(dash_app: App,
                                                                   logged_in) -> None:  # type: ignore[no-untyped-def]
    logins = [register_and_activate(dash_app) for _ in range(3)]
    subscription_rollup.refresh(dash_app)
    counted_at = _counted_at(dash_app)
    # After the count: the page shows it at the worker's next count, not before.
    subscriptions.set_subscription(dash_app, logins[0].session_token, "news", "sms", True)

    at, _ = logged_in(StaffRole.MANAGER)
    at.switch_page("views/subscriptions.py").run()
    assert not at.exception
    assert _news_sms(at) == (0, 3)
    captions = [c.value for c in at.caption]
    assert (f"Данные на {as_utc(counted_at).astimezone(MOSCOW):%H:%M} "
            "(обновляются каждую минуту)") in captions
    assert not [c for c in captions if "Обновляется раз в" in c]

    subscription_rollup.refresh(dash_app)  # the worker's next run
    at.run()  # the same session's next rerun: nothing kept per staff member
    assert _news_sms(at) == (1, 3)


def test_counts_of_another_day_say_the_date(dash_app: App, logged_in) -> None:  # type: ignore[no-untyped-def]
    register_and_activate(dash_app)
    days_ago = dash_app.now() - timedelta(days=2)
    with dash_app.uow() as uow:  # the worker stopped two days ago
        subscription_rollup.store(uow.session, {(topic, channel): (5, 7) for topic, channel
                                                in subscription_rollup.all_cells()}, days_ago)
        uow.commit()
    at, _ = logged_in(StaffRole.AGENT)
    at.switch_page("views/subscriptions.py").run()
    assert not at.exception
    assert _news_sms(at) == (5, 7)
    shown = as_utc(days_ago).astimezone(MOSCOW)
    assert (f"Данные на {shown:%d.%m.%Y %H:%M} (обновляются каждую минуту)"
            in [c.value for c in at.caption])
