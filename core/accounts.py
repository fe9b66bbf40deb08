"""People who sign in, their roles, API tokens and e-mailed account tokens; the verbs on them."""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import secrets
from typing import TYPE_CHECKING

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import Boolean, Enum, ForeignKey, Integer, String, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship
from zxcvbn import zxcvbn

from core.audit import record_event
from core.db import Base, UTCDateTime, reading_session
from core.errors import N_, Conflict, Forbidden, Invalid, NotFound, RateLimited
from core.forms import FIELD_MESSAGES, is_single_line
from core.i18n import normalize_locale
from core.mail import queue_mail
from core.ratelimit import check_limit, clear_hits, record_hit

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

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
SESSION_SEEN_RESOLUTION = dt.timedelta(minutes=5)
PASSWORD_MIN_SCORE = 3  # zxcvbn's "safely unguessable": about 10^8 guesses and more

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
    # Counts password changes; sessions end through their UserSession records.
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
    last_used_ip: Mapped[str | None] = mapped_column(String(64))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship(back_populates="api_tokens", lazy="raise")


class UserSession(Base):
    """A signed-in browser session; its cookie holds a random key whose hash is stored here."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The role the person held at sign-in: a change of role ends the session.
    role: Mapped[Role] = mapped_column(Enum(Role, native_enum=False, length=20))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    ip: Mapped[str] = mapped_column(String(64))
    user_agent: Mapped[str] = mapped_column(String(300))
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


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


# Why zxcvbn found a password guessable, by the kind of its weakest part (msgids of the catalog);
# zxcvbn's own feedback is English only.
_WEAKNESS_MESSAGES = {
    "user_inputs": N_(
        "The password is too easy to guess: it is built on your name or e-mail address."
    ),
    "passwords": N_("The password is too easy to guess: it is one of the most used passwords."),
    "dictionary": N_(
        "The password is too easy to guess: a common word or name on its own is not enough."
    ),
    "spatial": N_("The password is too easy to guess: keyboard patterns such as qwerty are known."),
    "repeat": N_("The password is too easy to guess: it repeats characters or words."),
    "sequence": N_("The password is too easy to guess: sequences such as abc or 6543 are known."),
    "date": N_("The password is too easy to guess: dates and years are among the first guesses."),
}
_WEAK_PASSWORD = N_(
    "The password is too easy to guess. Use a phrase of three or four unrelated words, "
    "or a longer mix of words, numbers and signs."
)


def _weakness(matches: Sequence[Mapping[str, object]]) -> str:
    """The message for the first guessable part zxcvbn found."""
    for match in matches:
        pattern = str(match.get("pattern", ""))
        if pattern == "dictionary":
            name = str(match.get("dictionary_name", ""))
            return _WEAKNESS_MESSAGES.get(name, _WEAKNESS_MESSAGES["dictionary"])
        if pattern in {"spatial", "repeat", "sequence", "date"}:
            return _WEAKNESS_MESSAGES[pattern]
        if pattern == "regex":  # zxcvbn's only regex is "recent year"
            return _WEAKNESS_MESSAGES["date"]
    return _WEAK_PASSWORD


def check_password_rules(
    password: str, *, field: str = "password", user_inputs: Sequence[str] = ()
) -> None:
    """Refuse passwords that are too short or that a guesser would find soon."""
    if len(password) < PASSWORD_MIN_LENGTH:
        raise Invalid(
            fields={field: N_("The password must have at least %(min)s characters.")},
            min=PASSWORD_MIN_LENGTH,
        )
    # The name and address split into words, so "lucia" counts as known as "Lucía Hernández".
    known = [part for text in user_inputs for part in [text, *_words(text)] if part]
    result = zxcvbn(password[:72], user_inputs=known)  # zxcvbn refuses longer input
    if result["score"] < PASSWORD_MIN_SCORE:
        raise Invalid(fields={field: _weakness(result["sequence"])})


def _words(text: str) -> list[str]:
    return [
        w for w in "".join(c if c.isalnum() else " " for c in text.lower()).split() if len(w) > 2
    ]


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
    if not is_single_line(full_name):
        raise Invalid(fields={"full_name": FIELD_MESSAGES["single_line"]})
    if find_user_by_email(session, email):
        raise Conflict(N_("An account with this e-mail address already exists."))
    if password is not None:
        check_password_rules(password, user_inputs=(email, full_name))
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
    """Sign a person in by e-mail and password, locking the address after repeated failures.

    Every address gets the same answer after the same work (one hash verification), whatever
    its state: unknown, invited and not activated, inactive, or real. The verification, slow by
    design, runs between two transactions: nobody waits on the write lock or on the limit keys
    while it runs, and the outcome is written in one short transaction after it.
    """
    check_email_length(email)
    email = normalize_email(email)
    limits = (
        (SIGNIN_BUCKET, email, max_failures),
        (SIGNIN_IP_BUCKET, client_ip, SIGNIN_IP_LIMIT),
    )
    user_id, stored_hash = _signin_candidate(
        session, email=email, limits=limits, lockout=lockout, now=now
    )
    matches = password_matches(stored_hash or _unknown_account_hash(), password)
    # The limits again, now held until the outcome is written: parallel failures count exactly.
    for bucket, key, limit in limits:
        check_limit(session, bucket=bucket, key=key, limit=limit, window=lockout, now=now)
    # Read again in this transaction: the copy this session may hold can predate the check.
    user = session.get(User, user_id, populate_existing=True) if user_id is not None else None
    if (
        not matches
        or stored_hash is None
        or user is None
        or not user.is_active
        or user.password_hash != stored_hash  # changed while the password was being checked
    ):
        record_event(
            session,
            actor=None,
            action="user.signin_failed",
            object_type="user",
            object_id=user.id if user is not None else "",
            summary={"email": email, "ip": client_ip},
            now=now,
        )
        for bucket, key, limit in limits:
            record_hit(session, bucket=bucket, key=key, now=now)
            _audit_lockout(session, bucket=bucket, key=key, limit=limit, window=lockout, now=now)
        raise Invalid(N_("The e-mail address or the password is not correct."))
    clear_hits(session, bucket=SIGNIN_BUCKET, key=email)
    record_event(
        session,
        actor=user,
        action="user.signin",
        object_type="user",
        object_id=user.id,
        summary={"ip": client_ip},
        now=now,
    )
    return user


def _signin_candidate(
    session: Session,
    *,
    email: str,
    limits: Sequence[tuple[str, str, int]],
    lockout: dt.timedelta,
    now: dt.datetime,
) -> tuple[int | None, str | None]:
    """The account signing in and its password hash, read without taking the write lock.

    A locked address or network address is refused here, before any hash is verified.
    """
    session.flush()  # the reading session sees only what this one has written
    with reading_session(session) as reader:
        for bucket, key, limit in limits:
            check_limit(reader, bucket=bucket, key=key, limit=limit, window=lockout, now=now)
        user = find_user_by_email(reader, email)
        return (user.id, user.password_hash) if user is not None else (None, None)


def _audit_lockout(
    session: Session, *, bucket: str, key: str, limit: int, window: dt.timedelta, now: dt.datetime
) -> None:
    """Record the failure that locked an address or a network address (it was open before)."""
    try:
        check_limit(session, bucket=bucket, key=key, limit=limit, window=window, now=now)
    except RateLimited:
        record_event(
            session,
            actor=None,
            action="user.signin_lockout",
            object_type="rate_limit",
            object_id=bucket,
            summary={"key": key, "minutes": int(window.total_seconds() // 60)},
            now=now,
        )


_dummy_hashes: dict[int, str] = {}


def _unknown_account_hash() -> str:
    """A hash of the current hasher's cost to verify against when the address has no account."""
    key = id(_hasher)
    if key not in _dummy_hashes:
        _dummy_hashes[key] = _hasher.hash(secrets.token_urlsafe(16))
    return _dummy_hashes[key]


def _check_new_password(user: User, password: str, *, field: str) -> None:
    check_password_rules(password, field=field, user_inputs=(user.email, user.full_name))
    if user.password_hash and password_matches(user.password_hash, password):
        raise Invalid(fields={field: N_("Choose a password different from your current one.")})


def _set_password(
    session: Session, user: User, password: str, now: dt.datetime, *, keep_session: str | None
) -> None:
    """Store a new password; every reset link and every other session of the person ends."""
    user.password_hash = hash_password(password)
    user.password_changed_at = now
    user.session_version += 1
    session.execute(
        update(AccountToken)
        .where(
            AccountToken.user_id == user.id,
            AccountToken.purpose == TokenPurpose.reset,
            AccountToken.used_at.is_(None),
        )
        .values(used_at=now)
    )
    end_sessions(session, user=user, actor=user, now=now, keep=keep_session, reason="password")
    session.flush()


def change_password(
    session: Session,
    *,
    user: User,
    current_password: str,
    new_password: str,
    now: dt.datetime,
    keep_session: str | None = None,
) -> None:
    """Replace a password after checking the current one; other sessions are signed out."""
    if not password_matches(user.password_hash, current_password):
        raise Invalid(fields={"current_password": N_("The current password is not correct.")})
    _check_new_password(user, new_password, field="new_password")
    _set_password(session, user, new_password, now, keep_session=keep_session)
    record_event(
        session,
        actor=user,
        action="user.password_change",
        object_type="user",
        object_id=user.id,
        now=now,
    )


def set_language(session: Session, *, user: User, locale: str, now: dt.datetime) -> None:
    """Choose the language of one's own pages and of every mail the service sends one."""
    chosen = normalize_locale(locale)
    if chosen is None or chosen != locale:
        raise Invalid(fields={"locale": N_("Choose one of the languages offered.")})
    if chosen == user.locale:
        return
    previous, user.locale = user.locale, chosen
    record_event(
        session,
        actor=user,
        action="user.language",
        object_type="user",
        object_id=user.id,
        summary={"from": previous, "to": chosen},
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
    _check_new_password(user, password, field="password")
    row.used_at = now
    _set_password(session, user, password, now, keep_session=None)
    action = "user.password_reset" if purpose == TokenPurpose.reset else "user.invitation_accept"
    record_event(session, actor=user, action=action, object_type="user", object_id=user.id, now=now)
    return user


def may_manage_accounts(actor: User) -> bool:
    """Whether the person looks after other people's accounts (invites, signs them out)."""
    return actor.has_role(Role.secretariat)


def invitation_role(*, full_name: str, role: str) -> Role:
    """The role an invitation form asks for; refused without a name or an invitable role."""
    if not full_name.strip():
        raise Invalid(fields={"full_name": N_("Enter the person's name.")})
    if role not in {r.value for r in INVITABLE_ROLES}:
        raise Invalid(fields={"role": N_("Choose a role.")})
    return Role(role)


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
    if not may_manage_accounts(actor):
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


def issue_api_token(
    session: Session, *, user: User, name: str, now: dt.datetime
) -> tuple[ApiToken, str]:
    """Create a bearer token for the API; the plain value is returned once and never stored."""
    name = name.strip()
    if not name:
        raise Invalid(fields={"name": N_("Give the token a name.")})
    if not is_single_line(name):
        raise Invalid(fields={"name": FIELD_MESSAGES["single_line"]})
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


def user_for_api_token(
    session: Session,
    plain: str,
    *,
    now: dt.datetime,
    client_ip: str = "unknown",
    record_use: bool = True,
) -> User | None:
    """The active account a bearer token belongs to, if the token is valid and not revoked."""
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(plain)))
    if token is None or token.revoked_at is not None:
        return None
    user = session.get(User, token.user_id)
    if user is None or not user.is_active:
        return None
    if record_use:
        _record_token_use(session, token, user=user, now=now, client_ip=client_ip[:64])
    return user


def token_use_due(session: Session, plain: str, *, now: dt.datetime, client_ip: str) -> bool:
    """Whether a call with this token has bookkeeping to write (last use, a new address)."""
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(plain)))
    if token is None or token.revoked_at is not None:
        return False
    stale = token.last_used_at is None or now - token.last_used_at > TOKEN_USE_RESOLUTION
    return stale or token.last_used_ip != client_ip[:64]


def _record_token_use(
    session: Session, token: ApiToken, *, user: User, now: dt.datetime, client_ip: str
) -> None:
    # Written at most every few minutes, so reading the API does not write on every call.
    if token.last_used_at is None or now - token.last_used_at > TOKEN_USE_RESOLUTION:
        token.last_used_at = now
    if token.last_used_ip != client_ip:
        # A token used from somewhere new may have leaked: the owner and auditors can see it.
        record_event(
            session,
            actor=user,
            action="api_token.new_address",
            object_type="api_token",
            object_id=token.id,
            summary={"ip": client_ip, "previous_ip": token.last_used_ip},
            now=now,
        )
        token.last_used_ip = client_ip
        token.last_used_at = now


def _session_key(token: str) -> str:
    return hash_token(token)


def start_session(
    session: Session, *, user: User, ip: str, user_agent: str, now: dt.datetime
) -> str:
    """Record a new signed-in session; returns the random key the cookie carries."""
    token = secrets.token_urlsafe(32)
    session.add(
        UserSession(
            user_id=user.id,
            token_hash=_session_key(token),
            role=user.role,
            created_at=now,
            last_seen_at=now,
            ip=ip[:64],
            user_agent=user_agent[:300],
        )
    )
    session.flush()
    return token


def user_for_session(
    session: Session,
    token: str,
    *,
    now: dt.datetime,
    idle: dt.timedelta,
    absolute: dt.timedelta,
) -> User | None:
    """The person a session cookie belongs to, while the session is open, fresh and unchanged.

    Marks the session seen at most every few minutes; the caller decides whether to commit.
    """
    row = session.execute(
        select(UserSession, User)
        .join(User, User.id == UserSession.user_id)
        .where(UserSession.token_hash == _session_key(token))
    ).one_or_none()
    if row is None:
        return None
    record, user = row
    if (
        record.ended_at is not None
        or not user.is_active
        or record.role != user.role
        or now - record.created_at > absolute
        or now - record.last_seen_at > idle
    ):
        return None
    if now - record.last_seen_at > SESSION_SEEN_RESOLUTION:
        record.last_seen_at = now
    return user


def end_session(session: Session, *, token: str, now: dt.datetime) -> None:
    """Sign one session out (the visitor's own)."""
    record = session.scalar(
        select(UserSession).where(UserSession.token_hash == _session_key(token))
    )
    if record is None or record.ended_at is not None:
        return
    record.ended_at = now
    user = get_user(session, record.user_id)
    record_event(
        session, actor=user, action="user.signout", object_type="user", object_id=user.id, now=now
    )


def end_sessions(
    session: Session,
    *,
    user: User,
    actor: User,
    now: dt.datetime,
    keep: str | None = None,
    reason: str = "request",
) -> int:
    """Sign a person out everywhere (but the session `keep`); returns how many sessions ended."""
    conditions = [UserSession.user_id == user.id, UserSession.ended_at.is_(None)]
    if keep is not None:
        conditions.append(UserSession.token_hash != _session_key(keep))
    records = session.scalars(select(UserSession).where(*conditions)).all()
    for record in records:
        record.ended_at = now
    ended = len(records)
    if ended:
        record_event(
            session,
            actor=actor,
            action="user.sessions_end",
            object_type="user",
            object_id=user.id,
            summary={"ended": ended, "reason": reason},
            now=now,
        )
    return ended


def sign_out_everywhere(session: Session, *, actor: User, user_id: int, now: dt.datetime) -> int:
    """An administrator ends every session of an account (a lost laptop, a departure)."""
    if not may_manage_accounts(actor):
        raise Forbidden()
    return end_sessions(
        session, user=get_user(session, user_id), actor=actor, now=now, reason="admin"
    )


def sign_out_other_sessions(
    session: Session, *, user: User, current: str | None, now: dt.datetime
) -> int:
    """A person ends their sessions on other devices, keeping this one."""
    return end_sessions(session, user=user, actor=user, now=now, keep=current, reason="others")


def list_open_sessions(
    session: Session, *, user: User, now: dt.datetime, idle: dt.timedelta, absolute: dt.timedelta
) -> list[UserSession]:
    """A person's sessions that are still open, most recently seen first."""
    return list(
        session.scalars(
            select(UserSession)
            .where(
                UserSession.user_id == user.id,
                UserSession.ended_at.is_(None),
                UserSession.created_at >= now - absolute,
                UserSession.last_seen_at >= now - idle,
            )
            .order_by(UserSession.last_seen_at.desc(), UserSession.id.desc())
            .limit(50)
        )
    )
