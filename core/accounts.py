"""People who sign in, their roles, API tokens and e-mailed account tokens; the verbs on them."""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import Boolean, Enum, ForeignKey, Integer, String, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from core.audit import record_event
from core.db import Base, UTCDateTime
from core.errors import N_, Conflict, Forbidden, Invalid, NotFound, RateLimited
from core.mail import queue_mail
from core.ratelimit import check_limit, clear_hits, record_hit

PASSWORD_MIN_LENGTH = 10
RESET_TOKEN_LIFETIME = dt.timedelta(hours=2)
INVITE_TOKEN_LIFETIME = dt.timedelta(days=7)
SIGNIN_BUCKET = "signin"
SIGNIN_IP_BUCKET = "signin-ip"
SIGNIN_IP_LIMIT = 30
RESET_BUCKET = "reset"
RESET_LIMIT = 5
RESET_IP_BUCKET = "reset-ip"
RESET_IP_LIMIT = 20
RESET_WINDOW = dt.timedelta(hours=1)
TOKEN_USE_RESOLUTION = dt.timedelta(minutes=5)

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters


class Role(enum.StrEnum):
    """What a signed-in person does for the council."""

    admin = "admin"
    secretariat = "secretariat"
    council_member = "council_member"
    expert = "expert"
    applicant = "applicant"


ROLE_LABELS = {
    Role.admin: N_("Administrator"),
    Role.secretariat: N_("Secretariat"),
    Role.council_member: N_("Council member"),
    Role.expert: N_("Expert"),
    Role.applicant: N_("Applicant"),
}

# Roles the secretariat may invite; admins are created on the command line only.
INVITABLE_ROLES = (Role.secretariat, Role.council_member, Role.expert)


class User(Base):
    """A person with an account: secretariat staff, a council member, an expert or an applicant."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(Enum(Role, native_enum=False, length=20))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    locale: Mapped[str] = mapped_column(String(10), default="es_MX")
    # Bumped when the password changes, so sessions signed in with the old password end.
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    password_changed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    api_tokens: Mapped[list[ApiToken]] = relationship(back_populates="user", lazy="raise")

    def has_role(self, *roles: Role) -> bool:
        """Whether the person holds one of the roles (admins hold every role)."""
        return self.role in roles or self.role == Role.admin


class ApiToken(Base):
    """A bearer token for /api/v1, stored as a hash; the plain value is shown once."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship(back_populates="api_tokens", lazy="raise")


class TokenPurpose(enum.StrEnum):
    """Why a single-use account token was e-mailed."""

    reset = "reset"
    invite = "invite"


class AccountToken(Base):
    """A single-use, expiring token e-mailed to reset a password or accept an invitation."""

    __tablename__ = "account_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    purpose: Mapped[TokenPurpose] = mapped_column(Enum(TokenPurpose, native_enum=False, length=10))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


def hash_token(token: str) -> str:
    """The stored form of a random token (a fast hash suffices for 256-bit random values)."""
    return hashlib.sha256(token.encode()).hexdigest()


def hash_password(password: str) -> str:
    """An argon2id hash of a password."""
    return _hasher.hash(password)


def password_matches(password_hash: str | None, password: str) -> bool:
    """Whether the password matches the stored hash."""
    if not password_hash:
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def check_password_rules(password: str, *, field: str = "password") -> None:
    """Refuse passwords that are too short."""
    if len(password) < PASSWORD_MIN_LENGTH:
        raise Invalid(
            fields={field: N_("The password must have at least %(min)s characters.")},
            min=PASSWORD_MIN_LENGTH,
        )


def normalize_email(email: str) -> str:
    """E-mail addresses compare case-insensitively and without surrounding spaces."""
    return email.strip().lower()


EMAIL_MAX_CHARS = 320  # the longest address RFC 5321 allows, and the width of every e-mail column


def check_email_length(email: str) -> None:
    """Refuse an address too long to be one, before it reaches a column of that width."""
    if len(email.strip()) > EMAIL_MAX_CHARS:
        raise Invalid(fields={"email": N_("This text is too long.")})


def find_user_by_email(session: Session, email: str) -> User | None:
    """The account with this e-mail address, if any."""
    return session.scalar(select(User).where(User.email == normalize_email(email)))


def get_user(session: Session, user_id: int) -> User:
    """The account with this id."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound()
    return user


def create_user(
    session: Session,
    *,
    email: str,
    full_name: str,
    role: Role,
    password: str | None,
    actor: User | None,
    now: dt.datetime,
    locale: str = "es_MX",
) -> User:
    """Open an account; without a password it can only be entered through an e-mailed token."""
    email = normalize_email(email)
    try:
        validate_email(email, check_deliverability=False)
    except EmailNotValidError as exc:
        raise Invalid(fields={"email": N_("Enter a valid e-mail address.")}) from exc
    if find_user_by_email(session, email):
        raise Conflict(N_("An account with this e-mail address already exists."))
    if password is not None:
        check_password_rules(password)
    user = User(
        email=email,
        full_name=full_name.strip(),
        role=role,
        password_hash=hash_password(password) if password else None,
        is_active=True,
        locale=locale,
        session_version=1,
        created_at=now,
        password_changed_at=now if password else None,
    )
    session.add(user)
    session.flush()
    record_event(
        session,
        actor=actor,
        action="user.create",
        object_type="user",
        object_id=user.id,
        summary={"email": email, "role": role.value},
        now=now,
    )
    return user


def authenticate(
    session: Session,
    *,
    email: str,
    password: str,
    client_ip: str,
    now: dt.datetime,
    max_failures: int,
    lockout: dt.timedelta,
) -> User:
    """Sign a person in by e-mail and password, locking the address after repeated failures."""
    check_email_length(email)
    email = normalize_email(email)
    check_limit(
        session, bucket=SIGNIN_BUCKET, key=email, limit=max_failures, window=lockout, now=now
    )
    check_limit(
        session,
        bucket=SIGNIN_IP_BUCKET,
        key=client_ip,
        limit=SIGNIN_IP_LIMIT,
        window=lockout,
        now=now,
    )
    user = find_user_by_email(session, email)
    stored_hash = user.password_hash if user is not None else _unknown_account_hash()
    # Always verify a hash, so the answer takes as long for unknown addresses as for known ones.
    if not password_matches(stored_hash, password) or user is None or not user.is_active:
        record_hit(session, bucket=SIGNIN_BUCKET, key=email, now=now)
        record_hit(session, bucket=SIGNIN_IP_BUCKET, key=client_ip, now=now)
        raise Invalid(N_("The e-mail address or the password is not correct."))
    clear_hits(session, bucket=SIGNIN_BUCKET, key=email)
    record_event(
        session, actor=user, action="user.signin", object_type="user", object_id=user.id, now=now
    )
    return user


_dummy_hashes: dict[int, str] = {}


def _unknown_account_hash() -> str:
    """A hash of the current hasher's cost to verify against when the address has no account."""
    key = id(_hasher)
    if key not in _dummy_hashes:
        _dummy_hashes[key] = _hasher.hash(secrets.token_urlsafe(16))
    return _dummy_hashes[key]


def _set_password(session: Session, user: User, password: str, now: dt.datetime) -> None:
    user.password_hash = hash_password(password)
    user.password_changed_at = now
    user.session_version += 1
    session.flush()


def change_password(
    session: Session, *, user: User, current_password: str, new_password: str, now: dt.datetime
) -> None:
    """Replace a password after checking the current one; other sessions are signed out."""
    if not password_matches(user.password_hash, current_password):
        raise Invalid(fields={"current_password": N_("The current password is not correct.")})
    check_password_rules(new_password, field="new_password")
    _set_password(session, user, new_password, now)
    record_event(
        session,
        actor=user,
        action="user.password_change",
        object_type="user",
        object_id=user.id,
        now=now,
    )


def _issue_account_token(
    session: Session, *, user: User, purpose: TokenPurpose, lifetime: dt.timedelta, now: dt.datetime
) -> str:
    token = secrets.token_urlsafe(32)
    session.add(
        AccountToken(
            user_id=user.id,
            purpose=purpose,
            token_hash=hash_token(token),
            created_at=now,
            expires_at=now + lifetime,
        )
    )
    session.flush()
    return token


def _redeem_account_token(
    session: Session, *, token: str, purpose: TokenPurpose, now: dt.datetime
) -> tuple[AccountToken, User]:
    row = session.scalar(
        select(AccountToken).where(
            AccountToken.token_hash == hash_token(token), AccountToken.purpose == purpose
        )
    )
    if row is None or row.used_at is not None or row.expires_at <= now:
        raise Invalid(N_("This link is not valid: it was already used or it has expired."))
    user = get_user(session, row.user_id)
    return row, user


def request_password_reset(
    session: Session, *, email: str, client_ip: str, base_url: str, now: dt.datetime
) -> None:
    """E-mail a single-use reset link; silent about whether the address has an account."""
    check_email_length(email)
    check_limit(
        session,
        bucket=RESET_IP_BUCKET,
        key=client_ip,
        limit=RESET_IP_LIMIT,
        window=RESET_WINDOW,
        now=now,
    )
    record_hit(session, bucket=RESET_IP_BUCKET, key=client_ip, now=now)
    email = normalize_email(email)
    try:
        check_limit(
            session, bucket=RESET_BUCKET, key=email, limit=RESET_LIMIT, window=RESET_WINDOW, now=now
        )
    except RateLimited:
        return  # the owner already has several fresh links; saying so would reveal the account
    record_hit(session, bucket=RESET_BUCKET, key=email, now=now)
    user = find_user_by_email(session, email)
    if user is None or not user.is_active:
        return
    token = _issue_account_token(
        session, user=user, purpose=TokenPurpose.reset, lifetime=RESET_TOKEN_LIFETIME, now=now
    )
    queue_mail(
        session,
        to=user.email,
        template="mail/password_reset.txt",
        locale=user.locale,
        context={
            "user_name": user.full_name,
            "link": f"{base_url.rstrip('/')}/account/reset/{token}",
            "hours": int(RESET_TOKEN_LIFETIME.total_seconds() // 3600),
        },
        now=now,
    )
    record_event(
        session,
        actor=None,
        action="user.reset_requested",
        object_type="user",
        object_id=user.id,
        now=now,
    )


def check_account_token(
    session: Session, *, token: str, purpose: TokenPurpose, now: dt.datetime
) -> User:
    """The account an unused, unexpired token belongs to (shown before the password form)."""
    return _redeem_account_token(session, token=token, purpose=purpose, now=now)[1]


def set_password_with_token(
    session: Session, *, token: str, purpose: TokenPurpose, password: str, now: dt.datetime
) -> User:
    """Use a reset or invitation token once to set the account's password."""
    row, user = _redeem_account_token(session, token=token, purpose=purpose, now=now)
    check_password_rules(password)
    row.used_at = now
    _set_password(session, user, password, now)
    action = "user.password_reset" if purpose == TokenPurpose.reset else "user.invitation_accept"
    record_event(session, actor=user, action=action, object_type="user", object_id=user.id, now=now)
    return user


def invite_user(
    session: Session,
    *,
    actor: User,
    email: str,
    full_name: str,
    role: Role,
    locale: str,
    base_url: str,
    now: dt.datetime,
) -> User:
    """The secretariat invites a member, expert or colleague, who sets a password by link."""
    if not actor.has_role(Role.secretariat):
        raise Forbidden()
    if role not in INVITABLE_ROLES:
        raise Invalid(fields={"role": N_("This role cannot be given by invitation.")})
    return open_invited_account(
        session,
        actor=actor,
        email=email,
        full_name=full_name,
        role=role,
        locale=locale,
        base_url=base_url,
        now=now,
    )


def open_invited_account(
    session: Session,
    *,
    actor: User,
    email: str,
    full_name: str,
    role: Role,
    locale: str,
    base_url: str,
    now: dt.datetime,
) -> User:
    """Open an account without a password and e-mail its holder the link to set one.

    The caller decides who may invite whom; this only does the inviting.
    """
    user = create_user(
        session,
        email=email,
        full_name=full_name,
        role=role,
        password=None,
        actor=actor,
        now=now,
        locale=locale,
    )
    token = _issue_account_token(
        session, user=user, purpose=TokenPurpose.invite, lifetime=INVITE_TOKEN_LIFETIME, now=now
    )
    queue_mail(
        session,
        to=user.email,
        template="mail/invitation.txt",
        locale=locale,
        context={
            "user_name": user.full_name,
            "inviter": actor.full_name,
            "role": ROLE_LABELS[role],
            "link": f"{base_url.rstrip('/')}/account/invitation/{token}",
            "days": INVITE_TOKEN_LIFETIME.days,
        },
        now=now,
    )
    record_event(
        session,
        actor=actor,
        action="user.invite",
        object_type="user",
        object_id=user.id,
        summary={"email": user.email, "role": role.value},
        now=now,
    )
    return user


def list_users(session: Session) -> list[User]:
    """Every account, by name."""
    return list(session.scalars(select(User).order_by(func.lower(User.full_name))))


def issue_api_token(
    session: Session, *, user: User, name: str, now: dt.datetime
) -> tuple[ApiToken, str]:
    """Create a bearer token for the API; the plain value is returned once and never stored."""
    name = name.strip()
    if not name:
        raise Invalid(fields={"name": N_("Give the token a name.")})
    plain = "ceia_" + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id,
        name=name[:100],
        prefix=plain[:12],
        token_hash=hash_token(plain),
        created_at=now,
    )
    session.add(token)
    session.flush()
    record_event(
        session,
        actor=user,
        action="api_token.issue",
        object_type="api_token",
        object_id=token.id,
        summary={"name": token.name},
        now=now,
    )
    return token, plain


def list_api_tokens(session: Session, *, user: User) -> list[ApiToken]:
    """A person's API tokens, newest first."""
    return list(
        session.scalars(
            select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc())
        )
    )


def revoke_api_token(session: Session, *, user: User, token_id: int, now: dt.datetime) -> None:
    """Revoke one of the person's own tokens."""
    token = session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        raise NotFound()
    if token.revoked_at is None:
        token.revoked_at = now
        record_event(
            session,
            actor=user,
            action="api_token.revoke",
            object_type="api_token",
            object_id=token.id,
            now=now,
        )


def user_for_api_token(session: Session, plain: str, *, now: dt.datetime) -> User | None:
    """The active account a bearer token belongs to, if the token is valid and not revoked."""
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(plain)))
    if token is None or token.revoked_at is not None:
        return None
    user = session.get(User, token.user_id)
    if user is None or not user.is_active:
        return None
    # Written at most every few minutes, so reading the API does not write on every call.
    if token.last_used_at is None or now - token.last_used_at > TOKEN_USE_RESOLUTION:
        token.last_used_at = now
    return user
