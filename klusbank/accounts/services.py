"""State changes for users: accounts, roles, passwords, invitations, tokens, audit.

Services flush and never commit; the request, job or command commits once.
"""

import enum
import hashlib
import logging
import secrets
from typing import Any

from flask import current_app, has_request_context, request
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from zxcvbn import zxcvbn

from klusbank.accounts.models import (
    SECTOR_CODES,
    ApiToken,
    AuditEvent,
    CaretakerAssignment,
    Role,
    TokenRevocation,
    User,
    UserRole,
)
from klusbank.accounts.passwords import (
    MIN_PASSWORD_LENGTH,
    MIN_PASSWORD_SCORE,
    hash_password,
    needs_rehash,
    verify_password,
)
from klusbank.db import utcnow
from klusbank.errors import NotFound, RuleViolation, field_error
from klusbank.extensions import db
from klusbank.housing.models import Cluster, Corporation
from klusbank.net import client_address

logger = logging.getLogger(__name__)

_INVITATION_SALT = "klusbank.invitation"
API_TOKEN_PREFIX = "kb_"


def record_audit(
    action: str,
    *,
    actor: User | None,
    corporation_id: int | None = None,
    subject: str | None = None,
    **details: Any,
) -> AuditEvent:
    """Add an audit event for the current request, with address and browser."""
    event = AuditEvent(
        action=action,
        actor_id=actor.id if actor else None,
        corporation_id=corporation_id or (actor.corporation_id if actor else None),
        subject=subject,
        ip_address=client_address() if has_request_context() else None,
        user_agent=request.user_agent.string[:500] if has_request_context() else None,
        details=details,
    )
    db.session.add(event)
    db.session.flush()
    return event


def normalise_email(email: str) -> str:
    """Return the e-mail address in the form it is stored and looked up in."""
    return email.strip().lower()


def check_password_strength(
    password: str, field: str = "password", *, user_inputs: tuple[str, ...] = ()
) -> None:
    """Raise InvalidInput when a new password is too short or easy to guess.

    zxcvbn estimates how many guesses a password takes from dictionaries of
    common passwords, names and words, keyboard patterns, repeats and dates.
    The length rule alone let ``aaaaaaaaaaaa`` through. ``user_inputs`` are
    the person's own name and address, which count as guessable too.
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        raise field_error(
            field,
            _("Use at least %(count)d characters.", count=MIN_PASSWORD_LENGTH),
        )
    # zxcvbn's run time grows with the length, and its score changes little
    # past a few dozen characters, so only the first 100 are checked.
    estimate = zxcvbn(password[:100], user_inputs=list(user_inputs))
    if estimate["score"] < MIN_PASSWORD_SCORE:
        raise field_error(
            field,
            _(
                "This password is easy to guess. Use several unrelated words, "
                "or mix words with digits and signs, and avoid your own name."
            ),
        )


def create_user(
    corporation: Corporation,
    *,
    email: str,
    full_name: str,
    roles: dict[Role, str] | list[Role],
    locale: str = "nl",
    password: str | None = None,
    password_hash: str | None = None,
    actor: User | None = None,
) -> User:
    """Create a user with roles; without a password the user must accept an invitation.

    ``password_hash`` lets the demo and tests reuse one precomputed Argon2 hash,
    because hashing takes about 0.1 s by design.
    """
    email = normalise_email(email)
    if "@" not in email or len(email) > 254:
        raise field_error("email", _("Enter a valid e-mail address."))
    if not full_name.strip():
        raise field_error("full_name", _("Enter the person's full name."))
    if not roles:
        raise field_error("roles", _("Choose at least one role."))
    exists = db.session.scalar(select(User.id).where(User.email == email))
    if exists:
        raise field_error("email", _("A user with this e-mail address already exists."))
    if password is not None:
        check_password_strength(password)

    user = User(
        corporation_id=corporation.id,
        email=email,
        full_name=full_name.strip(),
        locale=locale,
        password_hash=hash_password(password) if password else password_hash,
    )
    codes = roles if isinstance(roles, dict) else {role: None for role in roles}
    for role, code in codes.items():
        user.roles.append(_build_role(role, code))
    db.session.add(user)
    try:
        db.session.flush()
    except IntegrityError as error:
        # Two requests for one address at once both pass the check above. The
        # unique key lets one in, and the other gets the same error as a retry
        # would. The failed flush has ended the transaction, so it is rolled
        # back here, because translating the message loads the user's locale.
        if "email" not in str(error.orig):
            raise
        db.session.rollback()
        raise field_error(
            "email", _("A user with this e-mail address already exists.")
        ) from error
    record_audit(
        "user.created",
        actor=actor,
        corporation_id=corporation.id,
        subject=f"user:{user.id}",
        roles=sorted(role.value for role in codes),
    )
    logger.info("user %s created in corporation %s", user.id, corporation.code)
    return user


def _build_role(role: Role, sector_code: str | None) -> UserRole:
    allowed = SECTOR_CODES[role]
    code = sector_code or allowed[0]
    if code not in allowed:
        raise field_error(
            "sector_code",
            _(
                "Sector code %(code)s does not fit role %(role)s; use one of %(allowed)s.",
                code=code,
                role=role.value,
                allowed=", ".join(allowed),
            ),
        )
    return UserRole(role=role, sector_code=code)


def set_roles(user: User, roles: list[Role], *, actor: User) -> int:
    """Replace a user's roles and return how many API tokens a removal revoked."""
    if not roles:
        raise field_error("roles", _("Choose at least one role."))
    if Role.ADMIN in user.role_set and Role.ADMIN not in roles:
        _require_another_admin(user)
    before = sorted(role.value for role in user.role_set)
    removed = user.role_set - set(roles)
    keep = {assignment.role: assignment for assignment in user.roles}
    user.roles = [keep.get(role) or _build_role(role, None) for role in roles]
    user.session_version += 1
    db.session.flush()
    record_audit(
        "user.roles_changed",
        actor=actor,
        subject=f"user:{user.id}",
        before=before,
        after=sorted(role.value for role in roles),
    )
    # A token acts with all of its owner's roles, so any token may rely on a
    # removed one.
    if removed:
        return revoke_api_tokens(user, TokenRevocation.ROLE_REMOVED, actor=actor)
    return 0


def _require_another_admin(user: User, field: str = "roles") -> None:
    """Raise unless the corporation keeps an active administrator besides ``user``."""
    others = db.session.scalar(
        select(func.count(User.id))
        .join(UserRole, UserRole.user_id == User.id)
        .where(
            User.corporation_id == user.corporation_id,
            User.id != user.id,
            User.is_active_account.is_(True),
            UserRole.role == Role.ADMIN,
        )
    )
    if not others:
        raise field_error(
            field,
            _("This is the last administrator. Make someone else administrator first."),
        )


def assign_clusters(caretaker: User, clusters: list[Cluster], *, actor: User) -> None:
    """Set the clusters a caretaker looks after."""
    if not caretaker.has_role(Role.CARETAKER):
        raise field_error("user", _("Only caretakers can be assigned to clusters."))
    for cluster in clusters:
        if cluster.corporation_id != caretaker.corporation_id:
            raise NotFound(_("Cluster not found."))
    caretaker.caretaker_assignments = [
        CaretakerAssignment(cluster_id=cluster.id) for cluster in clusters
    ]
    db.session.flush()
    record_audit(
        "caretaker.clusters_assigned",
        actor=actor,
        subject=f"user:{caretaker.id}",
        clusters=[cluster.id for cluster in clusters],
    )


def authenticate(email: str, password: str) -> User | None:
    """Return the active user with this e-mail and password, or None."""
    user = db.session.scalar(select(User).where(User.email == normalise_email(email)))
    if not verify_password(user.password_hash if user else None, password):
        return None
    if not user.is_active:
        return None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def change_password(user: User, current: str, new: str) -> int:
    """Change a password, end every other session and revoke the API tokens.

    Returns how many API tokens were revoked.
    """
    if not verify_password(user.password_hash, current):
        raise field_error("current_password", _("The current password is wrong."))
    check_password_strength(
        new, "new_password", user_inputs=(user.email, user.full_name)
    )
    user.password_hash = hash_password(new)
    user.session_version += 1
    db.session.flush()
    record_audit("user.password_changed", actor=user, subject=f"user:{user.id}")
    return revoke_api_tokens(user, TokenRevocation.PASSWORD_CHANGED, actor=user)


def reset_password(user: User, *, actor: User) -> int:
    """Remove a user's password so that a new invitation sets one.

    Ends every session and revokes the API tokens. Returns how many API tokens
    were revoked.
    """
    user.password_hash = None
    user.session_version += 1
    db.session.flush()
    record_audit("user.password_reset", actor=actor, subject=f"user:{user.id}")
    return revoke_api_tokens(user, TokenRevocation.PASSWORD_RESET, actor=actor)


def deactivate_user(user: User, *, actor: User) -> int:
    """Deactivate a user, end their sessions and revoke their API tokens.

    Returns how many API tokens were revoked.
    """
    if user.id == actor.id:
        raise field_error("confirm", _("You cannot deactivate your own account."))
    if Role.ADMIN in user.role_set:
        _require_another_admin(user, field="confirm")
    user.is_active_account = False
    user.session_version += 1
    db.session.flush()
    record_audit("user.deactivated", actor=actor, subject=f"user:{user.id}")
    return revoke_api_tokens(user, TokenRevocation.DEACTIVATED, actor=actor)


def end_all_sessions(user: User) -> None:
    """Invalidate every session and remember-me cookie of the user."""
    user.session_version += 1
    db.session.flush()


def _invitation_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(
        current_app.config["SECRET_KEY"], salt=_INVITATION_SALT
    )


def _password_fingerprint(user: User) -> str:
    # Bound into the invitation, so it stops working once a password is set.
    return hashlib.sha256((user.password_hash or "none").encode()).hexdigest()[:16]


def make_invitation_token(user: User) -> str:
    """Return a signed token with which the user sets their password."""
    return _invitation_serializer().dumps(
        {"user": user.id, "fp": _password_fingerprint(user)}
    )


class InvitationProblem(enum.Enum):
    """The reason an invitation link cannot set a password."""

    INVALID = "invalid"
    EXPIRED = "expired"
    USED = "used"


def invitation_problem(token: str) -> InvitationProblem | None:
    """Return why the invitation cannot be used, or None when it can."""
    _user, problem = _read_invitation(token)
    return problem


def _read_invitation(token: str) -> tuple[User | None, InvitationProblem | None]:
    max_age = current_app.config["INVITATION_MAX_AGE_SECONDS"]
    try:
        data = _invitation_serializer().loads(token, max_age=max_age)
    except SignatureExpired:
        return None, InvitationProblem.EXPIRED
    except BadSignature:
        return None, InvitationProblem.INVALID
    user_id = data.get("user") if isinstance(data, dict) else None
    user = db.session.get(User, user_id) if isinstance(user_id, int) else None
    if user is None or not user.is_active:
        return None, InvitationProblem.INVALID
    if data.get("fp") != _password_fingerprint(user):
        return None, InvitationProblem.USED
    return user, None


def accept_invitation(token: str, password: str) -> User:
    """Set the password of the user the invitation is for."""
    user, problem = _read_invitation(token)
    if problem == InvitationProblem.INVALID:
        raise NotFound(_("This invitation link is invalid."))
    if problem is not None:
        raise RuleViolation(
            _(
                "This invitation was already used or has expired. Log in, or ask "
                "your administrator for a new invitation."
            ),
            code=f"invitation_{problem.value}",
        )
    check_password_strength(password, user_inputs=(user.email, user.full_name))
    user.password_hash = hash_password(password)
    user.session_version += 1
    db.session.flush()
    record_audit("user.invitation_accepted", actor=user, subject=f"user:{user.id}")
    # reset_password revokes the tokens already; this catches any created since.
    revoke_api_tokens(user, TokenRevocation.PASSWORD_RESET, actor=user)
    return user


def hash_api_token(token: str) -> str:
    """Return the stored form of an API token."""
    return hashlib.sha256(token.encode()).hexdigest()


def create_api_token(user: User, name: str) -> tuple[ApiToken, str]:
    """Create an API token; the plain token is returned once and never stored."""
    if not name.strip():
        raise field_error("name", _("Give the token a name."))
    plain = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id,
        name=name.strip()[:100],
        token_hash=hash_api_token(plain),
        prefix=plain[:10],
    )
    db.session.add(token)
    db.session.flush()
    record_audit("api_token.created", actor=user, subject=f"api_token:{token.id}")
    return token, plain


def revoke_api_token(user: User, token_id: int) -> None:
    """Revoke one of the user's API tokens."""
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        raise NotFound(_("Token not found."))
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        token.revoked_reason = TokenRevocation.BY_USER
        db.session.flush()
        record_audit("api_token.revoked", actor=user, subject=f"api_token:{token.id}")


def revoke_api_tokens(user: User, reason: TokenRevocation, *, actor: User) -> int:
    """Revoke every active API token of the user and return how many it revoked."""
    tokens = db.session.scalars(
        select(ApiToken).where(
            ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None)
        )
    ).all()
    if not tokens:
        return 0
    now = utcnow()
    for token in tokens:
        token.revoked_at = now
        token.revoked_reason = reason
    db.session.flush()
    record_audit(
        "api_token.revoked_all",
        actor=actor,
        corporation_id=user.corporation_id,
        subject=f"user:{user.id}",
        reason=reason.value,
        tokens=[token.id for token in tokens],
    )
    logger.info(
        "revoked %d api tokens of user %s (%s) by user %s",
        len(tokens),
        user.id,
        reason.value,
        actor.id,
    )
    return len(tokens)


def user_for_api_token(plain: str) -> User | None:
    """Return the active owner of an unrevoked API token, or None."""
    token = db.session.scalar(
        select(ApiToken).where(ApiToken.token_hash == hash_api_token(plain))
    )
    if token is None or token.revoked_at is not None or not token.user.is_active:
        return None
    token.last_used_at = utcnow()
    return token.user
