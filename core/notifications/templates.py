"""Message templates per topic and channel: list, preview, save, render.

A cell without a ``message_templates`` row uses the shipped default
(``core.notifications.template_rules.DEFAULT_TEMPLATES``). Every template is validated when
saved and again when loaded for sending: a stored template that no longer
passes (say, a placeholder was retired in code) is logged and replaced by the
default, so a template can never stop messages from going out.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.actors import StaffActor, require_role
from core.app import App
from core.notifications.channels import Channel
from core.db.models import MessageTemplate, StaffUser
from core.notifications import template_rules as rules
from core.errors import ValidationError
from core.staff import audit, permissions

log = logging.getLogger(__name__)

READERS = permissions.CABINET_ACTORS
EDITORS = permissions.ADMINS


@dataclass(frozen=True)
class TemplateInfo:
    topic: str
    topic_label: str
    channel: Channel
    channel_label: str
    subject: str | None  # e-mail only
    body: str
    placeholders: tuple[tuple[str, str], ...]  # (name, Russian description) allowed here
    is_default: bool  # no saved row: the shipped text is in use
    updated_at: datetime | None
    updated_by: str | None  # staff member's name


@dataclass(frozen=True)
class RenderedMessage:
    topic: str
    channel: Channel
    subject: str | None
    body: str
    length: int  # characters of the body
    sms_parts: int | None  # SMS only: how many parts the body takes


def _info(topic: str, channel: str, row: MessageTemplate | None,
          staff_name: str | None) -> TemplateInfo:
    shipped = rules.DEFAULT_TEMPLATES[(topic, channel)]
    return TemplateInfo(
        topic=topic, topic_label=rules.TOPICS[topic], channel=Channel(channel),
        channel_label=rules.CHANNELS[channel],
        subject=row.subject if row else shipped.subject, body=row.body if row else shipped.body,
        placeholders=tuple((name, rules.PLACEHOLDER_LABELS[name])
                           for name in rules.PLACEHOLDERS[topic]),
        is_default=row is None, updated_at=row.updated_at if row else None,
        updated_by=staff_name)


def list_templates(app: App, actor: StaffActor) -> list[TemplateInfo]:
    """Every topic x channel cell, in the order of TOPICS and CHANNELS."""
    require_role(actor, READERS, "шаблоны сообщений")
    with app.uow(write=False) as uow:
        rows = {(r.topic, r.channel.value): (r, name) for r, name in uow.session.execute(
            select(MessageTemplate, StaffUser.name)
            .outerjoin(StaffUser, StaffUser.id == MessageTemplate.updated_by_staff_id))}
    return [_info(topic, channel, *rows.get((topic, channel), (None, None)))
            for topic in rules.TOPICS for channel in rules.CHANNELS]


def get_template(app: App, actor: StaffActor, topic: str, channel: str) -> TemplateInfo:
    require_role(actor, READERS, "шаблоны сообщений")
    topic, code = rules.check_topic(topic), rules.check_channel(channel)
    with app.uow(write=False) as uow:
        found = uow.session.execute(
            select(MessageTemplate, StaffUser.name)
            .outerjoin(StaffUser, StaffUser.id == MessageTemplate.updated_by_staff_id)
            .where(MessageTemplate.topic == topic,
                   MessageTemplate.channel == Channel(code))).first()
    return _info(topic, code, *(found or (None, None)))


def preview_template(app: App, actor: StaffActor, topic: str, channel: str,
                     subject: str | None, body: str) -> RenderedMessage:
    """The text as a customer would get it, filled with sample values; nothing is saved."""
    require_role(actor, READERS, "шаблоны сообщений")
    template = rules.validate_template(topic, channel, subject, body)
    return _rendered(template, rules.SAMPLE_VALUES[template.topic])


def _rendered(template: rules.Template, values: Mapping[str, object]) -> RenderedMessage:
    subject, text = rules.render(template, values)
    sms = template.channel == rules.SMS
    return RenderedMessage(topic=template.topic, channel=Channel(template.channel),
                           subject=subject, body=text, length=len(text),
                           sms_parts=rules.sms_parts(text) if sms else None)


def _snapshot(subject: str | None, body: str) -> dict[str, str | None]:
    return {"subject": subject, "body": body}


def save_template(app: App, actor: StaffActor, topic: str, channel: str,
                  subject: str | None, body: str) -> bool:
    """Store an administrator's text; False when it equals what is in use already."""
    require_role(actor, EDITORS, "изменение шаблонов сообщений")
    template = rules.validate_template(topic, channel, subject, body)
    now = app.now()
    with app.uow() as uow:
        s = uow.session
        row = _row(s, template.topic, template.channel, lock=True)
        current = rules.DEFAULT_TEMPLATES[(template.topic, template.channel)] if row is None \
            else rules.Template(template.topic, template.channel, row.subject, row.body)
        if (current.subject, current.body) == (template.subject, template.body):
            return False
        if row is None:
            s.add(MessageTemplate(topic=template.topic, channel=Channel(template.channel),
                                  subject=template.subject, body=template.body,
                                  updated_at=now, updated_by_staff_id=actor.staff_id))
        else:
            row.subject, row.body = template.subject, template.body
            row.updated_at, row.updated_by_staff_id = now, actor.staff_id
        audit.record(s, at=now, action="template.change", actor=actor,
                     before={"topic": template.topic, "channel": template.channel,
                             "default": row is None, **_snapshot(current.subject, current.body)},
                     after={"topic": template.topic, "channel": template.channel,
                            **_snapshot(template.subject, template.body)})
        uow.commit()
        return True


def reset_template(app: App, actor: StaffActor, topic: str, channel: str) -> bool:
    """Back to the shipped text; False when no saved text was in use."""
    require_role(actor, EDITORS, "изменение шаблонов сообщений")
    topic, code = rules.check_topic(topic), rules.check_channel(channel)
    now = app.now()
    with app.uow() as uow:
        s = uow.session
        row = _row(s, topic, code, lock=True)
        if row is None:
            return False
        shipped = rules.DEFAULT_TEMPLATES[(topic, code)]
        audit.record(s, at=now, action="template.reset", actor=actor,
                     before={"topic": topic, "channel": code, **_snapshot(row.subject, row.body)},
                     after={"topic": topic, "channel": code, "default": True,
                            **_snapshot(shipped.subject, shipped.body)})
        s.delete(row)
        uow.commit()
        return True


def _row(session: Session, topic: str, channel: str, *, lock: bool = False
         ) -> MessageTemplate | None:
    query = select(MessageTemplate).where(MessageTemplate.topic == topic,
                                          MessageTemplate.channel == Channel(channel))
    return session.scalar(query.with_for_update() if lock else query)


def load_template(session: Session, topic: str, channel: str) -> rules.Template:
    """The template in use for a cell: the saved one if it still validates, else the default."""
    code = rules.check_channel(channel)
    row = _row(session, rules.check_topic(topic), code)
    if row is None:
        return rules.DEFAULT_TEMPLATES[(topic, code)]
    try:
        return rules.validate_template(topic, code, row.subject, row.body)
    except ValidationError as error:
        log.warning("template %s/%s is invalid (%s); the default is used", topic, code, error)
        return rules.DEFAULT_TEMPLATES[(topic, code)]


def render(session: Session, topic: str, channel: str,
           values: Mapping[str, object]) -> tuple[str | None, str]:
    """(subject, body) of one message; queuing code calls this inside its transaction."""
    return rules.render(load_template(session, topic, channel), values)
