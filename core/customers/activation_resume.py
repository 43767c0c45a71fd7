"""Back to the activation step from the login form: a customer who registered but lost the
page before typing the SMS code has only the phone and the password, and ``activate`` needs
the cabinet's id.

The password is checked exactly as ``login`` checks it (``credentials``: the same counter
toward the same lockout, the same refusal for an unknown login), so this is no way around
the login's limits; the fresh code goes within the activation code's own (``lifecycle``).
"""
from __future__ import annotations

from dataclasses import dataclass

from core.app import App
from core.customers.credentials import THROTTLE_SCOPE, check_credentials
from core.customers.errors import AlreadyActivated, CabinetBlocked, LoginFailed
from core.customers.lifecycle import get_customer, issue_activation_code, status_of
from core.customers.rules import CabinetStatus
from core.errors import DomainError
from core.security import throttle
from core.security.errors import ResendTooSoon


@dataclass(frozen=True)
class PendingActivation:
    """What the activation step needs: whose code it asks and where the SMS went."""

    customer_id: int
    phone: str
    email: str
    # False: a code went less than a minute ago (the registration's own SMS, say); that one
    # is still the code to type, and a new one may be asked on the step after the pause.
    code_sent: bool


def resume_activation(app: App, login_name: str, password: str) -> PendingActivation:
    """For a cabinet waiting for activation, by its login and password: a fresh SMS code.

    Refuses as ``login`` does (``LoginFailed``, ``LoginLocked``, ``CabinetBlocked``), and an
    active cabinet with ``AlreadyActivated`` (it logs in instead); the code's limits raise
    their own errors (``SendLimitReached``, ``ActivationLocked``)."""
    now = app.now()
    checked = check_credentials(app, login_name, password, now)
    with app.uow() as uow:
        s = uow.session
        if checked.customer_id is None:
            throttle.register_failure(s, THROTTLE_SCOPE, checked.throttle_key, now)
            uow.commit()
            raise LoginFailed()
        throttle.register_success(s, THROTTLE_SCOPE, checked.throttle_key)
        customer = get_customer(s, checked.customer_id)
        status = status_of(s, customer)
        if status is not CabinetStatus.PENDING_ACTIVATION:
            uow.commit()  # the right password ends the count of failures, as on login
            raise CabinetBlocked() if status is CabinetStatus.BLOCKED else AlreadyActivated()
        try:
            issue_activation_code(app, s, customer, now)
            sent = True
        except ResendTooSoon:
            sent = False
        except DomainError:
            # The code's caps refuse before anything of the code is written; the
            # password was right all the same, so its success is kept.
            uow.commit()
            raise
        found = PendingActivation(customer.id, customer.phone, customer.email, sent)
        uow.commit()
        return found
